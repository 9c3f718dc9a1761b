"""The training-dynamics monitor: ``mg.nn.GradientMonitor`` beyond gradient norms.

A rule wrong at one element of a 40-element parameter is caught at the first check, by a check
along one random direction, and the report names the operation (primitive or autograd.Function)
and the module that made it, and the parameter. The gradient noise scale matches its estimators
computed here from the per-example gradients of a linear model, known in closed form; the
update/weight ratios match SGD's update written out by hand; the sharpness matches the top
eigenvalue of the exact Hessian; the stability thresholds are where minigrad's own SGD starts to
diverge on a quadratic; the dashboard is one PNG with six panels.
"""

import matplotlib
import numpy as np
import pytest
from test_nn_checking import OFFSET, Scale  # x * s, its VJP off by OFFSET at element `bad`

import minigrad as mg
from minigrad.checking.dynamics import stability_threshold
from minigrad.checking.monitor import NOISE_MEMORY
from minigrad.errors import OpError

matplotlib.use("Agg")

WIDTH, BAD = 40, 17  # the planted error: OFFSET at element BAD of a 40-element s


def cross_entropy(logits, y):
    return mg.nn.functional.cross_entropy(logits, mg.tensor(np.asarray(y)))


class ScaleFunction(mg.autograd.Function):
    """The same planted error, written as PyTorch's autograd.Function."""

    @staticmethod
    def forward(ctx, x, s):
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        return g * s, (g * x).sum(dim=0) + mg.tensor(np.arange(WIDTH) == BAD) * OFFSET


class ScaleLayer(mg.nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.s = mg.nn.Parameter(np.linspace(0.5, 1.5, WIDTH).astype(np.float32))
        self.kind = kind

    def forward(self, x):
        if self.kind == "function":
            return ScaleFunction.apply(x, self.s)
        return Scale.apply(x, self.s, bad=BAD if self.kind == "primitive" else None)


def scaled_net(kind, seed=0):
    generator = mg.Generator(seed)
    return mg.nn.Sequential(
        mg.nn.Linear(4, WIDTH, generator=generator), ScaleLayer(kind), mg.nn.Tanh(),
        mg.nn.Linear(WIDTH, 3, generator=generator),
    )  # fmt: skip


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((8, 4)).astype(np.float32), rng.integers(0, 3, 8)


def train(model, X, y, steps, monitor, optimizer):
    for _ in range(steps):
        loss = cross_entropy(model(mg.tensor(X)), y)
        optimizer.zero_grad()
        loss.backward()
        monitor.step(X, y, loss=loss)
        optimizer.step()


# ----- gradient checks that catch a wrong rule at once, and name it ------------------------------


@pytest.mark.parametrize(
    "kind, op", [("primitive", "Scale"), ("function", "ScaleFunction (autograd.Function)")]
)
def test_a_planted_wrong_rule_is_caught_at_the_first_check_and_named(data, kind, op):
    X, y = data
    model = scaled_net(kind)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05)
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=10)
    train(model, X, y, 21, monitor, optimizer)
    assert [step for step, _ in monitor.checks] == [0, 10, 20]
    for step, report in monitor.checks:
        assert not report, step
        assert [c.name for c in report.failures] == ["direction", '"1.s"']
        assert [(rule.op, rule.module) for rule in report.wrong_rules] == [(op, "1")]
    summary = str(monitor)
    assert "failed at steps [0, 10, 20]" in summary
    assert f'wrong rule: {op} in module "1"' in summary


def test_the_same_model_with_a_correct_rule_passes_every_check(data):
    X, y = data
    model = scaled_net("correct")
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05)
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=5)
    train(model, X, y, 11, monitor, optimizer)
    assert len(monitor.checks) == 3 and all(report for _, report in monitor.checks)
    assert all(report.wrong_rules == [] for _, report in monitor.checks)


def test_sampling_four_coordinates_misses_the_error_that_one_direction_catches(data):
    """What the directional check fixes: 4 of 40 coordinates rarely include the wrong one."""
    model = scaled_net("primitive")
    sampled = mg.nn.check_module(model, cross_entropy, *data, n_coords=4, seed=0)
    assert sampled, "seed 0 samples 4 coordinates of s that do not include the wrong one"
    directional = mg.nn.check_module(model, cross_entropy, *data, mode="directional", seed=0)
    assert not directional
    # the directional derivative is off by OFFSET * u[BAD]: a relative error, not rounding
    assert directional.checks[0].max_abs_error > 1e-3


