"""Loss functions of classes, with PyTorch's names, arguments and values: ``nll_loss`` and
``cross_entropy``; and the checks every loss shares. The binary cross-entropies and ``kl_div``
are in ``loss_probabilities.py``, the regression losses in ``loss_regression.py``, the ranking
losses in ``loss_ranking.py``; their modules in ``loss.py``.

Composites of minigrad's primitives, numerically stable for logits of +-1000. ``reduction`` is
"mean" (the default), "sum" or "none" (one loss per element or sample). Class labels are picked
out of the log-probabilities with one advanced-indexing gather, whose backward is one scatter-add.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..batching import BatchedArray, map_data, values_of, whole_batch
from ..errors import DTypeError, IndexingError, OpError, ShapeError
from ..functions import as_tensor, broadcasts_to, where
from ..primitive import apply
from ..tensor import Tensor, constant

__all__ = ["nll_loss", "cross_entropy"]

REDUCTIONS = ("mean", "sum", "none")

# ----- checks ------------------------------------------------------------------------------------


def check_reduction(loss: str, reduction: str, options: tuple = REDUCTIONS) -> None:
    """Refuse a ``reduction`` other than ``options`` ("mean", "sum" or "none"), naming the loss."""
    if reduction not in options:
        raise OpError(
            f"{loss}: reduction={reduction!r} is not one of {', '.join(map(repr, options))}"
        )


def check_same_shape(loss: str, input: Tensor, target: Tensor) -> None:
    """Refuse a target whose shape is not the input's (numpy would broadcast it silently)."""
    if input.shape != target.shape:
        raise ShapeError(
            f"{loss}: input of shape {input.shape} and target of shape {target.shape}: they must "
            f"have the same shape (reshape the target, e.g. target.reshape({input.shape}))"
        )


def check_broadcasts(loss: str, what: str, value: Tensor, shape: tuple) -> None:
    """Refuse a ``value`` (a weight) that does not broadcast to ``shape``."""
    if not broadcasts_to(value.shape, shape):
        raise ShapeError(
            f"{loss}: {what} of shape {value.shape} does not broadcast to the input's shape {shape}"
        )


def constant_like(value, input: Tensor) -> Tensor:
    """``value`` (a target or weight) as a Tensor; a constant one (that needs no gradient) in
    ``input``'s dtype, so float64 numpy targets leave a float32 model's loss in float32."""
    value = as_tensor(value, input)
    constant = not value.requires_grad and value.tangent is None
    if constant and value.dtype != input.dtype and input.dtype.kind == "f":
        value = Tensor(value.data.astype(input.dtype))
    return value


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """The mean, the sum, or (``"none"``) the losses themselves."""
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


# ----- classification ----------------------------------------------------------------------------


def _class_axis(loss: str, input: Tensor) -> int:
    """PyTorch's layout: (C,) unbatched, else (N, C, d1, ...) with classes on axis 1."""
    if input.ndim == 0:
        raise ShapeError(
            f"{loss}: input of shape (): expected scores of shape (C,), (N, C) or (N, C, d1, ...)"
        )
    return 0 if input.ndim == 1 else 1


def _labels(loss: str, input: Tensor, target, ignore_index: int) -> tuple:
    """``target`` as an integer array of shape (N, d1, ...) with labels in [0, C) or
    ``ignore_index``, and whether every label is in [0, C) (then none is ignored, unless
    ``ignore_index`` is a class); clear errors otherwise. Labels batched under ``mg.vmap`` (each
    example its own) stay the batched Tensor, their values checked for the whole batch."""
    batched = isinstance(target, Tensor) and type(target.data) is BatchedArray
    labels = whole_batch(target.data) if batched else values_of(target, "a loss's labels")
    if labels.dtype.kind not in "iu":
        raise DTypeError(
            f"{loss}: target must hold integer class labels, got dtype {labels.dtype}"
            + (" (class probabilities go to cross_entropy)" if labels.dtype.kind == "f" else "")
        )
    axis = _class_axis(loss, input)
    expected = () if axis == 0 else (input.shape[0],) + input.shape[2:]
    shape = target.shape if batched else labels.shape
    if shape != expected:
        raise ShapeError(
            f"{loss}: input of shape {input.shape} and target of shape {shape}: the "
            f"target must hold one class label per sample, shape {expected}"
        )
    classes = input.shape[axis]
    # NOTE: the smallest and the largest label first: two reductions, where the mask of bad
    # labels is five operations (this runs on every training step).
    if not labels.size or (_smallest(labels, None) >= 0 and _largest(labels, None) < classes):
        return (target if batched else labels), not batched
    bad = ((labels < 0) | (labels >= classes)) & (labels != ignore_index)
    if bad.any():
        raise IndexingError(
            f"{loss}: target {labels[bad].flat[0]} is out of bounds for {classes} classes "
            f"(input of shape {input.shape}); labels must be in [0, {classes - 1}] or "
            f"ignore_index={ignore_index}"
        )
    return (target if batched else labels), False


