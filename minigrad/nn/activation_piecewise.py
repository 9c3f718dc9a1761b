"""Piecewise activations and their modules, with PyTorch's names, arguments, values and
gradients at the kinks: ``hardtanh``, ``relu6``, ``hardsigmoid``, ``hardswish``, ``threshold``,
``hardshrink``, ``softshrink``, and the ones with a slope that is learned (``prelu``) or random
(``rrelu``).

Composites of ``where`` and arithmetic, so every one has exact reverse, forward and higher
derivatives. At a kink the gradient is PyTorch's: 0 at the ends of hardtanh's, hardsigmoid's and
the shrinks' linear pieces, as their backward passes compute it.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..batching import map_data
from ..errors import OpError, ShapeError
from ..functions import as_tensor, clamp, where
from ..random import Generator, rng
from ..tensor import Tensor
from .activation import InplaceActivation, inplace_repr, leaky_relu
from .checks import check_size, parameter_dtype
from .module import Module, Parameter

__all__ = [
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "threshold", "hardshrink", "softshrink",
    "prelu", "rrelu", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Threshold", "Hardshrink",
    "Softshrink", "PReLU", "RReLU",
]  # fmt: skip


def _number(who: str, name: str, value) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise OpError(f"{who}: {name} must be a real number, got {value!r}")
    return value


# ----- functions ---------------------------------------------------------------------------------


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at and beyond
    the ends (PyTorch's). ``inplace`` is accepted and computes out of place.

    >>> import minigrad as mg
    >>> hardtanh(mg.tensor([-2.0, 0.5, 3.0]))
    tensor([-1. ,  0.5,  1. ])
    """
    _number("hardtanh", "min_val", min_val)
    _number("hardtanh", "max_val", max_val)
    if min_val > max_val:
        raise OpError(
            f"hardtanh: min_val cannot be greater than max_val, got {min_val} > {max_val}"
        )
    x = as_tensor(x)
    # NOTE: the mask and the clipped values from numpy, in one pass each (batched under
    # mg.vmap as x is); the clipped values are constants, so the gradient is 0 outside.
    inside = map_data(lambda d: (d > min_val) & (d < max_val), x)
    return where(inside, x, map_data(lambda d: np.clip(d, min_val, max_val), x))


