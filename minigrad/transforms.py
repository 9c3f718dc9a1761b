"""Function transforms with JAX's names and semantics: grad, value_and_grad, vjp, jvp, jacrev,
jacfwd, jacobian, hvp, hessian.

Forward mode pushes a batch of ``B`` tangents (a leading axis) through every primitive's JVP
rule. Because VJP rules are Tensor ops, running backward while the inputs carry tangents pushes
the tangents through the backward pass too: the tangent of the gradient is the Hessian times the
tangent (forward-over-reverse). ``hvp`` does that for given vectors, ``hessian`` for the rows of
the identity, in chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from . import autodiff, autograd
from .autodiff import forward_mode, mode
from .creation import default_generator
from .errors import BackwardError, DTypeError, ShapeError
from .tensor import Tensor

# ----- inputs ------------------------------------------------------------------------------------


def _is_int(a) -> bool:
    return isinstance(a, (int, np.integer)) and not isinstance(a, bool)


def _argnums_tuple(fname: str, argnums) -> tuple[int, ...]:
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


def _argnums(fname: str, argnums, nargs: int) -> tuple[int, ...]:
    """``argnums`` as non-negative indices into a call with ``nargs`` positional arguments."""
    nums = _argnums_tuple(fname, argnums)
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
    nums = tuple(int(a) % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ShapeError(f"{fname}: argnums {argnums!r} names an argument twice")
    return nums


def _as_array(fname: str, value, what: str) -> np.ndarray:
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
            f"{shapes}, which is not one array; minigrad differentiates arrays, not lists of "
            f"them: pass the entries as separate arguments of f and name them all in argnums "
            f"(f(W, b) with argnums=(0, 1) instead of f([W, b])), or concatenate them"
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


def _float_input(fname: str, value, position: int) -> Tensor:
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
    data = _as_array(fname, value, f"argument {position}")
    return Tensor(data if data.dtype.kind in "fc" else data.astype(np.float64))


def _single(argnums, values):
    """One value for an int ``argnums``, a tuple for a sequence (JAX's convention)."""
    return values[0] if isinstance(argnums, (int, np.integer)) else tuple(values)


def _check_output(fname: str, out) -> Tensor:
    if not isinstance(out, Tensor):
        raise ShapeError(f"{fname}: the function must return a Tensor, not {type(out).__name__}")
    return out


def _with_leaves(fname: str, args, argnums):
    """``args`` with the differentiated ones replaced by leaves that require grad.

    An argument that already requires grad (an outer differentiation, or a parameter) is used
    itself, so the result stays connected to it; ``nested`` says whether that happened (then
    gradients are recorded, to be differentiated again). A fresh leaf keeps the argument's
    tangent, so forward mode reaches through (forward-over-reverse).
    """
    nums = _argnums(fname, argnums, len(args))
    args = list(args)
    leaves, nested = [], False
    for i in nums:
        x = _float_input(fname, args[i], i)
        if x.requires_grad and mode().grad_enabled:
            nested = True
        else:
            tangent, x = x.tangent, Tensor(x.data, requires_grad=True)
            x.tangent = tangent
        args[i] = x
        leaves.append(x)
    return args, leaves, nested


# The inputs of the reverse-mode transforms (grad, vjp, jacrev) whose ``f`` is running: forward
# mode inside ``f`` must not take them as plain values (see ``_differentiated``).
_reverse_inputs: ContextVar[tuple[Tensor, ...]] = ContextVar("reverse_inputs", default=())


@contextmanager
def _tracing(leaves):
    """Grad mode on while ``f`` runs on ``leaves``, which are known to be differentiated."""
    token = _reverse_inputs.set(_reverse_inputs.get() + tuple(leaves))
    try:
        with autodiff.enable_grad():
            yield
    finally:
        _reverse_inputs.reset(token)


def _differentiated(x: Tensor) -> bool:
    """Whether a recorded computation will be differentiated through ``x``: it is an input of an
    enclosing grad/vjp/jacrev, or it was computed from a tensor that requires grad. A leaf that
    merely requires grad (a parameter) is not: forward mode then takes its value, as JAX does."""
    if not (x.requires_grad and mode().grad_enabled):
        return False
    return not x.is_leaf or any(x is leaf for leaf in _reverse_inputs.get())


# ----- reverse mode ------------------------------------------------------------------------------


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> a function returning ``(f(*args), gradient)``.

    ``f`` must return a scalar. The gradient has the shape of the argument (a tuple of them when
    ``argnums`` is a tuple). Arguments may be Tensors, arrays or Python numbers.

    >>> import minigrad as mg
    >>> value, slope = mg.value_and_grad(lambda x: x**3)(2.0)
    >>> value.item(), slope.item()
    (8.0, 12.0)
    """
    _argnums_tuple("grad", argnums)

    def value_and_grad_f(*args, **kwargs):
        args, leaves, nested = _with_leaves("grad", args, argnums)
        with _tracing(leaves):
            out = f(*args, **kwargs)
        if not isinstance(out, Tensor) or out.size != 1:
            what = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
            raise ShapeError(
                f"grad: the function must return a scalar Tensor, it returned {what}; use "
                f"mg.jacrev or mg.vjp for non-scalar outputs, or reduce it (e.g. .sum())"
            )
        if out.requires_grad:
            grads = autograd.grad(out, leaves, create_graph=nested)
        else:  # f does not depend on its arguments
            grads = [Tensor(np.zeros_like(x.data)) for x in leaves]
        if not nested:  # its graph is gone: hand back a plain value (with its tangent, if any)
            out, tangent = Tensor(out.data), out.tangent
            out.tangent = tangent
        return out, _single(argnums, grads)

    return value_and_grad_f


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> a function returning the gradient of the scalar ``f`` at its arguments.

    Shape: that of argument ``argnums`` (a tuple of gradients for a tuple ``argnums``).

    >>> import minigrad as mg
    >>> mg.grad(lambda x: (x * x).sum())(mg.tensor([1.0, 2.0]))
    tensor([2., 4.])
    """
    value_and_grad_f = value_and_grad(f, argnums)

    def grad_f(*args, **kwargs):
        return value_and_grad_f(*args, **kwargs)[1]

    return grad_f


def vjp(f: Callable, *primals):
    """``(f(*primals), vjp_fn)``: ``vjp_fn(u)`` is the cotangent ``u^T J`` for each primal.

    ``u`` has the output's shape; ``vjp_fn`` returns a tuple with one array per primal, shaped
    like it. It can be called many times.
    """
    args, leaves, nested = _with_leaves("vjp", primals, tuple(range(len(primals))))
    with _tracing(leaves):
        out = f(*args)

    def vjp_fn(cotangent):
        if isinstance(cotangent, Tensor):
            u = cotangent
        else:
            u = Tensor(_as_array("vjp", cotangent, "the cotangent"))
        if u.shape != out.shape:
            raise ShapeError(
                f"vjp: the cotangent has shape {u.shape} but the output has shape {out.shape}; "
                f"pass one of the output's shape"
            )
        if not out.requires_grad:
            return tuple(Tensor(np.zeros_like(x.data)) for x in leaves)
        return autograd.grad(out, leaves, grad_output=u, retain_graph=True, create_graph=nested)

    return out, vjp_fn


# ----- forward mode ------------------------------------------------------------------------------


def _tangent_batch(fname: str, primal: Tensor, tangent, batched: bool | None, position: int):
    """The tangent with a leading batch axis; ``batched`` None: decide by its shape."""
    if isinstance(tangent, Tensor):
        t = tangent.data
    else:
        t = _as_array(fname, tangent, f"the tangent of argument {position}")
    if batched is None:
        batched = t.shape != primal.shape and t.shape[1:] == primal.shape
    if (t.shape[1:] if batched else t.shape) != primal.shape:
        raise ShapeError(
            f"{fname}: a tangent has shape {t.shape} but its primal has shape {primal.shape}; "
            f"give a tangent of the primal's shape (or (k, *shape) for a batch of k)"
        )
    t = t.astype(np.result_type(t.dtype, primal.dtype), copy=False)
    return (t if batched else t[None]), batched


def _describe(value) -> str:
    shape = getattr(value, "shape", None)
    return type(value).__name__ + ("" if shape is None else f" of shape {shape}")


def tangent_inputs(fname: str, primals, tangents, batched=None, requires_grad=False):
    """Fresh input Tensors carrying the tangents, with the batch size ``B`` and whether the
    tangents came batched (``(k, *shape)``) or one per primal (``shape``, then ``B = 1``).

    A primal that requires grad gives its value, unless a recorded computation is to be
    differentiated through it: tangents are not recorded (no reverse-over-forward)."""
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, (tuple, list)):
            raise ShapeError(
                f"{fname}: {name} must be a tuple or list with one entry per argument of f, got "
                f"{_describe(value)}; for a function of one argument write "
                f"mg.{fname}(f, (x,), (v,))"
            )
    if len(primals) != len(tangents):
        raise ShapeError(
            f"{fname}: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one tangent "
            f"per primal"
        )
    xs, sizes, flags = [], set(), set()
    for i, (p, t) in enumerate(zip(primals, tangents)):
        x = _float_input(fname, p, i)
        if x.tangent is not None or mode().forward_level:
            raise BackwardError(
                f"{fname}: argument {i} already carries a tangent: forward mode does not nest; "
                f"differentiate the inner function first, or use forward-over-reverse (mg.hvp)"
            )
        if _differentiated(x):
            raise BackwardError(
                f"{fname}: argument {i} is being differentiated in reverse mode (it is an input "
                f"of an enclosing mg.grad, mg.vjp or mg.jacrev, or was computed from a tensor "
                f"that requires grad), and forward-mode results cannot be: their tangents are "
                f"not recorded (reverse-over-forward is not supported); differentiate in "
                f"reverse mode only (e.g. mg.jacrev(mg.grad(f))), put the reverse-mode "
                f"transform inside the forward-mode one (forward-over-reverse), or pass "
                f"x.detach() to use its value as a constant"
            )
        t, is_batched = _tangent_batch(fname, x, t, batched, i)
        leaf = Tensor(x.data, requires_grad=requires_grad)
        leaf.tangent = t
        xs.append(leaf)
        sizes.add(t.shape[0])
        flags.add(is_batched)
    if len(sizes) > 1 or len(flags) > 1:
        raise ShapeError(
            f"{fname}: every tangent needs the same batch size (leading axis), got {sorted(sizes)}"
        )
    return xs, (sizes.pop() if sizes else 1), (flags.pop() if flags else False)


