"""nn.per_sample_grad_norms: each example's gradient norm, equal to the norms of
nn.per_sample_grads and of single-example backward passes, from the inputs and output gradients
of Linear, Conv1d/Conv2d, Embedding and LayerNorm layers, vmap(grad) for the rest (issue 22)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import per_sample_norms

rng = np.random.default_rng(22)
F = nn.functional


def vmap_norms(model, loss_fn, x, y):
    """The total and per-parameter norms of the materialised per-sample gradients."""
    grads = nn.per_sample_grads(model, loss_fn, x, y)
    squared = {k: np.square(v.data).reshape(len(v.data), -1).sum(axis=1) for k, v in grads.items()}
    return np.sqrt(sum(squared.values())), {k: np.sqrt(v) for k, v in squared.items()}


def loop_norms(model, loss_fn, x, y):
    """The total and per-parameter norms of B single-example backward passes."""
    names, params = zip(*model.named_parameters(), strict=True)
    squared = {name: np.empty(len(x)) for name in names}
    for i in range(len(x)):
        grads = mg.autograd.grad(loss_fn(model(x[i : i + 1]), y[i : i + 1]), list(params))
        for name, g in zip(names, grads, strict=True):
            squared[name][i] = np.sum(g.data**2)
    return np.sqrt(sum(squared.values())), {k: np.sqrt(v) for k, v in squared.items()}


def refuse(*args, **kwargs):
    raise AssertionError("fell back to vmap(grad)")


def assert_norms_match(model, loss_fn, x, y, identities_only=False, against=(vmap_norms, loop_norms)):  # fmt: skip
    """The norms (total, per parameter, and without ``per_parameter``) equal each reference's to
    1e-10; with ``identities_only``, computed with the vmap fallback made to raise."""
    with pytest.MonkeyPatch.context() as patch:
        if identities_only:
            patch.setattr(per_sample_norms, "vmapped_grads", refuse)
        norms, per = nn.per_sample_grad_norms(model, loss_fn, x, y, per_parameter=True)
        plain = nn.per_sample_grad_norms(model, loss_fn, x, y)
    assert norms.shape == (x.shape[0],)
    np.testing.assert_array_equal(plain.data, norms.data)
    assert per.keys() == dict(model.named_parameters()).keys()
    for reference in against:
        total, per_ref = reference(model, loss_fn, x, y)
        message = reference.__name__
        np.testing.assert_allclose(norms.data, total, rtol=1e-10, atol=0, err_msg=message)
        for name in per:
            np.testing.assert_allclose(per[name].data, per_ref[name], rtol=1e-10, atol=1e-14,
                                       err_msg=f"{message}: {name}")  # fmt: skip


def labels(n, classes=3):
    return mg.tensor(rng.integers(0, classes, n))


# ----- Linear ------------------------------------------------------------------------------------


def test_an_mlp_needs_no_vmap_and_accumulates_no_grad():
    model = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    x, y = mg.tensor(rng.standard_normal((9, 7))), labels(9)
    assert_norms_match(model, F.cross_entropy, x, y, identities_only=True, against=[vmap_norms])
    for p in model.parameters():
        assert p.grad is None  # nothing accumulated
    # a Linear without bias, a regression loss
    model = nn.Sequential(nn.Linear(4, 8, bias=False), nn.Sigmoid(), nn.Linear(8, 2))
    x, y = mg.tensor(rng.standard_normal((5, 4))), mg.tensor(rng.standard_normal((5, 2)))
    assert_norms_match(model, F.mse_loss, x, y, identities_only=True)


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


@pytest.mark.parametrize("d_in, d_hidden", [(3, 4), (40, 30)])  # dW route; Gram route (inp)
def test_sequences_and_a_layer_called_twice(d_in, d_hidden):
    for twice in (False, True):
        model = Sequence(d_in, d_hidden, shared_twice=twice)
        x, y = mg.tensor(rng.standard_normal((5, 6, d_in))), labels(5, 2)
        assert_norms_match(model, F.cross_entropy, x, y, identities_only=True)


@pytest.mark.parametrize("rows, d_in, d_out, groups", [
    (1, 5, 3, 1), (1, 4, 2, 3),  # ||x|| ||g||
    (2, 9, 8, 1), (3, 8, 6, 2),  # Gram matrices
    (7, 3, 2, 1), (9, 4, 3, 2),  # the gradients
])  # fmt: skip
def test_weight_norms_are_the_norms_of_the_gradients(rows, d_in, d_out, groups):
    x = rng.standard_normal((4, groups, rows, d_in))
    g = rng.standard_normal((4, groups, rows, d_out))
    explicit = [sum(np.sum((g[i, k].T @ x[i, k]) ** 2) for k in range(groups)) for i in range(4)]
    np.testing.assert_allclose(per_sample_norms.weight_norms(x, g), explicit, rtol=1e-12)


# ----- Conv1d / Conv2d ---------------------------------------------------------------------------


def conv_model(conv, x, classes=3):
    """``conv`` -> tanh -> flatten -> Linear to ``classes`` logits, sized for ``x``."""
    features = conv(x).reshape(len(x), -1).shape[1]
    return nn.Sequential(conv, nn.Tanh(), nn.Flatten(), nn.Linear(features, classes))


CONV2D_CASES = {
    # name: (in, out, kernel, keywords, image size); the route weight_norms takes in brackets
    "plain [dW]": (1, 3, 3, dict(), 6),
    "stride, padding, groups [dW]": (4, 6, 3, dict(stride=2, padding=1, groups=2), 7),
    "dilation, no bias [Gram]": (8, 16, 3, dict(padding=1, dilation=2, bias=False), 5),
    "rectangular kernel, same, reflect [dW]": (
        6, 12, (2, 3), dict(padding="same", groups=3, padding_mode="reflect"), 4
    ),
    "circular, groups [Gram]": (
        16, 32, 3, dict(stride=2, padding=1, groups=2, padding_mode="circular"), 5
    ),
    "depthwise, replicate [dW]": (4, 4, 3, dict(padding=1, groups=4, padding_mode="replicate"), 5),
}  # fmt: skip


@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_norms(case):
    c_in, c_out, kernel, keywords, size = CONV2D_CASES[case]
    x = mg.tensor(rng.standard_normal((5, c_in, size, size)))
    model = conv_model(nn.Conv2d(c_in, c_out, kernel, **keywords), x)
    assert_norms_match(model, F.cross_entropy, x, labels(5), identities_only=True)


@pytest.mark.parametrize("keywords", [
    dict(stride=2, padding=1),
    dict(dilation=2, groups=2, bias=False, padding=2, padding_mode="circular"),
])  # fmt: skip
def test_conv1d_norms(keywords):
    x = mg.tensor(rng.standard_normal((5, 4, 9)))
    model = conv_model(nn.Conv1d(4, 6, 3, **keywords), x)
    assert_norms_match(model, F.cross_entropy, x, labels(5), identities_only=True)


class TwiceConvolved(nn.Module):
    """One Conv2d called twice, on images of two sizes (its patches of both calls sum)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        h = mg.tanh(self.conv(x)).mean(dim=(2, 3))
        small = mg.tanh(self.conv(x[:, :, ::2, ::2])).mean(dim=(2, 3))
        return self.fc(mg.cat([h, small], dim=1))


