"""Drawing a graph after backward freed it: backward keeps which operations made which
tensors, of what shapes, and frees the values; the drawing shows stand-ins (outlines)."""

import gc
import re
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad as mg


def two_layer(seed=0):
    mg.manual_seed(seed)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 1))
    x = mg.tensor(np.arange(6.0).reshape(2, 3) / 6)
    return model, x, ((model(x) - 1) ** 2).mean()


def op_names(source: str) -> list:
    return sorted(re.findall(r'\bo\d+ \[label="?(\w+)', source))


def edge_count(source: str) -> int:
    return source.count("->")


def test_the_outline_draws_the_same_graph_as_retain_graph():
    *_, kept = two_layer()
    kept.backward(retain_graph=True)
    before = mg.viz.draw(kept, detail="ops").source
    *_, loss = two_layer()
    loss.backward()
    after = mg.viz.draw(loss, detail="ops").source
    assert op_names(after) == op_names(before)
    assert len(op_names(after)) >= 6  # two matmuls, adds, tanh, sub, pow, mean
    assert edge_count(after) == edge_count(before)
    assert "freed by backward" in after


def test_the_outline_shows_the_gradients_just_computed():
    """loss = mean((w x - 1)^2) over one sample: d/dw = 2 (w x - 1) x."""
    w = mg.tensor([[0.5, -1.0]], requires_grad=True, name="w")
    x = mg.tensor([[2.0], [1.0]])
    loss = ((w @ x - 1) ** 2).mean()
    loss.backward()
    source = mg.viz.draw(loss, detail="ops").source
    residual = 0.5 * 2 - 1.0 - 1  # w x - 1 = -1
    expected = 2 * residual * np.array([2.0, 1.0])
    grad_row = re.search(r"w\\n\(1, 2\) \S+\\n(?:data [^\\]*\\n)?grad ([^\\']*?)[\"\\]", source)
    assert grad_row is not None, source
    shown = [float(v) for v in re.findall(r"-?\d+\.?\d*", grad_row.group(1))]
    np.testing.assert_allclose(shown, expected)


def test_backward_frees_the_values():
    mg.manual_seed(0)
    w = mg.randn(200, 200, requires_grad=True)
    hidden = (w @ w).tanh()
    loss = (hidden * hidden).sum()
    watched = weakref.ref(hidden.data)
    del hidden
    loss.backward()
    gc.collect()
    assert watched() is None  # the 320 kB intermediate is gone
    assert "Tanh" in op_names(mg.viz.draw(loss, detail="ops").source)


def test_memory_after_backward_keeps_no_saved_arrays():
    """What stays allocated after backward (the graph's outline: small objects) is much less
    than one of the 16 arrays of 80 kB the graph saved."""
    mg.manual_seed(0)
    x = mg.randn(100, 100, requires_grad=True)
    gc.collect()
    tracemalloc.start()
    try:
        y = x
        for _ in range(8):
            y = (y * 1.01).sin()
        loss = y.sum()
        del y
        loss.backward()
        x.grad = None
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert loss.node.parents[0].prim.__name__ == "Sin"  # the outline is there
    assert kept < 20_000, kept


def test_an_outline_holds_no_values():
    x = mg.randn(50, 60, requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward()
    exp = loss.node.parents[0].parents[0]  # Sum <- Mul <- Exp, nodes in place of tensors
    assert exp.prim.__name__ == "Exp" and exp.parents[0] is x  # leaves stay themselves
    snap = mg.viz.snapshot(loss)
    (stand_in,) = [t for t in snap.tensors.values() if t.node is exp]
    assert stand_in.shape == (50, 60) and stand_in.dtype == x.dtype
    assert stand_in.data.strides == (0, 0)  # one zero broadcast: no memory


def test_a_tensor_used_twice_has_one_stand_in():
    def drawn(retain_graph: bool) -> str:
        x = mg.tensor([1.0, 2.0], requires_grad=True)
        h = x.sin()
        loss = (h * h).sum()
        del h
        loss.backward(retain_graph=retain_graph)
        if not retain_graph:
            a, b = loss.node.parents[0].parents
            assert a is b and a.prim.__name__ == "Sin"
        return mg.viz.draw(loss, detail="ops").source

    after = drawn(retain_graph=False)
    assert op_names(after) == ["Mul", "Sin", "Sum"]
    assert edge_count(after) == edge_count(drawn(retain_graph=True))  # one box for h


def test_a_retained_tensor_stays_itself_with_its_gradient():
    """d(sum(h^2))/dh = 2h."""
    x = mg.tensor([0.5, 1.0], requires_grad=True)
    h = x.sin()
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward()
    assert loss.node.parents[0].parents[0] is h
    np.testing.assert_allclose(h.grad.numpy(), 2 * np.sin([0.5, 1.0]))


def test_a_second_backward_through_an_outline_is_refused():
    *_, loss = two_layer()
    loss.backward()
    with pytest.raises(mg.BackwardError, match="retain_graph=True"):
        loss.backward()


def test_grad_also_keeps_the_outline():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    (g,) = mg.autograd.grad(y, x)
    np.testing.assert_allclose(g.numpy(), np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
    assert op_names(mg.viz.draw(y, detail="ops").source) == ["Exp", "Mul", "Sum"]
