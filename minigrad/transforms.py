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

import numpy as np

from . import autodiff
from .autodiff import forward_mode, mode
from .errors import BackwardError, DTypeError, ShapeError
from .tensor import Tensor

# ----- inputs ------------------------------------------------------------------------------------


def _argnums(fname: str, argnums, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) else tuple(argnums)
    if not nums:
        raise ShapeError(f"{fname}: argnums is empty; name at least one argument")
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
    data = np.asarray(value)
    return Tensor(data if data.dtype.kind in "fc" else data.astype(np.float64))


def _single(argnums, values):
    """One value for an int ``argnums``, a tuple for a sequence (JAX's convention)."""
    return values[0] if isinstance(argnums, (int, np.integer)) else tuple(values)


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

    def value_and_grad_f(*args, **kwargs):
        args, leaves, nested = _with_leaves("grad", args, argnums)
        with autodiff.enable_grad():
            out = f(*args, **kwargs)
        if not isinstance(out, Tensor) or out.size != 1:
            what = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
            raise ShapeError(
                f"grad: the function must return a scalar Tensor, it returned {what}; use "
                f"mg.jacrev or mg.vjp for non-scalar outputs, or reduce it (e.g. .sum())"
            )
        if out.requires_grad:
            grads = autodiff.grad(out, leaves, create_graph=nested)
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
    with autodiff.enable_grad():
        out = f(*args)

    def vjp_fn(cotangent):
        u = cotangent if isinstance(cotangent, Tensor) else Tensor(np.asarray(cotangent))
        if u.shape != out.shape:
            raise ShapeError(
                f"vjp: the cotangent has shape {u.shape} but the output has shape {out.shape}; "
                f"pass one of the output's shape"
            )
        if not out.requires_grad:
            return tuple(Tensor(np.zeros_like(x.data)) for x in leaves)
        return autodiff.grad(out, leaves, grad_output=u, retain_graph=True, create_graph=nested)

    return out, vjp_fn


# ----- forward mode ------------------------------------------------------------------------------


def _tangent_batch(fname: str, primal: Tensor, tangent, batched: bool | None):
    """The tangent with a leading batch axis; ``batched`` None: decide by its shape."""
    t = np.asarray(tangent.data if isinstance(tangent, Tensor) else tangent)
    if batched is None:
        batched = t.shape != primal.shape and t.shape[1:] == primal.shape
    if (t.shape[1:] if batched else t.shape) != primal.shape:
        raise ShapeError(
            f"{fname}: a tangent has shape {t.shape} but its primal has shape {primal.shape}; "
            f"give a tangent of the primal's shape (or (k, *shape) for a batch of k)"
        )
    t = t.astype(np.result_type(t.dtype, primal.dtype), copy=False)
    return (t if batched else t[None]), batched


def tangent_inputs(fname: str, primals, tangents, batched=None, requires_grad=False):
    """Fresh input Tensors carrying the tangents, with the batch size ``B`` and whether the
    tangents came batched (``(k, *shape)``) or one per primal (``shape``, then ``B = 1``)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ShapeError(f"{fname}: primals and tangents must be tuples (one entry per argument)")
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
        if x.requires_grad and mode().grad_enabled:
            raise BackwardError(
                f"{fname}: argument {i} requires grad, but tangents are not differentiable "
                f"(reverse-over-forward is not supported); use mg.hvp (forward-over-reverse) or "
                f"pass a detached value (x.detach())"
            )
        t, is_batched = _tangent_batch(fname, x, t, batched)
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
        out = f(*xs)
    if not isinstance(out, Tensor):
        raise ShapeError(f"{fname}: the function must return a Tensor, not {type(out).__name__}")
    t_out = out.tangent if out.tangent is not None else np.zeros((B, *out.shape), out.dtype)
    out.tangent = None
    return out, t_out, batched


def jvp(f: Callable, primals: Sequence, tangents: Sequence):
    """Forward mode: ``(f(*primals), J @ tangents)``, the directional derivative.

    ``tangents`` has one entry per primal, of the primal's shape, or all of shape
    ``(k, *primal.shape)`` for a batch of ``k`` directions pushed in one pass (then the output
    tangent has shape ``(k, *out.shape)``).

    >>> import minigrad as mg
    >>> out, slope = mg.jvp(mg.sin, (0.0,), (2.0,))
    >>> slope.item()
    2.0
    """
    out, t_out, batched = _push_tangents("jvp", f, tuple(primals), tuple(tangents))
    return out, Tensor(t_out if batched else t_out[0])


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> its Jacobian by forward mode: shape ``out.shape + x.shape``, from one pass with
    the identity's rows as a batch of tangents. Cheaper than ``jacrev`` when inputs are few."""

    def jacfwd_f(*args):
        nums = _argnums("jacfwd", argnums, len(args))
        xs = [_float_input("jacfwd", args[i], i) for i in nums]
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

        out, t_out, _ = _push_tangents("jacfwd", g, tuple(xs), tuple(tangents), batched=True)
        jac = np.moveaxis(t_out, 0, -1)  # out.shape + (n,)
        blocks, start = [], 0
        for x, size in zip(xs, sizes):
            blocks.append(Tensor(jac[..., start : start + size].reshape(out.shape + x.shape)))
            start += size
        return _single(argnums, blocks)

    return jacfwd_f


def jacrev(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``f`` -> its Jacobian by reverse mode: shape ``out.shape + x.shape``, one backward pass
    per output element (the graph is kept between them). Cheaper than ``jacfwd`` when outputs
    are few."""

    def jacrev_f(*args):
        from .shaping import stack

        args, leaves, nested = _with_leaves("jacrev", args, argnums)
        with autodiff.enable_grad():
            out = f(*args)
        if not isinstance(out, Tensor):
            raise ShapeError(f"jacrev: the function must return a Tensor, not {type(out)}")
        if not out.requires_grad:
            return _single(
                argnums, [Tensor(np.zeros(out.shape + x.shape, x.dtype)) for x in leaves]
            )
        rows = [[] for _ in leaves]
        for k in range(out.size):
            u = np.zeros(out.size, out.dtype)
            u[k] = 1
            # NOTE: rows stay Tensors (recorded when nested, carrying tangents in forward mode)
            # so that jacrev composes with the other transforms.
            grads = autodiff.grad(out, leaves, grad_output=u.reshape(out.shape),
                                  retain_graph=True, create_graph=nested)  # fmt: skip
            for r, g in zip(rows, grads):
                r.append(g)
        return _single(
            argnums, [stack(r).reshape(out.shape + x.shape) for r, x in zip(rows, leaves)]
        )

    return jacrev_f


def jacobian(f: Callable, argnums: int | Sequence[int] = 0, mode: str = "auto") -> Callable:
    """``f`` -> its Jacobian, shape ``out.shape + x.shape``. ``mode`` "fwd", "rev", or "auto":
    forward mode when the inputs have no more elements than the output, reverse otherwise."""
    if mode not in ("auto", "fwd", "rev"):
        raise ShapeError(f"jacobian: mode {mode!r} is not one of 'auto', 'fwd', 'rev'")

    def jacobian_f(*args):
        chosen = mode
        if mode == "auto":
            nums = _argnums("jacobian", argnums, len(args))
            n_in = sum(np.size(args[i].data if isinstance(args[i], Tensor) else args[i])
                       for i in nums)  # fmt: skip
            with autodiff.no_grad():
                n_out = f(*args).size
            chosen = "fwd" if n_in <= n_out else "rev"
        return (jacfwd if chosen == "fwd" else jacrev)(f, argnums)(*args)

    return jacobian_f
