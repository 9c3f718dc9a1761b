"""Batched values under ``mg.vmap``, and how an operation on them runs: by its batching rule.

Inside ``vmap(f)``, ``f`` sees each batched argument as a tensor of one example's shape (its
*logical* shape). Its ``.data`` is a ``BatchedArray``: an array of that shape and dtype that
holds no values and refuses every computation (numpy's functions, methods, ``bool``, ``.item()``)
with an error that says the value is batched; what it carries is the whole batch, ``value``: a
tensor one level down whose leading axis is the batch. An operation (``primitive.apply``) on a
batched tensor runs its primitive's batching rule, ``Prim.batch(xs, dims, **params)``, on the
values one level down (``dims[i]`` is 0 where ``xs[i]`` carries the batch on its leading axis,
None where it is not batched); the rule computes with operations of its own, and returns the
result with the batch on its leading axis, which becomes a batched tensor again.

Levels nest (``vmap(vmap(f))``): a rule runs one level down, where the values may be batched by
an outer ``vmap``, whose rules then run in turn. Derivatives compose: the rule's operations are
recorded on the tape of the level below (``grad(vmap(f))``), and the batched operation itself
on the tape of its own level (``vmap(grad(f))``: a backward pass inside ``vmap`` computes with
batched cotangents through the primitives' rules).

A primitive without a rule would be batched by ``loop_fallback``: one application per example,
stacked. It is named, warned about once, and counted (``fallback_uses``): the registry test
makes sure no built-in primitive needs it.
"""

from __future__ import annotations

import warnings

import numpy as np

from .autodiff import Node, batching_level
from .errors import BatchingError
from .tensor import KEPT_ARRAYS, Tensor, constant


class BatchingWarning(UserWarning):
    """``vmap`` batches a primitive by looping over the batch (it has no batching rule)."""


def _refuse(what: str):
    raise BatchingError(
        f"{what} on a value that is batched under mg.vmap: inside vmap a tensor stands for a "
        f"whole batch, so its values cannot be read or computed with outside minigrad's "
        f"operations; use mg.* operations and tensor methods, and move .item(), .tolist() or "
        f"numpy calls out of the vmapped function"
    )


class BatchedArray(np.ndarray):
    """A batched tensor's ``.data``: one example's shape and dtype, the batch in ``value``."""

    value: Tensor | None = None  # one level down, the batch on the leading axis
    level: int = 0
    stands_for_a_batch = True  # (what Tensor.__repr__ reads)

    def describe(self) -> str:
        """What a batched tensor's repr shows: no values (it holds none), what it stands for."""
        size = self.value.shape[0] if self.value is not None else "?"
        return f"<batched under mg.vmap (level {self.level}): {size} examples of {self.shape}>"

    def __array_finalize__(self, obj):
        self.value = getattr(obj, "value", None)
        self.level = getattr(obj, "level", 0)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse(f"numpy's {ufunc.__name__}")

    def __array_function__(self, func, types, args, kwargs):
        _refuse(f"numpy's {func.__name__}")

    def __bool__(self):
        _refuse("bool()")

    def __float__(self):
        _refuse("float()")

    def __int__(self):
        _refuse("int()")

    def __index__(self):
        _refuse("an index")

    def item(self, *args):
        _refuse(".item()")

    def copy(self, order="K"):
        """Another stand-in for the same batch (a batched tensor's values are never written in
        place: an in-place update gives it a new stand-in)."""
        return batched(self.value, self.level).data

    def astype(self, dtype, copy=True, **kwargs):
        """Elementwise, so batched: the whole batch cast, one level down (a draw's dtype)."""
        return batched(self.value.astype(dtype), self.level).data

    def tolist(self):
        _refuse(".tolist()")


KEPT_ARRAYS.add(BatchedArray)


def _refusing(name):
    def method(self, *args, **kwargs):
        _refuse(f"the array method {name}()")

    return method


_COMPUTING = (
    "__getitem__", "__setitem__", "reshape", "transpose", "sum", "max", "min",
    "mean", "fill", "ravel", "flatten", "view", "__iter__", "__copy__", "__deepcopy__", "dot",
    "argmax", "argmin", "cumsum", "prod", "any", "all",
)  # fmt: skip
for _name in _COMPUTING:
    setattr(BatchedArray, _name, _refusing(_name))


def batched(value: Tensor, level: int) -> Tensor:
    """A tensor batched at ``level`` whose examples are ``value``'s leading-axis slices."""
    shape, dtype = value.shape[1:], value.dtype
    zero = _ZERO.get(dtype)
    if zero is None:
        zero = _ZERO[dtype] = np.zeros(1, dtype)
        zero.flags.writeable = False  # (so the stand-ins made on it are read-only too)
    # NOTE: made on one read-only zero with strides 0, as np.broadcast_to would make it, at a
    # third of its cost (every batched operation makes one).
    data = np.ndarray.__new__(BatchedArray, shape, dtype, zero, strides=(0,) * len(shape))
    data.value, data.level = value, level
    return constant(data)


