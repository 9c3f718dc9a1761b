"""Activation functions and their modules, with PyTorch's names, arguments and values.

Every function is a composite of minigrad's primitives or one of its own (``Erf`` for the exact
GELU; ``GeluTanh``, ``Softmax`` and ``LogSoftmax``, where a composite was measurably slower), so
each has exact reverse, forward and higher derivatives. None overflows for inputs of +-1000:
exponentials only ever see non-positive arguments.
"""

from __future__ import annotations

import math

from .. import ops
from ..errors import OpError, ShapeError
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
from ..tensor import Tensor, is_batched
from .module import Module

__all__ = [
    "relu", "leaky_relu", "elu", "gelu", "softplus", "sigmoid", "tanh", "softmax", "log_softmax",
    "erf", "silu", "mish", "softsign", "logsigmoid", "tanhshrink", "celu", "selu", "glu", "ReLU",
    "LeakyReLU", "ELU", "GELU", "Tanh", "Sigmoid", "Softplus", "Softmax", "LogSoftmax", "SiLU",
    "Mish", "SELU", "CELU", "Softsign", "LogSigmoid", "Tanhshrink", "GLU",
]  # fmt: skip

_SQRT_HALF = math.sqrt(0.5)

# ----- functions ---------------------------------------------------------------------------------


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """``x`` where x > 0, else ``negative_slope * x``; the gradient at 0 is ``negative_slope``
    (PyTorch's choice)."""
    x = as_tensor(x)
    return where(x > 0, x, x * negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    """``x`` where x > 0, else ``alpha * (exp(x) - 1)``; the gradient at 0 is ``alpha``.

    >>> import minigrad as mg
    >>> elu(mg.tensor([-1000.0, 0.0, 2.0]))
    tensor([-1.,  0.,  2.])
    """
    x = as_tensor(x)
    positive = x > 0  # (a mask without gradient, batched under mg.vmap as x is)
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
        return apply(ops.GeluTanh, x)
    raise OpError(f"gelu: approximate={approximate!r} is not 'none' or 'tanh'")


def _softplus(z: Tensor) -> Tensor:
    """log(1 + exp(z)) without overflow: max(z, 0) + log1p(exp(-|z|)).

    NOTE: relu and abs both have the subgradient 0 at 0, which would make the derivative of
    this (smooth) sum 0 at z == 0 instead of 1/2. So -|z| is written as a ``where`` whose
    gradient at 0 comes from the z branch: relu'(0) + sigmoid(0) * 1 = 1/2, exact.
    """
    negative_abs = where(z > 0, -z, z)
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
    above = z > threshold
    return where(above, x, out) if is_batched(above) or above.data.any() else out


def silu(x, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish). ``inplace`` is accepted and computes out of
    place, as for every activation here."""
    x = as_tensor(x)
    return x * sigmoid(x)


def mish(x, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``, with the softplus computed without overflow."""
    x = as_tensor(x)
    return x * tanh(_softplus(x))


def softsign(x) -> Tensor:
    """``x / (1 + |x|)``."""
    x = as_tensor(x)
    return x / (x.abs() + 1.0)


def logsigmoid(x) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, without overflow for large |x|."""
    return -_softplus(-as_tensor(x))


def tanhshrink(x) -> Tensor:
    """``x - tanh(x)``."""
    x = as_tensor(x)
    return x - tanh(x)


def celu(x, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where x > 0, else ``alpha * (exp(x / alpha) - 1)`` (gradient 1 at 0)."""
    if alpha == 0:
        raise OpError("celu: alpha cannot be 0 (it divides x)")
    x = as_tensor(x)
    positive = x > 0
    return where(positive, x, expm1(where(positive, 0.0, x) * (1 / alpha)) * alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with PyTorch's constants (alpha 1.6733, scale 1.0507), which
    keep unit mean and variance through a deep network (Klambauer et al., 2017)."""
    return elu(x, _SELU_ALPHA) * _SELU_SCALE


def glu(x, dim: int = -1) -> Tensor:
    """The gated linear unit: ``a * sigmoid(b)`` for ``x`` split in halves ``a``, ``b`` along
    ``dim``."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ShapeError("glu: does not support 0-d tensors, because the halving size must be even")
    (d,) = normalize_axes("glu", dim, x.shape)
    if x.shape[d] % 2:
        raise ShapeError(
            f"glu: halving dimension must be even, but dimension {d} is size {x.shape[d]} "
            f"(input of shape {x.shape})"
        )
    a, b = x.chunk(2, d)
    return a * sigmoid(b)


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
    return apply(ops.Softmax, x, axis=_axis("softmax", x, axis, dim))


# ----- modules -----------------------------------------------------------------------------------


# NOTE: PyTorch's ``inplace=True`` only saves memory. minigrad computes out of place (the values
# are the same, and the tape stays valid) and accepts the flag so PyTorch code runs unchanged.


def inplace_repr(inplace: bool, sep: str = ", ") -> str:
    """``inplace=True`` for a module's repr when the flag is set (as PyTorch's), else nothing."""
    return f"{sep}inplace=True" if inplace else ""


class Activation(Module):
    """A module that applies its ``function`` (a class attribute) to its input, elementwise."""

    function = staticmethod(relu)

    def forward(self, x: Tensor) -> Tensor:
        return self.function(x)


class InplaceActivation(Activation):
    """An elementwise module whose one argument is PyTorch's ``inplace`` flag."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return inplace_repr(self.inplace, sep="")


class ReLU(InplaceActivation):
    """``max(x, 0)``, elementwise."""

    function = staticmethod(relu)


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


class Tanh(Activation):
    """Hyperbolic tangent, elementwise."""

    function = staticmethod(tanh)


class Sigmoid(Activation):
    """``1 / (1 + exp(-x))``, elementwise."""

    function = staticmethod(sigmoid)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(InplaceActivation):
    """``x * sigmoid(x)``, elementwise."""

    function = staticmethod(silu)


class Mish(InplaceActivation):
    """``x * tanh(softplus(x))``, elementwise."""

    function = staticmethod(mish)


class SELU(InplaceActivation):
    """``scale * elu(x, alpha)`` with the self-normalising constants."""

    function = staticmethod(selu)


class CELU(ELU):
    """``x`` where x > 0, else ``alpha * (exp(x / alpha) - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        if alpha == 0:
            raise OpError("CELU: alpha cannot be 0 (it divides x)")
        super().__init__(alpha, inplace)

    def forward(self, x: Tensor) -> Tensor:
        return celu(x, self.alpha)


class Softsign(Activation):
    """``x / (1 + |x|)``, elementwise."""

    function = staticmethod(softsign)


class LogSigmoid(Activation):
    """``log(sigmoid(x))``, elementwise, without overflow."""

    function = staticmethod(logsigmoid)


class Tanhshrink(Activation):
    """``x - tanh(x)``, elementwise."""

    function = staticmethod(tanhshrink)


class GLU(Module):
    """The gated linear unit along ``dim``: ``a * sigmoid(b)`` for the halves ``a``, ``b``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


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
