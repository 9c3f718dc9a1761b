"""Lanczos with full reorthogonalisation on a symmetric operator given by its products:
``lanczos_eigenpairs`` (extreme eigenpairs from Ritz pairs) and ``lanczos_quadrature``
(stochastic Lanczos quadrature, the nodes and weights behind a spectral density).

The operator is ``matvec(V) -> H V`` row by row: ``V`` of shape ``(k, n)`` in, ``(k, n)`` out
(a ``LossOperator``'s ``hvp`` computes ``k`` products in one forward-over-reverse pass).

From a unit start vector ``q_1``, Lanczos builds an orthonormal basis ``Q_m = [q_1 .. q_m]`` of
the Krylov space ``span(q_1, H q_1, .., H^(m-1) q_1)`` in which ``H`` is tridiagonal:
``Q_m^T H Q_m = T_m`` (``alpha`` on the diagonal, ``beta`` beside it), by the three-term
recurrence ``beta_j q_(j+1) = H q_j - alpha_j q_j - beta_(j-1) q_(j-1)``. In floating point the
``q_j`` lose orthogonality as Ritz values converge (and copies of them appear), so every new
vector is orthogonalised again against all earlier ones (twice, by classical Gram-Schmidt:
"twice is enough"); that costs ``O(m n)`` memory and work per step, little next to a
Hessian-vector product for the ``m`` of a few hundred used here. Everything is float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .loss_operator import check

__all__ = ["LanczosPairs", "lanczos_eigenpairs", "lanczos_quadrature"]

EPS = np.finfo(np.float64).eps


# ----- the recurrence, for several start vectors at once --------------------------------------


def _orthogonalise(w: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``w`` (``(r, n)``) minus its components along each row's basis ``basis`` (``(r, j, n)``),
    twice (classical Gram-Schmidt with one reorthogonalisation)."""
    for _ in range(2):
        w = w - np.einsum("rj,rjn->rn", np.einsum("rjn,rn->rj", basis, w), basis)
    return w


def _random_unit(rng, n: int, basis: np.ndarray) -> np.ndarray:
    """A random unit vector orthogonal to the rows of ``basis`` (``(j, n)``, ``j < n``)."""
    v = _orthogonalise(rng.standard_normal((1, n)), basis[None])[0]
    return v / np.linalg.norm(v)


def _tridiagonal(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)


# ----- extreme eigenpairs ---------------------------------------------------------------------


@dataclass(frozen=True)
class LanczosPairs:
    """``k`` Ritz pairs of ``lanczos_eigenpairs``: ``eigenvalues`` ``(k,)``, unit
    ``eigenvectors`` ``(k, n)``, ``residuals`` ``||H u - lam u||`` (from the recurrence:
    ``beta_m |s_m|``), ``converged`` per pair, ``steps`` (Lanczos steps: products)."""

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    converged: list[bool]
    steps: int


def _select(theta: np.ndarray, k: int, which: str) -> np.ndarray:
    """Indices of the top ``k`` values of ``theta``: largest magnitude or largest algebraic."""
    return np.argsort(-np.abs(theta) if which == "LM" else -theta, kind="stable")[:k]


