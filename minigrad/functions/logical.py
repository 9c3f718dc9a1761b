"""Bool algebra: ``logical_and/or/xor/not`` (any dtype, bool result) and ``bitwise_and/or/xor/
not`` (bool and integer tensors: logical on bools, bitwise on ints), which ``&``, ``|``, ``^``
and ``~`` are. None of them has a gradient: their results are constants, as in PyTorch.

>>> import minigrad as mg
>>> a, b = mg.tensor([True, True, False]), mg.tensor([True, False, False])
>>> (a & b).tolist(), (a | b).tolist(), (a ^ b).tolist(), (~a).tolist()
([True, False, False], [True, True, False], [False, True, False], [False, False, True])
"""

from __future__ import annotations

import numpy as np

from ..batching import map_data
from ..errors import DTypeError
from ..tensor import Tensor
from .operands import as_tensor, broadcast_operands, tensor_pair


def _operands(op: str, a, b) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; a Python number takes its dtype from the tensor, as numpy's
    rule for scalars (``mask & True`` stays bool)."""
    return tensor_pair(a, b)


def _apply(op: str, ufunc, *xs: Tensor) -> Tensor:
    try:
        return map_data(ufunc, *xs)  # (batched under mg.vmap, as an operand is)
    except ValueError:
        broadcast_operands(op, *xs)  # raises the clear shape error
        raise


def _integral(op: str, symbol: str, *xs: Tensor) -> None:
    for x in xs:
        if x.dtype.kind not in "biu":
            raise DTypeError(
                f"{op} ({symbol}): only bool and integer tensors, got {x.dtype}; for truth "
                f"values of other tensors compare first ((x > 0) {symbol} (y > 0)) or use "
                f"mg.logical_{op.partition('_')[2]}"
            )


def bitwise_and(input, other) -> Tensor:
    """``input & other``: logical and of bool tensors, bitwise and of integers."""
    a, b = _operands("bitwise_and", input, other)
    _integral("bitwise_and", "&", a, b)
    return _apply("bitwise_and", np.bitwise_and, a, b)


def bitwise_or(input, other) -> Tensor:
    """``input | other``: logical or of bool tensors, bitwise or of integers."""
    a, b = _operands("bitwise_or", input, other)
    _integral("bitwise_or", "|", a, b)
    return _apply("bitwise_or", np.bitwise_or, a, b)


def bitwise_xor(input, other) -> Tensor:
    """``input ^ other``: exclusive or of bool tensors, bitwise xor of integers."""
    a, b = _operands("bitwise_xor", input, other)
    _integral("bitwise_xor", "^", a, b)
    return _apply("bitwise_xor", np.bitwise_xor, a, b)


def bitwise_not(input) -> Tensor:
    """``~input``: logical not of a bool tensor, bitwise not of integers (``~5 == -6``)."""
    x = as_tensor(input)
    _integral("bitwise_not", "~", x)
    return _apply("bitwise_not", np.invert, x)


def logical_and(input, other) -> Tensor:
    """Where both are nonzero (True), as bool; operands of any dtype."""
    return _apply("logical_and", np.logical_and, *_operands("logical_and", input, other))


def logical_or(input, other) -> Tensor:
    """Where either is nonzero (True), as bool."""
    return _apply("logical_or", np.logical_or, *_operands("logical_or", input, other))


def logical_xor(input, other) -> Tensor:
    """Where exactly one is nonzero (True), as bool."""
    return _apply("logical_xor", np.logical_xor, *_operands("logical_xor", input, other))


def logical_not(input) -> Tensor:
    """Where ``input`` is zero (False), as bool."""
    return _apply("logical_not", np.logical_not, as_tensor(input))