_ZERO: dict = {}  # dtype -> one zero of it, for the stand-ins


def level_of(t: Tensor) -> int:
    """The vmap level at which ``t`` is batched (0: not batched)."""
    data = t.data
    return data.level if type(data) is BatchedArray else 0


def apply_batched(prim, xs, params, now, apply):
    """``apply`` for an operation with batched inputs: the primitive's batching rule one level
    down, the result batched at the innermost level of its inputs."""
    level = max(level_of(x) for x in xs)
    held = [k for k, v in params.items() if type(v) is BatchedArray]  # a mask, an index
    if held:
        level = max(level, *(params[k].level for k in held))
    if level == 0:
        return None
    recorded = params  # the node keeps the parameters as the operation was given them
    if held:
        held = [k for k in held if params[k].level == level]
        if held and not getattr(prim, "batches_params", False):
            raise BatchingError(
                f"mg.vmap: {prim.__name__}'s parameter {held[0]!r} is batched, which its "
                f"batching rule does not take yet"
            )
        # the whole batch of each batched parameter, one level down (the rule says so)
        params = {**params, **{k: params[k].value.data for k in held}, "batched": set(held)}
    # Tangents ride on the values the rule computes with, at the bottom of the batch (forward
    # mode inside vmap puts them there: batched_tangents.py); one set on a batched value itself
    # would be lost.
    if now.forward_level and any(x.tangent is not None and level_of(x) == level for x in xs):
        raise BatchingError(
            f"mg.vmap: {prim.__name__} meets a batched value that carries a tangent of its own; "
            f"start forward mode with mg.jvp (or jacfwd, hvp, hessian), which puts the tangents "
            f"on the whole batch, instead of setting .tangent"
        )
    values, dims = [], []
    for x in xs:
        if level_of(x) == level:
            values.append(x.data.value)
            dims.append(0)
        else:
            values.append(x)
            dims.append(None)
    with batching_level(level - 1):
        out = prim.batch(values, dims, **params)
    y = batched(out, level)
    if now.grad_enabled and any(x.requires_grad for x in xs):
        y.requires_grad = True
        y._node = Node(prim, xs, recorded, now.scope)
    return y


def values_of(x, who: str) -> np.ndarray:
    """``x``'s values as an array (a tensor's data, or ``np.asarray(x)``), for an operation that
    reads them (indices, masks, labels): refused, naming ``who``, for a value batched under
    ``mg.vmap``, whose data holds no values (``np.asarray`` would silently give placeholders)."""
    data = x.data if isinstance(x, Tensor) else x
    if type(data) is BatchedArray:
        raise BatchingError(
            f"mg.vmap: {who} reads the values of a batched tensor (its indices, mask or labels "
            f"differ from example to example), which is not batched yet; pass them unbatched "
            f"(in_axes=None), or loop over the examples"
        )
    return np.asarray(data)


def refuse_batch_statistics(model, who: str) -> None:
    """Refuse, naming ``who``, a model of which a module mixes the examples of a batch
    (``mixes_examples``: BatchNorm in training mode, whose batch statistics use them all): no
    example then has an output or gradient of its own. As ``torch.func``, eval mode works."""
    modules = model.named_modules() if hasattr(model, "named_modules") else ()
    for path, module in modules:
        if getattr(module, "mixes_examples", False):
            raise BatchingError(
                f"{who}: {path or 'the model'} is a {type(module).__name__} in training mode, "
                f"whose batch statistics mix the examples; call model.eval() first (as "
                f"torch.func requires)"
            )


def whole_batch(data) -> np.ndarray:
    """The values behind a batched stand-in, every level's batch axis in front (a check of
    values, such as labels in range, can read them all at once)."""
    while type(data) is BatchedArray:
        data = data.value.data
    return data


def map_data(fn, *tensors) -> Tensor:
    """``fn`` (numpy, elementwise with broadcasting, no gradient) on the tensors' data, as a
    tensor: batched when one of them is (a comparison, a cast of a constant, a mask)."""
    level = max(level_of(t) for t in tensors)
    if level == 0:
        return constant(np.asarray(fn(*[t.data for t in tensors])))
    rank = max(t.ndim for t in tensors)
    values = []
    for t in tensors:
        if level_of(t) != level:
            values.append(t)
            continue
        value = t.data.value
        missing = rank - (value.ndim - 1)  # 1s after the batch axis line the examples up
        values.append(
            value.reshape((value.shape[0], *(1,) * missing, *value.shape[1:])) if missing else value
        )
    with batching_level(level - 1):
        out = map_data(fn, *values)
    return batched(out, level)


# ----- numpy computations of the values, batched --------------------------------------------------


