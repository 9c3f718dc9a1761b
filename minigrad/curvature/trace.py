"""Hutchinson's estimate of the trace of a loss's Hessian: ``hessian_trace``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .loss_operator import check, loss_operator

__all__ = ["TraceEstimate", "hessian_trace"]


# ----- trace by Hutchinson --------------------------------------------------------------------


@dataclass(frozen=True)
class TraceEstimate:
    """``trace`` estimate, its ``stderr`` (standard error) and the number of ``samples``."""

    trace: float
    stderr: float
    samples: int


def hessian_trace(
    loss_fn: Callable,
    params: Sequence,
    samples: int = 100,
    seed: int = 0,
    chunk_size: int = 32,
) -> TraceEstimate:
    """Hutchinson's estimate of ``tr(H)`` from ``samples`` Hessian-vector products.

    With ``z`` a Rademacher vector (entries ``+1``/``-1``, each with probability 1/2),
    ``E[z z^T] = I``, so ``E[z^T H z] = tr(H)``: the estimate is the mean of ``q_i = z_i^T H z_i``
    and its standard error ``std(q, ddof=1) / sqrt(samples)``, which shrinks like
    ``1 / sqrt(samples)``. The variance of one sample is ``2 * sum_{i != j} H_ij^2`` (the smallest
    of any i.i.d. unit-variance ``z``): a diagonal Hessian is estimated exactly by one sample.
    ``chunk_size`` products share one forward-over-reverse pass (memory grows with it).
    """
    H = loss_operator("hessian_trace", loss_fn, params)
    check(
        isinstance(samples, int) and samples >= 2,
        f"hessian_trace: samples must be an integer >= 2 (for a standard error), got {samples}",
    )
    check(chunk_size >= 1, f"hessian_trace: chunk_size must be >= 1, got {chunk_size}")
    rng = np.random.default_rng(seed)
    Z = rng.choice(np.array([-1.0, 1.0]), size=(samples, H.n))
    q = np.concatenate(
        [
            np.einsum("kn,kn->k", Z[i : i + chunk_size], H(Z[i : i + chunk_size]))
            for i in range(0, samples, chunk_size)
        ]
    )
    return TraceEstimate(
        trace=float(q.mean()), stderr=float(q.std(ddof=1) / np.sqrt(samples)), samples=samples
    )
