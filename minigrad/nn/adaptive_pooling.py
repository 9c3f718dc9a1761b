"""Adaptive pooling with PyTorch's names and semantics: ``adaptive_avg_pool1d``/``2d``,
``adaptive_max_pool1d``/``2d`` and their modules. The caller names the output size; the
windows ("bins") follow from it, as PyTorch's: bin ``i`` of ``o`` over a dim of size ``n``
covers ``[floor(i * n / o), ceil((i + 1) * n / o))``, so neighbouring bins may overlap.

Both reductions are separable (the mean over a rectangle of bins is the mean over its rows of
the means over its columns; the maximum likewise), so each spatial dim is pooled on its own:
a reshape and a reduction when ``o`` divides ``n`` (equal bins that tile the dim), otherwise
a product with the (o, n) matrix of bin weights for the mean, and a gather of each bin's
elements (a short bin repeats its last element, which changes neither the maximum nor its
gradient) for the maximum.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..functions import as_tensor
from ..tensor import Tensor
from .spatial import WindowLayer, as_batch

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """The mean of each of ``output_size`` bins along L of ``input`` (N, C, L) or (C, L)."""
    return adaptive_pool("adaptive_avg_pool1d", input, output_size, 1, "mean")


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """The mean of each bin of ``input`` (N, C, H, W) or (C, H, W); ``output_size`` is an int
    or an (OH, OW) pair, where None keeps that dim's size. ``output_size=1`` is global average
    pooling."""
    return adaptive_pool("adaptive_avg_pool2d", input, output_size, 2, "mean")


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    """The largest value of each of ``output_size`` bins along L; with ``return_indices``,
    also its position along L (int64, the first of equal maxima)."""
    return adaptive_pool("adaptive_max_pool1d", input, output_size, 1, "amax", return_indices)


def adaptive_max_pool2d(input, output_size, return_indices: bool = False):
    """The largest value of each bin of ``input`` (N, C, H, W) or (C, H, W); with
    ``return_indices``, also its flat position ``h * W + w`` in the input plane (int64, the
    first of equal maxima in row-major order, as PyTorch's)."""
    return adaptive_pool("adaptive_max_pool2d", input, output_size, 2, "amax", return_indices)


def bins(n: int, o: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's bins: starts ``floor(i * n / o)`` and ends ``ceil((i + 1) * n / o)``."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def output_sizes(who: str, output_size, shape, dims: int) -> tuple[int, ...]:
    """``output_size`` (an int, or one int or None per spatial dim) as a tuple of ints."""
    sizes = (
        (output_size,) * dims if output_size is None or np.ndim(output_size) == 0 else output_size
    )
    try:
        sizes = tuple(n if o is None else int(o) for o, n in zip(sizes, shape, strict=True))
    except (TypeError, ValueError):
        sizes = ()
    if len(sizes) != dims or min(sizes) < 1:
        kind = "an int" if dims == 1 else "an int or a pair of ints (or None to keep a size)"
        raise ShapeError(f"{who}: output_size must be {kind}, each at least 1; got {output_size!r}")
    return sizes


def adaptive_pool(who, x, output_size, dims, reduction, return_indices=False):
    """Mean (``reduction="mean"``) or max (``"amax"``) over adaptive bins of ``dims`` dims."""
    x, unbatched = as_batch(who, as_tensor(x), dims)
    spatial = x.shape[2:]
    if min(spatial) < 1:
        raise ShapeError(f"{who}: got input of shape {x.shape}; its spatial dims must not be empty")
    sizes = output_sizes(who, output_size, spatial, dims)
    if all(n % o == 0 for n, o in zip(spatial, sizes)):
        # Equal bins that tile the input: one reshape, one reduction.
        split = tuple(v for n, o in zip(spatial, sizes) for v in (o, n // o))
        windows = x.reshape(x.shape[:2] + split)
        out = getattr(windows, reduction)(axis=tuple(range(3, 3 + 2 * dims, 2)))
    else:
        out = x
        for axis in range(2, 2 + dims):
            out = _pool_axis(out, axis, sizes[axis - 2], reduction)
    if return_indices and reduction == "amax":
        indices = _argmax_positions(x.data, sizes)
        return (out[0], indices[0]) if unbatched else (out, indices)
    return out[0] if unbatched else out


def _pool_axis(x: Tensor, axis: int, o: int, reduction: str) -> Tensor:
    """``x`` pooled into ``o`` bins along ``axis``."""
    n = x.shape[axis]
    if n == o:
        return x
    if n % o == 0:
        windows = x.reshape(x.shape[:axis] + (o, n // o) + x.shape[axis + 1 :])
        return getattr(windows, reduction)(axis=axis + 1)
    start, end = bins(n, o)
    if reduction == "mean":
        weights = np.zeros((o, n), x.dtype)
        for i, (a, b) in enumerate(zip(start, end)):
            weights[i, a:b] = 1 / (b - a)
        if axis == x.ndim - 1:
            return x @ weights.T
        if axis == x.ndim - 2:
            return weights @ x
        moved = x.transpose(axis, -1)
        return (moved @ weights.T).transpose(axis, -1)
    index = _bin_elements(start, end)
    gathered = x[(slice(None),) * axis + (index,)]  # (..., o, longest bin, ...)
    return gathered.amax(axis=axis + 1)


def _bin_elements(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(o, longest bin) positions: each bin's elements, a short bin's last one repeated."""
    longest = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(longest), end[:, None] - 1)


def _argmax_positions(x: np.ndarray, sizes) -> Tensor:
    """The flat position in the input plane of each bin's largest value (the first in
    row-major order), int64 of the output's shape."""
    lifted = x.ndim == 3
    if lifted:
        x, sizes = x[:, :, None, :], (1,) + tuple(sizes)
    H, W = x.shape[2:]
    rows = _bin_elements(*bins(H, sizes[0]))  # (OH, Kh)
    cols = _bin_elements(*bins(W, sizes[1]))  # (OW, Kw)
    r, c = rows[:, None, :, None], cols[None, :, None, :]
    values = x[:, :, r, c]  # (N, C, OH, OW, Kh, Kw)
    values = values.reshape(values.shape[:4] + (-1,))
    positions = (r * W + c).astype(np.int64).reshape(values.shape[2:])  # (OH, OW, Kh * Kw)
    first = np.argmax(values, axis=-1)[..., None]
    found = np.take_along_axis(np.broadcast_to(positions, values.shape), first, axis=-1)[..., 0]
    return Tensor(found[:, :, 0] if lifted else found)


# ----- modules -----------------------------------------------------------------------------------


class _Adaptive(WindowLayer):
    """Adaptive pooling to ``output_size``; no parameters."""

    reduction = "mean"

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices
        who = type(self).__name__
        output_sizes(who, output_size, (1,) * self.dims, self.dims)  # validate

    def forward(self, input: Tensor):
        self.check_input(input)
        return adaptive_pool(self._label(), input, self.output_size, self.dims, self.reduction,
                             self.return_indices)  # fmt: skip

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_Adaptive):
    """The mean of each of ``output_size`` bins along L (see ``adaptive_avg_pool1d``)."""

    dims = 1

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveAvgPool2d(_Adaptive):
    """The mean of each bin (see ``adaptive_avg_pool2d``); ``AdaptiveAvgPool2d(1)`` is global
    average pooling.

    >>> import minigrad as mg
    >>> AdaptiveAvgPool2d((1, 1))(mg.zeros((8, 64, 7, 7))).shape
    (8, 64, 1, 1)
    """

    dims = 2

    def __init__(self, output_size):
        super().__init__(output_size)


class AdaptiveMaxPool1d(_Adaptive):
    """The largest value of each bin along L (see ``adaptive_max_pool1d``)."""

    dims, reduction = 1, "amax"


class AdaptiveMaxPool2d(_Adaptive):
    """The largest value of each bin (see ``adaptive_max_pool2d``)."""

    dims, reduction = 2, "amax"
