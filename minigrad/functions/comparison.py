"""Closeness and equality of whole tensors, as PyTorch's ``isclose``, ``allclose`` and ``equal``
(no gradient: the answers are bools)."""

from __future__ import annotations

import numpy as np

from ..batching import map_data
from ..tensor import Tensor
from .operands import as_tensor, broadcast_operands


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (a bool tensor, broadcast);
    NaNs are equal only with ``equal_nan=True``."""
    a, b = _operands("isclose", input, other)

    def close(a, b):
        return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)

    return map_data(close, a, b)  # (batched under mg.vmap, as a or b is)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Whether every element is close (``isclose``), as a Python bool.

    >>> import minigrad as mg
    >>> mg.allclose(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0 + 1e-9]))
    True
    """
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input, other) -> bool:
    """Whether the two tensors have the same shape and the same values, as a Python bool
    (dtypes may differ, as in PyTorch)."""
    a, b = as_tensor(input), as_tensor(other)
    return a.shape == b.shape and bool(np.array_equal(a.data, b.data))


def _operands(op: str, input, other) -> tuple[Tensor, Tensor]:
    a, b = as_tensor(input), as_tensor(other)
    if a.shape != b.shape:
        broadcast_operands(op, a.detach(), b.detach())  # the clear error if they do not broadcast
    return a, b
