"""``per_sample_grads``: each example's own gradient, for every parameter of a model.

``torch.func``'s recipe, ``vmap(grad(loss of one example))`` over a model made a function of its
parameters (``functional_call``): one batched computation, not one backward pass per example.
A per-sample gradient is the gradient of that example's own loss: the loss function sees one
example as a batch of one, so with ``reduction="mean"`` (the default) it is that example's loss
itself, and the batch's mean-reduced gradient is the mean of the per-sample ones.
"""

from __future__ import annotations

from ..batching import BatchingError
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
    for name, module in model.named_modules():
        if "BatchNorm" in type(module).__name__ and module.training:
            raise BatchingError(
                f"per_sample_grads: {name or 'the model'} is a {type(module).__name__} in "
                f"training mode, whose batch statistics mix the examples; call model.eval() "
                f"first (as torch.func requires)"
            )
    names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach() for _, p in model.named_parameters())

    def loss_of_one(*args):
        *weights, x, y = args
        out = functional_call(model, weights, x.unsqueeze(0))
        return loss_fn(out, y.unsqueeze(0))

    n = len(params)
    gradient = grad(loss_of_one, argnums=tuple(range(n)))
    grads = vmap(gradient, in_axes=(None,) * n + (0, 0), chunk_size=chunk_size)(
        *params, inputs, targets
    )
    return dict(zip(names, grads, strict=True))
