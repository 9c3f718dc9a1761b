"""mg.compile on whole training steps: forward, loss, backward(), optimizer.step(), zero_grad().

A compiled step must leave the parameters, their gradients and the optimizer's state exactly
as the eager step does, step after step (with a learning-rate schedule changing the rate
between steps), and every change a recording depends on must make it record again.
"""

import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

rng = np.random.default_rng(21)


def mlp(seed=0):
    g = mg.Generator(seed)
    return nn.Sequential(
        nn.Linear(2, 16, generator=g), nn.Tanh(), nn.Linear(16, 16, generator=g), nn.Tanh(),
        nn.Linear(16, 1, generator=g),
    )  # fmt: skip


X = mg.tensor(rng.standard_normal((40, 2)))
Y = mg.tensor(np.sin(X.data[:, :1]) + X.data[:, 1:] ** 2)

OPTIMIZERS = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, maximize=False)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=1e-2)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.05)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
    ("Adadelta", dict(lr=1.0)),
]


def training_step_of(model, optimizer, loss_fn=F.mse_loss):
    """The step a PyTorch user writes: zero_grad, loss, backward, optimizer step."""

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def train(model, optimizer, step, steps, scheduler=None):
    losses = []
    for _ in range(steps):
        losses.append(step(X, Y).data.copy())
        if scheduler is not None:
            scheduler.step()
    return losses


def same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def twin_runs(make_model, make_optimizer, steps, schedule=True, loss_fn=None):
    """The same training eagerly and compiled: (losses, model, optimizer, compiled step) each."""
    runs = []
    for compiled in (False, True):
        model = make_model()
        optimizer = make_optimizer(model.parameters())
        scheduler = mg.optim.lr_scheduler.StepLR(optimizer, 97, 0.7) if schedule else None

        step = training_step_of(model, optimizer, loss_fn or F.mse_loss)
        run = mg.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no step of these may fall back to eager
            losses = train(model, optimizer, run, steps, scheduler)
        runs.append((losses, model, optimizer, run))
    return runs


def assert_same_training(eager, compiled):
    (l1, m1, o1, _), (l2, m2, o2, _) = eager, compiled
    assert all(same_bits(a, b) for a, b in zip(l1, l2))
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        assert same_bits(p.data, q.data) and same_bits(p.grad.data, q.grad.data)
    for p, q in zip(m1.parameters(), m2.parameters()):
        s1, s2 = o1.state[p], o2.state[q]
        assert list(s1) == list(s2)
        for k in s1:
            assert same_bits(s1[k], s2[k]), k


@pytest.mark.parametrize("name, settings", OPTIMIZERS, ids=lambda v: str(v))
def test_a_compiled_training_step_equals_the_eager_one_bit_for_bit(name, settings):
    eager, compiled = twin_runs(mlp, lambda ps: getattr(mg.optim, name)(ps, **settings), 1000)
    assert_same_training(eager, compiled)
    step = compiled[3]
    assert any(e.verified for e in step.recordings.values())  # it did replay
    assert eager[0][-1] < eager[0][0]  # and it trained


def cnn():
    g = mg.Generator(1)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, generator=g), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(3 * 3 * 3, 3, generator=g),
    )  # fmt: skip


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        mg.manual_seed(3)
        self.lstm, self.head = nn.LSTM(2, 6, num_layers=2), nn.Linear(6, 3)

    def forward(self, x):
        return self.head(self.lstm(x)[0][-1])


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        mg.manual_seed(4)
        self.embed = nn.Linear(2, 8)
        self.encoder = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(dim=0))


MODELS = {
    "CNN": (cnn, (4, 1, 6, 6)),
    "LSTM": (Recurrent, (5, 4, 2)),
    "transformer (dropout 0.1)": (TinyTransformer, (5, 4, 2)),
}


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("name, settings", [OPTIMIZERS[1], OPTIMIZERS[4]], ids=["SGD", "Adam"])
def test_a_thousand_steps_of_cnn_lstm_and_transformer_are_exact(kind, name, settings):
    make, shape = MODELS[kind]
    global X, Y
    saved = X, Y
    X = mg.tensor(rng.standard_normal(shape))
    Y = mg.tensor(rng.integers(0, 3, 4))
    mg.manual_seed(9)  # the transformer's dropout draws from the default generator
    try:
        runs = twin_runs(make, lambda ps: getattr(mg.optim, name)(ps, **settings), 1000,
                         loss_fn=F.cross_entropy)  # fmt: skip
    finally:
        X, Y = saved
    assert_same_training(*runs)


def test_gradients_accumulated_over_calls_without_zero_grad():
    w = nn.Parameter(np.array([1.0, -2.0]))

    def accumulate(x):
        loss = (w * x).sum() ** 2
        loss.backward()
        return loss

    compiled = mg.compile(accumulate)
    x = mg.tensor([0.5, 1.5])
    expected = np.zeros(2)
    for _ in range(5):
        expected += 2 * float((w.data * x.data).sum()) * x.data
        compiled(x)
        assert same_bits(w.grad.data, expected)


