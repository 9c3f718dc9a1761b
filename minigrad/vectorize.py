"""``mg.vmap``: a function of one example made a function of a batch, by batching rules.

``vmap(f)(xs)`` is ``stack([f(x) for x in xs])`` computed as one batched computation: every
operation ``f`` makes on a batched value runs its primitive's batching rule once for the whole
batch (see ``batching.py``), not once per example. JAX's and ``torch.func.vmap``'s semantics:
``in_axes`` per positional argument (an int, None for an unbatched argument, or a tuple, list
or dict matching the argument's nesting), ``out_axes`` likewise for the results; ``vmap`` nests
and composes with ``grad``, ``jacrev``, ``hessian``... in either order.
"""

from __future__ import annotations

import functools

from . import batching, functions
from .autodiff import batching_level, mode
from .batching import BatchingError, batched, level_of
from .errors import ArgumentError
from .tensor import Tensor
from .trees import leaves, refilled, tree_map_with

_RANDOMNESS = ("error", "different", "same")


def vmap(f, in_axes=0, out_axes=0, randomness: str = "error", chunk_size: int | None = None):
    """``f`` over a batch: ``vmap(f)(x)[i] == f(x[i])`` (see the module's doc).

    ``in_axes``/``out_axes``: where each positional argument's and result's batch axis is
    (None: not batched); keyword arguments are passed as they are, shared by every example
    (as ``torch.func.vmap``). ``randomness``: what a random draw inside ``f`` does, as
    ``torch.func.vmap``'s: "error" (the default) refuses it, "same" draws one value shared by
    every example, "different" independent values per example (Dropout's masks, ``mg.rand``,
    ``mg.randn``, ``mg.randint``). ``chunk_size``: examples per batched call (None: all at
    once), to bound memory.
    """
    if not callable(f):
        raise ArgumentError(f"vmap takes a function, got {type(f).__name__}")
    if randomness not in _RANDOMNESS:
        raise ArgumentError(f"vmap: randomness={randomness!r}; expected one of {_RANDOMNESS}")
    if chunk_size is not None and (type(chunk_size) is not int or chunk_size < 1):
        raise ArgumentError(f"vmap: chunk_size={chunk_size!r} must be a positive int or None")

    @functools.wraps(f)
    def vmapped(*args, **kwargs):  # (keyword arguments: shared, as torch.func's)
        axes = in_axes if type(in_axes) in (tuple, list) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ArgumentError(
                f"vmap: in_axes has {len(axes)} entries for {len(args)} positional arguments; "
                f"give one per argument (an int, None, or a matching tuple, list or dict)"
            )
        sizes = set()
        _sizes(args, tuple(axes), sizes)
        if not sizes:
            raise ArgumentError("vmap: no argument is batched (every in_axes is None)")
        if len(sizes) > 1:
            raise ArgumentError(
                f"vmap: the batched arguments have different sizes along their in_axes: "
                f"{sorted(sizes)}; they must all have the same batch size"
            )
        size = sizes.pop()
        if chunk_size is None or chunk_size >= size:
            return _call(f, args, kwargs, tuple(axes), out_axes, size, randomness)
        chunks = [
            _call(f, _slice(args, tuple(axes), start, start + chunk_size), kwargs, tuple(axes),
                  out_axes, min(chunk_size, size - start), randomness)
            for start in range(0, size, chunk_size)
        ]  # fmt: skip
        return _joined(chunks, out_axes)

    return vmapped


def _call(f, args, kwargs, axes, out_axes, size, randomness):
    level = mode().vmap_level + 1
    inner = _batched(args, axes, level)
    batching.randomness.append((randomness, size, level))
    try:
        with batching_level(level):
            out = f(*inner, **kwargs)
    finally:
        batching.randomness.pop()
    return _unbatched(out, out_axes, level, size)


def _sizes(args, axes, sizes):
    def size(x, axis):
        if axis is not None:
            if not isinstance(x, Tensor):
                raise ArgumentError(
                    f"vmap: in_axes={axis} for a {type(x).__name__}; only tensors are batched "
                    f"(give None for other arguments)"
                )
            if not -x.ndim <= axis < x.ndim:
                raise ArgumentError(
                    f"vmap: in_axes={axis} for a tensor of shape {x.shape} (one example's "
                    f"rank is {x.ndim})"
                )
            sizes.add(x.shape[axis])
        return x

    tree_map_with(size, args, axes)


def _batched(args, axes, level):
    def wrap(x, axis):
        if axis is None:
            return x
        return batched(functions.movedim(x, axis, 0), level)

    return tree_map_with(wrap, args, axes)


def _unbatched(out, out_axes, level, size):
    def unwrap(t, axis):
        if not isinstance(t, Tensor):
            raise BatchingError(
                f"vmap: the function returned a {type(t).__name__}; it must return tensors "
                f"(or tuples, lists and dicts of them)"
            )
        batched = level_of(t) == level
        if axis is None:  # (JAX's): a result that is the same for every example, as it is
            if batched:
                raise BatchingError(
                    f"vmap: out_axes=None for a result of shape {t.shape} that differs from "
                    f"example to example; give the axis to put the batch on (e.g. 0)"
                )
            return t
        if batched:
            value = t.data.value
        else:  # not batched (it does not depend on the batch): the same for every example
            value = functions.broadcast_to(functions.unsqueeze(t, 0), (size, *t.shape))
        return functions.movedim(value, 0, axis)

    return tree_map_with(unwrap, out, out_axes)


def _slice(args, axes, start, stop):
    def cut(x, axis):
        if axis is None:
            return x
        index = (slice(None),) * (axis % x.ndim) + (slice(start, stop),)
        return x[index]

    return tree_map_with(cut, args, axes)


def _joined(chunks, out_axes):
    """The chunks' results joined along their ``out_axes`` (None: the same in every chunk)."""
    axes = leaves(tree_map_with(lambda _, axis: axis, chunks[0], out_axes))
    columns = zip(*[list(leaves(chunk)) for chunk in chunks], strict=True)
    joined = [
        column[0] if axis is None else functions.cat(list(column), dim=axis)
        for column, axis in zip(columns, axes)
    ]
    return refilled(chunks[0], iter(joined))
