"""Curvature tools (``minigrad.curvature``) against the exact spectrum and trace.

References: a quadratic ``w.A w / 2`` with a chosen spectrum (``H = A``), a logistic regression
(``H = X^T diag(p (1 - p)) X / N``, written here), and a tiny tanh MLP, whose Hessian is
``mg.hessian(..., flat=True)`` (itself checked against finite differences in test_hessians.py).
Eigenvalues are compared with ``numpy.linalg.eigh``, traces with ``np.trace``.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad.curvature import (
    ConvergenceWarning,
    hessian_trace,
    suggest_lr,
    top_hessian_eigenvalues,
)
from minigrad.optim import OptimizerError

# ----- problems ------------------------------------------------------------------------------------


def symmetric_with_spectrum(eigenvalues, seed=0):
    """``A = Q diag(eigenvalues) Q^T`` with a random orthogonal ``Q``; returns (A, Q)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return Q @ np.diag(eigenvalues) @ Q.T, Q


def quadratic(A, shapes):
    """``loss(ps) = w.A w / 2 + c.w`` with ``w`` the parameters flattened and concatenated."""
    c = mg.tensor(np.arange(A.shape[0], dtype=np.float64))
    A_t = mg.tensor(A)

    def loss(ps):
        w = mg.concatenate([p.reshape(-1) for p in ps])
        return 0.5 * (w @ (A_t @ w)) + c @ w

    rng = np.random.default_rng(1)
    params = [rng.standard_normal(shape) for shape in shapes]
    return loss, params


def logistic_regression(seed=0):
    """Mean logistic loss of ``X w + b``; columns of X scaled so the spectrum is spread out.
    Returns (loss, params, exact Hessian over [w, b])."""
    rng = np.random.default_rng(seed)
    N, d = 40, 4
    X = rng.standard_normal((N, d)) * np.array([3.0, 1.5, 0.8, 0.3])
    y = (rng.random(N) < 0.5).astype(np.float64)
    w, b = 0.3 * rng.standard_normal(d), np.array(0.1)
    X_t, y_t = mg.tensor(X), mg.tensor(y)

    def loss(ps):
        z = X_t @ ps[0] + ps[1]
        # log(1 + e^z) - y z, stably
        return (mg.maximum(z, 0.0) + mg.log1p(mg.exp(-mg.abs(z))) - y_t * z).mean()

    p = 1 / (1 + np.exp(-(X @ w + b)))
    Xb = np.hstack([X, np.ones((N, 1))])
    H = Xb.T @ (Xb * (p * (1 - p))[:, None]) / N
    return loss, [w, b], H


def tiny_mlp(seed=0):
    """Mean squared error of a 3-4-1 tanh network; Hessian by mg.hessian (indefinite)."""
    rng = np.random.default_rng(seed)
    X, y = mg.tensor(rng.standard_normal((20, 3))), mg.tensor(rng.standard_normal(20))

    def loss(ps):
        W1, b1, w2 = ps
        return ((mg.tanh(X @ W1 + b1) @ w2 - y) ** 2).mean()

    params = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)]
    H = mg.hessian(lambda *ps: loss(list(ps)), argnums=(0, 1, 2), flat=True)(*params).numpy()
    return loss, params, H


def reference(H, k, which):
    """The top ``k`` eigenpairs of ``H`` by ``numpy.linalg.eigh`` (rows are eigenvectors)."""
    lam, U = np.linalg.eigh(H)
    order = np.argsort(-np.abs(lam) if which == "LM" else -lam)[:k]
    return lam[order], U[:, order].T, lam


def assert_eigenpairs(result, H, k, which, rtol=1e-6):
    """Eigenvalues to ``rtol``; each eigenvector, up to sign, within the Davis-Kahan bound
    ``sin(angle) <= residual / gap`` (gap to the nearest other eigenvalue), doubled for slack."""
    lam_ref, U_ref, spectrum = reference(H, k, which)
    assert result.eigenvalues.shape == (k,) and result.eigenvectors.shape == (k, H.shape[0])
    assert all(result.converged)
    np.testing.assert_allclose(result.eigenvalues, lam_ref, rtol=rtol)
    for u, u_ref, lam, residual in zip(result.eigenvectors, U_ref, lam_ref, result.residuals):
        gap = np.min(np.abs(np.delete(spectrum, np.argmin(np.abs(spectrum - lam))) - lam))
        sign = np.sign(u @ u_ref)
        assert np.linalg.norm(u - sign * u_ref) <= 2 * max(residual, 1e-12) / gap
        np.testing.assert_allclose(np.linalg.norm(u), 1.0, rtol=1e-12)