def relu6(x, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``: ``hardtanh(x, 0, 6)``."""
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x, inplace: bool = False) -> Tensor:
    """0 for x <= -3, 1 for x >= 3, ``x / 6 + 1/2`` between (gradient 1/6 strictly inside)."""
    x = as_tensor(x)
    inside = map_data(lambda d: (d > -3) & (d < 3), x)
    return where(inside, x * (1 / 6) + 0.5, map_data(lambda d: (d >= 3).astype(d.dtype), x))


def hardswish(x, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)``: 0 for x <= -3, x for x >= 3, ``x (x + 3) / 6`` between; the
    gradient is 0 at -3 and 1 at 3 (PyTorch's)."""
    x = as_tensor(x)
    return x * hardsigmoid(x)


def threshold(x, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where x > threshold, else ``value`` (gradient 0 there)."""
    _number("threshold", "threshold", threshold)
    _number("threshold", "value", value)
    x = as_tensor(x)
    return where(x > threshold, x, np.asarray(value, dtype=x.dtype))


def _check_lambda(who: str, lambd) -> float:
    if _number(who, "lambd", lambd) < 0:
        raise OpError(f"{who}: lambda must be >= 0, but found to be {lambd}")
    return lambd


def hardshrink(x, lambd: float = 0.5) -> Tensor:
    """``x`` where |x| > lambd, else 0."""
    lambd = _check_lambda("hardshrink", lambd)
    x = as_tensor(x)
    return where(x.detach().abs() > lambd, x, np.zeros((), x.dtype))


def softshrink(x, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` where x > lambd, ``x + lambd`` where x < -lambd, else 0: ``x`` minus its
    clip to [-lambd, lambd] (the gradient is 0 at |x| = lambd, as PyTorch's)."""
    lambd = _check_lambda("softshrink", lambd)
    x = as_tensor(x)
    return x - clamp(x, -lambd, lambd)


def prelu(x, weight) -> Tensor:
    """``x`` where x > 0, else ``weight * x``, with one slope per channel (dim 1 of ``x``) or one
    for all: ``weight`` of shape (C,) or (1,). Both get gradients; the one of x at 0 is the
    slope (PyTorch's)."""
    x, weight = as_tensor(x), as_tensor(weight)
    if weight.ndim > 1:
        raise ShapeError(
            f"prelu: expected weight to be a scalar or 1-D tensor, but got shape {weight.shape}"
        )
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.numel() not in (1, channels):
        raise ShapeError(
            f"prelu: mismatch of parameter numbers and input channel size: found "
            f"{weight.numel()} parameters and channel size {channels} (dim 1 of the input of "
            f"shape {x.shape}); give one slope or one per channel"
        )
    if weight.numel() > 1:
        weight = weight.reshape((channels,) + (1,) * (x.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return where(x > 0, x, x * weight)


def rrelu(x, lower: float = 1 / 8, upper: float = 1 / 3, training: bool = False,
          inplace: bool = False, *, generator: Generator | None = None) -> Tensor:  # fmt: skip
    """Randomized leaky ReLU: in training, ``x`` where x > 0, else ``a * x`` with a slope ``a``
    drawn uniformly from [lower, upper] for each element (minigrad's default generator or
    ``generator``); otherwise ``leaky_relu`` with the mean slope ``(lower + upper) / 2``."""
    if _number("rrelu", "lower", lower) > _number("rrelu", "upper", upper):
        raise OpError(
            f"rrelu: lower bound should be less than or equal to the upper bound, got "
            f"lower={lower}, upper={upper}"
        )
    x = as_tensor(x)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slopes = rng(generator).uniform(lower, upper, x.shape)  # (vmap's randomness applies)
    return where(x > 0, x, x * as_tensor(slopes).astype(x.dtype))


# ----- modules -----------------------------------------------------------------------------------


class Hardtanh(Module):
    """``x`` clipped to [min_val, max_val] (see ``hardtanh``)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val > max_val:
            raise OpError(f"{type(self).__name__}: min_val cannot be greater than max_val")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x: Tensor) -> Tensor:
        return hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace_repr(self.inplace)}"


class ReLU6(InplaceActivation):
    """``min(max(x, 0), 6)`` (PyTorch's is a Hardtanh; its repr shows only ``inplace``)."""

    function = staticmethod(relu6)
    min_val, max_val = 0.0, 6.0


class Hardsigmoid(InplaceActivation):
    """0 below -3, 1 above 3, ``x / 6 + 1/2`` between (see ``hardsigmoid``)."""

    function = staticmethod(hardsigmoid)

    def extra_repr(self) -> str:
        return ""  # PyTorch's shows no ``inplace``


class Hardswish(Hardsigmoid):
    """``x * hardsigmoid(x)`` (see ``hardswish``)."""

    function = staticmethod(hardswish)


class Threshold(Module):
    """``x`` where x > threshold, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x: Tensor) -> Tensor:
        return threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{inplace_repr(self.inplace)}"


class Hardshrink(Module):
    """``x`` where |x| > lambd, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = _check_lambda(type(self).__name__, lambd)

    def forward(self, x: Tensor) -> Tensor:
        return hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``x`` moved towards 0 by ``lambd``, and 0 within ``lambd`` of 0."""

    def forward(self, x: Tensor) -> Tensor:
        return softshrink(x, self.lambd)


class PReLU(Module):
    """``x`` where x > 0, else ``weight * x``: a learned slope, one for all channels
    (``num_parameters=1``) or one per channel (dim 1 of the input), each starting at ``init``.

    >>> import minigrad as mg
    >>> PReLU()(mg.tensor([-2.0, 3.0])).tolist()
    [-0.5, 3.0]
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None):
        super().__init__()
        who = type(self).__name__
        self.num_parameters = check_size(who, "num_parameters", num_parameters)
        self.init = _number(who, "init", init)
        self.weight = Parameter(np.full(num_parameters, init, dtype=parameter_dtype(who, dtype)))

    def forward(self, x: Tensor) -> Tensor:
        return prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: random slopes in [lower, upper] in training, their mean in
    evaluation (see ``rrelu``)."""

    def __init__(self, lower: float = 1 / 8, upper: float = 1 / 3, inplace: bool = False, *,
                 generator: Generator | None = None):  # fmt: skip
        super().__init__()
        if lower > upper:
            raise OpError(f"RReLU: lower bound {lower} is greater than the upper bound {upper}")
        self.lower, self.upper, self.inplace, self.generator = lower, upper, inplace, generator

    def forward(self, x: Tensor) -> Tensor:
        return rrelu(x, self.lower, self.upper, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{inplace_repr(self.inplace)}"
