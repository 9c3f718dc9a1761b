"""Convolution and pooling with PyTorch's names, layouts and semantics: ``conv2d``,
``max_pool2d``, ``avg_pool2d`` and the modules ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``.

Composites: a convolution is padding, ``Unfold`` (every window as a row) and one matrix
product with the weight, so its forward and backward are one product each plus strided copies,
and every derivative (reverse, forward, higher) follows from the primitives' rules. Pooling
with windows that tile the input is a reshape and a reduction; other windows go through
``Unfold``. Images are (N, C, H, W), or (C, H, W) for one image.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..errors import OpError, ShapeError
from ..functions import as_tensor
from ..ops import Unfold
from ..ops.window import output_size
from ..primitive import apply
from ..tensor import Tensor
from . import init
from .checks import parameter_dtype, same_dtype
from .module import Module, Parameter
from .padding import pad

__all__ = ["AvgPool2d", "Conv2d", "MaxPool2d", "avg_pool2d", "conv2d", "max_pool2d"]

# ----- arguments ---------------------------------------------------------------------------------


def _pair(who: str, name: str, value, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    try:
        pair = tuple(operator.index(v) for v in pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or min(pair) < minimum:
        raise OpError(
            f"{who}: {name} must be an int or a pair of ints, each at least {minimum}; "
            f"got {value!r}"
        )
    return pair


def _conv_padding(who: str, padding, kernel, stride, dilation) -> tuple:
    """((top, bottom), (left, right)) from an int, a pair, "valid" or "same" (as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise OpError(
                    f"{who}: padding='same' is not supported for strided convolutions (stride "
                    f"{stride}); give the padding as ints"
                )
            # As PyTorch: the extra row or column of an even extent goes at the bottom/right.
            totals = (d * (k - 1) for k, d in zip(kernel, dilation))
            return tuple((t // 2, t - t // 2) for t in totals)
        raise OpError(f"{who}: padding must be 'valid', 'same', an int or a pair; got {padding!r}")
    ph, pw = _pair(who, "padding", padding, 0)
    return ((ph, ph), (pw, pw))


def _as_batch(who: str, x: Tensor) -> tuple[Tensor, bool]:
    """``x`` as (N, C, H, W), and whether it was one image (C, H, W)."""
    if x.ndim == 3:
        return x.reshape((1,) + x.shape), True
    if x.ndim != 4:
        raise ShapeError(f"{who}: got input of shape {x.shape}; expected (N, C, H, W) or (C, H, W)")
    return x, False


def _check_fits(who, shape, pads, kernel, dilation) -> None:
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(n + a + b for n, (a, b) in zip(shape[2:], pads))
    if padded[0] < extent[0] or padded[1] < extent[1]:
        raise ShapeError(
            f"{who}: got input of shape {shape}; its padded spatial size {padded} is smaller "
            f"than the kernel's extent {extent} (kernel {kernel}, dilation {dilation})"
        )


# ----- functional --------------------------------------------------------------------------------


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, as PyTorch's ``conv2d``.

    ``x`` (N, C, H, W) or (C, H, W); ``weight`` (O, C / groups, kh, kw); ``bias`` (O,) or None.
    ``stride``, ``padding`` and ``dilation`` are ints or (height, width) pairs; ``padding`` may
    also be "valid" (none) or "same" (output as large as the input; stride 1 only). Output
    (N, O, OH, OW) with ``OH = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1``:

        out[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q]
                          * x_padded[n, g * C / groups + c, i * stride + p * dilation, ...]

    where g = o // (O / groups) is output channel o's group.
    """
    return _conv2d("conv2d", x, weight, bias, stride, padding, dilation, groups)


def _conv2d(who, x, weight, bias, stride, padding, dilation, groups) -> Tensor:
    x, weight = same_dtype(who, x, weight)
    x, unbatched = _as_batch(who, x)
    if weight.ndim != 4:
        raise ShapeError(
            f"{who}: weight has shape {weight.shape}; expected (out_channels, "
            f"in_channels / groups, kH, kW)"
        )
    O, group_channels, kh, kw = weight.shape
    groups = operator.index(groups)
    if groups < 1 or O % groups:
        raise ShapeError(
            f"{who}: groups={groups} must be a positive divisor of the weight's {O} output "
            f"channels (weight of shape {weight.shape})"
        )
    if x.shape[1] != group_channels * groups:
        raise ShapeError(
            f"{who}: got input of shape {x.shape} with {x.shape[1]} channels, but the weight of "
            f"shape {weight.shape} with groups={groups} expects {group_channels * groups}"
        )
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (O,):
            raise ShapeError(f"{who}: bias has shape {bias.shape}; expected ({O},), one per output")
    kernel = (kh, kw)
    stride = _pair(who, "stride", stride, 1)
    dilation = _pair(who, "dilation", dilation, 1)
    pads = _conv_padding(who, padding, kernel, stride, dilation)
    _check_fits(who, x.shape, pads, kernel, dilation)
    if any(pads[0] + pads[1]):
        x = pad(x, pads[1] + pads[0])  # (left, right, top, bottom)
    patches = apply(Unfold, x, kernel=kernel, stride=stride, dilation=dilation)
    N, OH, OW = patches.shape[:3]
    rows = N * OH * OW
    if groups == 1:
        out = patches.reshape((rows, group_channels * kh * kw)) @ weight.reshape((O, -1)).T
    else:
        # One product per group, as a batched matmul: (G, rows, K) @ (G, K, O / G).
        a = patches.reshape((rows, groups, -1)).permute(1, 0, 2)
        w = weight.reshape((groups, O // groups, -1)).permute(0, 2, 1)
        out = (a @ w).permute(1, 0, 2).reshape((rows, O))
    if bias is not None:
        out = out + bias
    out = out.reshape((N, OH, OW, O)).permute(0, 3, 1, 2)
    return out[0] if unbatched else out


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """The largest value of each window, as PyTorch's ``max_pool2d`` (floor mode).

    ``x`` (N, C, H, W) or (C, H, W); ``kernel_size``, ``stride`` (default: the kernel size),
    ``padding`` (at most half the kernel) and ``dilation`` are ints or pairs. Padding never
    wins: it is the dtype's lowest value (acting as -inf, but finite, so ``detect_anomaly``
    stays quiet). Where a window holds several equal maxima, minigrad splits the gradient
    evenly among them (PyTorch gives it all to one); elsewhere the two agree.
    """
    return _pool("max_pool2d", x, kernel_size, stride, padding, dilation, "amax")


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """The mean of each window, as PyTorch's ``avg_pool2d`` (floor mode, count_include_pad=True:
    zero padding counts towards the mean).

    ``x`` (N, C, H, W) or (C, H, W); ``kernel_size``, ``stride`` (default: the kernel size) and
    ``padding`` (at most half the kernel) are ints or pairs.
    """
    return _pool("avg_pool2d", x, kernel_size, stride, padding, 1, "mean")


def _pool_arguments(who, kernel_size, stride, padding, dilation):
    """kernel, stride, ((top, bottom), (left, right)) padding and dilation, as pairs, checked."""
    kernel = _pair(who, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair(who, "stride", stride, 1)
    ph, pw = _pair(who, "padding", padding, 0)
    dilation = _pair(who, "dilation", dilation, 1)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if 2 * ph > extent[0] or 2 * pw > extent[1]:
        raise OpError(
            f"{who}: padding {padding!r} must be at most half the kernel's extent {extent}"
        )
    return kernel, stride, ((ph, ph), (pw, pw)), dilation


def _pool(who, x, kernel_size, stride, padding, dilation, reduction) -> Tensor:
    x, unbatched = _as_batch(who, as_tensor(x))
    kernel, stride, pads, dilation = _pool_arguments(who, kernel_size, stride, padding, dilation)
    _check_fits(who, x.shape, pads, kernel, dilation)
    if any(pads[0] + pads[1]):
        if reduction == "amax":
            kind = np.finfo if x.dtype.kind in "fc" else np.iinfo
            x = pad(x, pads[1] + pads[0], value=kind(x.dtype).min)
        else:
            x = pad(x, pads[1] + pads[0])
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
        out = getattr(windows, reduction)(axis=(2, 4)).permute(0, 3, 1, 2)
    else:
        patches = apply(Unfold, x, kernel=kernel, stride=stride, dilation=dilation)
        out = getattr(patches, reduction)(axis=(4, 5)).permute(0, 3, 1, 2)
    return out[0] if unbatched else out


# ----- modules -----------------------------------------------------------------------------------


class _Layer(Module):
    """What the three layers share: their name in messages, and the input check."""

    def _label(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _check_batch(self, x: Tensor, channels: str = "C") -> None:
        if x.ndim not in (3, 4) or (channels != "C" and x.shape[-3] != int(channels)):
            raise ShapeError(
                f"{self._label()}: got input of shape {x.shape}; expected (N, {channels}, H, W) "
                f"or ({channels}, H, W)"
            )


class Conv2d(_Layer):
    """2-D convolution (see ``conv2d``) with weight (out_channels, in_channels / groups, kh, kw)
    and bias (out_channels,), initialised as PyTorch's: kaiming_uniform_(a=sqrt(5)) for the
    weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias, fan_in = in / groups * kh * kw.

    >>> import minigrad as mg
    >>> layer = Conv2d(1, 16, kernel_size=3, padding=1)
    >>> layer(mg.zeros((8, 1, 28, 28))).shape
    (8, 16, 28, 28)
    >>> MaxPool2d(2)(layer(mg.zeros((8, 1, 28, 28)))).shape
    (8, 16, 14, 14)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, dtype=None,
                 generator=None):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        dtype = parameter_dtype(who, dtype)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ShapeError(
                f"{who}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                f"be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(who, "kernel_size", kernel_size, 1)
        self.stride = _pair(who, "stride", stride, 1)
        self.dilation = _pair(who, "dilation", dilation, 1)
        _conv_padding(who, padding, self.kernel_size, self.stride, self.dilation)  # validate
        self.padding = padding if isinstance(padding, str) else _pair(who, "padding", padding, 0)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = init.fans(self.weight)[0]
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, x: Tensor) -> Tensor:
        self._check_batch(x, str(self.in_channels))
        return _conv2d(self._label(), x, self.weight, self.bias, self.stride, self.padding,
                       self.dilation, self.groups)  # fmt: skip

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text if self.bias is not None else text + ", bias=False"


class MaxPool2d(_Layer):
    """The largest value of each window (see ``max_pool2d``); no parameters."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        _pool_arguments(type(self).__name__, kernel_size, stride, padding, dilation)  # validate

    def forward(self, x: Tensor) -> Tensor:
        self._check_batch(x)
        return _pool(self._label(), x, self.kernel_size, self.stride, self.padding,
                     self.dilation, "amax")  # fmt: skip

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}")  # fmt: skip


class AvgPool2d(_Layer):
    """The mean of each window (see ``avg_pool2d``; padding counts); no parameters."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        _pool_arguments(type(self).__name__, kernel_size, stride, padding, 1)  # validate

    def forward(self, x: Tensor) -> Tensor:
        self._check_batch(x)
        return _pool(self._label(), x, self.kernel_size, self.stride, self.padding, 1, "mean")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
