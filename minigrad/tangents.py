"""Forward mode's inputs and outputs: what ``jvp``, ``jacfwd``, ``hvp`` and ``hessian`` push.

``tangent_inputs`` checks the primals and tangents and makes fresh inputs carrying the tangents
(a leading axis of ``B`` directions; inside ``mg.vmap``, on the whole batch, see
``batched_tangents.py``). ``refuse_reverse_over_forward`` stops a forward-mode result from
being differentiated by an enclosing ``grad``: its tangents are not recorded, so that gradient
would silently miss them.
"""

from __future__ import annotations

import numpy as np

from .arguments import (
    as_array,
    describe,
    differentiated_in_reverse,
    float_input,
    reverse_inputs,
)
from .autodiff import mode
from .backward import toposort
from .batched_tangents import carrying
from .batching import BatchedArray, level_of
from .errors import BackwardError, ShapeError
from .tensor import Tensor


def _tangent_batch(fname: str, primal: Tensor, tangent, batched: bool | None, position: int):
    """The tangent with a leading batch axis; ``batched`` None: decide by its shape."""
    if isinstance(tangent, Tensor):
        t = tangent.data
    else:
        t = as_array(fname, tangent, f"the tangent of argument {position}")
    if batched is None:
        batched = t.shape != primal.shape and t.shape[1:] == primal.shape
    if (t.shape[1:] if batched else t.shape) != primal.shape:
        raise ShapeError(
            f"{fname}: a tangent has shape {t.shape} but its primal has shape {primal.shape}; "
            f"give a tangent of the primal's shape (or (k, *shape) for a batch of k)"
        )
    if type(t) is BatchedArray:  # batched under mg.vmap: carried whole (``carrying``)
        return tangent, batched
    if t.dtype != primal.dtype:
        t = t.astype(np.result_type(t.dtype, primal.dtype), copy=False)
    return (t if batched else t[None]), batched


def tangent_inputs(fname: str, primals, tangents, batched=None, requires_grad=False):
    """Fresh input Tensors carrying the tangents, with the batch size ``B`` and whether the
    tangents came batched (``(k, *shape)``) or one per primal (``shape``, then ``B = 1``).

    A primal that requires grad gives its value, unless a recorded computation is to be
    differentiated through it: tangents are not recorded (no reverse-over-forward)."""
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, (tuple, list)):
            raise ShapeError(
                f"{fname}: {name} must be a tuple or list with one entry per argument of f, got "
                f"{describe(value)}; for a function of one argument write "
                f"mg.{fname}(f, (x,), (v,))"
            )
    if len(primals) != len(tangents):
        raise ShapeError(
            f"{fname}: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one tangent "
            f"per primal"
        )
    xs, sizes, flags = [], set(), set()
    forward_level = mode().forward_level
    for i, (p, t) in enumerate(zip(primals, tangents)):
        x = float_input(fname, p, i)
        if x.tangent is not None or forward_level:
            raise BackwardError(
                f"{fname}: argument {i} already carries a tangent: forward mode does not nest; "
                f"differentiate the inner function first, or use forward-over-reverse (mg.hvp)"
            )
        if x.requires_grad and differentiated_in_reverse(x):
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
        if isinstance(t, Tensor) or level_of(x):  # batched under mg.vmap (see ``carrying``)
            directions = is_batched or not isinstance(t, Tensor)  # an array is (B, *shape)
            leaf = carrying(x, t, directions, requires_grad)
            sizes.add(t.shape[0] if directions else 1)
        else:
            leaf = Tensor(x.data, requires_grad=requires_grad)
            leaf.tangent = t
            sizes.add(t.shape[0])
        xs.append(leaf)
        flags.add(is_batched)
    if len(sizes) > 1 or len(flags) > 1:
        raise ShapeError(
            f"{fname}: every tangent needs the same batch size (leading axis), got {sorted(sizes)}"
        )
    return xs, (sizes.pop() if sizes else 1), (flags.pop() if flags else False)


def refuse_reverse_over_forward(fname: str, out: Tensor) -> None:
    """Refuse a forward pass whose output an enclosing ``grad``, ``vjp`` or ``jacrev``
    differentiates (its graph reaches one of their inputs, through a value ``f`` closes over):
    the tangents are not recorded, so that gradient would silently miss them."""
    inputs = reverse_inputs()
    if not inputs or not (out.requires_grad and mode().grad_enabled):
        return
    ids = {id(x) for x in inputs}
    if any(id(t) in ids for t in toposort(out)):
        raise BackwardError(
            f"{fname}: the function uses a tensor that an enclosing mg.grad, mg.vjp or "
            f"mg.jacrev differentiates, and forward-mode results cannot be differentiated in "
            f"reverse mode (their tangents are not recorded: the gradient would miss them); "
            f"use reverse mode only (e.g. mg.jacrev(mg.grad(f)) or mg.vjp), or put the "
            f"reverse-mode transform inside the forward-mode one"
        )
