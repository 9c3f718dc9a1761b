"""Curvature of a loss from Hessian-vector products: top eigenvalues, trace, a learning rate.

Near a point ``w``, a loss is its quadratic model ``L(w + d) ~ L(w) + g.d + d.H d / 2``. Along an
eigenvector ``u`` of the Hessian ``H`` with eigenvalue ``lam > 0``, a gradient step ``d = -lr * g``
multiplies the ``u`` component of the error by ``1 - lr * lam``: ``lr = 1 / lam`` removes it in one
step (Newton's step along ``u``), and any ``lr > 2 / lam`` makes it grow. So the sharpest
curvature ``lam_max`` sets the learning rate: ``1 / lam_max`` is the largest step that is exact on
the sharpest direction, and ``2 / lam_max`` the edge of divergence.

None of these tools builds ``H``. They only need products ``H @ v``, which ``mg.hvp`` computes by
forward-over-reverse at about the cost of two gradients, so they work for models whose Hessian
would not fit in memory.

``loss_fn`` is a function of a list of Tensors (one per parameter) returning a scalar Tensor; it
must compute the loss *from the Tensors it is given* (for a Module, a functional form of the
forward pass), and ``params`` is the list of their current values (Tensors or arrays, e.g.
``list(model.parameters())``). Vectors over the parameters are their flattened values
concatenated in order (the layout of ``mg.hessian(..., flat=True)``), of length ``n``; ``split``
cuts one back into arrays of the parameters' shapes. Everything is computed in float64.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..arguments import FlatLayout, scalar_output
from ..hessians import hvp, probe
from ..tensor import Tensor
from .optimizer import OptimizerError, check

__all__ = [
    "ConvergenceWarning",
    "EigenResult",
    "LRSuggestion",
    "TraceEstimate",
    "hessian_trace",
    "suggest_lr",
    "top_hessian_eigenvalues",
]


class ConvergenceWarning(UserWarning):
    """An iterative estimate stopped at ``max_iter`` before reaching its tolerance."""


# ----- the Hessian as a linear operator on flat vectors ---------------------------------------


class _FlatHessian:
    """``v -> H @ v`` for ``loss_fn`` as a function of all parameters, flattened and
    concatenated; ``V`` of shape ``(k, n)`` gives ``k`` products in one forward-over-reverse
    pass."""

    def __init__(self, fname: str, loss_fn: Callable, params: Sequence):
        check(callable(loss_fn), f"{fname}: loss_fn must be callable, got {type(loss_fn).__name__}")
        check(
            isinstance(params, list | tuple) and len(params) > 0,
            f"{fname}: params must be a non-empty list of Tensors (e.g. "
            f"list(model.parameters())), got {type(params).__name__}",
        )
        values = [np.asarray(p.data if isinstance(p, Tensor) else p) for p in params]
        for i, value in enumerate(values):
            check(
                value.dtype.kind in "fiub",
                f"{fname}: params[{i}] has dtype {value.dtype}; expected real numbers",
            )
        self.fname = fname
        self.primals = tuple(Tensor(v.astype(np.float64)) for v in values)
        self.layout = FlatLayout([v.shape for v in values])
        self.n = self.layout.n
        self.f = lambda *xs: loss_fn(list(xs))
        self.products = 0
        self._check_connected()

    def _check_connected(self) -> None:
        """Refuse a loss that ignores its arguments: its Hessian would silently read as zero."""
        leaves, out, tape = probe(self.f, self.primals)
        scalar_output(self.fname, out, function="loss_fn", error=OptimizerError)
        reached = {id(t) for t in tape}
        check(
            any(id(leaf) in reached for leaf in leaves),
            f"{self.fname}: the loss does not depend on the Tensors loss_fn is given; compute it "
            f"from them (a functional forward pass), not from the model's own parameters",
        )

    def __call__(self, V: np.ndarray) -> np.ndarray:
        V = np.atleast_2d(V)
        tangents = tuple(Tensor(t) for t in self.layout.split(V))
        out = hvp(self.f, self.primals, tangents)
        blocks = out if isinstance(out, tuple) else (out,)
        self.products += len(V)
        return self.layout.join([b.numpy() for b in blocks], lead=(len(V),))


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
    H = _FlatHessian("top_hessian_eigenvalues", loss_fn, params)
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
        shapes=list(H.layout.shapes),
    )


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
    H = _FlatHessian("hessian_trace", loss_fn, params)
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
        raise OptimizerError(
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
