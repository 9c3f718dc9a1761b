"""Elementwise unary primitives.

Most are ``Elementwise``: they state ``forward`` and the derivative ``partial`` once, and both
derivative rules follow from them (see ``Elementwise``). The binary ones live in binary.py.
"""

import numpy as np

from ..autodiff import Primitive, constant, plain_backward, state
from ._tangents import add_tangents


class Elementwise(Primitive):
    """A primitive ``y = forward(*xs)`` applied elementwise, with partial derivatives
    ``dy/dx_i = partial(i, y, *xs, xp)``.

    ``partial`` is written once with operators and ``xp``'s functions, so it runs on ndarrays
    (``xp`` = numpy) and on Tensors (``xp`` = minigrad's functions, so it can be
    differentiated again). Both derivative rules follow: ``vjp_i = g * partial_i`` and
    ``jvp = sum_i t_i * partial_i``. Constants may have a smaller shape than ``y`` (numpy
    broadcasts them); inputs that carry derivatives have ``y``'s shape.
    """

    @staticmethod
    def partial(i, y, *xs_then_xp):
        """dy/dx_i, from ``y``, the inputs and the array namespace ``xp`` (last argument)."""
        raise NotImplementedError

    @classmethod
    def vjp(cls, g, y, *xs):
        if state.grad_enabled or state.forward_level:  # not plain_backward(), inlined: hot
            # create_graph or forward-over-reverse: the partials must carry derivatives too.
            if len(xs) == 2 and xs[0] is xs[1]:
                return cls._same_input_vjp(g, y, xs[0]), None
            from .. import functions

            return tuple(
                g * cls.partial(i, y, *xs, functions) if x.requires_grad else None
                for i, x in enumerate(xs)
            )
        # NOTE: in a plain backward pass every value here is a constant, so numpy evaluates the
        # same expression directly, without a Tensor for each intermediate value.
        if len(xs) == 1:
            return (constant(g.data * cls.partial(0, y.data, xs[0].data, np)),)
        a, b = xs
        if a is b:  # the same input twice (x * x): one cotangent with the summed partials
            return cls._same_input_vjp(g, y, a), None
        gd, yd = g.data, y.data
        ad, bd = a.data, b.data
        return (
            constant(gd * cls.partial(0, yd, ad, bd, np)) if a.requires_grad else None,
            constant(gd * cls.partial(1, yd, ad, bd, np)) if b.requires_grad else None,
        )

    @classmethod
    def _same_input_vjp(cls, g, y, x):
        if not plain_backward():
            from .. import functions

            both = cls.partial(0, y, x, x, functions) + cls.partial(1, y, x, x, functions)
            return g * both
        both = cls.partial(0, y.data, x.data, x.data, np) + cls.partial(
            1, y.data, x.data, x.data, np
        )
        return constant(g.data * both)

    @classmethod
    def jvp(cls, ts, y, *xs):
        if len(ts) == 2 and ts[0] is ts[1]:
            # The same input twice (x * x): add the small partials, then scale the big tangent
            # batch once.
            return ts[0] * (cls.partial(0, y, *xs, np) + cls.partial(1, y, *xs, np))
        return add_tangents(
            *(None if t is None else t * cls.partial(i, y, *xs, np) for i, t in enumerate(ts))
        )


class Neg(Primitive):
    holomorphic = True
    uses = ()
    forward = staticmethod(np.negative)

    @staticmethod
    def vjp(g, y, x):
        return (-g,)

    @staticmethod
    def jvp(ts, y, x):
        return -ts[0]


class Exp(Elementwise):
    holomorphic = True
    uses = ("y",)
    forward = staticmethod(np.exp)

    @staticmethod
    def partial(i, y, x, xp):
        return y


class Log(Elementwise):
    holomorphic = True
    forward = staticmethod(np.log)

    @staticmethod
    def partial(i, y, x, xp):
        return 1.0 / x


class Log1p(Elementwise):
    holomorphic = True
    forward = staticmethod(np.log1p)

    @staticmethod
    def partial(i, y, x, xp):
        return 1.0 / (x + 1.0)


class Expm1(Elementwise):
    holomorphic = True
    uses = ("y",)
    forward = staticmethod(np.expm1)

    @staticmethod
    def partial(i, y, x, xp):
        return y + 1.0


class Sqrt(Elementwise):
    holomorphic = True
    uses = ("y",)
    forward = staticmethod(np.sqrt)

    @staticmethod
    def partial(i, y, x, xp):
        return 0.5 / y


class Abs(Elementwise):
    forward = staticmethod(np.abs)

    @staticmethod
    def partial(i, y, x, xp):
        # NOTE: the subgradient 0 at x == 0, as PyTorch and JAX choose. sign has no gradient.
        return xp.sign(x)


class Sin(Elementwise):
    holomorphic = True
    forward = staticmethod(np.sin)

    @staticmethod
    def partial(i, y, x, xp):
        return xp.cos(x)


class Cos(Elementwise):
    holomorphic = True
    forward = staticmethod(np.cos)

    @staticmethod
    def partial(i, y, x, xp):
        return -xp.sin(x)


class Tan(Elementwise):
    holomorphic = True
    uses = ("y",)
    forward = staticmethod(np.tan)

    @staticmethod
    def partial(i, y, x, xp):
        return y * y + 1.0


class Tanh(Elementwise):
    holomorphic = True
    uses = ("y",)
    forward = staticmethod(np.tanh)

    @staticmethod
    def partial(i, y, x, xp):
        return 1.0 - y * y


class Sigmoid(Elementwise):
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""

    uses = ("y",)

    @staticmethod
    def forward(x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    @staticmethod
    def partial(i, y, x, xp):
        return y * (1.0 - y)


class Relu(Elementwise):
    @staticmethod
    def forward(x):
        return np.maximum(x, 0)

    @staticmethod
    def partial(i, y, x, xp):
        # NOTE: 0 at x == 0, as PyTorch and JAX choose; the mask has no gradient.
        return x > 0


class Cast(Primitive):
    """Change dtype; the cotangent is cast back to the input's dtype."""

    uses = ()

    @staticmethod
    def forward(x, dtype):
        return x.astype(dtype)

    @staticmethod
    def vjp(g, y, x, dtype):
        return (g.astype(x.dtype),)

    @staticmethod
    def jvp(ts, y, x, dtype):
        return ts[0].astype(dtype)
