"""The Hessian's spectrum (``minigrad.curvature``): Lanczos eigenpairs, the exact spectrum and
the density by stochastic Lanczos quadrature, against exact references.

References: a float64 tanh MLP (10-30-30-2, 1,322 parameters; spectrum_problems.py) whose
Hessian is ``mg.hessian(..., flat=True)`` (checked against finite differences in
test_hessians.py), with ``numpy.linalg.eigvalsh``; and symmetric matrices ``Q diag(lam) Q^T`` with a chosen spectrum,
where Gauss quadrature's moments are computed exactly (``z^T H^j z``).
"""

import numpy as np
import pytest
from spectrum_problems import SHAPES, tanh_mlp

import minigrad as mg
from minigrad import nn
from minigrad.curvature import (
    ConvergenceWarning,
    CurvatureError,
    exact_hessian_spectrum,
    hessian_eigenvalues,
    hessian_spectral_density,
    lanczos_eigenpairs,
    lanczos_quadrature,
)


@pytest.fixture(scope="module")
def mlp():
    return tanh_mlp()


def top(eigenvalues, k, which):
    order = np.argsort(-np.abs(eigenvalues) if which == "LM" else -eigenvalues, kind="stable")
    return eigenvalues[order[:k]]


def symmetric_with_spectrum(eigenvalues, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return Q @ np.diag(eigenvalues) @ Q.T


def wasserstein1(grid, density, eigenvalues):
    """W1 between a density on ``grid`` and mass ``1/n`` at each eigenvalue: the integral of
    the difference of the two CDFs."""
    x = np.linspace(min(grid[0], eigenvalues[0]), max(grid[-1], eigenvalues[-1]), 50_001)
    cdf = np.concatenate([[0.0], np.cumsum(np.diff(grid) * (density[1:] + density[:-1]) / 2)])
    F = np.interp(x, grid, cdf, left=0.0, right=cdf[-1])
    G = np.searchsorted(np.sort(eigenvalues), x, side="right") / len(eigenvalues)
    return np.trapezoid(np.abs(F - G), x)


# ----- extreme eigenvalues --------------------------------------------------------------------


def test_the_mlp_has_large_negative_curvature_so_lm_and_la_differ(mlp):
    *_, eigenvalues = mlp
    assert len(eigenvalues) == 1322
    assert (top(eigenvalues, 5, "LM") < 0).any()
    assert not np.allclose(top(eigenvalues, 5, "LM"), top(eigenvalues, 5, "LA"))


@pytest.mark.parametrize("which", ["LM", "LA"])
def test_lanczos_top5_match_eigvalsh_of_the_hessian(mlp, which):
    loss, params, H, eigenvalues = mlp
    result = hessian_eigenvalues(loss, params, k=5, which=which, tol=1e-10)
    np.testing.assert_allclose(result.eigenvalues, top(eigenvalues, 5, which), rtol=0, atol=1e-8)
    assert result.converged == [True] * 5
    U = result.eigenvectors
    np.testing.assert_allclose(U @ U.T, np.eye(5), atol=1e-10)
    # The reported residuals (from the recurrence) are the true ||H u - lam u||.
    true = np.linalg.norm(U @ H - result.eigenvalues[:, None] * U, axis=1)
    np.testing.assert_allclose(result.residuals, true, atol=1e-9)
    assert result.products == result.iterations[0] < 100  # one Krylov space for all five
    assert [a.shape for a in result.split(0)] == SHAPES


def test_the_power_method_finds_the_same_eigenvalues(mlp):
    loss, params, _, eigenvalues = mlp
    result = hessian_eigenvalues(loss, params, k=2, method="power", tol=1e-10, max_iter=2000)
    np.testing.assert_allclose(result.eigenvalues, top(eigenvalues, 2, "LM"), atol=1e-8)


def test_repeated_eigenvalues_are_all_found_when_lanczos_runs_through_the_space():
    # Three distinct eigenvalues: the Krylov space closes after 3 steps, and Lanczos continues
    # from orthogonal vectors until it has spanned the space, finding every copy.
    A = symmetric_with_spectrum([3.0, 3.0, 3.0, 1.0, 1.0, -2.0])
    pairs = lanczos_eigenpairs(lambda V: V @ A, 6, k=4, which="LM", tol=1e-12)
    np.testing.assert_allclose(pairs.eigenvalues, [3.0, 3.0, 3.0, -2.0], atol=1e-12)
    assert pairs.steps == 6


def test_too_few_steps_warn(mlp):
    loss, params, *_ = mlp
    with pytest.warns(ConvergenceWarning, match=r"hessian_eigenvalues: .*3 Lanczos steps"):
        result = hessian_eigenvalues(loss, params, k=1, max_iter=3)
    assert result.converged == [False] and result.products == 3


# ----- the exact spectrum and the density -----------------------------------------------------


def test_the_exact_spectrum_is_eigvalsh_of_mg_hessian(mlp):
    loss, params, _, eigenvalues = mlp
    np.testing.assert_allclose(exact_hessian_spectrum(loss, params), eigenvalues, atol=1e-12)


def test_the_density_is_within_5_percent_of_the_width_of_the_exact_spectrum(mlp):
    loss, params, _, eigenvalues = mlp
    density = hessian_spectral_density(loss, params, runs=10, steps=60)
    assert density.nodes.shape == density.weights.shape == (10, 60)
    assert density.products == 600
    np.testing.assert_allclose(density.weights.sum(axis=1), 1.0, atol=1e-12)
    assert np.trapezoid(density.density, density.grid) == pytest.approx(1.0, abs=1e-6)
    width = eigenvalues[-1] - eigenvalues[0]
    distance = wasserstein1(density.grid, density.density, eigenvalues)
    assert distance <= 0.05 * width
    # The extremes are resolved: the quadrature's outer nodes are the extreme eigenvalues.
    assert density.nodes.max() == pytest.approx(eigenvalues[-1], abs=1e-8)
    assert density.nodes.min() == pytest.approx(eigenvalues[0], abs=1e-8)
    assert density.moment(lambda x: x) == pytest.approx(eigenvalues.mean(), abs=0.05)


def test_the_density_draws_with_the_exact_spectrum(mlp):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    loss, params, _, eigenvalues = mlp
    density = hessian_spectral_density(loss, params, runs=2, steps=10)
    ax = Figure().subplots()
    assert density.plot(ax=ax, exact=eigenvalues) is ax
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), density.grid)
    assert len(ax.patches) == 100  # the exact histogram's bars
    assert density.plot(ax=Figure().subplots(), log=False).get_yscale() == "linear"


