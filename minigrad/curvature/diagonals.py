"""Diagonals of the curvature matrices: ``hessian_diagonal``, ``ggn_diagonal``, ``fisher_diagonal``.

A diagonal is the curvature one coordinate sees alone: what a per-parameter learning rate
(``1 / |H_ii|``), AdaHessian's and Sophia's preconditioners, and Adam's second moment (the
empirical Fisher's diagonal) are built on. Two ways to get it:

- ``method="exact"``: from rows of the matrix (``H e_i``, a chunk of identity rows per
  forward-over-reverse pass: ``n`` products in all) or, for the GGN, from its factors
  (``diag(J^T H_l J)_i = sum_ab J_ai (H_l)_ab J_bi``). For small models.
- ``method="hutchinson"``: with Rademacher vectors ``z`` (entries +-1), ``E[z * (A z)] =
  diag(A)``, since ``E[z_i z_j] = 1`` if ``i = j`` and 0 otherwise; the estimate is the mean of
  ``samples`` such products, unbiased, with variance ``sum_{j != i} A_ij^2 / samples`` for
  coordinate ``i`` (Bekas, Kokiopoulou & Saad 2007; AdaHessian's estimator). For large models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..arguments import identity_rows
from ..hessians import DEFAULT_MAX_MEMORY
from .gauss_newton import GaussNewtonOperator
from .jacobians import per_sample_jacobian
from .loss_operator import check, loss_operator

__all__ = ["fisher_diagonal", "ggn_diagonal", "hessian_diagonal"]


def _check_method(fname: str, method: str, samples: int, chunk_size: int) -> None:
    check(
        method in ("exact", "hutchinson"),
        f"{fname}: method must be 'exact' or 'hutchinson', got {method!r}",
    )
    check(
        isinstance(samples, int) and samples >= 1,
        f"{fname}: samples must be a positive integer, got {samples!r}",
    )
    check(
        isinstance(chunk_size, int) and chunk_size >= 1,
        f"{fname}: chunk_size must be a positive integer, got {chunk_size!r}",
    )


def hutchinson_diagonal(products: Callable, n: int, samples: int, seed: int, chunk_size: int):
    """The mean of ``z * products(z)`` over ``samples`` Rademacher vectors ``z`` (``(n,)``),
    ``chunk_size`` of them per call of ``products`` (``(k, n)`` -> ``(k, n)``)."""
    rng = np.random.default_rng(seed)
    total = np.zeros(n)
    for start in range(0, samples, chunk_size):
        Z = rng.choice(np.array([-1.0, 1.0]), size=(min(chunk_size, samples - start), n))
        total += np.einsum("kn,kn->n", Z, products(Z))
    return total / samples


def hessian_diagonal(
    loss: Callable,
    params: Sequence,
    method: str = "exact",
    samples: int = 100,
    seed: int = 0,
    chunk_size: int = 32,
) -> np.ndarray:
    """The diagonal of the Hessian of the loss at ``params``: ``(n,)``, float64, flat over the
    parameters in order.

    ``loss``: a function of the list of parameters or a closure over the model (see
    ``loss_operator``). ``method="exact"``: ``H_ii = (H e_i)_i`` from the ``n`` rows of ``H``,
    ``chunk_size`` rows per forward-over-reverse pass (cost: ``n`` Hessian-vector products).
    ``method="hutchinson"``: the mean of ``z * (H z)`` over ``samples`` Rademacher vectors drawn
    with ``seed`` (cost: ``samples`` products, whatever ``n``; error ``~ sqrt(sum_{j != i}
    H_ij^2 / samples)`` for coordinate ``i``).
    """
    _check_method("hessian_diagonal", method, samples, chunk_size)
    H = loss_operator("hessian_diagonal", loss, params)
    if method == "hutchinson":
        return hutchinson_diagonal(H, H.n, samples, seed, chunk_size)
    diagonal = np.empty(H.n)
    for start in range(0, H.n, chunk_size):
        stop = min(start + chunk_size, H.n)
        rows = H(identity_rows(start, stop, H.n))
        diagonal[start:stop] = rows[np.arange(stop - start), np.arange(start, stop)]
    return diagonal


def ggn_diagonal(
    outputs: Callable,
    loss_of_outputs: Callable,
    params: Sequence,
    method: str = "exact",
    samples: int = 100,
    seed: int = 0,
    chunk_size: int = 32,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> np.ndarray:
    """The diagonal of the generalised Gauss-Newton matrix ``G = J^T H_l J``: ``(n,)``, float64;
    arguments as ``ggn_vector_product``.

    ``method="exact"``: ``G_ii = sum_ab J_ai (H_l)_ab J_bi`` from ``J`` (``m x n``: one backward
    pass per chunk of the ``m`` outputs) and ``H_l J`` (loss-Hessian products on the outputs),
    without forming ``G``; refused when ``J`` needs more than ``max_memory`` bytes.
    ``method="hutchinson"``: the mean of ``z * (G z)`` over ``samples`` Rademacher vectors,
    ``chunk_size`` GGN-vector products per pass (``G`` is positive semi-definite for a convex
    loss, but the estimate of a small diagonal entry can be negative).
    """
    _check_method("ggn_diagonal", method, samples, chunk_size)
    G = GaussNewtonOperator("ggn_diagonal", outputs, loss_of_outputs, params, max_memory)
    if method == "hutchinson":
        return hutchinson_diagonal(G, G.n, samples, seed, chunk_size)
    J, HJ = G.factors()
    return np.einsum("mi,mi->i", J, HJ)


def fisher_diagonal(
    per_sample_losses: Callable,
    params: Sequence,
    *,
    examples=None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """The diagonal of the empirical Fisher, ``(1/N) sum_i g_i * g_i`` (``(n,)``, float64): the
    mean square of each coordinate of the examples' gradients (``per_sample_gradients``, whose
    arguments it takes: ``examples=`` and the loss of one example for the fast way by
    ``mg.vmap``; normalised as ``empirical_fisher``). Exact, at the cost of the per-example
    gradients; they are formed ``chunk_size`` examples at a time (by default as many as fit in
    1 GiB), never ``F``.
    """
    source = per_sample_jacobian("fisher_diagonal", per_sample_losses, params, examples)
    totals = [np.zeros(shape) for shape in source.layout.shapes]
    for start, stop in source.chunks(chunk_size):
        for total, g in zip(totals, source.blocks(start, stop)):
            total += np.einsum("k...,k...->...", g, g, dtype=np.float64)
    return source.layout.join(totals) / source.m
