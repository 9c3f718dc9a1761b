"""Sliding windows: ``Unfold`` gathers every window of an image into rows, ``Fold`` adds the rows
back (its transpose), so the pair is closed under VJP. Convolution and pooling are built on them,
and so is the transposed convolution (a product, then ``Fold``: the convolution's backward).

Shapes: an image batch ``x`` is (N, C, H, W), zero-padded by ``padding`` ((top, bottom),
(left, right), default none) on the way (so a convolution's image is the op's direct input, and
no padded copy is a node of its own); its patches are
(N, OH, OW, C, kh, kw), contiguous, so ``patches.reshape(N * OH * OW, C * kh * kw)`` is one
matrix for one product with a PyTorch-layout weight ``(O, C, kh, kw).reshape(O, -1)``. ``kernel``,
``stride`` and ``dilation`` are (height, width) pairs, and

    OH = (H + top + bottom - dilation_h * (kh - 1) - 1) // stride_h + 1        (OW likewise)
"""

import numpy as np

from ..primitive import Primitive, apply
from .shape import Reshape

NO_PADDING = ((0, 0), (0, 0))


def output_size(size, kernel, stride, dilation) -> tuple[int, int]:
    """(OH, OW) for an input of spatial size (H, W); below 1 when the kernel does not fit."""
    pairs = zip(size, kernel, stride, dilation)
    return tuple((n - d * (k - 1) - 1) // s + 1 for n, k, s, d in pairs)


def window_offsets(kernel, stride, dilation, out_size):
    """For each kernel offset (i, j): the strided slices of the input that it touches."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            yield i, j, rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)


def padded_size(size, padding) -> tuple[int, int]:
    """The spatial size of an image of ``size`` once padded by ``padding``."""
    return tuple(n + before + after for n, (before, after) in zip(size, padding))


def unfold(x: np.ndarray, kernel, stride, dilation, padding=NO_PADDING, ones=False) -> np.ndarray:
    """Patches (N, OH, OW, C, kh, kw) of ``x`` (N, C, H, W) zero-padded by ``padding``.

    With ``ones``, the patches are returned as the rows of a matrix (N * OH * OW, C * kh * kw + 1)
    whose last column is ones, so that a product with it can add a bias row.
    """
    N, C = x.shape[:2]
    x_nhwc = x.transpose(0, 2, 3, 1)
    if any(p for pair in padding for p in pair):
        (top, _), (left, _) = padding
        H, W = x.shape[2:]
        # NOTE: padded channels-last at once (small: the image, not its patches), so the copies
        # below read channels innermost whatever x's layout.
        padded = np.zeros((N, *padded_size((H, W), padding), C), x.dtype)
        padded[:, top : top + H, left : left + W] = x_nhwc
        x_nhwc = padded
    out_size = output_size(x_nhwc.shape[1:3], kernel, stride, dilation)
    if min(out_size) < 1:
        raise ValueError(
            f"a kernel of {kernel} with dilation {dilation} does not fit in an input of spatial "
            f"size {x_nhwc.shape[1:3]}"
        )
    shape = (N, *out_size, C, *kernel)
    if ones:
        matrix = np.empty((N * out_size[0] * out_size[1], C * kernel[0] * kernel[1] + 1), x.dtype)
        matrix[:, -1] = 1
        patches = matrix[:, :-1].reshape(shape)  # a view: each row's first columns
    else:
        patches = np.empty(shape, x.dtype)
    # NOTE: one strided copy per kernel offset. Copying the whole window view at once
    # (sliding_window_view(...).transpose(...) then ascontiguousarray) was ~3x slower: numpy's
    # copy loop then runs over the tiny kernel axes innermost.
    for i, j, rows, cols in window_offsets(kernel, stride, dilation, out_size):
        patches[..., i, j] = x_nhwc[:, rows, cols]
    return matrix if ones else patches


def fold(patches: np.ndarray, size, kernel, stride, dilation, padding=NO_PADDING) -> np.ndarray:
    """Add patches (N, OH, OW, C, kh, kw) back into an image (N, C, *size), dropping what lands
    in the ``padding``: unfold's transpose."""
    N, OH, OW, C = patches.shape[:4]
    full = padded_size(size, padding)
    if output_size(full, kernel, stride, dilation) != (OH, OW):
        raise ValueError(
            f"patches of {OH}x{OW} windows do not come from an image of spatial size "
            f"{tuple(size)} with padding {padding}, kernel {kernel}, stride {stride} and "
            f"dilation {dilation}"
        )
    # NOTE: accumulating channels-last (and returning a transposed view) reads each patch slice
    # with the channels innermost: measured up to 1.8x faster than an (N, C, H, W) accumulator.
    x_nhwc = np.zeros((N, *full, C), patches.dtype)
    for i, j, rows, cols in window_offsets(kernel, stride, dilation, (OH, OW)):
        x_nhwc[:, rows, cols] += patches[..., i, j]
    if any(p for pair in padding for p in pair):
        (top, _), (left, _) = padding
        x_nhwc = x_nhwc[:, top : top + size[0], left : left + size[1]]
    return x_nhwc.transpose(0, 3, 1, 2)


class Unfold(Primitive):
    """Every (dilated, strided) window of ``x`` (N, C, H, W), zero-padded by ``padding``, as
    patches (N, OH, OW, C, kh, kw); with ``ones``, as the rows of a matrix
    (N * OH * OW, C * kh * kw + 1) whose last column is ones."""

    holomorphic = True
    uses = ()

    forward = staticmethod(unfold)

    @staticmethod
    def batch(xs, dims, kernel, stride, dilation, padding=NO_PADDING, ones=False):
        # The examples' images are more images: (B N, C, H, W), then the batch split off again.
        x = xs[0]
        B, N = x.shape[:2]
        images = apply(Reshape, x, shape=(B * N, *x.shape[2:]))
        window = dict(kernel=kernel, stride=stride, dilation=dilation, padding=padding)
        y = apply(Unfold, images, ones=ones, **window)
        return apply(Reshape, y, shape=(B, -1, y.shape[1]) if ones else (B, N, *y.shape[1:]))

    @staticmethod
    def vjp(g, y, x, kernel, stride, dilation, xp, padding=NO_PADDING, ones=False):
        window = dict(kernel=kernel, stride=stride, dilation=dilation, padding=padding)
        if ones:  # the column of ones is a constant: its cotangent goes nowhere
            N, C = x.shape[:2]
            OH, OW = output_size(padded_size(x.shape[2:], padding), kernel, stride, dilation)
            g = g[:, :-1].reshape((N, OH, OW, C, *kernel))
        return (xp.apply(Fold, g, size=x.shape[2:], **window),)

    @staticmethod
    def jvp(ts, y, x, kernel, stride, dilation, padding=NO_PADDING, ones=False):
        # Linear: unfold the tangents, with the tangent batch folded into N.
        t = ts[0]
        batch = t.reshape((-1,) + x.shape[1:])
        patches = unfold(batch, kernel, stride, dilation, padding, ones).reshape(
            (t.shape[0],) + y.shape
        )
        if ones:
            patches[..., -1] = 0  # the column of ones does not move
        return patches


class Fold(Primitive):
    """Patches (N, OH, OW, C, kh, kw) summed back into an image (N, C, *size) padded by
    ``padding`` (which is dropped); the transpose of ``Unfold`` (overlapping windows add up)."""

    holomorphic = True
    uses = ()

    forward = staticmethod(fold)

    @staticmethod
    def batch(xs, dims, size, kernel, stride, dilation, padding=NO_PADDING):
        p = xs[0]  # the examples' patches are more images' patches
        B, N = p.shape[:2]
        window = dict(kernel=kernel, stride=stride, dilation=dilation, padding=padding)
        y = apply(Fold, apply(Reshape, p, shape=(B * N, *p.shape[2:])), size=size, **window)
        return apply(Reshape, y, shape=(B, N, *y.shape[1:]))

    @staticmethod
    def vjp(g, y, patches, size, kernel, stride, dilation, xp, padding=NO_PADDING):
        window = dict(kernel=kernel, stride=stride, dilation=dilation, padding=padding)
        return (xp.apply(Unfold, g, **window),)

    @staticmethod
    def jvp(ts, y, patches, size, kernel, stride, dilation, padding=NO_PADDING):
        t = ts[0]
        batch = t.reshape((-1,) + patches.shape[1:])
        image = fold(batch, size, kernel, stride, dilation, padding)
        return image.reshape((t.shape[0],) + y.shape)