# ----- stochastic Lanczos quadrature on a known spectrum --------------------------------------


def test_gauss_quadrature_reproduces_the_moments_of_each_start_vector():
    """For a start vector z, m Lanczos steps give nodes theta and weights w with
    sum_i w_i theta_i^j = z^T H^j z / n exactly for j <= 2m - 1 (Gauss quadrature); the weights
    are the SQUARED first components of the tridiagonal's eigenvectors: unsquared, they
    would not even sum to 1."""
    n, m = 40, 6
    lam = np.linspace(-1.0, 4.0, n) ** 3 / 10  # distinct, uneven
    A = symmetric_with_spectrum(lam, seed=3)
    starts = []

    def matvec(V):
        if not starts:
            starts.append(V.copy())
        return V @ A

    nodes, weights = lanczos_quadrature(matvec, n, runs=3, steps=m, seed=7)
    Z = starts[0] * np.sqrt(n)
    np.testing.assert_array_equal(np.abs(Z), 1.0)  # Rademacher start vectors
    for j in range(2 * m):
        exact = np.einsum("rn,rn->r", Z, Z @ np.linalg.matrix_power(A, j)) / n
        np.testing.assert_allclose(np.sum(weights * nodes**j, axis=1), exact, rtol=1e-9,
                                   atol=1e-12)  # fmt: skip
    unsquared = np.sqrt(weights)
    assert not np.allclose(unsquared.sum(axis=1), 1.0)
    # Degree 2m is beyond Gauss quadrature's reach: the quadrature is not exact there.
    exact = np.einsum("rn,rn->r", Z, Z @ np.linalg.matrix_power(A, 2 * m)) / n
    assert not np.allclose(np.sum(weights * nodes ** (2 * m), axis=1), exact, rtol=1e-6)
    # Averaged over runs, the moments estimate tr(H^j) / n, within a few standard errors.
    runs = 2000
    nodes, weights = lanczos_quadrature(lambda V: V @ A, n, runs=runs, steps=m, seed=0)
    for j in (1, 2, 3):
        per_run = np.sum(weights * nodes**j, axis=1)
        stderr = per_run.std(ddof=1) / np.sqrt(runs)
        assert stderr < 0.03 * abs(np.mean(lam**j))
        assert abs(per_run.mean() - np.mean(lam**j)) <= 4 * stderr


