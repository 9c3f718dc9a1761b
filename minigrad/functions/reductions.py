"""Reductions with PyTorch's meanings (``mg.sum``, ``mg.mean``, ``mg.std``, ``mg.max``, ...), and
``normalize_axes``, which every function that takes dims uses to check them.

Every reduction takes ``dim`` (None, an int, or a tuple or list; an empty one means every dim, as
in PyTorch) and ``keepdim``, and numpy's ``axis=`` / ``keepdims=`` for the same things.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .. import ops
from ..batching import along_data, map_data
from ..errors import DTypeError, OpError, ShapeError
from ..ops.indexing import indexed
from ..primitive import apply
from ..tensor import Tensor
from . import return_types
from .arithmetic import astype, exp, log, maximum, minimum, sqrt
from .operands import alias, as_tensor, scalar


def normalize_axes(op: str, axis, shape: tuple, ndim: int | None = None) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of distinct dims of a
    tensor of ``shape`` (or of a result with ``ndim`` dimensions, when given)."""
    ndim = len(shape) if ndim is None else ndim
    # NOTE: the common cases first, without building a list or the error's description: every
    # reduction calls this, and it cost as much as the reduction of a small array.
    if axis is None:
        return _EVERY_DIM[ndim] if ndim < len(_EVERY_DIM) else tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:
        return (axis % ndim,)
    return _checked_axes(op, axis, shape, ndim)


_EVERY_DIM = tuple(tuple(range(n)) for n in range(33))  # normalize_axes(None) by ndim


def _checked_axes(op: str, axis, shape: tuple, ndim: int) -> tuple[int, ...]:
    """``normalize_axes`` in general: tuples and lists, 0-d tensors, and the errors."""
    what = f"a tensor of shape {tuple(shape)}" if ndim == len(shape) else (
        f"a result with {ndim} dimensions (input shape {tuple(shape)})")  # fmt: skip
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else axis
    if not isinstance(axes, tuple | list) or not builtins.all(
        isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axes
    ):
        raise ShapeError(
            f"{op}: dim={axis!r} is not a dimension; give an int, a tuple of ints or None (all "
            f"dims), for {what}"
        )
    out = []
    for a in axes:
        if not (a in (0, -1) if ndim == 0 else -ndim <= a < ndim):  # 0-d: dims 0, -1 (PyTorch)
            raise ShapeError(
                f"{op}: dim {a} is out of range for {what}; use a dim in "
                f"[{-builtins.max(ndim, 1)}, {builtins.max(ndim, 1) - 1}]"
            )
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: dim {axis} names a dimension twice ({what}); name each once")
    return tuple(sorted(out)) if ndim else ()


def reduced_dims(op: str, x: Tensor, dim, axis, unset=None) -> tuple[int, ...]:
    """The dims a reduction reduces: ``dim`` or numpy's ``axis`` (not both; ``unset`` is
    ``dim``'s default); None and an empty tuple or list mean every dim, as in PyTorch."""
    if axis is not None:
        dim = alias(op, "dim", dim, "axis", axis, unset)
    if isinstance(dim, tuple | list) and not dim:
        dim = None
    return normalize_axes(op, dim, x.data.shape)


def keep(op: str, keepdim: bool, keepdims) -> bool:
    """``keepdim`` or numpy's ``keepdims``."""
    if keepdims is None:
        return keepdim
    return alias(op, "keepdim", keepdim, "keepdims", keepdims, unset=False)


def one_dim(op: str, x: Tensor, dim, axis) -> int:
    """The single dim ``dim`` (or ``axis``) of ``x``, for operations that take exactly one."""
    dim = alias(op, "dim", dim, "axis", axis)
    if not isinstance(dim, int | np.integer) or isinstance(dim, bool):
        raise ShapeError(
            f"{op}: dim={dim!r} is not one dimension; {op} takes a single int dim (tensor of "
            f"shape {tuple(x.shape)})"
        )
    (d,) = normalize_axes(op, dim, x.data.shape) or (0,)
    return d


def integer_sum_dtype(x: Tensor, dtype):
    """PyTorch's result dtype of a sum or product: ``dtype``, else int64 for bool and integers."""
    if dtype is None and x.data.dtype.kind in "biu":
        return np.int64
    return dtype


