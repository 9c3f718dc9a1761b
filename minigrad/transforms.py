"""Function transforms with JAX's names and semantics: grad, value_and_grad, vjp, jvp, jacrev,
jacfwd, jacobian (second derivatives, ``hvp`` and ``hessian``, are in ``hessians.py``).

Reverse mode records ``f`` on its arguments, made leaves that require grad, and runs backward
passes. Forward mode pushes a batch of ``B`` tangents (a leading axis) through every primitive's
JVP rule. What the transforms do with their arguments (``argnums``, inputs, outputs, tangents)
is in ``arguments.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import autograd
from .arguments import (
    FlatLayout,
    argnums_tuple,
    as_array,
    call,
    float_input,
    identity_tangents,
    is_tree,
    match_argnums,
    per_argument,
    recording_for_reverse,
    resolve_argnums,
    restricted,
    scalar_output,
    split_aux,
    tensor_output,
    with_leaves,
)
from .autodiff import forward_mode
from .batched_tangents import tangents_of
from .errors import ShapeError
from .random import default_generator
from .tangents import refuse_reverse_over_forward, tangent_inputs
from .tensor import Tensor, is_batched

# ----- reverse mode ------------------------------------------------------------------------------


_REDUCE_OR_USE_JACREV = "use mg.jacrev or mg.vjp for non-scalar outputs, or reduce it (e.g. .sum())"


def value_and_grad(
    f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable:
    """``f`` -> a function returning ``(f(*args), gradient)``.

    ``f`` must return a scalar. The gradient has the shape of the argument (a tuple of them when
    ``argnums`` is a tuple; a dict, tuple or list of Tensors gets one of the same nesting, as
    JAX's pytrees and ``torch.func``'s dicts of parameters). Arguments may be Tensors, arrays or
    Python numbers. With ``has_aux=True``, ``f`` returns ``(scalar, aux)`` and the result is
    ``((value, aux), gradient)``, ``aux`` not differentiated (JAX's convention).

    >>> import minigrad as mg
    >>> value, slope = mg.value_and_grad(lambda x: x**3)(2.0)
    >>> value.item(), slope.item()
    (8.0, 12.0)
    """
    argnums_tuple("grad", argnums)

    def value_and_grad_f(*args, **kwargs):
        out, grads, nested, aux = _recorded_gradients(f, argnums, args, kwargs, has_aux)
        if not nested:  # its graph is gone: hand back a plain value (with its tangent, if any)
            out, tangent = Tensor(out.data), out.tangent
            out.tangent = tangent
        return ((out, aux) if has_aux else out), grads

    return value_and_grad_f


def _recorded_gradients(f, argnums, args, kwargs, has_aux=False):
    """``(out, gradients, nested, aux)``: ``f`` recorded on leaves for its ``argnums``
    arguments, and one backward pass (see ``with_leaves`` for ``nested``)."""
    args, leaves, nested = with_leaves("grad", args, argnums)
    with recording_for_reverse(leaves):
        out, aux = split_aux("grad", call("grad", f, args, kwargs), has_aux, nested)
    scalar_output("grad", out, advice=_REDUCE_OR_USE_JACREV)
    if out.requires_grad:
        grads = autograd.grad(out, leaves, create_graph=nested)
    else:  # f does not depend on its arguments
        grads = [Tensor(np.zeros(x.shape, x.dtype)) for x in leaves]
    return out, per_argument(args, argnums, grads), nested, aux


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``f`` -> a function returning the gradient of the scalar ``f`` at its arguments.

    Shape: that of argument ``argnums`` (a tuple of gradients for a tuple ``argnums``; for a
    dict, tuple or list of Tensors, the same nesting of gradients). With ``has_aux=True``, ``f``
    returns ``(scalar, aux)`` and the result is ``(gradient, aux)``.

    >>> import minigrad as mg
    >>> mg.grad(lambda x: (x * x).sum())(mg.tensor([1.0, 2.0]))
    tensor([2., 4.])
    """
    argnums_tuple("grad", argnums)

    def grad_f(*args, **kwargs):
        _, grads, _, aux = _recorded_gradients(f, argnums, args, kwargs, has_aux)
        return (grads, aux) if has_aux else grads

    return grad_f


def vjp(f: Callable, *primals, has_aux: bool = False):
    """``(f(*primals), vjp_fn)``: ``vjp_fn(u)`` is the cotangent ``u^T J`` for each primal.

    ``u`` has the output's shape; ``vjp_fn`` returns a tuple with one array per primal, shaped
    like it (a dict, tuple or list of Tensors gets the same nesting). It can be called many
    times. With ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is
    ``(output, vjp_fn, aux)``.
    """
    everything = tuple(range(len(primals)))
    args, leaves, nested = with_leaves("vjp", primals, everything)
    with recording_for_reverse(leaves):
        out, aux = split_aux("vjp", call("vjp", f, args), has_aux, nested)

    def vjp_fn(cotangent):
        if isinstance(cotangent, Tensor):
            u = cotangent
        else:
            u = Tensor(as_array("vjp", cotangent, "the cotangent"))
        if u.shape != out.shape:
            raise ShapeError(
                f"vjp: the cotangent has shape {u.shape} but the output has shape {out.shape}; "
                f"pass one of the output's shape"
            )
        if not out.requires_grad:
            cotangents = [Tensor(np.zeros(x.shape, x.dtype)) for x in leaves]
        else:
            cotangents = autograd.grad(out, leaves, grad_output=u, retain_graph=True,
                                       create_graph=nested)  # fmt: skip
        return per_argument(args, everything, cotangents)

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


# ----- forward mode ------------------------------------------------------------------------------


def _push_tangents(fname: str, f, primals, tangents, batched=None, has_aux=False):
    """Run ``f`` in forward mode; return (output, its tangents, whether they came batched, the
    aux of ``has_aux``): tangents as a Tensor of shape ``(k, *out.shape)`` for a batch of ``k``
    directions, else ``out.shape``."""
    xs, B, batched = tangent_inputs(fname, primals, tangents, batched)
    with forward_mode():
        out, aux = split_aux(fname, call(fname, f, xs), has_aux)
        out = tensor_output(fname, out)
    refuse_reverse_over_forward(fname, out)
    return out, tangents_of(out, B, directions=batched), batched, aux


def jvp(f: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False):
    """Forward mode: ``(f(*primals), J @ tangents)``, the directional derivative.

    ``primals`` and ``tangents`` are tuples (or lists) with one entry per argument of ``f``,
    as in JAX: ``mg.jvp(f, (x,), (v,))``. A tangent has its primal's shape, or all have shape
    ``(k, *primal.shape)`` for a batch of ``k`` directions pushed in one pass (then the output
    tangent has shape ``(k, *out.shape)``). With ``has_aux=True``, ``f`` returns ``(output,
    aux)`` and the result is ``(output, tangent, aux)``.

    >>> import minigrad as mg
    >>> out, slope = mg.jvp(mg.sin, (0.0,), (2.0,))
    >>> slope.item()
    2.0
    """
    out, t_out, _, aux = _push_tangents("jvp", f, primals, tangents, has_aux=has_aux)
    return (out, t_out, aux) if has_aux else (out, t_out)


def _forward_jacobian(fname: str, f, argnums, args, has_aux=False):
    """The Jacobian of ``f`` in its ``argnums`` arguments at ``args`` (and the aux of
    ``has_aux``): one forward pass, the identity's rows as a batch of tangents."""
    nums = resolve_argnums(fname, argnums, len(args))
    xs = [float_input(fname, args[i], i) for i in nums]
    layout = FlatLayout([x.shape for x in xs])
    tangents = identity_tangents(layout, 0, layout.n)
    g = restricted(fname, f, args, nums)
    _, t_out, _, aux = _push_tangents(fname, g, tuple(xs), tuple(tangents), True, has_aux)
    if is_batched(t_out):  # under mg.vmap: moved and cut by operations
        blocks = layout.split(t_out.movedim(0, -1))  # out.shape + (n,)
    else:
        blocks = [Tensor(block) for block in layout.split(np.moveaxis(t_out.data, 0, -1))]
    return match_argnums(argnums, blocks), aux


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``f`` -> its Jacobian by forward mode: shape ``out.shape + x.shape``, from one pass with
    the identity's rows as a batch of tangents. Cheaper than ``jacrev`` when inputs are few.
    With ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is ``(jacobian,
    aux)``."""
    argnums_tuple("jacfwd", argnums)

    def jacfwd_f(*args):
        jacobian, aux = _forward_jacobian("jacfwd", f, argnums, args, has_aux)
        return (jacobian, aux) if has_aux else jacobian

    return jacfwd_f


def _reverse_jacobian(fname: str, out, args, leaves, nested: bool, argnums):
    """The Jacobian of the recorded ``out`` in ``leaves`` (the arguments ``argnums`` of
    ``args``): one backward pass per element of ``out``, the graph kept between them."""
    from .functions import stack

    out = tensor_output(fname, out)
    if not out.requires_grad:
        zeros = [Tensor(np.zeros(out.shape + x.shape, x.dtype)) for x in leaves]
        return per_argument(args, argnums, zeros)
    rows = [[] for _ in leaves]
    for k in range(out.numel()):
        u = np.zeros(out.numel(), out.dtype)
        u[k] = 1
        # NOTE: rows stay Tensors (recorded when nested, carrying tangents in forward mode)
        # so that jacrev composes with the other transforms.
        grads = autograd.grad(out, leaves, grad_output=u.reshape(out.shape),
                              retain_graph=True, create_graph=nested)  # fmt: skip
        for r, g in zip(rows, grads):
            r.append(g)
    blocks = [stack(r).reshape(out.shape + x.shape) for r, x in zip(rows, leaves)]
    return per_argument(args, argnums, blocks)


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``f`` -> its Jacobian by reverse mode: shape ``out.shape + x.shape``, one backward pass
    per output element (the graph is kept between them). Cheaper than ``jacfwd`` when outputs
    are few. A dict, tuple or list argument of Tensors gets Jacobians of the same nesting. With
    ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is ``(jacobian, aux)``."""
    argnums_tuple("jacrev", argnums)

    def jacrev_f(*args):
        args, leaves, nested = with_leaves("jacrev", args, argnums)
        with recording_for_reverse(leaves):
            out, aux = split_aux("jacrev", call("jacrev", f, args), has_aux, nested)
        jacobian = _reverse_jacobian("jacrev", out, args, leaves, nested, argnums)
        return (jacobian, aux) if has_aux else jacobian

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
    argnums_tuple("jacobian", argnums)

    def jacobian_f(*args):
        random_state = default_generator.rng.bit_generator.state
        full, leaves, nested = with_leaves("jacobian", args, argnums)
        with recording_for_reverse(leaves):
            out = tensor_output("jacobian", call("jacobian", f, full))
        trees = any(is_tree(args[i]) for i in resolve_argnums("jacobian", argnums, len(args)))
        if trees or sum(x.numel() for x in leaves) > out.numel():  # (forward: Tensors only)
            return _reverse_jacobian("jacobian", out, full, leaves, nested, argnums)
        del out, full, leaves  # free the recording before the forward pass
        default_generator.rng.bit_generator.state = random_state
        return _forward_jacobian("jacobian", f, argnums, args)[0]

    return jacobian_f
