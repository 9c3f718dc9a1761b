"""Learning rates from the Hessian (``suggest_lr``): ``1 / lambda_max``, the inverse geometric
mean of the eigenvalues ``det(H)^(-1/n)`` (exactly and by stochastic Lanczos quadrature), and
the per-coordinate rates ``clip(1 / |H_ii|, lr_min, lr_max)``. References: quadratics
``x^T H x / 2`` with a chosen spectrum or diagonal, in both loss forms."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.curvature import CurvatureError, suggest_lr

SHAPES = [(2,), (2, 2)]  # two parameters, so the flat layout and the split are exercised


def with_spectrum(eigenvalues, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    H = Q @ np.diag(eigenvalues) @ Q.T
    return (H + H.T) / 2


def quadratic(H, form, shapes=None, seed=1):
    """``x^T H x / 2 + c.x`` over parameters of ``shapes`` (flattened in order), as a function of
    the parameters or as a closure over them."""
    shapes = shapes or [(len(H),)]
    rng = np.random.default_rng(seed)
    c = mg.tensor(rng.standard_normal(len(H)))
    A = mg.tensor(H)
    params = [mg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]

    def of_params(ps):
        x = mg.cat([p.reshape(-1) for p in ps])
        return 0.5 * (x @ (A @ x)) + c @ x

    if form == "function":
        return of_params, params
    return (lambda: of_params(params)), params


FORMS = ["function", "closure"]


# ----- method="max" (the default) ------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_the_default_is_one_over_lambda_max(form):
    loss, params = quadratic(with_spectrum([6.0, 3.0, 2.0, 0.5, 1.0, 1.5]), form, SHAPES)
    suggestion = suggest_lr(loss, params, tol=1e-10, max_iter=500)
    assert suggestion.method == "max"
    assert suggestion.lr == pytest.approx(1 / 6.0, rel=1e-8)


# ----- method="geometric" --------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_geometric_lr_is_the_inverse_geometric_mean_of_the_eigenvalues(form):
    H = with_spectrum([0.5, 1.0, 2.0, 4.0, 8.0, 3.0])
    loss, params = quadratic(H, form, SHAPES)
    suggestion = suggest_lr(loss, params, method="geometric")
    eigenvalues = np.linalg.eigvalsh(H)
    expected = math.exp(-np.mean(np.log(eigenvalues)))
    assert expected == pytest.approx(np.linalg.det(H) ** (-1 / 6), rel=1e-12)
    assert suggestion.lr == pytest.approx(expected, rel=1e-12)
    assert suggestion.eigenvalue == pytest.approx(1 / expected, rel=1e-12)
    assert (suggestion.method, suggestion.exact, suggestion.uncertainty) == ("geometric", True, 0)
    assert suggestion.smallest == pytest.approx(0.5, rel=1e-12)
    assert suggestion.iterations == 6
    # larger than 1 / lambda_max whenever the eigenvalues differ
    assert suggestion.lr > 1 / 8.0


@pytest.mark.parametrize("form", FORMS)
def test_geometric_lr_by_lanczos_quadrature(form):
    """n = 60 with eigenvalues log-spaced over [0.1, 10] (geometric mean 1): 64 probes of 15
    Lanczos steps (960 products, where the exact path takes 60 of 60 rows, but the cost does
    not grow with n) give the lr within 5% and within 4 of its stated standard errors."""
    H = with_spectrum(np.logspace(-1, 1, 60), seed=3)
    loss, params = quadratic(H, form, [(20,), (4, 10)])
    suggestion = suggest_lr(loss, params, method="geometric", exact=False, samples=64, steps=15)
    expected = math.exp(-np.mean(np.log(np.linalg.eigvalsh(H))))
    assert expected == pytest.approx(1.0, rel=1e-12)
    assert not suggestion.exact and suggestion.iterations == 64 * 15
    assert 0 < suggestion.uncertainty < 0.05
    assert abs(suggestion.lr - expected) <= 4 * suggestion.uncertainty
    assert suggestion.lr == pytest.approx(expected, rel=0.05)
    assert 0.1 - 1e-9 <= suggestion.smallest < 0.2  # a Ritz value: above lambda_min, near it


@pytest.mark.parametrize("exact", [True, False], ids=["exact", "lanczos"])
@pytest.mark.parametrize("form", FORMS)
def test_geometric_lr_refuses_an_indefinite_hessian(form, exact):
    H = with_spectrum([-0.3, 1.0, 2.0, 4.0, 8.0, 3.0])
    loss, params = quadratic(H, form, SHAPES)
    found = "its smallest eigenvalue is -0.3" if exact else "a Lanczos node .* is -0.3"
    with pytest.raises(
        CurvatureError,
        match=rf"positive definite, and here it is not: {found}.*method='max'.*Gauss-Newton",
    ):
        suggest_lr(loss, params, method="geometric", exact=exact, steps=6)


def test_geometric_lr_refuses_a_singular_hessian():
    loss, params = quadratic(with_spectrum([0.0, 1.0, 2.0]), "function")
    with pytest.raises(CurvatureError, match="not positive definite|here it is not"):
        suggest_lr(loss, params, method="geometric")


# ----- method="diagonal" ---------------------------------------------------------------------

DIAGONAL = np.array([4.0, 0.5, -2.0, 1e-4, 0.0, 10.0])
CLIPPED = np.array([0.25, 2.0, 0.5, 5.0, 5.0, 0.2])  # clip(1 / |d|, 0.2, 5)


def with_diagonal(off_diagonal: float):
    rng = np.random.default_rng(4)
    B = rng.standard_normal((6, 6)) * off_diagonal
    return np.diag(DIAGONAL) + (B + B.T) - np.diag(np.diag(B + B.T))


@pytest.mark.parametrize("form", FORMS)
def test_diagonal_lr_is_one_over_the_diagonal_clipped(form):
    """A symmetric H with the diagonal (4, 0.5, -2, 1e-4, 0, 10) and large off-diagonal entries:
    rates clip(1 / |H_ii|, 0.2, 5) in the parameters' shapes; three were clipped (1e-4, the
    zero, and 10)."""
    loss, params = quadratic(with_diagonal(off_diagonal=3.0), form, SHAPES)
    suggestion = suggest_lr(loss, params, method="diagonal", lr_min=0.2, lr_max=5.0)
    assert [r.shape for r in suggestion.lr] == SHAPES
    np.testing.assert_allclose(np.concatenate([r.ravel() for r in suggestion.lr]), CLIPPED,
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(suggestion.diagonal, DIAGONAL, rtol=1e-12, atol=1e-13)
    assert (suggestion.method, suggestion.exact, suggestion.clipped) == ("diagonal", True, 3)


def test_diagonal_lr_by_hutchinson():
    """A diagonal H is estimated exactly by any Rademacher probe; with off-diagonal entries the
    estimate is only close, and it is Hutchinson's (not the exact diagonal)."""
    loss, params = quadratic(with_diagonal(off_diagonal=0.0), "function", SHAPES)
    suggestion = suggest_lr(
        loss, params, method="diagonal", exact=False, samples=4, lr_min=0.2, lr_max=5.0
    )
    assert not suggestion.exact and suggestion.iterations == 4
    np.testing.assert_allclose(np.concatenate([r.ravel() for r in suggestion.lr]), CLIPPED,
                               rtol=1e-12)  # fmt: skip
    loss, params = quadratic(with_diagonal(off_diagonal=0.05), "function", SHAPES)
    noisy = suggest_lr(loss, params, method="diagonal", exact=False, samples=200, lr_max=5.0)
    error = np.abs(noisy.diagonal - DIAGONAL)
    assert 0 < error.max() < 0.1


def test_bad_arguments_are_refused():
    loss, params = quadratic(with_spectrum([1.0, 2.0]), "function")
    with pytest.raises(CurvatureError, match=r"method must be one of \('max', 'geometric'"):
        suggest_lr(loss, params, method="median")
    with pytest.raises(CurvatureError, match="lr_min <= lr_max.*lr_min=2.0, lr_max=1.0"):
        suggest_lr(loss, params, method="diagonal", lr_min=2.0, lr_max=1.0)
    with pytest.raises(CurvatureError, match="samples must be an integer >= 2"):
        suggest_lr(loss, params, method="geometric", exact=False, samples=1)
