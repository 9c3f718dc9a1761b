"""What the transforms, the Hessians and the second-order optimizers do with their arguments.

- ``argnums``: checked when a transform is made (``argnums_tuple``), resolved against a call
  (``resolve_argnums``), and the results shaped by it (``match_argnums``).
- Inputs and outputs: an argument to differentiate as a float Tensor (``float_input``), an output
  that must be a Tensor (``tensor_output``) or a scalar one (``scalar_output``), and ``f`` as a
  function of the differentiated arguments alone (``restricted``).
- Reverse mode: ``with_leaves`` and ``recording_for_reverse`` mark the inputs of a grad, vjp or
  jacrev while ``f`` runs, so that forward mode can refuse them (``differentiated_in_reverse``).
- Forward mode's inputs are in ``tangents.py``.
- Flat vectors: ``FlatLayout`` sees arrays of several shapes as one vector of ``n`` elements,
  splits a vector (or a batch of them) back into the shapes and joins blocks into one;
  ``identity_rows`` gives rows of the ``n x n`` identity, one chunk at a time, and
  ``identity_tangents`` the same split by a layout, marked as identity rows.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from itertools import accumulate

import numpy as np

from .autodiff import mode, restore, switch_grad
from .errors import ArgumentError, DTypeError, ShapeError
from .ops._tangents import mark_identity
from .tensor import Tensor
from .trees import refilled, tree_map

# ----- the function's form ----------------------------------------------------------------------


def required_positional(fn) -> int | None:
    """How many positional arguments ``fn`` needs (None: it takes ``*args``, or cannot say)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    required = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            return None if required == 0 else required
        positional = parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        if positional and parameter.default is parameter.empty:
            required += 1
    return required


def call(fname: str, f: Callable, args, kwargs=None):
    """``f(*args, **kwargs)``, and a clear error when ``f`` is a closure of no arguments (the form
    the optimizers and ``mg.curvature`` take) where a function of the inputs was needed. Checked
    only once the call has failed: nothing on the way of a call that works."""
    try:
        return f(*args, **(kwargs or {}))
    except TypeError:
        if args and required_positional(f) == 0:
            raise ArgumentError(
                f"{fname}: the function takes no arguments (a PyTorch-style closure?), but "
                f"{fname} calls it with the {len(args)} input(s) it differentiates; write it as "
                f"a function of them (lambda w, b: loss(w, b)), or pass the closure to an "
                f"optimizer's step() or to the mg.curvature tools, which take closures with "
                f"params=list(model.parameters())"
            ) from None
        raise


# ----- argnums -----------------------------------------------------------------------------------


def _is_int(a) -> bool:
    return isinstance(a, (int, np.integer)) and not isinstance(a, bool)


def argnums_tuple(fname: str, argnums) -> tuple[int, ...]:
    """``argnums`` as a tuple, checked to be an int or a non-empty sequence of ints. Transforms
    call it when they are made, so that a bad ``argnums`` fails there, not at the first call."""
    if _is_int(argnums):
        return (argnums,)
    if isinstance(argnums, (tuple, list)) and all(_is_int(a) for a in argnums):
        if not argnums:
            raise ShapeError(f"{fname}: argnums is empty; name at least one argument")
        return tuple(argnums)
    raise ShapeError(
        f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}; e.g. argnums=0 "
        f"for the first argument, argnums=(0, 1) for the first two"
    )


# (argnums, nargs) -> resolved indices: a transform resolves the same pair on every call.
_resolved: dict[tuple, tuple[int, ...]] = {}


def resolve_argnums(fname: str, argnums, nargs: int) -> tuple[int, ...]:
    """``argnums`` as non-negative indices into a call with ``nargs`` positional arguments."""
    nums = argnums_tuple(fname, argnums)
    resolved = _resolved.get((nums, nargs))
    if resolved is not None:
        return resolved
    if nargs == 0:
        raise ShapeError(
            f"{fname}: the function was called with no positional arguments; pass the ones to "
            f"differentiate positionally (keyword arguments are not differentiated)"
        )
    for a in nums:
        if not -nargs <= a < nargs:
            raise ShapeError(
                f"{fname}: argnums {argnums!r} is out of range for a call with {nargs} positional "
                f"argument(s); use indices in [{-nargs}, {nargs - 1}]"
            )
    resolved = tuple(int(a) % nargs for a in nums)
    if len(set(resolved)) != len(resolved):
        raise ShapeError(f"{fname}: argnums {argnums!r} names an argument twice")
    if len(_resolved) < 1024:  # a bound, for a caller that varies them without end
        _resolved[nums, nargs] = resolved
    return resolved


