"""A training step is exact and its fast paths change nothing but the time.

The per-step paths (Linear's common case, cross-entropy's label check, the backward walk,
handing out gradients, SGD's in-place update, the parameter walk) skip work that the general
paths do. These tests pin what must not change: an MLP step's loss, gradients and updated
parameters are bit for bit those of the same numpy operations in the same order (float32), and
every error the general paths raise is still raised.
"""

from __future__ import annotations

import copy
import gc

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import DTypeError, IndexingError, OpError, ShapeError

F32 = np.float32
SIZES = (7, 5, 4, 3)
N = 6  # not a power of two: -1/N is rounded


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(SIZES[0], SIZES[1], dtype=F32)
        self.fc2 = nn.Linear(SIZES[1], SIZES[2], dtype=F32)
        self.fc3 = nn.Linear(SIZES[2], SIZES[3], dtype=F32)

    def forward(self, x):
        return self.fc3(mg.relu(self.fc2(mg.relu(self.fc1(x)))))


def problem():
    mg.manual_seed(0)
    model = MLP()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, SIZES[0])).astype(F32)
    labels = rng.integers(0, SIZES[-1], N)
    return model, x, labels


def numpy_loss_and_grads(params, x, labels):
    """minigrad's operations, in numpy, in minigrad's order (Affine, Relu, LogSoftmax, NllMean
    and their rules): the bits a step must give."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = x @ W1.T + b1
    a1 = np.maximum(h1, 0)
    h2 = a1 @ W2.T + b2
    a2 = np.maximum(h2, 0)
    logits = a2 @ W3.T + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -logp[rows, labels].sum() / N
    g = np.zeros_like(logp)
    g[rows, labels] = np.ones((), F32) * (-1.0 / N)
    g = g - np.exp(logp) * g.sum(axis=1, keepdims=True)
    gW3, gb3, g = g.swapaxes(0, 1) @ a2, g.sum(axis=0), g @ W3
    g = g * (h2 > 0)
    gW2, gb2, g = g.swapaxes(0, 1) @ a1, g.sum(axis=0), g @ W2
    g = g * (h1 > 0)
    gW1, gb1 = g.swapaxes(0, 1) @ x, g.sum(axis=0)
    return loss, [gW1, gb1, gW2, gb2, gW3, gb3]


def assert_same_bits(actual, expected, what):
    assert actual.dtype == expected.dtype == F32, what
    assert actual.shape == expected.shape, what
    assert actual.tobytes() == expected.tobytes(), f"{what}: not bit for bit"


def test_an_mlp_step_is_bit_exact():
    model, x, labels = problem()
    params = [p.data.copy() for p in model.parameters()]
    lr = 0.1
    for step in range(3):
        loss = nn.functional.cross_entropy(model(mg.tensor(x)), labels)
        loss.backward()
        expected_loss, expected = numpy_loss_and_grads(params, x, labels)
        assert_same_bits(np.asarray(loss.data), np.asarray(expected_loss), f"loss {step}")
        for (name, p), g in zip(model.named_parameters(), expected):
            assert_same_bits(p.grad.data, g, f"{name}.grad, step {step}")
        with mg.no_grad():
            for p in model.parameters():
                p.data -= lr * p.grad.data
        model.zero_grad()
        for p, g in zip(params, expected):
            p -= lr * g
        for (name, p), p_np in zip(model.named_parameters(), params):
            assert_same_bits(p.data, p_np, f"{name} after step {step}")
        assert all(p.grad is None for p in model.parameters())


def test_an_sgd_step_with_momentum_and_weight_decay_is_bit_exact():
    model, x, labels = problem()
    params = [p.data.copy() for p in model.parameters()]
    lr, mu, decay = 0.1, 0.9, 0.01
    opt = mg.optim.SGD(model.parameters(), lr=lr, momentum=mu, weight_decay=decay)
    buffers = [None] * len(params)
    for step in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(mg.tensor(x)), labels).backward()
        opt.step()
        _, grads = numpy_loss_and_grads(params, x, labels)
        for i, (p, g) in enumerate(zip(params, grads)):
            d = g + decay * p
            if buffers[i] is None:
                buffers[i] = d.copy()
            else:
                buffers[i] *= mu
                buffers[i] += 1.0 * d
            np.add(p, -lr * buffers[i], out=p)
        for (name, p), p_np in zip(model.named_parameters(), params):
            assert_same_bits(p.data, p_np, f"{name} after step {step}")


# ----- the fast paths keep the general paths' errors ---------------------------------------------


def test_linear_keeps_its_checks_and_conversions():
    layer = nn.Linear(3, 2, dtype=F32)
    with pytest.raises(ShapeError, match=r"Linear\(in_features=3.*\(4, 4\)"):
        layer(mg.zeros((4, 4), dtype=F32))
    with pytest.raises(DTypeError, match="same dtype"):
        layer(mg.zeros((4, 3), dtype=np.float64))
    assert layer([[1.0, 2.0, 3.0]]).dtype == F32  # a list takes the layer's dtype
    x = np.arange(24, dtype=F32).reshape(2, 4, 3)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_array_equal(layer(mg.tensor(x)).data, expected)  # more than 2 axes
    layer.weight = nn.Parameter(np.zeros((2, 5), F32))  # no longer 3 input features
    with pytest.raises(ShapeError):
        layer(mg.zeros((4, 3), dtype=F32))
    layer.weight = nn.Parameter(np.zeros((2, 3), F32))
    layer.bias = nn.Parameter(np.zeros(4, F32))  # one value per output feature is 2
    with pytest.raises(ShapeError, match="bias of shape"):
        layer(mg.zeros((4, 3), dtype=F32))


def test_add_in_place_keeps_its_errors_and_bumps_the_version():
    p = mg.tensor(np.ones(3))
    version = p._version
    p.add_(np.full(3, 2.0), alpha=0.5)
    np.testing.assert_array_equal(p.data, [2.0, 2.0, 2.0])
    assert p._version > version
    with pytest.raises(OpError, match=r"add_: .*shape \(3,\)"):
        p.add_(np.ones(4))
    ints = mg.tensor(np.ones(3, dtype=np.int64))
    with pytest.raises(OpError, match=r"add_: .*int64"):
        ints.add_(np.full(3, 0.5))
    np.testing.assert_array_equal(ints.data, [1, 1, 1])  # a refused update changes nothing
    w = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(OpError, match="requires grad"):
        w.add_(np.ones(3))


def test_cross_entropy_labels_checked_and_ignored_as_before():
    logits = mg.tensor(np.log(np.array([[1.0, 3.0], [1.0, 1.0], [3.0, 1.0]])))
    # -log softmax at labels 1, 0, 0: log(4/3), log 2, log(4/3)
    per_sample = np.array([np.log(4 / 3), np.log(2.0), np.log(4 / 3)])
    loss = nn.functional.cross_entropy(logits, np.array([1, 0, 0]))
    np.testing.assert_allclose(loss.item(), per_sample.mean(), rtol=1e-12)
    ignored = nn.functional.cross_entropy(logits, np.array([1, -100, 0]))  # the default
    np.testing.assert_allclose(ignored.item(), per_sample[[0, 2]].mean(), rtol=1e-12)
    one_is_ignored = nn.functional.cross_entropy(logits, np.array([1, 0, 0]), ignore_index=1)
    np.testing.assert_allclose(one_is_ignored.item(), per_sample[1:].mean(), rtol=1e-12)
    with pytest.raises(IndexingError, match="target -1 is out of bounds for 2 classes"):
        nn.functional.cross_entropy(logits, np.array([1, -1, 0]))
    with pytest.raises(IndexingError, match="target 2 is out of bounds"):
        nn.functional.cross_entropy(logits, np.array([1, 2, 0]))


# ----- the module walk and module scopes ----------------------------------------------------------


def test_parameters_without_recursion_are_the_module_s_own():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
            self.scale = nn.Parameter(np.ones(1))
            self.shared = self.scale  # once, under its first name

    model = Model()
    assert [id(p) for p in model.parameters(recurse=False)] == [id(model.scale)]
    everything = [id(p) for p in model.parameters()]
    assert everything == [id(p) for _, p in model.named_parameters()]
    assert len(everything) == 5 and everything[0] == id(model.scale)


def test_a_module_call_scopes_its_nodes_and_restores_the_scope_after_an_error():
    class Fails(nn.Module):
        def forward(self, x):
            y = x * 2
            raise RuntimeError(f"made {y.node.scope is self}")

    inner = nn.Linear(2, 2)
    outer = nn.Sequential(inner)
    x = mg.tensor(np.ones((1, 2)), requires_grad=True)
    y = outer(x)
    assert y.node.scope is inner
    assert mg.autodiff.mode().scope is None
    with pytest.raises(RuntimeError, match="made True"):
        Fails()(x)
    assert mg.autodiff.mode().scope is None
    with mg.no_grad():
        assert outer(x).node is None
    assert mg.is_grad_enabled()


# ----- freeing a deep graph --------------------------------------------------------------------


def test_freeing_a_deep_graph_leaves_the_collector_nothing_new_per_node():
    """Freeing keeps each node's outline (shape, dtype, name) for drawing. Nodes with the same
    outline share one tuple: a tuple per node would outlive the walk, and on a deep graph those
    made CPython start a full collection over the whole graph while freeing it."""
    x = mg.tensor(np.ones(4), requires_grad=True)
    y = x
    for _ in range(2000):
        y = (y * 0.5).sin()
    loss = y.sum()
    enabled = gc.isenabled()
    gc.disable()  # no collection may untrack tuples meanwhile: count what backward leaves
    try:
        before = len(gc.get_objects())
        loss.backward()
        left = len(gc.get_objects()) - before
    finally:
        if enabled:
            gc.enable()
    assert left < 100, f"{left} new objects for the collector after freeing 4,001 nodes"
    assert y.node.params is None and y.node.output == ((4,), np.dtype(np.float64), None)
    made_input = y.node.parents[0]  # the freed node that made sin's input, not the tensor
    assert made_input.params is None and made_input.prim.__name__ == "Mul"
    assert made_input.output is y.node.output  # one shared outline
    np.testing.assert_allclose(x.grad.data, x.grad.data[0])  # the gradient itself is there


def test_a_recorded_tensor_still_deep_copies():
    """Nodes without parameters share one empty ``params``: copying a graph still works."""
    x = mg.tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = x.sin()
    assert y.node.params == {}
    copied = copy.deepcopy(y)
    copied.sum().backward()
    np.testing.assert_allclose(copied.node.parents[0].grad.data, np.cos([0.0, 1.0]))
    assert x.grad is None and y.node.params == {}  # the original graph is untouched
