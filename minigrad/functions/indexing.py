"""Indexing with PyTorch's meanings: ``x[index]``, ``gather``, ``scatter``, ``scatter_add``,
``index_select``, ``take_along_dim``, ``take``, ``masked_fill``, ``tril``/``triu``.

Every one is a composite of ``GetItem`` (gathers) and ``ScatterAdd`` (its transpose), so
gradients flow to the input and to ``src``, never to the indices, in every mode. Under
``mg.vmap`` the indices and masks may differ from example to example (see ``ops.indexing``);
only ``x[mask]`` with such a mask is refused: each example would get a result of its own length.
"""

from __future__ import annotations

import math

import numpy as np

from ..batching import BatchedArray, all_values, batched_like, map_data, values_of
from ..errors import DTypeError, IndexingError, OpError, ShapeError
from ..ops.indexing import added_at, flat_rows, indexed
from ..tensor import Tensor, is_batched
from .arithmetic import add, astype, where
from .operands import as_tensor, broadcast_shape
from .shaping import dim_arg, expand, flatten, reshape

# ----- x[index] ----------------------------------------------------------------------------------


def normalize_index(x: Tensor, index, batched: bool = False) -> tuple:
    """``index`` as a tuple of ints, slices, None, Ellipsis and ndarrays (int or bool).

    ``batched``: an index tensor batched under ``mg.vmap`` stays batched (its ``BatchedArray``,
    which a gather takes: ``ops.indexing.indexed``); otherwise (writing at the index) it is
    refused."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        if type(i) is BatchedArray:
            if not batched:
                values_of(i, "x[index] = value (writing at an index)")  # refused, by name
            if i.dtype.kind not in "iub":
                raise IndexingError(
                    f"getitem: index arrays must hold integers or booleans, got {i.dtype}"
                )
        elif isinstance(i, list | np.ndarray | bool | np.bool_):
            i = np.asarray(i)
            if i.dtype.kind not in "iub" and i.size:
                raise IndexingError(
                    f"getitem: index arrays must hold integers or booleans, got {i.dtype}"
                )
            if i.dtype.kind == "f":  # an empty list
                i = i.astype(np.intp)
        elif isinstance(i, np.integer):
            i = int(i)
        elif not (i is None or i is Ellipsis or isinstance(i, int | slice)):
            raise IndexingError(
                f"getitem: cannot index with {type(i).__name__} {i!r}; use ints, slices, None, "
                f"..., integer arrays or boolean masks"
            )
        out.append(i)
    return tuple(out)


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with numpy's rules, which are PyTorch's for basic and advanced indexing
    (integer Tensors and boolean masks included); repeated indices accumulate gradients.
    Under ``mg.vmap`` an integer index may differ from example to example."""
    return indexed(x, normalize_index(x, index, batched=True))


def with_values_at(x: Tensor, index: tuple, value) -> Tensor:
    """``x`` with ``x[index] = value`` made out of place (numpy's rules; ``index`` normalized,
    not batched): what an assignment into a tensor batched under ``mg.vmap`` computes, since
    its stand-in holds no values to write into. The written positions are a mask; the value,
    broadcast to ``x[index]``'s shape, is placed there by a scatter. An advanced index that
    names a position twice (numpy: the last write wins) is refused."""
    written = np.zeros(x.shape, np.int64)
    np.add.at(written, index, 1)
    if written.max(initial=0) > 1:
        raise IndexingError(
            f"x[index] = value on a tensor batched under mg.vmap: the index names a position "
            f"twice (tensor of shape {x.shape}); give each position once"
        )
    value = as_tensor(value)
    value = (value if value.dtype == x.dtype else astype(value, x.dtype)).broadcast_to(
        np.empty(x.shape, bool)[index].shape
    )
    return where(written.astype(bool), added_at(value, index, x.shape), x)


# ----- index arguments ---------------------------------------------------------------------------