# ----- sums and means ----------------------------------------------------------------------------


def sum(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None) -> Tensor:
    """The sum over ``dim`` (None: every dim); ``dtype`` casts the input first. Integers and
    bools sum to int64, as in PyTorch.

    >>> import minigrad as mg
    >>> mg.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=1, keepdim=True)
    tensor([[3.],
            [7.]])
    """
    return _accumulate("sum", ops.Sum, input, dim, keepdim, dtype, axis, keepdims)


def _accumulate(op, prim, input, dim, keepdim, dtype, axis, keepdims) -> Tensor:
    """A sum or product: in int64 for integers and bools, as PyTorch."""
    x = input if type(input) is Tensor else as_tensor(input)
    axes = reduced_dims(op, x, dim, axis)
    keepdim = keep(op, keepdim, keepdims)
    if dtype is not None or x.data.dtype.kind in "biu":
        dtype = integer_sum_dtype(x, dtype)
        if dtype is not None:
            x = astype(x, dtype)
    return apply(prim, x, axis=axes, keepdims=keepdim)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None) -> Tensor:
    """The mean over ``dim``. As in PyTorch, an integer or bool tensor needs ``dtype=`` (or
    ``.float()`` first): its mean is not an integer."""
    x = input if type(input) is Tensor else as_tensor(input)
    if dtype is not None:
        x = astype(x, dtype)
    if x.data.dtype.kind not in "fc":
        raise DTypeError(
            f"mean: the tensor is {x.dtype} (shape {tuple(x.shape)}); a mean needs a floating "
            f"point or complex tensor, as in PyTorch: call .float() first or pass "
            f"dtype=mg.float32"
        )
    axes = reduced_dims("mean", x, dim, axis)
    # NOTE: sum(x, axes, keepdim) / count, without the functions' conversions and checks: the
    # sum of a float tensor and a 0-d constant need none (the same two primitives, same bits).
    total = apply(ops.Sum, x, axis=axes, keepdims=keep("mean", keepdim, keepdims))
    return apply(ops.Div, total, scalar(_count(x, axes), total.data.dtype))


def _count(x, axes) -> int:
    shape = x.data.shape
    return math.prod([shape[a] for a in axes])


def prod(input, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None) -> Tensor:
    """The product over ``dim`` (exact gradients with zeros too). Integers and bools multiply
    to int64, as in PyTorch."""
    return _accumulate("prod", ops.Prod, input, dim, keepdim, dtype, axis, keepdims)


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
        keepdims=None, ddof=None) -> Tensor:  # fmt: skip
    """The variance over ``dim``: ``sum((x - mean)^2) / (n - correction)``, unbiased by default
    (``correction=1``, PyTorch's default). ``unbiased=False`` (PyTorch's older argument) is
    ``correction=0``, and numpy's ``ddof`` is ``correction``.

    >>> import minigrad as mg
    >>> mg.tensor([1.0, 2.0, 3.0, 4.0]).var()
    tensor(1.6666666)
    """
    return _variance("var", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
        keepdims=None, ddof=None) -> Tensor:  # fmt: skip
    """The standard deviation over ``dim``: ``sqrt(var)``, unbiased by default (``correction=1``)
    as in PyTorch; ``unbiased=`` and numpy's ``ddof=`` are accepted too (see ``mg.var``).

    >>> import minigrad as mg
    >>> mg.tensor([1.0, 2.0, 3.0, 4.0]).std()
    tensor(1.2909944)
    """
    return sqrt(_variance("std", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof))


def _variance(op, input, dim, unbiased, keepdim, correction, axis, keepdims, ddof) -> Tensor:
    x = as_tensor(input)
    if isinstance(dim, bool):  # PyTorch's std(unbiased) overload: x.std(False)
        dim, unbiased = None, dim if unbiased is None else unbiased
    given = {k: v for k, v in [("unbiased", unbiased), ("correction", correction),
                               ("ddof", ddof)] if v is not None}  # fmt: skip
    if len(given) > 1:
        raise OpError(
            f"{op}: {' and '.join(f'{k}={v!r}' for k, v in given.items())} all set the "
            f"correction (unbiased=True is correction=1, numpy's ddof is correction); give one"
        )
    if unbiased is not None and not isinstance(unbiased, bool | np.bool_):
        raise DTypeError(
            f"{op}: unbiased={unbiased!r} is not a bool; for another correction pass "
            f"correction={unbiased!r}"
        )
    correction = int(unbiased) if unbiased is not None else next(iter(given.values()), 1)
    if x.dtype.kind not in "fc":
        raise DTypeError(
            f"{op}: the tensor is {x.dtype} (shape {tuple(x.shape)}); std and var need a "
            f"floating point tensor, as in PyTorch: call .float() first"
        )
    axes = reduced_dims(op, x, dim, axis)
    d = x - mean(x, axes, keepdim=True)
    degrees = builtins.max(_count(x, axes) - correction, 0)
    return sum(d * d, axes, keep(op, keepdim, keepdims)) / degrees


