"""Checking a model's gradients: ``mg.nn.check_module`` and ``mg.nn.GradientMonitor``.

A correct float32 MLP passes, and the numbers the report shows are checked against central
differences of the same MLP written here in numpy. A model with a planted wrong VJP (a scale
layer whose rule for ``s`` is off at one element) fails, and the report names that parameter
and that element. Checking must leave no trace: the model, its gradients and minigrad's random
generator are the same afterwards, so training with a monitor gives bit-identical parameters.
"""

import matplotlib
import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import DTypeError, OpError, ShapeError

matplotlib.use("Agg")

# The models are float32 ones, as a user's (minigrad's real default dtype).
pytestmark = pytest.mark.usefixtures("float32_default")

N, D_IN, D_HIDDEN, D_OUT = 6, 4, 5, 3
OFFSET = 0.5  # how far the planted VJP is off at its one wrong element


# ----- models and data ---------------------------------------------------------------------------


def cross_entropy(logits, y):
    """Softmax cross-entropy, the mean over the batch (y: integer labels)."""
    n = logits.shape[0]
    y = np.asarray(y)
    return -(logits - mg.logsumexp(logits, axis=1, keepdims=True))[np.arange(n), y].mean()


class Tanh(mg.nn.Module):
    def forward(self, x):
        return mg.tanh(x)


class RandomDropout(mg.nn.Module):
    """Dropout drawing its mask from minigrad's default generator (``mg.rand``)."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        keep = mg.rand(*x.shape) >= self.p
        return x * keep / (1 - self.p)


class Scale(mg.Primitive):
    """``y = x * s`` (x of shape (N, *s.shape)) with a VJP for ``s`` that is wrong by
    ``OFFSET`` at element ``bad`` (None: the correct rule)."""

    @staticmethod
    def forward(x, s, bad=None):
        return x * s

    @staticmethod
    def vjp(g, y, x, s, bad=None):
        g_s = (g * x).sum(axis=0)
        if bad is not None:
            planted = np.zeros(s.shape)
            planted[bad] = OFFSET
            g_s = g_s + planted
        return g * s, g_s

    @staticmethod
    def jvp(ts, y, x, s, bad=None):
        t_x = 0 if ts[0] is None else ts[0] * s
        return t_x + (0 if ts[1] is None else ts[1] * x)


class ScaleLayer(mg.nn.Module):
    def __init__(self, shape, bad=None):
        super().__init__()
        values = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape)
        self.s = mg.nn.Parameter(values, dtype=np.float32)
        self.bad = bad

    def forward(self, x):
        return Scale.apply(x, self.s, bad=self.bad)


class Dropped(mg.nn.Module):
    """``body`` followed by ``RandomDropout``."""

    def __init__(self, body, p=0.3):
        super().__init__()
        self.net = body
        self.drop = RandomDropout(p)

    def forward(self, x):
        return self.drop(self.net(x))


def mlp(seed=0, dropout=False):
    """Linear -> tanh -> (dropout) -> Linear, float32, seeded."""
    generator = mg.Generator(seed)
    layers = [mg.nn.Linear(D_IN, D_HIDDEN, generator=generator), Tanh()]
    layers += [RandomDropout(0.5)] if dropout else []
    return mg.nn.Sequential(*layers, mg.nn.Linear(D_HIDDEN, D_OUT, generator=generator))


def scaled_mlp(shape, bad, seed=0):
    """Linear -> reshape to (N, *shape) -> ScaleLayer -> flatten -> tanh -> Linear."""
    generator = mg.Generator(seed)
    size = int(np.prod(shape))

    class Net(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = mg.nn.Linear(D_IN, size, generator=generator)
            self.scale = ScaleLayer(shape, bad)
            self.last = mg.nn.Linear(size, D_OUT, generator=generator)

        def forward(self, x):
            h = self.first(x).reshape(x.shape[0], *shape)
            return self.last(mg.tanh(self.scale(h).reshape(x.shape[0], size)))

    return Net()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D_IN)).astype(np.float32)
    y = rng.integers(0, D_OUT, N)
    return X, y


def numpy_loss(params, X, y):
    """The MLP's loss in numpy, float64: the reference for the report's numbers."""
    W1, b1, W2, b2 = params
    z = np.tanh(X @ W1.T + b1) @ W2.T + b2
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def numpy_partial(params, k, index, X, y, h=1e-6):
    """d loss / d params[k][index] by central differences, in float64."""
    plus = [p.astype(np.float64) for p in params]
    minus = [p.astype(np.float64) for p in params]
    plus[k][index] += h
    minus[k][index] -= h
    return (numpy_loss(plus, X, y) - numpy_loss(minus, X, y)) / (2 * h)


def snapshot(model):
    """Everything checking could disturb: parameter arrays and their gradients, with dtypes."""
    return {
        name: (p.data.copy(), None if p.grad is None else p.grad.data.copy())
        for name, p in model.named_parameters()
    }


def assert_same(before, after):
    assert before.keys() == after.keys()
    for name, (data, grad) in before.items():
        data_after, grad_after = after[name]
        assert data.dtype == data_after.dtype and np.array_equal(data, data_after), name
        if grad is None:
            assert grad_after is None, name
        else:
            assert grad.dtype == grad_after.dtype and np.array_equal(grad, grad_after), name


def names(checks):
    """The names of a report's checks (or of a list of checks, like ``report.failures``)."""
    return [check.name for check in getattr(checks, "checks", checks)]


