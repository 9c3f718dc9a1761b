"""Forward mode inside ``mg.vmap`` (``jvp``, ``jacfwd``, ``hvp``, ``hessian``): the tangents ride
on the whole batch.

A value batched under ``vmap`` holds no values: the whole batch is one level down, and at the
bottom (level 0) it is a tensor of real arrays whose leading axes are the batch axes of its
levels, outermost first. The primitives' JVP rules compute on real arrays, with a leading axis
of ``B`` tangents, and forward mode around ``vmap`` already works: a batching rule's operations
run at the level below and push the tangents they meet. So forward mode inside ``vmap`` puts a
batched input's tangents at its bottom, ``(B, N_1, ..., N_L, *shape)`` (the JVP rules' batch of
directions in front of the batch axes), and reads the output's tangents at the output's bottom,
handing them back batched as the output is. The batching rules need nothing new.
"""

from __future__ import annotations

import math

import numpy as np

from . import batching
from .batching import batched, batched_like, level_of
from .tensor import Tensor, constant


def carrying(x: Tensor, tangent: Tensor, directions: bool, requires_grad: bool) -> Tensor:
    """A fresh input with ``x``'s values whose tangents are ``tangent``'s (shape ``x.shape``, or
    ``(k, *x.shape)`` with ``directions``), batched at every active vmap level: at the bottom,
    ``x`` and ``tangent`` spread over every level's batch axis (broadcast where one of them is
    not batched at a level), the tangent's directions in front."""
    if not isinstance(tangent, Tensor):  # an array of directions (B, *shape)
        tangent = constant(tangent)
    levels = len(batching.randomness)
    values = _spread(x, levels)
    tangents = _spread(tangent, levels).astype(values.dtype, copy=False)
    if directions:  # (N_1 .. N_L, k, *shape) -> (k, N_1 .. N_L, *shape)
        tangents = np.moveaxis(tangents, levels, 0)
    bottom = Tensor(values)
    bottom.tangent = tangents if directions else tangents[None]
    out = bottom
    for level in range(1, levels + 1):
        out = batched(out, level)
    out.requires_grad = requires_grad
    return out


def tangents_of(y: Tensor, batch: int, directions: bool = True) -> Tensor:
    """The tangents that forward mode pushed to ``y``, batched as ``y`` is: shape
    ``(batch, *y.shape)`` with ``directions``, else ``y.shape`` (one direction); zeros when
    ``y`` got none (it does not depend on the inputs). They are taken off ``y``'s bottom."""
    levels, bottom = 0, y
    while level_of(bottom):
        levels += 1
        bottom = bottom.data.value
    t = bottom.tangent
    bottom.tangent = None
    if t is None:
        return constant(np.zeros((batch, *y.shape) if directions else y.shape, y.dtype))
    if not directions:
        t = t[0]
    elif levels:  # (k, N .., *shape) -> (N .., k, *shape): the batch axes in front
        t = np.moveaxis(t, 0, levels)
    return batched_like(t, y) if levels else constant(t)


def batch_elements() -> int:
    """How many examples the active ``vmap`` levels hold together (1 outside ``vmap``)."""
    return math.prod(size for _, size, _ in batching.randomness)


def _spread(t: Tensor, level: int) -> np.ndarray:
    """``t``'s values as an array whose leading axes are the batch axes of levels ``1 ..
    level``, broadcast along those at which ``t`` is not batched, then ``t``'s own shape."""
    if level == 0:
        return np.asarray(t.data)
    if level_of(t) == level:
        return _spread(t.data.value, level - 1)
    inner = _spread(t, level - 1)
    lead, rest = inner.shape[: level - 1], inner.shape[level - 1 :]
    size = batching.randomness[level - 1][1]
    return np.broadcast_to(np.expand_dims(inner, level - 1), (*lead, size, *rest))
