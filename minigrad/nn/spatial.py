"""Arguments of the layers that slide windows over 1 or 2 spatial dims (convolutions, transposed
convolutions, pooling): ints or tuples per dim, PyTorch's padding forms, inputs with or without
the batch dim, and the check that the kernel fits, each raising an error that names the layer.

The computation itself is 2-D (``ops/window.py``): a 1-D input (N, C, L) runs as (N, C, 1, L)
with a kernel of height 1, which adds no work (one kernel row, no copy).
"""

from __future__ import annotations

import operator

import numpy as np

from ..errors import OpError, ShapeError
from ..tensor import Tensor
from .module import Module

SHAPES = {1: ("L",), 2: ("H", "W")}


def ntuple(who: str, name: str, value, minimum: int, dims: int) -> tuple[int, ...]:
    """An int or ``dims`` ints as a tuple of ``dims`` ints, each at least ``minimum``."""
    if type(value) is int and value >= minimum:  # the common case, kept short
        return (value,) * dims
    many = (value,) * dims if isinstance(value, (int, np.integer)) else value
    try:
        many = tuple(operator.index(v) for v in many)
    except TypeError:
        many = ()
    if len(many) != dims or min(many) < minimum:
        kind = "an int" if dims == 1 else "an int or a pair of ints"
        raise OpError(f"{who}: {name} must be {kind}, each at least {minimum}; got {value!r}")
    return many


def conv_padding(who: str, padding, kernel, stride, dilation) -> tuple[tuple[int, int], ...]:
    """One (before, after) pair per spatial dim from an int, a tuple, "valid" or "same"."""
    dims = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * dims
        if padding == "same":
            if any(s != 1 for s in stride):
                raise OpError(
                    f"{who}: padding='same' is not supported for strided convolutions (stride "
                    f"{stride}); give the padding as ints"
                )
            # As PyTorch: the extra row or column of an odd total goes at the bottom/right.
            totals = (d * (k - 1) for k, d in zip(kernel, dilation))
            return tuple((t // 2, t - t // 2) for t in totals)
        kind = "an int" if dims == 1 else "an int or a pair"
        raise OpError(f"{who}: padding must be 'valid', 'same', {kind}; got {padding!r}")
    return tuple((p, p) for p in ntuple(who, "padding", padding, 0, dims))


def batch_shape(dims: int, channels="C") -> str:
    """The shapes a layer over ``dims`` spatial dims takes, for messages."""
    spatial = ", ".join(SHAPES[dims])
    return f"(N, {channels}, {spatial}) or ({channels}, {spatial})"


def kernel_names(dims: int) -> str:
    """The kernel's dims in a weight's shape, as PyTorch's messages name them."""
    return "kW" if dims == 1 else "kH, kW"


def as_batch(who: str, x: Tensor, dims: int) -> tuple[Tensor, bool]:
    """``x`` with a batch dim, and whether it came without one."""
    if x.ndim == dims + 1:
        return x.reshape((1,) + x.shape), True
    if x.ndim != dims + 2:
        raise ShapeError(f"{who}: got input of shape {x.shape}; expected {batch_shape(dims)}")
    return x, False


def check_fits(who: str, shape, pads, kernel, dilation) -> None:
    """The padded input is at least as large as the kernel's extent along every spatial dim."""
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(n + a + b for n, (a, b) in zip(shape[2:], pads))
    if any(p < e for p, e in zip(padded, extent)):
        show = (lambda t: t) if len(kernel) > 1 else (lambda t: t[0])
        raise ShapeError(
            f"{who}: got input of shape {tuple(shape)}; its padded spatial size {show(padded)} "
            f"is smaller than the kernel's extent {show(extent)} (kernel {show(tuple(kernel))}, "
            f"dilation {show(tuple(dilation))})"
        )


def as_2d(x: Tensor) -> Tensor:
    """A batch (N, C, L) as images (N, C, 1, L)."""
    return x.reshape(x.shape[:2] + (1,) + x.shape[2:])


def lift(values: tuple, fill) -> tuple:
    """A 1-D argument as the 2-D one: ``fill`` for the unit height, then ``values``."""
    return (fill,) + tuple(values) if len(values) == 1 else tuple(values)


class WindowLayer(Module):
    """What the sliding-window layers share: their name in messages, and the input check."""

    dims = 2  # spatial dims

    def _label(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def check_input(self, x, channels: str = "C") -> None:
        """``x`` is (N, channels, *spatial) or (channels, *spatial)."""
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        ndim = len(shape)
        if ndim not in (self.dims + 1, self.dims + 2) or (
            channels != "C" and shape[-self.dims - 1] != int(channels)
        ):
            raise ShapeError(
                f"{self._label()}: got input of shape {tuple(shape)}; expected "
                f"{batch_shape(self.dims, channels)}"
            )
