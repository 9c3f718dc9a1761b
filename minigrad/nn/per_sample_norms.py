"""Per-sample gradient norms without the per-sample gradients, for differentially private
training's clipping and for gradient-noise monitors (Opacus's "ghost clipping").

A layer's parameter gradient is its inputs meeting its output's gradient in one product, and
each example's squared norm of it can be read from those two without forming the example's
gradient. One forward pass of the batch records the input of each layer that has such an
identity (a ``LayerRule``: Linear, Conv1d/Conv2d, Embedding, LayerNorm); one backward pass of
the summed per-example losses gives each of their outputs' gradients; each layer kind's
``*_norms`` function turns them into its parameters' squared norms. The other parameters get
``vmap(grad)`` (``per_sample.vmapped_grads``), for those parameters only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..autograd import grad as gradients_of
from ..batching import refuse_batch_statistics, values_of
from ..functions import as_tensor
from ..ops.window import unfold
from ..tensor import Tensor
from ..vectorize import vmap
from .conv import Conv1d, Conv2d
from .embedding import Embedding
from .layers import Linear
from .module import Module
from .normalization import LayerNorm
from .padding import pad
from .per_sample import vmapped_grads
from .spatial import conv_padding, lift
from .stateless import functional_call

OP = "per_sample_grad_norms"


def per_sample_grad_norms(
    model: Module, loss_fn, inputs, targets, per_parameter: bool = False,
    chunk_size: int | None = None,
):  # fmt: skip
    """The ``(B,)`` norms of each example's gradient over all parameters together: the norms of
    ``per_sample_grads(model, loss_fn, inputs, targets)`` (each example's own loss, the same
    refusals), without making the ``(B, *parameter.shape)`` gradients of Linear, Conv1d, Conv2d,
    Embedding and LayerNorm layers. With ``per_parameter=True``, ``(norms, {name: (B,) norms of
    that parameter's gradients})``.

    One forward pass of the batch records each such layer's input; the per-example losses
    ``loss_fn(out_i[None], y_i[None])`` (under ``vmap``, the very losses ``per_sample_grads``
    differentiates) are summed, and one backward pass of that sum gives the gradient ``g`` of
    each layer's output: example ``i``'s own, since no other example's loss depends on
    ``out_i``. With ``t, s`` over the rows of example ``i`` (one for a plain batch; a sequence's
    positions, an image's output positions, every call of a layer called more than once):

    - Linear ``y = x W^T + b``: ``dW_i = sum_t g_it x_it^T``, so ``||dW_i||^2 =
      sum_{t,s} (g_it . g_is)(x_it . x_is)`` (``||x_i||^2 ||g_i||^2`` for one row), from these
      Gram matrices or from ``dW_i`` itself, whichever is smaller; ``||db_i||^2 =
      ||sum_t g_it||^2``.
    - Conv1d/Conv2d: the same with ``x_it`` the patch under output position ``t`` (the layer's
      unfolded input: padding, stride, dilation and padding mode as its forward), group by
      group.
    - Embedding: ``dE_i = sum_t onehot(idx_it) g_it^T``, so ``||dE_i||^2 = sum_{t,s} [idx_it =
      idx_is] (g_it . g_is)``: the squared norms of the sums of ``g_it`` over each index the
      example uses, the ``padding_idx`` row left out (it gets no gradient).
    - LayerNorm: ``dweight_i = sum_t g_it * xhat_it`` (``xhat`` the normalised input),
      ``dbias_i = sum_t g_it``: parameter-sized, so formed.

    The batch axis of a layer's input is taken to be its first. Parameters of other layers, of
    such a layer whose parameters another module holds too, whose forward is overridden, or
    whose input's first axis is not the batch's, get ``vmap(grad)`` as in ``per_sample_grads``,
    for those parameters only. (A parameter read outside its layer's call, as
    ``F.linear(x, layer.weight)``, is not seen: its layer's norms would miss that use.)
    """
    layers, names = covered_layers(model)
    size = inputs.shape[0]
    squared = {}
    if layers:
        calls = record_calls(model, layers, loss_fn, inputs, targets, size)
        for layer, layer_calls in calls.items():
            rule, prefix = layers[layer]
            for attribute, value in rule.squared_norms(layer, layer_calls, size).items():
                squared[prefix + attribute] = value
    rest = [name for name in names if name not in squared]
    if rest:
        grads = vmapped_grads(model, loss_fn, inputs, targets, rest, chunk_size)
        for name, g in grads.items():
            squared[name] = squares(g.data)
    norms = Tensor(np.sqrt(sum(squared[name] for name in names)))
    if not per_parameter:
        return norms
    return norms, {name: Tensor(np.sqrt(squared[name])) for name in names}


# ----- the identities, one function per layer kind ---------------------------------------------


def linear_norms(layer: Linear, calls: list, size: int) -> dict:
    """``{"weight": (B,), "bias": (B,)}`` squared norms of a Linear layer's per-sample
    gradients from its calls' ``(input (B, ..., in), output gradient (B, ..., out))``."""
    x = example_rows([x for x, _ in calls], size, layer.in_features)
    g = example_rows([g for _, g in calls], size, layer.out_features)
    norms = {"weight": weight_norms(x[:, None], g[:, None])}  # one group
    if layer.bias is not None:
        norms["bias"] = squares(g.sum(axis=1))
    return norms


def conv_norms(layer: Conv2d, calls: list, size: int) -> dict:
    """``{"weight": (B,), "bias": (B,)}`` squared norms of a Conv1d/Conv2d layer's per-sample
    gradients from its calls' ``(input (B, C, *spatial), output gradient (B, O, *spatial))``:
    a Linear layer's identity on each group's patches."""
    groups, out = layer.groups, layer.out_channels
    patches = np.concatenate([conv_patches(layer, x) for x, _ in calls], axis=1)  # (B, P, C k)
    g = np.concatenate([g.reshape(size, out, -1) for _, g in calls], axis=2)  # (B, O, P)
    positions = patches.shape[1]
    by_group = patches.reshape(size, positions, groups, -1).transpose(0, 2, 1, 3)
    g_by_group = g.reshape(size, groups, out // groups, positions).transpose(0, 1, 3, 2)
    norms = {"weight": weight_norms(by_group, g_by_group)}
    if layer.bias is not None:
        norms["bias"] = squares(g.sum(axis=2))
    return norms


def embedding_norms(layer: Embedding, calls: list, size: int) -> dict:
    """``{"weight": (B,)}`` squared norms of an Embedding's per-sample gradients from its
    calls' ``(indices (B, ...), output gradient (B, ..., dim))``: for each example, the sum of
    ``||sum of g over the positions of index v||^2`` over the indices ``v`` it uses."""
    idx = np.concatenate([x.reshape(size, -1) for x, _ in calls], axis=1)
    g = example_rows([g for _, g in calls], size, layer.embedding_dim)
    example = np.repeat(np.arange(size), idx.shape[1])
    # NOTE: one key per (example, index) pair; sorting the rows by key puts each pair's rows
    # together, so one reduceat sums them: O(rows * dim), where the Gram form of [idx_t ==
    # idx_s] (g_t . g_s) would be O(rows^2 * dim).
    keys, g = example * layer.num_embeddings + idx.ravel(), g.reshape(-1, g.shape[-1])
    if layer.padding_idx is not None:  # that row gets no gradient
        used = idx.ravel() != layer.padding_idx
        keys, g = keys[used], g[used]
    if not keys.size:
        return {"weight": np.zeros(size, g.dtype)}
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    sums = np.add.reduceat(g[order], starts, axis=0)  # (pairs, dim): each pair's rows summed
    pair_norms = np.einsum("pd,pd->p", sums, sums)
    norms = np.bincount(keys[starts] // layer.num_embeddings, pair_norms, minlength=size)
    return {"weight": norms.astype(g.dtype, copy=False)}


def layer_norm_norms(layer: LayerNorm, calls: list, size: int) -> dict:
    """``{"weight": (B,), "bias": (B,)}`` (those the layer has) squared norms of a LayerNorm's
    per-sample gradients from its calls' ``(input, output gradient)``, both (B, ...,
    *normalized_shape): each example's gradients formed, being the parameters' size."""
    width = int(np.prod(layer.normalized_shape))
    x = example_rows([x for x, _ in calls], size, width)
    g = example_rows([g for _, g in calls], size, width)
    centred = x - x.mean(axis=-1, keepdims=True)  # as the layer's forward, over its axes
    normalised = centred / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + layer.eps)
    norms = {}
    if layer.weight is not None:
        norms["weight"] = squares((g * normalised).sum(axis=1))
    if layer.bias is not None:
        norms["bias"] = squares(g.sum(axis=1))
    return norms


def weight_norms(inputs: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Each example's ``sum_groups ||sum_t g_t x_t^T||^2`` from its rows ``inputs``
    (B, groups, rows, in) and ``grads`` (B, groups, rows, out): by ``||x|| ||g||`` for one row,
    else by the Gram matrices or by the gradients, whichever is smaller (and cheaper)."""
    rows, d_in, d_out = inputs.shape[2], inputs.shape[3], grads.shape[3]
    if rows == 1:
        x2 = np.einsum("bgrk,bgrk->bg", inputs, inputs)
        return (x2 * np.einsum("bgro,bgro->bg", grads, grads)).sum(axis=1)
    if rows * (d_in + d_out) <= d_in * d_out:  # sum_{t,s} (g_t . g_s)(x_t . x_s)
        gram_g = grads @ grads.swapaxes(2, 3)
        return np.einsum("bgts,bgts->b", gram_g, inputs @ inputs.swapaxes(2, 3))
    return squares(grads.swapaxes(2, 3) @ inputs)  # (B, groups, out, in): the gradients


# ----- which layers, their calls ----------------------------------------------------------------


@dataclass(frozen=True)
class LayerRule:
    """How a layer kind's parameters get each example's squared gradient norms from its calls:
    ``squared_norms(layer, [(input array, output gradient array)], B)`` gives ``{parameter
    attribute: (B,)}``."""

    layers: tuple[type, ...]
    forward: Callable  # the layers' own: a subclass that overrides it falls back to vmap
    example_ndim: Callable[[Module], int]  # one example's input axes; the batch's has one more
    squared_norms: Callable[[Module, list, int], dict]


RULES = (
    LayerRule((Linear,), Linear.forward, lambda layer: 1, linear_norms),
    LayerRule((Conv1d, Conv2d), Conv2d.forward, lambda layer: layer.dims + 1, conv_norms),
    LayerRule((Embedding,), Embedding.forward, lambda layer: 0, embedding_norms),
    LayerRule(
        (LayerNorm,), LayerNorm.forward, lambda layer: len(layer.normalized_shape), layer_norm_norms
    ),
)


def covered_layers(model: Module) -> tuple[dict, list]:
    """``({layer: (its rule, its path prefix)}, parameter names)``: the layers whose norms an
    identity gives (a rule's own forward, parameters held by no other module). BatchNorm in
    training mode is refused."""
    refuse_batch_statistics(model, OP)
    holders = {}  # id(parameter) -> how many modules hold it as their own
    candidates = []
    for path, module in model.named_modules():
        for p in module.parameters(recurse=False):
            holders[id(p)] = holders.get(id(p), 0) + 1
        rule = next((r for r in RULES if covers(r, module)), None)
        if rule is not None:
            candidates.append((path, module, rule))
    layers = {}
    for path, module, rule in candidates:
        own = list(module.parameters(recurse=False))
        if own and all(holders[id(p)] == 1 for p in own):
            layers[module] = (rule, f"{path}." if path else "")
    return layers, [name for name, _ in model.named_parameters()]


def covers(rule: LayerRule, module: Module) -> bool:
    """Whether ``rule`` knows ``module``: one of its layer kinds, running that kind's forward."""
    return isinstance(module, rule.layers) and type(module).forward is rule.forward


def record_calls(model: Module, layers: dict, loss_fn, inputs, targets, size: int) -> dict:
    """``{layer: [(input array, output gradient array)] over its calls}`` for the ``layers``
    batched on their input's first axis, from one forward pass of the batch and one backward
    pass of the summed per-example losses.

    The forward runs on detached parameters, so the backward computes no parameter gradient
    (the norms need none) and no gradient of the model's input: a layer output that does not
    depend on anything else that requires grad is made a leaf that does, where the walk stops.
    """
    outputs, refused = [], set()

    def record(layer, args, out):
        x = values_of(args[0], OP) if args else None
        if x is None or x.ndim <= layers[layer][0].example_ndim(layer) or x.shape[0] != size:
            refused.add(layer)  # not one example per index of the first axis
            return None
        if not out.requires_grad:
            out = out.detach().requires_grad_()
        outputs.append((layer, x, out))
        return out

    handles = [layer.register_forward_hook(record) for layer in layers]
    try:
        detached = {name: p.detach() for name, p in model.named_parameters()}
        out = functional_call(model, detached, detach(inputs))
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
    for (layer, x, _), g in zip(outputs, grads, strict=True):
        calls.setdefault(layer, []).append((x, g))
    return calls


# ----- arrays -----------------------------------------------------------------------------------


def conv_patches(layer: Conv2d, x: np.ndarray) -> np.ndarray:
    """The patches (B, output positions, C * kernel size) of a Conv1d/Conv2d layer's input
    (B, C, *spatial), padded as the layer's forward pads it (``padding_mode`` too)."""
    pads = conv_padding(OP, layer.padding, layer.kernel_size, layer.stride, layer.dilation)
    if layer.padding_mode != "zeros":  # as the forward: padded in that mode, then no padding
        widths = [w for pair in reversed(pads) for w in pair]
        x, pads = pad(as_tensor(x), widths, layer.padding_mode).data, ((0, 0),) * layer.dims
    if layer.dims == 1:  # as the forward: (B, C, L) as images of height 1
        x = x[:, :, None]
    window = (lift(v, 1) for v in (layer.kernel_size, layer.stride, layer.dilation))
    patches = unfold(x, *window, lift(pads, (0, 0)))  # (B, OH, OW, C, kh, kw)
    return patches.reshape(len(x), -1, np.prod(patches.shape[3:]))


def example_rows(arrays: list, size: int, width: int) -> np.ndarray:
    """Arrays (B, ..., width) as one (B, rows, width): every call's rows of each example."""
    return np.concatenate([a.reshape(size, -1, width) for a in arrays], axis=1)


def squares(a: np.ndarray) -> np.ndarray:
    """Each example's sum of squares of ``a`` (B, ...)."""
    flat = a.reshape(len(a), -1)
    return np.einsum("bi,bi->b", flat, flat)


def detach(x):
    """``x`` without its history, when it is a Tensor."""
    return x.detach() if isinstance(x, Tensor) else x
