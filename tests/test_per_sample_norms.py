"""nn.per_sample_grad_norms: each example's gradient norm, equal to the norms of
nn.per_sample_grads, from the Linear layers' inputs and output gradients (issue 22)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import per_sample

rng = np.random.default_rng(22)
F = nn.functional


def reference(model, loss_fn, x, y):
    """The total and per-parameter norms of the materialised per-sample gradients."""
    grads = nn.per_sample_grads(model, loss_fn, x, y)
    squared = {k: np.square(v.data).reshape(len(v.data), -1).sum(axis=1) for k, v in grads.items()}
    return np.sqrt(sum(squared.values())), {k: np.sqrt(v) for k, v in squared.items()}


def assert_norms_match(model, loss_fn, x, y):
    norms, per = nn.per_sample_grad_norms(model, loss_fn, x, y, per_parameter=True)
    total, per_ref = reference(model, loss_fn, x, y)
    assert norms.shape == (x.shape[0],)
    np.testing.assert_allclose(norms.data, total, rtol=1e-12, atol=0)
    assert per.keys() == per_ref.keys() == dict(model.named_parameters()).keys()
    for name in per:
        np.testing.assert_allclose(per[name].data, per_ref[name], rtol=1e-12, atol=1e-15)
    plain = nn.per_sample_grad_norms(model, loss_fn, x, y)
    np.testing.assert_array_equal(plain.data, norms.data)


@pytest.fixture
def linear_only(monkeypatch):
    """Fail if any parameter falls back to vmap(grad)."""

    def refuse(*args, **kwargs):
        raise AssertionError("fell back to vmap(grad)")

    monkeypatch.setattr(per_sample, "_vmapped_grads", refuse)


def test_an_mlp_needs_no_vmap_and_accumulates_no_grad(linear_only, monkeypatch):
    model = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    x, y = mg.tensor(rng.standard_normal((9, 7))), mg.tensor(rng.integers(0, 3, 9))
    norms = nn.per_sample_grad_norms(model, F.cross_entropy, x, y)
    for p in model.parameters():
        assert p.grad is None  # nothing accumulated
    monkeypatch.undo()  # the reference needs vmap
    np.testing.assert_allclose(norms.data, reference(model, F.cross_entropy, x, y)[0], rtol=1e-12)


def test_mlp_norms_equal_per_sample_grads_norms():
    model = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    x, y = mg.tensor(rng.standard_normal((9, 7))), mg.tensor(rng.integers(0, 3, 9))
    assert_norms_match(model, F.cross_entropy, x, y)
    # a Linear without bias, a regression loss
    model = nn.Sequential(nn.Linear(4, 8, bias=False), nn.Sigmoid(), nn.Linear(8, 2))
    x, y = mg.tensor(rng.standard_normal((5, 4))), mg.tensor(rng.standard_normal((5, 2)))
    assert_norms_match(model, F.mse_loss, x, y)


def test_single_linear_closed_form():
    # loss 0.5 ||W x_i + b - y_i||^2: g_i = r_i, dW_i = r_i x_i^T, db_i = r_i
    layer = nn.Linear(3, 2)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    r = x @ layer.weight.data.T + layer.bias.data - y
    expected = np.sqrt((np.sum(x * x, 1) + 1) * np.sum(r * r, 1))

    def half_squared_error(out, target):
        return 0.5 * ((out - target) ** 2).sum()

    norms = nn.per_sample_grad_norms(layer, half_squared_error, mg.tensor(x), mg.tensor(y))
    np.testing.assert_allclose(norms.data, expected, rtol=1e-13)


class Sequence(nn.Module):
    """Linear layers over a sequence (B, T, d), one of them called twice."""

    def __init__(self, d_in, d_hidden, shared_twice=True):
        super().__init__()
        self.inp = nn.Linear(d_in, d_hidden)
        self.mix = nn.Linear(d_hidden, d_hidden)
        self.out = nn.Linear(d_hidden, 2)
        self.shared_twice = shared_twice

    def forward(self, x):
        h = mg.tanh(self.inp(x))
        h = mg.tanh(self.mix(h))
        if self.shared_twice:
            h = mg.tanh(self.mix(h))
        return self.out(h.mean(dim=1))


def test_sequence_inputs_and_a_layer_called_twice_need_no_vmap(linear_only, monkeypatch):
    model = Sequence(3, 4)
    x, y = mg.tensor(rng.standard_normal((5, 6, 3))), mg.tensor(rng.integers(0, 2, 5))
    norms = nn.per_sample_grad_norms(model, F.cross_entropy, x, y)
    monkeypatch.undo()
    np.testing.assert_allclose(norms.data, reference(model, F.cross_entropy, x, y)[0], rtol=1e-12)


@pytest.mark.parametrize("d_in, d_hidden", [(3, 4), (40, 30)])  # Gram route; dW route
def test_sequence_norms_equal_per_sample_grads_norms(d_in, d_hidden):
    for twice in (False, True):
        model = Sequence(d_in, d_hidden, shared_twice=twice)
        x, y = mg.tensor(rng.standard_normal((5, 6, d_in))), mg.tensor(rng.integers(0, 2, 5))
        assert_norms_match(model, F.cross_entropy, x, y)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.norm = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        h = mg.relu(self.conv(x)).flatten(1)  # (B, 2*2*2)
        return self.fc(self.norm(h))


def test_linear_mixed_with_layers_that_fall_back():
    model = ConvNet()
    x, y = mg.tensor(rng.standard_normal((4, 1, 4, 4))), mg.tensor(rng.integers(0, 3, 4))
    assert_norms_match(model, F.cross_entropy, x, y)


def test_vmap_only_for_the_parameters_without_the_identity(monkeypatch):
    asked = []
    vmapped = per_sample._vmapped_grads

    def spy(model, loss_fn, inputs, targets, names, chunk_size):
        asked.append(list(names))
        return vmapped(model, loss_fn, inputs, targets, names, chunk_size)

    monkeypatch.setattr(per_sample, "_vmapped_grads", spy)
    model = ConvNet()
    x, y = mg.tensor(rng.standard_normal((4, 1, 4, 4))), mg.tensor(rng.integers(0, 3, 4))
    nn.per_sample_grad_norms(model, F.cross_entropy, x, y)
    assert asked == [["conv.weight", "conv.bias", "norm.weight", "norm.bias"]]


def test_tied_weights_fall_back_and_equal_single_example_passes():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.b.weight = self.a.weight  # one parameter, two layers: the identity of one
            # layer would miss the cross term between them

        def forward(self, x):
            return self.b(mg.tanh(self.a(x)))

    model = Tied()
    x, y = mg.tensor(rng.standard_normal((5, 4))), mg.tensor(rng.standard_normal((5, 4)))
    norms = nn.per_sample_grad_norms(model, F.mse_loss, x, y)
    params = list(model.parameters())
    for i in range(5):
        loss = F.mse_loss(model(x[i : i + 1]), y[i : i + 1])
        grads = mg.autograd.grad(loss, params)
        expected = np.sqrt(sum(np.sum(g.data**2) for g in grads))
        np.testing.assert_allclose(norms.data[i], expected, rtol=1e-12)


def test_batch_norm_in_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Linear(5, 1))
    x, y = mg.tensor(rng.standard_normal((6, 4))), mg.tensor(rng.standard_normal((6, 1)))
    with pytest.raises(mg.BatchingError, match=r"per_sample_grad_norms: 1 is a BatchNorm1d in "
                       r"training mode.*eval"):  # fmt: skip
        nn.per_sample_grad_norms(model, F.mse_loss, x, y)
    model.eval()
    assert_norms_match(model, F.mse_loss, x, y)


def test_a_linear_not_batched_on_its_first_axis_falls_back():
    class RowsOfAllExamples(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):  # (B, T, 3) -> one batch of B*T rows: axis 0 is not the examples
            return self.fc(x.reshape(-1, 3)).reshape(x.shape[0], -1)

    model = RowsOfAllExamples()
    x, y = mg.tensor(rng.standard_normal((4, 5, 3))), mg.tensor(rng.standard_normal((4, 10)))
    assert_norms_match(model, F.mse_loss, x, y)


def test_inputs_that_require_grad_get_no_gradient():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    y = mg.tensor(rng.standard_normal((5, 2)))
    assert_norms_match(model, F.mse_loss, x, y)
    assert x.grad is None
