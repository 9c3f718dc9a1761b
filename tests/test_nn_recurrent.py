"""nn.RNN, nn.LSTM, nn.GRU and their cells: every combination of num_layers, bias, batch_first,
bidirectional, proj_size, initial states and unbatched input against PyTorch's equations written
step by step in numpy; dropout between layers; initialisation; errors that name the layer."""

import itertools
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import DTypeError, OpError, ShapeError


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def reference_step(kind, x, state, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One step of PyTorch's equations, as its documentation writes them."""
    gi, gh = x @ w_ih.T + b_ih, state[0] @ w_hh.T + b_hh
    if kind == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = sigmoid(f) * state[1] + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return (h if w_hr is None else h @ w_hr.T), c
    if kind == "GRU":
        (i_r, i_z, i_n), (h_r, h_z, h_n) = np.split(gi, 3, -1), np.split(gh, 3, -1)
        r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
        n = np.tanh(i_n + r * h_n)
        return ((1 - z) * n + z * state[0],)
    return ((np.tanh if kind == "RNN_TANH" else lambda v: np.maximum(v, 0))(gi + gh),)


def reference(kind, layer, x, hx):
    """The layer's output and final states from its state_dict, one step at a time."""
    p = {k: v.data for k, v in layer.state_dict().items()}
    batched = x.ndim == 3
    x = (x.swapaxes(0, 1) if layer.batch_first else x) if batched else x[:, None]
    D, H = 2 if layer.bidirectional else 1, layer.hidden_size
    out_size, N = layer.proj_size or H, x.shape[1]
    states = [np.zeros((layer.num_layers * D, N, out_size))]
    if kind == "LSTM":
        states.append(np.zeros((layer.num_layers * D, N, H)))
    if hx is not None:
        states = [s if batched else s[:, None] for s in (hx if kind == "LSTM" else (hx,))]
    finals = [[] for _ in states]
    for layer_index in range(layer.num_layers):
        outputs = []
        for d in range(D):
            k, name = layer_index * D + d, f"_l{layer_index}" + ("_reverse" if d else "")
            zero = np.zeros(p["weight_ih" + name].shape[0])
            weights = [p["weight_ih" + name], p["weight_hh" + name], p.get("bias_ih" + name, zero),
                       p.get("bias_hh" + name, zero), p.get("weight_hr" + name)]  # fmt: skip
            state, out = tuple(s[k] for s in states), [None] * len(x)
            for t in reversed(range(len(x))) if d else range(len(x)):
                state = reference_step(kind, x[t], state, *weights)
                out[t] = state[0]
            outputs.append(np.stack(out))
            for final, s in zip(finals, state):
                final.append(s)
        x = np.concatenate(outputs, axis=-1)
    x = (x.swapaxes(0, 1) if layer.batch_first else x) if batched else x[:, 0]
    finals = [np.stack(f) if batched else np.stack(f)[:, 0] for f in finals]
    return x, finals


KINDS = {"RNN_TANH": (nn.RNN, {}), "RNN_RELU": (nn.RNN, {"nonlinearity": "relu"}),
         "LSTM": (nn.LSTM, {}), "GRU": (nn.GRU, {})}  # fmt: skip
COMBINATIONS = [
    (kind, dict(num_layers=L, bias=bias, batch_first=bf, bidirectional=bi), unbatched, given)
    for kind in KINDS
    for L, bias, bf, bi, unbatched, given in itertools.product([1, 2], *[[False, True]] * 5)
] + [
    ("LSTM", dict(num_layers=L, bidirectional=bi, proj_size=2), unbatched, given)
    for L, bi, unbatched, given in itertools.product([1, 2], *[[False, True]] * 3)
]


def make(kind, **kwargs):
    cls, extra = KINDS[kind]
    return cls(3, 4, **extra, **kwargs)


@pytest.mark.parametrize("kind, kwargs, unbatched, given", COMBINATIONS, ids=str)
def test_layer_follows_pytorchs_equations(kind, kwargs, unbatched, given):
    rng = np.random.default_rng(0)
    layer = make(kind, **kwargs)
    T, N = 5, 2
    shape = (T, 3) if unbatched else ((N, T, 3) if layer.batch_first else (T, N, 3))
    x = rng.standard_normal(shape)
    count = layer.num_layers * (2 if layer.bidirectional else 1)
    lead = (count,) if unbatched else (count, N)
    hx = None
    if given:
        h = rng.standard_normal(lead + (layer.proj_size or 4,))
        hx = (h, rng.standard_normal(lead + (4,))) if kind == "LSTM" else h
    output, final = layer(
        mg.tensor(x), hx if hx is None or kind != "LSTM" else tuple(map(mg.tensor, hx))
    )
    expected_output, expected_finals = reference(kind, layer, x, hx)
    np.testing.assert_allclose(output.data, expected_output, rtol=1e-10, atol=1e-12)
    finals = final if kind == "LSTM" else (final,)
    for got, expected in zip(finals, expected_finals, strict=True):
        np.testing.assert_allclose(got.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN_TANH", "LSTM", "GRU"])
def test_cells_follow_pytorchs_equations(kind):
    rng = np.random.default_rng(1)
    cls = {"RNN_TANH": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}[kind]
    cell = cls(3, 4)
    p = [cell.weight_ih.data, cell.weight_hh.data, cell.bias_ih.data, cell.bias_hh.data]
    for batch in [(2,), ()]:
        x = rng.standard_normal(batch + (3,))
        state = tuple(rng.standard_normal(batch + (4,)) for _ in range(2 if kind == "LSTM" else 1))
        got = cell(
            mg.tensor(x), tuple(map(mg.tensor, state)) if kind == "LSTM" else mg.tensor(state[0])
        )
        got = got if kind == "LSTM" else (got,)
        for g, e in zip(got, reference_step(kind, x, state, *p), strict=True):
            assert g.shape == batch + (4,)
            np.testing.assert_allclose(g.data, e, rtol=1e-12)
        zero_state = tuple(np.zeros(batch + (4,)) for _ in state)  # hx=None means zeros
        got = cell(mg.tensor(x))
        for g, e in zip(got if kind == "LSTM" else (got,), reference_step(kind, x, zero_state, *p)):
            np.testing.assert_allclose(g.data, e, rtol=1e-12)


@pytest.mark.parametrize("kind", ["RNN_TANH", "LSTM", "GRU"])
def test_gradients_match_finite_differences(kind):
    """Through inputs, initial states and (check_module) every parameter, in a 2-layer
    bidirectional layer."""
    rng = np.random.default_rng(2)
    layer = make(kind, num_layers=2, bidirectional=True)
    x, h_0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 4))

    def outputs(x, h_0):
        hx = (h_0, h_0 * 0.5) if kind == "LSTM" else h_0
        output, final = layer(x, hx)
        return mg.cat([output.reshape(-1), (final[0] if kind == "LSTM" else final).reshape(-1)])

    assert mg.gradcheck(outputs, x, h_0)
    target = rng.standard_normal((4, 2, 8))
    report = nn.check_module(layer, lambda out, t: ((out[0] - t) ** 2).sum(), x, target)
    assert report, report