# ----- check_module ------------------------------------------------------------------------------


def test_correct_mlp_passes(data):
    """A float32 MLP with softmax cross-entropy: every parameter passes, named like PyTorch."""
    model = mlp()
    report = mg.nn.check_module(model, cross_entropy, *data, n_coords=8)
    assert report, str(report)
    assert names(report) == ['"0.weight"', '"0.bias"', '"2.weight"', '"2.bias"']
    shapes = [p.shape for p in model.parameters()]
    assert [check.shape for check in report.checks] == shapes
    assert '"0.weight"[' in str(report)


def test_report_indices_are_into_the_parameter(data):
    """The worst element of each parameter, by its index into the parameter's shape, has the
    analytic and numeric values of an independent numpy finite difference at that index."""
    X, y = data
    model = mlp()
    params = [p.data for p in model.parameters()]
    report = mg.nn.check_module(model, cross_entropy, X, y, n_coords=5)
    for k, (check, p) in enumerate(zip(report.checks, params)):
        index = check.worst_index
        assert len(index) == p.ndim and all(0 <= i < n for i, n in zip(index, p.shape))
        expected = numpy_partial(params, k, index, X.astype(np.float64), y)
        assert check.numeric == pytest.approx(expected, rel=1e-6, abs=1e-9), check.name
        assert check.analytic == pytest.approx(expected, rel=1e-6, abs=1e-9), check.name


def test_cost_scales_with_n_coords_not_model_size(data):
    """A 4096-element weight is checked at n_coords coordinates: a few dozen loss evaluations."""
    X, y = data
    generator = mg.Generator(1)
    model = mg.nn.Sequential(mg.nn.Linear(D_IN, 64, generator=generator), Tanh(),
                             mg.nn.Linear(64, 64, generator=generator), Tanh(),
                             mg.nn.Linear(64, D_OUT, generator=generator))  # fmt: skip
    calls = []

    def counted(logits, y):
        calls.append(1)
        return cross_entropy(logits, y)

    n_coords, n_params = 3, len(list(model.parameters()))
    report = mg.nn.check_module(model, counted, X, y, n_coords=n_coords)
    assert report, str(report)
    assert len(calls) <= 1 + n_params * (2 * n_coords + 1)
    weight = report.checks[2]
    assert weight.name == '"2.weight"' and weight.shape == (64, 64)
    assert len(weight.worst_index) == 2


