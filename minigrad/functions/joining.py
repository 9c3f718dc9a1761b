"""Joining, splitting, repeating and reordering elements, with PyTorch's meanings: ``cat``,
``stack``, ``split`` (an int is the size of each piece), ``chunk``, ``repeat`` (tiles the whole
tensor), ``repeat_interleave`` (repeats each element), ``flip``, ``roll``, ``narrow``."""

from __future__ import annotations

import builtins

import numpy as np

from .. import ops
from ..batching import values_of
from ..errors import ShapeError
from ..primitive import apply
from ..tensor import Tensor
from .operands import alias, as_tensor
from .reductions import normalize_axes
from .shaping import broadcast_to, dim_arg, flatten, reshape, shape_arg, unsqueeze

# ----- joining -----------------------------------------------------------------------------------


def cat(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """Join tensors along an existing dim; every other dim must match."""
    dim = alias("cat", "dim", dim, "axis", axis, unset=0)
    xs = [as_tensor(t) for t in tensors]
    if not xs:
        raise ShapeError("cat: needs a non-empty sequence of tensors")
    for i, x in enumerate(xs):
        if x.ndim == 0:
            raise ShapeError(
                f"cat: the tensor at position {i} is 0-d and cannot be concatenated; use stack, "
                f"or reshape it to (1,)"
            )
    d = dim_arg("cat", dim, xs[0].shape)
    rest = [x.shape[:d] + x.shape[d + 1 :] for x in xs]
    if builtins.any(x.ndim != xs[0].ndim or r != rest[0] for x, r in zip(xs, rest)):
        raise ShapeError(
            f"cat: shapes {[x.shape for x in xs]} along dim {dim}: the tensors must have the "
            f"same number of dims and the same size in every dim but {dim}"
        )
    return apply(ops.Concatenate, *xs, axis=d)  # a new tensor, even of one (as torch.cat)


def concat(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """PyTorch's other name for ``cat``."""
    return cat(tensors, dim, axis=axis)


def concatenate(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """PyTorch's (and numpy's) other name for ``cat``."""
    return cat(tensors, dim, axis=axis)


def stack(tensors, dim: int = 0, *, axis=None) -> Tensor:
    """Join tensors of equal shape along a new dim ``dim``."""
    dim = alias("stack", "dim", dim, "axis", axis, unset=0)
    xs = [as_tensor(t) for t in tensors]
    if not xs or builtins.any(x.shape != xs[0].shape for x in xs):
        raise ShapeError(
            f"stack: shapes {[x.shape for x in xs]}: stack needs at least one tensor and all of "
            f"the same shape"
        )
    d = dim_arg("stack", dim, xs[0].shape, xs[0].ndim + 1)
    return cat([unsqueeze(x, d) for x in xs], d)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors); 0-d tensors count as 1-D."""
    xs = [reshape(x, 1) if x.ndim == 0 else x for x in map(as_tensor, tensors)]
    return cat(xs, 0 if xs and builtins.all(x.ndim == 1 for x in xs) else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, after making every tensor at least 2-D (a 1-D one becomes a row)."""
    xs = [as_tensor(x) for x in tensors]
    return cat([reshape(x, (1, -1)) if x.ndim < 2 else x for x in xs], 0)


# ----- splitting ---------------------------------------------------------------------------------


def _pieces(x: Tensor, d: int, sizes) -> tuple[Tensor, ...]:
    lead, start, out = (slice(None),) * d, 0, []
    for size in sizes:
        out.append(x[lead + (slice(start, start + size),)])
        start += size
    return tuple(out)


def split(x, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """PyTorch's ``split``: pieces of ``split_size_or_sections`` elements along ``dim`` (the last
    may be smaller), or of the sizes in a list (which must add up to the dim's size). numpy's
    ``split(x, n)`` into ``n`` equal pieces is ``chunk(x, n)`` here."""
    x = as_tensor(x)
    d = dim_arg("split", dim, x.shape)
    n, given = x.shape[d], split_size_or_sections
    if isinstance(given, int | np.integer):
        size = int(given)
        if size < 0 or (size == 0 and n):
            raise ShapeError(
                f"split: split_size={size} for dim {dim} of size {n} (tensor of shape {x.shape}); "
                f"give a positive piece size, or a list of sizes"
            )
        sizes = [builtins.min(size, n - i) for i in range(0, n, size)] if n else [0]
    else:
        sizes = list(shape_arg("split", (given,)))
        if builtins.sum(sizes) != n or builtins.any(s < 0 for s in sizes):
            raise ShapeError(
                f"split: sizes {sizes} must be non-negative and add up to {n}, the size of dim "
                f"{dim} of a tensor of shape {x.shape}"
            )
    return _pieces(x, d, sizes)


def chunk(x, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces along ``dim``, each of ceil(size / chunks) elements but the last
    (so there may be fewer pieces than asked, as in PyTorch)."""
    x = as_tensor(x)
    if not isinstance(chunks, int | np.integer) or chunks <= 0:
        raise ShapeError(f"chunk: chunks={chunks!r} must be a positive int (shape {x.shape})")
    d = dim_arg("chunk", dim, x.shape)
    n = x.shape[d]
    return split(x, builtins.max(-(-n // int(chunks)), 1), d)


def narrow(x, dim: int, start: int, length: int) -> Tensor:
    """The ``length`` elements from ``start`` (negative: from the end) along ``dim``."""
    x = as_tensor(x)
    d = dim_arg("narrow", dim, x.shape)
    n = x.shape[d]
    begin = start + n if -n <= start < 0 else start
    if not (0 <= begin <= n and length >= 0 and begin + length <= n):
        raise ShapeError(
            f"narrow: start {start} and length {length} do not fit in dim {dim} of size {n} "
            f"(tensor of shape {x.shape})"
        )
    return x[(slice(None),) * d + (slice(begin, begin + length),)]


# ----- repeating ---------------------------------------------------------------------------------


def tile(x, dims) -> Tensor:
    """The whole tensor repeated ``dims[i]`` times along dim i; when ``dims`` is shorter than
    the tensor's dims, 1s are prepended (and when longer, the tensor gains leading dims)."""
    x = as_tensor(x)
    reps = shape_arg("tile", (dims,) if isinstance(dims, int | np.integer) else dims)
    if builtins.any(r < 0 for r in reps):
        raise ShapeError(f"tile: repeats {list(reps)} must not be negative (shape {x.shape})")
    ndim = builtins.max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape
    interleaved = tuple(v for d in shape for v in (1, d))
    target = tuple(v for r, d in zip(reps, shape) for v in (r, d))
    tiled = broadcast_to(reshape(x, interleaved), target)
    return reshape(tiled, tuple(r * d for r, d in zip(reps, shape)))


def repeat(x, *sizes) -> Tensor:
    """PyTorch's ``repeat``: the whole tensor tiled ``sizes[i]`` times along dim i (``sizes``
    may add leading dims, not drop any). numpy's element repeat is ``repeat_interleave``."""
    x = as_tensor(x)
    sizes = shape_arg("repeat", sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(
            f"repeat: {len(sizes)} repeat counts {list(sizes)} for a tensor of shape {x.shape}; "
            f"give one per dim (or more, for new leading dims). To repeat each element, use "
            f"repeat_interleave"
        )
    return tile(x, sizes)


def repeat_interleave(x, repeats, dim: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times (an int, or one count per element) along
    ``dim``; over the flattened tensor when ``dim`` is None (numpy's ``repeat``)."""
    x = as_tensor(x)
    if dim is None:
        x, dim = flatten(x), 0
    d = dim_arg("repeat_interleave", dim, x.shape)
    counts = values_of(repeats, "repeat_interleave")
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or (counts < 0).any() or (
            counts.ndim == 1 and counts.size not in (1, x.shape[d])):  # fmt: skip
        raise ShapeError(
            f"repeat_interleave: repeats {counts.tolist()} for dim {dim} of size {x.shape[d]} "
            f"(tensor of shape {x.shape}); give a non-negative int or one per element"
        )
    return x[(slice(None),) * d + (np.repeat(np.arange(x.shape[d]), counts),)]


# ----- reordering --------------------------------------------------------------------------------


def _dims(op: str, dims, x: Tensor) -> tuple[int, ...]:
    dims = (dims,) if isinstance(dims, int | np.integer) else tuple(dims)
    return normalize_axes(op, dims, x.shape)


def flip(x, dims) -> Tensor:
    """The order of the elements reversed along each of ``dims`` (an int or a tuple)."""
    x = as_tensor(x)
    axes = _dims("flip", dims, x)
    return x[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(x.ndim))]


def roll(x, shifts, dims=None) -> Tensor:
    """Elements shifted by ``shifts`` along ``dims`` (each an int, or tuples of one length),
    those that fall off one end coming back at the other; with ``dims`` None, the flattened
    tensor is rolled and given back its shape."""
    x = as_tensor(x)
    if dims is None:
        return reshape(roll(flatten(x), shifts, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, int | np.integer) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int | np.integer) else tuple(dims)
    if len(shifts) != len(dims):
        raise ShapeError(
            f"roll: {len(shifts)} shifts {shifts} for {len(dims)} dims {dims}; give one shift "
            f"per dim (tensor of shape {x.shape})"
        )
    for shift, dim in zip(shifts, dims):
        d = dim_arg("roll", dim, x.shape)
        n = x.shape[d]
        if n and shift % n:
            head = (slice(None),) * d
            k = n - shift % n
            x = cat([x[head + (slice(k, None),)], x[head + (slice(0, k),)]], d)
    return x
