"""Nested arguments and results: tuples (named ones too, such as ``x.max(1)``'s), lists and
dicts of leaves (arrays, tensors, numbers), JAX's pytrees, as ``vmap``, the reverse-mode
transforms and ``mg.compile`` walk them."""

from __future__ import annotations


def tree_map(fn, x):
    """``fn`` on each leaf of ``x``, in the same nesting of tuples, lists and dicts."""
    if type(x) is tuple or type(x) is list or isinstance(x, tuple):
        return _like(x, [tree_map(fn, v) for v in x])
    if type(x) is dict:
        return {k: tree_map(fn, v) for k, v in x.items()}
    return fn(x)


def leaves(x):
    """The leaves of ``x`` (nested tuples, lists and dicts), in order."""
    if type(x) is tuple or type(x) is list or isinstance(x, tuple):
        for v in x:
            yield from leaves(v)
    elif type(x) is dict:
        for v in x.values():
            yield from leaves(v)
    else:
        yield x


def tree_map_with(fn, x, spec):
    """``fn(leaf, its spec)`` on each leaf of ``x``, ``spec`` matching ``x``'s nesting or a
    prefix of it (one spec then applies to everything below: ``vmap``'s ``in_axes``)."""
    if type(x) is tuple or type(x) is list or isinstance(x, tuple):
        spread = spec if isinstance(spec, (tuple, list)) else (spec,) * len(x)
        return _like(x, [tree_map_with(fn, v, s) for v, s in zip(x, spread, strict=True)])
    if type(x) is dict:
        spread = spec if type(spec) is dict else {k: spec for k in x}
        return {k: tree_map_with(fn, v, spread[k]) for k, v in x.items()}
    return fn(x, spec)


def _like(x, items: list):
    """A tuple or list of ``x``'s kind holding ``items`` (a named tuple takes them by position)."""
    return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)


def refilled(x, values):
    """``x``'s nesting with its leaves replaced, in order, by ``values`` (an iterator)."""
    return tree_map(lambda _: next(values), x)
