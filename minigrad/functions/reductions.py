"""Reductions over axes (``mg.sum``, ``mg.mean``, ``mg.max``, ...), and ``normalize_axes``, which
every function that takes an ``axis`` uses to check it."""

from __future__ import annotations

import builtins

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..primitive import apply
from ..tensor import Tensor
from .arithmetic import exp, log, sqrt
from .operands import as_tensor


def normalize_axes(op: str, axis, shape: tuple, ndim: int | None = None) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of distinct axes of a
    tensor of ``shape`` (or of a result with ``ndim`` dimensions, when given)."""
    ndim = len(shape) if ndim is None else ndim
    what = f"a tensor of shape {shape}" if ndim == len(shape) else (
        f"a result with {ndim} dimensions (input shape {shape})")  # fmt: skip
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else axis
    if not isinstance(axes, tuple | list) or not builtins.all(
        isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axes
    ):
        raise ShapeError(
            f"{op}: axis={axis!r} is not an axis; give an int, a tuple of ints or None (all "
            f"axes), for {what}"
        )
    out = []
    for a in axes:
        if not -ndim <= a < ndim or (ndim == 0 and a not in (0, -1)):
            raise ShapeError(
                f"{op}: axis {a} is out of range for {what}; use an axis in [{-ndim}, {ndim - 1}]"
            )
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: axis {axis} names an axis twice ({what}); name each axis once")
    return tuple(sorted(out)) if ndim else ()


def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (None: all, int, or tuple)."""
    x = as_tensor(x)
    return apply(ops.Sum, x, axis=normalize_axes("sum", axis, x.shape), keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis``."""
    x = as_tensor(x)
    axes = normalize_axes("mean", axis, x.shape)
    return sum(x, axes, keepdims) / _count(x, axes)


def _count(x, axes) -> int:
    return int(np.prod([x.shape[a] for a in axes]))


def var(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Variance over ``axis``: sum((x - mean)^2) / (n - ddof)."""
    x = as_tensor(x)
    axes = normalize_axes("var", axis, x.shape)
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) / builtins.max(_count(x, axes) - ddof, 0)


def std(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Standard deviation over ``axis``: sqrt(var)."""
    return sqrt(var(x, axis, ddof, keepdims))


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    """Largest element over ``axis``; tied maxima share the gradient evenly."""
    x = as_tensor(x)
    return apply(ops.Max, x, axis=normalize_axes("max", axis, x.shape), keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    """Smallest element over ``axis``; tied minima share the gradient evenly."""
    x = as_tensor(x)
    return apply(ops.Min, x, axis=normalize_axes("min", axis, x.shape), keepdims=keepdims)


def prod(x, axis=None, keepdims: bool = False) -> Tensor:
    """Product over ``axis`` (exact gradients with zeros too)."""
    x = as_tensor(x)
    return apply(ops.Prod, x, axis=normalize_axes("prod", axis, x.shape), keepdims=keepdims)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, without overflow. Its gradient is softmax(x)."""
    x = as_tensor(x)
    axes = normalize_axes("logsumexp", axis, x.shape)
    # NOTE: shifting by the max leaves the value and every derivative unchanged, so the shift is
    # a constant (no gradient through it).
    shift = np.max(x.data, axis=axes, keepdims=True) if x.size else np.zeros(())
    shift = np.where(np.isfinite(shift), shift, 0)
    out = log(sum(exp(x - shift), axes, keepdims=True)) + shift
    return (
        out if keepdims else out.reshape(tuple(d for i, d in enumerate(out.shape) if i not in axes))
    )


def _arg(fn, x, axis, keepdims):
    x = as_tensor(x)
    if x.size == 0:
        raise ShapeError(
            f"{fn.__name__}: the tensor is empty (shape {x.shape}), so it has no "
            f"{fn.__name__[3:]}imum to point at; check the size before asking"
        )
    if axis is not None:
        (axis,) = normalize_axes(fn.__name__, axis, x.shape)
    return Tensor(fn(x.data, axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the largest element (flat when axis is None); no gradient."""
    return _arg(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the smallest element (flat when axis is None); no gradient."""
    return _arg(np.argmin, x, axis, keepdims)


def all(x, axis=None, keepdims: bool = False) -> Tensor:
    """Whether all elements are true (no gradient)."""
    x = as_tensor(x)
    return Tensor(np.all(x.data, axis=normalize_axes("all", axis, x.shape), keepdims=keepdims))


def any(x, axis=None, keepdims: bool = False) -> Tensor:
    """Whether any element is true (no gradient)."""
    x = as_tensor(x)
    return Tensor(np.any(x.data, axis=normalize_axes("any", axis, x.shape), keepdims=keepdims))