# ----- extremes ----------------------------------------------------------------------------------


def amax(input, dim=(), keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The largest element over ``dim`` (default: every dim), without indices; tied maxima share
    the gradient evenly (as PyTorch's ``amax``)."""
    x = as_tensor(input)
    axes = reduced_dims("amax", x, dim, axis, unset=())
    return apply(ops.Max, x, axis=axes, keepdims=keep("amax", keepdim, keepdims))


def amin(input, dim=(), keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The smallest element over ``dim`` (default: every dim), without indices; tied minima
    share the gradient evenly (as PyTorch's ``amin``)."""
    x = as_tensor(input)
    axes = reduced_dims("amin", x, dim, axis, unset=())
    return apply(ops.Min, x, axis=axes, keepdims=keep("amin", keepdim, keepdims))


def max(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """PyTorch's three ``max``: ``max(x)`` is the largest element (tied maxima share the
    gradient); ``max(x, dim)`` is the pair ``(values, indices)`` along one dim (the first index
    at ties, which gets the gradient); ``max(x, other)`` with a tensor ``other`` is
    ``maximum(x, other)``.

    >>> import minigrad as mg
    >>> values, indices = mg.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1)
    >>> values, indices
    (tensor([5., 3.]), tensor([1, 0]))
    """
    if isinstance(dim, Tensor | np.ndarray):
        return maximum(input, dim)
    return _extreme("max", np.argmax, ops.Max, return_types.max, input, dim, keepdim, axis,
                    keepdims)  # fmt: skip


def min(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """PyTorch's three ``min``: ``min(x)`` (the smallest element), ``min(x, dim)`` (the pair
    ``(values, indices)``) and ``min(x, other)`` (``minimum``); see ``mg.max``."""
    if isinstance(dim, Tensor | np.ndarray):
        return minimum(input, dim)
    return _extreme("min", np.argmin, ops.Min, return_types.min, input, dim, keepdim, axis,
                    keepdims)  # fmt: skip


def _extreme(op, arg, prim, pair, input, dim, keepdim, axis, keepdims):
    x = as_tensor(input)
    keepdim = keep(op, keepdim, keepdims)
    if dim is None and axis is None:
        if x.data.size == 0:
            raise ShapeError(
                f"{op}: the tensor is empty (shape {tuple(x.shape)}), so it has no {op}imum; "
                f"give a dim to reduce along, or check the size first"
            )
        return apply(prim, x, axis=tuple(range(x.ndim)), keepdims=keepdim)
    d = one_dim(op, x, dim, axis)
    if x.ndim and x.shape[d] == 0:
        raise ShapeError(
            f"{op}: dim {d} of the tensor (shape {tuple(x.shape)}) has size 0, so it has no "
            f"{op}imum along it; reduce along a dim of nonzero size"
        )
    flat = x.reshape((1,)) if x.ndim == 0 else x  # a 0-d tensor has one element along dim 0
    keepdim = keepdim and x.ndim > 0
    indices = indices_along(arg, flat, d, keepdims=keepdim)
    return pair(take_along(flat, indices, d, keepdim), indices)


def indices_along(fn, x: Tensor, dim: int, **options) -> Tensor:
    """``fn(x's data, axis=dim, **options)`` (numpy's argmax, ...) as an int64 tensor, without
    gradient: under ``mg.vmap``, batched as ``x`` is (found for the whole batch at once)."""
    return along_data(
        lambda a, axis: fn(a, axis=axis, **options).astype(np.int64, copy=False), x, dim
    )


def take_along(x: Tensor, indices: Tensor, dim: int, kept: bool = True) -> Tensor:
    """The elements of ``x`` at ``indices`` (an int64 tensor, batched under ``mg.vmap`` where
    they were found from batched values) along ``dim``, as numpy's ``take_along_axis``:
    ``indices`` has ``x``'s shape except along ``dim`` (or, unless ``kept``, has no ``dim`` at
    all). One gather, whose gradient scatters back to the places taken from."""
    index = []
    for a, n in enumerate(x.shape):
        after = indices.ndim - (a if kept or a < dim else a - 1) - 1  # the result's axes after a
        index.append(indices.data if a == dim else np.arange(n).reshape((n,) + (1,) * after))
    return indexed(x, tuple(index))


def logsumexp(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (None: every dim), without overflow. Its gradient is
    softmax(x)."""
    x = as_tensor(input)
    axes = reduced_dims("logsumexp", x, dim, axis)
    keepdim = keep("logsumexp", keepdim, keepdims)
    # NOTE: shifting by the max leaves the value and every derivative unchanged, so the shift is
    # a constant (no gradient through it).
    if x.data.size:  # (batched under mg.vmap: the max of each example)
        everywhere = tuple(range(x.ndim)) if axes is None else axes
        shift = along_data(lambda a, over: np.max(a, axis=over, keepdims=True), x, everywhere)
        shift = map_data(lambda s: np.where(np.isfinite(s), s, 0), shift)
    else:
        shift = np.zeros(())
    out = log(sum(exp(x - shift), axes, keepdim=True)) + shift
    return (
        out if keepdim else out.reshape(tuple(d for i, d in enumerate(out.shape) if i not in axes))
    )


# ----- indices and truth values (no gradient) ----------------------------------------------------


def _arg(op, fn, input, dim, keepdim, axis, keepdims):
    x = as_tensor(input)
    keepdim = keep(op, keepdim, keepdims)
    if x.data.size == 0:
        raise ShapeError(
            f"{op}: the tensor is empty (shape {tuple(x.shape)}), so it has no {op[3:]}imum to "
            f"point at; check the size before asking"
        )
    if dim is None and axis is None:  # the index in the flattened tensor
        kept = (1,) * x.ndim if keepdim else ()

        def flat(a, axis):  # the axes before ``axis`` hold the batch under mg.vmap
            found = fn(a.reshape(a.shape[:axis] + (-1,)), axis=axis)
            return found.reshape(found.shape + kept)

        return indices_along(flat, x, 0)
    d = one_dim(op, x, dim, axis)
    if x.ndim == 0:  # a 0-d tensor has one element along dim 0, as in PyTorch
        return Tensor(np.zeros((), np.int64))
    return indices_along(fn, x, d, keepdims=keepdim)


def argmax(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The index (int64) of the largest element along ``dim``, the first one at ties (flat when
    ``dim`` is None); no gradient."""
    return _arg("argmax", np.argmax, input, dim, keepdim, axis, keepdims)


def argmin(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The index (int64) of the smallest element along ``dim``, the first one at ties (flat when
    ``dim`` is None); no gradient."""
    return _arg("argmin", np.argmin, input, dim, keepdim, axis, keepdims)


def all(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """Whether every element over ``dim`` is nonzero (a bool tensor, no gradient)."""
    return _truth("all", np.all, input, dim, keepdim, axis, keepdims)


def any(input, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """Whether any element over ``dim`` is nonzero (a bool tensor, no gradient)."""
    return _truth("any", np.any, input, dim, keepdim, axis, keepdims)


def _truth(op, fn, input, dim, keepdim, axis, keepdims) -> Tensor:
    x = as_tensor(input)
    axes = reduced_dims(op, x, dim, axis)
    keepdim = keep(op, keepdim, keepdims)
    return along_data(lambda a, axes: fn(a, axis=axes, keepdims=keepdim), x, axes)


def count_nonzero(input, dim=None, *, axis=None) -> Tensor:
    """The number of nonzero elements over ``dim`` (int64, no gradient)."""
    x = as_tensor(input)
    axes = reduced_dims("count_nonzero", x, dim, axis)
    return along_data(lambda a, axes: np.asarray(np.count_nonzero(a, axis=axes), np.int64), x, axes)