@pytest.mark.parametrize(
    "shape, bad",
    [((D_HIDDEN,), (3,)), ((2, 3), (1, 2)), ((2, 3), (0, 0))],
    ids=["vector s[3]", "matrix s[1, 2]", "matrix s[0, 0]"],
)
def test_planted_bug_is_named(data, shape, bad):
    """A VJP wrong at one element of one parameter: that parameter, that element, that error."""
    model = scaled_mlp(shape, bad)
    size = int(np.prod(shape))
    report = mg.nn.check_module(model, cross_entropy, *data, n_coords=size)
    assert not report
    assert names(report.failures) == ['"scale.s"']
    (check,) = report.failures
    assert check.shape == shape
    assert [f.index for f in check.failures] == [bad]
    failure = check.failures[0]
    # analytic = true derivative + OFFSET; numeric = the true derivative.
    assert failure.analytic - failure.numeric == pytest.approx(OFFSET, abs=1e-6)
    assert failure.error == pytest.approx(OFFSET, abs=1e-6)
    where = '"scale.s"[' + ", ".join(str(i) for i in bad) + "]"
    assert f"{where}: analytic" in str(report)
    assert "FAIL" in str(report)


def test_the_same_model_without_the_bug_passes(data):
    """The control for the test above: the planted offset is the only thing wrong."""
    model = scaled_mlp((2, 3), None)
    assert mg.nn.check_module(model, cross_entropy, *data, n_coords=6)


def test_model_gradients_and_rng_are_unchanged(data):
    """The model's parameters (float32), their .grad, and the generator's next draws."""
    X, y = data
    model = mlp(dropout=True)
    mg.manual_seed(7)
    cross_entropy(model(mg.tensor(X)), y).backward()  # some .grad to preserve
    model.layers[2].p = 0.25  # a module attribute: the check must not reset it either
    mg.manual_seed(11)
    reference = mg.rand(3).numpy()

    mg.manual_seed(11)
    before = snapshot(model)
    report = mg.nn.check_module(model, cross_entropy, X, y, n_coords=4)
    after_check = mg.rand(3).numpy()
    assert report, str(report)
    assert_same(before, snapshot(model))
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert np.array_equal(after_check, reference)
    assert model.layers[2].p == 0.25 and model.training


def test_gradients_that_were_none_stay_none(data):
    model = mlp()
    assert mg.nn.check_module(model, cross_entropy, *data, n_coords=2)
    assert all(p.grad is None for p in model.parameters())


def test_a_failing_check_also_leaves_no_trace(data):
    model = Dropped(scaled_mlp((D_HIDDEN,), (1,)))
    mg.manual_seed(3)
    reference = mg.rand(3).numpy()
    mg.manual_seed(3)
    before = snapshot(model)
    assert not mg.nn.check_module(model, cross_entropy, *data, n_coords=5)
    assert_same(before, snapshot(model))
    assert np.array_equal(mg.rand(3).numpy(), reference)


def test_dropout_model_checks_consistently(data):
    """Every loss evaluation draws the same mask, so finite differences see one function."""
    X, y = data
    model = mlp(dropout=True)
    mg.manual_seed(0)
    first, second = model(mg.tensor(X)).numpy(), model(mg.tensor(X)).numpy()
    assert not np.array_equal(first, second)  # the masks do differ from call to call

    mg.manual_seed(5)
    report = mg.nn.check_module(model, cross_entropy, X, y, n_coords=6)
    mg.manual_seed(5)
    again = mg.nn.check_module(model, cross_entropy, X, y, n_coords=6)
    assert report, str(report)
    assert str(report) == str(again)


def test_dropout_model_with_a_planted_bug_still_fails(data):
    """Consistency is not leniency: the wrong element is found through random masks too."""
    report = mg.nn.check_module(Dropped(scaled_mlp((D_HIDDEN,), (2,))), cross_entropy, *data,
                                n_coords=D_HIDDEN)  # fmt: skip
    assert names(report.failures) == ['"net.scale.s"']
    assert [f.index for f in report.failures[0].failures] == [(2,)]


