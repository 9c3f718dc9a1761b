"""Indexing and its transpose: ``GetItem`` gathers, ``ScatterAdd`` adds back (closed under VJP).

``index`` is a normalized tuple (see ``functions.shaping.normalize_index``). Basic indices (ints,
slices, None, Ellipsis) give views and are applied directly. Advanced indices (integer arrays,
boolean masks) scatter with ``np.add.at``, so that repeated positions accumulate; a batch of
tangents gathers through flat positions, which keep the batch axis first.
"""

import numpy as np

from ..primitive import Primitive, apply


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


def batched_index(index) -> tuple[tuple, int]:
    """``index`` for a batch of examples on a leading axis, and where that axis lands.

    numpy moves the axes of advanced indices (integer arrays and masks, and the ints among them)
    to the front when they are not next to each other; then the batch axis follows them, at the
    rank of their broadcast (a mask counts as one axis); otherwise it stays first.
    """
    fancy = [
        k for k, i in enumerate(index) if type(i) is np.ndarray and (i.dtype.kind == "b" or i.ndim)
    ]
    if not fancy:
        return (slice(None), *index), 0
    advanced = [k for k, i in enumerate(index) if k in fancy or _is_int(i)]
    if advanced[-1] - advanced[0] == len(advanced) - 1:  # next to each other: they stay
        return (slice(None), *index), 0
    rank = max(1 if index[k].dtype.kind == "b" else index[k].ndim for k in fancy)
    return (slice(None), *index), rank


def _is_int(i) -> bool:
    return type(i) is int or (type(i) is np.ndarray and i.ndim == 0 and i.dtype.kind in "iu")


def _batch_first(y, at: int):
    """``y`` with its axis ``at`` moved to the front."""
    if not at:
        return y
    return y.permute(at, *range(at), *range(at + 1, y.ndim))


def _batch_at(g, at: int):
    """``g`` (batch first) with its batch axis moved to ``at``: as a batched gather lays it."""
    if not at:
        return g
    return g.permute(*range(1, at + 1), 0, *range(at + 1, g.ndim))


class GetItem(Primitive):
    holomorphic = True
    uses = ()

    @staticmethod
    def batch(xs, dims, index):
        # One gather: a full slice for the batch axis, which numpy's rules may then move.
        index, at = batched_index(index)
        return _batch_first(apply(GetItem, xs[0], index=index), at)

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
    def batch(xs, dims, index, shape):
        # The transpose of GetItem's rule: the batch laid out as the batched gather lays it.
        g = xs[0]
        index, at = batched_index(index)
        return apply(ScatterAdd, _batch_at(g, at), index=index, shape=(g.shape[0], *shape))

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
