"""Learning rates from the curvature of the loss: ``suggest_lr``.

Near a point ``w``, a loss is its quadratic model ``L(w + d) ~ L(w) + g.d + d.H d / 2``. Along an
eigenvector ``u`` of the Hessian ``H`` with eigenvalue ``lam > 0``, a gradient step ``d = -lr * g``
multiplies the ``u`` component of the error by ``1 - lr * lam``: ``lr = 1 / lam`` removes it in one
step (Newton's step along ``u``), and any ``lr > 2 / lam`` makes it grow. So the sharpest
curvature ``lam_max`` sets the learning rate: ``1 / lam_max`` is the largest step that is exact on
the sharpest direction, and ``2 / lam_max`` the edge of divergence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .loss_operator import CurvatureError
from .power_iteration import top_hessian_eigenvalues

__all__ = ["LRSuggestion", "suggest_lr"]


# ----- a learning rate from the curvature -----------------------------------------------------


@dataclass(frozen=True)
class LRSuggestion:
    """``lr = 1 / lambda_max`` and its ``uncertainty``, from the estimated ``eigenvalue``
    ``lambda_max`` and its ``residual`` bound; ``iterations``: the Hessian-vector products spent;
    whether the estimate ``converged``."""

    lr: float
    uncertainty: float
    eigenvalue: float
    residual: float
    iterations: int
    converged: bool


def suggest_lr(
    loss_fn: Callable,
    params: Sequence,
    max_iter: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
) -> LRSuggestion:
    """The learning rate ``1 / lambda_max`` set by the sharpest curvature of the loss at
    ``params`` (see the module docstring: the step that is exact along the sharpest direction;
    ``2 / lambda_max`` is where gradient descent starts to diverge).

    ``lambda_max`` is the largest algebraic eigenvalue (``top_hessian_eigenvalues(...,
    which="LA")``); it must be positive. Uncertainty: an eigenvalue of ``H`` lies within the
    residual ``r = ||H u - lambda u||`` of the estimate, so ``1 / lambda_max`` is within
    ``[1 / (lambda + r), 1 / (lambda - r)]``; ``uncertainty`` is the first-order half-width
    ``r / lambda**2``.
    """
    result = top_hessian_eigenvalues(
        loss_fn, params, k=1, max_iter=max_iter, tol=tol, seed=seed, which="LA"
    )
    lam, residual = float(result.eigenvalues[0]), float(result.residuals[0])
    if lam <= 0:
        raise CurvatureError(
            f"suggest_lr: the Hessian has no positive eigenvalue (the largest is {lam:.6g}); the "
            f"loss is locally flat or concave here, so its curvature suggests no learning rate"
        )
    return LRSuggestion(
        lr=1.0 / lam,
        uncertainty=residual / lam**2,
        eigenvalue=lam,
        residual=residual,
        iterations=result.products,
        converged=result.converged[0],
    )
