"""Operands and broadcasting: turning numbers and arrays into Tensors, and the one place where
operands that carry derivatives are broadcast (constants are left to numpy: binary primitives see
differentiated operands of equal shape)."""

from __future__ import annotations

import functools

import numpy as np

from .. import ops
from ..errors import OpError, ShapeError
from ..primitive import apply
from ..tensor import Tensor, carries_derivatives, constant
from .promotion import result_dtype, scalar_dtype, true_division_dtype


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor. A Python number next to ``like`` takes its dtype unless the number
    is of a higher category (PyTorch's rule: ``float32_tensor * 2.0`` stays float32, an int
    tensor times 0.5 has the default dtype)."""
    if isinstance(value, Tensor):
        return value
    if type(value) is np.ndarray:
        return constant(value)
    if like is not None and type(value) in _NUMBERS:
        return scalar(value, like.data.dtype)
    return Tensor(value)


def tensor_pair(a, b) -> tuple[Tensor, Tensor]:
    """The operands of a binary operation as Tensors: arrays wrapped as constants first, then a
    Python number takes the dtype of the other operand (as ``as_tensor``'s ``like``)."""
    if type(a) is np.ndarray:
        a = constant(a)
    if type(b) is np.ndarray:
        b = constant(b)
    if not isinstance(a, Tensor):
        a = as_tensor(a, b if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = as_tensor(b, a)
    return a, b


_NUMBERS = (float, int, bool, complex)

# Scalar constants (the 1 in ``1 - y * y``, a learning rate) are made once per value and dtype:
# they never require grad and are never changed in place, so sharing them is safe.
_scalars: dict = {}


def scalar(value, dtype: np.dtype) -> Tensor:
    """The Python number ``value`` as a constant next to a tensor of ``dtype``: in ``dtype``
    unless the number is of a higher category (PyTorch's rule: a Python number is weak)."""
    key = (type(value), value, dtype)  # NOTE: the tensor's dtype, so a hit needs no promotion
    t = _scalars.get(key)
    if t is None:
        t = Tensor(np.asarray(value, dtype=scalar_dtype(dtype, value)))
        # Cached only when the dtype is the tensor's (it does not then depend on the default
        # dtype), and never a floating zero: -0.0 == 0.0, so one would stand for the other.
        # Not an array being recorded by mg.compile (a subclass of ndarray): that one is the
        # recording's, and the cache outlives it.
        kept = type(t.data) is np.ndarray and t.data.dtype == dtype and len(_scalars) < 4096
        if kept and (value or type(value) is int):
            _scalars[key] = t
    return t


def promoted(a: Tensor, b: Tensor, true_division: bool = False) -> tuple[Tensor, Tensor]:
    """``a`` and ``b`` in the dtype PyTorch computes ``a op b`` in (see ``promotion``); with
    ``true_division``, integers become the default floating dtype. A differentiated operand is
    cast on the tape (its gradient comes back in its own dtype), a constant directly."""
    target = result_dtype(a.data.dtype, a.data.ndim == 0, b.data.dtype, b.data.ndim == 0)
    if true_division:
        target = true_division_dtype(target)
    return _in_dtype(a, target), _in_dtype(b, target)


def _in_dtype(t: Tensor, dtype: np.dtype) -> Tensor:
    if t.data.dtype == dtype:
        return t
    if carries_derivatives(t):
        return apply(ops.Cast, t, dtype=dtype)
    if type(t.data) is not np.ndarray:  # a batched constant (mg.vmap): cast by its rule
        return apply(ops.Cast, t, dtype=dtype)
    return constant(t.data.astype(dtype))


@functools.lru_cache(maxsize=1024)
def broadcast_shape(*shapes: tuple) -> tuple:
    """numpy's broadcast of ``shapes`` (ValueError if they do not broadcast). Memoized: a model
    broadcasts the same few shapes every step, and numpy computes it in Python."""
    return np.broadcast_shapes(*shapes)


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to exactly ``target`` (numpy's rule)."""
    try:
        return broadcast_shape(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False


def broadcast_operands(op: str, *xs: Tensor) -> list[Tensor]:
    """Broadcast the operands that carry derivatives to the common shape; constants keep theirs."""
    try:
        shape = broadcast_shape(*(x.data.shape for x in xs))
    except ValueError:
        shapes = " and ".join(str(x.shape) for x in xs)
        raise ShapeError(
            f"{op}: shapes {shapes} cannot be broadcast together (numpy's rule: trailing axes "
            f"must be equal or 1); reshape or expand_dims one operand so the axes line up"
        ) from None
    return [
        apply(ops.BroadcastTo, x, shape=shape)
        if x.data.shape != shape and carries_derivatives(x)
        else x
        for x in xs
    ]


def alias(op: str, name: str, value, numpy_name: str, numpy_value, unset=None):
    """PyTorch's argument ``name``, or numpy's ``numpy_name`` for the same thing: PyTorch itself
    accepts ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``. ``unset`` is the value
    ``name`` has when it was not given; giving both is an error, not a guess."""
    if numpy_value is None:
        return value
    if value is not unset and value != unset:
        raise OpError(
            f"{op}: {name}={value!r} and {numpy_name}={numpy_value!r} name the same argument "
            f"(PyTorch's {name}, numpy's {numpy_name}); give one of them"
        )
    return numpy_value