def test_a_conv_called_twice():
    x = mg.tensor(rng.standard_normal((4, 3, 6, 6)))
    assert_norms_match(TwiceConvolved(), F.cross_entropy, x, labels(4, 2), identities_only=True)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2)
        self.norm = nn.LayerNorm(8 * 2 * 2)
        self.fc = nn.Linear(8 * 2 * 2, 3)

    def forward(self, x):  # x (B, 1, 8, 8)
        h = F.max_pool2d(mg.relu(self.conv1(x)), 2)  # (B, 4, 4, 4)
        h = mg.relu(self.conv2(h))  # (B, 8, 2, 2)
        return self.fc(self.norm(h.flatten(1)))


def test_a_small_cnn_needs_no_vmap():
    x = mg.tensor(rng.standard_normal((6, 1, 8, 8)))
    assert_norms_match(SmallCNN(), F.cross_entropy, x, labels(6), identities_only=True)


def test_float32_norms_stay_float32(float32_default):
    model = SmallCNN()
    x, y = mg.tensor(rng.standard_normal((4, 1, 8, 8)).astype(np.float32)), labels(4)
    norms = nn.per_sample_grad_norms(model, F.cross_entropy, x, y)
    assert norms.dtype == mg.float32
    model.double()  # the same parameters, widened
    expected = nn.per_sample_grad_norms(model, F.cross_entropy, x.double(), y)
    assert expected.dtype == mg.float64
    np.testing.assert_allclose(norms.data, expected.data, rtol=1e-4)


# ----- Embedding ---------------------------------------------------------------------------------

