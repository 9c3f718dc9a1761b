"""Max pooling as primitives that keep where each maximum came from compactly.

``MaxPool`` takes the largest value of each (strided, dilated) window of a padded batch ``x``
(N, C, H, W): a running ``np.maximum`` over the kernel's offsets, each a strided view, so no
patches are copied. Its cotangent goes to one element per window, the first maximum in the
window's row-major order (PyTorch's choice for ties): ``winners`` finds it again from the saved
x and y, as the offset's number (N, OH, OW, C), one small integer per window, and the linear
pair ``Unpool`` (put each window's value at its winner, adding where windows overlap) and
``Pick`` (read each window's winner) carries it, each the other's transpose, so the set stays
closed under VJP. Outputs are laid out (N, OH, OW, C) in memory, seen as (N, C, OH, OW), as the
convolution's output is: every pass runs over contiguous channels.
"""

import numpy as np

from ..primitive import Primitive
from .window import _offsets, output_size


def _nhwc(x):
    return x.transpose(0, 2, 3, 1)


def _windows(size, kernel, stride, dilation):
    """(offset number, row slice, column slice) of each kernel offset, in row-major order."""
    out = output_size(size, kernel, stride, dilation)
    offsets = _offsets(kernel, stride, dilation, out)
    return [(k, rows, cols) for k, (_, _, rows, cols) in enumerate(offsets)]


def _disjoint(kernel, stride, dilation) -> bool:
    """Whether no two windows share an element (then a scatter is a plain assignment)."""
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def max_pool(x, kernel, stride, dilation):
    """The largest value of each window of ``x`` (N, C, H, W): (N, C, OH, OW)."""
    x_nhwc = _nhwc(x)
    first, *rest = _windows(x.shape[2:], kernel, stride, dilation)
    if not rest:
        return x_nhwc[:, first[1], first[2]].copy().transpose(0, 3, 1, 2)
    y = np.maximum(x_nhwc[:, first[1], first[2]], x_nhwc[:, rest[0][1], rest[0][2]])
    for _, rows, cols in rest[1:]:
        np.maximum(y, x_nhwc[:, rows, cols], out=y)
    return y.transpose(0, 3, 1, 2)


def winners(x, y, kernel, stride, dilation):
    """For each window, the number of the kernel offset of its first maximum: (N, OH, OW, C)."""
    x_nhwc, y_nhwc = _nhwc(x), _nhwc(y)
    windows = _windows(x.shape[2:], kernel, stride, dilation)
    found = np.zeros(y_nhwc.shape, np.min_scalar_type(len(windows) - 1))
    nan = y.dtype.kind in "fc" and np.isnan(y).any()
    # Last offset first, so the first maximum overwrites the others. NOTE: arithmetic
    # (found = found * ~hit + k * hit), not np.putmask or np.where: their data-dependent
    # branches on the many ties after a ReLU (windows of zeros) measured 4x slower.
    for k, rows, cols in reversed(windows):
        hit = x_nhwc[:, rows, cols] == y_nhwc
        if nan:  # a NaN is the maximum of its window, as in PyTorch
            hit |= np.isnan(x_nhwc[:, rows, cols])
        found *= ~hit
        found += hit * found.dtype.type(k)
    return found


def unpool(g, found, size, kernel, stride, dilation):
    """Each window's value of ``g`` (N, C, OH, OW) put at its winner in an image (N, C, *size)."""
    # NOTE: one contiguous copy of g, read once per offset below (measured 1.7x faster each).
    g_nhwc = np.ascontiguousarray(_nhwc(g))
    windows = _windows(size, kernel, stride, dilation)
    N, C = g.shape[:2]
    image = np.zeros((N, *size, C), g.dtype)
    disjoint = _disjoint(kernel, stride, dilation)
    for k, rows, cols in windows:
        if disjoint:
            np.multiply(g_nhwc, found == k, out=image[:, rows, cols])
        else:
            image[:, rows, cols] += g_nhwc * (found == k)
    return image.transpose(0, 3, 1, 2)


def pick(x, found, kernel, stride, dilation):
    """Each window's element at its winner: (N, C, OH, OW)."""
    x_nhwc = _nhwc(x)
    y = np.zeros(found.shape, x.dtype)
    for k, rows, cols in _windows(x.shape[2:], kernel, stride, dilation):
        np.copyto(y, x_nhwc[:, rows, cols], where=found == k)
    return y.transpose(0, 3, 1, 2)


def _batched(fn, t, found, *args):
    """``fn`` over a batch of tangents ``t`` (B, N, ...), with the batch folded into N."""
    B = t.shape[0]
    found = np.broadcast_to(found, (B, *found.shape)).reshape((-1, *found.shape[1:]))
    out = fn(t.reshape((-1, *t.shape[2:])), found, *args)
    return out.reshape((B, -1, *out.shape[1:]))


class MaxPool(Primitive):
    """The largest value of each window of a padded batch ``x`` (N, C, H, W): (N, C, OH, OW).
    The gradient goes to each window's first maximum, as PyTorch's."""

    uses = ("x", "y")
    forward = staticmethod(max_pool)

    @staticmethod
    def vjp(g, y, x, kernel, stride, dilation, xp):
        found = winners(x.data, y.data, kernel, stride, dilation)
        window = dict(kernel=kernel, stride=stride, dilation=dilation)
        return (xp.apply(Unpool, g, found, size=x.shape[2:], **window),)

    @staticmethod
    def jvp(ts, y, x, kernel, stride, dilation):
        found = winners(x, y, kernel, stride, dilation)
        return _batched(pick, ts[0], found, kernel, stride, dilation)


class Unpool(Primitive):
    """``g`` (N, C, OH, OW) put at the winners ``found`` (N, OH, OW, C) of the windows of an
    image (N, C, *size), zero elsewhere (overlapping windows add up): ``Pick``'s transpose."""

    holomorphic = True
    uses = ("x",)

    forward = staticmethod(unpool)

    @staticmethod
    def vjp(g, y, values, found, size, kernel, stride, dilation, xp):
        window = dict(kernel=kernel, stride=stride, dilation=dilation)
        return (xp.apply(Pick, g, xp.value(found), **window), None)

    @staticmethod
    def jvp(ts, y, values, found, size, kernel, stride, dilation):
        return _batched(unpool, ts[0], found, size, kernel, stride, dilation)


class Pick(Primitive):
    """Each window's element of ``x`` (N, C, H, W) at its winner ``found`` (N, OH, OW, C):
    (N, C, OH, OW). ``Unpool``'s transpose."""

    holomorphic = True
    uses = ("x",)

    forward = staticmethod(pick)

    @staticmethod
    def vjp(g, y, x, found, kernel, stride, dilation, xp):
        window = dict(kernel=kernel, stride=stride, dilation=dilation)
        return (xp.apply(Unpool, g, xp.value(found), size=x.shape[2:], **window), None)

    @staticmethod
    def jvp(ts, y, x, found, kernel, stride, dilation):
        return _batched(pick, ts[0], found, kernel, stride, dilation)
