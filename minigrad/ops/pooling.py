"""Max pooling as primitives that keep where each maximum came from compactly.

``MaxPool`` takes the largest value of each (strided, dilated) window of a padded batch ``x``
(N, C, H, W): a running ``np.maximum`` over the window's rows, then over its columns, each a
strided view, so no patches are copied. Its cotangent goes to one element per window, the first
maximum in the window's row-major order (PyTorch's choice for ties): ``winners`` finds it again
from the saved x and y, as one boolean per kernel offset and window (kh * kw, N, OH, OW, C)
saying whether that offset holds the window's winner, and the linear pair ``Unpool`` (put each
window's value at its winner, adding where windows overlap) and ``Pick`` (read each window's
winner) carries it, each the other's transpose, so the set stays closed under VJP. Booleans per
offset rather than the winner's number: the backward is one multiply per offset, and finding the
first maximum one comparison and two boolean passes per offset (winners and unpool together
measured 0.83x the time they took with numbered winners, on the CNN step of
``benchmarks/bench_cnn.py``). Outputs are laid out (N, OH, OW, C) in memory, seen as (N, C, OH,
OW), as the convolution's output is: every pass runs over contiguous channels.

Under ``mg.vmap`` (``batch``) the examples' images are more images (the batch folded into N),
and so are their winners, which are batched with the pooled tensor (under ``vmap(grad(f))``,
``MaxPool``'s backward finds them for the whole batch at once: ``winners_of``).
"""

import numpy as np

from ..autodiff import batching_level
from ..batching import batched, level_of
from ..primitive import Primitive, Tensor, apply
from .shape import BroadcastTo, Reshape, Transpose
from .window import output_size, window_offsets


def _nhwc(x):
    return x.transpose(0, 2, 3, 1)


def _windows(size, kernel, stride, dilation):
    """(offset number, row slice, column slice) of each kernel offset, in row-major order."""
    out = output_size(size, kernel, stride, dilation)
    offsets = window_offsets(kernel, stride, dilation, out)
    return [(k, rows, cols) for k, (_, _, rows, cols) in enumerate(offsets)]


def _disjoint(kernel, stride, dilation) -> bool:
    """Whether no two windows share an element (then a scatter is a plain assignment)."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _largest(views):
    """The elementwise maximum of same-shaped ``views``, as a new array."""
    if len(views) == 1:
        return views[0].copy()
    y = np.maximum(views[0], views[1])
    for view in views[2:]:
        np.maximum(y, view, out=y)
    return y


def max_pool(x, kernel, stride, dilation):
    """The largest value of each window of ``x`` (N, C, H, W): (N, C, OH, OW)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    OH, OW = output_size(x.shape[2:], kernel, stride, dilation)
    x_nhwc = _nhwc(x)
    # NOTE: the maximum over a window is the maximum over its columns of the maximum over its
    # rows. Rows first, over whole image rows (kh - 1 passes whose inner loops run along
    # W * C contiguous elements), then columns of the band (kw - 1 passes): 0.75x the time of
    # kh * kw - 1 passes over (N, OH, OW, C) views that run only C elements at a time.
    band = [x_nhwc[:, i * dh : i * dh + sh * (OH - 1) + 1 : sh] for i in range(kh)]
    band = band[0] if kh == 1 else _largest(band)  # (N, OH, W, C)
    columns = [band[:, :, j * dw : j * dw + sw * (OW - 1) + 1 : sw] for j in range(kw)]
    return _largest(columns).transpose(0, 3, 1, 2)


def winners(x, y, kernel, stride, dilation):
    """Where each window's first maximum is: for each kernel offset, whether it holds it,
    (kh * kw, N, OH, OW, C) booleans with one True per window."""
    x_nhwc, y_nhwc = _nhwc(x), _nhwc(y)
    windows = _windows(x.shape[2:], kernel, stride, dilation)
    won = np.empty((len(windows), *y_nhwc.shape), bool)
    nan = y.dtype.kind in "fc" and np.isnan(y).any()
    taken = None  # the windows whose maximum an earlier offset holds
    for k, rows, cols in windows:
        hit = np.equal(x_nhwc[:, rows, cols], y_nhwc, out=won[k])
        if nan:  # a NaN is the maximum of its window, as in PyTorch
            hit |= np.isnan(x_nhwc[:, rows, cols])
        if taken is None:
            taken = hit
            continue
        # NOTE: hit and not taken, as one comparison of booleans: one pass, not two.
        np.greater(hit, taken, out=hit)
        if k == 1:
            taken = taken | hit  # a new array: taken is won[0] until here
        elif k < len(windows) - 1:
            taken |= hit
    return won


