"""Regression losses, with PyTorch's names, arguments and values: ``mse_loss``, ``l1_loss``,
``huber_loss``, ``smooth_l1_loss``, and the negative log-likelihoods of a Gaussian
(``gaussian_nll_loss``) and of a Poisson count (``poisson_nll_loss``).

Composites of minigrad's primitives, so each has exact reverse, forward and higher derivatives.
``input`` and ``target`` must have the same shape (PyTorch broadcasts them with a warning that
the result is "likely incorrect"; minigrad refuses). ``reduction`` is "mean", "sum" or "none".
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..batching import whole_batch
from ..errors import OpError, ShapeError
from ..functions import as_tensor, clamp, exp, log, where
from ..tensor import Tensor, is_batched
from .loss_functions import (
    check_broadcasts,
    check_reduction,
    check_same_shape,
    constant_like,
    reduce_loss,
)

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "gaussian_nll_loss", "poisson_nll_loss",
]  # fmt: skip


def check_number(loss: str, name: str, value, low: float = 0.0, low_open: bool = False) -> float:
    """Refuse a hyperparameter that is not a finite real number ``>= low`` (``> low`` if
    ``low_open``), naming the loss and the value."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (low_open and value == low):
        bound = f"{'>' if low_open else '>='} {low:g}"
        raise OpError(f"{loss}: {name}={value!r} must be a finite number {bound}")
    return float(value)


def _operands(loss: str, input, target, reduction: str) -> tuple[Tensor, Tensor]:
    check_reduction(loss, reduction)
    input = as_tensor(input)
    target = constant_like(target, input)
    check_same_shape(loss, input, target)
    return input, target


def _weighted(loss: str, losses: Tensor, weight, input: Tensor, reduction: str,
              mean_over_weights: bool) -> Tensor:  # fmt: skip
    """PyTorch's elementwise ``weight`` (the input's shape): ``w * loss``, reduced. Its "mean" is
    ``sum(w * loss) / sum(w)`` for mse_loss and l1_loss, ``mean(w * loss)`` for huber_loss."""
    if weight is None:
        return reduce_loss(losses, reduction)
    weight = constant_like(weight, input)
    if weight.shape != input.shape:
        raise ShapeError(
            f"{loss}: weight of shape {weight.shape} for input of shape {input.shape}: give one "
            f"weight per element, the input's shape (as PyTorch requires)"
        )
    losses = losses * weight
    if reduction == "mean" and mean_over_weights:
        return losses.sum() / weight.sum()
    return reduce_loss(losses, reduction)


# ----- squared, absolute and Huber errors -------------------------------------------------------


def mse_loss(input, target, reduction: str = "mean", weight=None) -> Tensor:
    """Squared error ``(input - target)^2``, reduced; same shapes required. With ``weight``
    (the input's shape), ``w (input - target)^2``, whose "mean" is ``sum / sum(w)``."""
    input, target = _operands("mse_loss", input, target, reduction)
    d = input - target
    return _weighted("mse_loss", d * d, weight, input, reduction, mean_over_weights=True)


def l1_loss(input, target, reduction: str = "mean", weight=None) -> Tensor:
    """Absolute error ``|input - target|``, reduced; the gradient at 0 is 0, as PyTorch's. With
    ``weight``, as ``mse_loss``."""
    input, target = _operands("l1_loss", input, target, reduction)
    losses = (input - target).abs()
    return _weighted("l1_loss", losses, weight, input, reduction, mean_over_weights=True)


