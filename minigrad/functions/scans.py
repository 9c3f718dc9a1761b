"""Running sums and products along a dim (``mg.cumsum``, ``mg.cumprod``), with PyTorch's
arguments: ``dim`` is required (numpy's ``axis=`` is accepted for it), ``dtype`` casts the input
first, and integers and bools accumulate in int64."""

from __future__ import annotations

from .. import ops
from ..primitive import apply
from ..tensor import Tensor
from .arithmetic import astype
from .operands import as_tensor
from .reductions import integer_sum_dtype, one_dim


def cumsum(input, dim=None, *, dtype=None, axis=None) -> Tensor:
    """Running sums along ``dim``: ``y_k = x_0 + ... + x_k``.

    >>> import minigrad as mg
    >>> mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).cumsum(1)
    tensor([[ 1.,  3.,  6.],
            [ 4.,  9., 15.]])
    """
    x, d = _scan_operand("cumsum", input, dim, dtype, axis)
    if x.ndim == 0:
        return apply(ops.CumSum, x.reshape((1,)), axis=0, reverse=False).reshape(())
    return apply(ops.CumSum, x, axis=d, reverse=False)


def cumprod(input, dim=None, *, dtype=None, axis=None) -> Tensor:
    """Running products along ``dim``: ``y_k = x_0 * ... * x_k``, with exact derivatives (of
    every order) where ``x`` has zeros, as PyTorch's.

    >>> import minigrad as mg
    >>> mg.tensor([1.0, 2.0, 0.0, 4.0]).cumprod(0)
    tensor([1., 2., 0., 0.])
    """
    x, d = _scan_operand("cumprod", input, dim, dtype, axis)
    if x.ndim == 0:
        return apply(ops.CumProd, x.reshape((1,)), axis=0).reshape(())
    return apply(ops.CumProd, x, axis=d)


def _scan_operand(op: str, input, dim, dtype, axis) -> tuple[Tensor, int]:
    x = as_tensor(input)
    d = one_dim(op, x, dim, axis)
    dtype = integer_sum_dtype(x, dtype)
    return (x if dtype is None else astype(x, dtype)), d