def match_argnums(argnums, values):
    """One value for an int ``argnums``, a tuple for a sequence (JAX's convention)."""
    return values[0] if isinstance(argnums, (int, np.integer)) else tuple(values)


# ----- inputs and outputs ------------------------------------------------------------------------


def as_array(fname: str, value, what: str) -> np.ndarray:
    """A number, array or (nested) list as an ndarray of numbers, with an error naming ``what``
    when it is not one: minigrad differentiates arrays, not lists of arrays (JAX's pytrees)."""
    try:
        data = np.asarray(value)
    except ValueError:  # numpy: "inhomogeneous shape", a list of arrays of different shapes
        data = None
    if data is None and isinstance(value, (list, tuple)):
        shapes = ", ".join(str(_shape(entry)) for entry in value)
        raise ShapeError(
            f"{fname}: {what} is a {type(value).__name__} of {len(value)} entries of shapes "
            f"{shapes}, which is not one array; pass the entries as separate arguments of f "
            f"and name them all in argnums (f(W, b) with argnums=(0, 1) instead of f([W, b])), "
            f"or concatenate them (mg.grad, mg.vjp and mg.jacrev also take a list, tuple or "
            f"dict of Tensors, and give one gradient per entry)"
        )
    if data is None or data.dtype.kind not in "biufc":
        raise DTypeError(
            f"{fname}: {what} is a {type(value).__name__}, not numbers; pass a Tensor, an array "
            f"or a Python number"
        )
    return data


def _shape(entry) -> tuple | str:
    try:
        return np.shape(entry)
    except ValueError:
        return "(ragged)"


def float_input(fname: str, value, position: int) -> Tensor:
    """A differentiated argument as a Tensor. Python numbers and integer arrays become float64;
    an integer or bool Tensor is an error (it cannot require grad)."""
    if isinstance(value, Tensor):
        if value.dtype.kind not in "fc":
            raise DTypeError(
                f"{fname}: argument {position} is a {value.dtype} tensor; only floating-point "
                f"inputs can be differentiated (use .astype('float64'), or leave it out of "
                f"argnums)"
            )
        return value
    data = as_array(fname, value, f"argument {position}")
    return Tensor(data if data.dtype.kind in "fc" else data.astype(np.float64))


def tensor_output(fname: str, out) -> Tensor:
    """``out``, checked to be a Tensor (what a transformed function must return)."""
    if not isinstance(out, Tensor):
        raise ShapeError(f"{fname}: the function must return a Tensor, not {type(out).__name__}")
    return out


def scalar_output(
    fname: str,
    out,
    function: str = "the function",
    advice: str = "reduce it (e.g. .sum())",
    error: type[Exception] = ShapeError,
) -> Tensor:
    """``out``, checked to be a Tensor of one element (gradients and Hessians need a scalar).
    ``function`` names what returned it and ``advice`` says what to do instead; the optimizers
    pass their own ``error`` class."""
    if not isinstance(out, Tensor) or out.numel() != 1:
        what = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise error(
            f"{fname}: {function} must return a scalar Tensor, it returned {what}; {advice}"
        )
    return out


def split_aux(fname: str, result, has_aux: bool, nested: bool = False) -> tuple:
    """``(output, aux)`` from what ``f`` returned: with ``has_aux`` it must be that pair, and
    ``aux`` comes back as values (detached: it is not differentiated), unless the transform is
    itself being differentiated (``nested``); without, ``(result, None)``."""
    if not has_aux:
        return result, None
    if type(result) is not tuple or len(result) != 2:
        raise ArgumentError(
            f"{fname}: has_aux=True needs the function to return a pair (output, aux), got "
            f"{describe(result)}"
        )
    out, aux = result
    if not nested:
        aux = tree_map(lambda t: t.detach() if isinstance(t, Tensor) else t, aux)
    return out, aux


