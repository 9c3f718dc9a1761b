"""Resampling with PyTorch's names and semantics: ``interpolate`` and ``Upsample`` (modes
"nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"),
``UpsamplingNearest2d``, ``UpsamplingBilinear2d``, and ``pixel_shuffle``/``pixel_unshuffle``
with their modules.

Every mode is separable: each output position along a dim reads a few input positions along
that dim ("taps") with weights that depend only on the two sizes, the scale and
``align_corners``. So a resize is, per dim, a gather of each tap's positions (``GetItem``,
whose gradient is a scatter-add) times its weights, summed; "nearest" is one gather over all
dims at once, and "area" is adaptive average pooling. The positions and weights are PyTorch's,
computed in the input's dtype as its kernels do.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import OpError, ShapeError
from ..functions import as_tensor
from ..tensor import Tensor
from .adaptive_pooling import adaptive_pool
from .module import Module

__all__ = [
    "PixelShuffle",
    "PixelUnshuffle",
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
]

# mode -> the number of spatial dims it takes (None: any of 1, 2, 3)
MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2,
         "bicubic": 2, "trilinear": 3}  # fmt: skip
INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:  # fmt: skip
    """``input`` (N, C, *spatial) with 1 to 3 spatial dims resized to ``size`` (an int or one
    per spatial dim) or by ``scale_factor`` (output size ``floor(n * scale_factor)``), as
    PyTorch's ``interpolate``.

    Modes: "nearest" (source ``floor(i * scale)``, PyTorch's legacy choice), "nearest-exact"
    (``floor((i + 0.5) * scale)``, as image libraries), "linear"/"bilinear"/"trilinear" (1/2/3
    spatial dims) and "bicubic" (2, PyTorch's cubic convolution with A = -0.75, edges
    replicated), "area" (adaptive average pooling). ``scale = n / out``, or ``1 / scale_factor``
    when a scale factor is given (unless ``recompute_scale_factor``). ``align_corners=True``
    (interpolating modes) maps the corner pixels' centres onto each other (``scale = (n - 1) /
    (out - 1)``); ``False`` (the default) maps the corners of the pixel grid.
    ``antialias=True`` is not supported.
    """
    x = as_tensor(input)
    who = "interpolate"
    if mode not in MODES:
        raise OpError(f"{who}: mode must be one of {', '.join(map(repr, MODES))}; got {mode!r}")
    dims = x.ndim - 2
    if dims not in (1, 2, 3) or MODES[mode] not in (None, dims):
        need = MODES[mode]
        wanted = f"{need + 2}-D input (N, C, {need} spatial dims)" if need else "3-D to 5-D input"
        raise ShapeError(f"{who}: got input of shape {x.shape}, but mode {mode!r} needs {wanted}")
    if mode in INTERPOLATING:
        align_corners = bool(align_corners)
    elif align_corners is not None:
        raise OpError(
            f"{who}: align_corners can only be set with the interpolating modes "
            f"({' | '.join(INTERPOLATING)}), not mode {mode!r}"
        )
    if antialias:
        raise OpError(
            f"{who}: antialias=True (a low-pass filter as wide as the downscaling) is not "
            f"supported by minigrad; downsample with mode='area' or blur first"
        )
    sizes, scales = _sizes(who, x.shape[2:], size, scale_factor, recompute_scale_factor)
    if mode == "area":
        scales = (None,) * dims
    if min(sizes) < 1:
        raise ShapeError(f"{who}: the output size {sizes} for an input of shape {x.shape} is empty")
    if mode == "area":
        return adaptive_pool(who, x, sizes, dims, "mean")
    if mode in ("nearest", "nearest-exact"):
        positions = [
            _nearest(n, o, s, mode == "nearest-exact")
            for n, o, s in zip(x.shape[2:], sizes, scales)
        ]
        mesh = np.ix_(*positions)
        if all(p.size == n and (p == np.arange(n)).all() for p, n in zip(positions, x.shape[2:])):
            return x
        return x[(slice(None), slice(None)) + mesh]
    taps = _cubic if mode == "bicubic" else _linear
    out = x
    # The last dim first, as PyTorch's kernels nest their sums.
    for axis in reversed(range(2, x.ndim)):
        n, o, scale = x.shape[axis], sizes[axis - 2], scales[axis - 2]
        out = _along(out, axis, taps(n, o, scale, align_corners, x.dtype))
    return out


def _sizes(who, shape, size, scale_factor, recompute) -> tuple[tuple, tuple]:
    """The output sizes, and the scale factors the kernels use (None: from the sizes)."""
    dims = len(shape)
    if (size is None) == (scale_factor is None):
        raise OpError(f"{who}: give exactly one of size and scale_factor")
    if size is not None:
        if recompute:
            raise OpError(f"{who}: recompute_scale_factor is not meaningful with an explicit size")
        sizes = (size,) * dims if isinstance(size, numbers.Integral) else tuple(size)
        if len(sizes) != dims or not all(isinstance(n, numbers.Integral) for n in sizes):
            raise ShapeError(
                f"{who}: size {size!r} must be an int or {dims} ints, one per spatial dim of the "
                f"input's {tuple(shape)}"
            )
        return tuple(int(n) for n in sizes), (None,) * dims
    factors = (scale_factor,) * dims if np.ndim(scale_factor) == 0 else tuple(scale_factor)
    if len(factors) != dims or not all(isinstance(f, numbers.Real) and f > 0 for f in factors):
        raise OpError(
            f"{who}: scale_factor {scale_factor!r} must be a positive number or {dims} of them, "
            f"one per spatial dim of the input's {tuple(shape)}"
        )
    sizes = tuple(math.floor(n * float(f)) for n, f in zip(shape, factors))
    return sizes, (None,) * dims if recompute else tuple(float(f) for f in factors)


def _nearest(n: int, o: int, scale, exact: bool) -> np.ndarray:
    """Source positions of "nearest" (``floor(i * scale)``) or "nearest-exact"
    (``floor((i + 0.5) * scale)``), in float32 as PyTorch's kernels."""
    if not exact and o == n:
        return np.arange(o)
    if not exact and o == 2 * n:
        return np.arange(o) >> 1
    s = np.float32(1.0 / scale) if scale else np.float32(n) / np.float32(o)
    i = np.arange(o, dtype=np.float32)
    source = np.floor((i + np.float32(0.5)) * s if exact else i * s)
    return np.minimum(source.astype(np.int64), n - 1)