def _indices(op: str, index):
    """An index Tensor, array or list as an integer ndarray, or (under ``mg.vmap``, differing
    from example to example) a batched integer tensor; no gradient flows to it."""
    if is_batched(index):
        t = index if isinstance(index, Tensor) else Tensor(index)
        _integer(op, t.dtype)
        return t
    a = values_of(index, "indexing")
    if not (a.size == 0 and a.dtype.kind == "f"):  # ``[]`` comes in as float64: allow it
        _integer(op, a.dtype)
    return a.astype(np.intp, copy=False)


def _integer(op: str, dtype):
    if dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: the index must hold integers (int64 or int32), got {dtype}; convert it "
            f"with .long()"
        )


def _array(index):
    """An index from ``_indices`` as an array: a batched tensor's ``BatchedArray``."""
    return index.data if isinstance(index, Tensor) else index


def _check_bounds(op: str, index, n: int, dim, x: Tensor, negative: bool = False):
    low = -n if negative else 0
    values = all_values(index)  # (under mg.vmap, every example's)
    if values.size and (values.min() < low or values.max() >= n):
        bad = values[(values < low) | (values >= n)].flat[0]
        raise IndexingError(
            f"{op}: index {bad} is out of bounds for dim {dim} with size {n} (input of shape "
            f"{x.shape}, index of shape {index.shape})"
        )


def _along(op: str, x: Tensor, dim, index, src_shape=None) -> tuple:
    """For ``gather``/``scatter`` along ``dim``: the index of ``x`` that each element of
    ``index`` names (its own position, with ``index``'s value along ``dim``), checked."""
    d = dim_arg(op, dim, x.shape)
    idx = _indices(op, index)
    n = idx.ndim
    fits = n == x.ndim and all(idx.shape[i] <= x.shape[i] for i in range(n) if i != d)
    if src_shape is not None:
        fits = fits and len(src_shape) == n and all(i <= s for i, s in zip(idx.shape, src_shape))
    if not fits:
        src = "" if src_shape is None else f" and src of shape {src_shape}"
        raise ShapeError(
            f"{op}: index of shape {idx.shape} for input of shape {x.shape}{src} along dim "
            f"{dim}: the index needs as many dims as the input, no dim larger than the input's "
            f"(but dim {dim})" + ("" if src_shape is None else " and none larger than the src's")
        )
    _check_bounds(op, idx, x.shape[d] if x.ndim else 1, dim, x)
    if x.ndim == 0:
        return ()
    grid = list(np.indices(idx.shape, sparse=True))
    grid[d] = _array(idx)
    return tuple(grid)


def _index_shape(positions: tuple) -> tuple:
    return np.broadcast_shapes(*(p.shape for p in positions))


def _leading(src: Tensor, shape: tuple) -> Tensor:
    """The leading block of ``src`` of ``shape`` (``src`` may be larger than the index)."""
    return src if src.shape == shape else src[tuple(slice(0, n) for n in shape)]


def _same_dtype(op: str, x: Tensor, src: Tensor):
    if src.dtype != x.dtype:
        raise DTypeError(
            f"{op}: src is {src.dtype} but the input is {x.dtype}; they must match (as in "
            f"PyTorch): convert one with .to(dtype)"
        )


# ----- gathering ---------------------------------------------------------------------------------


