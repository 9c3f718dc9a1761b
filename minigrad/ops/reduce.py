"""Reductions over a tuple of normalized axes. ``Sum`` is the transpose of ``BroadcastTo``.

NOTE: forwards call ndarray methods (``x.sum``), not numpy's functions (``np.sum``), whose
Python-level dispatch doubles the cost of reducing a small array.
"""

import numpy as np

from ..autodiff import batching_level
from ..batching import batched, level_of
from ..primitive import Primitive, Tensor, apply
from ._batched import shifted_axes
from ._tangents import shift
from .math import ArrayMath
from .shape import Transpose


def kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` kept as size 1 (what keepdims=True gives)."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def spread(g, x_shape, axes, keepdims, xp):
    """Send a reduction's cotangent back over the reduced axes: shape ``x_shape``."""
    # NOTE: without keepdims, the reduced axes come back as 1s, unless they are the leading
    # ones (a full sum among them), which broadcasting puts back by itself.
    if not keepdims and axes and axes[-1] != len(axes) - 1:
        g = g.reshape(kept_shape(x_shape, axes))
    return xp.broadcast_to(g, x_shape)


class Sum(Primitive):
    holomorphic = True
    uses = ()

    @classmethod
    def batch(cls, xs, dims, axis, keepdims):
        x = xs[0]
        return apply(cls, x, axis=shifted_axes(axis, x.ndim - 1), keepdims=keepdims)

    @staticmethod
    def forward(x, axis, keepdims):
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(g, y, x, axis, keepdims, xp):
        return (spread(g, x.shape, axis, keepdims, xp),)

    @staticmethod
    def jvp(ts, y, x, axis, keepdims):
        return ts[0].sum(axis=shift(axis), keepdims=keepdims)


class Max(Primitive):
    """Largest element; the gradient is split evenly among tied maxima."""

    uses = ("x", "y")
    reduce = staticmethod(np.ndarray.max)

    @classmethod
    def batch(cls, xs, dims, axis, keepdims):
        x = xs[0]
        return apply(cls, x, axis=shifted_axes(axis, x.ndim - 1), keepdims=keepdims)

    @classmethod
    def forward(cls, x, axis, keepdims):
        return cls.reduce(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def weights(x, y, axis, keepdims):
        """Where each maximum came from, as fractions that sum to 1 over the reduced axes."""
        hit = x == (y if keepdims else y.reshape(kept_shape(x.shape, axis)))
        if np.count_nonzero(hit) == y.size:  # no ties: the mask is the weight
            return hit
        count = hit
        for a in axis:  # NOTE: one axis at a time is several times faster than all at once
            count = count.sum(axis=a, keepdims=True, dtype=np.int32)
        return hit / count.astype(x.dtype if x.dtype.kind == "f" else np.float64)

    @classmethod
    def weights_of(cls, x, y, axis, keepdims):
        """``weights`` of the tensors ``x`` and ``y``: an array, or under ``mg.vmap`` (``x``
        batched) a batched constant, found for the whole batch at once one level down."""
        level = level_of(x)
        if level == 0:
            return cls.weights(x.data, y.data, axis, keepdims)
        axes = shifted_axes(axis, x.ndim)
        with batching_level(level - 1):
            w = cls.weights_of(x.data.value, y.data.value, axes, keepdims)
        return batched(w if isinstance(w, Tensor) else Tensor(w), level)

    @classmethod
    def vjp(cls, g, y, x, axis, keepdims, xp):
        # NOTE: without ties the weights are a boolean mask: numpy multiplies by it directly,
        # with no float copy of it (this is max pooling's backward). They are constants.
        w = cls.weights_of(x, y, axis, keepdims)
        return (spread(g, x.shape, axis, keepdims, xp) * w,)

    @classmethod
    def jvp(cls, ts, y, x, axis, keepdims):
        w = cls.weights(x, y, axis, keepdims)
        return (ts[0] * w).sum(axis=shift(axis), keepdims=keepdims)


class Min(Max):
    """Smallest element; the gradient is split evenly among tied minima."""

    reduce = staticmethod(np.ndarray.min)


class Prod(Primitive):
    holomorphic = True
    uses = ()

    @classmethod
    def batch(cls, xs, dims, axis, keepdims):
        x = xs[0]
        return apply(cls, x, axis=shifted_axes(axis, x.ndim - 1), keepdims=keepdims)

    @staticmethod
    def forward(x, axis, keepdims):
        return x.prod(axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(g, y, x, axis, keepdims, xp):
        others = products_of_others(xp.value(x), axis, xp)
        return (spread(g, x.shape, axis, keepdims, xp) * others,)

    @staticmethod
    def jvp(ts, y, x, axis, keepdims):
        others = products_of_others(x, axis, ArrayMath)
        return (ts[0] * others).sum(axis=shift(axis), keepdims=keepdims)


def products_of_others(x, axes, xp):
    """For each element of ``x`` (a value of ``xp``'s), the product of the other elements of
    its slice over ``axes``.

    Without zeros that is prod / x. With zeros it is computed exactly, as the product over a
    matrix whose diagonal is replaced by ones, so that it stays right for higher derivatives.
    """
    data = np.asarray(x)
    if np.all(data != 0):
        return x.prod(axis=axes, keepdims=True) / x
    kept = [i for i in range(x.ndim) if i not in axes]
    perm = kept + list(axes)
    n = int(np.prod([x.shape[i] for i in axes]))
    lead = tuple(x.shape[i] for i in kept)
    flat = xp.apply(Transpose, x, axes=tuple(perm)).reshape(lead + (1, n))
    eye = np.eye(n, dtype=bool)
    others = xp.where(eye, 1.0, xp.broadcast_to(flat, lead + (n, n))).prod(axis=-1)
    others = others.reshape(tuple(x.shape[i] for i in perm))
    return xp.apply(Transpose, others, axes=tuple(np.argsort(perm)))