def _push_tangents(fname: str, f, primals, tangents, batched=None):
    """Run ``f`` in forward mode; return (output, its tangent batch, whether batched)."""
    xs, B, batched = tangent_inputs(fname, primals, tangents, batched)
    with forward_mode():
        out = _check_output(fname, f(*xs))
    t_out = out.tangent if out.tangent is not None else np.zeros((B, *out.shape), out.dtype)
    out.tangent = None
    return out, t_out, batched


def jvp(f: Callable, primals: Sequence, tangents: Sequence):
    """Forward mode: ``(f(*primals), J @ tangents)``, the directional derivative.

    ``primals`` and ``tangents`` are tuples (or lists) with one entry per argument of ``f``,
    as in JAX: ``mg.jvp(f, (x,), (v,))``. A tangent has its primal's shape, or all have shape
    ``(k, *primal.shape)`` for a batch of ``k`` directions pushed in one pass (then the output
    tangent has shape ``(k, *out.shape)``).

    >>> import minigrad as mg
    >>> out, slope = mg.jvp(mg.sin, (0.0,), (2.0,))
    >>> slope.item()
    2.0
    """
    out, t_out, batched = _push_tangents("jvp", f, primals, tangents)
    return out, Tensor(t_out if batched else t_out[0])


def _forward_jacobian(fname: str, f, argnums, args):
    """The Jacobian of ``f`` in its ``argnums`` arguments at ``args``: one forward pass, the
    identity's rows as a batch of tangents."""
    nums = _argnums(fname, argnums, len(args))
    xs = [_float_input(fname, args[i], i) for i in nums]
    sizes = [x.size for x in xs]
    n = sum(sizes)
    eye = np.eye(n)
    tangents, start = [], 0
    for x, size in zip(xs, sizes):
        tangents.append(eye[:, start : start + size].reshape((n, *x.shape)))
        start += size

    def g(*diff):
        full = list(args)
        for i, d in zip(nums, diff):
            full[i] = d
        return f(*full)

    out, t_out, _ = _push_tangents(fname, g, tuple(xs), tuple(tangents), batched=True)
    jac = np.moveaxis(t_out, 0, -1)  # out.shape + (n,)
    blocks, start = [], 0
    for x, size in zip(xs, sizes):
        blocks.append(Tensor(jac[..., start : start + size].reshape(out.shape + x.shape)))
        start += size
    return _single(argnums, blocks)


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> its Jacobian by forward mode: shape ``out.shape + x.shape``, from one pass with
    the identity's rows as a batch of tangents. Cheaper than ``jacrev`` when inputs are few."""
    _argnums_tuple("jacfwd", argnums)

    def jacfwd_f(*args):
        return _forward_jacobian("jacfwd", f, argnums, args)

    return jacfwd_f


