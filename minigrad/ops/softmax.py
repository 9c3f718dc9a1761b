"""``LogSoftmax``: log-probabilities along an axis, stable, as one primitive.

As a composite (``x - logsumexp(x)``) it is half a dozen operations forward and more backward;
a classifier evaluates it every step, so it earns a primitive of its own.
"""

import numpy as np

from ..autodiff import Primitive
from ..tensor import Tensor


class LogSoftmax(Primitive):
    """``y = x - log(sum(exp(x), axis))``, computed after shifting by the max (no overflow)."""

    uses = ("y",)
    holomorphic = False  # the max shift compares values
    array_cotangents = True

    @staticmethod
    def forward(x, axis):
        # NOTE: ndarray methods, not np.max/np.sum: numpy's functions add a Python-level
        # dispatch that costs more than the reduction itself on a batch of logits.
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    @staticmethod
    def vjp(g, y, x, axis):
        # d y_i / d x_j = delta_ij - softmax_j, so the cotangent is g - softmax * sum(g).
        softmax = y.exp() if isinstance(g, Tensor) else np.exp(y.data)
        return (g - softmax * g.sum(axis=axis, keepdims=True),)

    @staticmethod
    def jvp(ts, y, x, axis):
        t = ts[0]
        shifted_axis = tuple(a + 1 for a in axis)
        return t - (np.exp(y) * t).sum(axis=shifted_axis, keepdims=True)


class NllMean(Primitive):
    """``-mean(logp[i, labels[i]])``: the mean negative log-likelihood of integer labels,
    the usual classifier loss after ``LogSoftmax``, as one operation (a gather, a sum, a
    negation and a division would be four, forward and backward)."""

    uses = ()
    holomorphic = True
    array_cotangents = True

    @staticmethod
    def forward(logp, labels):
        return -logp[np.arange(len(labels)), labels].sum() / len(labels)

    @staticmethod
    def vjp(g, y, logp, labels):
        rows = np.arange(len(labels))
        if not isinstance(g, Tensor):  # a plain backward (see ``Primitive.array_cotangents``)
            out = np.zeros(logp.shape, np.result_type(logp.dtype, g.dtype))
            out[rows, labels] = -g / len(labels)
            return (out,)
        from .indexing import ScatterAdd

        picked = (g * (-1.0 / len(labels))).broadcast_to((len(labels),))
        return (ScatterAdd.apply(picked, index=(rows, labels), shape=logp.shape),)

    @staticmethod
    def jvp(ts, y, logp, labels):
        return -ts[0][:, np.arange(len(labels)), labels].mean(axis=1)
