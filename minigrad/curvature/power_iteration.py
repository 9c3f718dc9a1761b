"""The extreme eigenvalues of a loss's Hessian by power iteration with deflation, from
Hessian-vector products (``loss_operator``): ``top_hessian_eigenvalues``."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..arguments import FlatLayout
from .loss_operator import check, loss_operator

__all__ = ["ConvergenceWarning", "EigenResult", "top_hessian_eigenvalues"]


class ConvergenceWarning(UserWarning):
    """An iterative estimate stopped at ``max_iter`` before reaching its tolerance."""


# ----- eigenvalues by power iteration ---------------------------------------------------------


@dataclass(frozen=True)
class EigenResult:
    """Eigenpairs of the Hessian found by ``top_hessian_eigenvalues``.

    ``eigenvalues`` ``(k,)``; ``eigenvectors`` ``(k, n)``, unit rows, flat over the parameters
    (``split(i)`` gives eigenvector ``i`` in the parameters' shapes). Per eigenpair: the
    ``iterations`` (Hessian-vector products) of its own power iteration, the ``residuals``
    ``||H u - lam u||`` (some eigenvalue of ``H`` lies within that distance of ``lam``, and ``u``
    is within an angle ``asin(residual / gap)`` of that eigenvalue's eigenvector), and whether it
    ``converged``. ``products``: all Hessian-vector products spent, including pairs found only
    to be deflated (``which="LA"``).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    iterations: list[int]
    residuals: np.ndarray
    converged: list[bool]
    products: int
    shapes: list[tuple]

    def split(self, i: int) -> list[np.ndarray]:
        """Eigenvector ``i`` as a list of arrays with the parameters' shapes."""
        return FlatLayout(self.shapes).split(self.eigenvectors[i])


@dataclass
class _Pair:
    value: float
    vector: np.ndarray
    iterations: int
    residual: float  # ||H u - value u||, without deflation
    converged: bool


def _power_iteration(H, found, rng, max_iter, tol, scale, shift=0.0) -> _Pair:
    """One eigenpair of ``H + shift * I`` restricted to the complement of the unit vectors
    ``found`` (deflation by projection), by power iteration from a random start."""
    U = np.array([pair.vector for pair in found]).reshape(len(found), H.n)
    v = rng.standard_normal(H.n)
    v -= U.T @ (U @ v)
    v /= np.linalg.norm(v)
    for iteration in range(1, max_iter + 1):
        Hv = H(v)[0]
        w = Hv + shift * v
        w -= U.T @ (U @ w)  # H keeps the complement of its eigenvectors invariant: stay there
        rayleigh = float(v @ w)
        lam = rayleigh - shift
        # NOTE: convergence is judged on the deflated operator (what the iteration can reduce);
        # the residual reported is the full one, which also holds the error of `found`.
        converged = np.linalg.norm(w - rayleigh * v) <= tol * max(abs(lam), scale)
        if converged or iteration == max_iter:
            break
        v = w / np.linalg.norm(w)
    return _Pair(lam, v, iteration, float(np.linalg.norm(Hv - lam * v)), bool(converged))


def top_hessian_eigenvalues(
    loss_fn: Callable,
    params: Sequence,
    k: int = 1,
    max_iter: int = 100,
    tol: float = 1e-6,
    seed: int = 0,
    which: str = "LM",
) -> EigenResult:
    """The ``k`` extreme eigenvalues of the Hessian of ``loss_fn`` at ``params``, with their
    eigenvectors, by power iteration on Hessian-vector products.

    ``which="LM"`` (default): largest *magnitude* first, ``|lam_1| >= |lam_2| >= ...``; a
    negative eigenvalue (a saddle direction) counts by its size. ``which="LA"``: largest
    *algebraic* first, ``lam_1 >= lam_2 >= ...`` (the sharpest positive curvature first).

    Power iteration: ``v <- H v / ||H v||`` converges to the eigenvector of the largest
    ``|lam|``, the error shrinking by ``|lam_2 / lam_1|`` per product. Each next eigenpair
    repeats it on ``P H P``, ``P = I - U U^T`` projecting out the eigenvectors ``U`` already
    found (deflation: ``H`` symmetric has orthogonal eigenvectors, so the rest of the spectrum
    lives in the complement). So pairs come in order of decreasing magnitude.

    ``"LA"`` takes those pairs while they are positive: a positive pair found by magnitude is
    at least every eigenvalue not yet found. Once ``k`` negative pairs have come first (or a
    pair does not converge), it deflates them and iterates on ``H + sigma I`` instead, with
    ``sigma`` the largest magnitude found: its spectrum is ``>= 0`` and ordered as ``H``'s, so
    power iteration finds the largest remaining algebraic eigenvalue, but more slowly (by the
    ratio ``(lam_2 + sigma) / (lam_1 + sigma)``).

    Stopping: the Rayleigh quotient ``lam = v.Hv`` is accepted when the residual of the deflated
    operator is at most ``tol * max(|lam|, 100 * eps * |lam_1|)``; since some eigenvalue of the
    symmetric ``H`` lies within the residual of ``lam``, the eigenvalue is then right to ``tol``
    relative (for deflated pairs, up to the error left in the earlier ones), and the
    eigenvector to about ``tol * |lam| / gap`` (``gap`` to the nearest other eigenvalue). A pair
    that has not converged after ``max_iter`` products raises a ``ConvergenceWarning`` (a small
    gap, or ``+lam`` and ``-lam`` both present: raise ``max_iter``, or use ``"LA"``).

    ``seed`` fixes the random start vectors. Cost: ``products`` Hessian-vector products, each
    about two gradient evaluations; memory ``O(k n)``.
    """
    H = loss_operator("top_hessian_eigenvalues", loss_fn, params)
    check(
        isinstance(k, int) and 1 <= k <= H.n,
        f"top_hessian_eigenvalues: k must be between 1 and the number of parameters ({H.n}), "
        f"got {k}",
    )
    check(max_iter >= 1, f"top_hessian_eigenvalues: max_iter must be >= 1, got {max_iter}")
    check(tol > 0, f"top_hessian_eigenvalues: tol must be positive, got {tol}")
    check(
        which in ("LM", "LA"), f"top_hessian_eigenvalues: which must be 'LM' or 'LA', got {which!r}"
    )
    rng = np.random.default_rng(seed)
    found: list[_Pair] = []  # every pair deflated so far
    certain: list[_Pair] = []  # pairs known to be among the top k (for "LA")
    scale = 0.0

    # Largest magnitude first, deflating as we go.
    sigma = 0.0
    while len(certain) < k:
        pair = _power_iteration(H, found, rng, max_iter, tol, scale)
        scale = scale or 100 * np.finfo(np.float64).eps * abs(pair.value)
        if which == "LM":
            found.append(pair)
            certain.append(pair)
            continue
        sigma = max(sigma, abs(pair.value) + pair.residual)
        if not pair.converged:
            break  # not an eigenvector: do not deflate it; its size still bounds the spectrum
        found.append(pair)
        if pair.value >= 0:
            certain.append(pair)
        if len(found) - len(certain) >= k or len(found) == H.n:
            break
    # "LA", if needed: the largest algebraic of the rest, by the shifted operator.
    while len(certain) < k and len(found) < H.n:
        pair = _power_iteration(H, found, rng, max_iter, tol, scale, shift=sigma)
        found.append(pair)
        certain.append(pair)
    if len(certain) < k:  # every eigenvalue found: the deflated negatives are the smallest
        certain = found

    for pair in certain:
        if not pair.converged:
            warnings.warn(
                ConvergenceWarning(
                    f"top_hessian_eigenvalues: an eigenvalue ({pair.value:.6g}) did not converge "
                    f"in {max_iter} iterations (residual {pair.residual:.3g} > tol * |lam|); the "
                    f"gap to the next eigenvalue may be small: raise max_iter"
                ),
                stacklevel=2,
            )
    values = np.array([pair.value for pair in certain])
    order = np.argsort(-np.abs(values) if which == "LM" else -values, kind="stable")[:k]
    return EigenResult(
        eigenvalues=values[order],
        eigenvectors=np.array([certain[i].vector for i in order]),
        iterations=[certain[i].iterations for i in order],
        residuals=np.array([certain[i].residual for i in order]),
        converged=[certain[i].converged for i in order],
        products=H.products,
        shapes=H.shapes,
    )