def _source(n: int, o: int, scale, align_corners: bool, dtype, cubic: bool = False):
    """PyTorch's real source coordinate of each output position, in ``dtype``."""
    real = np.dtype(dtype).type
    i = np.arange(o).astype(dtype)
    if align_corners:
        s = real(n - 1) / real(o - 1) if o > 1 else real(0)
        return s * i
    s = real(1.0 / scale) if scale else real(n) / real(o)
    source = s * (i + real(0.5)) - real(0.5)
    return source if cubic else np.maximum(source, real(0))


def _linear(n, o, scale, align_corners, dtype) -> list:
    """Two taps: ``floor(x)`` and the next position (clamped), weights ``1 - t`` and ``t``."""
    source = _source(n, o, scale, align_corners, dtype)
    i0 = np.minimum(source.astype(np.int64), n - 1)
    i1 = i0 + (i0 < n - 1)
    t = np.clip(source - i0, 0, 1).astype(dtype)
    return [(i0, 1 - t), (i1, t)]


def _cubic(n, o, scale, align_corners, dtype) -> list:
    """Four taps ``floor(x) - 1 .. floor(x) + 2`` (clamped into the input), with the weights of
    PyTorch's cubic convolution (A = -0.75)."""
    source = _source(n, o, scale, align_corners, dtype, cubic=True)
    start = np.floor(source)
    t = (source - start).astype(dtype)
    A = np.dtype(dtype).type(-0.75)

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    start = start.astype(np.int64)
    return [(np.clip(start - 1 + k, 0, n - 1), w) for k, w in enumerate(weights)]


def _along(x: Tensor, axis: int, taps: list) -> Tensor:
    """``sum_k x[..., positions_k, ...] * weights_k`` along ``axis``."""
    lead = (slice(None),) * axis
    view = (-1,) + (1,) * (x.ndim - axis - 1)
    out = None
    for positions, weights in taps:
        term = x[lead + (positions,)] * weights.reshape(view)
        out = term if out is None else out + term
    return out


# ----- pixel shuffle -----------------------------------------------------------------------------


def _factor(who: str, value) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise OpError(f"{who}: the factor must be a positive int, got {value!r}")
    return int(value)


def pixel_shuffle(input, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r), as PyTorch's: channel ``c * r^2 + i * r + j``
    becomes the pixel at offset (i, j) of each r x r block of channel c."""
    x, r = as_tensor(input), _factor("pixel_shuffle", upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ShapeError(
            f"pixel_shuffle: got input of shape {x.shape}; expected (*, C * {r * r}, H, W): the "
            f"channel dim must be divisible by upscale_factor^2 = {r * r}"
        )
    *lead, C, H, W = x.shape
    n = len(lead)
    y = x.reshape((*lead, C // (r * r), r, r, H, W))
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape((*lead, C // (r * r), H * r, W * r))


def pixel_unshuffle(input, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W): the inverse of ``pixel_shuffle``."""
    x, r = as_tensor(input), _factor("pixel_unshuffle", downscale_factor)
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ShapeError(
            f"pixel_unshuffle: got input of shape {x.shape}; expected (*, C, H, W) with H and W "
            f"divisible by downscale_factor={r}"
        )
    *lead, C, H, W = x.shape
    n = len(lead)
    y = x.reshape((*lead, C, H // r, r, W // r, r))
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape((*lead, C * r * r, H // r, W // r))


# ----- modules -----------------------------------------------------------------------------------


class Upsample(Module):
    """Resize by ``scale_factor`` or to ``size`` (see ``interpolate``); no parameters.

    >>> import minigrad as mg
    >>> Upsample(scale_factor=2, mode="bilinear")(mg.zeros((1, 3, 4, 4))).shape
    (1, 3, 8, 8)
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):  # fmt: skip
        super().__init__()
        self.size = size
        if scale_factor is not None:
            many = np.ndim(scale_factor) > 0
            scale_factor = tuple(float(f) for f in scale_factor) if many else float(scale_factor)
        self.scale_factor, self.mode = scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)  # fmt: skip

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")`` of images."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)`` of images."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r) (see ``pixel_shuffle``); no parameters."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = _factor(type(self).__name__, upscale_factor)

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W) (see ``pixel_unshuffle``); no parameters."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = _factor(type(self).__name__, downscale_factor)

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
