"""The per-example quantities of the curvature and monitoring tools by ``mg.vmap`` (issue 22):
``per_sample_gradients``, ``empirical_fisher`` and ``fisher_diagonal`` given the loss of one
example and ``examples=``, and the monitor's ``noise_scale(method="per_sample")``. Each equals a
Python loop of single-example backward passes, the route that takes the vector of the examples'
losses (its Jacobian), and closed forms; bad input gets an error that names the tool."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.checking.dynamics import noise_scale
from minigrad.checking.twin import Twin
from minigrad.curvature import (
    CurvatureError,
    empirical_fisher,
    fisher_diagonal,
    per_sample_gradients,
)

F = nn.functional
N, D, HIDDEN, K = 7, 4, 5, 3


def two_layer_mlp(seed: int = 0, *middle):
    """Linear(4, 5) with bias, tanh (and ``middle`` layers), Linear(5, 3) with bias: float64."""
    generator = mg.Generator(seed)
    return nn.Sequential(
        nn.Linear(D, HIDDEN, generator=generator, dtype=mg.float64),
        nn.Tanh(),
        *middle,
        nn.Linear(HIDDEN, K, generator=generator, dtype=mg.float64),
    )


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    X, Y = mg.tensor(rng.standard_normal((N, D))), mg.tensor(rng.integers(0, K, N))
    return two_layer_mlp(), X, Y


def loop_rows(model, X, Y) -> np.ndarray:
    """Row i: the flat gradient of example i's own loss, by a backward pass of that example
    alone (a batch of one)."""
    params = list(model.parameters())
    rows = []
    for i in range(len(X)):
        loss = F.cross_entropy(model(X[i : i + 1]), Y[i : i + 1])
        rows.append(np.concatenate([g.numpy().ravel() for g in mg.autograd.grad(loss, params)]))
    return np.array(rows)


def forms(model):
    """The loss of one example as a closure over the model, and as a function of the list of
    parameters; and the vector of the examples' losses as a closure (the route without vmap)."""
    names = [name for name, _ in model.named_parameters()]

    def closure(x, y):
        return F.cross_entropy(model(x.unsqueeze(0)), y.unsqueeze(0))

    def of_params(params, x, y):
        out = nn.functional_call(model, dict(zip(names, params)), x.unsqueeze(0))
        return F.cross_entropy(out, y.unsqueeze(0))

    return {"closure": closure, "function": of_params}


