"""``minigrad.nn.functional``: the operations layers are made of, as functions.

Composites of minigrad's primitives, so every one has exact reverse, forward and higher
derivatives without rules of its own.
"""

from __future__ import annotations

import operator

import numpy as np

from .. import ops
from ..batching import BatchingError, level_of, map_data, whole_batch
from ..errors import DTypeError, OpError, ShapeError, missing_names
from ..functions import as_tensor
from ..primitive import apply
from ..tensor import Tensor
from .activation import (
    celu,
    elu,
    erf,
    gelu,
    glu,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    tanh,
    tanhshrink,
)
from .activation_piecewise import (
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    prelu,
    relu6,
    rrelu,
    softshrink,
    threshold,
)
from .adaptive_pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
)
from .attention import scaled_dot_product_attention
from .checks import same_dtype
from .conv import conv1d, conv2d
from .conv_transpose import conv_transpose1d, conv_transpose2d
from .dropout import dropout
from .embedding import embedding
from .group_norm import group_norm, instance_norm
from .loss_functions import (
    cross_entropy,
    nll_loss,
)
from .loss_probabilities import binary_cross_entropy, binary_cross_entropy_with_logits, kl_div
from .loss_ranking import cosine_embedding_loss, margin_ranking_loss
from .loss_regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from .normalization import batch_norm, layer_norm
from .padding import pad
from .pooling import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .resample import interpolate, pixel_shuffle, pixel_unshuffle

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "cosine_embedding_loss",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "erf",
    "gaussian_nll_loss",
    "gelu",
    "glu",
    "group_norm",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "instance_norm",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "logsigmoid",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "relu",
    "relu6",
    "rrelu",
    "scaled_dot_product_attention",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``, weight of shape (out_features, in_features) as PyTorch's; x of
    shape (..., in_features), bias of shape (out_features,). Lists and arrays are taken as
    constants. One ``Affine`` operation."""
    x, weight = same_dtype("linear", x, weight)
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


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices of any shape ``(*)`` as one-hot rows, shape ``(*, num_classes)``, int64, as
    PyTorch's (``num_classes=-1``: one more than the largest index; under ``mg.vmap`` with
    batched labels, pass ``num_classes``). Not differentiable (the indices are integers).

    >>> import minigrad as mg
    >>> one_hot(mg.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    labels = tensor if isinstance(tensor, Tensor) else Tensor(np.asarray(tensor))
    if labels.dtype.kind not in "iu":
        raise DTypeError(
            f"one_hot: is only applicable to index tensors (integers), got dtype {labels.dtype}; "
            f"convert the class indices first (labels.long())"
        )
    num_classes = operator.index(num_classes)
    values = whole_batch(labels.data)  # every example's labels, under mg.vmap
    if num_classes == -1:
        if level_of(labels):
            raise BatchingError(
                f"one_hot: num_classes=-1 infers the number of classes from the labels, which "
                f"are batched under mg.vmap (labels of shape {tuple(labels.shape)} per example) "
                f"and could give each example its own number of classes; pass num_classes"
            )
        if values.size == 0:
            raise ShapeError(
                "one_hot: can not infer the total number of classes from an empty tensor; "
                "pass num_classes"
            )
        num_classes = int(values.max()) + 1
    elif num_classes < 0:
        raise OpError(f"one_hot: num_classes must be -1 (inferred) or >= 0, got {num_classes}")
    if values.size and values.min() < 0:
        raise OpError(f"one_hot: class values must be non-negative, got {int(values.min())}")
    if values.size and values.max() >= num_classes:
        raise OpError(
            f"one_hot: class values must be smaller than num_classes={num_classes}, got "
            f"{int(values.max())}"
        )
    classes = np.arange(num_classes)
    return map_data(lambda a: (a[..., None] == classes).astype(np.int64), labels)


# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.nn.functional")
