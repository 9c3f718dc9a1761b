"""The spectrum of a loss's Hessian: its extreme eigenvalues (``hessian_eigenvalues``, by
Lanczos or power iteration), all of them for a small model (``exact_hessian_spectrum``), and
its density by stochastic Lanczos quadrature (``hessian_spectral_density``).

Every tool takes the loss in either form (``loss_operator``): ``loss_fn(params)`` or a closure
with ``params=list(model.parameters())``; everything is float64.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .lanczos import lanczos_eigenpairs, lanczos_quadrature
from .loss_operator import check, loss_operator
from .power_iteration import ConvergenceWarning, EigenResult, top_hessian_eigenvalues

__all__ = [
    "SpectralDensity",
    "exact_hessian_spectrum",
    "hessian_eigenvalues",
    "hessian_spectral_density",
]


# ----- extreme eigenvalues --------------------------------------------------------------------


def hessian_eigenvalues(
    loss: Callable,
    params: Sequence,
    k: int = 1,
    method: str = "lanczos",
    which: str = "LM",
    tol: float = 1e-6,
    max_iter: int | None = None,
    seed: int = 0,
) -> EigenResult:
    """The ``k`` extreme eigenvalues of the Hessian of ``loss`` at ``params``, with their
    eigenvectors, from Hessian-vector products.

    ``which="LM"`` (default): largest magnitude first (a negative eigenvalue, a saddle
    direction, counts by its size); ``"LA"``: largest algebraic first.

    ``method="lanczos"`` (default): Lanczos with full reorthogonalisation
    (``lanczos_eigenpairs``): one Krylov space serves all ``k`` pairs, so ``k > 1`` costs few
    more products than ``k = 1``; ``max_iter`` (default 300) bounds the Lanczos steps, and a
    repeated eigenvalue shows once. ``method="power"``: power iteration with deflation
    (``top_hessian_eigenvalues``), one iteration per pair; ``max_iter`` (default 100) bounds
    each pair's products. Both stop when each pair's residual ``||H u - lam u||`` is at most
    ``tol * |lam|`` (some eigenvalue lies within the residual of ``lam``) and warn with a
    ``ConvergenceWarning`` when a pair has not converged. The result's ``products`` counts the
    Hessian-vector products spent; with Lanczos, every pair's ``iterations`` is the number of
    Lanczos steps.
    """
    name = "hessian_eigenvalues"
    check(
        method in ("lanczos", "power"),
        f"{name}: method must be 'lanczos' or 'power', got {method!r}",
    )
    check(which in ("LM", "LA"), f"{name}: which must be 'LM' or 'LA', got {which!r}")
    check(tol > 0, f"{name}: tol must be positive, got {tol}")
    check(
        max_iter is None or (isinstance(max_iter, int) and max_iter >= 1),
        f"{name}: max_iter must be an integer >= 1 (or None for the method's default), "
        f"got {max_iter}",
    )
    H = loss_operator(name, loss, params)
    check(
        isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= H.n,
        f"{name}: k must be an integer between 1 and the number of parameters ({H.n}), got {k!r}",
    )
    if method == "power":
        return top_hessian_eigenvalues(
            loss, params, k=k, max_iter=max_iter or 100, tol=tol, seed=seed, which=which
        )
    pairs = lanczos_eigenpairs(H.hvp, H.n, k, which, tol, max_iter or 300, seed)
    for value, residual, converged in zip(pairs.eigenvalues, pairs.residuals, pairs.converged):
        if not converged:
            warnings.warn(
                ConvergenceWarning(
                    f"{name}: an eigenvalue ({value:.6g}) did not converge in {pairs.steps} "
                    f"Lanczos steps (residual {residual:.3g} > tol * |lam|); raise max_iter"
                ),
                stacklevel=2,
            )
    return EigenResult(
        eigenvalues=pairs.eigenvalues,
        eigenvectors=pairs.eigenvectors,
        iterations=[pairs.steps] * k,
        residuals=pairs.residuals,
        converged=pairs.converged,
        products=H.products,
        shapes=H.shapes,
    )


# ----- the whole spectrum of a small model ----------------------------------------------------


def exact_hessian_spectrum(
    loss: Callable, params: Sequence, max_params: int = 4096, chunk_size: int = 256
) -> np.ndarray:
    """Every eigenvalue of the Hessian of ``loss`` at ``params``, ascending (``(n,)``).

    Builds ``H`` from Hessian-vector products with the identity's rows, ``chunk_size`` per
    forward-over-reverse pass, symmetrises it (``(H + H^T) / 2``: rounding leaves it
    asymmetric by ~eps) and takes ``numpy.linalg.eigvalsh``. Memory ``n^2`` floats and time
    ``O(n^3)``: refused beyond ``max_params`` parameters (raise it knowingly), where
    ``hessian_eigenvalues`` (the extremes) and ``hessian_spectral_density`` (the density) work
    from products alone.
    """
    name = "exact_hessian_spectrum"
    check(chunk_size >= 1, f"{name}: chunk_size must be >= 1, got {chunk_size}")
    H = loss_operator(name, loss, params)
    check(
        H.n <= max_params,
        f"{name}: the model has {H.n} parameters; the full Hessian ({H.n} x {H.n}, "
        f"{H.n**2 * 8 / 2**20:.0f} MiB, O(n^3) to diagonalise) is refused beyond max_params="
        f"{max_params}. Use hessian_eigenvalues(loss, params, k=...) for the extreme "
        f"eigenvalues or hessian_spectral_density(loss, params) for the density, or raise "
        f"max_params",
    )
    identity = np.eye(H.n)
    rows = [H.hvp(identity[i : i + chunk_size]) for i in range(0, H.n, chunk_size)]
    matrix = np.concatenate(rows)
    return np.linalg.eigvalsh((matrix + matrix.T) / 2)


# ----- the density ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpectralDensity:
    """A Hessian's spectral density, from ``hessian_spectral_density``.

    ``nodes``, ``weights`` ``(runs, steps)``: each run's Gauss quadrature (``lanczos_quadrature``;
    each run's weights sum to 1); ``density`` ``(len(grid),)``: their Gaussian broadening on
    ``grid``, ``sum_r sum_i weights[r, i] N(x; nodes[r, i], sigma^2) / runs``, which integrates to
    1 (its mass outside the grid aside); ``products``: the Hessian-vector products spent.
    ``plot(ax=None, exact=None, log=True)`` draws it.
    """

    nodes: np.ndarray
    weights: np.ndarray
    grid: np.ndarray
    density: np.ndarray
    sigma: float
    products: int

    def moment(self, f: Callable[[np.ndarray], np.ndarray]) -> float:
        """The quadrature's estimate of ``tr f(H) / n`` (``f`` applied to the nodes)."""
        return float(np.mean(np.sum(self.weights * f(self.nodes), axis=1)))

    def plot(self, ax=None, exact=None, log: bool = True):
        """Draw the density (log scale by default) on ``ax``, with the ``exact`` eigenvalues,
        if given, as a histogram and a rug; needs matplotlib. Returns ``ax``."""
        from .spectrum_plot import plot_spectral_density

        return plot_spectral_density(self, ax=ax, exact=exact, log=log)