def describe(value) -> str:
    """A value's type, and its shape if it has one, for an error message."""
    shape = getattr(value, "shape", None)
    return type(value).__name__ + ("" if shape is None else f" of shape {shape}")


def substituted(args: Sequence, nums: Sequence[int], values: Sequence) -> list:
    """``args`` as a list, with ``values`` in the positions ``nums``."""
    full = list(args)
    for i, value in zip(nums, values):
        full[i] = value
    return full


def restricted(fname: str, f: Callable, args: Sequence, nums: Sequence[int]) -> Callable:
    """``f`` as a function of its arguments in positions ``nums`` alone, the others fixed at
    ``args``: what forward mode and the Hessian differentiate."""

    def f_of_differentiated(*values):
        return call(fname, f, substituted(args, nums, values))

    return f_of_differentiated


# ----- reverse mode: which inputs are being differentiated ---------------------------------------

# The inputs of the reverse-mode transforms (grad, vjp, jacrev) whose ``f`` is running: forward
# mode inside ``f`` must not take them as plain values (see ``differentiated_in_reverse``).
_reverse_inputs: ContextVar[tuple[Tensor, ...]] = ContextVar("reverse_inputs", default=())


def is_recorded(x: Tensor) -> bool:
    """Whether operations on ``x`` are recorded: it requires grad and grad mode is on."""
    return x.requires_grad and mode().grad_enabled


def with_leaves(fname: str, args, argnums):
    """``(args, leaves, nested)``: ``args`` with the differentiated ones replaced by leaves that
    require grad, and those leaves.

    An argument that is already recorded (an input of an outer differentiation, or a parameter)
    is used itself, so the result stays connected to it; ``nested`` says whether that happened
    (then gradients are recorded, to be differentiated again). A fresh leaf keeps the argument's
    tangent, so forward mode reaches through (forward-over-reverse).
    """
    nums = resolve_argnums(fname, argnums, len(args))
    leaves, nested, recording = [], False, mode().grad_enabled

    def leaf(value, i):
        nonlocal nested
        x = float_input(fname, value, i)
        if recording and x.requires_grad:  # already recorded (is_recorded)
            nested = True
        elif x is value:  # the caller's Tensor: a leaf of its own, with the same tangent
            tangent, x = x.tangent, Tensor(x.data, requires_grad=True)
            x.tangent = tangent
        else:  # a Tensor float_input just made from a number or an array
            x.requires_grad_(True)
        leaves.append(x)
        return x

    replaced = [
        tree_map(lambda v, i=i: leaf(v, i), args[i]) if is_tree(args[i]) else leaf(args[i], i)
        for i in nums
    ]
    return substituted(args, nums, replaced), leaves, nested


def is_tree(value) -> bool:
    """Whether a differentiated argument is a container differentiated leaf by leaf (JAX's
    pytrees, ``torch.func``'s dicts of parameters): a dict, or a tuple or list that holds a
    Tensor or a dict. A list of numbers or arrays stays one array."""
    if type(value) is dict:
        return True
    if type(value) is tuple or type(value) is list:
        return any(isinstance(v, Tensor) or is_tree(v) for v in value)
    return False


def per_argument(args, argnums, flat: Sequence):
    """Values for the flat ``leaves`` of ``with_leaves`` (gradients, Jacobians) grouped as the
    differentiated arguments are (a dict's gradient is a dict), then by ``match_argnums``."""
    if type(argnums) is int:  # (checked already; the common case, without resolving again)
        arg = args[argnums]
        return refilled(arg, iter(flat)) if is_tree(arg) else flat[0]
    values = iter(flat)
    nums = resolve_argnums("", argnums, len(args))
    grouped = [refilled(args[i], values) if is_tree(args[i]) else next(values) for i in nums]
    return match_argnums(argnums, grouped)


