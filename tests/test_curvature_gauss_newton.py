"""The generalised Gauss-Newton matrix, the empirical Fisher and the curvature diagonals, against
explicit matrices: ``G = J^T H_l J`` from ``mg.jacrev`` of the outputs and ``mg.hessian`` of
the loss of the outputs, ``H`` from ``mg.hessian`` of the loss, and closed forms (mean-squared
error: ``H_l = 2 / (N K) I``; logistic regression: ``g_i = (p_i - y_i) [x_i, 1]``)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.curvature import (
    CurvatureError,
    GaussNewtonOperator,
    empirical_fisher,
    fisher_diagonal,
    gauss_newton_matrix,
    ggn_diagonal,
    ggn_vector_product,
    hessian_diagonal,
    per_sample_gradients,
)

F = nn.functional
N, D, HIDDEN, K = 12, 3, 4, 3
F64 = mg.float64  # explicit: module-scoped fixtures run before the float64 default is set


def flat(blocks, rows: int) -> np.ndarray:
    """Per-parameter Jacobian blocks ``(*out_shape, *p.shape)`` as one ``(rows, n)`` matrix."""
    return np.concatenate([b.numpy().reshape(rows, -1) for b in blocks], axis=1)


class Problem:
    """A model, its outputs and loss in both forms, and the explicit matrices."""

    def __init__(self, model, X, loss_of_outputs):
        self.model, self.X, self.loss_of_outputs = model, X, loss_of_outputs
        self.params = list(model.parameters())
        self.names = [name for name, _ in model.named_parameters()]
        self.n = sum(p.numel() for p in self.params)

    def outputs(self, ps):  # the function form
        return nn.functional_call(self.model, dict(zip(self.names, ps)), self.X)

    def closure(self):  # the closure form
        return self.model(self.X)

    def loss(self, ps):
        return self.loss_of_outputs(self.outputs(ps))

    def explicit(self):
        """``(J, H_l, G, H)``: the Jacobian of the outputs, the loss's Hessian in them, the GGN
        ``J^T H_l J`` and the Hessian of the loss, each from minigrad's dense transforms."""
        values = [mg.tensor(p.numpy()) for p in self.params]
        argnums = tuple(range(len(values)))
        z = self.outputs(values).detach()
        J = flat(mg.jacrev(lambda *ps: self.outputs(list(ps)), argnums=argnums)(*values), z.numel())
        H_l = mg.hessian(self.loss_of_outputs)(z).numpy().reshape(z.numel(), z.numel())
        H = mg.hessian(lambda *ps: self.loss(list(ps)), argnums=argnums, flat=True)(*values)
        return J, H_l, J.T @ H_l @ J, H.numpy()


def mlp(loss_of_outputs, seed=0):
    rng = np.random.default_rng(seed)
    X = mg.tensor(rng.standard_normal((N, D)))
    mg.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(D, HIDDEN, dtype=F64), nn.Tanh(), nn.Linear(HIDDEN, K, dtype=F64)
    )
    return Problem(model, X, loss_of_outputs)


LABELS = mg.tensor(np.random.default_rng(1).integers(0, K, N))
TARGETS = mg.tensor(np.random.default_rng(2).standard_normal((N, K)))


@pytest.fixture(scope="module")
def cross_entropy():
    problem = mlp(lambda out: F.cross_entropy(out, LABELS))
    return problem, problem.explicit()


@pytest.fixture(scope="module")
def mse():
    problem = mlp(lambda out: F.mse_loss(out, TARGETS))
    return problem, problem.explicit()


# ----- the GGN against J^T H_l J ------------------------------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("form", ["function", "closure"])
def test_ggn_vector_products_are_the_explicit_jt_hl_j(loss, form, request):
    problem, (J, H_l, G, H) = request.getfixturevalue(loss)
    outputs = problem.outputs if form == "function" else problem.closure
    V = np.random.default_rng(3).standard_normal((4, problem.n))
    products = ggn_vector_product(outputs, problem.loss_of_outputs, problem.params, V)
    assert products.shape == V.shape and products.dtype == np.float64
    np.testing.assert_allclose(products, V @ G, rtol=0, atol=1e-10 * np.abs(G).max())
    one = ggn_vector_product(outputs, problem.loss_of_outputs, problem.params, V[0])
    assert one.shape == (problem.n,)
    np.testing.assert_allclose(one, G @ V[0], rtol=0, atol=1e-10 * np.abs(G).max())
    full = gauss_newton_matrix(outputs, problem.loss_of_outputs, problem.params)
    np.testing.assert_allclose(full, G, rtol=0, atol=1e-10 * np.abs(G).max())
    assert np.array_equal(full, full.T)
    assert not np.allclose(G, H, atol=1e-3)  # the network's own curvature is left out