def _reverse_jacobian(fname: str, out, leaves, nested: bool, argnums):
    """The Jacobian of the recorded ``out`` in ``leaves``: one backward pass per element of
    ``out``, the graph kept between them."""
    from .functions import stack

    out = _check_output(fname, out)
    if not out.requires_grad:
        return _single(argnums, [Tensor(np.zeros(out.shape + x.shape, x.dtype)) for x in leaves])
    rows = [[] for _ in leaves]
    for k in range(out.size):
        u = np.zeros(out.size, out.dtype)
        u[k] = 1
        # NOTE: rows stay Tensors (recorded when nested, carrying tangents in forward mode)
        # so that jacrev composes with the other transforms.
        grads = autograd.grad(out, leaves, grad_output=u.reshape(out.shape),
                              retain_graph=True, create_graph=nested)  # fmt: skip
        for r, g in zip(rows, grads):
            r.append(g)
    return _single(argnums, [stack(r).reshape(out.shape + x.shape) for r, x in zip(rows, leaves)])


def jacrev(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> its Jacobian by reverse mode: shape ``out.shape + x.shape``, one backward pass
    per output element (the graph is kept between them). Cheaper than ``jacfwd`` when outputs
    are few."""
    _argnums_tuple("jacrev", argnums)

    def jacrev_f(*args):
        args, leaves, nested = _with_leaves("jacrev", args, argnums)
        with _tracing(leaves):
            out = f(*args)
        return _reverse_jacobian("jacrev", out, leaves, nested, argnums)

    return jacrev_f


def jacobian(f: Callable, argnums: int | Sequence[int] = 0, mode: str = "auto") -> Callable:
    """``f`` -> its Jacobian, shape ``out.shape + x.shape``. ``mode`` "fwd" (``jacfwd``), "rev"
    (``jacrev``) or "auto": forward mode when the inputs have no more elements than the output,
    reverse otherwise.

    "auto" learns the output's size by running ``f`` once, recorded for reverse mode. When it
    picks reverse mode, the backward passes reuse that run (one call of ``f``, as ``jacrev``);
    when it picks forward mode, ``f`` runs a second time, with minigrad's random generator put
    back first, so that dropout draws the same numbers as ``jacfwd`` would.
    """
    if mode not in ("auto", "fwd", "rev"):
        raise ShapeError(f"jacobian: mode {mode!r} is not one of 'auto', 'fwd', 'rev'")
    if mode != "auto":
        return (jacfwd if mode == "fwd" else jacrev)(f, argnums)
    _argnums_tuple("jacobian", argnums)

    def jacobian_f(*args):
        random_state = default_generator.rng.bit_generator.state
        full, leaves, nested = _with_leaves("jacobian", args, argnums)
        with _tracing(leaves):
            out = _check_output("jacobian", f(*full))
        if sum(x.size for x in leaves) > out.size:
            return _reverse_jacobian("jacobian", out, leaves, nested, argnums)
        del out, full, leaves  # free the recording before the forward pass
        default_generator.rng.bit_generator.state = random_state
        return _forward_jacobian("jacobian", f, argnums, args)

    return jacobian_f
