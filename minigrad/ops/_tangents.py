"""Helpers shared by forward-mode rules: tangents may be None (the input carries none)."""

import weakref

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
    try:
        shifted = _shifted.get(axes)
    except TypeError:  # a list: not remembered
        return tuple([a + 1 for a in axes])
    if shifted is None:
        shifted = tuple([a + 1 for a in axes])
        if len(_shifted) < 1024:
            _shifted[axes] = shifted
    return shifted


_shifted: dict = {}  # shift(axes) by axes: a rule's axes are the same few tuples every step


# ----- tangents known to be rows of the identity -------------------------------------------------

# A Hessian or a Jacobian by forward mode pushes rows of the identity as tangents, and a matrix
# product of the identity with a matrix is a copy of the matrix's rows: at n = 800 that product
# was half the Hessian's time. ``hessians.hessian_rows`` marks the tangents it makes; MatMul's
# JVP takes the rows instead of multiplying. The mark is the array object itself (a weak
# reference: a freed array's id may be reused) and the arrays are made read-only, so that what
# is marked stays true.
_identities: dict[int, tuple] = {}


class _IdentityMark(weakref.ref):
    __slots__ = ("key", "offset")

    def __new__(cls, t, offset):
        return super().__new__(cls, t, _unmark)

    def __init__(self, t, offset):
        super().__init__(t, _unmark)
        self.key, self.offset = id(t), offset


def _unmark(mark) -> None:
    if _identities.get(mark.key) is mark:
        del _identities[mark.key]


def mark_identity(t: np.ndarray, offset: int) -> np.ndarray:
    """Mark the 2-D ``t`` as ``np.eye(*t.shape, k=offset)`` (and make it read-only)."""
    t.flags.writeable = False
    _identities[id(t)] = _IdentityMark(t, offset)
    return t


def identity_offset(t) -> int | None:
    """``k`` if ``t`` was marked as ``np.eye(*t.shape, k=k)``, else None."""
    mark = _identities.get(id(t))
    return mark.offset if mark is not None and mark() is t else None


def identity_times(identity: np.ndarray, offset: int, m: np.ndarray) -> np.ndarray:
    """``identity @ m`` for ``identity = np.eye(rows, len(m), k=offset)``, without the product:
    rows of ``m`` (zeros where the identity's rows are zero), C-ordered as the product. The same
    values as the product, which adds only zeros to them (but for the sign of a zero, and a NaN
    or Inf elsewhere in ``m``, which the product spreads along the rows)."""
    rows, n = identity.shape[0], m.shape[0]
    dtype = np.result_type(identity.dtype, m.dtype)
    lo, hi = max(0, -offset), min(rows, n - offset)
    if lo == 0 and hi == rows:
        return np.array(m[offset : offset + rows], dtype, order="C")
    out = np.zeros((rows,) + m.shape[1:], dtype)
    if lo < hi:
        out[lo:hi] = m[lo + offset : hi + offset]
    return out
