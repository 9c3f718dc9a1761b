"""``minigrad.nn.functional``: the operations layers are made of, as functions.

Composites of minigrad's primitives, so every one has exact reverse, forward and higher
derivatives without rules of its own.
"""

from __future__ import annotations

from ..functions import relu, sigmoid, tanh
from ..tensor import Tensor
from .dropout import dropout
from .embedding import embedding
from .normalization import batch_norm, layer_norm

__all__ = [
    "batch_norm", "dropout", "embedding", "layer_norm", "linear", "relu", "sigmoid", "tanh",
]  # fmt: skip


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``, weight of shape (out_features, in_features) as PyTorch's."""
    out = x @ weight.T
    return out if bias is None else out + bias
