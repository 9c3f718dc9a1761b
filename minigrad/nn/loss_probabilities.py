"""Losses of probabilities, with PyTorch's names, arguments and values: the binary
cross-entropies (of probabilities and of logits) and ``kl_div``. The other losses are in
``loss_functions.py`` (classes, and the checks every loss shares), ``loss_regression.py`` and
``loss_ranking.py``; their modules in ``loss.py``.

Composites of minigrad's primitives, numerically stable for logits of +-1000. Their masks and
clamps are computed from the values as tensors, batched under ``mg.vmap`` as the values are.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..batching import level_of, map_data, whole_batch
from ..errors import OpError
from ..functions import as_tensor, exp, log, log1p, relu, where
from ..tensor import Tensor, constant
from .loss_functions import (
    check_broadcasts,
    check_reduction,
    check_same_shape,
    constant_like,
    reduce_loss,
)

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]


def _log_clamped(x: Tensor, one_minus: bool) -> Tensor:
    """``log(x)`` (or ``log(1 - x)``), clamped below at -100 as PyTorch's BCE, and never
    evaluated at 0 (no warning); the clamped elements get no gradient."""

    def unclamped(data):
        with np.errstate(divide="ignore"):
            return (np.log1p(-data) if one_minus else np.log(data)) > -100

    keep = map_data(unclamped, x)  # (batched under mg.vmap, as x)
    fn = (lambda t: log1p(-t)) if one_minus else log
    if level_of(keep) == 0 and keep.data.all():
        return fn(x)
    return where(keep, fn(where(keep, x, 0.5)), -100.0)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """``-w (y log x + (1 - y) log(1 - x))`` for probabilities ``x`` in [0, 1], each log clamped
    below at -100 (PyTorch's rule, so x = 0 or 1 gives a finite loss)."""
    check_reduction("binary_cross_entropy", reduction)
    input = as_tensor(input)
    target = constant_like(target, input)
    check_same_shape("binary_cross_entropy", input, target)
    x = whole_batch(input.data)  # (every example's, under mg.vmap)
    if not np.all((x >= 0) & (x <= 1)):
        bad = x[~((x >= 0) & (x <= 1))].flat[0]
        raise OpError(
            f"binary_cross_entropy: input holds {bad}; it must hold probabilities in [0, 1] "
            f"(for logits use binary_cross_entropy_with_logits)"
        )
    loss = -(target * _log_clamped(input, False) + (1.0 - target) * _log_clamped(input, True))
    if weight is not None:
        weight = constant_like(weight, input)
        check_broadcasts("binary_cross_entropy", "weight", weight, input.shape)
        loss = loss * weight
    return reduce_loss(loss, reduction)


def _softplus_both(x: Tensor) -> tuple[Tensor, Tensor]:
    """(softplus(x), softplus(-x)) = (max(x, 0), max(-x, 0)) + log1p(exp(-|x|)), each exact
    for any x (no cancellation), sharing one exp and log1p.

    NOTE: -|x| is a ``where`` with the x branch at 0, so log1p(exp(-|x|)) has the derivative
    1/2 and the second derivative 1/4 at 0; the max(-x, 0) branch gives -x its derivative at 0
    too. Both derivatives at 0 (1/2 and -1/2) and second derivatives (1/4) come out exact,
    which matters: logits are exactly 0 wherever a model starts from zero weights.
    """
    positive = map_data(np.greater, x, constant(np.zeros((), x.dtype)))  # (batched, as x)
    tail = log1p(exp(where(positive, -x, x)))
    return relu(x) + tail, where(positive, 0.0, -x) + tail


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None,
                                     reduction: str = "mean") -> Tensor:  # fmt: skip
    """``-w (p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))`` for logits ``x``, computed as
    ``w (p y softplus(-x) + (1 - y) softplus(x))``: no overflow, no cancellation.

    ``pos_weight`` (p) weighs the positive term and broadcasts against the last (class) axis.

    >>> import minigrad as mg
    >>> binary_cross_entropy_with_logits(mg.tensor([1000.0, -1000.0]), mg.tensor([0.0, 0.0]))
    tensor(500.)
    """
    check_reduction("binary_cross_entropy_with_logits", reduction)
    input = as_tensor(input)
    target = constant_like(target, input)
    check_same_shape("binary_cross_entropy_with_logits", input, target)
    softplus_x, softplus_minus_x = _softplus_both(input)
    positive_term = target * softplus_minus_x
    if pos_weight is not None:
        pos_weight = constant_like(pos_weight, input)
        check_broadcasts("binary_cross_entropy_with_logits", "pos_weight", pos_weight,
                          input.shape)  # fmt: skip
        positive_term = positive_term * pos_weight
    loss = positive_term + (1.0 - target) * softplus_x
    if weight is not None:
        weight = constant_like(weight, input)
        check_broadcasts("binary_cross_entropy_with_logits", "weight", weight, input.shape)
        loss = loss * weight
    return reduce_loss(loss, reduction)


# ----- distributions -----------------------------------------------------------------------------


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """The Kullback-Leibler divergence ``KL(P || Q)`` term by term, for log-probabilities
    ``input = log Q`` and probabilities ``target = P`` (or ``log P``, with ``log_target``):

        target * (log(target) - input)        (0 where target = 0: 0 log 0 = 0)
        exp(target) * (target - input)        (log_target=True)

    ``reduction``: "batchmean" gives ``sum / input.shape[0]``, the divergence per sample when each
    row is a distribution; "mean" divides by the number of elements (batch and classes), which
    is not the KL divergence: PyTorch warns about it, and so does minigrad; "sum"; "none".

    Where the target is 0 its term is 0; a target that requires grad gets there the derivative
    ``-input`` of ``-target * input`` alone (``t log t`` has none at 0: PyTorch gives nan).

    >>> import minigrad as mg
    >>> p = mg.tensor([[0.5, 0.5]])
    >>> round(kl_div(mg.tensor([[0.25, 0.75]]).log(), p, reduction="batchmean").item(), 4)
    0.1438
    """
    check_reduction("kl_div", reduction, ("mean", "batchmean", "sum", "none"))
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total by every element (the batch and the "
            "support); 'batchmean' divides by the batch size only, which gives the KL divergence "
            "(PyTorch says 'mean' will behave like 'batchmean' in a future release)",
            UserWarning,
            stacklevel=2,
        )
    input = as_tensor(input)
    target = constant_like(target, input)
    check_same_shape("kl_div", input, target)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        zero = map_data(np.equal, target, constant(np.zeros((), target.dtype)))
        # NOTE: log(1) = 0 where the target is 0 (xlogy's 0 log 0 = 0, with no warning); a
        # negative target gives nan, as PyTorch's.
        some = level_of(zero) or zero.data.any()  # (under mg.vmap: some example may have one)
        with np.errstate(invalid="ignore"):
            log_p = log(where(zero, 1.0, target) if some else target)
        loss = target * (log_p - input)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return reduce_loss(loss, reduction)
