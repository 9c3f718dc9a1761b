"""``LogSoftmax``: log-probabilities along an axis, stable, as one primitive.

As a composite (``x - logsumexp(x)``) it is half a dozen operations forward and more backward;
a classifier evaluates it every step, so it earns a primitive of its own.
"""

import numpy as np

from ..autodiff import Primitive, constant, plain_backward


class LogSoftmax(Primitive):
    """``y = x - log(sum(exp(x), axis))``, computed after shifting by the max (no overflow)."""

    uses = ("y",)
    holomorphic = False  # the max shift compares values

    @staticmethod
    def forward(x, axis):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    @staticmethod
    def vjp(g, y, x, axis):
        # d y_i / d x_j = delta_ij - softmax_j, so the cotangent is g - softmax * sum(g).
        if plain_backward():  # the same expression on the arrays (see ``plain_backward``)
            return (constant(g.data - np.exp(y.data) * g.data.sum(axis=axis, keepdims=True)),)
        return (g - y.exp() * g.sum(axis=axis, keepdims=True),)

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

    @staticmethod
    def forward(logp, labels):
        return -np.mean(logp[np.arange(len(labels)), labels])

    @staticmethod
    def vjp(g, y, logp, labels):
        rows = np.arange(len(labels))
        if plain_backward():  # the same on the arrays (see ``plain_backward``)
            out = np.zeros(logp.shape, np.result_type(logp.dtype, g.dtype))
            out[rows, labels] = -g.data / len(labels)
            return (constant(out),)
        from .indexing import ScatterAdd

        picked = (g * (-1.0 / len(labels))).broadcast_to((len(labels),))
        return (ScatterAdd.apply(picked, index=(rows, labels), shape=logp.shape),)

    @staticmethod
    def jvp(ts, y, logp, labels):
        return -ts[0][:, np.arange(len(labels)), labels].mean(axis=1)
