"""Helpers shared by batching rules (``Prim.batch``, see ``batching.py``): values carry the batch
on their leading axis where ``dims[i]`` is 0, and none where it is None."""


def logical_ndim(x, dim) -> int:
    """The rank of one example of ``x``."""
    return x.ndim - (dim is not None)


def shifted_axes(axis, ndim: int):
    """Axes of one example (None: all ``ndim``) as axes of the batch."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if type(axis) is int:
        return axis + 1
    return tuple(a + 1 for a in axis)
