"""``minigrad.nn.functional``: the operations layers are made of, as functions.

Composites of minigrad's primitives, so every one has exact reverse, forward and higher
derivatives without rules of its own.
"""

from __future__ import annotations

from .. import ops
from ..errors import DTypeError, ShapeError
from ..functions import as_tensor
from ..primitive import apply
from ..tensor import Tensor
from .activation import (
    elu,
    erf,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from .conv import avg_pool2d, conv2d, max_pool2d
from .dropout import dropout
from .embedding import embedding
from .loss_functions import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .normalization import batch_norm, layer_norm

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "erf",
    "gelu",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``, weight of shape (out_features, in_features) as PyTorch's; x of
    shape (..., in_features), bias of shape (out_features,). Lists and arrays are taken as
    constants. One ``Affine`` operation."""
    x, weight = as_tensor(x), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    for name, value in (("input", x), ("weight", weight), ("bias", bias)):
        if value is not None and value.dtype.kind not in "biufc":
            raise DTypeError(
                f"linear: {name} has dtype {value.dtype}; pass numbers (a float array or Tensor)"
            )
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: input of shape {x.shape} and weight of shape {weight.shape}: the weight "
            f"must be (out_features, in_features) with in_features = the input's last axis"
        )
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ShapeError(
            f"linear: bias of shape {bias.shape}, expected ({weight.shape[0]},) "
            f"(one value per output feature, weight of shape {weight.shape})"
        )
    lead = x.shape[:-1]
    flat = x if x.ndim == 2 else x.reshape((-1, x.shape[-1]))
    operands = (flat, weight) if bias is None else (flat, weight, bias)
    out = apply(ops.Affine, *operands)
    return out if x.ndim == 2 else out.reshape(lead + (weight.shape[0],))
