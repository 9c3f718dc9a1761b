"""Tensor's math as methods: elementwise functions, reductions, linear algebra."""

from __future__ import annotations

from .namespace import mg


class MathMethods:
    """``x.exp()``, ``x.sum(dim)``, ``x.matmul(y)``, ... (a mixin of ``Tensor``)."""

    __slots__ = ()

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