def test_mse_has_the_loss_hessian_2_over_nk_times_the_identity(mse):
    problem, (J, H_l, G, _) = mse
    # mean over the N x K outputs of (z - t)^2: d^2/dz^2 = 2 / (N K) I, so G = 2 / (N K) J^T J
    np.testing.assert_allclose(H_l, 2 / (N * K) * np.eye(N * K), atol=1e-15)
    operator = GaussNewtonOperator("test", problem.closure, problem.loss_of_outputs, problem.params)
    U = np.random.default_rng(4).standard_normal((2, N, K))
    np.testing.assert_allclose(operator.loss_hessian_products(U), 2 / (N * K) * U, rtol=1e-14)
    closed_form = 2 / (N * K) * J.T @ J
    full = gauss_newton_matrix(problem.outputs, problem.loss_of_outputs, problem.params)
    np.testing.assert_allclose(full, closed_form, rtol=0, atol=1e-12 * np.abs(closed_form).max())


def test_the_ggn_is_positive_semidefinite_where_the_hessian_is_indefinite(cross_entropy):
    problem, (_, _, _, H) = cross_entropy
    assert np.linalg.eigvalsh(H)[0] < -0.1  # a saddle: the Hessian has negative curvature
    G = gauss_newton_matrix(problem.closure, problem.loss_of_outputs, problem.params)
    eigenvalues = np.linalg.eigvalsh(G)
    assert eigenvalues[0] >= -1e-10
    assert eigenvalues[-1] > 0.1  # and it is not zero


def test_for_a_linear_model_with_mse_the_ggn_is_the_hessian():
    rng = np.random.default_rng(5)
    X, T = mg.tensor(rng.standard_normal((10, 3))), mg.tensor(rng.standard_normal((10, 2)))
    mg.manual_seed(0)
    problem = Problem(nn.Linear(3, 2), X, lambda out: F.mse_loss(out, T))
    _, _, _, H = problem.explicit()
    G = gauss_newton_matrix(problem.closure, problem.loss_of_outputs, problem.params)
    np.testing.assert_allclose(G, H, rtol=0, atol=1e-13 * np.abs(H).max())


def test_dropout_draws_the_same_masks_in_every_run_of_the_network():
    rng = np.random.default_rng(6)
    X = mg.tensor(rng.standard_normal((N, D)))
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(D, 8), nn.Dropout(0.5), nn.Tanh(), nn.Linear(8, K))
    params = list(model.parameters())
    loss_of_outputs = lambda out: F.cross_entropy(out, LABELS)  # noqa: E731
    n = sum(p.numel() for p in params)
    # rows G e_i: a forward-mode run then a recorded one; the matrix: recorded runs alone
    mg.manual_seed(1)
    rows = ggn_vector_product(lambda: model(X), loss_of_outputs, params, np.eye(n))
    mg.manual_seed(1)
    full = gauss_newton_matrix(lambda: model(X), loss_of_outputs, params)
    np.testing.assert_allclose(rows, full, rtol=0, atol=1e-12 * np.abs(full).max())


def test_a_float32_model_gives_float64_products_close_to_the_float64_ones(cross_entropy):
    problem, (_, _, G, _) = cross_entropy
    model32 = nn.Sequential(nn.Linear(D, HIDDEN, dtype=mg.float32), nn.Tanh(),
                            nn.Linear(HIDDEN, K, dtype=mg.float32))  # fmt: skip
    model32.load_state_dict(problem.model.state_dict())
    X32 = problem.X.astype(mg.float32)
    V = np.random.default_rng(7).standard_normal((2, problem.n))
    products = ggn_vector_product(
        lambda: model32(X32), problem.loss_of_outputs, list(model32.parameters()), V
    )
    assert products.dtype == np.float64
    np.testing.assert_allclose(products, V @ G, rtol=0, atol=1e-5 * np.abs(V @ G).max())


# ----- per-sample gradients and the empirical Fisher ----------------------------------------


