"""Indexing and its transpose: ``GetItem`` gathers, ``ScatterAdd`` adds back (closed under VJP).

``index`` is a normalized tuple (see ``functions.indexing.normalize_index``). Basic indices (ints,
slices, None, Ellipsis) give views and are applied directly. Advanced indices (integer arrays,
boolean masks) scatter with ``np.add.at``, so that repeated positions accumulate; a batch of
tangents gathers through flat positions, which keep the batch axis first.

Under ``mg.vmap`` an integer array of the index may itself be batched (a ``BatchedArray``: its
values differ from example to example). The index tuple cannot carry a batch (``apply`` sees
only parameters of their own), so ``indexed`` turns such an index into one gather of *rows*:
the indexed axes moved to the front and merged into one, each example's positions along it
(``rows``, a parameter of its own, batched) computed for the whole batch at once. The rules
then gather every example's rows from one array, the batch merged into the rows (as JAX's
gather adds an index for the batch axis).
"""

import math

import numpy as np

from ..batching import BatchedArray, BatchingError, all_values, map_data
from ..errors import IndexingError
from ..primitive import Primitive, Tensor, apply


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


def _refuse_batched_arrays(index, prim: str):
    """Refuse a batched array inside ``index``: only ``rows`` can carry one (see ``indexed``),
    and numpy would index with its placeholder zeros."""
    if any(type(i) is BatchedArray for i in index):
        raise BatchingError(
            f"mg.vmap: {prim}'s index tuple holds an array batched under mg.vmap, which the "
            f"tuple cannot carry; index with ops.indexing.indexed (as mg.getitem does), which "
            f"turns it into rows"
        )


def _rows_of_batch(rows, lifted: bool, size: int, n: int):
    """Each example's ``rows`` (the whole batch when ``lifted``, else one example's, the same
    for all) as rows of the batch merged into axis 0: example ``b``'s row ``r`` is ``b * n + r``."""
    r = rows.ndim - lifted
    offsets = Tensor((np.arange(size) * n).reshape((size,) + (1,) * r))
    return map_data(np.add, Tensor(rows), offsets).data  # (batched as ``rows`` is, if it is)


def _take_rows(x, rows):
    """``x[rows]`` along axis 0: an index of its own when ``rows`` is plain, else ``rows``."""
    if type(rows) is BatchedArray:
        return apply(GetItem, x, index=(), rows=rows)
    return apply(GetItem, x, index=(rows,))


def _add_rows(g, rows, shape):
    """Zeros of ``shape`` with ``g`` added at ``rows`` along axis 0 (as ``_take_rows``)."""
    if type(rows) is BatchedArray:
        return apply(ScatterAdd, g, index=(), shape=shape, rows=rows)
    return apply(ScatterAdd, g, index=(rows,), shape=shape)


class GetItem(Primitive):
    """``x[index]``; with ``rows`` (an integer array, batched under ``mg.vmap``, see ``indexed``)
    ``x[rows]`` along axis 0, ``index`` being ()."""

    holomorphic = True
    uses = ()
    batches_params = True  # ``rows``

    @staticmethod
    def batch(xs, dims, index, rows=None, batched=()):
        x = xs[0]
        if rows is None:
            # One gather: a full slice for the batch axis, which numpy's rules may then move.
            _refuse_batched_arrays(index, "GetItem")
            index, at = batched_index(index)
            return _batch_first(apply(GetItem, x, index=index), at)
        if dims[0] is None:  # one x for every example: the rows (B, ...) gather from it
            return _take_rows(x, rows)
        size, n = x.shape[:2]
        merged = x.reshape((size * n, *x.shape[2:]))
        return _take_rows(merged, _rows_of_batch(rows, "rows" in batched, size, n))

    @staticmethod
    def forward(x, index, rows=None):
        return x[index if rows is None else rows]

    @staticmethod
    def vjp(g, y, x, index, xp, rows=None):
        if rows is None:
            return (xp.scatter(g, index, x.shape),)
        return (xp.apply(ScatterAdd, g, index=(), shape=x.shape, rows=rows),)

    @staticmethod
    def jvp(ts, y, x, index, rows=None):
        t = ts[0]
        if rows is not None:
            index = (rows,)
        if is_basic(index):
            return t[(slice(None),) + index]
        positions = flat_positions(x.shape, index)
        return t.reshape(t.shape[0], -1)[:, positions]