def _fills_image(size, out_size, kernel, stride, dilation) -> bool:
    """Whether the windows tile the image exactly: every element in one window."""
    return all(
        s == k and (d == 1 or k == 1) and o * s == n
        for n, o, k, s, d in zip(size, out_size, kernel, stride, dilation)
    )


def unpool(g, won, size, kernel, stride, dilation):
    """Each window's value of ``g`` (N, C, OH, OW) put at its winner in an image (N, C, *size)."""
    # NOTE: one contiguous copy of g, read once per offset below (measured 1.7x faster each).
    g_nhwc = np.ascontiguousarray(_nhwc(g))
    windows = _windows(size, kernel, stride, dilation)
    N, C = g.shape[:2]
    tiled = _fills_image(size, g.shape[2:], kernel, stride, dilation)
    image = (np.empty if tiled else np.zeros)((N, *size, C), g.dtype)
    disjoint = _disjoint(kernel, stride, dilation)
    for k, rows, cols in windows:
        if disjoint:
            np.multiply(g_nhwc, won[k], out=image[:, rows, cols])
        else:
            image[:, rows, cols] += g_nhwc * won[k]
    return image.transpose(0, 3, 1, 2)


def pick(x, won, kernel, stride, dilation):
    """Each window's element at its winner: (N, C, OH, OW)."""
    x_nhwc = _nhwc(x)
    y = np.zeros(won.shape[1:], x.dtype)
    for k, rows, cols in _windows(x.shape[2:], kernel, stride, dilation):
        np.copyto(y, x_nhwc[:, rows, cols], where=won[k])
    return y.transpose(0, 3, 1, 2)


def _batched(fn, t, won, *args):
    """``fn`` over a batch of tangents ``t`` (B, N, ...), with the batch folded into N."""
    B = t.shape[0]
    K, N = won.shape[:2]
    won = np.broadcast_to(won[:, None], (K, B, *won.shape[1:])).reshape((K, B * N, *won.shape[2:]))
    out = fn(t.reshape((-1, *t.shape[2:])), won, *args)
    return out.reshape((B, -1, *out.shape[1:]))


def winners_of(x, y, kernel, stride, dilation):
    """``winners`` of the tensors ``x`` and its pooled ``y``: an array, or under ``mg.vmap``
    (``x`` batched) a batched constant, found for the whole batch at once."""
    level = level_of(x)
    if level == 0:
        return winners(x.data, y.data, kernel, stride, dilation)
    xs, ys = x.data.value, y.data.value  # (B, N, C, H, W) and (B, N, C, OH, OW), one level down
    B, N = xs.shape[:2]
    with batching_level(level - 1):  # constants: the winners are found, not differentiated
        xs = apply(Reshape, Tensor(xs.data), shape=(B * N, *xs.shape[2:]))
        ys = apply(Reshape, Tensor(ys.data), shape=(B * N, *ys.shape[2:]))
        won = winners_of(xs, ys, kernel, stride, dilation)  # (K, B N, OH, OW, C)
        won = won if isinstance(won, Tensor) else Tensor(won)
        won = apply(Reshape, won, shape=(won.shape[0], B, N, *won.shape[2:]))
        won = apply(Transpose, won, axes=(1, 0, *range(2, won.ndim)))
    return batched(won, level)


def _images(x, dx, B: int):
    """A batch (B, N, ...) of images (or one image batch, the same for every example) as the
    images (B N, ...)."""
    if dx is None:
        x = apply(BroadcastTo, x, shape=(B, *x.shape))
    return apply(Reshape, x, shape=(-1, *x.shape[2:]))


