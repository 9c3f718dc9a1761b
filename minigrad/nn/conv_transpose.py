"""Transposed convolutions with PyTorch's names, layouts and semantics: ``conv_transpose1d``,
``conv_transpose2d`` and the modules ``ConvTranspose1d``, ``ConvTranspose2d``.

A transposed convolution is the derivative of a convolution with respect to its input, and is
built the same way the convolution's backward is: one matrix product turns each input pixel
into a patch (its channels times the weight), and ``Fold`` adds the overlapping patches into
the output image. The output is then cropped by ``padding`` and extended by ``output_padding``
(rows no patch reaches: zeros, plus the bias). Weight layout as PyTorch's:
(in_channels, out_channels / groups, *kernel).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import OpError, ShapeError
from ..ops import Fold
from ..primitive import apply
from ..tensor import Tensor
from .conv import _ConvNd, batch_and_weight, check_bias, check_groups, check_output_padding
from .padding import pad
from .spatial import as_2d, lift, ntuple

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "conv_transpose1d", "conv_transpose2d"]

# ----- functional --------------------------------------------------------------------------------


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:  # fmt: skip
    """1-D transposed convolution, as PyTorch's ``conv_transpose1d`` (note the argument order:
    ``groups`` before ``dilation``).

    ``input`` (N, C, L) or (C, L); ``weight`` (C, O / groups, k); ``bias`` (O,) or None.
    Output length ``(L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
    It is the gradient of ``conv1d`` with the same weight, stride, padding and dilation with
    respect to its input (``output_padding`` picks among the input lengths that convolve to L).
    """
    return convolve_transpose("conv_transpose1d", input, weight, bias, stride, padding,
                              output_padding, groups, dilation, 1)  # fmt: skip


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:  # fmt: skip
    """2-D transposed convolution ("deconvolution"), as PyTorch's ``conv_transpose2d`` (note
    the argument order: ``groups`` before ``dilation``).

    ``input`` (N, C, H, W) or (C, H, W); ``weight`` (C, O / groups, kh, kw); ``bias`` (O,) or
    None; ``stride``, ``padding``, ``output_padding`` and ``dilation`` are ints or pairs. Output
    (N, O, OH, OW), ``OH = (H - 1) * stride - 2 * padding + dilation * (kh - 1) +
    output_padding + 1``:

        out_full[n, g * O / groups + o, i * stride + p * dilation, j * stride + q * dilation]
            += sum_c x[n, g * C / groups + c, i, j] * weight[g * C / groups + c, o, p, q]

    then ``out = out_full[..., padding : padding + OH, ...] + bias``. It is the gradient of
    ``conv2d`` with respect to its input; each ``output_padding`` must be smaller than its
    stride or its dilation.
    """
    return convolve_transpose("conv_transpose2d", input, weight, bias, stride, padding,
                              output_padding, groups, dilation, 2)  # fmt: skip


def convolve_transpose(who, x, weight, bias, stride, padding, output_padding, groups, dilation,
                       dims) -> Tensor:  # fmt: skip
    """``conv_transpose1d``/``2d`` over ``dims`` spatial dims, arguments checked in its terms."""
    x, weight, unbatched = batch_and_weight(who, x, weight, dims, "in_channels, out_channels")
    C, group_out = weight.shape[:2]
    groups = check_groups(who, groups, C, weight)
    if x.shape[1] != C:
        raise ShapeError(
            f"{who}: got input of shape {x.shape} with {x.shape[1]} channels, but the weight of "
            f"shape {weight.shape} expects {C} (its first dim)"
        )
    O = group_out * groups
    bias = check_bias(who, bias, O)
    kernel = weight.shape[2:]
    stride = ntuple(who, "stride", stride, 1, dims)
    if isinstance(padding, str):
        raise OpError(
            f"{who}: padding must be ints (as in PyTorch, no 'same'/'valid'); got {padding!r}"
        )
    padding = ntuple(who, "padding", padding, 0, dims)
    dilation = ntuple(who, "dilation", dilation, 1, dims)
    output_padding = check_output_padding(who, output_padding, stride, dilation)
    sizes = transposed_size(x.shape[2:], kernel, stride, padding, dilation, output_padding)
    if min(sizes) < 1:
        raise ShapeError(
            f"{who}: got input of shape {x.shape}; the output's spatial size would be "
            f"{sizes[0] if dims == 1 else sizes}, too small: padding {padding} crops more than "
            f"the kernel {tuple(kernel)} and stride {stride} produce"
        )
    if dims == 1:
        x, kernel, stride, dilation = as_2d(x), lift(kernel, 1), lift(stride, 1), lift(dilation, 1)
        padding, output_padding = lift(padding, 0), lift(output_padding, 0)
    out = _scatter_patches(x, weight, kernel, stride, dilation, groups)
    # Crop ``padding`` from both ends, extend by ``output_padding`` at the end: one F.pad.
    widths = [w for p, op in zip(padding[::-1], output_padding[::-1]) for w in (-p, op - p)]
    if any(widths):
        out = pad(out, widths)
    if bias is not None:
        out = out + bias.reshape((O, 1, 1))
    if dims == 1:
        out = out.reshape(out.shape[:2] + out.shape[3:])
    return out[0] if unbatched else out


def transposed_size(size, kernel, stride, padding, dilation, output_padding) -> tuple:
    """The output's spatial size: ``(n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1``."""
    parts = zip(size, kernel, stride, padding, dilation, output_padding)
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, k, s, p, d, op in parts)


