"""Scans along one axis: ``CumSum`` and ``CumProd``.

``CumSum`` is linear, and its transpose is the same scan run from the other end (``reverse``),
so the pair is closed under VJP. ``CumProd``'s derivatives are exact where the input has zeros
too (see ``others_running_products``), as PyTorch's are, to every order.
"""

import numpy as np

from ..primitive import Primitive, apply
from .math import ArrayMath


def running_sum(x, axis: int, reverse: bool):
    """The cumulative sum of ``x`` along ``axis``, from the end when ``reverse``."""
    if not reverse:
        return x.cumsum(axis=axis)
    return np.flip(np.flip(x, axis).cumsum(axis=axis), axis)


class CumSum(Primitive):
    """Running sums along ``axis`` (from the last element back when ``reverse``)."""

    holomorphic = True
    uses = ()

    @staticmethod
    def batch(xs, dims, axis, reverse):
        return apply(CumSum, xs[0], axis=axis + 1, reverse=reverse)

    @staticmethod
    def forward(x, axis, reverse):
        return running_sum(x, axis, reverse)

    @staticmethod
    def vjp(g, y, x, axis, reverse, xp):
        return (xp.apply(CumSum, g, axis=axis, reverse=not reverse),)

    @staticmethod
    def jvp(ts, y, x, axis, reverse):
        return running_sum(ts[0], axis + 1, reverse)


class CumProd(Primitive):
    """Running products along ``axis``: ``y_k = x_0 x_1 ... x_k``.

    ``dy_k/dx_j`` (j <= k) is the product of ``x_0 .. x_k`` without ``x_j``. Without zeros that
    is ``y_k / x_j``, so the VJP is a reversed running sum of ``g * y``, divided by ``x``. With
    zeros it is computed as it is defined (``others_running_products``), O(n^2) in the length
    of the axis, from operations whose own derivatives are exact: so are the higher ones.
    """

    holomorphic = True
    uses = ("x", "y")

    @staticmethod
    def batch(xs, dims, axis):
        return apply(CumProd, xs[0], axis=axis + 1)

    @staticmethod
    def forward(x, axis):
        return x.cumprod(axis=axis)

    @staticmethod
    def vjp(g, y, x, axis, xp):
        x = xp.value(x)
        if np.all(np.asarray(x) != 0):
            return (xp.apply(CumSum, g * xp.value(y), axis=axis, reverse=True) / x,)
        # sum over k >= j of g_k * dy_k/dx_j, with j on a new axis before ``axis``
        n = x.shape[axis]
        later = np.triu(np.ones((n, n), dtype=bool)).reshape(trailing(n, x.ndim - axis - 1))
        g_k = xp.where(later, g.reshape(x.shape[:axis] + (1,) + x.shape[axis:]), 0.0)
        return ((g_k * others_running_products(x, axis, xp)).sum(axis=axis + 1),)

    @staticmethod
    def jvp(ts, y, x, axis):
        t = ts[0]
        if np.all(x != 0):
            return y * (t / x).cumsum(axis=axis + 1)
        # sum over j <= k of t_j * dy_k/dx_j, with j on a new axis before ``axis``
        others = others_running_products(x, axis, ArrayMath)
        n = x.shape[axis]
        earlier = np.triu(np.ones((n, n), dtype=bool)).reshape(trailing(n, x.ndim - axis - 1))
        t_j = t.reshape(t.shape[: axis + 2] + (1,) + t.shape[axis + 2 :])
        return (np.where(earlier, t_j * others, 0)).sum(axis=axis + 1)


def trailing(n: int, after: int) -> tuple:
    """The shape of an (n, n) mask over the axes (j, k) followed by ``after`` axes of size 1."""
    return (n, n) + (1,) * after


def others_running_products(x, axis: int, xp):
    """``q[..., j, k, ...] = prod of x_0 .. x_k along ``axis`` without x_j`` (``x_j`` counted as
    1 where ``j > k`` too), with ``j`` on a new axis before ``axis``: running products of ``x``
    with its element ``j`` replaced by 1, one row per ``j``. ``x`` is a value of ``xp``'s."""
    n = x.shape[axis]
    rows = x.shape[:axis] + (n,) + x.shape[axis:]
    same = np.eye(n, dtype=bool).reshape(trailing(n, x.ndim - axis - 1))
    spread = xp.broadcast_to(x.reshape(x.shape[:axis] + (1,) + x.shape[axis:]), rows)
    return xp.apply(CumProd, xp.where(same, 1.0, spread), axis=axis + 1)
