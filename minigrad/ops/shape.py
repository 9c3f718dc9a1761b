"""Shape primitives. Each is linear, so each applies itself (or its transpose) to tangents.

Forwards call ndarray methods, which skip numpy functions' Python-level dispatch (see reduce.py).
"""

import numpy as np

from .. import batching
from ..primitive import Primitive, apply
from ._batched import logical_ndim
from ._tangents import batch_size, shift
from .indexing import GetItem


class Reshape(Primitive):
    holomorphic = True
    uses = ()

    @staticmethod
    def batch(xs, dims, shape):
        return apply(Reshape, xs[0], shape=(xs[0].shape[0], *shape))

    @staticmethod
    def forward(x, shape):
        return x.reshape(shape)

    @staticmethod
    def vjp(g, y, x, shape, xp):
        return (g.reshape(x.shape),)

    @staticmethod
    def jvp(ts, y, x, shape):
        return ts[0].reshape((ts[0].shape[0],) + y.shape)


class Transpose(Primitive):
    holomorphic = True
    uses = ()

    @staticmethod
    def batch(xs, dims, axes):
        return apply(Transpose, xs[0], axes=(0, *(a + 1 for a in axes)))

    @staticmethod
    def forward(x, axes):
        return x.transpose(axes)

    @staticmethod
    def vjp(g, y, x, axes, xp):
        return (xp.apply(Transpose, g, axes=tuple(np.argsort(axes))),)

    @staticmethod
    def jvp(ts, y, x, axes):
        return ts[0].transpose((0, *shift(axes)))


def broadcast_view(x, shape) -> np.ndarray:
    """``np.broadcast_to(x, shape)``: the same read-only view, made by ndarray's constructor
    for a C-contiguous array (numpy's function is Python and took 2.3 us against 0.7 us here);
    anything else, and every error, goes to numpy's function."""
    if type(x) is np.ndarray and type(shape) is tuple:
        try:
            if x.size == 1:  # a 0-d or one-element array: every stride is 0
                strides = (0,) * len(shape)
            elif x.flags.c_contiguous:
                strides = _broadcast_strides(x, shape)
            else:
                strides = None
            if strides is not None:
                view = np.ndarray(shape, x.dtype, x, 0, strides)
                if view.shape == shape:  # NOTE: the constructor reads a -1 as "fill the buffer"
                    view.flags.writeable = False
                    return view
        except (ValueError, TypeError):
            pass  # numpy's function says what is wrong
    return np.broadcast_to(x, shape)


def _broadcast_strides(x, shape) -> tuple | None:
    """The strides of ``x`` broadcast to ``shape`` (None if it does not broadcast)."""
    lead = len(shape) - x.ndim
    if lead < 0:
        return None
    strides = [0] * lead
    for d, n, stride in zip(x.shape, shape[lead:], x.strides):
        if d == n:
            strides.append(stride)
        elif d == 1:
            strides.append(0)
        else:
            return None
    return tuple(strides)


class BroadcastTo(Primitive):
    holomorphic = True
    uses = ()

    @staticmethod
    def batch(xs, dims, shape):
        x = with_rank(xs[0], 0, len(shape))
        return apply(BroadcastTo, x, shape=(x.shape[0], *shape))

    @staticmethod
    def forward(x, shape):
        return broadcast_view(x, shape)

    @staticmethod
    def vjp(g, y, x, shape, xp):
        # NOTE: the only un-broadcast in minigrad: a sum over the axes that broadcasting made.
        lead = len(shape) - x.ndim
        stretched = tuple(range(lead)) + tuple(
            lead + i for i, d in enumerate(x.shape) if d == 1 and shape[lead + i] != 1
        )
        return (g.sum(axis=stretched).reshape(x.shape),)

    @staticmethod
    def jvp(ts, y, x, shape):
        t = ts[0]
        lead = len(shape) - x.ndim
        t = t.reshape((t.shape[0],) + (1,) * lead + x.shape)
        return broadcast_view(t, (t.shape[0],) + tuple(shape))


class Concatenate(Primitive):
    holomorphic = True
    uses = ()

    @staticmethod
    def batch(xs, dims, axis):
        size = next(x.shape[0] for x, d in zip(xs, dims) if d is not None)
        parts = [
            x if d is not None else apply(BroadcastTo, x, shape=(size, *x.shape))
            for x, d in zip(xs, dims)
        ]
        return apply(Concatenate, *parts, axis=axis + 1)

    @staticmethod
    def forward(*xs, axis):
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def vjp(g, y, *xs, axis, xp):
        grads, start = [], 0
        for x in xs:
            stop = start + x.shape[axis]
            index = (slice(None),) * axis + (slice(start, stop),)
            grads.append(xp.apply(GetItem, g, index=index) if x.requires_grad else None)
            start = stop
        return tuple(grads)

    @staticmethod
    def jvp(ts, y, *xs, axis):
        B = batch_size(ts)
        parts = [np.zeros((B,) + x.shape, y.dtype) if t is None else t for t, x in zip(ts, xs)]
        return np.concatenate(parts, axis=axis + 1)


# ----- batching helpers (used by the rules here and by elementwise primitives) ----------


def with_rank(x, dim, rank: int):
    """A batched ``x`` whose examples have ``rank`` dimensions, 1s inserted after the batch axis
    (numpy's broadcasting then lines the examples up, not the batch with their first axis)."""
    missing = rank - logical_ndim(x, dim)
    if dim is None or missing <= 0:
        return x
    return apply(Reshape, x, shape=(x.shape[0],) + (1,) * missing + tuple(x.shape[1:]))


def elementwise(prim, xs, dims, params):
    """``prim`` (broadcasting, elementwise) on a batch: the examples lined up, then one call.
    An operand that carries derivatives is broadcast to the result's shape first, by an
    operation (as the functions layer does): an elementwise primitive's rules expect such an
    operand in the result's shape, and ``BroadcastTo``'s own rule sums its gradient back."""
    rank = max(logical_ndim(x, d) for x, d in zip(xs, dims))
    args = [with_rank(x, d, rank) for x, d in zip(xs, dims)]
    shape = np.broadcast_shapes(*(a.shape for a in args))
    args = [
        apply(BroadcastTo, a, shape=shape)
        if a.shape != shape and (a.requires_grad or a.tangent is not None)
        else a
        for a in args
    ]
    return apply(prim, *args, **params)


def stack(results):
    """Tensors of one shape stacked along a new leading axis (``batching.loop_fallback``)."""
    rows = [apply(Reshape, r, shape=(1, *r.shape)) for r in results]
    return apply(Concatenate, *rows, axis=0)


batching.stack = stack
