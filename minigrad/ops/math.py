"""``ArrayMath``: what built-in VJP rules compute with in a plain backward pass.

A rule is written once, ``vjp(g, y, *xs, xp, **params)``, and runs in two kinds of backward
pass. In a plain one (no ``create_graph``, no forward mode) ``g`` is an ndarray and ``xp`` is
``ArrayMath``: numpy on the data, no Tensor per cotangent. When the backward pass is itself
recorded, ``g`` is a Tensor and ``xp`` is ``autograd.TensorMath``: the same names, on Tensors, so
the cotangents can be differentiated again. The two namespaces are the only place where the
two forms meet; rules never ask which one they have.
"""

from operator import attrgetter

import numpy as np

from ..backward import Pending
from .indexing import is_basic
from .shape import broadcast_view


class ArrayMath:
    """numpy on ndarray cotangents; ``value(t)`` is a saved Tensor's data."""

    value = staticmethod(attrgetter("data"))

    @staticmethod
    def apply(prim, *args, **params):
        """``prim`` on cotangents (and constants), as a linear rule applies its transpose."""
        return prim.forward(*args, **params)

    @staticmethod
    def scatter(g, index: tuple, shape: tuple):
        """The cotangent of ``x`` from that of ``x[index]``: kept as the slice (``Pending``)
        until the walk adds it into one buffer with the other slices' (see backward.py)."""
        return Pending(g, index, shape, is_basic(index))

    broadcast_to = staticmethod(broadcast_view)
    where = staticmethod(np.where)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sign = staticmethod(np.sign)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tanh = staticmethod(np.tanh)