def test_directional_check_leaves_model_and_generator_untouched(data):
    model = scaled_net("primitive")
    before = [p.data.copy() for p in model.parameters()]
    mg.manual_seed(4)
    reference = mg.rand(3).numpy()
    mg.manual_seed(4)
    mg.nn.check_module(model, cross_entropy, *data, mode="directional")
    assert np.array_equal(mg.rand(3).numpy(), reference)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(OpError, match="mode 'exact'"):
        mg.nn.check_module(model, cross_entropy, *data, mode="exact")


# ----- update norms ------------------------------------------------------------------------------


def test_update_and_gradient_ratios_match_sgd_with_momentum_by_hand(data):
    """With momentum 0.9 the update of step t is lr * (0.9 b_{t-1} + g_t), not lr * g_t: the
    monitor sees the change of the parameters, whatever the optimizer did."""
    X, y = data
    model = scaled_net("correct")
    lr, mu = 0.1, 0.9
    optimizer = mg.optim.SGD(model.parameters(), lr=lr, momentum=mu)
    monitor = mg.nn.GradientMonitor(model, cross_entropy, every=2, check_every=None)
    names = [name for name, _ in model.named_parameters()]
    weights, grads = [], []
    for _ in range(5):
        weights.append({n: p.data.astype(np.float64) for n, p in model.named_parameters()})
        loss = cross_entropy(model(mg.tensor(X)), y)
        optimizer.zero_grad()
        loss.backward()
        grads.append({n: p.grad.data.astype(np.float64) for n, p in model.named_parameters()})
        monitor.step(X, y, loss=loss)
        optimizer.step()
    assert [r["step"] for r in monitor.history] == [0, 2, 4]
    assert "updates" not in monitor.history[-1]  # step 4's update is seen by a 6th call
    buffers = {n: np.zeros_like(grads[0][n]) for n in names}
    for step in range(4):
        for n in names:
            buffers[n] = grads[step][n] if step == 0 else mu * buffers[n] + grads[step][n]
        if step % 2:
            continue
        record = monitor.history[step // 2]
        for n in names:
            w = np.linalg.norm(weights[step][n])
            update = np.linalg.norm(lr * buffers[n])
            assert record["weights"][n] == pytest.approx(w, rel=1e-6)
            assert record["updates"][n] == pytest.approx(update, rel=1e-5)
            assert record["update_ratios"][n] == pytest.approx(update / w, rel=1e-5)
            g = np.linalg.norm(grads[step][n])
            assert record["grad_ratios"][n] == pytest.approx(g / w, rel=1e-6)
    # the change between steps 2 and 3 is not the two steps' sum: momentum made them differ
    assert monitor.history[1]["updates"]["1.s"] != pytest.approx(
        lr * np.linalg.norm(grads[2]["1.s"]), rel=1e-3
    )
    assert monitor.losses == [(s, pytest.approx(monitor.losses[s][1])) for s in range(5)]


# ----- the gradient noise scale ------------------------------------------------------------------


def linear_problem(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X, w = rng.standard_normal((n, d)), rng.standard_normal(d)
    y = X @ w + 0.3 * rng.standard_normal(n)
    model = mg.nn.Linear(d, 1, bias=False, dtype=np.float64)
    model.weight.data = (w + 0.5 * rng.standard_normal(d))[None]
    return model, X, y[:, None]


def per_example_gradients(model, X, y):
    """The gradient of (w.x_i - y_i)^2 in w: 2 (w.x_i - y_i) x_i, one row per example."""
    w = model.weight.data[0]
    return 2 * (X @ w - y[:, 0])[:, None] * X


def test_noise_scale_from_per_example_gradients_matches_the_closed_form():
    model, X, y = linear_problem()
    monitor = mg.nn.GradientMonitor(model, mg.nn.functional.mse_loss, every=1, check_every=None,
                                    noise_every=1, noise="per_sample")  # fmt: skip
    monitor.step(X, y)
    G = per_example_gradients(model, X, y)
    B, mean = len(G), G.mean(axis=0)
    trace = ((G - mean) ** 2).sum() / (B - 1)  # tr of the sample covariance (unbiased)
    grad_sq = mean @ mean - trace / B  # unbiased estimate of |G|^2
    noise = monitor.history[0]["noise"]
    assert noise.trace == pytest.approx(trace, rel=1e-10)
    assert noise.grad_sq == pytest.approx(grad_sq, rel=1e-10)
    assert noise.b_simple == pytest.approx(trace / grad_sq, rel=1e-10)
    assert monitor.history[0]["noise_scale"] == pytest.approx(trace / grad_sq, rel=1e-10)


def test_noise_scale_from_two_batch_sizes_matches_mccandlish_estimator():
    model, X, y = linear_problem(n=10)
    monitor = mg.nn.GradientMonitor(model, mg.nn.functional.mse_loss, check_every=None,
                                    noise_every=1)  # fmt: skip
    monitor.step(X, y)
    G = per_example_gradients(model, X, y)
    big, halves = G.mean(axis=0), [G[:5].mean(axis=0), G[5:].mean(axis=0)]
    small_sq = (halves[0] @ halves[0] + halves[1] @ halves[1]) / 2  # |G_b|^2, both halves
    grad_sq = (10 * big @ big - 5 * small_sq) / (10 - 5)
    trace = (small_sq - big @ big) / (1 / 5 - 1 / 10)
    noise = monitor.history[0]["noise"]
    assert noise.batch_sizes == (5, 10)
    assert noise.grad_sq == pytest.approx(grad_sq, rel=1e-10)
    assert noise.trace == pytest.approx(trace, rel=1e-10)
    # a second batch: the running scale is the ratio of the estimates' moving averages
    order = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9])  # other halves
    X2, y2 = X[order], y[order]
    monitor.step(X2, y2)
    G2 = per_example_gradients(model, X2, y2)
    big2, halves2 = G2.mean(axis=0), [G2[:5].mean(axis=0), G2[5:].mean(axis=0)]
    small_sq2 = (halves2[0] @ halves2[0] + halves2[1] @ halves2[1]) / 2
    grad_sq2 = (10 * big2 @ big2 - 5 * small_sq2) / 5
    trace2 = (small_sq2 - big2 @ big2) / (1 / 5 - 1 / 10)
    memory = NOISE_MEMORY
    running = (memory * trace + trace2) / (memory * grad_sq + grad_sq2)
    assert running != pytest.approx(trace2 / grad_sq2, rel=1e-3)
    assert monitor.history[1]["noise_scale"] == pytest.approx(running, rel=1e-10)