# ----- top eigenvalues -----------------------------------------------------------------------------

SPECTRUM = [10.0, -7.0, 5.0, 3.0, 1.0, 0.5]
SHAPES = [(2, 2), (2,)]  # two parameter tensors, 6 numbers


@pytest.mark.parametrize(
    "which, want",
    [("LM", [10.0, -7.0, 5.0]), ("LA", [10.0, 5.0, 3.0])],
    ids=["largest magnitude", "largest algebraic"],
)
def test_quadratic_known_spectrum(which, want):
    A, _ = symmetric_with_spectrum(SPECTRUM)
    loss, params = quadratic(A, SHAPES)
    result = top_hessian_eigenvalues(loss, params, k=3, which=which)
    np.testing.assert_allclose(result.eigenvalues, want, rtol=1e-6)
    assert_eigenpairs(result, A, 3, which)
    assert all(1 <= it <= 100 for it in result.iterations)


def test_largest_algebraic_when_the_largest_magnitude_is_negative():
    """The sharpest *negative* curvature (-12) is skipped by "LA", found first by "LM"."""
    A, _ = symmetric_with_spectrum([-12.0, 8.0, 4.0, 1.0, -2.0])
    loss, params = quadratic(A, [(5,)])
    assert_eigenpairs(top_hessian_eigenvalues(loss, params, k=2, which="LA"), A, 2, "LA")
    lm = top_hessian_eigenvalues(loss, params, k=2, which="LM")
    np.testing.assert_allclose(lm.eigenvalues, [-12.0, 8.0], rtol=1e-6)


def test_deflation_recovers_the_whole_spectrum():
    """k = n: every eigenvalue, each orthogonal to the ones before."""
    A, _ = symmetric_with_spectrum([4.0, -2.0, 1.0, 0.25], seed=3)
    loss, params = quadratic(A, [(4,)])
    result = top_hessian_eigenvalues(loss, params, k=4, max_iter=500)
    assert_eigenpairs(result, A, 4, "LM")
    U = result.eigenvectors
    np.testing.assert_allclose(U @ U.T, np.eye(4), atol=1e-10)


def test_eigenvectors_split_into_parameter_shapes():
    A, Q = symmetric_with_spectrum(SPECTRUM)
    loss, params = quadratic(A, SHAPES)
    result = top_hessian_eigenvalues(loss, params, k=1)
    pieces = result.split(0)
    assert [p.shape for p in pieces] == SHAPES
    top = Q[:, 0] * np.sign(Q[:, 0] @ result.eigenvectors[0])
    np.testing.assert_allclose(pieces[0], top[:4].reshape(2, 2), atol=1e-6)
    np.testing.assert_allclose(pieces[1], top[4:], atol=1e-6)


def test_logistic_regression_against_closed_form_hessian():
    loss, params, H = logistic_regression()
    result = top_hessian_eigenvalues(loss, params, k=3, max_iter=500)
    assert_eigenpairs(result, H, 3, "LM")


@pytest.mark.parametrize("which", ["LM", "LA"])
def test_tiny_mlp_against_full_hessian(which):
    loss, params, H = tiny_mlp()
    assert np.linalg.eigvalsh(H).min() < 0 < np.linalg.eigvalsh(H).max()  # indefinite
    result = top_hessian_eigenvalues(loss, params, k=3, max_iter=2000, which=which)
    assert_eigenpairs(result, H, 3, which)


def test_float32_parameters_are_upcast():
    """nn.Linear's float32 parameters: the estimate is the float64 Hessian's at those values."""
    layer = mg.nn.Linear(3, 2, dtype=np.float32, generator=mg.Generator(0))
    assert layer.weight.dtype == np.float32
    rng = np.random.default_rng(2)
    X, Y = mg.tensor(rng.standard_normal((10, 3))), mg.tensor(rng.standard_normal((10, 2)))

    def loss(ps):
        return ((mg.tanh(X @ ps[0].T + ps[1]) - Y) ** 2).mean()

    params = list(layer.parameters())
    values = [p.numpy().astype(np.float64) for p in params]
    H = mg.hessian(lambda *ps: loss(list(ps)), argnums=(0, 1), flat=True)(*values).numpy()
    result = top_hessian_eigenvalues(loss, params, k=2, max_iter=1000)
    assert_eigenpairs(result, H, 2, "LM")