class ScatterAdd(Primitive):
    """Zeros of ``shape`` with ``g`` added at ``index``: the transpose of ``GetItem`` (with
    ``rows``, added at ``rows`` along axis 0, as ``GetItem`` gathers them)."""

    holomorphic = True
    uses = ()
    batches_params = True  # ``rows``

    @staticmethod
    def batch(xs, dims, index, shape, rows=None, batched=()):
        g = xs[0]
        if rows is None:
            # The transpose of GetItem's rule: the batch laid out as the batched gather lays it.
            _refuse_batched_arrays(index, "ScatterAdd")
            index, at = batched_index(index)
            return apply(ScatterAdd, _batch_at(g, at), index=index, shape=(g.shape[0], *shape))
        lifted = "rows" in batched
        size = g.shape[0] if dims[0] is not None else rows.shape[0]
        if dims[0] is None:  # one cotangent for every example's rows
            g = g.broadcast_to((size, *g.shape))
        n = shape[0]
        out = _add_rows(g, _rows_of_batch(rows, lifted, size, n), (size * n, *shape[1:]))
        return out.reshape((size, *shape))

    @staticmethod
    def forward(g, index, shape, rows=None):
        out = np.zeros(shape, g.dtype)
        if rows is not None:
            np.add.at(out, rows, g)
        elif is_basic(index):
            out[index] = g
        else:
            # NOTE: np.add.at, not out[index] += g, which would drop repeated positions. Since
            # numpy 1.25 it is as fast as np.bincount on flat positions, or faster.
            np.add.at(out, index, g)
        return out

    @staticmethod
    def vjp(g, y, x, index, shape, xp, rows=None):
        if rows is None:
            return (xp.apply(GetItem, g, index=index),)
        return (xp.apply(GetItem, g, index=(), rows=rows),)

    @staticmethod
    def jvp(ts, y, x, index, shape, rows=None):
        t = ts[0]
        B = t.shape[0]
        if rows is not None:
            index = (rows,)
        if is_basic(index):
            out = np.zeros((B,) + tuple(shape), t.dtype)
            out[(slice(None),) + index] = t
            return out
        out = np.zeros((B, int(np.prod(shape))), t.dtype)
        np.add.at(out, (slice(None), flat_positions(shape, index)), t)
        return out.reshape((B,) + tuple(shape))


# ----- batched integer arrays in an index ---------------------------------------------------------


def indexed(x, index: tuple):
    """``x[index]`` by ``GetItem``, for a normalized index whose integer arrays may be batched
    under ``mg.vmap`` (``BatchedArray``s, each example's own): then as one gather of rows, whose
    gradient scatters back (repeated positions accumulate). Bounds are checked on the whole
    batch, negative indices count from the end; a batched boolean mask is refused (each example
    would get a result of its own length)."""
    for i in index:
        if type(i) is BatchedArray:
            return _gather_batched(x, index)
    return apply(GetItem, x, index=index)


def added_at(g, index: tuple, shape: tuple):
    """Zeros of ``shape`` with ``g`` added at ``index`` (one integer array per axis, in bounds,
    possibly batched under ``mg.vmap``), by ``ScatterAdd``: ``scatter_add``'s transpose."""
    for i in index:
        if type(i) is BatchedArray:
            flat = apply(ScatterAdd, g, index=(), shape=(math.prod(shape),),
                         rows=flat_rows(index, shape).data)  # fmt: skip
            return flat.reshape(shape)
    return apply(ScatterAdd, g, index=index, shape=shape)


def flat_rows(arrays, shape) -> Tensor:
    """The flat position in an array of ``shape`` that each element of the integer ``arrays``
    (one per leading axis, broadcast, in bounds, possibly batched) names, as an int tensor
    (batched when one of them is), negative entries counted from the end."""
    sizes = [max(n, 1) for n in shape[: len(arrays)]]  # (a size 0 is only met by empty arrays)

    def ravel(*values):
        values = [np.asarray(v, np.intp) for v in values]
        return np.ravel_multi_index(np.broadcast_arrays(*values), sizes, mode="wrap")

    return map_data(ravel, *[Tensor(a) for a in arrays])


