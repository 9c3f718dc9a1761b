"""Recurrent steps: ``LSTMStep`` and ``GRUStep`` (and a plain RNN's step, a composite), against
PyTorch's equations written in numpy; the harness checks every derivative rule."""

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg
from minigrad import ops
from minigrad.nn.rnn_cells import cell_step

rng = np.random.default_rng(3)


def randn(*shape):
    return rng.standard_normal(shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step(xg, hg, c):
    """PyTorch's LSTM cell after its two products, gates i, f, g, o; h and c stacked."""
    i, f, g, o = np.split(xg + hg, 4, axis=-1)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return np.stack([sigmoid(o) * np.tanh(c_new), c_new])


def gru_step(xg, hg, h):
    """PyTorch's GRU cell after its two products (hg with b_hh), gates r, z, n."""
    x_r, x_z, x_n = np.split(xg, 3, axis=-1)
    h_r, h_z, h_n = np.split(hg, 3, axis=-1)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def lstm(xg, hg, c):
    return ops.LSTMStep.apply(xg, hg, c)  # arrays become constants


def gru(xg, hg, h):
    return ops.GRUStep.apply(xg, hg, h)


HG = randn(3, 8)  # a constant input: its rules must still give the others' derivatives

CASES = [
    Case("LSTMStep (3, 4H=8)", lstm, lstm_step, [randn(3, 8), randn(3, 8), randn(3, 2)]),
    Case("LSTMStep unbatched (4H=12,)", lstm, lstm_step, [randn(12), randn(12), randn(3)]),
    Case("LSTMStep large pre-activations", lstm, lstm_step,
         [4 * randn(2, 8), 4 * randn(2, 8), 3 * randn(2, 2)]),
    Case("LSTMStep with a constant hg", lambda xg, c: lstm(xg, HG, c),
         lambda xg, c: lstm_step(xg, HG, c), [randn(3, 8), randn(3, 2)]),
    Case("LSTMStep with a constant c", lambda xg, hg: lstm(xg, hg, HG[:, :2]),
         lambda xg, hg: lstm_step(xg, hg, HG[:, :2]), [randn(3, 8), randn(3, 8)]),
    Case("GRUStep (3, 3H=6)", gru, gru_step, [randn(3, 6), randn(3, 6), randn(3, 2)]),
    Case("GRUStep unbatched (3H=9,)", gru, gru_step, [randn(9), randn(9), randn(3)]),
    Case("GRUStep with a constant h", lambda xg, hg: gru(xg, hg, HG[:, :2]),
         lambda xg, hg: gru_step(xg, hg, HG[:, :2]), [randn(3, 6), randn(3, 6)]),
    Case("GRUStep with a constant hg", lambda xg, h: gru(xg, HG[:, :6], h),
         lambda xg, h: gru_step(xg, HG[:, :6], h), [randn(3, 6), randn(3, 2)]),
    Case("RNN tanh step (composite)",
         lambda xg, h, w: cell_step("RNN_TANH", xg, h, w),
         lambda xg, h, w: np.tanh(xg + h @ w.T), [randn(3, 4), randn(3, 4), randn(4, 4)]),
    Case("LSTM step with its hidden product and projection",
         lambda xg, h, c, w, w_hr: mg.cat(cell_step("LSTM", xg, (h, c), w, None, w_hr), 1),
         lambda xg, h, c, w, w_hr: np.concatenate(
             [lstm_step(xg, h @ w.T, c)[0] @ w_hr.T, lstm_step(xg, h @ w.T, c)[1]], 1),
         [randn(2, 12), randn(2, 2), randn(2, 3), randn(12, 2), randn(2, 3)]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_steps_keep_the_dtype(dtype):
    xg, hg, c = (mg.tensor(randn(2, 8).astype(dtype)) for _ in range(3))
    assert lstm(xg, hg, c[:, :2]).dtype == dtype
    assert gru(xg[:, :6], hg[:, :6], c[:, :2]).dtype == dtype


def test_lstm_step_saturated_gates_stay_finite():
    """Pre-activations of +-100 saturate every gate: values and gradients stay finite (sigmoid
    is computed through tanh, which never overflows)."""
    xg = mg.tensor(np.array([[100.0, -100.0, 100.0, 100.0]]), requires_grad=True)
    c = mg.tensor([[2.0]], requires_grad=True)
    y = lstm(xg, mg.zeros_like(xg), c)
    np.testing.assert_allclose(y.data, [[[np.tanh(1.0)]], [[1.0]]])  # i = 1, f = 0, g = 1, o = 1
    y.sum().backward()
    assert np.isfinite(xg.grad.data).all() and np.isfinite(c.grad.data).all()