def test_dropout_applies_between_layers_in_training_only():
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal((5, 2, 3)))
    layer = nn.LSTM(3, 4, num_layers=2, dropout=1.0)  # every input of layer 2 is zeroed
    single = nn.LSTM(4, 4)  # layer 2 alone
    single.load_state_dict(
        {k.replace("l1", "l0"): v for k, v in layer.state_dict().items() if "l1" in k}
    )
    out, (h_n, c_n) = layer(x)
    expected = single(mg.zeros(5, 2, 4))[0]
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-12)
    first = nn.LSTM(3, 4)  # layer 1's own output and state are untouched by dropout
    first.load_state_dict({k: v for k, v in layer.state_dict().items() if "l0" in k})
    np.testing.assert_allclose(h_n[0].data, first(x)[1][0][0].data, rtol=1e-12)
    layer.eval()
    np.testing.assert_allclose(
        layer(x)[0].data, reference("LSTM", layer, x.data, None)[0], rtol=1e-10
    )


def test_dropout_masks_come_from_the_seeded_generator():
    x = mg.tensor(np.random.default_rng(4).standard_normal((5, 2, 3)))
    layer = nn.GRU(3, 4, num_layers=3, dropout=0.5)
    mg.manual_seed(7)
    first = layer(x)[0].data
    mg.manual_seed(7)
    np.testing.assert_array_equal(layer(x)[0].data, first)
    assert not np.allclose(layer.eval()(x)[0].data, first)


