"""Per-sample gradients: ``per_sample_grads``, and the ``vmap(grad)`` it runs on, which
``per_sample_norms`` falls back to for the layers its identities do not cover.

``torch.func``'s recipe, ``vmap(grad(loss of one example))`` over a model made a function of its
parameters (``functional_call``): one batched computation, not one backward pass per example. A
per-sample gradient is the gradient of that example's own loss: the loss function sees one
example as a batch of one, so with ``reduction="mean"`` (the default) it is that example's loss
itself, and the batch's mean-reduced gradient is the mean of the per-sample ones.
"""

from __future__ import annotations

from ..batching import refuse_batch_statistics
from ..transforms import grad
from ..vectorize import vmap
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
    refuse_batch_statistics(model, "per_sample_grads")
    names = [name for name, _ in model.named_parameters()]
    return vmapped_grads(model, loss_fn, inputs, targets, names, chunk_size)


def vmapped_grads(model: Module, loss_fn, inputs, targets, names: list, chunk_size=None) -> dict:
    """``{name: (B, *shape)}``: the per-sample gradients of the parameters ``names`` by
    ``vmap(grad)``, the other parameters constants of it (no check of the model's layers:
    ``per_sample_grads`` makes them)."""
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