EMBEDDING_CASES = {
    # name: (table size, padding_idx, index shape)
    "repeated indices": (4, None, (6, 7)),
    "padding_idx": (5, 0, (6, 7)),
    "negative padding_idx": (5, -1, (6, 3, 2)),
    "one index per example": (3, None, (6,)),
}


def embedding_model(case):
    vocabulary, padding_idx, shape = EMBEDDING_CASES[case]
    positions = int(np.prod(shape[1:]))
    model = nn.Sequential(nn.Embedding(vocabulary, 4, padding_idx=padding_idx), nn.Flatten(),
                          nn.Tanh(), nn.Linear(4 * positions, 3))  # fmt: skip
    idx = rng.integers(0, vocabulary, shape)
    if padding_idx is not None:
        idx[0] = padding_idx % vocabulary  # one example of padding only: no gradient at all
    return model, mg.tensor(idx)


@pytest.mark.parametrize("case", EMBEDDING_CASES)
def test_embedding_norms(case):
    model, idx = embedding_model(case)
    y = labels(len(idx))
    assert_norms_match(model, F.cross_entropy, idx, y, identities_only=True)
    if model[0].padding_idx is not None:
        _, per = nn.per_sample_grad_norms(model, F.cross_entropy, idx, y, per_parameter=True)
        assert per["0.weight"].data[0] == 0


def test_embedding_norms_closed_form():
    # loss sum_t w_t . E[idx_t]: g_t = w_t, so dE_i's row v is the sum of w_t where idx_it = v
    table = nn.Embedding(4, 2, padding_idx=3)
    w = rng.standard_normal((5, 2))
    idx = np.array([[0, 1, 0, 3, 0], [2, 2, 2, 2, 2], [3, 3, 3, 3, 3], [1, 3, 1, 0, 2]])

    def weighted(out, target):
        return (out * mg.tensor(w)).sum()

    norms = nn.per_sample_grad_norms(table, weighted, mg.tensor(idx), mg.zeros(4))
    expected = [np.sqrt(sum(np.sum(w[row == v].sum(axis=0) ** 2) for v in range(3))) for row in idx]
    np.testing.assert_allclose(norms.data, expected, rtol=1e-13)
    assert norms.data[2] == 0  # padding only


class TextModel(nn.Module):
    """Embedding -> LayerNorm -> Linear over a sequence, the table also read a second time."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(6, 5, padding_idx=0)
        self.norm = nn.LayerNorm(5)
        self.mix = nn.Linear(5, 5)
        self.out = nn.Linear(5, 2)

    def forward(self, idx):
        h = self.norm(self.embed(idx))  # (B, T, 5)
        h = mg.tanh(self.mix(h)) + self.embed(idx[:, :2]).mean(dim=1, keepdim=True)
        return self.out(h.mean(dim=1))


def test_embedding_layer_norm_linear_need_no_vmap():
    idx = mg.tensor(rng.integers(0, 6, (5, 8)))
    assert_norms_match(TextModel(), F.cross_entropy, idx, labels(5, 2), identities_only=True)


# ----- LayerNorm ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, normalized, keywords", [
    ((6, 5), 5, dict()),  # (B, D)
    ((6, 4, 5), 5, dict(eps=0.3)),  # (B, T, D): its rows sum
    ((6, 4, 5), (4, 5), dict(bias=False)),  # two normalised axes, the weight only
])  # fmt: skip
def test_layer_norm_norms(shape, normalized, keywords):
    norm = nn.LayerNorm(normalized, **keywords)
    with mg.no_grad():  # away from ones and zeros, so the weight matters to the input's gradient
        norm.weight.copy_(mg.tensor(rng.uniform(0.5, 1.5, norm.weight.shape)))
        if norm.bias is not None:
            norm.bias.copy_(mg.tensor(rng.standard_normal(norm.bias.shape)))
    features = int(np.prod(shape[1:]))
    first = nn.Linear(shape[-1], shape[-1])
    model = nn.Sequential(first, norm, nn.Tanh(), nn.Flatten(), nn.Linear(features, 3))
    x = mg.tensor(rng.standard_normal(shape))
    assert_norms_match(model, F.cross_entropy, x, labels(shape[0]), identities_only=True)
    # first in the model, on the input itself (its output a leaf of the backward)
    model = nn.Sequential(norm, nn.Flatten(), nn.Linear(features, 3))
    assert_norms_match(model, F.cross_entropy, x, labels(shape[0]), identities_only=True)


def test_layer_norm_without_parameters():
    model = nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5, elementwise_affine=False),
                          nn.Linear(5, 2))  # fmt: skip
    x = mg.tensor(rng.standard_normal((5, 4)))
    assert_norms_match(model, F.cross_entropy, x, labels(5, 2), identities_only=True)


# ----- the vmap fallback -------------------------------------------------------------------------


class WithGroupNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.norm = nn.GroupNorm(2, 4)  # no identity here: vmap
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc(mg.relu(self.norm(self.conv(x))).flatten(1))


def spy_on_vmap(monkeypatch):
    """The names each fallback to vmap(grad) was asked for, in a list that fills as they come."""
    asked, vmapped = [], per_sample_norms.vmapped_grads

    def spy(model, loss_fn, inputs, targets, names, chunk_size):
        asked.append(list(names))
        return vmapped(model, loss_fn, inputs, targets, names, chunk_size)

    monkeypatch.setattr(per_sample_norms, "vmapped_grads", spy)
    return asked


def test_vmap_only_for_the_parameters_without_an_identity(monkeypatch):
    asked = spy_on_vmap(monkeypatch)
    x = mg.tensor(rng.standard_normal((4, 1, 4, 4)))
    assert_norms_match(WithGroupNorm(), F.cross_entropy, x, labels(4))
    assert asked == [["norm.weight", "norm.bias"]] * 2  # (with and without per_parameter)


class OwnForward(nn.Conv2d):
    def forward(self, x):  # not the convolution the identity knows
        return super().forward(x) ** 2


class PerImage(nn.Module):
    """A Conv2d called on each image alone: its input's first axis is not the batch."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.fc = nn.Linear(12, 2)

    def forward(self, x):
        h = mg.stack([self.conv(image) for image in x])
        return self.fc(mg.tanh(h).flatten(1))


