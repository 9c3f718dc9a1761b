"""Helpers shared by forward-mode rules: tangents may be None (the input carries none)."""

import numpy as np


def add_tangents(*terms):
    """Sum the terms that are not None (None if all are)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


def add_fresh_tangents(*terms):
    """``add_tangents`` for terms that are all fresh arrays (results of this rule's own
    arithmetic, never an input's tangent): each is added into the first where that gives the
    same array, so a sum of ``k`` terms allocates no buffer beyond the terms themselves."""
    total = None
    for term in terms:
        if term is None:
            continue
        if total is None:
            total = term
        elif (
            isinstance(total, np.ndarray)
            and total.dtype == term.dtype
            and total.shape == term.shape
            and total.flags.writeable
        ):
            np.add(total, term, out=total)  # NOTE: the same sum as total + term, bit for bit
        else:
            total = total + term
    return total


def batch_size(ts) -> int:
    """The tangent batch size B of the first tangent present."""
    return next(t.shape[0] for t in ts if t is not None)


def shift(axes):
    """Axes of a primal array, as axes of its tangent (which has a leading batch axis)."""
    return tuple(a + 1 for a in axes)
