"""Losses of pairs, with PyTorch's names, arguments and values: ``cosine_embedding_loss`` (are two
embeddings alike?) and ``margin_ranking_loss`` (which of two scores should be higher?).

The target is a label per pair, 1 or -1. ``reduction`` is "mean", "sum" or "none". At the hinge
(``max(0, z)`` at ``z = 0``) the gradient passes, as PyTorch's ``clamp_min``.
"""

from __future__ import annotations

import numpy as np

from ..batching import values_of
from ..errors import OpError, ShapeError
from ..functions import as_tensor, broadcast_shape, clamp, sqrt, where
from ..tensor import Tensor
from .loss_functions import check_reduction, constant_like, reduce_loss
from .loss_regression import check_number

__all__ = ["cosine_embedding_loss", "margin_ranking_loss"]

#: added to each squared norm, as PyTorch's, so a zero vector gives a cosine of 0, not 0 / 0
EPSILON = 1e-12


def _signs(loss: str, target) -> np.ndarray:
    """The labels as an array; each must be 1 or -1 (PyTorch would give any other label a loss
    of 0: a silently ignored pair)."""
    labels = values_of(target, "a loss's labels")
    bad = (labels != 1) & (labels != -1)
    if bad.any():
        raise OpError(
            f"{loss}: target holds {labels[bad].flat[0]}; each label must be 1 (a similar pair) "
            f"or -1 (a dissimilar one)"
        )
    return labels


def _pair(loss: str, input1, input2, margin, reduction: str) -> tuple[Tensor, Tensor, float]:
    """The two inputs (the second a constant in the first's dtype, unless it needs gradients)
    and the margin, checked with the reduction."""
    check_reduction(loss, reduction)
    margin = check_number(loss, "margin", margin, low=-np.inf)
    input1 = as_tensor(input1)
    return input1, constant_like(input2, input1), margin


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:  # fmt: skip
    """For embeddings ``input1``, ``input2`` of shape (N, D) (or (D,)) and labels ``target``
    (N,) (or ()), with ``cos`` their cosine similarity along D:

        1 - cos                    where target = 1 (pull together)
        max(0, cos - margin)       where target = -1 (push apart, down to ``margin``)

    The squared norms each get 1e-12 added, as PyTorch's.
    """
    name = "cosine_embedding_loss"
    input1, input2, margin = _pair(name, input1, input2, margin, reduction)
    signs = _signs(name, target)
    batched = signs.ndim == 1
    if signs.ndim > 1 or input1.ndim != signs.ndim + 1 or input2.shape != input1.shape:
        raise ShapeError(
            f"{name}: input1 {input1.shape}, input2 {input2.shape} and target {signs.shape}: "
            f"expected two (N, D) inputs with an (N,) target, or two (D,) inputs with a () one"
        )
    if batched and len(signs) != input1.shape[0]:
        raise ShapeError(
            f"{name}: target of shape {signs.shape} for inputs of shape {input1.shape}: give one "
            f"label per pair, shape ({input1.shape[0]},)"
        )
    axis = input1.ndim - 1
    dot = (input1 * input2).sum(axis)
    norms = ((input1 * input1).sum(axis) + EPSILON) * ((input2 * input2).sum(axis) + EPSILON)
    cos = dot / sqrt(norms)
    loss = where(signs == 1, 1.0 - cos, clamp(cos - margin, min=0.0))
    return reduce_loss(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:  # fmt: skip
    """``max(0, -target * (input1 - input2) + margin)``: with ``target`` 1, ``input1`` should
    exceed ``input2`` by at least ``margin`` (with -1, the other way round). The three have the
    same number of axes and broadcast together, as PyTorch's.
    """
    name = "margin_ranking_loss"
    input1, input2, margin = _pair(name, input1, input2, margin, reduction)
    target = constant_like(target, input1)
    shapes = (input1.shape, input2.shape, target.shape)
    try:
        broadcast_shape(*shapes)
        fits = len({len(s) for s in shapes}) == 1
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(
            f"{name}: input1 {shapes[0]}, input2 {shapes[1]} and target {shapes[2]} must have "
            f"the same number of axes and broadcast together"
        )
    return reduce_loss(clamp(-target * (input1 - input2) + margin, min=0.0), reduction)
