"""The named pairs that ``max(dim)``, ``min(dim)``, ``sort`` and ``topk`` return, as PyTorch's
``torch.return_types``: tuples with the fields ``values`` and ``indices``, so that
``values, indices = x.max(1)``, ``x.max(1)[0]`` and ``x.max(1).values`` all work.

>>> import minigrad as mg
>>> mg.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1)
max(values=tensor([5., 3.]), indices=tensor([1, 0]))
"""

from __future__ import annotations

from typing import NamedTuple

from ..tensor import Tensor

__all__ = ["max", "min", "sort", "topk"]

FIELDS = [("values", Tensor), ("indices", Tensor)]

max = NamedTuple("max", FIELDS)
min = NamedTuple("min", FIELDS)
sort = NamedTuple("sort", FIELDS)
topk = NamedTuple("topk", FIELDS)