def gather(input, dim: int, index) -> Tensor:
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for ``dim = 0`` (and likewise along the
    other dims): ``out`` has the shape of ``index``. The gradient flows to ``input``."""
    x = as_tensor(input)
    return getitem(x, _along("gather", x, dim, index))


def index_select(input, dim: int, index) -> Tensor:
    """The entries ``index`` (a 1-D integer tensor) of ``input`` along ``dim``."""
    x = as_tensor(input)
    d = dim_arg("index_select", dim, x.shape)
    idx = _indices("index_select", index)
    if idx.ndim > 1:
        raise ShapeError(
            f"index_select: the index must be 1-D, got shape {idx.shape} (input of shape {x.shape})"
        )
    _check_bounds("index_select", idx, x.shape[d] if x.ndim else 1, dim, x)
    return x[(slice(None),) * d + (idx.reshape(-1),)]


def take(input, index) -> Tensor:
    """The elements of the flattened ``input`` at ``index``, in the shape of ``index``."""
    x = flatten(input)
    idx = _indices("take", index)
    _check_bounds("take", idx, x.shape[0], 0, as_tensor(input), negative=True)
    return x[idx]


def take_along_dim(input, indices, dim: int | None = None) -> Tensor:
    """``gather`` along ``dim`` with ``input`` and ``indices`` broadcast against each other in
    the other dims (negative indices count from the end); over the flattened tensor when
    ``dim`` is None."""
    x = as_tensor(input)
    idx = _indices("take_along_dim", indices)
    if dim is None:
        return take(x, idx.reshape(-1))
    d = dim_arg("take_along_dim", dim, x.shape)
    if idx.ndim != x.ndim:
        raise ShapeError(
            f"take_along_dim: input of shape {x.shape} and indices of shape {idx.shape} need "
            f"the same number of dims"
        )
    n = x.shape[d]
    _check_bounds("take_along_dim", idx, n, dim, x, negative=True)
    others = broadcast_shape(x.shape[:d] + (1,) + x.shape[d + 1 :],
                             idx.shape[:d] + (1,) + idx.shape[d + 1 :])  # fmt: skip
    x = expand(x, others[:d] + (n,) + others[d + 1 :])
    idx = map_data(lambda a: np.where(a < 0, a + n, a), as_tensor(idx))
    return gather(x, d, expand(idx, others[:d] + idx.shape[d : d + 1] + others[d + 1 :]))


# ----- scattering --------------------------------------------------------------------------------


def _scatter_parts(op, input, dim, index, src, value):
    x = as_tensor(input)
    if (src is None) == (value is None):
        raise OpError(f"{op}: give either src (a tensor) or value (a number), not both")
    if isinstance(src, int | float | bool | np.number):
        src, value = None, src
    src = None if src is None else as_tensor(src)
    positions = _along(op, x, dim, index, None if src is None else src.shape)
    if src is not None:
        _same_dtype(op, x, src)
    return x, positions, src, value


def scatter(input, dim: int, index, src=None, value=None, *, reduce=None) -> Tensor:
    """A copy of ``input`` with ``out[index[i][j][k]][j][k] = src[i][j][k]`` for ``dim = 0``
    (likewise along the other dims), or ``value`` at those places. Out of place; gradients
    flow to ``input`` (but where it was overwritten) and to ``src``. Where ``index`` names one
    place twice, the last ``src`` element wins (PyTorch leaves that unspecified) and only it
    gets the gradient."""
    if reduce is not None:
        if reduce == "add" and value is None:
            return scatter_add(input, dim, index, src)
        raise OpError(
            f"scatter: reduce={reduce!r} is not supported by minigrad; use scatter_add for "
            f"reduce='add' (PyTorch's scatter_reduce is not implemented)"
        )
    x, positions, src, value = _scatter_parts("scatter", input, dim, index, src, value)
    targets = flat_rows(positions, x.shape) if positions else Tensor(np.zeros((), np.intp))
    winners, untouched = _last_writes(targets, math.prod(x.shape))
    untouched = reshape(untouched, x.shape)
    if src is None:
        return where(untouched, x, np.asarray(value, dtype=x.dtype))
    part = where(winners, _leading(src, targets.shape), np.zeros((), x.dtype))
    return where(untouched, x, added_at(part, positions, x.shape))


def _last_writes(targets: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """From the flat places ``targets`` (an int tensor, batched under ``mg.vmap``) that an index
    writes to in a tensor of ``size`` elements: which of its elements write last to their place
    (they win), and which places none writes to; for the whole batch at once."""
    values = all_values(targets)
    lead = values.shape[: values.ndim - targets.ndim]  # the batch axes of every vmap level
    count = math.prod(lead)
    keys = (np.arange(count)[:, None] * size + values.reshape(count, -1)).reshape(-1)
    _, first = np.unique(keys[::-1], return_index=True)  # a last write is a first from the end
    winners = np.zeros(keys.size, bool)
    winners[keys.size - 1 - first] = True
    untouched = np.ones(count * size, bool)
    untouched[keys] = False
    return (batched_like(winners.reshape(values.shape), targets),
            batched_like(untouched.reshape((*lead, size)), targets))  # fmt: skip


def scatter_add(input, dim: int, index, src) -> Tensor:
    """A copy of ``input`` with ``src[i][j][k]`` added at ``out[index[i][j][k]][j][k]`` for
    ``dim = 0`` (likewise along the other dims); repeated places accumulate. Gradients flow to
    ``input`` and ``src``."""
    x, positions, src, _ = _scatter_parts("scatter_add", input, dim, index, src, None)
    if src is None:
        raise OpError("scatter_add: src must be a tensor (scatter_add adds a tensor's elements)")
    part = _leading(src, _index_shape(positions))
    return add(x, added_at(part, positions, x.shape))


# ----- masks -------------------------------------------------------------------------------------


def masked_fill(input, mask, value) -> Tensor:
    """``value`` (a number or a 0-d tensor, cast to ``input``'s dtype) where the boolean
    ``mask`` is true, ``input`` elsewhere; the mask broadcasts. Gradients flow to ``input``
    (where the mask is false) and to a tensor ``value``."""
    x = as_tensor(input)
    # NOTE: a tensor's own data, which under mg.vmap may be batched (where takes it as it is).
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DTypeError(
            f"masked_fill: the mask must be boolean, got {m.dtype}; make one with a comparison "
            f"(x > 0) or .bool()"
        )
    try:
        broadcast_shape(x.shape, m.shape)
    except ValueError:
        raise ShapeError(
            f"masked_fill: a mask of shape {m.shape} does not broadcast with the input's shape "
            f"{x.shape}"
        ) from None
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(
                f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}"
            )
        value = astype(value, x.dtype)
    else:
        value = np.asarray(value, dtype=x.dtype)
    return where(mask if isinstance(mask, Tensor) else m, value, x)


def _triangle(op: str, x, diagonal: int, lower: bool) -> Tensor:
    x = as_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"{op}: needs a tensor of at least 2 dims, got shape {x.shape}")
    rows, cols = x.shape[-2:]
    mask = np.tri(rows, cols, k=diagonal, dtype=bool)
    return where(mask if lower else ~np.tri(rows, cols, k=diagonal - 1, dtype=bool), x,
                 np.zeros((), x.dtype))  # fmt: skip


def tril(input, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below diagonal ``diagonal``; above it
    for positive ``diagonal``), zeros elsewhere."""
    return _triangle("tril", input, diagonal, lower=True)


def triu(input, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above diagonal ``diagonal``), zeros
    elsewhere."""
    return _triangle("triu", input, diagonal, lower=False)


# ----- in place (PyTorch's trailing underscore) ------------------------------------------------


def masked_fill_(input: Tensor, mask, value) -> Tensor:
    """``masked_fill`` in place; the mask must broadcast to ``input``'s shape. Under minigrad's
    in-place rules: refused for a tensor that requires grad while grad mode is on."""
    m_shape = np.shape(mask.data if isinstance(mask, Tensor) else mask)
    try:
        fits = broadcast_shape(input.shape, m_shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(
            f"masked_fill_: a mask of shape {m_shape} does not broadcast to the tensor's shape "
            f"{input.shape} (an in-place op cannot change the shape)"
        )
    return input.copy_(masked_fill(input, mask, value))


def scatter_(input: Tensor, dim: int, index, src=None, value=None, *, reduce=None) -> Tensor:
    """``scatter`` in place (``zeros(n, c).scatter_(1, labels.unsqueeze(1), 1.0)`` makes one-hot
    rows). Under minigrad's in-place rules."""
    return input.copy_(scatter(input, dim, index, src, value, reduce=reduce))


def scatter_add_(input: Tensor, dim: int, index, src) -> Tensor:
    """``scatter_add`` in place, under minigrad's in-place rules."""
    return input.copy_(scatter_add(input, dim, index, src))