def test_initialisation_is_pytorchs_uniform():
    layer = nn.LSTM(
        3, 16, num_layers=2, bidirectional=True, generator=mg.Generator().manual_seed(0)
    )
    bound = 1 / np.sqrt(16)
    for name, p in layer.named_parameters():
        assert np.abs(p.data).max() <= bound, name
        assert np.abs(p.data).max() > 0.8 * bound, name  # spread over the interval
    again = nn.LSTM(
        3, 16, num_layers=2, bidirectional=True, generator=mg.Generator().manual_seed(0)
    )
    for (name, p), (_, q) in zip(layer.named_parameters(), again.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_parameters_take_the_default_dtype(float32_default):
    for module in (nn.LSTM(3, 4), nn.GRUCell(3, 4)):
        assert {p.dtype for p in module.parameters()} == {np.dtype(np.float32)}
    out, (h, c) = nn.LSTM(3, 4)(mg.randn(5, 2, 3))
    assert out.dtype == h.dtype == c.dtype == np.float32


def test_repr_is_pytorchs():
    assert repr(nn.LSTM(3, 4, num_layers=2)) == "LSTM(3, 4, num_layers=2)"
    layer = nn.LSTM(
        3, 4, 2, bias=False, batch_first=True, dropout=0.1, bidirectional=True, proj_size=2
    )
    assert repr(layer) == ("LSTM(3, 4, proj_size=2, num_layers=2, bias=False, batch_first=True, "
                           "dropout=0.1, bidirectional=True)")  # fmt: skip
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4)"  # PyTorch leaves it out
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity=relu)"
    assert repr(nn.GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"


def test_all_weights_and_flatten_parameters():
    layer = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    assert [len(w) for w in layer.all_weights] == [4] * 4
    assert layer.all_weights[1][0] is layer.weight_ih_l0_reverse
    assert layer.flatten_parameters() is None  # PyTorch code calls it; nothing to do


# ----- errors ------------------------------------------------------------------------------------


def test_wrong_input_size_names_the_layer_and_shapes():
    with pytest.raises(ShapeError, match=r"LSTM\(3, 4\): got input of shape \(5, 2, 7\).*size 3"):
        nn.LSTM(3, 4)(mg.zeros(5, 2, 7))
    with pytest.raises(
        ShapeError, match=r"GRU\(3, 4\).*3-D \(sequence, batch, input_size\).*\(5, 2, 3, 1\)"
    ):
        nn.GRU(3, 4)(mg.zeros(5, 2, 3, 1))
    with pytest.raises(ShapeError, match=r"RNN\(3, 4\).*shape \(0, 2, 3\).*empty"):
        nn.RNN(3, 4)(mg.zeros(0, 2, 3))


def test_wrong_state_shapes_name_the_state_and_the_expected_shape():
    layer, x = nn.LSTM(3, 4, num_layers=2), mg.zeros(5, 2, 3)
    with pytest.raises(
        ShapeError,
        match=r"LSTM\(3, 4, num_layers=2\): h_0 has shape \(1, 2, 4\); expected \(2, 2, 4\)",
    ):
        layer(x, (mg.zeros(1, 2, 4), mg.zeros(2, 2, 4)))
    with pytest.raises(ShapeError, match=r"c_0 has shape \(2, 2, 5\); expected \(2, 2, 4\)"):
        layer(x, (mg.zeros(2, 2, 4), mg.zeros(2, 2, 5)))
    with pytest.raises(
        ShapeError, match=r"h_0 has shape \(2, 1, 4\); expected \(2, 4\).*one sequence"
    ):
        layer(mg.zeros(5, 3), (mg.zeros(2, 1, 4), mg.zeros(2, 1, 4)))
    with pytest.raises(
        ShapeError, match=r"h_0 has shape \(1, 2, 4\); expected \(1, 2, 2\).*proj_size"
    ):
        nn.LSTM(3, 4, proj_size=2)(x, (mg.zeros(1, 2, 4), mg.zeros(1, 2, 4)))
    with pytest.raises(
        OpError, match=r"LSTM\(3, 4, num_layers=2\): hx must be a tuple \(h_0, c_0\)"
    ):
        layer(x, mg.zeros(2, 2, 4))
    with pytest.raises(OpError, match=r"GRU\(3, 4\): hx must be one Tensor h_0"):
        nn.GRU(3, 4)(x, (mg.zeros(1, 2, 4), mg.zeros(1, 2, 4)))


def test_cell_errors_name_the_cell_and_shapes():
    with pytest.raises(
        ShapeError, match=r"LSTMCell\(3, 4\): got input of shape \(2, 5\).*input_size=3"
    ):
        nn.LSTMCell(3, 4)(mg.zeros(2, 5))
    with pytest.raises(
        ShapeError, match=r"GRUCell\(3, 4\): hx has shape \(3, 4\); expected \(2, 4\)"
    ):
        nn.GRUCell(3, 4)(mg.zeros(2, 3), mg.zeros(3, 4))
    with pytest.raises(ShapeError, match=r"RNNCell\(3, 4\): expected input to be 1-D.*\(1, 2, 3\)"):
        nn.RNNCell(3, 4)(mg.zeros(1, 2, 3))
    with pytest.raises(
        ShapeError, match=r"LSTMCell\(3, 4\): c_0 has shape \(2, 4\); expected \(4,\)"
    ):
        nn.LSTMCell(3, 4)(mg.zeros(3), (mg.zeros(4), mg.zeros(2, 4)))


def test_a_wider_input_than_the_layer_is_refused():
    with pytest.raises(DTypeError, match="LSTM: the input is float64 and the weight float32"):
        nn.LSTM(3, 4, dtype=mg.float32)(mg.zeros(5, 2, 3, dtype=mg.float64))


@pytest.mark.parametrize("make, message", [
    (lambda: nn.LSTM(3, 0), "LSTM: hidden_size must be greater than zero"),
    (lambda: nn.GRU(3, 4, num_layers=0), "GRU: num_layers must be greater than zero"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), r"LSTM: dropout should be a number in range \[0, 1\]"),
    (lambda: nn.LSTM(3, 4, proj_size=4), "LSTM: proj_size has to be smaller than hidden_size"),
    (lambda: nn.LSTM(3, 4, proj_size=-1), "LSTM: proj_size should be a positive integer or zero"),
    (lambda: nn.GRU(3, 4, proj_size=2), "unexpected keyword"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), "RNN: Unknown nonlinearity 'sigmoid'"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="gelu"), "RNNCell: Unknown nonlinearity 'gelu'"),
])  # fmt: skip
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises((OpError, TypeError), match=message):
        make()


def test_dropout_with_one_layer_warns_as_pytorch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.LSTM(3, 4, dropout=0.5)
    assert any(
        "non-zero dropout expects num_layers greater than 1" in str(w.message) for w in caught
    )
