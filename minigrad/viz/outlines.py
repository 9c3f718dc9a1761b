"""Outlines: stand-ins, in a drawing, for the tensors of a graph that backward freed.

Backward keeps a freed graph's shape (``backward.free``): each freed node names the nodes it
was made from, in place of their tensors, and its own output's shape, dtype and name. To draw
it as a graph of tensors, each such node gets an ``Outline``: a tensor with that shape, dtype
and name and no values.
"""

from __future__ import annotations

import numpy as np

from ..autodiff import Node
from ..tensor import Tensor, initialize


class Outline(Tensor):
    """Stands in for a tensor that backward freed: its shape, dtype, name and the node that made
    it, without its values (its data is a read-only view of one zero, broadcast to the shape:
    no memory)."""

    __slots__ = ()


class Outliner:
    """``outliner(parent)``: a parent as a Tensor, the same ``Outline`` for a freed node however
    many nodes name it."""

    def __init__(self):
        self.made: dict = {}  # id(node) -> its Outline

    def __call__(self, parent) -> Tensor:
        if type(parent) is not Node:
            return parent
        outline = self.made.get(id(parent))
        if outline is None:
            shape, dtype, name = parent.output
            outline = self.made[id(parent)] = object.__new__(Outline)
            initialize(outline, np.broadcast_to(np.zeros((), dtype), shape))
            outline.requires_grad, outline._node, outline.name = True, parent, name
        return outline
