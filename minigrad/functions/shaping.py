"""Shape operations and indexing on Tensors (``mg.*``): composites of a few shape primitives."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import IndexingError, ShapeError
from ..primitive import apply
from ..tensor import Tensor
from .arithmetic import add
from .operands import as_tensor, broadcasts_to
from .reductions import normalize_axes


def _shape_arg(shape) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` as well as ``f((2, 3))``."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(d) for d in shape)


def reshape(x, *shape) -> Tensor:
    """The same elements in a new shape (one axis may be -1: inferred)."""
    x = as_tensor(x)
    shape = _shape_arg(shape)
    known = int(np.prod([d for d in shape if d != -1]))
    if shape.count(-1) == 1 and known and x.size % known == 0:
        shape = tuple(x.size // known if d == -1 else d for d in shape)
    if shape.count(-1) or int(np.prod(shape)) != x.size or any(d < 0 for d in shape):
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into "
            f"{shape}; the new shape must have the same number of elements (one axis may be -1)"
        )
    return x if shape == x.shape else apply(ops.Reshape, x, shape=shape)


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim..end_dim`` (all, by default) into one."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = (normalize_axes("flatten", a, x.shape)[0] for a in (start_dim, end_dim))
    return reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1 :])


def transpose(x, *axes) -> Tensor:
    """Permute the axes (reverse them when none are given), as numpy's transpose."""
    x = as_tensor(x)
    if not axes or (len(axes) == 1 and axes[0] is None):
        axes = tuple(reversed(range(x.ndim)))
    axes = _shape_arg(axes)
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
        raise ShapeError(
            f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of a tensor of "
            f"shape {x.shape}; name each axis once"
        )
    axes = tuple(a % x.ndim for a in axes)
    return x if axes == tuple(range(x.ndim)) else apply(ops.Transpose, x, axes=axes)


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes."""
    x = as_tensor(x)
    (a,), (b,) = (normalize_axes("swapaxes", i, x.shape) for i in (axis1, axis2))
    perm = list(range(x.ndim))
    perm[a], perm[b] = b, a
    return transpose(x, perm)


def moveaxis(x, source: int, destination: int) -> Tensor:
    """Move one axis to a new position, keeping the order of the others."""
    x = as_tensor(x)
    (src,), (dst,) = (normalize_axes("moveaxis", i, x.shape) for i in (source, destination))
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, perm)


def expand_dims(x, axis) -> Tensor:
    """Insert size-1 axes at ``axis`` (int or tuple) in the result."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = normalize_axes("expand_dims", axes, x.shape, ndim)
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(ndim)))


def squeeze(x, axis=None) -> Tensor:
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    x = as_tensor(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = normalize_axes("squeeze", axis, x.shape)
        if any(x.shape[a] != 1 for a in axes):
            raise ShapeError(
                f"squeeze: axis {axis} of a tensor of shape {x.shape} does not have size 1; "
                f"only size-1 axes can be squeezed"
            )
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def broadcast_to(x, shape) -> Tensor:
    """Repeat ``x`` along new leading axes and size-1 axes to ``shape`` (numpy's rule)."""
    x = as_tensor(x)
    shape = _shape_arg((shape,)) if not isinstance(shape, (int, np.integer)) else (int(shape),)
    if not broadcasts_to(x.shape, shape):
        raise ShapeError(
            f"broadcast_to: a tensor of shape {x.shape} cannot be broadcast to {shape}; each "
            f"axis must match the target's trailing axes or be 1"
        )
    return x if x.shape == shape else apply(ops.BroadcastTo, x, shape=shape)


# ----- joining and splitting ---------------------------------------------------------------------


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    xs = [as_tensor(t) for t in tensors]
    if not xs:
        raise ShapeError("concatenate: needs at least one tensor")
    (axis,) = normalize_axes("concatenate", axis, xs[0].shape) if xs[0].ndim else (None,)
    if axis is None or any(
        x.ndim != xs[0].ndim or x.shape[:axis] + x.shape[axis + 1 :] != xs[0].shape[:axis] +
        xs[0].shape[axis + 1 :] for x in xs
    ):  # fmt: skip
        raise ShapeError(
            f"concatenate: shapes {[x.shape for x in xs]} along axis {axis}: every tensor "
            f"needs at least one axis and the same size on every other axis"
        )
    return apply(ops.Concatenate, *xs, axis=axis)


def stack(tensors, axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis."""
    xs = [as_tensor(t) for t in tensors]
    if not xs or any(x.shape != xs[0].shape for x in xs):
        raise ShapeError(
            f"stack: shapes {[x.shape for x in xs]}: stack needs at least one tensor and all of "
            f"the same shape"
        )
    return concatenate([expand_dims(x, axis) for x in xs], axis)


def split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """Split into equal sections (an int) or at the given indices, as numpy's split."""
    x = as_tensor(x)
    (axis,) = normalize_axes("split", axis, x.shape)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ShapeError(
                f"split: axis {axis} of size {n} (tensor of shape {x.shape}) cannot be split into "
                f"{k} equal sections; give a divisor of {n} or a list of split indices"
            )
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0, *(int(i) for i in indices_or_sections), n]
    lead = (slice(None),) * axis
    return [x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:])]