def test_a_parameter_frozen_or_given_a_new_array_is_seen():
    model = mlp()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)

    compiled = mg.compile(training_step_of(model, optimizer))
    for _ in range(3):
        compiled(X, Y)
    first = model[0].weight
    first.data = first.data.copy()  # a new array of the same form: read on replay
    before = first.data.copy()
    compiled(X, Y)
    assert not np.array_equal(first.data, before)  # the new array was updated
    first.requires_grad_(False)  # frozen: recorded again, and it no longer moves
    frozen = first.data.copy()
    compiled(X, Y), compiled(X, Y)
    assert np.array_equal(first.data, frozen)


def test_train_and_eval_modes_are_guarded():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    forward = mg.compile(lambda x: model(x).detach())
    x = mg.tensor(rng.standard_normal((8, 3)))
    with mg.no_grad():
        train_out = [forward(x) for _ in range(3)]
        model.eval()
        eval_out = forward(x)
        model.train()
        again = forward(x)
    expected = model[0](x).data
    mean, var = expected.mean(0), expected.var(0)
    assert np.allclose(train_out[0].data, (expected - mean) / np.sqrt(var + 1e-5))
    running = model[1].running_mean.data
    assert not np.allclose(eval_out.data, train_out[0].data)
    assert np.allclose(again.data, train_out[0].data)
    assert not np.allclose(running, 0)  # the running statistics were updated by the replays


def test_reading_the_loss_into_python_runs_eagerly():
    model = mlp()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    compiled = mg.compile(step)
    with pytest.warns(mg.CompileWarning, match=r"item\(\)"):
        first = compiled(X, Y)
    assert isinstance(first, float) and compiled(X, Y) < first


def test_check_mode_on_a_training_step():
    model = mlp()
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)

    compiled = mg.compile(training_step_of(model, optimizer), check=True)
    for _ in range(6):
        compiled(X, Y)  # each call replays and runs eagerly from the same state, and compares


def test_a_layer_replaced_or_added_and_a_parameter_group_added_are_seen():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = nn.Linear(2, 4), nn.Linear(4, 1)

        def forward(self, x):
            return self.out(self.hidden(x).tanh())

    model = Net()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    compiled = mg.compile(training_step_of(model, optimizer))
    for _ in range(3):
        compiled(X, Y)
    old = model.out.weight
    model.out = nn.Linear(4, 1)  # a new layer, its parameters not in the optimizer yet
    optimizer.add_param_group({"params": list(model.out.parameters())})
    new, before, frozen = model.out.weight, model.out.weight.data.copy(), old.data.copy()
    compiled(X, Y), compiled(X, Y)
    assert not np.array_equal(new.data, before)  # the new layer is trained
    assert np.array_equal(old.data, frozen)  # and the old one is not


def test_a_module_list_grown_between_calls_is_seen():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x).tanh()
            return x

    model = Stack()
    forward = mg.compile(lambda x: model(x).detach())
    x = mg.tensor(rng.standard_normal((3, 2)))
    with mg.no_grad():
        forward(x), forward(x)
        model.layers.append(nn.Linear(2, 2))
        assert same_bits(forward(x).data, model(x).data)


def test_dropout_in_training_replays_the_eager_randomness():
    runs = []
    for compiled in (False, True):
        mg.manual_seed(11)
        g = mg.Generator(2)
        model = nn.Sequential(nn.Linear(2, 16, generator=g), nn.ReLU(), nn.Dropout(0.25),
                              nn.Linear(16, 1, generator=g))  # fmt: skip
        step = training_step_of(model, mg.optim.Adam(model.parameters(), lr=0.01))
        run = mg.compile(step) if compiled else step
        runs.append(([run(X, Y).data.copy() for _ in range(25)], model))
    (l1, m1), (l2, m2) = runs
    assert all(same_bits(a, b) for a, b in zip(l1, l2))
    assert all(same_bits(p.data, q.data) for p, q in zip(m1.parameters(), m2.parameters()))


def test_a_training_step_runs_eagerly_three_times_then_only_replays():
    """The first call records (Adam's state is made there), the second records again (the
    state's entries changed: a guard), the third checks its replay against the eager step."""
    calls = []
    model = mlp()
    step = training_step_of(model, mg.optim.Adam(model.parameters(), lr=0.01))

    def counted(x, y):
        calls.append(1)
        return step(x, y)

    compiled = mg.compile(counted)
    for _ in range(20):
        compiled(X, Y)
    assert len(calls) == 3
    assert [e.verified for e in compiled.recordings.values()] == [True]