def along_data(fn, t: Tensor, axes) -> Tensor:
    """``fn(data, axes)`` (numpy, no gradient: an argmax, a sort's permutation, a truth value)
    along the axes ``axes`` (an int or a tuple, >= 0) of one example of ``t``, as a tensor:
    batched when ``t`` is, computed for the whole batch at once one level down, where each axis
    moves one place past the batch axis. ``fn`` must keep the axes before the first of ``axes``
    (they hold the batch), as numpy's reductions and argsorts along an axis do."""
    level = level_of(t)
    if level == 0:
        return constant(np.asarray(fn(t.data, axes)))
    shifted = axes + 1 if type(axes) is int else tuple(a + 1 for a in axes)
    with batching_level(level - 1):
        out = along_data(fn, t.data.value, shifted)
    return batched(out, level)


# What a random draw under each active vmap level does, innermost last: (randomness, the
# batch size, the level), randomness being "error", "same" or "different".
randomness: list[tuple[str, int, int]] = []


def random_source(source):
    """What a random draw under ``mg.vmap`` draws from: refused with randomness="error" (the
    default), numpy's generator itself with "same" (one draw shared by every example), and with
    "different" one that draws a batch of values, one per example (``Draws``)."""
    if not randomness:
        return source
    how, size, level = randomness[-1]
    if how == "error":
        raise BatchingError(
            "mg.vmap: a random draw (mg.rand*, Dropout in training mode) inside a vmapped "
            "function with randomness='error' (the default); pass randomness='different' for "
            "independent values per example, 'same' for one value shared by every example, or "
            "draw outside the function and pass it in"
        )
    return source if how == "same" else Draws(source, size, level)


class Draws:
    """numpy's generator under vmap with randomness="different": a draw of ``shape`` draws a
    (batch, *shape) array in one call and hands it out as a batched stand-in, one example per
    row (independent values per example, though not the ones a loop drawing example by example
    would get from the same stream)."""

    def __init__(self, source, size: int, level: int):
        self.source, self.size, self.level = source, size, level

    def random(self, size=None, dtype=np.float64):
        return self._batch(self.source.random, size, dtype=dtype)

    def standard_normal(self, size=None, dtype=np.float64):
        return self._batch(self.source.standard_normal, size, dtype=dtype)

    def standard_exponential(self, size=None, dtype=np.float64):
        return self._batch(self.source.standard_exponential, size, dtype=dtype)

    def integers(self, low, high=None, size=None, dtype=np.int64):
        return self._batch(lambda shape, **kw: self.source.integers(low, high, shape, **kw),
                           size, dtype=dtype)  # fmt: skip

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._batch(lambda shape: self.source.uniform(low, high, shape), size)

    def _batch(self, draw, size, **kwargs):
        shape = () if size is None else tuple(size) if isinstance(size, tuple | list) else (size,)
        return batched(constant(draw((self.size, *shape), **kwargs)), self.level).data

    def __getattr__(self, method):
        raise BatchingError(
            f"mg.vmap: randomness='different' batches the draws of rand, randn, randint and "
            f"Dropout; numpy's {method}() is not batched yet: use randomness='same', or draw "
            f"outside the function"
        )


# ----- the fallback -------------------------------------------------------------------------------

fallback_uses: set[str] = set()  # the primitives batched by a loop (the registry test reads it)


# How results are stacked along a new leading axis: set by ``ops.shape`` (it builds on this
# module, which cannot import it).
stack = None


def loop_fallback(prim, values, dims, params, apply):
    # NOTE: ``apply`` is handed in: this module sits below ``primitive``.
    """The batch of ``prim`` by one application per example, stacked (a primitive with no rule:
    slow, and warned about once)."""
    if prim.__name__ not in fallback_uses:
        fallback_uses.add(prim.__name__)
        warnings.warn(
            f"mg.vmap: {prim.__name__} has no batching rule, so it runs once per example; "
            f"define {prim.__name__}.batch(xs, dims, **params) to batch it",
            BatchingWarning,
            stacklevel=4,
        )
    size = next(v.shape[0] for v, d in zip(values, dims) if d is not None)
    results = [
        apply(prim, *[v[i] if d is not None else v for v, d in zip(values, dims)], **params)
        for i in range(size)
    ]
    return stack(results)


# ----- batched indices ----------------------------------------------------------------------------


def all_values(x) -> np.ndarray:
    """``x``'s values (a tensor, an array or a number), every level's batch axis in front when
    it is batched: for a check that reads them all at once (indices in range)."""
    return np.asarray(whole_batch(x.data if isinstance(x, Tensor) else x))


def batched_like(values: np.ndarray, like) -> Tensor:
    """``values`` (numpy, every level's batch axis in front, as ``all_values`` gives them) as a
    tensor batched as ``like`` (a tensor or an array) is: what is computed from the whole batch
    at once (which elements of an index write last) handed back to each example."""
    levels = []
    data = like.data if isinstance(like, Tensor) else like
    while type(data) is BatchedArray:
        levels.append(data.level)
        data = data.value.data
    out = constant(values)
    for level in reversed(levels):  # the outermost level's batch is the first axis
        out = batched(out, level)
    return out
