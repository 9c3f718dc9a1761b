"""Elementwise unary primitives. Each VJP is in Tensor ops, so it can itself be differentiated."""

import numpy as np

from ..autodiff import Primitive


class Neg(Primitive):
    uses = ()
    forward = staticmethod(np.negative)

    @staticmethod
    def vjp(g, y, x):
        return (-g,)

    @staticmethod
    def jvp(ts, y, x):
        return -ts[0]


class Exp(Primitive):
    uses = ("y",)
    forward = staticmethod(np.exp)

    @staticmethod
    def vjp(g, y, x):
        return (g * y,)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * y


class Log(Primitive):
    forward = staticmethod(np.log)

    @staticmethod
    def vjp(g, y, x):
        return (g / x,)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] / x


class Log1p(Primitive):
    forward = staticmethod(np.log1p)

    @staticmethod
    def vjp(g, y, x):
        return (g / (x + 1),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] / (x + 1)


class Expm1(Primitive):
    uses = ("y",)
    forward = staticmethod(np.expm1)

    @staticmethod
    def vjp(g, y, x):
        return (g * (y + 1),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (y + 1)


class Sqrt(Primitive):
    uses = ("y",)
    forward = staticmethod(np.sqrt)

    @staticmethod
    def vjp(g, y, x):
        return (g / (y * 2),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] / (y * 2)


class Abs(Primitive):
    forward = staticmethod(np.abs)

    @staticmethod
    def vjp(g, y, x):
        # NOTE: the subgradient 0 at x == 0, as PyTorch and JAX choose.
        return (g * np.sign(x.data),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * np.sign(x)


class Sin(Primitive):
    forward = staticmethod(np.sin)

    @staticmethod
    def vjp(g, y, x):
        return (g * x.cos(),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * np.cos(x)


class Cos(Primitive):
    forward = staticmethod(np.cos)

    @staticmethod
    def vjp(g, y, x):
        return (-g * x.sin(),)

    @staticmethod
    def jvp(ts, y, x):
        return -ts[0] * np.sin(x)


class Tan(Primitive):
    uses = ("y",)
    forward = staticmethod(np.tan)

    @staticmethod
    def vjp(g, y, x):
        return (g * (y * y + 1),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (y * y + 1)


class Tanh(Primitive):
    uses = ("y",)
    forward = staticmethod(np.tanh)

    @staticmethod
    def vjp(g, y, x):
        return (g * (1 - y * y),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (1 - y * y)


class Sigmoid(Primitive):
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""

    uses = ("y",)

    @staticmethod
    def forward(x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    @staticmethod
    def vjp(g, y, x):
        return (g * y * (1 - y),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (y * (1 - y))


class Relu(Primitive):
    @staticmethod
    def forward(x):
        return np.maximum(x, 0)

    @staticmethod
    def vjp(g, y, x):
        return (g * (x.data > 0).astype(x.dtype),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (x > 0)


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
