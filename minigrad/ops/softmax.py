"""``LogSoftmax`` and ``Softmax``: (log-)probabilities along an axis, stable, as one primitive
each.

As composites (``x - logsumexp(x)``, ``exp(x - max) / sum``) they are half a dozen operations
forward and more backward; a classifier evaluates one every step and attention one per layer,
so they earn primitives of their own.
"""

import numpy as np

from ..batching import BatchedArray, batched
from ..primitive import Primitive, apply
from ._batched import shifted_axes
from ._tangents import shift
from .indexing import GetItem
from .reduce import Sum

_largest, _total = np.maximum.reduce, np.add.reduce


class LogSoftmax(Primitive):
    """``y = x - log(sum(exp(x), axis))``, computed after shifting by the max (no overflow)."""

    uses = ("y",)
    holomorphic = False  # the max shift compares values

    @classmethod
    def batch(cls, xs, dims, axis):
        x = xs[0]
        return apply(cls, x, axis=shifted_axes(axis, x.ndim - 1))

    @staticmethod
    def forward(x, axis):
        # NOTE: the ufuncs' reduce, not np.max/np.sum (or the ndarray methods, which call it
        # through a Python wrapper): their dispatch costs more than the reduction itself on a
        # batch of logits. The same reductions, the same bits.
        shifted = x - _largest(x, axis=axis, keepdims=True)
        return shifted - np.log(_total(np.exp(shifted), axis=axis, keepdims=True))

    @staticmethod
    def vjp(g, y, x, axis, xp):
        # d y_i / d x_j = delta_ij - softmax_j, so the cotangent is g - softmax * sum(g).
        softmax = xp.exp(xp.value(y))
        return (g - softmax * g.sum(axis=axis, keepdims=True),)

    @staticmethod
    def jvp(ts, y, x, axis):
        t = ts[0]
        return t - (np.exp(y) * t).sum(axis=shift(axis), keepdims=True)


class Softmax(Primitive):
    """``y = exp(x) / sum(exp(x), axis)``, computed after shifting by the max (no overflow). A
    row of -inf only (or with +inf) gives nan, as PyTorch's softmax."""

    uses = ("y",)
    holomorphic = False  # the max shift compares values

    @classmethod
    def batch(cls, xs, dims, axis):
        x = xs[0]
        return apply(cls, x, axis=shifted_axes(axis, x.ndim - 1))

    @staticmethod
    def forward(x, axis):
        if not x.size:
            return x.copy()
        top = x.max(axis=axis, keepdims=True)
        shift = np.where(np.isfinite(top), top, 0).astype(x.dtype, copy=False)
        e = np.exp(x - shift)
        with np.errstate(invalid="ignore"):  # 0 / 0 for a row of -inf: nan
            return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def vjp(g, y, x, axis, xp):
        # d y_i / d x_j = y_i (delta_ij - y_j), so the cotangent is y * g - y * sum(y * g).
        Y = xp.value(y)
        weighted = g * Y
        return (weighted - Y * weighted.sum(axis=axis, keepdims=True),)

    @staticmethod
    def jvp(ts, y, x, axis):
        weighted = ts[0] * y
        return weighted - y * weighted.sum(axis=shift(axis), keepdims=True)


class NllMean(Primitive):
    """``-mean(logp[i, labels[i]])``: the mean negative log-likelihood of integer labels,
    the usual classifier loss after ``LogSoftmax``, as one operation (a gather, a sum, a
    negation and a division would be four, forward and backward)."""

    uses = ()
    holomorphic = True

    batches_params = True  # the labels may be batched too

    @staticmethod
    def batch(xs, dims, labels, batched=()):
        # Every example's picked log-probabilities in one gather (B, n), then their means.
        logp, n = xs[0], labels.shape[-1]
        rows = np.arange(n)
        if dims[0] is None:  # one logp, a batch of labels (B, n)
            index = (rows, labels)
        elif "labels" in batched:
            index = (np.arange(logp.shape[0])[:, None], rows, labels)
        else:
            index = (slice(None), rows, labels)
        picked = apply(GetItem, logp, index=index)
        total = apply(Sum, picked, axis=(1,), keepdims=False)
        return -total / n

    @staticmethod
    def forward(logp, labels):
        return -_total(logp[np.arange(len(labels)), labels]) / len(labels)

    @staticmethod
    def vjp(g, y, logp, labels, xp):
        # -g / n at each row's label, 0 elsewhere: one select with a constant mask (a
        # scatter-add would be a zeros array, a broadcast and np.add.at).
        n, classes = logp.shape
        if type(labels) is BatchedArray:  # per-example labels under mg.vmap: a batched mask
            each = labels.value.reshape((*labels.value.shape, 1)) == np.arange(classes)
            picked = batched(each, labels.level)
        else:
            picked = labels[:, None] == np.arange(classes)
        return (xp.where(picked, g * (-1.0 / n), 0.0),)

    @staticmethod
    def jvp(ts, y, logp, labels):
        return -ts[0][:, np.arange(len(labels)), labels].mean(axis=1)
