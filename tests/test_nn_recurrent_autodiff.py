"""Derivatives through recurrent layers: backward through 1,000 time steps without recursion and
with memory linear in the steps, a few nodes per step, Hessian-vector products and forward mode
through an LSTM, checked by finite differences."""

import gc
import sys
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

LAYERS = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}


def sequence(steps, batch=2, size=3, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal((steps, batch, size)))


@pytest.mark.parametrize("kind", LAYERS)
def test_backward_through_1000_steps_is_iterative_and_exact(kind):
    """The gradient of a weight after 1,000 steps against central differences, with Python's
    recursion limit far below the depth of the graph (5,000 nodes in a chain)."""
    mg.manual_seed(0)
    layer = LAYERS[kind](3, 4)
    x = sequence(1000)

    def loss():
        return (layer(x)[0][-100:] ** 2).sum()

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        loss().backward()
    finally:
        sys.setrecursionlimit(limit)
    w, index, eps = layer.weight_hh_l0, (1, 2), 1e-6
    moved = []
    with mg.no_grad():
        for sign in (1, -1):
            w.data[index] += sign * eps
            moved.append(loss().item())
            w.data[index] -= sign * eps
    np.testing.assert_allclose(w.grad.data[index], (moved[0] - moved[1]) / (2 * eps), rtol=1e-6)


def backward_peak(layer, steps: int) -> int:
    """Bytes allocated at the peak of the backward pass, above what the forward pass holds."""
    loss = (layer(sequence(steps, batch=4, size=8))[0] ** 2).sum()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        loss.backward()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", LAYERS)
def test_backward_memory_is_linear_in_the_steps(kind):
    layer = LAYERS[kind](8, 16)
    small, large = backward_peak(layer, 250), backward_peak(layer, 500)
    assert 1.6 < large / small < 2.4, (small, large)


@pytest.mark.parametrize("kind, most", [("LSTM", 5), ("GRU", 3), ("RNN", 4)])
def test_a_time_step_costs_a_few_nodes(kind, most):
    """Per step: the slice of the input products, the hidden product, the cell's node (and for
    the LSTM, h and c taken from its stacked output; for the RNN, the sum and its activation)."""
    layer = LAYERS[kind](3, 4)

    def nodes(steps):
        out = layer(sequence(steps))[0]
        return sum(t._node is not None for t in mg.autograd.toposort(out))

    assert (nodes(20) - nodes(10)) / 10 == most


def lstm_loss(layer):
    """A scalar loss of an LSTM as a function of its input and its weight_hh_l0."""

    def f(x, w_hh):
        output, (h_n, c_n) = nn.functional_call(layer, {"weight_hh_l0": w_hh}, x)
        return (output**2).sum() + h_n.sum() + (c_n**2).sum()

    return f


def test_hessian_vector_products_through_an_lstm_match_differences_of_gradients():
    """Forward-over-reverse through the LSTM steps' rules (and the Affine, slicing and
    concatenation around them), against central differences of the gradient."""
    mg.manual_seed(1)
    layer = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x, w = sequence(5).data, layer.weight_hh_l0.data.copy()
    report = mg.check_hvp(lstm_loss(layer), x, w)
    assert report, report


def test_hvp_equals_the_difference_of_gradients_by_hand():
    mg.manual_seed(2)
    layer = nn.GRU(3, 4, num_layers=2)
    x = sequence(4).data
    f = lambda x: (layer(x)[0] ** 3).sum()  # noqa: E731
    v = np.random.default_rng(5).standard_normal(x.shape)
    hv = mg.hvp(f, (mg.tensor(x),), (mg.tensor(v),))
    eps = 1e-5
    grads = [mg.grad(f)(mg.tensor(x + s * eps * v)).data for s in (1, -1)]
    np.testing.assert_allclose(hv.data, (grads[0] - grads[1]) / (2 * eps), rtol=1e-6, atol=1e-9)


def test_forward_mode_through_an_lstm_matches_finite_differences():
    mg.manual_seed(3)
    layer = nn.LSTM(3, 4, num_layers=2, proj_size=2)
    f = lstm_loss(layer)
    rng = np.random.default_rng(6)
    x, w = sequence(5).data, layer.weight_hh_l0.data.copy()
    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    _, slope = mg.jvp(f, (mg.tensor(x), mg.tensor(w)), (mg.tensor(vx), mg.tensor(vw)))
    eps = 1e-6
    moved = [f(mg.tensor(x + s * eps * vx), mg.tensor(w + s * eps * vw)).item() for s in (1, -1)]
    np.testing.assert_allclose(slope.item(), (moved[0] - moved[1]) / (2 * eps), rtol=1e-6)


def test_check_module_on_an_lstm_in_training_mode_with_dropout():
    """check_module replays the same dropout masks in every evaluation."""
    mg.manual_seed(4)
    model = nn.LSTM(3, 5, num_layers=3, dropout=0.3, bidirectional=True, batch_first=True)
    x = np.random.default_rng(7).standard_normal((2, 6, 3))
    report = nn.check_module(model, lambda out: (out[0] ** 2).mean() + out[1][1].sum(), x)
    assert report, report


def test_float32_layers_give_float32_gradients(float32_default):
    layer = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = mg.randn(5, 2, 3, requires_grad=True)
    output, (h_n, c_n) = layer(x)
    (output.sum() + c_n.sum()).backward()
    assert x.grad.dtype == np.float32
    assert {p.grad.dtype for p in layer.parameters()} == {np.dtype(np.float32)}