_smallest, _largest = np.minimum.reduce, np.maximum.reduce  # (labels, axis=None): of all


def _class_weight(loss: str, weight, input: Tensor, classes: int) -> Tensor | None:
    if weight is None:
        return None
    weight = constant_like(weight, input)
    if weight.shape != (classes,):
        raise ShapeError(
            f"{loss}: weight of shape {weight.shape} for input of shape {input.shape}: give one "
            f"weight per class, shape ({classes},)"
        )
    return weight


def _picked(logp: Tensor, labels, weight: Tensor | None, ignore_index: int):
    """(-w[y] * logp[..., y, ...] per sample (0 where ignored), the mean's denominator: the
    sum of w[y], or the count, over the samples not ignored)."""
    if isinstance(labels, Tensor):
        return _picked_by_mask(logp, labels, weight, ignore_index)
    keep = labels != ignore_index
    ignored = not keep.all()
    safe = np.where(keep, labels, 0) if ignored else labels
    # One gather: (arange(N), labels, arange(d1), ...) broadcast to the labels' shape.
    if labels.ndim == 1:  # the common (N, C) case, without ogrid's overhead
        picked = logp[np.arange(labels.shape[0]), safe]
    else:
        grids = np.ogrid[tuple(slice(n) for n in labels.shape)]
        picked = logp[(*grids[:1], safe, *grids[1:])]
    w = None if weight is None else weight[safe]
    losses = -picked if w is None else -(picked * w)
    if ignored:
        # NOTE: masked after the negation, so an ignored sample's loss is +0.0, as PyTorch's
        losses = where(keep, losses, 0.0)
    if w is None:
        return losses, int(keep.sum())
    return losses, (where(keep, w, 0.0) if ignored else w).sum()


def _picked_by_mask(logp: Tensor, labels: Tensor, weight: Tensor | None, ignore_index: int):
    """``_picked`` for labels batched under ``mg.vmap``, whose values differ per example and
    cannot index: each label's class chosen by a one-hot mask (``map_data``) instead."""
    axis = 0 if logp.ndim == 1 else 1
    classes = logp.shape[axis]
    ids = np.arange(classes).reshape((classes,) + (1,) * (logp.ndim - axis - 1))
    chosen = map_data(np.equal, labels.unsqueeze(axis), constant(ids))
    keep = map_data(np.not_equal, labels, constant(np.asarray(ignore_index)))
    losses = -where(chosen, logp, 0.0).sum(axis)
    if weight is not None:
        w = where(chosen, weight.reshape(ids.shape), 0.0).sum(axis)
        losses = losses * w
    losses = where(keep, losses, 0.0)  # (an ignored label chose no class: its loss is +0.0)
    if weight is None:
        return losses, keep.sum()
    return losses, where(keep, w, 0.0).sum()


