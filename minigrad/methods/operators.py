"""Tensor's operators: arithmetic (bound to the functions themselves, see ``provide_operators``),
comparisons and indexing."""

from __future__ import annotations

import numpy as np

from .namespace import mg


class OperatorMethods:
    """``x + y``, ``x == y``, ``x[i]``, ... (a mixin of ``Tensor``)."""

    __slots__ = ()

    # ----- operators -----------------------------------------------------------------------------

    # NOTE: + - * / ** @ and their reflections are the mg.* functions themselves, bound by
    # ``provide_operators`` (functions/__init__.py), not methods that call them: they are every
    # model's hot path, and a wrapper's call is a twentieth of an operation's cost.

    def __neg__(self):
        return mg.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return mg.abs(self)

    def __getitem__(self, index):
        return mg.getitem(self, index)

    # Comparisons give boolean tensors without gradient.
    def __eq__(self, other):
        return mg.compare(np.equal, self, other)

    def __ne__(self, other):
        return mg.compare(np.not_equal, self, other)

    def __lt__(self, other):
        return mg.compare(np.less, self, other)

    def __le__(self, other):
        return mg.compare(np.less_equal, self, other)

    def __gt__(self, other):
        return mg.compare(np.greater, self, other)

    def __ge__(self, other):
        return mg.compare(np.greater_equal, self, other)

    __hash__ = object.__hash__  # defining __eq__ would otherwise make tensors unhashable

    def __floordiv__(self, other):
        return mg.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return mg.floor_divide(other, self)

    def __mod__(self, other):
        return mg.remainder(self, other)

    def __rmod__(self, other):
        return mg.remainder(other, self)

    def floor_divide(self, other):
        """``mg.floor_divide``: ``self // other``."""
        return mg.floor_divide(self, other)

    def remainder(self, other):
        """``mg.remainder``: ``self % other``, with the sign of ``other``."""
        return mg.remainder(self, other)

    # ----- bool algebra (no gradient): logical on bool tensors, bitwise on integers -------------

    def __and__(self, other):
        return mg.bitwise_and(self, other)

    def __rand__(self, other):
        return mg.bitwise_and(other, self)

    def __or__(self, other):
        return mg.bitwise_or(self, other)

    def __ror__(self, other):
        return mg.bitwise_or(other, self)

    def __xor__(self, other):
        return mg.bitwise_xor(self, other)

    def __rxor__(self, other):
        return mg.bitwise_xor(other, self)

    def __invert__(self):
        return mg.bitwise_not(self)

    def logical_and(self, other):
        """``mg.logical_and``: where both are nonzero, as bool."""
        return mg.logical_and(self, other)

    def logical_or(self, other):
        """``mg.logical_or``: where either is nonzero, as bool."""
        return mg.logical_or(self, other)

    def logical_xor(self, other):
        """``mg.logical_xor``: where exactly one is nonzero, as bool."""
        return mg.logical_xor(self, other)

    def logical_not(self):
        """``mg.logical_not``: where this tensor is zero, as bool."""
        return mg.logical_not(self)

    def bitwise_and(self, other):
        """``mg.bitwise_and``: ``self & other``."""
        return mg.bitwise_and(self, other)

    def bitwise_or(self, other):
        """``mg.bitwise_or``: ``self | other``."""
        return mg.bitwise_or(self, other)

    def bitwise_xor(self, other):
        """``mg.bitwise_xor``: ``self ^ other``."""
        return mg.bitwise_xor(self, other)

    def bitwise_not(self):
        """``mg.bitwise_not``: ``~self``."""
        return mg.bitwise_not(self)


def provide_operators(add, sub, mul, div, pow, matmul) -> None:
    """Bind the arithmetic operators to the functions themselves (``x + y`` is ``mg.add(x, y)``),
    with the reflected ones (``2 * x``) swapping the operands."""
    ops = OperatorMethods
    ops.__add__, ops.__sub__, ops.__mul__ = add, sub, mul
    ops.__truediv__, ops.__pow__, ops.__matmul__ = div, pow, matmul
    ops.__radd__ = lambda self, other: add(other, self)
    ops.__rsub__ = lambda self, other: sub(other, self)
    ops.__rmul__ = lambda self, other: mul(other, self)
    ops.__rtruediv__ = lambda self, other: div(other, self)
    ops.__rpow__ = lambda self, other: pow(other, self)
    ops.__rmatmul__ = lambda self, other: matmul(other, self)