class WithLoss(mg.nn.Module):
    """A module whose forward returns the loss itself: ``model(x, y)``."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x, y):
        return cross_entropy(self.body(x), y)


def test_loss_fn_none_uses_the_module_output(data):
    report = mg.nn.check_module(WithLoss(mlp()), None, *data, n_coords=4)
    assert report, str(report)
    assert names(report) == ['"body.0.weight"', '"body.0.bias"', '"body.2.weight"',
                             '"body.2.bias"']  # fmt: skip


def test_loss_fn_none_finds_a_planted_bug(data):
    report = mg.nn.check_module(WithLoss(scaled_mlp((D_HIDDEN,), (4,))), None, *data,
                                n_coords=D_HIDDEN)  # fmt: skip
    assert names(report.failures) == ['"body.scale.s"']
    assert [f.index for f in report.failures[0].failures] == [(4,)]


def test_a_loss_that_is_not_a_scalar_is_an_error(data):
    with pytest.raises(ShapeError, match=r"scalar.*got shape \(6, 3\)"):
        mg.nn.check_module(mlp(), lambda logits, y: logits, *data)
    with pytest.raises(DTypeError, match="scalar Tensor.*got float"):
        mg.nn.check_module(mlp(), lambda logits, y: 0.5, *data)


# ----- GradientMonitor ---------------------------------------------------------------------------


def train(model, X, y, steps, monitor=None, lr=0.1, tamper=None):
    """Plain SGD. ``tamper(step, model)`` may change the gradients before the monitor sees them.
    Returns the gradient norms of each step, computed here in numpy."""
    norms = []
    for step in range(steps):
        loss = cross_entropy(model(mg.tensor(X)), y)
        model.zero_grad()
        loss.backward()
        if tamper is not None:
            tamper(step, model)
        norms.append({name: float(np.linalg.norm(p.grad.data.astype(np.float64)))
                      for name, p in model.named_parameters()})  # fmt: skip
        if monitor is not None:
            monitor.step(X, y)
        if lr:  # lr=0: the same point every step (and no poisoned parameters)
            with mg.no_grad():
                for p in model.parameters():
                    p.sub_(lr * p.grad.data)
    return norms


@pytest.mark.parametrize("every", [1, 4])
def test_training_is_bit_identical_with_and_without_the_monitor(data, every):
    """Same seed, same data: the same final parameters to the last bit (dropout included)."""
    X, y = data
    results = []
    for monitored in (False, True):
        model = mlp(seed=3, dropout=True)
        monitor = mg.nn.GradientMonitor(
            model, cross_entropy, check_every=every, noise_every=every, curvature_every=5
        ) if monitored else None  # fmt: skip
        mg.manual_seed(0)
        train(model, X, y, steps=10, monitor=monitor)
        results.append((model.state_dict(), mg.rand(3).numpy()))
    (plain, plain_next), (watched, watched_next) = results
    assert plain.keys() == watched.keys()
    for name in plain:
        assert plain[name].dtype == watched[name].dtype == np.float32
        assert np.array_equal(plain[name], watched[name]), name
    assert np.array_equal(plain_next, watched_next)
    assert len(monitor.checks) == len(range(0, 10, every))


def test_records_a_norm_per_parameter_per_step(data):
    X, y = data
    model = mlp()
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=100)
    expected = train(model, X, y, steps=7, monitor=monitor)
    assert [record["step"] for record in monitor.history] == list(range(7))
    for record, norms in zip(monitor.history, expected):
        assert list(record["norms"]) == ["0.weight", "0.bias", "2.weight", "2.bias"]
        for name, norm in norms.items():
            assert record["norms"][name] == pytest.approx(norm, rel=1e-6)
        assert record["flags"] == []
    assert monitor.flags == []


def test_checks_run_every_n_steps(data):
    X, y = data
    model = mlp()
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=5)
    train(model, X, y, steps=12, monitor=monitor)
    assert [step for step, _ in monitor.checks] == [0, 5, 10]
    for _, report in monitor.checks:
        assert report, str(report)
        assert names(report) == ["direction"]  # one direction over every parameter's elements
    assert ["check" in record for record in monitor.history] == [s % 5 == 0 for s in range(12)]


def test_checks_during_training_catch_a_planted_bug(data):
    X, y = data
    model = scaled_mlp((D_HIDDEN,), (0,))
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=3)
    train(model, X, y, steps=7, monitor=monitor, lr=0.01)
    assert [step for step, _ in monitor.checks] == [0, 3, 6]
    for _, report in monitor.checks:
        assert names(report.failures) == ["direction", '"scale.s"']
        assert [(rule.op, rule.module) for rule in report.wrong_rules] == [("Scale", "scale")]
    summary = str(monitor)
    assert "failed at steps [0, 3, 6]" in summary
    assert '"scale.s": analytic' in summary and 'wrong rule: Scale in module "scale"' in summary


@pytest.mark.parametrize("poison", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_flags_nan_and_inf_gradients(data, poison):
    X, y = data
    model = mlp()
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=100)

    def tamper(step, model):
        if step == 3:
            model.layers[2].weight.grad.data[1, 2] = poison

    train(model, X, y, steps=6, monitor=monitor, lr=0.0, tamper=tamper)
    assert len(monitor.flags) == 1
    step, flag = monitor.flags[0]
    assert step == 3 and flag.startswith("2.weight") and "NaN or Inf" in flag
    assert monitor.history[3]["flags"] == [flag]


def set_norm(p, norm):
    """Make ``p.grad`` a constant array whose 2-norm is ``norm``."""
    p.grad.data[...] = norm / np.sqrt(p.numel())


@pytest.mark.parametrize(
    "explode, vanish, norm, kind",
    [
        (1e3, 1e-8, 5e3, "exploding"),  # the defaults
        (1e3, 1e-8, 1e-10, "vanishing"),
        (20.0, 1e-3, 50.0, "exploding"),  # chosen thresholds
        (20.0, 1e-3, 1e-4, "vanishing"),
    ],
)
def test_flags_exploding_and_vanishing_norms(data, explode, vanish, norm, kind):
    X, y = data
    model = mlp()
    kwargs = {} if (explode, vanish) == (1e3, 1e-8) else {"explode": explode, "vanish": vanish}
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=100, **kwargs)

    def tamper(step, model):
        if step == 2:
            set_norm(model.layers[0].bias, norm)
        if step == 4:  # just inside the thresholds: not flagged
            set_norm(model.layers[0].bias, explode * 0.99)
        if step == 5:
            set_norm(model.layers[0].bias, vanish * 1.01)

    train(model, X, y, steps=6, monitor=monitor, lr=0.0, tamper=tamper)
    assert len(monitor.flags) == 1, monitor.flags
    step, flag = monitor.flags[0]
    assert step == 2 and flag.startswith("0.bias") and kind in flag
    assert monitor.history[2]["norms"]["0.bias"] == pytest.approx(norm, rel=1e-6)


def test_every_must_be_positive():
    with pytest.raises(OpError, match="every"):
        mg.nn.GradientMonitor(mlp(), cross_entropy, every=0)
    with pytest.raises(OpError, match="check_every"):
        mg.nn.GradientMonitor(mlp(), cross_entropy, check_every=0)


def test_str_summarises(data):
    X, y = data
    model = mlp()
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=4)

    def tamper(step, model):
        if step == 5:
            model.layers[0].weight.grad.data[0, 0] = np.nan

    train(model, X, y, steps=9, monitor=monitor, lr=0.0, tamper=tamper)
    summary = str(monitor)
    lines = summary.splitlines()
    assert lines[0].startswith("GradientMonitor: 9 steps, 3 gradient checks (3 passed)")
    assert "1 flags" in lines[0]
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert any(name in line for line in lines[1:])
    assert any(line.strip().startswith("step 5: 0.weight") for line in lines)
    assert all(len(line) <= 100 for line in lines)


def test_plot_returns_axes_with_one_line_per_parameter(data):
    import matplotlib.pyplot as plt

    X, y = data
    model = mlp()
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=100)
    expected = train(model, X, y, steps=5, monitor=monitor)
    fig, ax = plt.subplots()
    try:
        assert monitor.plot(ax) is ax
        assert isinstance(ax, matplotlib.axes.Axes)
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"0.weight", "0.bias", "2.weight", "2.bias"}
        for name, line in lines.items():
            assert list(line.get_xdata()) == list(range(5))
            np.testing.assert_allclose(line.get_ydata(), [n[name] for n in expected], rtol=1e-6)
        assert ax.get_yscale() == "log"
    finally:
        plt.close(fig)
    fig = plt.figure()
    try:
        assert isinstance(monitor.plot(), matplotlib.axes.Axes)  # on the current axes
    finally:
        plt.close(fig)
