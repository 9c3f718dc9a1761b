"""Tensor's math as methods, with PyTorch's meanings: elementwise functions, reductions, scans,
sorting, linear algebra. Keyword arguments not named in a signature (``dtype=``, numpy's
``axis=`` and ``keepdims=``, ...) go to the ``mg.*`` function, which checks them."""

from __future__ import annotations

from .namespace import mg


class MathMethods:
    """``x.exp()``, ``x.sum(dim)``, ``x.max(1)``, ``x.matmul(y)``, ... (a mixin of ``Tensor``)."""

    __slots__ = ()

    # ----- arithmetic ----------------------------------------------------------------------------

    def add(self, other, *, alpha=1):
        """``self + alpha * other``."""
        return mg.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        """``self - alpha * other``."""
        return mg.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        """``self * other``."""
        return mg.mul(self, other)

    def div(self, other):
        """``self / other`` (true division)."""
        return mg.div(self, other)

    def pow(self, exponent):
        """``self ** exponent``."""
        return mg.pow(self, exponent)

    def neg(self):
        """``-self``."""
        return mg.neg(self)

    # ----- elementwise ---------------------------------------------------------------------------

    def exp(self):
        """``mg.exp``: e ** x."""
        return mg.exp(self)

    def log(self):
        """``mg.log``: the natural logarithm."""
        return mg.log(self)

    def log2(self):
        """``mg.log2``: the base-2 logarithm."""
        return mg.log2(self)

    def log10(self):
        """``mg.log10``: the base-10 logarithm."""
        return mg.log10(self)

    def log1p(self):
        """``mg.log1p``: log(1 + x), accurate near 0."""
        return mg.log1p(self)

    def expm1(self):
        """``mg.expm1``: exp(x) - 1, accurate near 0."""
        return mg.expm1(self)

    def sqrt(self):
        """``mg.sqrt``: the square root."""
        return mg.sqrt(self)

    def rsqrt(self):
        """``mg.rsqrt``: 1 / sqrt(x)."""
        return mg.rsqrt(self)

    def square(self):
        """``mg.square``: x * x."""
        return mg.square(self)

    def reciprocal(self):
        """``mg.reciprocal``: 1 / x."""
        return mg.reciprocal(self)

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

    def softmax(self, dim, dtype=None):
        """``mg.softmax``: exp(x) / sum(exp(x)) along ``dim``."""
        return mg.softmax(self, dim, dtype)

    def log_softmax(self, dim, dtype=None):
        """``mg.log_softmax``: x - logsumexp(x) along ``dim``."""
        return mg.log_softmax(self, dim, dtype)

    def abs(self):
        """``mg.abs``: |x|."""
        return mg.abs(self)

    def sign(self):
        """``mg.sign``: -1, 0 or 1 by sign (gradient 0)."""
        return mg.sign(self)

    def floor(self):
        """``mg.floor``: rounded down (gradient 0)."""
        return mg.floor(self)

    def ceil(self):
        """``mg.ceil``: rounded up (gradient 0)."""
        return mg.ceil(self)

    def trunc(self):
        """``mg.trunc``: rounded toward 0 (gradient 0)."""
        return mg.trunc(self)

    def round(self, *, decimals: int = 0):
        """``mg.round``: rounded to ``decimals`` places, halves to even (gradient 0)."""
        return mg.round(self, decimals=decimals)

    def clamp(self, min=None, max=None):
        """``mg.clamp``: values limited to [min, max] (numbers or tensors)."""
        return mg.clamp(self, min, max)

    def clip(self, min=None, max=None):
        """``mg.clip``: ``clamp``."""
        return mg.clamp(self, min, max)

    def clamp_(self, min=None, max=None):
        """``clamp`` in place (for a tensor that is not being differentiated)."""
        return mg.clamp_(self, min, max)

    def maximum(self, other):
        """``mg.maximum``: the elementwise max with ``other``."""
        return mg.maximum(self, other)

    def minimum(self, other):
        """``mg.minimum``: the elementwise min with ``other``."""
        return mg.minimum(self, other)

    def where(self, condition, other):
        """``mg.where(condition, self, other)``: self where ``condition`` holds, else ``other``."""
        return mg.where(condition, self, other)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        """``mg.isclose``: elementwise closeness to ``other`` (a bool tensor)."""
        return mg.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        """``mg.allclose``: whether every element is close to ``other`` (a bool)."""
        return mg.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other):
        """``mg.equal``: the same shape and values as ``other`` (a bool)."""
        return mg.equal(self, other)

    # ----- reductions ----------------------------------------------------------------------------

    def sum(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.sum``: the sum over ``dim`` (None: all; also ``dtype=``)."""
        return mg.sum(self, dim, keepdim, **kwargs)

    def mean(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.mean``: the mean over ``dim`` (also ``dtype=``)."""
        return mg.mean(self, dim, keepdim, **kwargs)

    def prod(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.prod``: the product over ``dim`` (also ``dtype=``)."""
        return mg.prod(self, dim, keepdim, **kwargs)

    def var(self, dim=None, unbiased=None, keepdim: bool = False, **kwargs):
        """``mg.var``: the variance over ``dim``, unbiased unless ``correction=0`` (or
        ``unbiased=False``)."""
        return mg.var(self, dim, unbiased, keepdim, **kwargs)

    def std(self, dim=None, unbiased=None, keepdim: bool = False, **kwargs):
        """``mg.std``: the standard deviation over ``dim``, unbiased unless ``correction=0``."""
        return mg.std(self, dim, unbiased, keepdim, **kwargs)

    def max(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.max``: the largest element; with ``dim``, the pair ``(values, indices)``; with a
        tensor, the elementwise ``maximum``."""
        return mg.max(self, dim, keepdim, **kwargs)

    def min(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.min``: the smallest element; with ``dim``, the pair ``(values, indices)``; with
        a tensor, the elementwise ``minimum``."""
        return mg.min(self, dim, keepdim, **kwargs)

    def amax(self, dim=(), keepdim: bool = False, **kwargs):
        """``mg.amax``: the largest element over ``dim`` (default all), without indices."""
        return mg.amax(self, dim, keepdim, **kwargs)

    def amin(self, dim=(), keepdim: bool = False, **kwargs):
        """``mg.amin``: the smallest element over ``dim`` (default all), without indices."""
        return mg.amin(self, dim, keepdim, **kwargs)

    def argmax(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.argmax``: the index of the largest element (int64)."""
        return mg.argmax(self, dim, keepdim, **kwargs)

    def argmin(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.argmin``: the index of the smallest element (int64)."""
        return mg.argmin(self, dim, keepdim, **kwargs)

    def logsumexp(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.logsumexp``: log(sum(exp(x))) over ``dim``, without overflow."""
        return mg.logsumexp(self, dim, keepdim, **kwargs)

    def all(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.all``: whether all elements are nonzero."""
        return mg.all(self, dim, keepdim, **kwargs)

    def any(self, dim=None, keepdim: bool = False, **kwargs):
        """``mg.any``: whether any element is nonzero."""
        return mg.any(self, dim, keepdim, **kwargs)

    def count_nonzero(self, dim=None, **kwargs):
        """``mg.count_nonzero``: the number of nonzero elements over ``dim``."""
        return mg.count_nonzero(self, dim, **kwargs)

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None):
        """``mg.norm``: the vector ``p``-norm over ``dim`` (2 for 'fro', the default)."""
        return mg.norm(self, p, dim, keepdim, dtype)

    # ----- scans and sorting ---------------------------------------------------------------------

    def cumsum(self, dim=None, **kwargs):
        """``mg.cumsum``: running sums along ``dim``."""
        return mg.cumsum(self, dim, **kwargs)

    def cumprod(self, dim=None, **kwargs):
        """``mg.cumprod``: running products along ``dim``."""
        return mg.cumprod(self, dim, **kwargs)

    def sort(self, dim: int = -1, descending: bool = False, **kwargs):
        """``mg.sort``: the pair ``(values, indices)`` sorted along ``dim``."""
        return mg.sort(self, dim, descending, **kwargs)

    def argsort(self, dim: int = -1, descending: bool = False, **kwargs):
        """``mg.argsort``: the indices that sort along ``dim``."""
        return mg.argsort(self, dim, descending, **kwargs)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, **kwargs):
        """``mg.topk``: the pair ``(values, indices)`` of the ``k`` largest along ``dim``."""
        return mg.topk(self, k, dim, largest, sorted, **kwargs)

    # ----- linear algebra ------------------------------------------------------------------------

    def matmul(self, other):
        """``mg.matmul``: the matrix product with ``other`` (broadcasting)."""
        return mg.matmul(self, other)

    def mm(self, mat2):
        """``mg.mm``: the product of two matrices."""
        return mg.mm(self, mat2)

    def bmm(self, mat2):
        """``mg.bmm``: the product of two batches of matrices (3-D)."""
        return mg.bmm(self, mat2)

    def dot(self, other):
        """``mg.dot``: the inner product of two 1-D tensors."""
        return mg.dot(self, other)

    def outer(self, vec2):
        """``mg.outer``: the outer product of two 1-D tensors."""
        return mg.outer(self, vec2)