def test_per_example_noise_needs_a_mean_loss():
    model, X, y = linear_problem()

    def summed(out, target):
        return ((out - target) ** 2).sum()

    monitor = mg.nn.GradientMonitor(model, summed, check_every=None, noise_every=1,
                                    noise="per_sample")  # fmt: skip
    with pytest.raises(OpError, match=r"not the mean of its 12 examples.*two_batch"):
        monitor.step(X, y)


# ----- sharpness and the edge of stability -------------------------------------------------------


def test_sharpness_is_the_top_eigenvalue_of_the_exact_hessian(data):
    X, y = data
    generator = mg.Generator(2)
    model = mg.nn.Sequential(mg.nn.Linear(4, 5, generator=generator), mg.nn.Tanh(),
                             mg.nn.Linear(5, 3, generator=generator))  # fmt: skip
    optimizer = mg.optim.SGD(model.parameters(), lr=0.2)
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=None, curvature_every=1,
                                    optimizer=optimizer, curvature_iters=3000,
                                    curvature_tol=1e-9)  # fmt: skip
    loss = cross_entropy(model(mg.tensor(X)), y)
    loss.backward()
    monitor.step(X, y, loss=loss)

    params = [p.detach().to(mg.float64) for p in model.parameters()]
    X64 = mg.tensor(X.astype(np.float64))

    def f(*ps):
        return cross_entropy(mg.nn.functional_call(model, list(ps), X64), y)

    argnums = tuple(range(len(params)))
    exact = np.linalg.eigvalsh(mg.hessian(f, argnums, flat=True)(*params).numpy())[-1]
    sharpness = monitor.history[0]["sharpness"]
    assert sharpness.converged
    assert sharpness.eigenvalue == pytest.approx(exact, rel=1e-10)
    assert sharpness.threshold == pytest.approx(2 / 0.2) and sharpness.lr == 0.2
    assert "sharpness lambda_max" in str(monitor) and "vs 2/lr = 10" in str(monitor)


