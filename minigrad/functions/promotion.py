"""PyTorch's type promotion, where it differs from numpy's.

Categories rank bool < integer < floating < complex. Within a category the wider dtype wins, as
in numpy; across categories the operand of the higher category gives the dtype without widening
it (an int64 tensor times a float32 tensor is float32; numpy says float64). Zero-dimensional
tensors count only when their category is higher than the others' (a float32 tensor plus a 0-d
float64 tensor stays float32), and Python numbers likewise (an int tensor times 0.5 has the
default dtype). True division of integers gives the default dtype.

>>> import minigrad as mg
>>> (mg.tensor([1, 2]) * mg.tensor([0.5, 1.5], dtype=mg.float32)).dtype == mg.float32
True
"""

from __future__ import annotations

import functools

import numpy as np

from .. import dtypes

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def category(dtype: np.dtype) -> int:
    return _CATEGORY[dtype.kind]


def result_dtype(a: np.dtype, a_zero_dim: bool, b: np.dtype, b_zero_dim: bool) -> np.dtype:
    """The dtype of a binary operation on tensors of dtypes ``a`` and ``b`` (either 0-d)."""
    return _result(a, a_zero_dim, b, b_zero_dim, dtypes.get_default_dtype())


@functools.lru_cache(maxsize=256)
def _result(a, a_zero_dim, b, b_zero_dim, default) -> np.dtype:
    if a_zero_dim != b_zero_dim:  # a dimensioned tensor and a 0-d one
        dim, zero = (b, a) if a_zero_dim else (a, b)
        return zero if category(zero) > category(dim) else dim
    if category(a) == category(b) or "c" in (a.kind, b.kind):
        return np.promote_types(a, b)
    return a if category(a) > category(b) else b


def scalar_dtype(tensor: np.dtype, value) -> np.dtype:
    """The dtype of a Python number ``value`` in an operation with a tensor of dtype ``tensor``:
    the tensor's, unless the number is of a higher category."""
    return _scalar(tensor, type(value), dtypes.get_default_dtype())


@functools.lru_cache(maxsize=256)
def _scalar(tensor, kind, default) -> np.dtype:
    rank = {bool: 0, int: 1, float: 2, complex: 3}[kind]
    if rank <= category(tensor):
        return tensor
    if kind is complex:  # the tensor's precision, or the default's for an integer tensor
        wide = (tensor if category(tensor) == 2 else default) == np.float64
        return np.dtype(np.complex128 if wide else np.complex64)
    return np.dtype(np.int64) if kind is int else default


def true_division_dtype(dtype: np.dtype) -> np.dtype:
    """Division of bools and integers gives the default floating dtype."""
    return dtypes.get_default_dtype() if category(dtype) < 2 else dtype
