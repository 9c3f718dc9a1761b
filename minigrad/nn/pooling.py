"""Pooling with PyTorch's names and semantics: ``max_pool1d``/``2d``, ``avg_pool1d``/``2d`` and
the modules ``MaxPool1d``, ``MaxPool2d``, ``AvgPool1d``, ``AvgPool2d``. (Adaptive pooling is in
``adaptive_pooling.py``.)

Max pooling is the ``MaxPool`` primitive (ops/pooling.py); average pooling is a composite:
windows that tile the input are a reshape and a mean, other windows go through ``Unfold``. A
1-D input runs as an image of height 1. ``ceil_mode`` extends the input
at the end (by values that never win, or that do not count towards a mean) so that the last,
partial window fits. Inputs (N, C, H, W) or (C, H, W); (N, C, L) or (C, L) in 1-D.
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..functions import as_tensor
from ..ops import MaxPool, Unfold
from ..ops.window import output_size, unfold
from ..primitive import apply
from ..tensor import Tensor
from .padding import pad
from .spatial import WindowLayer, as_2d, as_batch, check_fits, lift, ntuple

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "MaxPool1d",
    "MaxPool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
]

# ----- functional --------------------------------------------------------------------------------


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):  # fmt: skip
    """The largest value of each window of a sequence, as PyTorch's ``max_pool1d``: see
    ``max_pool2d``, with ints for a window along L."""
    return pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, 1, "amax",
                return_indices=return_indices)  # fmt: skip


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):  # fmt: skip
    """The largest value of each window, as PyTorch's ``max_pool2d``.

    ``input`` (N, C, H, W) or (C, H, W); ``kernel_size``, ``stride`` (default: the kernel size),
    ``padding`` (at most half the kernel) and ``dilation`` are ints or pairs. ``ceil_mode``
    rounds the output size up (a last, partial window that starts inside the input or its left
    padding). Padding never wins: it is the dtype's lowest value (acting as -inf, but finite,
    so ``detect_anomaly`` stays quiet). With ``return_indices``, also the position of each
    maximum in its (unpadded) input plane, flattened (int64, the first of equal maxima), as
    PyTorch's. The gradient goes to each window's first maximum (row-major), as PyTorch's.
    """
    return pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, 2, "amax",
                return_indices=return_indices)  # fmt: skip


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:  # fmt: skip
    """The mean of each window of a sequence, as PyTorch's ``avg_pool1d``: see ``avg_pool2d``."""
    return pool("avg_pool1d", input, kernel_size, stride, padding, 1, ceil_mode, 1, "mean",
                count_include_pad=count_include_pad)  # fmt: skip


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:  # fmt: skip
    """The mean of each window, as PyTorch's ``avg_pool2d``.

    ``input`` (N, C, H, W) or (C, H, W); ``kernel_size``, ``stride`` (default: the kernel size)
    and ``padding`` (at most half the kernel) are ints or pairs. Each window's sum is divided by
    the number of its elements inside the padded input (``count_include_pad=True``, the
    default: zero padding counts), or inside the input only (``False``); a window that
    ``ceil_mode`` lets run past the padding counts only what it covers. ``divisor_override``
    replaces the count.
    """
    return pool("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode, 2, "mean",
                count_include_pad=count_include_pad, divisor_override=divisor_override)  # fmt: skip


def pool_arguments(who, kernel_size, stride, padding, dilation, dims):
    """kernel, stride, padding and dilation as tuples of ``dims`` ints, checked."""
    kernel = ntuple(who, "kernel_size", kernel_size, 1, dims)
    empty = isinstance(stride, (list, tuple)) and not stride
    stride = kernel if stride is None or empty else ntuple(who, "stride", stride, 1, dims)
    pads = ntuple(who, "padding", padding, 0, dims)
    dilation = ntuple(who, "dilation", dilation, 1, dims)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(2 * p > e for p, e in zip(pads, extent)):
        raise OpError(
            f"{who}: padding {padding!r} must be at most half the kernel's extent "
            f"{extent if dims > 1 else extent[0]}"
        )
    return kernel, stride, pads, dilation