@pytest.mark.parametrize("form", ["closure", "function"])
@pytest.mark.parametrize("chunk_size", [None, 3])
def test_rows_fisher_and_diagonal_equal_a_loop_and_the_jacobian_route(problem, form, chunk_size):
    model, X, Y = problem
    params = list(model.parameters())
    loss_of_one = forms(model)[form]
    expected = loop_rows(model, X, Y)
    assert expected.shape == (N, HIDDEN * D + HIDDEN + K * HIDDEN + K)

    G = per_sample_gradients(loss_of_one, params, chunk_size, examples=(X, Y))
    np.testing.assert_allclose(G, expected, rtol=1e-10, atol=1e-12)
    vector = lambda: F.cross_entropy(model(X), Y, reduction="none")  # noqa: E731
    np.testing.assert_allclose(G, per_sample_gradients(vector, params), rtol=1e-10, atol=1e-12)

    outer = sum(np.outer(g, g) for g in expected) / N  # the documented mean over the examples
    fisher = empirical_fisher(loss_of_one, params, examples=(X, Y), chunk_size=chunk_size)
    np.testing.assert_allclose(fisher, outer, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fisher, empirical_fisher(vector, params), rtol=1e-10, atol=1e-12)

    diagonal = fisher_diagonal(loss_of_one, params, examples=(X, Y), chunk_size=chunk_size)
    np.testing.assert_allclose(diagonal, np.diag(outer), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(diagonal, fisher_diagonal(vector, params), rtol=1e-10, atol=1e-12)
    assert all(p.grad is None for p in params)  # the model's gradients are left alone


def test_logistic_regression_rows_have_their_closed_form():
    """``g_i = (p_i - y_i) [x_i, 1]`` for the binary cross-entropy of a logistic regression."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((9, 3)), rng.integers(0, 2, 9).astype(np.float64)
    model = nn.Linear(3, 1, generator=mg.Generator(1), dtype=mg.float64)
    w, b = (p.numpy() for p in model.parameters())
    p = 1 / (1 + np.exp(-(X @ w.ravel() + b)))
    closed = (p - y)[:, None] * np.hstack([X, np.ones((9, 1))])

    def loss_of_one(x, target):  # -t log sigmoid(z) - (1 - t) log sigmoid(-z)
        logit = model(x.unsqueeze(0)).reshape(())
        return mg.log1p(mg.exp(-logit)) + (1 - target) * logit

    G = per_sample_gradients(loss_of_one, list(model.parameters()),
                             examples=(mg.tensor(X), mg.tensor(y)))  # fmt: skip
    np.testing.assert_allclose(G, closed, rtol=1e-12, atol=1e-14)


def test_a_float32_model_gives_float64_rows_close_to_the_float64_ones(problem):
    model, X, Y = problem
    expected = loop_rows(model, X, Y)
    model.to(mg.float32)
    X32 = X.to(mg.float32)
    G = per_sample_gradients(forms(model)["closure"], list(model.parameters()), examples=(X32, Y))
    assert G.dtype == np.float64
    np.testing.assert_allclose(G, expected, rtol=1e-4, atol=1e-6)


# ----- the noise scale --------------------------------------------------------------------------


def loop_noise_scale(twin: Twin) -> tuple[float, float]:
    """The estimator noise_scale(method="per_sample") computed before vmap: one backward pass
    per example, ``tr(Sigma) ~ sum_i |g_i - g|^2 / (B - 1)``, ``|G|^2 ~ |g|^2 - tr / B``."""
    G = np.array([np.concatenate([g.ravel() for g in twin.gradients(twin.rows(i, i + 1))[1]])
                  for i in range(twin.size)])  # fmt: skip
    mean = G.mean(axis=0)
    trace = ((G - mean) ** 2).sum() / (len(G) - 1)
    return trace, mean @ mean - trace / len(G)


def shifted(out, y, shift):
    """Cross-entropy of shifted logits: a batch entry (``shift``, one per class) not sliced."""
    return F.cross_entropy(out + shift, y)


@pytest.mark.parametrize("case", ["plain", "unsliced entry", "frozen layer", "eval batchnorm"])
def test_noise_scale_from_vmap_equals_the_loop_of_backward_passes(problem, case):
    model, X, Y = problem
    loss_fn, batch = F.cross_entropy, (X, Y)
    if case == "unsliced entry":
        loss_fn, batch = shifted, (X, Y, mg.tensor([0.5, -1.0, 2.0]))
    if case == "frozen layer":
        model[0].weight.requires_grad = False
    if case == "eval batchnorm":
        model = two_layer_mlp(0, nn.BatchNorm1d(HIDDEN, dtype=mg.float64))
        model(X)  # running statistics that are not the defaults
        model.eval()
    with Twin(model, loss_fn, batch, "test") as twin:
        estimate = noise_scale(twin, "per_sample")
        trace, grad_sq = loop_noise_scale(twin)
        per_sample = twin.per_sample_gradients()
    assert estimate.batch_sizes == (1, N)
    assert estimate.trace == pytest.approx(trace, rel=1e-10)
    assert estimate.grad_sq == pytest.approx(grad_sq, rel=1e-10)
    assert [g.shape for g in per_sample] == [(N, *p.shape) for p in model.parameters()]
    if case == "frozen layer":
        assert not per_sample[0].any() and per_sample[1].any()


def test_the_monitor_noise_scale_per_sample_is_the_loop_estimate(problem):
    model, X, Y = problem
    monitor = nn.GradientMonitor(model, F.cross_entropy, every=None, check_every=None,
                                 noise_every=1, noise="per_sample")  # fmt: skip
    monitor.step(X, Y)
    with Twin(model, F.cross_entropy, (X, Y)) as twin:
        trace, grad_sq = loop_noise_scale(twin)
    assert monitor.history[0]["noise"].trace == pytest.approx(trace, rel=1e-10)
    assert monitor.history[0]["noise"].grad_sq == pytest.approx(grad_sq, rel=1e-10)


# ----- bad input --------------------------------------------------------------------------------


def test_mismatched_examples_and_malformed_losses_are_refused(problem):
    model, X, Y = problem
    params, closure = list(model.parameters()), forms(model)["closure"]
    with pytest.raises(CurvatureError, match=r"per_sample_gradients: .*same number of examples"
                       r".*\[\(5, 4\), \(7,\)\]"):  # fmt: skip
        per_sample_gradients(closure, params, examples=(X[:5], Y))
    with pytest.raises(CurvatureError, match=r"empirical_fisher: with examples= \(2 tensors\).*"
                       r"function of 4 arguments"):  # fmt: skip
        empirical_fisher(lambda a, b, c, d: a, params, examples=(X, Y))
    with pytest.raises(CurvatureError, match=r"fisher_diagonal: the loss of one example must be "
                       r"a scalar Tensor, it is of shape \(1, 3\)"):  # fmt: skip
        fisher_diagonal(lambda x, y: model(x.unsqueeze(0)), params, examples=(X, Y))
    with pytest.raises(CurvatureError, match=r"does not depend on the parameters"):
        per_sample_gradients(lambda x, y: (x**2).sum(), params, examples=(X, Y))
    with pytest.raises(CurvatureError, match=r"params must be the Tensors the closure uses"):
        per_sample_gradients(closure, [p.detach() for p in params], examples=(X, Y))


def test_layers_that_mix_or_draw_per_batch_are_refused(problem):
    _, X, Y = problem
    for layer, name in ((nn.BatchNorm1d(HIDDEN, dtype=mg.float64), "BatchNorm1d"),
                        (nn.Dropout(0.5), "Dropout")):  # fmt: skip
        model = two_layer_mlp(0, layer)
        with Twin(model, F.cross_entropy, (X, Y), "GradientMonitor") as twin:
            with pytest.raises(mg.BatchingError, match=rf"noise_scale: .*{name}.*two_batch"):
                noise_scale(twin, "per_sample")
            noise_scale(twin, "two_batch")  # the other estimator takes them
    # BatchNorm2d of one example still has several values per channel: refused by vmap itself
    images = mg.tensor(np.random.default_rng(0).standard_normal((4, 2, 3, 3)))
    conv = nn.Sequential(nn.Conv2d(2, 3, 2, dtype=mg.float64), nn.BatchNorm2d(3, dtype=mg.float64),
                         nn.Flatten(), nn.Linear(12, K, dtype=mg.float64))  # fmt: skip
    with pytest.raises(mg.BatchingError, match=r"fisher_diagonal: the loss of one example "
                       r"cannot be batched by mg.vmap.*BatchNorm.*model.eval\(\)"):  # fmt: skip
        fisher_diagonal(forms(conv)["closure"], list(conv.parameters()), examples=(images, Y[:4]))
