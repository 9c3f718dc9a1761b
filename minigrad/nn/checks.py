"""Argument checks that several layers share, each raising an error that names the layer."""

from __future__ import annotations

import operator

from ..errors import OpError


def check_size(who: str, name: str, value) -> int:
    """``value`` as a non-negative int (a layer's feature count), else an OpError naming it."""
    try:
        size = operator.index(value)
    except TypeError:
        size = -1
    if size < 0:
        raise OpError(f"{who}: {name} must be a non-negative int, got {value!r}")
    return size
