"""Binary elementwise primitives and ``Where``.

Operands that are differentiated have the output's shape (the Tensor layer broadcasts them);
constants may keep a smaller shape and numpy broadcasts them here. So a cotangent ``g`` always
has the shape of every input it is returned for, and a tangent the output's shape.
"""

import numpy as np

from ..autodiff import Primitive
from ._tangents import add_tangents


class Add(Primitive):
    uses = ()
    forward = staticmethod(np.add)

    @staticmethod
    def vjp(g, y, a, b):
        return g, g

    @staticmethod
    def jvp(ts, y, a, b):
        return add_tangents(*ts)


class Sub(Primitive):
    uses = ()
    forward = staticmethod(np.subtract)

    @staticmethod
    def vjp(g, y, a, b):
        return g, -g

    @staticmethod
    def jvp(ts, y, a, b):
        ta, tb = ts
        return ta if tb is None else -tb if ta is None else ta - tb


class Mul(Primitive):
    forward = staticmethod(np.multiply)

    @staticmethod
    def vjp(g, y, a, b):
        return (g * b if a.requires_grad else None), (g * a if b.requires_grad else None)

    @staticmethod
    def jvp(ts, y, a, b):
        ta, tb = ts
        return add_tangents(None if ta is None else ta * b, None if tb is None else tb * a)


class Div(Primitive):
    forward = staticmethod(np.true_divide)

    @staticmethod
    def vjp(g, y, a, b):
        ga = g / b if a.requires_grad else None
        gb = -g * a / (b * b) if b.requires_grad else None
        return ga, gb

    @staticmethod
    def jvp(ts, y, a, b):
        ta, tb = ts
        return add_tangents(None if ta is None else ta / b, None if tb is None else -tb * (y / b))


class Pow(Primitive):
    uses = ("x", "y")
    forward = staticmethod(np.power)

    @staticmethod
    def vjp(g, y, a, b):
        ga = g * b * a ** (b - 1) if a.requires_grad else None
        gb = g * y * a.log() if b.requires_grad else None
        return ga, gb

    @staticmethod
    def jvp(ts, y, a, b):
        ta, tb = ts
        return add_tangents(
            None if ta is None else ta * (b * a ** (b - 1)),
            None if tb is None else tb * (y * np.log(a)),
        )


class Maximum(Primitive):
    """Elementwise max; at ties the gradient is split evenly between the two operands."""

    forward = staticmethod(np.maximum)

    @staticmethod
    def share(a, b):
        """The share of the gradient that goes to ``a``."""
        return (a > b) + 0.5 * (a == b)

    @classmethod
    def vjp(cls, g, y, a, b):
        w = cls.share(a.data, b.data).astype(g.dtype)
        return (g * w if a.requires_grad else None), (g * (1 - w) if b.requires_grad else None)

    @classmethod
    def jvp(cls, ts, y, a, b):
        ta, tb = ts
        w = cls.share(a, b)
        return add_tangents(None if ta is None else ta * w, None if tb is None else tb * (1 - w))


class Minimum(Maximum):
    """Elementwise min; at ties the gradient is split evenly between the two operands."""

    forward = staticmethod(np.minimum)

    @staticmethod
    def share(a, b):
        return (a < b) + 0.5 * (a == b)


class Where(Primitive):
    """``a`` where ``cond`` holds, else ``b``; ``cond`` is a boolean ndarray (no gradient)."""

    uses = ()

    @staticmethod
    def forward(a, b, cond):
        return np.where(cond, a, b)

    @staticmethod
    def vjp(g, y, a, b, cond):
        zero = np.zeros((), g.dtype)
        ga = Where.apply(g, zero, cond=cond) if a.requires_grad else None
        gb = Where.apply(zero, g, cond=cond) if b.requires_grad else None
        return ga, gb

    @staticmethod
    def jvp(ts, y, a, b, cond):
        ta, tb = ts
        zero = np.zeros((), y.dtype)
        return np.where(cond, zero if ta is None else ta, zero if tb is None else tb)