def pooled_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's output size: floor (or ceil) of the window count, and with ``ceil_mode`` no
    window that starts in the right padding."""
    span = n + 2 * p - d * (k - 1) - 1
    size = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (size - 1) * s >= n + p:
        size -= 1
    return size


def pool(who, x, kernel_size, stride, padding, dilation, ceil_mode, dims, reduction,
         count_include_pad=True, divisor_override=None, return_indices=False):  # fmt: skip
    """Max (``reduction="amax"``) or average (``"mean"``) pooling over ``dims`` spatial dims."""
    x, unbatched = as_batch(who, as_tensor(x), dims)
    kernel, stride, padding, dilation = pool_arguments(who, kernel_size, stride, padding,
                                                       dilation, dims)  # fmt: skip
    if reduction == "mean" and divisor_override is not None and divisor_override == 0:
        raise OpError(f"{who}: divisor_override must be non-zero")
    pads = tuple((p, p) for p in padding)
    check_fits(who, x.shape, pads, kernel, dilation)
    if ceil_mode:
        # More padding at the end, so that the last, partial window fits.
        pads = tuple(
            (p, max(p, (pooled_size(n, k, s, p, d, True) - 1) * s + d * (k - 1) + 1 - n - p))
            for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)
        )
    if dims == 1:
        x, kernel, stride, dilation = as_2d(x), lift(kernel, 1), lift(stride, 1), lift(dilation, 1)
        pads = lift(pads, (0, 0))
    if any(pads[0] + pads[1]):
        widths = pads[1] + pads[0]  # (left, right, top, bottom)
        if reduction == "amax":
            kind = np.finfo if x.dtype.kind in "fc" else np.iinfo
            x = pad(x, widths, value=kind(x.dtype).min)
        else:
            x = pad(x, widths)
    if reduction == "mean":
        divisor = _divisor(x.shape[2:], pads, kernel, stride, count_include_pad)
        if divisor_override is not None:
            divisor = np.array(divisor_override)
        if divisor is not None:  # the windows' sums over their counts, as PyTorch's
            sums = _windows(x, kernel, stride, dilation, "sum")
            return _unlift(sums / divisor.astype(x.dtype), dims, unbatched)
    if reduction == "amax":
        out = apply(MaxPool, x, kernel=kernel, stride=stride, dilation=dilation)
    else:
        out = _windows(x, kernel, stride, dilation, reduction)
    if return_indices:
        indices = _argmax_positions(x.data, pads, kernel, stride, dilation)
        return _unlift(out, dims, unbatched), _unlift(indices, dims, unbatched)
    return _unlift(out, dims, unbatched)


def _unlift(out, dims: int, unbatched: bool):
    if dims == 1:
        out = out.reshape(out.shape[:2] + out.shape[3:])
    return out[0] if unbatched else out


def _windows(x: Tensor, kernel, stride, dilation, reduction: str) -> Tensor:
    """``reduction`` of each window of a padded batch ``x`` (N, C, H, W)."""
    N, C, H, W = x.shape
    (kh, kw), (OH, OW) = kernel, output_size((H, W), kernel, stride, dilation)
    if stride == kernel and dilation == (1, 1):
        # Windows that tile the image: drop the rows and columns no window reaches, then a
        # reshape (a view) puts each window on two axes of its own; nothing is copied.
        if (OH * kh, OW * kw) != (H, W):
            x = x[:, :, : OH * kh, : OW * kw]
        # NOTE: channels last, because conv2d's output is laid out (N, H, W, C) in memory: the
        # reduction and its gradient then run over contiguous channels, and the gradient comes
        # back in the layout of the layer before (measured: ReLU's backward 1.2 ms -> 0.06 ms).
        windows = x.permute(0, 2, 3, 1).reshape((N, OH, kh, OW, kw, C))
        return getattr(windows, reduction)(axis=(2, 4)).permute(0, 3, 1, 2)
    patches = apply(Unfold, x, kernel=kernel, stride=stride, dilation=dilation)
    return getattr(patches, reduction)(axis=(4, 5)).permute(0, 3, 1, 2)


def _divisor(padded, pads, kernel, stride, count_include_pad: bool):
    """The count each window's sum is divided by, (OH, OW), as PyTorch's avg_pool: the window's
    elements inside the padded input (or, without ``count_include_pad``, inside the input).
    None when every window counts its whole kernel (then the mean is the answer)."""
    counts = []
    for n, (before, after), k, s in zip(padded, pads, kernel, stride):
        p, inside = before, n - before - after  # the user's padding, the input's size
        o = (n - k) // s + 1
        start = np.arange(o) * s - p
        end = np.minimum(start + k, inside + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, inside)
        counts.append(np.maximum(end - start, 1))
    divisor = np.multiply.outer(*counts)
    return None if (divisor == np.prod(kernel)).all() else divisor


def _argmax_positions(padded: np.ndarray, pads, kernel, stride, dilation) -> Tensor:
    """For each window of ``padded`` (N, C, H, W): the flat position of its largest value in
    the unpadded plane (the first one, as PyTorch's), as int64 (N, C, OH, OW)."""
    (top, bottom), (left, right) = pads
    H, W = padded.shape[2] - top - bottom, padded.shape[3] - left - right
    plane = np.arange(H * W).reshape(1, 1, H, W)
    plane = np.pad(plane, ((0, 0), (0, 0)) + tuple(pads), constant_values=-1)
    window = dict(kernel=kernel, stride=stride, dilation=dilation)
    values = unfold(padded, **window)  # (N, OH, OW, C, kh, kw)
    values = values.reshape(values.shape[:4] + (-1,))
    positions = unfold(plane, **window).reshape((1,) + values.shape[1:3] + (1, -1))
    first = np.argmax(values, axis=-1)[..., None]
    found = np.take_along_axis(np.broadcast_to(positions, values.shape), first, axis=-1)
    return Tensor(found[..., 0].transpose(0, 3, 1, 2).astype(np.int64))


# ----- modules -----------------------------------------------------------------------------------


class _MaxPool(WindowLayer):
    """The largest value of each window; no parameters."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        pool_arguments(type(self).__name__, kernel_size, stride, padding, dilation, self.dims)

    def forward(self, input: Tensor):
        self.check_input(input)
        return pool(self._label(), input, self.kernel_size, self.stride, self.padding,
                    self.dilation, self.ceil_mode, self.dims, "amax",
                    return_indices=self.return_indices)  # fmt: skip

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")  # fmt: skip


class MaxPool1d(_MaxPool):
    """The largest value of each window of a sequence (see ``max_pool1d``)."""

    dims = 1


class MaxPool2d(_MaxPool):
    """The largest value of each window (see ``max_pool2d``); no parameters.

    >>> import minigrad as mg
    >>> MaxPool2d(2)(mg.zeros((8, 16, 28, 28))).shape
    (8, 16, 14, 14)
    """

    dims = 2


class AvgPool1d(WindowLayer):
    """The mean of each window of a sequence (see ``avg_pool1d``); no parameters. Its sizes
    are kept as 1-tuples, as PyTorch's."""

    dims = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        kernel, stride, padding, _ = pool_arguments(who, kernel_size, stride, padding, 1, 1)
        self.kernel_size, self.stride, self.padding = kernel, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        self.check_input(input)
        return pool(self._label(), input, self.kernel_size, self.stride, self.padding, 1,
                    self.ceil_mode, 1, "mean",
                    count_include_pad=self.count_include_pad)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(WindowLayer):
    """The mean of each window (see ``avg_pool2d``); no parameters."""

    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None):  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        pool_arguments(type(self).__name__, kernel_size, stride, padding, 1, 2)

    def forward(self, input: Tensor) -> Tensor:
        self.check_input(input)
        return pool(self._label(), input, self.kernel_size, self.stride, self.padding, 1,
                    self.ceil_mode, 2, "mean", count_include_pad=self.count_include_pad,
                    divisor_override=self.divisor_override)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
