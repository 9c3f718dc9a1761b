"""Elementwise unary primitives.

Most are ``Elementwise``: they state ``forward`` and the derivative ``partial`` once, and both
derivative rules follow from them (see ``Elementwise``). The binary ones live in binary.py.
"""

import numpy as np

from ..primitive import Primitive, apply
from ._tangents import add_fresh_tangents
from .shape import elementwise


class Elementwise(Primitive):
    """A primitive ``y = forward(*xs)`` applied elementwise, with partial derivatives
    ``dy/dx_i = partial(i, y, *xs, xp)``.

    ``partial`` is written once with operators and ``xp``'s functions, on the values of ``y`` and
    ``xs`` (ndarrays for a plain backward and for forward mode, Tensors when the backward pass
    is recorded, so that it can be differentiated again; see ``ops.math``). Both derivative
    rules follow: ``vjp_i = g * partial_i`` and ``jvp = sum_i t_i * partial_i``. Constants may
    have a smaller shape than ``y`` (numpy broadcasts them); inputs that carry derivatives have
    ``y``'s shape.
    """

    @staticmethod
    def partial(i, y, *xs_then_xp):
        """dy/dx_i, from ``y``, the inputs and the array namespace ``xp`` (last argument)."""
        raise NotImplementedError

    @classmethod
    def batch(cls, xs, dims, **params):
        # Elementwise: the examples lined up against each other, then one call on the batch.
        return elementwise(cls, xs, dims, params)

    @classmethod
    def both_partials(cls, y, x, xp):
        """dy/dx for ``y = forward(x, x)`` (``x * x``): the sum of the two partials."""
        return cls.partial(0, y, x, x, xp) + cls.partial(1, y, x, x, xp)

    @classmethod
    def vjp(cls, g, y, *xs, xp):
        value = xp.value
        if len(xs) == 1:
            return (g * cls.partial(0, value(y), value(xs[0]), xp),)
        a, b = xs
        if a is b:  # the same input twice (x * x): one cotangent with the summed partials
            return g * cls.both_partials(value(y), value(a), xp), None
        yv, av, bv = value(y), value(a), value(b)
        return (
            g * cls.partial(0, yv, av, bv, xp) if a.requires_grad else None,
            g * cls.partial(1, yv, av, bv, xp) if b.requires_grad else None,
        )

    @classmethod
    def jvp(cls, ts, y, *xs):
        if len(ts) == 1:
            return ts[0] * cls.partial(0, y, xs[0], np)
        if len(ts) == 2:
            ta, tb = ts
            if ta is tb:
                # The same input twice (x * x): add the small partials, then scale the big
                # tangent batch once.
                return ta * cls.both_partials(y, xs[0], np)
            if tb is None:  # NOTE: the cases of one tangent without the general loop's cost
                return ta * cls.partial(0, y, *xs, np)
            if ta is None:
                return tb * cls.partial(1, y, *xs, np)
            return add_fresh_tangents(
                ta * cls.partial(0, y, *xs, np), tb * cls.partial(1, y, *xs, np)
            )
        return add_fresh_tangents(
            *(None if t is None else t * cls.partial(i, y, *xs, np) for i, t in enumerate(ts))
        )


class Neg(Primitive):
    holomorphic = True
    uses = ()
    forward = staticmethod(np.negative)

    @staticmethod
    def batch(xs, dims):
        return apply(Neg, xs[0])

    @staticmethod
    def vjp(g, y, x, xp):
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
    """Change dtype; the cotangent is cast back to the input's dtype. From complex to real the
    real part is kept (as PyTorch's gradient of a real input used in complex arithmetic)."""

    uses = ()

    @staticmethod
    def batch(xs, dims, dtype):
        return apply(Cast, xs[0], dtype=dtype)

    @staticmethod
    def forward(x, dtype):
        return _real_if_needed(x, dtype).astype(dtype)

    @staticmethod
    def vjp(g, y, x, dtype, xp):
        return (xp.apply(Cast, g, dtype=x.dtype),)

    @staticmethod
    def jvp(ts, y, x, dtype):
        return _real_if_needed(ts[0], dtype).astype(dtype)


def _real_if_needed(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    # NOTE: explicitly, not by astype, which would warn that it drops the imaginary part.
    return x.real if x.dtype.kind == "c" and np.dtype(dtype).kind != "c" else x
