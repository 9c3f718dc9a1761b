"""Helpers shared by forward-mode rules: tangents may be None (the input carries none)."""


def add_tangents(*terms):
    """Sum the terms that are not None (None if all are)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


def batch_size(ts) -> int:
    """The tangent batch size B of the first tangent present."""
    return next(t.shape[0] for t in ts if t is not None)


def shift(axes):
    """Axes of a primal array, as axes of its tangent (which has a leading batch axis)."""
    return tuple(a + 1 for a in axes)
