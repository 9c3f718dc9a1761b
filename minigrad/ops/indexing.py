"""Indexing and its transpose: ``GetItem`` gathers, ``ScatterAdd`` adds back (closed under VJP).

``index`` is a normalized tuple (see ``functions.shaping.normalize_index``). Basic indices (ints,
slices, None, Ellipsis) give views and are applied directly. Advanced indices (integer arrays,
boolean masks) scatter with ``np.add.at``, so that repeated positions accumulate; a batch of
tangents gathers through flat positions, which keep the batch axis first.
"""

import numpy as np

from ..primitive import Primitive


def is_basic(index) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, slice) or type(i) is int for i in index)


def flat_positions(shape, index) -> np.ndarray:
    """The flat position in an array of ``shape`` of each element that ``index`` selects."""
    if len(index) == len(shape) and all(
        type(i) is np.ndarray and i.dtype.kind in "iu" for i in index
    ):
        # One integer array per axis (a gather, like logp[rows, labels]): no index grid needed.
        # NOTE: mode="wrap" maps negative indices; the forward pass already checked bounds.
        return np.ravel_multi_index(np.broadcast_arrays(*index), shape, mode="wrap")
    return np.arange(int(np.prod(shape))).reshape(shape)[index]


class GetItem(Primitive):
    holomorphic = True
    uses = ()

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def vjp(g, y, x, index, xp):
        return (xp.scatter(g, index, x.shape),)

    @staticmethod
    def jvp(ts, y, x, index):
        t = ts[0]
        if is_basic(index):
            return t[(slice(None),) + index]
        positions = flat_positions(x.shape, index)
        return t.reshape(t.shape[0], -1)[:, positions]


class ScatterAdd(Primitive):
    """Zeros of ``shape`` with ``g`` added at ``index``: the transpose of ``GetItem``."""

    holomorphic = True
    uses = ()

    @staticmethod
    def forward(g, index, shape):
        out = np.zeros(shape, g.dtype)
        if is_basic(index):
            out[index] = g
        else:
            # NOTE: np.add.at, not out[index] += g, which would drop repeated positions. Since
            # numpy 1.25 it is as fast as np.bincount on flat positions, or faster.
            np.add.at(out, index, g)
        return out

    @staticmethod
    def vjp(g, y, x, index, shape, xp):
        return (xp.apply(GetItem, g, index=index),)

    @staticmethod
    def jvp(ts, y, x, index, shape):
        t = ts[0]
        B = t.shape[0]
        if is_basic(index):
            out = np.zeros((B,) + tuple(shape), t.dtype)
            out[(slice(None),) + index] = t
            return out
        out = np.zeros((B, int(np.prod(shape))), t.dtype)
        np.add.at(out, (slice(None), flat_positions(shape, index)), t)
        return out.reshape((B,) + tuple(shape))
