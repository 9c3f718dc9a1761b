"""What a training-dynamics monitor measures beyond gradient norms, each on the model's float64
twin (``twin``), so the model, its gradients and the random generator stay as they were:

- the **gradient noise scale** ``B_simple = tr(Sigma) / |G|^2`` (McCandlish et al. 2018, "An
  Empirical Model of Large-Batch Training"): ``Sigma`` the covariance of one example's gradient,
  ``G`` the true gradient. Batches much smaller than ``B_simple`` are dominated by noise (a
  larger batch would help almost linearly); much larger ones waste examples. Estimated from
  per-example gradients, or from the gradients of two batch sizes (``noise_scale``);
- the **sharpness** ``lambda_max``, the top Hessian eigenvalue (``mg.curvature``), against the
  learning rate's **edge of stability** (``stability_threshold``): gradient descent on a
  quadratic diverges along an eigenvector whose eigenvalue exceeds ``2 / lr``, and full-batch
  training tends to sit right at that edge (Cohen et al. 2021).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..batching import BatchingError
from ..curvature import ConvergenceWarning, hessian_eigenvalues
from ..errors import OpError
from ..optim.sgd import SGD
from .twin import Twin

NOISE_METHODS = ("two_batch", "per_sample")


# ----- the gradient noise scale ------------------------------------------------------------------


@dataclass(frozen=True)
class NoiseScale:
    """One estimate of the gradient noise scale: ``trace`` estimates ``tr(Sigma)``, ``grad_sq``
    estimates ``|G|^2`` (each unbiased, so each may come out negative on one batch: average
    them over steps before dividing, as the monitor does), ``b_simple`` their ratio (NaN when
    ``grad_sq <= 0``), from ``method`` at batch sizes ``batch_sizes``."""

    trace: float
    grad_sq: float
    b_simple: float
    method: str
    batch_sizes: tuple[int, ...]


def _ratio(trace: float, grad_sq: float) -> float:
    return trace / grad_sq if grad_sq > 0 else float("nan")


def _flat(gradients) -> np.ndarray:
    return np.concatenate([g.reshape(-1) for g in gradients])


def noise_scale(twin: Twin, method: str = "two_batch") -> NoiseScale:
    """``B_simple`` on the twin's batch of ``B`` examples (the loss must be their mean).

    - ``"per_sample"``: the gradient ``g_i`` of each example (``twin.per_sample_gradients()``,
      ``mg.vmap`` of one backward pass: 9 ms for the demo's MLP at batch 64, a loop of backward
      passes 19 ms):
      ``tr(Sigma) ~ S = sum_i |g_i - g|^2 / (B - 1)`` and ``|G|^2 ~ |g|^2 - S / B`` (``g`` their
      mean), both unbiased. The mean must equal the batch's gradient, which is checked (a sum
      reduction mixes the examples' weights: then use "two_batch"); BatchNorm in training mode
      and dropout are refused (they mix the examples, or draw per batch).
    - ``"two_batch"``: the gradients of the whole batch (``B``) and of its two halves (``b = B
      // 2`` examples each): ``E|G_b|^2 = |G|^2 + tr(Sigma) / b``, so with ``|G_b|^2`` the mean
      over the halves, ``|G|^2 ~ (B |G_B|^2 - b |G_b|^2) / (B - b)`` and ``tr(Sigma) ~ (|G_b|^2
      - |G_B|^2) / (1 / b - 1 / B)`` (McCandlish et al., appendix A.1; both halves rather than
      one halve the small batch's variance). The cost of two backward passes, whatever ``B``.
    """
    if method not in NOISE_METHODS:
        raise OpError(f"noise_scale: method {method!r} is not one of {NOISE_METHODS}")
    size = twin.size
    if size < 2:
        raise OpError(
            f"noise_scale: needs a batch of at least 2 examples along the first axis of the "
            f"first batch entry, got {size}"
        )
    _, full = twin.gradients()
    full = _flat(full)
    if method == "two_batch":
        small_size = size // 2
        halves = [_flat(twin.gradients(twin.rows(start, start + small_size))[1])
                  for start in (0, small_size)]  # fmt: skip
        big_sq, small_sq = float(full @ full), float(np.mean([h @ h for h in halves]))
        grad_sq = (size * big_sq - small_size * small_sq) / (size - small_size)
        trace = (small_sq - big_sq) / (1 / small_size - 1 / size)
        return NoiseScale(trace, grad_sq, _ratio(trace, grad_sq), method, (small_size, size))
    try:
        per_sample = twin.per_sample_gradients()
    except BatchingError as error:
        raise BatchingError(f"noise_scale: {error}; or use method='two_batch'") from error
    mean = _flat([g.mean(axis=0) for g in per_sample])
    scale = float(np.max(np.abs(full), initial=0.0))
    if not np.allclose(mean, full, rtol=1e-6, atol=1e-9 * max(scale, 1e-300)):
        worst = float(np.max(np.abs(mean - full)))
        raise OpError(
            f"noise_scale: the batch's gradient is not the mean of its {size} examples' "
            f"gradients (they differ by up to {worst:.3g}); per-sample gradients need a loss "
            f"that is the mean over independent examples (reduction='mean', no BatchNorm in "
            f"training mode); use method='two_batch'"
        )
    total_sq = sum(float(np.vdot(g, g)) for g in per_sample)  # sum_i |g_i|^2
    trace = (total_sq - size * float(mean @ mean)) / (size - 1)
    grad_sq = float(mean @ mean) - trace / size
    return NoiseScale(trace, grad_sq, _ratio(trace, grad_sq), method, (1, size))


# ----- sharpness and the edge of stability -------------------------------------------------------


@dataclass(frozen=True)
class Sharpness:
    """The top Hessian eigenvalue ``eigenvalue`` (largest magnitude) of the loss on a batch,
    with the optimizer's stability ``threshold`` (None without an optimizer), its ``rule``
    ("2/lr", ...), the ``lr``, whether Lanczos ``converged``, and its ``products``."""

    eigenvalue: float
    threshold: float | None
    rule: str
    lr: float | None
    converged: bool
    products: int


def stability_threshold(optimizer) -> tuple[float, str, float]:
    """(threshold, rule, lr): the largest sharpness at which ``optimizer``'s update is stable on
    a quadratic, at its current learning rate (its first parameter group's ``lr``).

    Plain SGD: ``2 / lr``. SGD with momentum ``mu`` and dampening ``d`` (PyTorch's update):
    ``(2 + 2 mu) / (lr (1 - d))``; with Nesterov momentum ``(2 + 2 mu) / (lr (1 + 2 mu))``
    (Cohen et al. 2021, appendix). Any other optimizer: ``2 / lr``, gradient descent's edge,
    for reference only: an adaptive method's edge is on its preconditioned Hessian.
    """
    group = optimizer.param_groups[0]
    lr = float(group["lr"])
    if lr <= 0:
        raise OpError(f"stability_threshold: the learning rate must be positive, got {lr}")
    if not isinstance(optimizer, SGD) or not group.get("momentum", 0.0):
        suffix = "" if isinstance(optimizer, SGD) else f" (GD's; {type(optimizer).__name__})"
        return 2 / lr, "2/lr" + suffix, lr
    mu = float(group["momentum"])
    if group.get("nesterov", False):
        return (2 + 2 * mu) / (lr * (1 + 2 * mu)), "(2+2mu)/(lr(1+2mu))", lr
    return (2 + 2 * mu) / (lr * (1 - float(group.get("dampening", 0.0)))), "(2+2mu)/lr", lr


def sharpness(twin: Twin, optimizer=None, max_iter: int = 12, tol: float = 1e-2,
              seed: int = 0) -> Sharpness:  # fmt: skip
    """The top Hessian eigenvalue of the twin's loss by Lanczos
    (``mg.curvature.hessian_eigenvalues`` with a closure over the twin), and the optimizer's
    stability threshold. A few products from a random start (Lanczos needs about a quarter of
    power iteration's for the same accuracy): good to about ``tol``; ``converged`` says whether
    it was reached in ``max_iter`` products.

    The eigenvalue of largest magnitude (``which="LM"``): during training that is the largest
    positive one, the sharpness, at most ``max_iter`` products. A negative value says the loss
    curves down most steeply (a saddle), and bounds the sharpness by its size. ("LA" would find
    the largest positive one always, at up to twice the cost.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported as `converged`
        result = hessian_eigenvalues(twin.loss, twin.params, k=1, method="lanczos", which="LM",
                                     max_iter=max_iter, tol=tol, seed=seed)  # fmt: skip
    threshold, rule, lr = (None, "", None) if optimizer is None else stability_threshold(optimizer)
    return Sharpness(float(result.eigenvalues[0]), threshold, rule, lr, bool(result.converged[0]),
                     result.products)  # fmt: skip