@pytest.mark.parametrize("tol", [1e-3, 1e-6, 1e-10])
def test_tolerance_bounds_the_eigenvalue_error_and_costs_iterations(tol):
    """The residual test guarantees |lam - lam_exact| <= tol * |lam|; a tighter tol takes more
    products (|lam_2 / lam_1| = 0.8: slow enough to see it)."""
    A, _ = symmetric_with_spectrum([5.0, 4.0, 1.0, -1.0])
    loss, params = quadratic(A, [(4,)])
    result = top_hessian_eigenvalues(loss, params, k=1, tol=tol, max_iter=1000)
    assert result.converged == [True]
    assert abs(result.eigenvalues[0] - 5.0) <= tol * 5.0
    assert result.residuals[0] <= tol * abs(result.eigenvalues[0])
    loose = top_hessian_eigenvalues(loss, params, k=1, tol=tol * 100, max_iter=1000)
    assert loose.iterations[0] < result.iterations[0]


def test_opposite_eigenvalues_do_not_converge_and_warn():
    """Spectrum {+5, -5, ...}: power iteration oscillates between the two; "LA" separates them."""
    A, _ = symmetric_with_spectrum([5.0, -5.0, 1.0])
    loss, params = quadratic(A, [(3,)])
    with pytest.warns(ConvergenceWarning, match="did not converge in 50 iterations"):
        result = top_hessian_eigenvalues(loss, params, k=1, max_iter=50)
    assert result.converged == [False] and result.iterations == [50]
    la = top_hessian_eigenvalues(loss, params, k=1, max_iter=500, which="LA")
    np.testing.assert_allclose(la.eigenvalues, [5.0], rtol=1e-6)


def test_seed_fixes_the_start_vector():
    loss, params, _ = logistic_regression()
    a = top_hessian_eigenvalues(loss, params, k=2, max_iter=500, seed=4)
    b = top_hessian_eigenvalues(loss, params, k=2, max_iter=500, seed=4)
    c = top_hessian_eigenvalues(loss, params, k=2, max_iter=500, seed=5)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert a.iterations == b.iterations
    assert not np.array_equal(a.eigenvalues, c.eigenvalues)  # other start, other rounding


# ----- Hutchinson trace ----------------------------------------------------------------------------


def test_trace_of_a_diagonal_hessian_is_exact():
    """z_i^2 = 1 for Rademacher z, so z^T D z = tr(D) for every sample: standard error 0."""
    A = np.diag([3.0, -1.0, 0.5, 2.0])
    loss, params = quadratic(A, [(2,), (2,)])
    estimate = hessian_trace(loss, params, samples=10)
    assert estimate.trace == pytest.approx(4.5, rel=1e-14)
    assert estimate.stderr == pytest.approx(0.0, abs=1e-14)
    assert estimate.samples == 10


@pytest.mark.parametrize(
    "problem", ["quadratic", "logistic regression", "tiny MLP"], ids=lambda name: name
)
def test_trace_within_three_standard_errors(problem):
    if problem == "quadratic":
        H, _ = symmetric_with_spectrum(SPECTRUM)
        loss, params = quadratic(H, SHAPES)
    elif problem == "logistic regression":
        loss, params, H = logistic_regression()
    else:
        loss, params, H = tiny_mlp()
    estimate = hessian_trace(loss, params, samples=200)
    assert estimate.stderr > 0
    assert abs(estimate.trace - np.trace(H)) <= 3 * estimate.stderr


def test_trace_standard_error_matches_the_rademacher_variance():
    """Var(z^T A z) = 2 * sum_{i != j} A_ij^2, so stderr * sqrt(samples) estimates its root."""
    A, _ = symmetric_with_spectrum(SPECTRUM)
    loss, params = quadratic(A, SHAPES)
    sigma = np.sqrt(2 * (np.sum(A**2) - np.sum(np.diag(A) ** 2)))
    estimate = hessian_trace(loss, params, samples=3000, chunk_size=500)
    assert estimate.stderr * np.sqrt(3000) == pytest.approx(sigma, rel=0.06)


def test_trace_standard_error_shrinks_like_one_over_sqrt_samples():
    """16 times the samples: a quarter of the standard error (to sampling error)."""
    A, _ = symmetric_with_spectrum(SPECTRUM)
    loss, params = quadratic(A, SHAPES)
    few = hessian_trace(loss, params, samples=100, seed=1)
    many = hessian_trace(loss, params, samples=1600, seed=2, chunk_size=400)
    assert few.stderr / many.stderr == pytest.approx(4.0, rel=0.2)
    assert abs(many.trace - np.trace(A)) <= 3 * many.stderr