def _mean(total: Tensor, count) -> Tensor:
    if isinstance(count, int) and count:
        return total / count
    # NOTE: everything ignored (or an empty batch) gives 0 / 0 = nan, as PyTorch's.
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def nll_loss(input, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:  # fmt: skip
    """Negative log-likelihood ``-w[y_n] * input[n, y_n]`` of log-probabilities ``input``
    (N, C) or (N, C, d1, ...) (or (C,)) for integer labels ``target`` (N,) or (N, d1, ...).

    "mean" is the weighted mean ``sum_n -w[y_n] input[n, y_n] / sum_n w[y_n]``; samples whose
    label is ``ignore_index`` count in neither sum (and get 0 with "none").
    """
    check_reduction("nll_loss", reduction)
    input = as_tensor(input)
    labels, _ = _labels("nll_loss", input, target, ignore_index)
    classes = input.shape[_class_axis("nll_loss", input)]
    weight = _class_weight("nll_loss", weight, input, classes)
    losses, denominator = _picked(input, labels, weight, ignore_index)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else _mean(losses.sum(), denominator)


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:  # fmt: skip
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d1, ...) (or (C,)) with ``target``:

    - integer class labels (N,) / (N, d1, ...): ``nll_loss(log_softmax(input, 1), target, ...)``;
      with ``label_smoothing`` = e, ``(1 - e) * nll + e / C * sum_c -w_c log p_c`` (reduced
      like the nll term: the weighted mean divides by the same ``sum_n w[y_n]``);
    - class probabilities of the input's shape (floats): ``-sum_c w_c q_c log p_c`` with
      ``q = (1 - e) target + e / C``; "mean" divides by the number of samples N * d1 * ...

    >>> import minigrad as mg
    >>> cross_entropy(mg.tensor([[1000.0, -1000.0]]), mg.tensor([1]))
    tensor(2000.)
    """
    if reduction == "mean" and weight is None and not label_smoothing:
        fused = _fused_cross_entropy(input, target, ignore_index)
        if fused is not None:
            return fused
    check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise OpError(f"cross_entropy: label_smoothing={label_smoothing} must be in [0, 1]")
    input = as_tensor(input)
    axis = _class_axis("cross_entropy", input)
    classes = input.shape[axis]
    weight = _class_weight("cross_entropy", weight, input, classes)
    # PyTorch's weight.view: classes on axis 1 (or 0), broadcast over the other axes.
    weight_b = None if weight is None else weight.reshape((classes,) + (1,) * (input.ndim - 2))
    logp = apply(ops.LogSoftmax, input, axis=(axis,))  # log_softmax(input, axis), checked
    target_data = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target_data.dtype.kind == "f":
        if ignore_index >= 0:
            raise OpError(
                f"cross_entropy: ignore_index={ignore_index} with class probabilities (a float "
                f"target): ignore_index applies to integer class labels only"
            )
        return _cross_entropy_probs(input, logp, constant_like(target, input), weight_b, reduction,
                                    label_smoothing, axis)  # fmt: skip
    labels, all_classes = _labels("cross_entropy", input, target, ignore_index)
    if (reduction == "mean" and weight is None and not label_smoothing and labels.ndim == 1
            and input.ndim == 2 and len(labels) and all_classes
            and not (0 <= ignore_index < classes and (labels == ignore_index).any())):  # fmt: skip
        # The common case of a classifier's loss: one fused operation (same value).
        return apply(ops.NllMean, logp, labels=labels)
    losses, denominator = _picked(logp, labels, weight, ignore_index)
    if label_smoothing:
        smooth = -((logp if weight_b is None else logp * weight_b).sum(axis))
        keep = labels != ignore_index
        if isinstance(keep, Tensor) or not keep.all():  # (a Tensor: batched under mg.vmap)
            smooth = where(keep, smooth, 0.0)
        losses = losses * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else _mean(losses.sum(), denominator)


def _fused_cross_entropy(input, target, ignore_index: int) -> Tensor | None:
    """The common case of a classifier's loss, checked first and in few steps (it runs every
    training step): logits (N, C) as a Tensor, N > 0 integer labels (N,) all in [0, C), none
    of them ``ignore_index``. Then it is ``LogSoftmax`` and the fused ``NllMean``, the value and
    gradient of the general path; otherwise None, and the general path checks everything."""
    labels = target.data if type(target) is Tensor else target
    # NOTE: under mg.vmap the labels may be batched: their values are checked all at once,
    # and NllMean's rule takes the batched labels.
    values = whole_batch(labels) if type(labels) is BatchedArray else labels
    if type(input) is not Tensor or type(values) is not np.ndarray:
        return None
    logits = input.data
    if (logits.ndim != 2 or labels.ndim != 1 or labels.dtype.kind not in "iu"
            or not 0 < labels.shape[0] == logits.shape[0]):  # fmt: skip
        return None
    classes = logits.shape[1]
    if not (_smallest(values, None) >= 0 and _largest(values, None) < classes):
        return None
    if 0 <= ignore_index < classes and (values == ignore_index).any():
        return None
    return apply(ops.NllMean, apply(ops.LogSoftmax, input, axis=(1,)), labels=labels)


def _cross_entropy_probs(input, logp, target, weight_b, reduction, label_smoothing, axis):
    if target.shape != input.shape:
        raise ShapeError(
            f"cross_entropy: input of shape {input.shape} and float target of shape "
            f"{target.shape}: class probabilities must have the input's shape (integer class "
            f"labels have shape {() if axis == 0 else (input.shape[0],) + input.shape[2:]})"
        )
    classes = input.shape[axis]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = logp * target if weight_b is None else logp * target * weight_b
    if reduction == "none":
        return -terms.sum(axis)
    if reduction == "sum":
        return -terms.sum()
    return _mean(-terms.sum(), input.numel() // classes if classes else 0)