def _take(x, index: np.ndarray, axis: int) -> Tensor:
    return x[(slice(None),) * axis + (index,)]


def pad(x, pad_width, mode: str = "constant", constant_values=0) -> Tensor:
    """numpy's pad: ``pad_width`` as int, (before, after) or one pair per axis. Modes:
    "constant", and the index-based "edge", "reflect", "symmetric", "wrap"."""
    x = as_tensor(x)
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    except ValueError:
        widths = None
    if widths is None or (widths < 0).any():
        raise ShapeError(
            f"pad: pad_width {pad_width!r} does not fit a tensor of shape {x.shape}; give an "
            f"int, a (before, after) pair, or one non-negative pair per axis"
        )
    if mode == "constant":
        shape = tuple(int(d + a + b) for d, (a, b) in zip(x.shape, widths))
        inside = tuple(slice(int(a), int(a) + d) for d, (a, _) in zip(x.shape, widths))
        out = apply(ops.ScatterAdd, x, index=inside, shape=shape)
        if constant_values == 0:
            return out
        border = np.full(shape, constant_values, dtype=x.dtype)
        border[inside] = 0
        return add(out, border)
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise ShapeError(
            f"pad: mode {mode!r} is not supported; use 'constant', 'edge', 'reflect', "
            f"'symmetric' or 'wrap'"
        )
    for axis, (a, b) in enumerate(widths):
        if a or b:
            x = _take(x, np.pad(np.arange(x.shape[axis]), (a, b), mode=mode), axis)
    return x


def repeat(x, repeats, axis=None) -> Tensor:
    """Repeat each element ``repeats`` times along ``axis`` (flattened when None), as numpy."""
    x = as_tensor(x)
    if axis is None:
        x, axis = flatten(x), 0
    (axis,) = normalize_axes("repeat", axis, x.shape)
    try:
        index = np.repeat(np.arange(x.shape[axis]), repeats)
    except ValueError as e:
        raise ShapeError(f"repeat: {e} (axis {axis} of shape {x.shape})") from None
    return _take(x, index, axis)


def tile(x, reps) -> Tensor:
    """Repeat the whole tensor ``reps`` times along each axis, as numpy's tile."""
    x = as_tensor(x)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    ndim = max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape
    interleaved = tuple(v for d in shape for v in (1, d))
    target = tuple(v for r, d in zip(reps, shape) for v in (r, d))
    tiled = broadcast_to(reshape(x, interleaved), target)
    return reshape(tiled, tuple(r * d for r, d in zip(reps, shape)))


# ----- indexing ----------------------------------------------------------------------------------


def normalize_index(x: Tensor, index) -> tuple:
    """``index`` as a tuple of ints, slices, None, Ellipsis and ndarrays (int or bool)."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, (list, np.ndarray, bool, np.bool_)):
            i = np.asarray(i)
            if i.dtype.kind not in "iub" and i.size:
                raise IndexingError(
                    f"getitem: index arrays must hold integers or booleans, got {i.dtype}"
                )
            if i.dtype.kind == "f":  # an empty list
                i = i.astype(np.intp)
        elif isinstance(i, np.integer):
            i = int(i)
        elif not (i is None or i is Ellipsis or isinstance(i, (int, slice))):
            raise IndexingError(
                f"getitem: cannot index with {type(i).__name__} {i!r}; use ints, slices, None, "
                f"..., integer arrays or boolean masks"
            )
        out.append(i)
    return tuple(out)


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]`` with numpy's rules; repeated integer indices accumulate gradients."""
    index = normalize_index(x, index)
    return apply(ops.GetItem, x, index=index)
