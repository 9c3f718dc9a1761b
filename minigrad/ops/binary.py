"""Binary elementwise primitives and ``Where``.

Operands that are differentiated have the output's shape (the Tensor layer broadcasts them);
constants may keep a smaller shape and numpy broadcasts them here. So a cotangent ``g`` always
has the shape of every input it is returned for, and a tangent the output's shape.
"""

import numpy as np

from ..primitive import Primitive, apply
from ._batched import logical_ndim
from ._tangents import add_tangents
from .elementwise import Elementwise
from .shape import BroadcastTo, elementwise, with_rank


class Add(Primitive):
    holomorphic = True
    uses = ()
    forward = staticmethod(np.add)

    @staticmethod
    def batch(xs, dims):
        return elementwise(Add, xs, dims, {})

    @staticmethod
    def vjp(g, y, a, b, xp):
        return g, g

    @staticmethod
    def jvp(ts, y, a, b):
        return add_tangents(*ts)


class Sub(Primitive):
    holomorphic = True
    uses = ()
    forward = staticmethod(np.subtract)

    @staticmethod
    def batch(xs, dims):
        return elementwise(Sub, xs, dims, {})

    @staticmethod
    def vjp(g, y, a, b, xp):
        return g, -g

    @staticmethod
    def jvp(ts, y, a, b):
        ta, tb = ts
        return ta if tb is None else -tb if ta is None else ta - tb


class Mul(Elementwise):
    holomorphic = True
    forward = staticmethod(np.multiply)

    @staticmethod
    def partial(i, y, a, b, xp):
        return b if i == 0 else a


class Div(Elementwise):
    holomorphic = True
    uses = ("x", "y")
    forward = staticmethod(np.true_divide)

    @staticmethod
    def partial(i, y, a, b, xp):
        return 1 / b if i == 0 else -y / b


class Pow(Elementwise):
    """``a ** b``. At ``a = 0`` the formulas meet ``0 * inf`` and ``0 * log 0``; as PyTorch,
    d/da is 0 where ``b = 0`` (not ``0 * 0 ** -1``) and d/db is 0 where ``b >= 0`` (the limit
    of ``a ** b log a``), so ``relu(x) ** p`` has a finite gradient in ``p``."""

    holomorphic = True
    uses = ("x", "y")
    forward = staticmethod(np.power)

    @staticmethod
    def partial(i, y, a, b, xp):
        # NOTE: the points are moved, not masked afterwards: a where() over an inf would still
        # put 0 * inf = NaN into second derivatives. The masks are constants (no gradient).
        exponent = np.asarray(b)
        if i == 0 and exponent.ndim == 0 and exponent != 0:  # a constant like x ** 2
            return b * a ** (b - 1)  # NOTE: nothing to fix there: no masks made
        a_zero = np.asarray(a) == 0
        if i == 0:
            fixed = a_zero & (exponent == 0)  # b * a ** (b - 1) = 0 * a ** 0 there
            return b * a ** (b - 1 + fixed) if fixed.any() else b * a ** (b - 1)
        fixed = a_zero & (exponent.real >= 0)  # y * log(1) = 0 there
        return y * xp.log(a + fixed) if fixed.any() else y * xp.log(a)


class Maximum(Elementwise):
    """Elementwise max; at ties the gradient is split evenly between the two operands."""

    forward = staticmethod(np.maximum)

    @staticmethod
    def partial(i, y, a, b, xp):
        # Of the gradient, the share that goes to a (no gradient itself), in y's dtype: a bool
        # plus a Python float would be float64, and would make a float32 gradient float64.
        share = ((a > b) + 0.5 * (a == b)).astype(y.dtype)
        return share if i == 0 else 1 - share


class Minimum(Elementwise):
    """Elementwise min; at ties the gradient is split evenly between the two operands."""

    forward = staticmethod(np.minimum)

    @staticmethod
    def partial(i, y, a, b, xp):
        share = ((a < b) + 0.5 * (a == b)).astype(y.dtype)  # as in Maximum
        return share if i == 0 else 1 - share


class Where(Primitive):
    """``a`` where ``cond`` holds, else ``b``; ``cond`` is a boolean ndarray (no gradient)."""

    holomorphic = True
    uses = ()

    batches_params = True  # its condition may be batched too

    @staticmethod
    def batch(xs, dims, cond, batched=()):
        (a, b), lifted = xs, "cond" in batched
        rank = max(logical_ndim(a, dims[0]), logical_ndim(b, dims[1]), np.ndim(cond) - lifted)
        if lifted:  # the condition's whole batch: its examples lined up as the operands'
            missing = rank - (cond.ndim - 1)
            cond = cond.reshape((cond.shape[0], *(1,) * missing, *cond.shape[1:]))
            if dims[0] is None and dims[1] is None:  # only the condition is batched
                a = apply(BroadcastTo, a, shape=np.broadcast_shapes(cond.shape, a.shape))
        return apply(Where, with_rank(a, dims[0], rank), with_rank(b, dims[1], rank), cond=cond)

    @staticmethod
    def forward(a, b, cond):
        return np.where(cond, a, b)

    @staticmethod
    def vjp(g, y, a, b, cond, xp):
        zero = np.zeros((), g.dtype)
        ga = xp.apply(Where, g, zero, cond=cond) if a.requires_grad else None
        gb = xp.apply(Where, zero, g, cond=cond) if b.requires_grad else None
        return ga, gb

    @staticmethod
    def jvp(ts, y, a, b, cond):
        ta, tb = ts
        zero = np.zeros((), y.dtype)
        return np.where(cond, zero if ta is None else ta, zero if tb is None else tb)
