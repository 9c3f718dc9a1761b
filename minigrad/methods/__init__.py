"""Tensor's operations as methods and operators: ``x.sum(axis)`` is ``mg.sum(x, axis)``.

The ``mg.*`` functions are built on Tensor (they take and make Tensors), so their modules import
``tensor.py``, never the other way round. They hand themselves in here when they are imported
(``provide``, at the end of ``functions/__init__.py``, ``creation.py``, ``random.py`` and
``autograd.py``), and the methods call them through ``mg``. So the import graph stays one-way,
while every method is written out where a reader (and an editor) looks for it.
"""

from .conversion import ConversionMethods
from .math import MathMethods
from .namespace import mg, provide
from .operators import OperatorMethods, provide_operators
from .random import RandomMethods
from .shape import ShapeMethods


class TensorMethods(OperatorMethods, MathMethods, ShapeMethods, ConversionMethods, RandomMethods):
    """The operations of a Tensor as methods, by theme (the mixin of ``Tensor``)."""

    __slots__ = ()


__all__ = ["TensorMethods", "mg", "provide", "provide_operators"]