def _scatter_patches(x, weight, kernel, stride, dilation, groups) -> Tensor:
    """Each pixel of ``x`` (N, C, H, W) times the weight, as a patch; patches added into an
    image of the size the convolution's input would have without padding."""
    N, C, H, W = x.shape
    rows = x.permute(0, 2, 3, 1).reshape((N * H * W, C))
    if groups == 1:
        patches = rows @ weight.reshape((C, -1))
    else:
        # One product per group: (G, rows, C / G) @ (G, C / G, O / G * kernel).
        a = rows.reshape((N * H * W, groups, C // groups)).permute(1, 0, 2)
        patches = (a @ weight.reshape((groups, C // groups, -1))).permute(1, 0, 2)
    patches = patches.reshape((N, H, W, -1) + tuple(kernel))
    size = tuple(
        (n - 1) * s + d * (k - 1) + 1 for n, k, s, d in zip((H, W), kernel, stride, dilation)
    )
    return apply(Fold, patches, size=size, kernel=tuple(kernel), stride=stride, dilation=dilation)


# ----- modules -----------------------------------------------------------------------------------


class _ConvTranspose(_ConvNd):
    """A transposed convolution module; ``forward(input, output_size=None)`` as PyTorch's."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", dtype=None, generator=None):  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator, output_padding)  # fmt: skip

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        """``output_size`` (the spatial size, optionally with the leading dims) picks the
        output padding, as PyTorch's: any size from the smallest one to ``stride - 1`` more."""
        self.check_input(input, str(self.in_channels))
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        return convolve_transpose(self._label(), input, self.weight, self.bias, self.stride,
                                  self.padding, output_padding, self.groups, self.dilation,
                                  self.dims)  # fmt: skip

    def _output_padding(self, input, output_size) -> tuple[int, ...]:
        dims = self.dims
        size = tuple(int(n) for n in output_size)
        if len(size) in (dims + 1, dims + 2) and len(size) == len(input.shape):
            size = size[-dims:]
        if len(size) != dims:
            raise ShapeError(
                f"{self._label()}: output_size {tuple(output_size)} must give the {dims} "
                f"spatial size(s) (optionally after the batch and channel sizes)"
            )
        zero = (0,) * dims
        smallest = transposed_size(input.shape[-dims:], self.kernel_size, self.stride,
                                   self.padding, self.dilation, zero)  # fmt: skip
        largest = tuple(n + s - 1 for n, s in zip(smallest, self.stride))
        if any(not lo <= n <= hi for n, lo, hi in zip(size, smallest, largest)):
            raise ShapeError(
                f"{self._label()}: requested an output size of {size}, but valid sizes range "
                f"from {smallest} to {largest} (for an input of shape {tuple(input.shape)})"
            )
        return tuple(n - lo for n, lo in zip(size, smallest))


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (see ``conv_transpose1d``) with weight (in_channels,
    out_channels / groups, kernel_size) and bias (out_channels,), PyTorch's initialisation.

    >>> import minigrad as mg
    >>> ConvTranspose1d(8, 4, kernel_size=4, stride=2, padding=1)(mg.zeros((2, 8, 25))).shape
    (2, 4, 50)
    """

    dims = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (see ``conv_transpose2d``) with weight (in_channels,
    out_channels / groups, kh, kw) and bias (out_channels,), PyTorch's initialisation. With
    ``kernel_size=3, stride=2, padding=1, output_padding=1`` it doubles an image's size.

    >>> import minigrad as mg
    >>> up = ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
    >>> up(mg.zeros((4, 16, 7, 7))).shape
    (4, 8, 14, 14)
    """

    dims = 2
