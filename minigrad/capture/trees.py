"""Nested arguments and results: tuples, lists and dicts of leaves (arrays, tensors, numbers)."""

from __future__ import annotations


def tree_map(fn, x):
    """``fn`` on each leaf of ``x``, in the same nesting of tuples, lists and dicts."""
    if type(x) is tuple or type(x) is list:
        return type(x)(tree_map(fn, v) for v in x)
    if type(x) is dict:
        return {k: tree_map(fn, v) for k, v in x.items()}
    return fn(x)


def leaves(x):
    """The leaves of ``x`` (nested tuples, lists and dicts), in order."""
    if type(x) is tuple or type(x) is list:
        for v in x:
            yield from leaves(v)
    elif type(x) is dict:
        for v in x.values():
            yield from leaves(v)
    else:
        yield x
