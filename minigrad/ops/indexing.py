"""Indexing and its transpose: ``GetItem`` gathers, ``ScatterAdd`` adds back (closed under VJP).

``index`` is a normalized tuple (see ``functions.normalize_index``). Basic indices (ints, slices,
None, Ellipsis) give views and are applied directly. Advanced indices (integer arrays, boolean
masks) are turned into flat positions once, so gathers and scatter-adds are one numpy call each
and repeated positions accumulate.
"""

import numpy as np

from ..autodiff import Primitive, on_cotangent


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


def scatter_add(values, positions, size, batch=None):
    """Add ``values`` at flat ``positions`` into zeros of ``size`` (per batch row if batched)."""
    if batch is not None:
        positions = positions.reshape(1, -1) + size * np.arange(batch).reshape(-1, 1)
        size *= batch
    flat_values = values.reshape(-1)
    if np.iscomplexobj(flat_values):
        out = np.zeros(size, flat_values.dtype)
        np.add.at(out, positions.reshape(-1), flat_values)
        return out
    return np.bincount(positions.reshape(-1), flat_values, minlength=size).astype(values.dtype)


class GetItem(Primitive):
    holomorphic = True
    uses = ()
    array_cotangents = True

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def vjp(g, y, x, index):
        return (on_cotangent(ScatterAdd, g, index=index, shape=x.shape),)

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
    array_cotangents = True

    @staticmethod
    def forward(g, index, shape):
        if is_basic(index):
            out = np.zeros(shape, g.dtype)
            out[index] = g
            return out
        size = int(np.prod(shape))
        return scatter_add(g, flat_positions(shape, index), size).reshape(shape)

    @staticmethod
    def vjp(g, y, x, index, shape):
        return (on_cotangent(GetItem, g, index=index),)

    @staticmethod
    def jvp(ts, y, x, index, shape):
        t = ts[0]
        B = t.shape[0]
        if is_basic(index):
            out = np.zeros((B,) + tuple(shape), t.dtype)
            out[(slice(None),) + index] = t
            return out
        size = int(np.prod(shape))
        return scatter_add(t, flat_positions(shape, index), size, batch=B).reshape(
            (B,) + tuple(shape)
        )