def _won_images(won, dw, B: int):
    """Winners (B, K, N, OH, OW, C) (or (K, N, OH, OW, C), the same for every example) as the
    winners of the images (B N, ...): (K, B N, OH, OW, C)."""
    if dw is None:
        K, rest = won.shape[0], won.shape[1:]
        won = apply(Reshape, won, shape=(K, 1, *rest))
        won = apply(BroadcastTo, won, shape=(K, B, *rest))
    else:
        won = apply(Transpose, won, axes=(1, 0, *range(2, won.ndim)))
    return apply(Reshape, won, shape=(won.shape[0], -1, *won.shape[3:]))


def _by_image(prim, xs, dims, params):
    """``prim`` (Unpool or Pick) on a batch: the examples' images and winners are more images'
    (the batch folded into N), then the batch split off again."""
    B = next(v.shape[0] for v, d in zip(xs, dims) if d is not None)
    images = _images(xs[0], dims[0], B)
    y = apply(prim, images, _won_images(xs[1], dims[1], B), **params)
    return apply(Reshape, y, shape=(B, -1, *y.shape[1:]))


class MaxPool(Primitive):
    """The largest value of each window of a padded batch ``x`` (N, C, H, W): (N, C, OH, OW).
    The gradient goes to each window's first maximum, as PyTorch's."""

    uses = ("x", "y")
    forward = staticmethod(max_pool)

    @staticmethod
    def batch(xs, dims, kernel, stride, dilation):
        x, window = xs[0], dict(kernel=kernel, stride=stride, dilation=dilation)
        y = apply(MaxPool, _images(x, 0, x.shape[0]), **window)  # the images are more images
        return apply(Reshape, y, shape=(x.shape[0], -1, *y.shape[1:]))

    @staticmethod
    def vjp(g, y, x, kernel, stride, dilation, xp):
        won = winners_of(x, y, kernel, stride, dilation)
        window = dict(kernel=kernel, stride=stride, dilation=dilation)
        return (xp.apply(Unpool, g, won, size=x.shape[2:], **window),)

    @staticmethod
    def jvp(ts, y, x, kernel, stride, dilation):
        won = winners(x, y, kernel, stride, dilation)
        return _batched(pick, ts[0], won, kernel, stride, dilation)


class Unpool(Primitive):
    """``g`` (N, C, OH, OW) put at the winners ``won`` (kh * kw, N, OH, OW, C) of the windows of
    an image (N, C, *size), zero elsewhere (overlapping windows add up): ``Pick``'s transpose."""

    holomorphic = True
    uses = ("x",)

    forward = staticmethod(unpool)

    @staticmethod
    def batch(xs, dims, size, kernel, stride, dilation):
        window = dict(size=size, kernel=kernel, stride=stride, dilation=dilation)
        return _by_image(Unpool, xs, dims, window)

    @staticmethod
    def vjp(g, y, values, won, size, kernel, stride, dilation, xp):
        window = dict(kernel=kernel, stride=stride, dilation=dilation)
        return (xp.apply(Pick, g, xp.value(won), **window), None)

    @staticmethod
    def jvp(ts, y, values, won, size, kernel, stride, dilation):
        return _batched(unpool, ts[0], won, size, kernel, stride, dilation)


class Pick(Primitive):
    """Each window's element of ``x`` (N, C, H, W) at its winner ``won`` (kh * kw, N, OH, OW, C):
    (N, C, OH, OW). ``Unpool``'s transpose."""

    holomorphic = True
    uses = ("x",)

    forward = staticmethod(pick)

    @staticmethod
    def batch(xs, dims, kernel, stride, dilation):
        return _by_image(Pick, xs, dims, dict(kernel=kernel, stride=stride, dilation=dilation))

    @staticmethod
    def vjp(g, y, x, won, kernel, stride, dilation, xp):
        window = dict(kernel=kernel, stride=stride, dilation=dilation)
        return (xp.apply(Unpool, g, xp.value(won), size=x.shape[2:], **window), None)

    @staticmethod
    def jvp(ts, y, x, won, kernel, stride, dilation):
        return _batched(pick, ts[0], won, kernel, stride, dilation)