class recording_for_reverse:  # noqa: N801 (used as a function: ``with recording_for_reverse(..)``)
    """Grad mode on while ``f`` runs on ``leaves``, which are marked as being differentiated in
    reverse mode (see ``differentiated_in_reverse``).

    NOTE: a class, not a ``@contextmanager`` generator: every grad and vjp enters it, and the
    generator's machinery cost more than the rest of it."""

    __slots__ = ("leaves", "token", "switched")

    def __init__(self, leaves):
        self.leaves = leaves

    def __enter__(self):
        self.token = _reverse_inputs.set(_reverse_inputs.get() + tuple(self.leaves))
        self.switched = switch_grad(True)

    def __exit__(self, *exc):
        try:
            restore(self.switched)
        finally:
            _reverse_inputs.reset(self.token)


def reverse_inputs() -> tuple[Tensor, ...]:
    """The inputs of the enclosing reverse-mode transforms whose ``f`` is running."""
    return _reverse_inputs.get()


def differentiated_in_reverse(x: Tensor) -> bool:
    """Whether a recorded computation will be differentiated through ``x`` in reverse mode: it
    is an input of an enclosing grad/vjp/jacrev, or it was computed from a tensor that requires
    grad. A leaf that merely requires grad (a parameter) is not: forward mode then takes its
    value, as JAX does."""
    if not is_recorded(x):
        return False
    return not x.is_leaf or any(x is leaf for leaf in _reverse_inputs.get())


# ----- flat vectors ------------------------------------------------------------------------------


class FlatLayout:
    """Arrays of the given ``shapes`` seen as one flat vector of ``n`` elements: theirs,
    flattened and concatenated in order (the layout of ``mg.hessian(..., flat=True)``).
    Array ``i`` is the slice ``offsets[i]:offsets[i + 1]``."""

    def __init__(self, shapes: Sequence[tuple[int, ...]]):
        self.shapes = [tuple(shape) for shape in shapes]
        self.offsets = list(accumulate((math.prod(shape) for shape in self.shapes), initial=0))
        self.n = self.offsets[-1]

    def slices(self):
        """``(shape, start, stop)`` of each array in the flat vector."""
        return zip(self.shapes, self.offsets[:-1], self.offsets[1:])

    def split(self, vector) -> list:
        """A flat vector (its last axis, of length ``n``; leading axes, such as a batch of
        directions, are kept) cut into arrays of the shapes: ``(*lead, n)`` gives
        ``(*lead, *shape)`` each (views where numpy can; Tensors for a Tensor, by its
        operations, which work under ``mg.vmap`` too)."""
        if not isinstance(vector, Tensor):
            vector = np.asarray(vector)
        lead = vector.shape[:-1]
        return [vector[..., a:b].reshape(lead + shape) for shape, a, b in self.slices()]

    def join(self, blocks: Sequence, lead: tuple[int, ...] = (), out=None) -> np.ndarray:
        """The inverse of ``split``: blocks of shapes ``(*lead, *shape)`` as one ``(*lead, n)``
        array, written into ``out`` when given (no intermediate copy)."""
        flat = [np.asarray(block).reshape(*lead, -1) for block in blocks]
        if out is None:
            return np.concatenate(flat, axis=-1)
        for block, (_, a, b) in zip(flat, self.slices()):
            out[..., a:b] = block
        return out


def identity_rows(start: int, stop: int, n: int, dtype=np.float64) -> np.ndarray:
    """Rows ``start:stop`` of the ``n x n`` identity, shape ``(stop - start, n)``: the directions
    of one chunk of Jacobian or Hessian rows, made without the rest of the identity."""
    return np.eye(stop - start, n, k=start, dtype=dtype)


def identity_tangents(layout: FlatLayout, start: int, stop: int, dtype=np.float64) -> list:
    """``identity_rows`` over ``layout``'s flat vector, split into its arrays: tangents for one
    chunk of Jacobian or Hessian rows. The blocks of 1-D arrays are marked as rows of an
    identity (``ops._tangents.mark_identity``, read-only), so that a matrix product with one
    takes the other operand's rows instead of multiplying."""
    blocks = layout.split(identity_rows(start, stop, layout.n, dtype))
    for block, (_, a, _) in zip(blocks, layout.slices()):
        if block.ndim == 2:
            mark_identity(block, start - a)
    return blocks
