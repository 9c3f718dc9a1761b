"""``minigrad.nn.functional``: the operations layers are made of, as functions.

Composites of minigrad's primitives, so every one has exact reverse, forward and higher
derivatives without rules of its own.
"""

from __future__ import annotations

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
from .loss import (
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
    """``x @ weight.T + bias``, weight of shape (out_features, in_features) as PyTorch's."""
    out = x @ weight.T
    return out if bias is None else out + bias