@pytest.fixture(scope="module")
def logistic():
    """Logistic regression: l_i = BCE(sigmoid(w.x_i + b), y_i), g_i = (p_i - y_i) [x_i, 1]."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((15, 4))
    y = (rng.random(15) < 0.5).astype(np.float64)
    mg.manual_seed(0)
    model = nn.Linear(4, 1, dtype=F64)
    w, b = (p.numpy() for p in model.parameters())
    p = 1 / (1 + np.exp(-(X @ w.ravel() + b)))
    per_sample = (p - y)[:, None] * np.hstack([X, np.ones((15, 1))])
    Xt, yt = mg.tensor(X), mg.tensor(y)
    names = [name for name, _ in model.named_parameters()]

    def of_params(ps):
        logits = nn.functional_call(model, dict(zip(names, ps)), Xt).reshape(-1)
        return F.binary_cross_entropy_with_logits(logits, yt, reduction="none")

    def closure():
        return F.binary_cross_entropy_with_logits(model(Xt).reshape(-1), yt, reduction="none")

    return list(model.parameters()), {"function": of_params, "closure": closure}, per_sample


@pytest.mark.parametrize("form", ["function", "closure"])
def test_the_empirical_fisher_of_logistic_regression_has_its_closed_form(logistic, form):
    params, losses, per_sample = logistic
    G = per_sample_gradients(losses[form], params)
    np.testing.assert_allclose(G, per_sample, rtol=1e-12, atol=1e-14)
    fisher = empirical_fisher(losses[form], params)
    np.testing.assert_allclose(fisher, per_sample.T @ per_sample / 15, rtol=1e-12, atol=1e-15)
    diagonal = fisher_diagonal(losses[form], params)
    np.testing.assert_allclose(diagonal, (per_sample**2).mean(axis=0), rtol=1e-12)
    assert all(p.grad is None and p.tangent is None for p in params)


def test_per_sample_gradients_in_chunks_are_mg_jacrev_of_the_losses(cross_entropy):
    problem, _ = cross_entropy
    per_example = lambda ps: F.cross_entropy(problem.outputs(ps), LABELS, reduction="none")  # noqa: E731
    values = [mg.tensor(p.numpy()) for p in problem.params]
    argnums = tuple(range(len(values)))
    expected = flat(mg.jacrev(lambda *ps: per_example(list(ps)), argnums=argnums)(*values), N)
    for chunk_size in (None, 5):
        G = per_sample_gradients(per_example, problem.params, chunk_size=chunk_size)
        np.testing.assert_allclose(G, expected, rtol=0, atol=1e-13)
    # the mean loss's gradient is the mean of the examples' gradients
    total = mg.grad(lambda *ps: problem.loss(list(ps)), argnums=argnums)(*values)
    np.testing.assert_allclose(G.mean(axis=0), np.concatenate([g.numpy().ravel() for g in total]),
                               atol=1e-14)  # fmt: skip


# ----- diagonals ----------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["function", "closure"])
def test_exact_diagonals_are_the_explicit_ones(cross_entropy, form):
    problem, (_, _, G, H) = cross_entropy
    outputs = problem.outputs if form == "function" else problem.closure
    loss = (
        problem.loss if form == "function" else lambda: problem.loss_of_outputs(problem.closure())
    )
    diagonal = hessian_diagonal(loss, problem.params, chunk_size=7)
    np.testing.assert_allclose(diagonal, np.diag(H), rtol=0, atol=1e-12)
    diagonal = ggn_diagonal(outputs, problem.loss_of_outputs, problem.params)
    np.testing.assert_allclose(diagonal, np.diag(G), rtol=0, atol=1e-12)
    assert all(p.grad is None and p.tangent is None for p in problem.params)


def test_hutchinson_diagonals_converge_to_the_exact_ones(cross_entropy):
    problem, (_, _, G, H) = cross_entropy

    def check(estimate_with, matrix):
        exact = np.diag(matrix)
        off_diagonal = (matrix**2).sum(axis=1) - exact**2  # the variance of one Rademacher sample
        errors = []
        for samples in (16, 1024):
            estimate = estimate_with(samples)
            # within 5 standard errors on every coordinate (one sample: variance sum_{j!=i} A_ij^2)
            assert np.all(np.abs(estimate - exact) <= 5 * np.sqrt(off_diagonal / samples) + 1e-12)
            errors.append(np.abs(estimate - exact).max())
        assert errors[1] < errors[0] / 3  # it converges, like 1 / sqrt(samples)

    check(lambda s: hessian_diagonal(problem.loss, problem.params, "hutchinson", s, seed=1), H)
    check(
        lambda s: ggn_diagonal(problem.closure, problem.loss_of_outputs, problem.params,
                               method="hutchinson", samples=s, seed=1, chunk_size=256),
        G,
    )  # fmt: skip


def test_a_closure_that_calls_backward_itself_gives_the_same_hessian_diagonal(cross_entropy):
    problem, (_, _, _, H) = cross_entropy

    def closure():
        problem.model.zero_grad()
        loss = problem.loss_of_outputs(problem.model(problem.X))
        loss.backward()
        return loss

    np.testing.assert_allclose(hessian_diagonal(closure, problem.params), np.diag(H), atol=1e-12)
    assert all(p.grad is None for p in problem.params)


# ----- errors --------------------------------------------------------------------------------


def test_outputs_in_neither_form_are_refused_with_both_forms_named(cross_entropy):
    problem, _ = cross_entropy
    with pytest.raises(CurvatureError, match=r"ggn_vector_product: outputs takes 2 arguments.*"
                       r"outputs\(params\).*lambda: model\(x\)"):  # fmt: skip
        ggn_vector_product(lambda w, b: w, problem.loss_of_outputs, problem.params, np.zeros(31))
    with pytest.raises(CurvatureError, match=r"does not depend on the parameters.*closure"):
        ggn_vector_product(lambda ps: problem.closure(), problem.loss_of_outputs,
                           problem.params, np.zeros(problem.n))  # fmt: skip
    arrays = [p.numpy() for p in problem.params]
    with pytest.raises(CurvatureError, match=r"with a closure, params must be.*params\[0\]"):
        gauss_newton_matrix(problem.closure, problem.loss_of_outputs, arrays)


def test_a_bad_loss_of_outputs_is_refused(cross_entropy):
    problem, _ = cross_entropy
    args = (problem.closure,)
    with pytest.raises(CurvatureError, match=r"loss_of_outputs must return a scalar.*\(12, 3\)"):
        ggn_diagonal(*args, lambda out: out * 2, problem.params)
    fixed = problem.closure().detach()
    with pytest.raises(CurvatureError, match=r"loss_of_outputs does not depend on the outputs"):
        ggn_diagonal(*args, lambda out: F.cross_entropy(fixed, LABELS), problem.params)
    with pytest.raises(CurvatureError, match=r"loss_of_outputs must be a function"):
        ggn_diagonal(*args, "cross_entropy", problem.params)


def test_bad_vectors_sizes_and_methods_are_refused(cross_entropy, logistic):
    problem, _ = cross_entropy
    args = (problem.closure, problem.loss_of_outputs, problem.params)
    with pytest.raises(CurvatureError, match=r"v must have shape \(31,\) or \(k, 31\).*\(30,\)"):
        ggn_vector_product(*args, np.zeros(30))
    with pytest.raises(CurvatureError, match=r"31 x 31 matrix.*use ggn_vector_product"):
        gauss_newton_matrix(*args, max_memory=1000)
    with pytest.raises(CurvatureError, match=r"ggn_diagonal: method must be 'exact' or"):
        ggn_diagonal(*args, method="lanczos")
    with pytest.raises(CurvatureError, match=r"hessian_diagonal: samples must be a positive"):
        hessian_diagonal(problem.loss, problem.params, method="hutchinson", samples=0)
    params, losses, _ = logistic
    with pytest.raises(CurvatureError, match=r"one loss per example.*reduction='none'"):
        empirical_fisher(lambda ps: losses["function"](ps).sum(), params)
    with pytest.raises(CurvatureError, match=r"empirical_fisher: 5 parameters give a 5 x 5"):
        empirical_fisher(losses["closure"], params, max_memory=100)


def test_with_more_outputs_than_parameters_the_matrix_comes_from_products():
    """m = 40 x 3 outputs > n = 9 parameters: the other way of building G, the same matrix."""
    rng = np.random.default_rng(6)
    X, labels = mg.tensor(rng.standard_normal((40, 2))), mg.tensor(rng.integers(0, 3, 40))
    mg.manual_seed(0)
    problem = Problem(nn.Linear(2, 3, dtype=F64), X, lambda out: F.cross_entropy(out, labels))
    _, _, G, _ = problem.explicit()
    full = gauss_newton_matrix(problem.closure, problem.loss_of_outputs, problem.params)
    np.testing.assert_allclose(full, G, rtol=0, atol=1e-12 * np.abs(G).max())
    assert np.array_equal(full, full.T)


def test_with_fewer_outputs_than_parameters_the_matrix_comes_from_the_jacobian():
    """m = 2 x 3 outputs < n = 31 parameters: G = (H_l J)^T J, the same matrix."""
    rng = np.random.default_rng(7)
    X, labels = mg.tensor(rng.standard_normal((2, D))), mg.tensor(np.array([0, 2]))
    mg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(D, HIDDEN, dtype=F64), nn.Tanh(), nn.Linear(HIDDEN, K, dtype=F64)
    )
    problem = Problem(model, X, lambda out: F.cross_entropy(out, labels))
    _, _, G, _ = problem.explicit()
    full = gauss_newton_matrix(problem.outputs, problem.loss_of_outputs, problem.params)
    np.testing.assert_allclose(full, G, rtol=0, atol=1e-12 * np.abs(G).max())
    assert np.array_equal(full, full.T)