class TiedConvs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(2, 2, 3, padding=1)
        self.b = nn.Conv2d(2, 2, 3, padding=1)
        self.b.weight = self.a.weight  # one parameter, two layers: the identity of one
        # layer would miss the cross term between them

    def forward(self, x):
        return self.b(mg.tanh(self.a(x))).flatten(1)


@pytest.mark.parametrize("make, shape, fallback", [
    (lambda: nn.Sequential(OwnForward(2, 3, 2), nn.Flatten()), (4, 2, 3, 3),
     ["0.weight", "0.bias"]),
    (PerImage, (4, 2, 4, 4), ["conv.weight", "conv.bias"]),
    (TiedConvs, (4, 2, 3, 3), ["a.weight", "a.bias", "b.bias"]),
])  # fmt: skip
def test_layers_the_identity_cannot_see_fall_back(monkeypatch, make, shape, fallback):
    asked = spy_on_vmap(monkeypatch)
    model = make()
    x = mg.tensor(rng.standard_normal(shape))
    y = mg.tensor(rng.standard_normal(model(x).shape))
    assert_norms_match(model, F.mse_loss, x, y)
    assert asked[0] == fallback


class TiedEmbedding(nn.Module):
    """A language model's tied table: the Embedding's weight is the output layer's too."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(6, 4)
        self.norm = nn.LayerNorm(4)
        self.out = nn.Linear(4, 6, bias=False)
        self.out.weight = self.embed.weight

    def forward(self, idx):
        return self.out(self.norm(self.embed(idx)).mean(dim=1))


def test_a_tied_embedding_falls_back(monkeypatch):
    asked = spy_on_vmap(monkeypatch)
    idx = mg.tensor(rng.integers(0, 6, (5, 7)))
    assert_norms_match(TiedEmbedding(), F.cross_entropy, idx, labels(5, 6))
    assert asked[0] == ["embed.weight"]  # the LayerNorm's from its identity


def test_batch_norm_in_training_mode_is_refused():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 1))
    x, y = mg.tensor(rng.standard_normal((6, 1, 4, 4))), mg.tensor(rng.standard_normal((6, 1)))
    with pytest.raises(mg.BatchingError, match=r"per_sample_grad_norms: 1 is a BatchNorm2d in "
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
    model = nn.Sequential(nn.Conv2d(2, 3, 2), nn.Tanh(), nn.Flatten(), nn.Linear(12, 2))
    x = mg.tensor(rng.standard_normal((5, 2, 3, 3)), requires_grad=True)
    y = mg.tensor(rng.standard_normal((5, 2)))
    assert_norms_match(model, F.mse_loss, x, y, identities_only=True)
    assert x.grad is None