def _huber(d: Tensor, delta: float) -> Tensor:
    """``d^2 / 2`` where ``|d| < delta``, else ``delta (|d| - delta / 2)``, as ``c (d - c / 2)``
    with ``c = clamp(d, -delta, delta)``: one product where the two branches would need a
    ``where``, the same values (exactly) and derivatives (``c``, and 1 or 0)."""
    c = clamp(d, -delta, delta)
    return c * (d - 0.5 * c)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None) -> Tensor:
    """Huber's loss of ``d = input - target``: quadratic near 0, linear beyond ``delta`` (> 0),
    so an outlier's gradient is at most ``delta``:

        d^2 / 2                   if |d| < delta
        delta (|d| - delta / 2)   otherwise

    With ``weight`` (the input's shape), ``w * loss``, whose "mean" is its plain mean (PyTorch's).
    """
    delta = check_number("huber_loss", "delta", delta, low_open=True)
    input, target = _operands("huber_loss", input, target, reduction)
    losses = _huber(input - target, delta)
    return _weighted("huber_loss", losses, weight, input, reduction, mean_over_weights=False)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 of ``d = input - target``: ``huber_loss / beta``, the L1 loss with its kink
    rounded off over ``|d| < beta``; ``beta = 0`` is ``l1_loss`` (PyTorch's rule):

        d^2 / (2 beta)   if |d| < beta
        |d| - beta / 2   otherwise
    """
    beta = check_number("smooth_l1_loss", "beta", beta)
    if beta == 0:
        return l1_loss(input, target, reduction)
    input, target = _operands("smooth_l1_loss", input, target, reduction)
    return reduce_loss(_huber(input - target, beta) / beta, reduction)


# ----- likelihoods -------------------------------------------------------------------------------


def _variance(var, input: Tensor) -> Tensor:
    """``var`` in a shape that broadcasts to the input's, by PyTorch's rules: the input's shape;
    one axis short (the last: one variance per sample, unsqueezed); or the input's number of
    axes with one axis of size 1 where the input's differs."""
    name = "gaussian_nll_loss"
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        var = Tensor(np.full(input.shape, var, dtype=input.dtype))
    var = constant_like(var, input)
    shape, vshape = input.shape, var.shape
    if vshape != shape:
        if vshape == shape[:-1]:
            var = var.reshape(vshape + (1,))
        # PyTorch's test: as many axes, and the sizes of var where it differs sum to 1
        elif len(vshape) != len(shape) or sum(v for n, v in zip(shape, vshape) if n != v) != 1:
            raise ShapeError(
                f"{name}: var of shape {vshape} for input of shape {shape}: var must have the "
                f"input's shape, or it with the last axis left out, or with one axis of size 1"
            )
    values = whole_batch(var.data)  # (every example's, under mg.vmap)
    if (values < 0).any():
        raise OpError(
            f"{name}: var holds {values[values < 0].flat[0]}; variances must be >= 0 "
            f"(those below eps are raised to eps)"
        )
    return var


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:  # fmt: skip
    """Negative log-likelihood of ``target`` under a Gaussian of mean ``input`` and variance
    ``var`` (a Tensor, or one number for all):

        (log(max(var, eps)) + (input - target)^2 / max(var, eps)) / 2   (+ log(2 pi) / 2 if full)

    ``var`` has the input's shape, or one variance per sample (the last axis left out, or of
    size 1); ``target`` broadcasts to the input's shape. As PyTorch's, the clamp at ``eps`` is
    made without recording it: the gradient reaches a clamped variance as if it were not.
    """
    name = "gaussian_nll_loss"
    check_reduction(name, reduction)
    eps = check_number(name, "eps", eps)
    input = as_tensor(input)
    target = constant_like(target, input)
    check_broadcasts(name, "target", target, input.shape)
    var = _variance(var, input)
    if (whole_batch(var.data) < eps).any():
        # var + (eps - var) where below eps: the value clamped, the gradient kept
        var = var + where(var < eps, eps - var.detach(), 0.0)
    d = input - target
    loss = 0.5 * (log(var) + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:  # fmt: skip
    """Negative log-likelihood of counts ``target`` under a Poisson of rate ``input`` (without
    the constant ``log(target!)``):

        exp(input) - target * input           (log_input=True: input is the log-rate)
        input - target * log(input + eps)     (log_input=False)

    ``full`` adds Stirling's approximation of ``log(target!)``, ``t log t - t + log(2 pi t) / 2``,
    for targets above 1 (PyTorch's rule: 0 for targets <= 1).
    """
    name = "poisson_nll_loss"
    eps = check_number(name, "eps", eps)
    input, target = _operands(name, input, target, reduction)
    loss = exp(input) - target * input if log_input else input - target * log(input + eps)
    if full:
        above = target > 1  # (a mask, batched under mg.vmap as the target is)
        if is_batched(above) or above.data.any():
            t = where(above, target, 1.0)  # log of 1, not of 0, where the term is dropped
            stirling = t * log(t) - t + 0.5 * log(2 * math.pi * t)
            loss = loss + where(above, stirling, 0.0)
    return reduce_loss(loss, reduction)