def lanczos_eigenpairs(
    matvec: Callable[[np.ndarray], np.ndarray],
    n: int,
    k: int = 1,
    which: str = "LM",
    tol: float = 1e-6,
    max_iter: int = 300,
    seed: int = 0,
) -> LanczosPairs:
    """The ``k`` extreme eigenpairs of the symmetric ``n x n`` operator ``matvec``, as Ritz
    pairs of Lanczos with full reorthogonalisation from one random start vector.

    ``which="LM"``: largest magnitude first; ``"LA"``: largest algebraic first. The Ritz pairs
    ``(theta_i, Q_m s_i)`` (eigenpairs ``T_m s_i = theta_i s_i``) have residuals
    ``||H Q_m s_i - theta_i Q_m s_i|| = beta_m |s_i[m]|``; some eigenvalue of ``H`` lies within
    that residual of ``theta_i`` (and, with a gap ``delta`` to the rest of the spectrum, within
    ``residual^2 / delta``). Lanczos stops once each of the ``k`` selected pairs has a residual
    at most ``tol * max(|theta_i|, 100 * eps * |theta_1|)``, after at least ``min(n, 2k + 10)``
    steps (so the extremes have had a chance to appear), or after ``max_iter`` steps (capped at
    ``n``: then ``T_n`` is ``H`` in another basis and every pair is exact). If the Krylov space
    closes early (``beta`` vanishes: an invariant subspace), it continues from a random vector
    orthogonal to it.

    An eigenvalue of multiplicity ``> 1`` has one direction in a Krylov space, so it shows once
    among the top ``k`` unless Lanczos runs through the whole space (``max_iter >= n``);
    deflation (``top_hessian_eigenvalues``) finds every copy. One product per step; memory
    ``O(max_iter * n)``.
    """
    check(isinstance(n, int | np.integer) and n >= 1, f"lanczos: n must be >= 1, got {n}")
    check(
        isinstance(k, int | np.integer) and 1 <= k <= n,
        f"lanczos: k must be between 1 and the operator's size ({n}), got {k}",
    )
    check(which in ("LM", "LA"), f"lanczos: which must be 'LM' or 'LA', got {which!r}")
    check(tol > 0, f"lanczos: tol must be positive, got {tol}")
    check(max_iter >= 1, f"lanczos: max_iter must be >= 1, got {max_iter}")
    rng = np.random.default_rng(seed)
    steps = min(int(max_iter), n)
    Q = np.zeros((steps + 1, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    Q[0] = _random_unit(rng, n, Q[:0])
    least = min(n, 2 * k + 10)
    for j in range(steps):
        w = np.asarray(matvec(Q[j][None]), dtype=np.float64).reshape(n)
        alpha[j] = Q[j] @ w
        w = _orthogonalise(w[None], Q[None, : j + 1])[0]
        beta[j] = np.linalg.norm(w)
        m = j + 1
        theta, S = np.linalg.eigh(_tridiagonal(alpha[:m], beta[: m - 1]))
        top = _select(theta, k, which)
        residuals = beta[j] * np.abs(S[-1, top])
        scale = 100 * EPS * np.max(np.abs(theta))
        converged = residuals <= tol * np.maximum(np.abs(theta[top]), scale)
        if m == n or (m >= least and len(top) == k and converged.all()):
            break
        # NOTE: a vanishing beta means the Krylov space is invariant: its Ritz pairs are exact,
        # but second copies of repeated eigenvalues (and eigenvectors orthogonal to the start)
        # are outside it. Continue from a random orthogonal vector (beta_j = 0 keeps T exact).
        if beta[j] <= 1e-12 * max(np.max(np.abs(theta)), np.finfo(np.float64).tiny):
            beta[j] = 0.0
            Q[m] = _random_unit(rng, n, Q[:m])
        else:
            Q[m] = w / beta[j]
    if m == n:  # the whole space: T_n is H in another basis, exact up to rounding
        converged = np.ones(len(top), dtype=bool)
    return LanczosPairs(
        eigenvalues=theta[top],
        eigenvectors=S[:, top].T @ Q[:m],
        residuals=residuals,
        converged=[bool(c) for c in converged],
        steps=m,
    )


# ----- stochastic Lanczos quadrature ----------------------------------------------------------


def lanczos_quadrature(
    matvec: Callable[[np.ndarray], np.ndarray],
    n: int,
    runs: int,
    steps: int,
    seed: int = 0,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature of the spectral measure of the symmetric ``n x n`` operator ``matvec``
    seen from ``runs`` random Rademacher vectors: ``(nodes, weights)``, both ``(runs, steps)``.

    For a start vector ``z`` (entries ``+1``/``-1``) and ``q_1 = z / sqrt(n)``, ``m = steps``
    Lanczos steps give ``T_m = S diag(theta) S^T``; then, for any function ``f``,
    ``z^T f(H) z / n = q_1^T f(H) q_1 ~ e_1^T f(T_m) e_1 = sum_i S[0, i]^2 f(theta_i)``:
    the nodes are the Ritz values ``theta_i`` and the weights the SQUARES of the first
    components of ``T_m``'s eigenvectors (they sum to 1 per run). This is the ``m``-point
    Gauss quadrature of the measure ``sum_j (z.u_j)^2 / n delta(lambda_j)`` (eigenpairs
    ``(lambda_j, u_j)`` of ``H``): exact for polynomials ``f`` of degree ``<= 2m - 1``. Since
    ``E[z z^T] = I``, the mean over runs estimates ``tr f(H) / n``, e.g. the spectral density
    (``f`` a narrow Gaussian) or ``log det H / n`` (``f = log``).

    ``chunk_size`` runs (default: all) share each product pass (``matvec`` gets
    ``(chunk_size, n)``); memory ``chunk_size * steps * n`` floats. A run whose Krylov space
    closes before ``steps`` (an invariant subspace: ``steps > n``, or ``H`` with few distinct
    eigenvalues) is exact with fewer nodes; its remaining nodes repeat its last node with
    weight 0. Nodes are ascending in each run. ``seed`` fixes the start vectors (whatever
    ``chunk_size``).
    """
    name = "lanczos_quadrature"
    for label, value in (("n", n), ("runs", runs), ("steps", steps)):
        check(
            isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1,
            f"{name}: {label} must be an integer >= 1, got {value!r}",
        )
    chunk_size = runs if chunk_size is None else chunk_size
    check(chunk_size >= 1, f"{name}: chunk_size must be >= 1, got {chunk_size}")
    Z = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(runs, n))
    parts = [_quadrature(matvec, Z[i : i + chunk_size] / np.sqrt(n), steps)
             for i in range(0, runs, chunk_size)]  # fmt: skip
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _quadrature(matvec, start: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights ``(r, steps)`` of Lanczos from the unit rows of ``start`` at once."""
    runs, n = start.shape
    Q = np.zeros((runs, steps, n))
    Q[:, 0] = start
    alpha, beta = np.zeros((runs, steps)), np.zeros((runs, steps))
    length = np.full(runs, steps)  # Lanczos steps taken by each run
    active = np.arange(runs)
    for j in range(steps):
        V = Q[active, j]
        W = np.asarray(matvec(V), dtype=np.float64).reshape(len(active), n)
        alpha[active, j] = np.einsum("rn,rn->r", V, W)
        if j == steps - 1:
            break
        W = _orthogonalise(W, Q[active, : j + 1])
        beta[active, j] = np.linalg.norm(W, axis=1)
        scale = np.max(np.abs(alpha[active, : j + 1]), axis=1) + beta[active, j]
        closed = beta[active, j] <= 1e-12 * np.maximum(scale, np.finfo(np.float64).tiny)
        length[active[closed]] = j + 1
        keep = ~closed
        Q[active[keep], j + 1] = W[keep] / beta[active[keep], j, None]
        active = active[keep]
        if len(active) == 0:
            break
    nodes, weights = np.zeros((runs, steps)), np.zeros((runs, steps))
    for r in range(runs):
        m = length[r]
        theta, S = np.linalg.eigh(_tridiagonal(alpha[r, :m], beta[r, : m - 1]))
        nodes[r, :m], weights[r, :m] = theta, S[0] ** 2
        nodes[r, m:] = theta[-1]
    return nodes, weights
