"""Tensor's operations as methods and operators: ``x.sum(axis)`` is ``mg.sum(x, axis)``.

The ``mg.*`` functions are built on Tensor (they take and make Tensors), so their modules import
``tensor.py``, never the other way round. They hand themselves in here when they are imported
(``provide``, at the end of ``functions/__init__.py`` and ``autograd.py``), and the methods below
call them through ``mg``. So the import graph stays one-way, while every method is written out
where a reader (and an editor) looks for it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

# The mg.* functions, as handed in by the modules that define them.
mg = SimpleNamespace()


def provide(*functions) -> None:
    """Hand ``functions`` to Tensor's methods, as ``mg.<name>``."""
    for fn in functions:
        setattr(mg, fn.__name__, fn)


def provide_operators(add, sub, mul, div, pow, matmul) -> None:
    """Bind the arithmetic operators to the functions themselves (``x + y`` is ``mg.add(x, y)``),
    with the reflected ones (``2 * x``) swapping the operands."""
    ops = TensorMethods
    ops.__add__, ops.__sub__, ops.__mul__ = add, sub, mul
    ops.__truediv__, ops.__pow__, ops.__matmul__ = div, pow, matmul
    ops.__radd__ = lambda self, other: add(other, self)
    ops.__rsub__ = lambda self, other: sub(other, self)
    ops.__rmul__ = lambda self, other: mul(other, self)
    ops.__rtruediv__ = lambda self, other: div(other, self)
    ops.__rpow__ = lambda self, other: pow(other, self)
    ops.__rmatmul__ = lambda self, other: matmul(other, self)


