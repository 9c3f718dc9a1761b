"""Activation functions and their modules, with PyTorch's names, arguments and values.

Every function is a composite of minigrad's primitives (``Erf`` is the only one added for
them), so each has exact reverse, forward and higher derivatives. None overflows for inputs of
+-1000: exponentials only ever see non-positive arguments.
"""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..errors import OpError
from ..functions import (
    as_tensor,
    erf,
    exp,
    expm1,
    log1p,
    normalize_axes,
    relu,
    sigmoid,
    tanh,
    where,
)
from ..primitive import apply
from ..tensor import Tensor
from .module import Module

__all__ = [
    "relu", "leaky_relu", "elu", "gelu", "softplus", "sigmoid", "tanh", "softmax", "log_softmax",
    "erf", "ReLU", "LeakyReLU", "ELU", "GELU", "Tanh", "Sigmoid", "Softplus", "Softmax",
    "LogSoftmax",
]  # fmt: skip

_SQRT_HALF = math.sqrt(0.5)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)

# ----- functions ---------------------------------------------------------------------------------


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """``x`` where x > 0, else ``negative_slope * x``; the gradient at 0 is ``negative_slope``
    (PyTorch's choice)."""
    x = as_tensor(x)
    return where(x.data > 0, x, x * negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    """``x`` where x > 0, else ``alpha * (exp(x) - 1)``; the gradient at 0 is ``alpha``.

    >>> import minigrad as mg
    >>> elu(mg.tensor([-1000.0, 0.0, 2.0]))
    tensor([-1.,  0.,  2.])
    """
    x = as_tensor(x)
    positive = x.data > 0
    # NOTE: expm1 sees only x <= 0 (the other elements are replaced by a constant 0), so it
    # never overflows, and at x == 0 the gradient flows through this branch, as PyTorch's does.
    negative_part = expm1(where(positive, 0.0, x))
    return where(positive, x, negative_part * alpha if alpha != 1 else negative_part)


def gelu(x, approximate: str = "none") -> Tensor:
    """``x * Phi(x)``, Phi the standard normal CDF: ``0.5 x (1 + erf(x / sqrt 2))``.

    ``approximate="tanh"``: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``, as PyTorch's.
    """
    x = as_tensor(x)
    if approximate == "none":
        return x * (erf(x * _SQRT_HALF) + 1.0) * 0.5
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_TWO_OVER_PI
        return x * (tanh(inner) + 1.0) * 0.5
    raise OpError(f"gelu: approximate={approximate!r} is not 'none' or 'tanh'")


def _softplus(z: Tensor) -> Tensor:
    """log(1 + exp(z)) without overflow: max(z, 0) + log1p(exp(-|z|)).

    NOTE: relu and abs both have the subgradient 0 at 0, which would make the derivative of
    this (smooth) sum 0 at z == 0 instead of 1/2. So -|z| is written as a ``where`` whose
    gradient at 0 comes from the z branch: relu'(0) + sigmoid(0) * 1 = 1/2, exact.
    """
    negative_abs = where(z.data > 0, -z, z)
    return relu(z) + log1p(exp(negative_abs))


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``
    (PyTorch's rule, for speed and for the linear tail).

    >>> import minigrad as mg
    >>> softplus(mg.tensor([-1000.0, 1000.0]))
    tensor([   0., 1000.])
    """
    x = as_tensor(x)
    z = x * beta if beta != 1 else x
    out = _softplus(z)
    if beta != 1:
        out = out / beta
    above = z.data > threshold
    return where(above, x, out) if above.any() else out


def _axis(fn: str, x: Tensor, axis, dim):
    """``dim`` is PyTorch's name for ``axis``; accept either, not two different ones."""
    if dim is not None:
        if axis not in (-1, dim):
            raise OpError(f"{fn}: got axis={axis} and dim={dim}; give one of them")
        axis = dim
    if x.ndim == 0 and axis in (0, -1):
        return ()  # PyTorch's rule: a 0-d tensor has one element along "axis 0"
    return normalize_axes(fn, axis, x.shape)


def log_softmax(x, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x, axis)``: log-probabilities along ``axis`` (``dim`` is an alias),
    without overflow.

    >>> import minigrad as mg
    >>> log_softmax(mg.tensor([1000.0, 1000.0]))
    tensor([-0.6931472, -0.6931472])
    """
    x = as_tensor(x)
    axes = _axis("log_softmax", x, axis, dim)
    return apply(ops.LogSoftmax, x, axis=axes)


def softmax(x, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (``dim`` is an alias), without overflow.

    >>> import minigrad as mg
    >>> softmax(mg.tensor([-1000.0, 1000.0]))
    tensor([0., 1.])
    """
    x = as_tensor(x)
    axes = _axis("softmax", x, axis, dim)
    # NOTE: shifting by the max changes neither the value nor any derivative, so the shift is
    # a constant. A row that is all -inf keeps the shift 0 (and gives nan, as PyTorch's).
    shift = np.max(x.data, axis=axes, keepdims=True) if x.numel() else np.zeros(())
    shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype, copy=False)
    e = exp(x - shift)
    return e / e.sum(axes, keepdims=True)


# ----- modules -----------------------------------------------------------------------------------


# NOTE: PyTorch's ``inplace=True`` only saves memory. minigrad computes out of place (the values
# are the same, and the tape stays valid) and accepts the flag so PyTorch code runs unchanged.


def inplace_repr(inplace: bool, sep: str = ", ") -> str:
    """``inplace=True`` for a module's repr when the flag is set (as PyTorch's), else nothing."""
    return f"{sep}inplace=True" if inplace else ""


class ReLU(Module):
    """``max(x, 0)``, elementwise."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return relu(x)

    def extra_repr(self) -> str:
        return inplace_repr(self.inplace, sep="")


class LeakyReLU(Module):
    """``x`` where x > 0, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{inplace_repr(self.inplace)}"


class ELU(Module):
    """``x`` where x > 0, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{inplace_repr(self.inplace)}"


class GELU(Module):
    """``x * Phi(x)`` (``approximate="tanh"`` for the tanh approximation)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise OpError(f"GELU: approximate={approximate!r} is not 'none' or 'tanh'")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    """Hyperbolic tangent, elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Probabilities along ``dim``: ``exp(x) / sum(exp(x))``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-probabilities along ``dim``: ``x - logsumexp(x)``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