def test_a_closed_krylov_space_gives_the_exact_spectrum_and_zero_weights_after():
    A = symmetric_with_spectrum([2.0] * 4 + [-1.0] * 3 + [0.5] * 5, seed=1)
    nodes, weights = lanczos_quadrature(lambda V: V @ A, 12, runs=2, steps=8, seed=0)
    np.testing.assert_allclose(nodes[:, :3], [[-1.0, 0.5, 2.0]] * 2, atol=1e-12)
    np.testing.assert_array_equal(weights[:, 3:], 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    chunked = lanczos_quadrature(lambda V: V @ A, 12, runs=2, steps=8, seed=0, chunk_size=1)
    np.testing.assert_allclose(chunked[0], nodes, atol=1e-12)


# ----- both loss forms ------------------------------------------------------------------------


def test_the_closure_form_gives_the_same_spectrum():
    rng = np.random.default_rng(0)
    X, y = mg.tensor(rng.standard_normal((32, 4))), mg.tensor(rng.standard_normal((32, 1)))
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6, dtype=mg.float64), nn.Tanh(),
                          nn.Linear(6, 1, dtype=mg.float64))  # fmt: skip
    params = list(model.parameters())
    names = [name for name, _ in model.named_parameters()]

    def of_params(ps):
        return nn.functional.mse_loss(nn.functional_call(model, dict(zip(names, ps)), X), y)

    def closure():
        return nn.functional.mse_loss(model(X), y)

    for which in ("LM", "LA"):
        a = hessian_eigenvalues(of_params, params, k=3, which=which, tol=1e-10)
        b = hessian_eigenvalues(closure, params, k=3, which=which, tol=1e-10)
        np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-10)
    exact = exact_hessian_spectrum(closure, params)
    np.testing.assert_allclose(exact_hessian_spectrum(of_params, params), exact, atol=1e-12)
    np.testing.assert_allclose(b.eigenvalues, exact[::-1][:3], atol=1e-10)
    a = hessian_spectral_density(of_params, params, runs=3, steps=8)
    b = hessian_spectral_density(closure, params, runs=3, steps=8)
    np.testing.assert_allclose(a.density, b.density, rtol=1e-8, atol=1e-10)
    assert all(p.grad is None for p in params)


# ----- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, r"hessian_eigenvalues: k must be an integer between 1 and .* \(1322\), got 0"),
        ({"k": 1323}, r"k must be .* got 1323"),
        ({"k": 2.0}, r"k must be an integer .* got 2.0"),
        ({"which": "SA"}, r"hessian_eigenvalues: which must be 'LM' or 'LA', got 'SA'"),
        ({"method": "arnoldi"}, r"method must be 'lanczos' or 'power', got 'arnoldi'"),
        ({"tol": 0}, r"tol must be positive"),
        ({"max_iter": 0}, r"max_iter must be an integer >= 1"),
    ],
)
def test_bad_arguments_are_refused_clearly(mlp, kwargs, message):
    loss, params, *_ = mlp
    with pytest.raises(CurvatureError, match=message):
        hessian_eigenvalues(loss, params, **kwargs)


def test_the_exact_spectrum_is_refused_beyond_its_limit_naming_the_alternatives(mlp):
    loss, params, *_ = mlp
    with pytest.raises(CurvatureError, match=r"1322 parameters.*max_params=1000.*"
                       r"hessian_eigenvalues.*hessian_spectral_density"):  # fmt: skip
        exact_hessian_spectrum(loss, params, max_params=1000)


def test_bad_density_arguments_are_refused(mlp):
    loss, params, *_ = mlp
    with pytest.raises(CurvatureError, match=r"hessian_spectral_density: runs must be"):
        hessian_spectral_density(loss, params, runs=0)
    with pytest.raises(CurvatureError, match=r"sigma must be positive"):
        hessian_spectral_density(loss, params, sigma=-1.0)
    with pytest.raises(CurvatureError, match=r"grid must be"):
        hessian_spectral_density(loss, params, runs=1, steps=2, grid=1)
    with pytest.raises(CurvatureError, match=r"lanczos_quadrature: steps must be"):
        lanczos_quadrature(lambda V: V, 5, runs=1, steps=0)