def test_trace_does_not_depend_on_chunk_size():
    loss, params, _ = tiny_mlp()
    a = hessian_trace(loss, params, samples=50, chunk_size=7)
    b = hessian_trace(loss, params, samples=50, chunk_size=50)
    assert a.trace == pytest.approx(b.trace, rel=1e-12)
    assert a.stderr == pytest.approx(b.stderr, rel=1e-10)


# ----- suggested learning rate -----------------------------------------------------------------


@pytest.mark.parametrize(
    "problem", ["quadratic", "indefinite quadratic", "logistic regression", "tiny MLP"]
)
def test_suggest_lr_is_one_over_the_largest_eigenvalue(problem):
    if problem == "quadratic":
        H, _ = symmetric_with_spectrum([6.0, 3.0, 2.0, 0.5])
        loss, params = quadratic(H, [(4,)])
    elif problem == "indefinite quadratic":  # -12 is larger in magnitude, 8 is what limits GD
        H, _ = symmetric_with_spectrum([-12.0, 8.0, 4.0, 1.0])
        loss, params = quadratic(H, [(2,), (2,)])
    elif problem == "logistic regression":
        loss, params, H = logistic_regression()
    else:
        loss, params, H = tiny_mlp()
    suggestion = suggest_lr(loss, params, max_iter=2000)
    lam_max = np.linalg.eigvalsh(H).max()
    assert suggestion.converged
    assert suggestion.eigenvalue == pytest.approx(lam_max, rel=1e-6)
    assert suggestion.lr == pytest.approx(1 / lam_max, rel=1e-6)
    # the uncertainty is small and covers the error (first order in residual / lambda)
    assert 0 < suggestion.uncertainty <= 1e-5 * suggestion.lr
    assert abs(suggestion.lr - 1 / lam_max) <= suggestion.uncertainty * 1.01


def test_suggested_lr_converges_and_twice_more_diverges():
    """Gradient descent on a convex quadratic (numpy): lr = 1/lambda_max converges; any lr above
    2/lambda_max diverges along the sharpest direction."""
    A, _ = symmetric_with_spectrum([6.0, 3.0, 2.0, 0.5], seed=7)
    loss, params = quadratic(A, [(4,)])
    lr = suggest_lr(loss, params).lr
    c = np.arange(4.0)
    w_star = np.linalg.solve(A, -c)

    def descend(rate, steps=200):
        w = params[0].copy()
        for _ in range(steps):
            w = w - rate * (A @ w + c)
        return np.linalg.norm(w - w_star)

    assert descend(lr) < 1e-6
    assert descend(2.05 * lr) > 1e3


def test_suggest_lr_refuses_a_concave_loss():
    A, _ = symmetric_with_spectrum([-3.0, -1.0, -0.5])
    loss, params = quadratic(A, [(3,)])
    with pytest.raises(OptimizerError, match="no positive eigenvalue"):
        suggest_lr(loss, params)


# ----- errors --------------------------------------------------------------------------------------


def test_loss_that_ignores_its_arguments_is_refused():
    """A loss computed from the model's own parameters would read as zero curvature."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(OptimizerError, match="does not depend on the Tensors"):
        top_hessian_eigenvalues(lambda ps: (w**2).sum(), [w])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda loss, ps: top_hessian_eigenvalues(loss, ps, k=0), "k must be between 1 and"),
        (lambda loss, ps: top_hessian_eigenvalues(loss, ps, k=4), r"parameters \(3\)"),
        (lambda loss, ps: top_hessian_eigenvalues(loss, ps, which="SA"), "which must be"),
        (lambda loss, ps: top_hessian_eigenvalues(loss, ps, tol=0), "tol must be positive"),
        (lambda loss, ps: top_hessian_eigenvalues(loss, []), "non-empty list"),
        (lambda loss, ps: hessian_trace(loss, ps, samples=1), "samples must be"),
        (lambda loss, ps: top_hessian_eigenvalues(lambda p: p[0] ** 2, ps), "scalar Tensor"),
    ],
)
def test_bad_arguments_are_refused(call, message):
    loss, params = quadratic(np.eye(3), [(3,)])
    with pytest.raises(OptimizerError, match=message):
        call(loss, params)
