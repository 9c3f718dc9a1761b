"""Convolutions with PyTorch's names, layouts and semantics: ``conv1d``, ``conv2d`` and the
modules ``Conv1d``, ``Conv2d`` (and ``_ConvNd``, which the transposed convolutions share).

A convolution is one primitive, ``ops.Convolution``: padding, every window as a row and one
matrix product with the weight inside, so its forward and backward are one product each plus
strided copies; its rules are written with ``Unfold``/``Fold`` and products, so every
derivative (reverse, forward, higher) follows. A 1-D convolution is the 2-D one over a height
of 1. Inputs are (N, C, H, W) or (C, H, W) for one
image; (N, C, L) or (C, L) in 1-D.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..errors import OpError, ShapeError
from ..functions import as_tensor
from ..ops import Convolution
from ..primitive import apply
from ..tensor import Tensor
from . import init
from .checks import parameter_dtype, same_dtype
from .module import Parameter
from .padding import pad
from .spatial import (
    WindowLayer,
    as_2d,
    as_batch,
    check_fits,
    conv_padding,
    kernel_names,
    lift,
    ntuple,
)

__all__ = ["Conv1d", "Conv2d", "conv1d", "conv2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

# ----- functional --------------------------------------------------------------------------------


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over sequences, as PyTorch's ``conv1d``.

    ``input`` (N, C, L) or (C, L); ``weight`` (O, C / groups, k); ``bias`` (O,) or None.
    ``stride``, ``padding`` and ``dilation`` are ints; ``padding`` may also be "valid" or
    "same" (stride 1). Output (N, O, OL), ``OL = (L + 2 * padding - dilation * (k - 1) - 1)
    // stride + 1``:

        out[n, o, i] = bias[o] + sum_{c, p} weight[o, c, p] * x_padded[n, g * C / groups + c,
                                                                          i * stride + p * dilation]
    where g = o // (O / groups) is output channel o's group.
    """
    return convolve("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, as PyTorch's ``conv2d``.

    ``input`` (N, C, H, W) or (C, H, W); ``weight`` (O, C / groups, kh, kw); ``bias`` (O,) or
    None. ``stride``, ``padding`` and ``dilation`` are ints or (height, width) pairs; ``padding``
    may also be "valid" (none) or "same" (output as large as the input; stride 1 only). Output
    (N, O, OH, OW) with ``OH = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1``:

        out[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q]
                          * x_padded[n, g * C / groups + c, i * stride + p * dilation, ...]

    where g = o // (O / groups) is output channel o's group.
    """
    return convolve("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def check_groups(who: str, groups, channels: int, weight: Tensor) -> int:
    """``groups`` as an int dividing ``channels`` (the weight's first dim)."""
    groups = operator.index(groups)
    if groups < 1 or channels % groups:
        raise ShapeError(
            f"{who}: groups={groups} must be a positive divisor of the weight's {channels} "
            f"{'input' if 'transpose' in who else 'output'} channels (weight of shape "
            f"{weight.shape})"
        )
    return groups


def check_bias(who: str, bias, channels: int):
    """``bias`` as a Tensor of shape (channels,), or None."""
    if bias is None:
        return None
    bias = as_tensor(bias)
    if bias.shape != (channels,):
        raise ShapeError(
            f"{who}: bias has shape {bias.shape}; expected ({channels},), one per output"
        )
    return bias


def batch_and_weight(who, x, weight, dims: int, layout: str) -> tuple[Tensor, Tensor, bool]:
    """The input with a batch dim and the weight, as Tensors of one dtype, whether the input
    came without a batch dim; the weight must have ``dims`` kernel dims after ``layout``."""
    x, weight = same_dtype(who, x, weight)
    x, unbatched = as_batch(who, x, dims)
    if weight.ndim != dims + 2:
        first, second = layout.split(", ")
        raise ShapeError(
            f"{who}: weight has shape {weight.shape}; expected ({first}, {second} / groups, "
            f"{kernel_names(dims)})"
        )
    return x, weight, unbatched


def convolve(who, x, weight, bias, stride, padding, dilation, groups, dims) -> Tensor:
    """``conv1d``/``conv2d`` over ``dims`` spatial dims, arguments checked in the caller's terms."""
    x, weight, unbatched = batch_and_weight(who, x, weight, dims, "out_channels, in_channels")
    O, group_channels = weight.shape[:2]
    groups = check_groups(who, groups, O, weight)
    if x.shape[1] != group_channels * groups:
        raise ShapeError(
            f"{who}: got input of shape {x.shape} with {x.shape[1]} channels, but the weight of "
            f"shape {weight.shape} with groups={groups} expects {group_channels * groups}"
        )
    bias = check_bias(who, bias, O)
    kernel = weight.shape[2:]
    stride = ntuple(who, "stride", stride, 1, dims)
    dilation = ntuple(who, "dilation", dilation, 1, dims)
    pads = conv_padding(who, padding, kernel, stride, dilation)
    check_fits(who, x.shape, pads, kernel, dilation)
    if dims == 1:
        x, kernel, stride, dilation = as_2d(x), lift(kernel, 1), lift(stride, 1), lift(dilation, 1)
        pads = lift(pads, (0, 0))
        weight = weight.reshape(weight.shape[:2] + kernel)
    out = _correlate(x, weight, bias, kernel, stride, pads, dilation, groups)
    if dims == 1:
        out = out.reshape(out.shape[:2] + out.shape[3:])
    return out[0] if unbatched else out


def _correlate(x, weight, bias, kernel, stride, pads, dilation, groups) -> Tensor:
    """The 2-D convolution of a batch ``x`` (N, C, H, W), arguments already checked: one
    ``Convolution`` (padding, patches, one product per direction inside), so the image is the
    node's direct input. The output is laid out (N, OH, OW, O) in memory, seen as (N, O, OH, OW):
    the layers after it (ReLU, pooling) then run over contiguous channels."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    window = dict(padding=pads, stride=stride, dilation=dilation, groups=groups)
    return apply(Convolution, *inputs, **window)


# ----- modules -----------------------------------------------------------------------------------


class _ConvNd(WindowLayer):
    """What the convolutions and transposed convolutions share: argument checks, parameters
    (PyTorch's layouts and initialisation: kaiming_uniform_(a=sqrt(5)) for the weight,
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias, fan_in = weight.shape[1] * kernel size)
    and the repr."""

    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, groups: int, bias: bool, padding_mode: str, dtype, generator,
                 output_padding=0):  # fmt: skip
        super().__init__()
        who = type(self).__name__
        dims = self.dims
        dtype = parameter_dtype(who, dtype)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ShapeError(
                f"{who}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                f"be divisible by groups ({groups})"
            )
        if padding_mode not in PADDING_MODES:
            raise OpError(
                f"{who}: padding_mode must be one of {PADDING_MODES}; got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(who, "kernel_size", kernel_size, 1, dims)
        self.stride = ntuple(who, "stride", stride, 1, dims)
        self.dilation = ntuple(who, "dilation", dilation, 1, dims)
        if self.transposed:
            if padding_mode != "zeros":
                raise OpError(f"{who}: only padding_mode='zeros' is supported (as in PyTorch)")
            self.padding = ntuple(who, "padding", padding, 0, dims)
            self.output_padding = check_output_padding(
                who, output_padding, self.stride, self.dilation
            )
        else:
            conv_padding(who, padding, self.kernel_size, self.stride, self.dilation)  # validate
            self.padding = (
                padding if isinstance(padding, str) else ntuple(who, "padding", padding, 0, dims)
            )
            self.output_padding = (0,) * dims
        self.padding_mode = padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = init.fans(self.weight)[0]
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound, generator)

    def extra_repr(self) -> str:
        dims = self.dims
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}"
        if self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


def check_output_padding(who: str, output_padding, stride, dilation) -> tuple[int, ...]:
    """PyTorch's rule: each output padding is smaller than its stride or its dilation."""
    output_padding = ntuple(who, "output_padding", output_padding, 0, len(stride))
    if any(p >= s and p >= d for p, s, d in zip(output_padding, stride, dilation)):
        raise OpError(
            f"{who}: output_padding {output_padding} must be smaller than either the stride "
            f"{stride} or the dilation {dilation}, in every dim"
        )
    return output_padding


class _Conv(_ConvNd):
    """A convolution module: ``conv1d``/``conv2d`` with its parameters, padding_mode too."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None, generator=None):  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        self.check_input(input, str(self.in_channels))
        x, padding = input, self.padding
        if self.padding_mode != "zeros":
            # As PyTorch: pad in that mode first, then convolve without padding.
            pads = conv_padding(self._label(), padding, self.kernel_size, self.stride,
                                self.dilation)  # fmt: skip
            x, padding = pad(x, [w for pair in reversed(pads) for w in pair], self.padding_mode), 0
        return convolve(self._label(), x, self.weight, self.bias, self.stride, padding,
                        self.dilation, self.groups, self.dims)  # fmt: skip


class Conv1d(_Conv):
    """1-D convolution over sequences (see ``conv1d``) with weight (out_channels,
    in_channels / groups, kernel_size) and bias (out_channels,), PyTorch's initialisation.
    ``padding_mode`` is "zeros", "reflect", "replicate" or "circular".

    >>> import minigrad as mg
    >>> Conv1d(4, 8, kernel_size=3, padding="same")(mg.zeros((2, 4, 50))).shape
    (2, 8, 50)
    """

    dims = 1


class Conv2d(_Conv):
    """2-D convolution (see ``conv2d``) with weight (out_channels, in_channels / groups, kh, kw)
    and bias (out_channels,), initialised as PyTorch's: kaiming_uniform_(a=sqrt(5)) for the
    weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias, fan_in = in / groups * kh * kw.
    ``padding_mode`` is "zeros", "reflect", "replicate" or "circular".

    >>> import minigrad as mg
    >>> layer = Conv2d(1, 16, kernel_size=3, padding=1)
    >>> layer(mg.zeros((8, 1, 28, 28))).shape
    (8, 16, 28, 28)
    """

    dims = 2