class TensorMethods:
    """The operations of a Tensor as methods (the mixin of ``Tensor``)."""

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

    # ----- elementwise ---------------------------------------------------------------------------

    def exp(self):
        """``mg.exp``: e ** x."""
        return mg.exp(self)

    def log(self):
        """``mg.log``: the natural logarithm."""
        return mg.log(self)

    def log1p(self):
        """``mg.log1p``: log(1 + x), accurate near 0."""
        return mg.log1p(self)

    def expm1(self):
        """``mg.expm1``: exp(x) - 1, accurate near 0."""
        return mg.expm1(self)

    def sqrt(self):
        """``mg.sqrt``: the square root."""
        return mg.sqrt(self)

    def sin(self):
        """``mg.sin``: the sine."""
        return mg.sin(self)

    def cos(self):
        """``mg.cos``: the cosine."""
        return mg.cos(self)

    def tan(self):
        """``mg.tan``: the tangent."""
        return mg.tan(self)

    def tanh(self):
        """``mg.tanh``: the hyperbolic tangent."""
        return mg.tanh(self)

    def sigmoid(self):
        """``mg.sigmoid``: 1 / (1 + exp(-x)), without overflow."""
        return mg.sigmoid(self)

    def relu(self):
        """``mg.relu``: max(x, 0)."""
        return mg.relu(self)

    def sign(self):
        """``mg.sign``: -1, 0 or 1 by sign (no gradient)."""
        return mg.sign(self)

    def abs(self):
        """``mg.abs``: |x|."""
        return mg.abs(self)

    def clip(self, min=None, max=None):
        """``mg.clip``: values limited to [min, max]."""
        return mg.clip(self, min, max)

    def maximum(self, other):
        """``mg.maximum``: the elementwise max with ``other``."""
        return mg.maximum(self, other)

    def minimum(self, other):
        """``mg.minimum``: the elementwise min with ``other``."""
        return mg.minimum(self, other)

    # ----- reductions ----------------------------------------------------------------------------

    def sum(self, axis=None, keepdims: bool = False):
        """``mg.sum``: the sum over ``axis`` (None: all)."""
        return mg.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        """``mg.mean``: the mean over ``axis``."""
        return mg.mean(self, axis, keepdims)

    def var(self, axis=None, ddof: int = 0, keepdims: bool = False):
        """``mg.var``: the variance over ``axis``."""
        return mg.var(self, axis, ddof, keepdims)

    def std(self, axis=None, ddof: int = 0, keepdims: bool = False):
        """``mg.std``: the standard deviation over ``axis``."""
        return mg.std(self, axis, ddof, keepdims)

    def max(self, axis=None, keepdims: bool = False):
        """``mg.max``: the largest element over ``axis``."""
        return mg.max(self, axis, keepdims)

    def min(self, axis=None, keepdims: bool = False):
        """``mg.min``: the smallest element over ``axis``."""
        return mg.min(self, axis, keepdims)

    def prod(self, axis=None, keepdims: bool = False):
        """``mg.prod``: the product over ``axis``."""
        return mg.prod(self, axis, keepdims)

    def logsumexp(self, axis=None, keepdims: bool = False):
        """``mg.logsumexp``: log(sum(exp(x))) over ``axis``, without overflow."""
        return mg.logsumexp(self, axis, keepdims)

    def argmax(self, axis=None, keepdims: bool = False):
        """``mg.argmax``: the index of the largest element."""
        return mg.argmax(self, axis, keepdims)

    def argmin(self, axis=None, keepdims: bool = False):
        """``mg.argmin``: the index of the smallest element."""
        return mg.argmin(self, axis, keepdims)

    def all(self, axis=None, keepdims: bool = False):
        """``mg.all``: whether all elements are true."""
        return mg.all(self, axis, keepdims)

    def any(self, axis=None, keepdims: bool = False):
        """``mg.any``: whether any element is true."""
        return mg.any(self, axis, keepdims)

    # ----- linear algebra ------------------------------------------------------------------------

    def matmul(self, other):
        """``mg.matmul``: the matrix product with ``other``."""
        return mg.matmul(self, other)

    def dot(self, other):
        """``mg.dot``: the inner product with ``other``."""
        return mg.dot(self, other)

    # ----- shape ---------------------------------------------------------------------------------

    @property
    def T(self):
        """The tensor with its axes reversed (numpy's ``.T``)."""
        return mg.transpose(self)

    def reshape(self, *shape):
        """``mg.reshape``: the same elements in a new shape (one axis may be -1)."""
        return mg.reshape(self, *shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """``mg.flatten``: the axes ``start_dim..end_dim`` merged into one."""
        return mg.flatten(self, start_dim, end_dim)

    def transpose(self, *axes):
        """``mg.transpose``: the axes permuted (reversed when none are given)."""
        return mg.transpose(self, *axes)

    def swapaxes(self, axis1: int, axis2: int):
        """``mg.swapaxes``: two axes exchanged."""
        return mg.swapaxes(self, axis1, axis2)

    def moveaxis(self, source: int, destination: int):
        """``mg.moveaxis``: one axis moved to a new position."""
        return mg.moveaxis(self, source, destination)

    def expand_dims(self, axis):
        """``mg.expand_dims``: size-1 axes inserted at ``axis``."""
        return mg.expand_dims(self, axis)

    def squeeze(self, axis=None):
        """``mg.squeeze``: size-1 axes removed."""
        return mg.squeeze(self, axis)

    def broadcast_to(self, shape):
        """``mg.broadcast_to``: repeated to ``shape`` (numpy's rule)."""
        return mg.broadcast_to(self, shape)

    def split(self, indices_or_sections, axis: int = 0):
        """``mg.split``: pieces along ``axis``."""
        return mg.split(self, indices_or_sections, axis)

    def pad(self, pad_width, mode: str = "constant", constant_values=0):
        """``mg.pad``: padded with a constant (or ``mode``) around each axis."""
        return mg.pad(self, pad_width, mode, constant_values)

    def repeat(self, repeats, axis=None):
        """``mg.repeat``: each element repeated."""
        return mg.repeat(self, repeats, axis)

    def tile(self, reps):
        """``mg.tile``: the whole tensor repeated."""
        return mg.tile(self, reps)
