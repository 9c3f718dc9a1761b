"""Learning rates from the curvature of the loss: ``suggest_lr``.

Near a point ``w``, a loss is its quadratic model ``L(w + d) ~ L(w) + g.d + d.H d / 2``. Along an
eigenvector ``u`` of the Hessian ``H`` with eigenvalue ``lam > 0``, a gradient step ``d = -lr * g``
multiplies the ``u`` component of the error by ``1 - lr * lam``: ``lr = 1 / lam`` removes it in one
step (Newton's step along ``u``), and any ``lr > 2 / lam`` makes it grow. So the sharpest
curvature ``lam_max`` sets the learning rate: ``1 / lam_max`` is the largest step that is exact on
the sharpest direction, and ``2 / lam_max`` the edge of divergence.

The ideal step ``-H^{-1} g`` takes ``lr = 1 / lam`` along every eigenvector at once: the learning
rate is a matrix. Two cheaper summaries of it: one scalar for all directions, the inverse
geometric mean of the eigenvalues ``det(H)^(-1/n)`` (the scalar ``c`` for which ``c H`` has
determinant 1: exact if all eigenvalues are equal), and one rate per coordinate, ``1 / |H_ii|``
(exact if ``H`` is diagonal).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .diagonals import hessian_diagonal
from .lanczos import lanczos_quadrature
from .loss_operator import CurvatureError, LossOperator, check, loss_operator
from .power_iteration import top_hessian_eigenvalues
from .spectrum import exact_hessian_spectrum

__all__ = ["LRSuggestion", "suggest_lr"]

METHODS = ("max", "geometric", "diagonal")
#: ``exact=None`` builds the Hessian (``method="geometric"``) or reads its diagonal exactly
#: (``method="diagonal"``) up to this many parameters, and estimates it above.
EXACT_SIZE = 1024


# ----- a learning rate from the curvature -----------------------------------------------------


@dataclass(frozen=True)
class LRSuggestion:
    """A learning rate from the curvature, by ``method``:

    - ``"max"``: ``lr = 1 / eigenvalue`` with ``eigenvalue = lambda_max`` (power iteration) and
      its ``residual`` bound ``||H u - lambda u||``; ``uncertainty`` is the first-order
      half-width ``residual / lambda**2`` of ``lr``.
    - ``"geometric"``: ``lr = 1 / eigenvalue`` with ``eigenvalue = exp(mean(log lambda_i))``, the
      geometric mean of the eigenvalues, ``exact`` (``slogdet`` of the Hessian: ``uncertainty``
      0) or by stochastic Lanczos quadrature (``uncertainty``: ``lr`` times the standard error
      of ``mean(log lambda_i)`` over the random probes, the sampling error alone); ``smallest``:
      the smallest eigenvalue seen (exact, or the smallest Lanczos node: an upper bound of
      ``lambda_min``).
    - ``"diagonal"``: ``lr`` is a list of float64 arrays in the parameters' shapes,
      ``clip(1 / |H_ii|, lr_min, lr_max)``; ``diagonal``: the flat ``H_ii`` it came from,
      ``exact`` or Hutchinson's estimate; ``clipped``: how many rates were clipped.

    ``iterations``: the Hessian-vector products spent; whether the estimate ``converged``.
    Fields a method does not define are NaN (or None)."""

    lr: float | list[np.ndarray]
    uncertainty: float
    eigenvalue: float
    residual: float
    iterations: int
    converged: bool
    method: str = "max"
    exact: bool = False
    smallest: float = math.nan
    diagonal: np.ndarray | None = None
    clipped: int = 0


def suggest_lr(
    loss_fn: Callable,
    params: Sequence,
    method: str = "max",
    max_iter: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    *,
    exact: bool | None = None,
    samples: int = 32,
    steps: int = 40,
    lr_min: float = 0.0,
    lr_max: float = 1.0,
) -> LRSuggestion:
    """A learning rate from the Hessian ``H`` of the loss at ``params`` (see the module
    docstring), by ``method``:

    ``"max"`` (the default): ``1 / lambda_max``, the step set by the sharpest curvature (exact
    along the sharpest direction; ``2 / lambda_max`` is where gradient descent starts to
    diverge). ``lambda_max`` is the largest algebraic eigenvalue (``top_hessian_eigenvalues(...,
    which="LA")``, ``max_iter`` and ``tol`` its power iteration's); it must be positive.
    Uncertainty: an eigenvalue of ``H`` lies within the residual ``r = ||H u - lambda u||`` of
    the estimate, so ``1 / lambda_max`` is within ``[1 / (lambda + r), 1 / (lambda - r)]``;
    ``uncertainty`` is the first-order half-width ``r / lambda**2``.

    ``"geometric"``: ``det(H)^(-1/n) = exp(-mean(log lambda_i))``, the inverse geometric mean
    of the ``n`` eigenvalues: the one scalar that is right "on average" over all directions in
    log scale (it is ``1 / lambda`` when every eigenvalue is ``lambda``), and larger than
    ``1 / lambda_max``, so plain gradient descent at this rate diverges along the sharp
    directions when the spectrum is spread. Defined only where ``H`` is positive definite: a
    ``CurvatureError`` names the smallest eigenvalue found otherwise. ``exact=True`` (the
    default up to ``EXACT_SIZE`` parameters) builds ``H`` from ``n`` Hessian-vector products
    and takes the mean log of all its eigenvalues (``exact_hessian_spectrum``; the same number
    as ``np.linalg.slogdet(H)[1] / n``, with the smallest eigenvalue to check);
    ``exact=False`` estimates ``tr(log H) / n`` by stochastic Lanczos quadrature
    (``lanczos_quadrature``: ``samples`` Rademacher probes, ``steps`` Lanczos steps each, one
    product per step and probe): the mean over probes of ``sum(weights * log(nodes))``. The
    nodes lie inside ``[lambda_min, lambda_max]``, so a node ``<= 0`` proves ``H`` is not
    positive definite; all nodes positive does not prove that it is.

    ``"diagonal"``: a learning rate per parameter element, ``clip(1 / |H_ii|, lr_min,
    lr_max)`` (``|H_ii|``: a negative diagonal, a direction of negative curvature, gets the
    rate of its size; a zero one gets ``lr_max``), as arrays in the parameters' shapes, for
    ``p -= lr[i] * p.grad``. ``H_ii`` from ``hessian_diagonal`` (``exact``, or Hutchinson's
    estimate from ``samples`` probes).
    """
    check(method in METHODS, f"suggest_lr: method must be one of {METHODS}, got {method!r}")
    if method == "max":
        return _max_eigenvalue(loss_fn, params, max_iter, tol, seed)
    check(
        exact is None or isinstance(exact, bool),
        f"suggest_lr: exact must be True, False or None (decide by size), got {exact!r}",
    )
    check(
        isinstance(samples, int) and samples >= 2,
        f"suggest_lr: samples must be an integer >= 2, got {samples!r}",
    )
    H = loss_operator("suggest_lr", loss_fn, params)
    exact = H.n <= EXACT_SIZE if exact is None else exact
    if method == "geometric":
        check(
            isinstance(steps, int) and steps >= 1,
            f"suggest_lr: steps must be an integer >= 1, got {steps!r}",
        )
        if exact:
            return _exact_geometric(exact_hessian_spectrum(loss_fn, params))
        return _lanczos_geometric(H, samples, steps, seed)
    check(
        0 <= lr_min <= lr_max < math.inf,
        f"suggest_lr: need 0 <= lr_min <= lr_max < inf for method='diagonal', got "
        f"lr_min={lr_min}, lr_max={lr_max}",
    )
    diagonal = hessian_diagonal(
        loss_fn, params, method="exact" if exact else "hutchinson", samples=samples, seed=seed
    )
    spent = H.n if exact else samples
    return _diagonal(H, np.asarray(diagonal, dtype=np.float64), exact, spent, lr_min, lr_max)


# ----- the three methods ----------------------------------------------------------------------


def _max_eigenvalue(loss_fn, params, max_iter, tol, seed) -> LRSuggestion:
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


def _check_positive_definite(smallest: float, largest: float, n: int, how: str) -> None:
    """Refuse a smallest eigenvalue ``<= 0``, or zero to rounding (``<= n eps |largest|``)."""
    if smallest > n * np.finfo(np.float64).eps * abs(largest):
        return
    zero = f" (zero to rounding, next to the largest {largest:.6g})" if smallest > 0 else ""
    raise CurvatureError(
        f"suggest_lr(method='geometric'): det(H)^(-1/n) is defined only where the Hessian is "
        f"positive definite, and here it is not: {how} {smallest:.6g}{zero}. Use method='max' "
        f"(1 / lambda_max, which needs only a positive largest eigenvalue), or the Gauss-Newton "
        f"matrix, which is positive semi-definite"
    )


def _exact_geometric(eigenvalues: np.ndarray) -> LRSuggestion:
    """``mean(log lambda_i) = log det(H) / n`` from every eigenvalue (``exact_hessian_spectrum``:
    the Hessian from ``n`` products, then ``eigvalsh``; the same ``O(n^3)`` as ``slogdet``, and
    the smallest eigenvalue comes with it)."""
    smallest = float(eigenvalues[0])
    largest = float(np.abs(eigenvalues).max())
    _check_positive_definite(smallest, largest, len(eigenvalues), "its smallest eigenvalue is")
    mean_log = float(np.mean(np.log(eigenvalues)))
    return LRSuggestion(
        lr=math.exp(-mean_log),
        uncertainty=0.0,
        eigenvalue=math.exp(mean_log),
        residual=math.nan,
        iterations=len(eigenvalues),
        converged=True,
        method="geometric",
        exact=True,
        smallest=smallest,
    )


def _lanczos_geometric(H: LossOperator, samples: int, steps: int, seed: int) -> LRSuggestion:
    """``tr(log H) / n`` by stochastic Lanczos quadrature, one estimate per probe."""
    nodes, weights = lanczos_quadrature(H.hvp, H.n, runs=samples, steps=steps, seed=seed)
    smallest = float(nodes.min())
    _check_positive_definite(smallest, float(np.abs(nodes).max()), H.n, "a Lanczos node (a Ritz "
                             "value, which lies between the extreme eigenvalues) is")  # fmt: skip
    per_probe = np.sum(weights * np.log(nodes), axis=1)
    mean_log = float(per_probe.mean())
    lr = math.exp(-mean_log)
    return LRSuggestion(
        lr=lr,
        uncertainty=lr * float(per_probe.std(ddof=1)) / math.sqrt(samples),
        eigenvalue=math.exp(mean_log),
        residual=math.nan,
        iterations=H.products,
        converged=True,
        method="geometric",
        exact=False,
        smallest=smallest,
    )


def _diagonal(H: LossOperator, diagonal, exact, spent, lr_min, lr_max) -> LRSuggestion:
    """``clip(1 / |diagonal|, lr_min, lr_max)`` in the parameters' shapes."""
    size = np.abs(diagonal)
    with np.errstate(divide="ignore"):
        rates = np.where(size > 0, 1.0 / size, math.inf)
    clipped = np.clip(rates, lr_min, lr_max)
    return LRSuggestion(
        lr=H.split(clipped),
        uncertainty=math.nan,
        eigenvalue=math.nan,
        residual=math.nan,
        iterations=spent,
        converged=True,
        method="diagonal",
        exact=exact,
        diagonal=diagonal,
        clipped=int(np.count_nonzero(clipped != rates)),
    )