def _gather_batched(x, index: tuple):
    entries, axes, adjacent = _spread(x, index)
    advanced = [k for k, e in enumerate(entries) if not (e is None or type(e) is slice)]
    # The other indices first, keeping the indexed axes whole: then entry k indexes axis k.
    kept = tuple(slice(None) if k in advanced else e for k, e in enumerate(entries))
    y = x if all(e == slice(None) for e in kept) else apply(GetItem, x, index=kept)
    arrays = [entries[k] for k in advanced]
    _check_batched_bounds(x, arrays, [axes[k] for k in advanced])
    rows = flat_rows(arrays, [y.shape[k] for k in advanced])
    k = len(advanced)
    if advanced != list(range(k)):
        y = y.permute(*advanced, *(a for a in range(y.ndim) if a not in advanced))
    if k > 1:
        y = y.reshape((math.prod(y.shape[:k]), *y.shape[k:]))
    out = apply(GetItem, y, index=(), rows=rows.data)
    before, r = advanced[0], rows.ndim
    if adjacent and before:  # numpy keeps adjacent advanced indices' axes where they were
        out = out.permute(*range(r, r + before), *range(r), *range(r + before, out.ndim))
    return out


def _spread(x, index: tuple):
    """``index`` with its Ellipsis spread into full slices, its masks into their integer arrays
    and full slices for the remaining axes; the axis of ``x`` each entry indexes; and whether
    the advanced indices sit next to each other (numpy then keeps their axes in place)."""
    advanced = [k for k, i in enumerate(index) if not (i is None or i is Ellipsis or
                                                       type(i) is slice)]  # fmt: skip
    adjacent = advanced[-1] - advanced[0] == len(advanced) - 1
    if sum(i is Ellipsis for i in index) > 1:
        raise IndexingError("GetItem: an index can only have a single ellipsis ('...')")
    used = sum(i.ndim if _is_mask(i) else i is not None and i is not Ellipsis for i in index)
    if used > x.ndim:
        raise IndexingError(
            f"GetItem: too many indices for a tensor of dimension {x.ndim} (shape {x.shape})"
        )
    entries, axes, axis = [], [], 0
    for i in index:
        if i is Ellipsis:
            spread = [slice(None)] * (x.ndim - used)
        elif i is None:
            spread = [None]
        elif type(i) is BatchedArray and i.dtype.kind == "b":
            raise BatchingError(
                f"mg.vmap: indexing with a boolean mask that differs from example to example "
                f"(x[mask], mask of shape {i.shape}) gives each example a result of its own "
                f"length, which one batched tensor cannot hold (torch.func refuses it too); keep "
                f"the shape: mg.where(mask, x, 0) or x.masked_fill(~mask, 0), then reduce"
            )
        elif _is_mask(i):
            if i.ndim == 0 or i.shape != x.shape[axis : axis + i.ndim]:
                raise IndexingError(
                    f"GetItem: a boolean index of shape {i.shape} for axes {axis}.. of a tensor "
                    f"of shape {x.shape} next to a batched index: the mask must match those axes"
                )
            spread = list(np.nonzero(i))
        else:
            spread = [i]
        for e in spread:
            entries.append(e)
            axes.append(None if e is None else axis)
            axis += e is not None
    entries += [slice(None)] * (x.ndim - axis)
    axes += range(axis, x.ndim)
    return entries, axes, adjacent


def _is_mask(i) -> bool:
    return type(i) is np.ndarray and i.dtype.kind == "b"


def _check_batched_bounds(x, arrays, axes):
    shapes = [np.shape(a) if type(a) is int else a.shape for a in arrays]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexingError(
            f"GetItem: shape mismatch: indexing arrays could not be broadcast together with "
            f"shapes {' '.join(map(str, shapes))} (one example's: the index is batched under "
            f"mg.vmap)"
        ) from None
    for a, axis in zip(arrays, axes):
        values, n = all_values(a), x.shape[axis]
        if values.dtype.kind not in "iu":
            raise IndexingError(f"GetItem: index arrays must hold integers, got {values.dtype}")
        outside = (values < -n) | (values >= n)
        if outside.any():
            raise IndexingError(
                f"GetItem: index {values[outside].flat[0]} is out of bounds for axis {axis} with "
                f"size {n} (inputs: {x.shape} {x.dtype}; the index is batched under mg.vmap)"
            )