def diverges(optimizer_for, curvature, steps=400):
    """Whether minigrad's optimizer diverges on f(x) = curvature * x^2 / 2 from x = 1."""
    x = mg.nn.Parameter(np.array([1.0]), dtype=np.float64)
    optimizer = optimizer_for([x])
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * curvature * x * x).sum().backward()
        optimizer.step()
    return not abs(x.data[0]) < 1.0


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda ps: mg.optim.SGD(ps, lr=0.1), 20.0),
        (lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9), 38.0),
        (lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.5, dampening=0.5), 60.0),
        (lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True), 3.8 / 0.28),
    ],
    ids=["sgd", "momentum", "dampening", "nesterov"],
)
def test_stability_threshold_is_where_sgd_starts_to_diverge(make, expected):
    threshold, rule, lr = stability_threshold(make([mg.nn.Parameter(np.zeros(1))]))
    assert threshold == pytest.approx(expected) and lr == 0.1
    assert not diverges(make, 0.97 * threshold) and diverges(make, 1.03 * threshold)


def test_an_adaptive_optimizer_gets_gradient_descents_edge_labelled_as_such():
    threshold, rule, _ = stability_threshold(mg.optim.Adam([mg.nn.Parameter(np.zeros(1))], lr=0.01))
    assert threshold == pytest.approx(200.0) and "Adam" in rule


# ----- cost and pictures -------------------------------------------------------------------------


def monitored_run(data, steps=24):
    X, y = data
    model = scaled_net("correct")
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    monitor = mg.nn.GradientMonitor(model, cross_entropy, every=2, check_every=8, noise_every=4,
                                    curvature_every=8, optimizer=optimizer)  # fmt: skip
    train(model, X, y, steps, monitor, optimizer)
    return monitor


def test_the_monitor_times_itself(data):
    monitor = monitored_run(data)
    assert all(monitor.seconds[kind] > 0 for kind in ("norms", "check", "noise", "curvature"))
    assert monitor.overhead > 0
    line = next(line for line in str(monitor).splitlines() if "overhead" in line)
    assert f"{100 * monitor.overhead:.1f}% overhead" in line
    assert len(monitor.series("sharpness")[0]) == 3 and len(monitor.series("noise")[0]) == 6


def test_dashboard_is_one_png_with_six_panels(data, tmp_path):
    import matplotlib.pyplot as plt

    monitor = monitored_run(data)
    path = tmp_path / "dashboard.png"
    fig = monitor.dashboard(str(path))
    try:
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 20_000
        assert len(fig.axes) == 6
        titles = [ax.get_title() for ax in fig.axes]
        assert titles == ["Loss", "Gradient norm per parameter", "Update / weight ratio per step",
                          "Gradient noise scale B_simple", "Sharpness vs edge of stability",
                          "Checks, flags, cost"]  # fmt: skip
        norms = {line.get_label() for line in fig.axes[1].get_lines()}
        assert norms == {"0.weight", "0.bias", "1.s", "3.weight", "3.bias"}
        sharp = fig.axes[4].get_lines()
        assert list(sharp[0].get_xdata()) == [0, 8, 16]
        assert np.allclose(sharp[1].get_ydata(), 2 / 0.1)  # the edge, 2/lr
    finally:
        plt.close(fig)


def test_dashboard_says_what_was_not_measured(data, tmp_path):
    import matplotlib.pyplot as plt

    X, y = data
    model = scaled_net("correct")
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=None)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        loss = cross_entropy(model(mg.tensor(X)), y)
        optimizer.zero_grad()
        loss.backward()
        monitor.step(X, y)
        optimizer.step()
    fig = monitor.dashboard()
    try:
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert any("pass loss=" in t for t in texts)
        assert any("noise_every" in t for t in texts) and any("curvature_every" in t for t in texts)
    finally:
        plt.close(fig)


def test_bad_settings_are_refused():
    model = scaled_net("correct")
    with pytest.raises(OpError, match="noise must be one of"):
        mg.nn.GradientMonitor(model, cross_entropy, noise="three_batch")
    with pytest.raises(OpError, match="curvature_every must be a positive integer"):
        mg.nn.GradientMonitor(model, cross_entropy, curvature_every=0)
    with pytest.raises(OpError, match="optimizer must be an optimizer"):
        mg.nn.GradientMonitor(model, cross_entropy, optimizer=0.1)
