"""Sorting with PyTorch's meanings: ``mg.sort`` and ``mg.topk`` return the pair ``(values,
indices)``, ``mg.argsort`` the indices. The values are a gather through the indices, so their
gradient goes back to the places they were taken from; the indices are int64, without gradient.

Every sort here is stable (equal elements keep their order, descending too), which is what
PyTorch's ``stable=True`` promises and one of the orders its default allows. NaN sorts as the
largest value, as in PyTorch.

Under ``mg.vmap`` the indices are found for the whole batch at once (``batching.along_data``),
batched, and the values gathered through them by the gather's batching rule: exactly what a
loop over the examples gives, gradients included.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..batching import along_data
from ..errors import OpError
from ..primitive import apply
from ..tensor import Tensor
from . import return_types
from .operands import alias, as_tensor
from .reductions import one_dim, take_along


def sort_indices(data: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """The stable sorting permutation of ``data`` along ``dim`` (int64)."""
    if not descending:
        return np.argsort(data, axis=dim, kind="stable").astype(np.int64, copy=False)
    # Stable and descending: sort the reversed array ascending, then read it backwards, so
    # that equal elements come out in their original order (NaN first, as the largest).
    n = data.shape[dim]
    order = np.argsort(np.flip(data, dim), axis=dim, kind="stable")
    return (n - 1 - np.flip(order, dim)).astype(np.int64, copy=False)


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False, *, axis=None):
    """The elements sorted along ``dim`` (ascending unless ``descending``), with the index each
    came from: the pair ``(values, indices)``. Equal elements keep their order.

    >>> import minigrad as mg
    >>> mg.tensor([3.0, 1.0, 2.0, 1.0]).sort()
    sort(values=tensor([1., 1., 2., 3.]), indices=tensor([1, 3, 2, 0]))
    """
    x, d = _operand("sort", input, dim, axis)
    if x.ndim == 0:
        return return_types.sort(*_zero_dim(x))
    indices = _permutation(x, d, descending)
    return return_types.sort(take_along(x, indices, d), indices)


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False, *, axis=None):
    """The indices (int64) that sort ``input`` along ``dim``: ``sort(...).indices``."""
    x, d = _operand("argsort", input, dim, axis)
    if x.ndim == 0:
        return Tensor(np.zeros((), np.int64))
    return _permutation(x, d, descending)


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, axis=None):
    """The ``k`` largest elements along ``dim`` (smallest with ``largest=False``), in order,
    with their indices: the pair ``(values, indices)``. Among equal elements the first come
    first.

    >>> import minigrad as mg
    >>> mg.tensor([1.0, 4.0, 2.0, 5.0]).topk(2)
    topk(values=tensor([5., 4.]), indices=tensor([3, 1]))
    """
    x, d = _operand("topk", input, dim, axis)
    n = x.shape[d] if x.ndim else 1
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or not 0 <= k <= n:
        raise OpError(
            f"topk: k={k!r} is out of range: dim {d} of the tensor (shape {tuple(x.shape)}) "
            f"has {n} elements; give an int k in [0, {n}]"
        )
    if x.ndim == 0:
        return return_types.topk(*_zero_dim(x))
    first = np.arange(k)
    indices = along_data(lambda a, axis: np.take(sort_indices(a, axis, largest), first, axis), x, d)
    return return_types.topk(take_along(x, indices, d), indices)


def _permutation(x: Tensor, dim: int, descending: bool) -> Tensor:
    """``sort_indices`` of ``x``'s data as a tensor: under ``mg.vmap``, batched as ``x`` is."""
    return along_data(lambda a, axis: sort_indices(a, axis, descending), x, dim)


def _operand(op: str, input, dim, axis) -> tuple[Tensor, int]:
    x = as_tensor(input)
    return x, one_dim(op, x, alias(op, "dim", dim, "axis", axis, unset=-1), None)


def _zero_dim(x: Tensor) -> tuple[Tensor, Tensor]:
    """A 0-d tensor sorted: a copy of itself, from index 0 (PyTorch's rule for 0-d tensors)."""
    return apply(ops.GetItem, x, index=()), Tensor(np.zeros((), np.int64))