def hessian_spectral_density(
    loss: Callable,
    params: Sequence,
    runs: int = 10,
    steps: int = 60,
    grid: int | np.ndarray = 1000,
    sigma: float | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
) -> SpectralDensity:
    """The density of the Hessian's eigenvalues, ``phi(x) = sum_j delta(x - lambda_j) / n``
    broadened by a Gaussian of width ``sigma``, by stochastic Lanczos quadrature.

    ``tr f(H) / n = E[z^T f(H) z] / n`` over Rademacher ``z``; for each of ``runs`` vectors,
    ``steps`` Lanczos steps give a Gauss quadrature ``sum_i w_i f(theta_i)`` of it
    (``lanczos_quadrature``: nodes the Ritz values, weights the squared first components of the
    tridiagonal's eigenvectors), exact for polynomials of degree ``<= 2 steps - 1``. With ``f``
    the Gaussian ``N(x; ., sigma^2)`` this is the broadened density at ``x``. More ``steps``
    resolve finer structure (the quadrature's nodes get ~``width / steps`` apart); more
    ``runs`` reduce the sampling error (``~1 / sqrt(runs n)`` in each moment).

    ``grid``: the points ``x`` (an array), or their number (default 1000) spread from
    ``5 sigma`` below the smallest node to ``5 sigma`` above the largest. ``sigma``: default
    1% of the nodes' spread. Cost: ``runs * steps`` products, in passes of ``chunk_size``
    products (default: all runs at once); memory ``chunk_size * steps * n`` floats.
    """
    name = "hessian_spectral_density"
    for label, value in (("runs", runs), ("steps", steps)):
        check(
            isinstance(value, int) and not isinstance(value, bool) and value >= 1,
            f"{name}: {label} must be an integer >= 1, got {value!r}",
        )
    check(sigma is None or sigma > 0, f"{name}: sigma must be positive, got {sigma}")
    H = loss_operator(name, loss, params)
    nodes, weights = lanczos_quadrature(H.hvp, H.n, runs, steps, seed, chunk_size)
    low, high = float(nodes.min()), float(nodes.max())
    if sigma is None:
        sigma = 0.01 * (high - low) or 1e-3 * max(abs(high), 1.0)
    if np.ndim(grid) == 0:
        check(
            isinstance(grid, int) and grid >= 2,
            f"{name}: grid must be a number of points >= 2 or a 1-D array, got {grid!r}",
        )
        grid = np.linspace(low - 5 * sigma, high + 5 * sigma, grid)
    grid = np.asarray(grid, dtype=np.float64)
    check(grid.ndim == 1, f"{name}: grid must be 1-D, got shape {grid.shape}")
    kernel = np.exp(-0.5 * ((grid[:, None] - nodes.ravel()) / sigma) ** 2)
    density = kernel @ weights.ravel() / (runs * sigma * np.sqrt(2 * np.pi))
    return SpectralDensity(nodes, weights, grid, density, float(sigma), H.products)
