"""Every curvature tool takes the loss as a function of the parameters or as a PyTorch-style
closure over a model, and says clearly what it was given when neither fits. Reference: a
float64 linear regression, whose loss ``|X1 w - y|^2 / m`` has the Hessian ``2 X1^T X1 / m``
(``X1 = [X, 1]``: the weights, then the bias, the order of ``named_parameters()``)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.curvature import (
    CurvatureError,
    hessian_trace,
    loss_operator,
    suggest_lr,
    top_hessian_eigenvalues,
)


@pytest.fixture
def regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3)) * np.array([2.0, 1.0, 0.5])
    y = rng.standard_normal((30, 1))
    mg.manual_seed(0)
    model = nn.Linear(3, 1, dtype=mg.float64)
    X1 = np.hstack([X, np.ones((30, 1))])
    exact = 2 * X1.T @ X1 / len(X)
    return model, mg.tensor(X), mg.tensor(y), exact


def forms(model, X, y):
    """The same loss as a function of the parameters and as closures (with and without
    backward inside, as LBFGS's closures do)."""
    params = list(model.parameters())

    def of_params(ps):
        return nn.functional.mse_loss(X @ ps[0].T + ps[1], y)

    def closure():
        return nn.functional.mse_loss(model(X), y)

    def closure_with_backward():
        model.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        return loss

    return params, {"function": of_params, "closure": closure,
                    "closure_with_backward": closure_with_backward}  # fmt: skip


@pytest.mark.parametrize("form", ["function", "closure", "closure_with_backward"])
def test_each_form_gives_the_exact_hessian_products(regression, form):
    model, X, y, exact = regression
    params, losses = forms(model, X, y)
    H = loss_operator("test", losses[form], params)
    assert H.form == ("function" if form == "function" else "closure")
    V = np.random.default_rng(1).standard_normal((3, 4))
    np.testing.assert_allclose(H.hvp(V), V @ exact, rtol=1e-12, atol=1e-12)
    value, g = H.value_and_grad()
    w = np.concatenate([p.numpy().ravel() for p in params])
    X1 = np.hstack([X.numpy(), np.ones((30, 1))])
    np.testing.assert_allclose(g, 2 * X1.T @ (X1 @ w - y.numpy().ravel()) / 30, rtol=1e-12)
    assert value == pytest.approx(np.mean((X1 @ w - y.numpy().ravel()) ** 2), rel=1e-12)
    assert all(p.grad is None for p in params)  # nothing left behind in the model


@pytest.mark.parametrize("form", ["function", "closure"])
def test_the_tools_agree_across_forms(regression, form):
    model, X, y, exact = regression
    params, losses = forms(model, X, y)
    loss = losses[form]
    eigenvalues = np.linalg.eigvalsh(exact)
    top = top_hessian_eigenvalues(loss, params, k=2, tol=1e-10, max_iter=500)
    np.testing.assert_allclose(top.eigenvalues, eigenvalues[::-1][:2], rtol=1e-8)
    assert hessian_trace(loss, params, samples=8).trace == pytest.approx(np.trace(exact), rel=0.5)
    assert suggest_lr(loss, params, tol=1e-10, max_iter=500).lr == pytest.approx(
        1 / eigenvalues[-1], rel=1e-8
    )
    before = [p.numpy().copy() for p in params]
    assert all(np.array_equal(p.numpy(), b) for p, b in zip(params, before))


def test_a_loss_of_two_arguments_is_refused_with_both_forms_named(regression):
    model, X, y, _ = regression
    params = list(model.parameters())
    with pytest.raises(CurvatureError, match=r"takes 2 arguments.*loss_fn\(params\).*closure"):
        top_hessian_eigenvalues(lambda w, b: (X @ w.T + b).sum(), params)


def test_a_closure_with_params_that_are_not_the_models_is_refused(regression):
    model, X, y, _ = regression
    arrays = [p.numpy() for p in model.parameters()]
    with pytest.raises(CurvatureError, match=r"hessian_trace: with a closure.*params\[0\]"):
        hessian_trace(lambda: nn.functional.mse_loss(model(X), y), arrays)


def test_a_function_that_ignores_its_arguments_points_to_the_closure_form(regression):
    model, X, y, _ = regression
    with pytest.raises(CurvatureError, match=r"does not depend.*closure with no arguments"):
        suggest_lr(lambda ps: nn.functional.mse_loss(model(X), y), list(model.parameters()))


def test_a_closure_that_returns_no_scalar_is_refused(regression):
    model, X, y, _ = regression
    with pytest.raises(CurvatureError, match=r"hessian_trace: the closure must return"):
        hessian_trace(lambda: model(X), list(model.parameters()))


# ----- the other tools: each refuses the form it does not take, naming both -------------------


@pytest.mark.parametrize(
    "name, call",
    [
        ("hvp", lambda f, ps: mg.hvp(f, ps, [mg.ones_like(p) for p in ps])),
        ("hessian", lambda f, ps: mg.hessian(f)(*ps)),
        ("grad", lambda f, ps: mg.grad(f)(*ps)),
        ("jacrev", lambda f, ps: mg.jacrev(f)(*ps)),
        ("jvp", lambda f, ps: mg.jvp(f, ps, [mg.ones_like(p) for p in ps])),
        ("vjp", lambda f, ps: mg.vjp(f, *ps)),
    ],
)
def test_a_transform_given_a_closure_says_so(regression, name, call):
    model, X, y, _ = regression
    params = list(model.parameters())
    with pytest.raises(mg.ArgumentError, match=rf"^{name}: the function takes no arguments .*"
                       r"closure.*mg.curvature"):  # fmt: skip
        call(lambda: nn.functional.mse_loss(model(X), y), params)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: mg.optim.SGD(ps, lr=0.1),
        lambda ps: mg.optim.LBFGS(ps),
        lambda ps: mg.optim.Newton(ps),
        lambda ps: mg.optim.NewtonCG(ps),
        lambda ps: mg.optim.Sophia(ps),
    ],
)
def test_an_optimizer_given_a_function_of_the_parameters_says_so(regression, make):
    model, X, y, _ = regression
    params = list(model.parameters())
    optimizer = make(params)
    before = [p.numpy().copy() for p in params]
    with pytest.raises(mg.ArgumentError, match=r"\.step: the closure needs 1 argument"):
        optimizer.step(lambda ps: nn.functional.mse_loss(X @ ps[0].T + ps[1], y))
    with pytest.raises(mg.ArgumentError, match=r"\.step: closure must be a function"):
        optimizer.step(3.0)
    assert all(np.array_equal(p.numpy(), b) for p, b in zip(params, before))  # nothing moved


def test_a_loss_that_is_not_finite_is_named_not_a_linear_algebra_error(regression):
    model, X, y, _ = regression
    with mg.no_grad():
        model.weight.data[0, 0] = np.nan  # a run that diverged
    with pytest.raises(CurvatureError, match=r"hessian_eigenvalues: the Hessian-vector products "
                       r"are not finite"):  # fmt: skip
        mg.curvature.hessian_eigenvalues(
            lambda: nn.functional.mse_loss(model(X).tanh(), y), list(model.parameters())
        )
