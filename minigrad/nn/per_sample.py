"""Per-sample gradients, and per-sample gradient norms without the per-sample gradients.

``per_sample_grads``: ``torch.func``'s recipe, ``vmap(grad(loss of one example))`` over a model
made a function of its parameters (``functional_call``): one batched computation, not one
backward pass per example. A per-sample gradient is the gradient of that example's own loss:
the loss function sees one example as a batch of one, so with ``reduction="mean"`` (the default)
it is that example's loss itself, and the batch's mean-reduced gradient is the mean of the
per-sample ones.

``per_sample_grad_norms``: each example's gradient norm, for Linear layers from the layer's
inputs and output gradients alone (the identity in ``_linear_squared_norms``), with ``vmap``
for the other parameters.
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad as gradients_of
from ..batching import BatchingError
from ..tensor import Tensor
from ..transforms import grad
from ..vectorize import vmap
from .layers import Linear
from .module import Module
from .stateless import functional_call


def per_sample_grads(model: Module, loss_fn, inputs, targets, chunk_size: int | None = None):
    """``{name: (B, *parameter.shape)}``: the gradient of each example's loss
    ``loss_fn(model(x_i[None]), y_i[None])`` with respect to each parameter, for the ``B``
    examples of ``inputs`` and ``targets`` (batched on their first axis).

    BatchNorm in training mode is refused, as ``torch.func`` does (its batch statistics mix the
    examples): call ``model.eval()`` first. Dropout in training mode is refused too (vmap's
    ``randomness="error"``).
    """
    for name, module in model.named_modules():
        _refuse_batch_statistics(module, name, "per_sample_grads")
    names = [name for name, _ in model.named_parameters()]
    return _vmapped_grads(model, loss_fn, inputs, targets, names, chunk_size)


def per_sample_grad_norms(
    model: Module, loss_fn, inputs, targets, per_parameter: bool = False,
    chunk_size: int | None = None,
):  # fmt: skip
    """The ``(B,)`` norms of each example's gradient over all parameters together: the norms of
    ``per_sample_grads(model, loss_fn, inputs, targets)`` (each example's own loss, the same
    refusals), without making the ``(B, *parameter.shape)`` gradients of Linear layers. With
    ``per_parameter=True``, ``(norms, {name: (B,) norms of that parameter's gradients})``.

    One forward pass of the batch records each Linear layer's input ``x`` and output; the
    per-example losses ``loss_fn(out_i[None], y_i[None])`` (under ``vmap``, the very losses
    ``per_sample_grads`` differentiates) are summed, and one backward pass of that sum gives the
    gradient ``g`` of each Linear output: example ``i``'s own, since no other example's loss
    depends on ``out_i``. A batch mean-reduced loss would scale it by ``1/B``; the sum needs no
    assumption about how ``loss_fn`` reduces. For a Linear layer ``y = x W^T + b`` the example's
    ``dW_i = sum_t g_it x_it^T`` over the rows ``t`` of its input (one for a plain batch, a
    sequence's positions otherwise), so ``||dW_i||^2 = sum_{t,s} (g_it . g_is)(x_it . x_is)``:
    ``||x_i||^2 ||g_i||^2`` for one row, and ``||db_i||^2 = ||sum_t g_it||^2``.

    The batch axis of a Linear layer's input is taken to be its first. Parameters of other
    layers, of a Linear layer whose parameters are used elsewhere too, whose forward is
    overridden, or whose input's first axis is not the batch's, get ``vmap(grad)`` as in
    ``per_sample_grads``, for those parameters only.
    """
    modules, names = _linear_layers(model, "per_sample_grad_norms")
    size = inputs.shape[0]
    squared = {}
    if modules:
        calls = _linear_calls(model, modules, loss_fn, inputs, targets, size)
        for module, (weight, bias) in modules.items():
            if module in calls:  # (not called, or not batched on its first axis: vmap below)
                squared[weight], bias_sq = _linear_squared_norms(calls[module], size)
                if bias is not None:
                    squared[bias] = bias_sq
    rest = [name for name in names if name not in squared]
    if rest:
        grads = _vmapped_grads(model, loss_fn, inputs, targets, rest, chunk_size)
        for name, g in grads.items():
            squared[name] = np.square(g.data).reshape(size, -1).sum(axis=1)
    norms = Tensor(np.sqrt(sum(squared[name] for name in names)))
    if not per_parameter:
        return norms
    return norms, {name: Tensor(np.sqrt(squared[name])) for name in names}


def _linear_squared_norms(calls: list, size: int) -> tuple:
    """Each example's squared gradient norms of a Linear layer's weight and bias, from its
    ``(input, output gradient)`` arrays over its calls (rows of the example: every axis but the
    first, and the rows of every call, since the gradient sums over them)."""
    if len(calls) == 1 and calls[0][0].ndim == 2:  # one row per example: ||x_i||^2 ||g_i||^2
        x, g = calls[0]
        g2 = np.einsum("bo,bo->b", g, g)
        return np.einsum("bi,bi->b", x, x) * g2, g2
    xs = np.concatenate([x.reshape(size, -1, x.shape[-1]) for x, _ in calls], axis=1)
    gs = np.concatenate([g.reshape(size, -1, g.shape[-1]) for _, g in calls], axis=1)
    rows, d_in, d_out = xs.shape[1], xs.shape[2], gs.shape[2]
    if rows * (d_in + d_out) <= d_in * d_out:  # the Gram matrices are the smaller
        weight = np.einsum("bts,bts->b", gs @ gs.transpose(0, 2, 1), xs @ xs.transpose(0, 2, 1))
    else:  # the per-example gradients are the smaller
        dw = gs.transpose(0, 2, 1) @ xs
        weight = np.einsum("boi,boi->b", dw, dw)
    db = gs.sum(axis=1)
    return weight, np.einsum("bo,bo->b", db, db)


def _linear_layers(model: Module, op: str) -> tuple:
    """``({Linear module: (weight name, bias name or None)}, parameter names)``: the Linear
    layers whose norms the identity gives (a plain forward, parameters of their own), in one
    walk over the modules that also refuses BatchNorm in training mode."""
    owners = {}  # id(parameter) -> how many modules hold it as their own
    candidates = []
    for path, module in model.named_modules():
        _refuse_batch_statistics(module, path, op)
        for p in module.parameters(recurse=False):
            owners[id(p)] = owners.get(id(p), 0) + 1
        if isinstance(module, Linear) and type(module).forward is Linear.forward:
            candidates.append((path, module))
    modules = {}
    for path, module in candidates:
        own = [p for p in (module.weight, module.bias) if p is not None]
        if all(owners[id(p)] == 1 for p in own):
            prefix = f"{path}." if path else ""
            modules[module] = (f"{prefix}weight", None if module.bias is None else f"{prefix}bias")
    return modules, [name for name, _ in model.named_parameters()]


def _linear_calls(model, modules: dict, loss_fn, inputs, targets, size: int) -> dict:
    """``{module: [(input array, output gradient array)] over its calls}`` for the Linear
    ``modules`` batched on their input's first axis, from one forward pass of the batch and one
    backward pass of the summed per-example losses.

    The forward runs on detached parameters, so the backward computes no parameter gradient
    (the norms need none) and no gradient of the model's input: a Linear output that does not
    depend on anything else that requires grad is made a leaf that does, where the walk stops.
    """
    outputs, refused = [], set()

    def record(module, args, out):
        x = args[0].data if isinstance(args[0], Tensor) else np.asarray(args[0])
        if x.ndim < 2 or x.shape[0] != size:
            refused.add(module)  # not one example per index of the first axis
            return None
        if not out.requires_grad:
            out = out.detach().requires_grad_()
        outputs.append((module, x, out))
        return out

    handles = [module.register_forward_hook(record) for module in modules]
    try:
        detached = {name: p.detach() for name, p in model.named_parameters()}
        out = functional_call(model, detached, _detached(inputs))
    finally:
        for handle in handles:
            handle.remove()

    def loss_of_one(o, y):
        return loss_fn(o.unsqueeze(0), y.unsqueeze(0))

    total = vmap(loss_of_one)(out, targets).sum()
    outputs = [call for call in outputs if call[0] not in refused]
    if outputs and total.requires_grad:
        grads = [g.data for g in gradients_of(total, [out for _, _, out in outputs])]
    else:  # the loss depends on none of them
        grads = [np.zeros(out.shape, out.data.dtype) for _, _, out in outputs]
    calls = {}
    for (module, x, _), g in zip(outputs, grads, strict=True):
        calls.setdefault(module, []).append((x, g))
    return calls


def _detached(x):
    return x.detach() if isinstance(x, Tensor) else x


def _vmapped_grads(model, loss_fn, inputs, targets, names: list, chunk_size):
    """``{name: (B, *shape)}`` per-sample gradients of the parameters ``names`` by
    ``vmap(grad)``; the other parameters are constants of it."""
    all_names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach() for _, p in model.named_parameters())
    argnums = tuple(all_names.index(name) for name in names)

    def loss_of_one(*args):
        *weights, x, y = args
        out = functional_call(model, weights, x.unsqueeze(0))
        return loss_fn(out, y.unsqueeze(0))

    n = len(params)
    gradient = grad(loss_of_one, argnums=argnums)
    grads = vmap(gradient, in_axes=(None,) * n + (0, 0), chunk_size=chunk_size)(
        *params, inputs, targets
    )
    return dict(zip(names, grads, strict=True))


def _refuse_batch_statistics(module: Module, name: str, op: str) -> None:
    if "BatchNorm" in type(module).__name__ and module.training:
        raise BatchingError(
            f"{op}: {name or 'the model'} is a {type(module).__name__} in training mode, whose "
            f"batch statistics mix the examples; call model.eval() first (as torch.func "
            f"requires)"
        )
