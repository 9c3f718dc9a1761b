"""mg.vmap: batching rules against a Python loop over the examples, the API's semantics (JAX's
and torch.func.vmap's), and compositions with grad.

Work in progress (issue 22): the primitives in PENDING have no batching rule yet and are
batched by the named, warned loop fallback; the registry test below keeps that list exact.
"""

import warnings

import numpy as np
import pytest
from harness import primitives_used
from test_registry import all_cases, builtin_primitives

import minigrad as mg
from minigrad.batching import BatchingWarning

PENDING = {
    "Affine", "Convolution", "CumProd", "CumSum", "Einsum", "Fold", "GRUStep", "GetItem",
    "LSTMStep", "LayerNorm", "MaxPool", "NllMean", "Pick", "ScatterAdd", "Unfold", "Unpool",
}  # fmt: skip

rng = np.random.default_rng(3)


def own_rule(cls) -> bool:
    return next(k for k in cls.__mro__ if "batch" in vars(k)) is not mg.Primitive


def test_the_primitives_without_a_batching_rule_are_exactly_the_pending_ones():
    missing = {name for name, cls in builtin_primitives().items() if not own_rule(cls)}
    assert missing == PENDING


def batch_of(case, size=3):
    """``size`` examples of each input: the case's own values, moved a little each time."""
    return [
        np.stack([a + 0.1 * k if a.dtype.kind == "f" else a for k in range(size)])
        for a in case.inputs
    ]


RULED = [c for c in all_cases() if not (primitives_used(c) & PENDING)]


@pytest.mark.parametrize("case", RULED, ids=str)
def test_every_batching_rule_matches_a_loop_over_the_examples(case):
    batch = batch_of(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)  # no loop fallback for these
        got = mg.vmap(case.fn)(*[mg.tensor(b) for b in batch])
    expected = [case.fn(*[mg.tensor(b[k]) for b in batch]).data for k in range(3)]
    np.testing.assert_allclose(got.data, np.stack(expected), rtol=1e-12, atol=1e-12)


def f(x, W):
    return (x @ W).tanh().sum()


X = mg.tensor(rng.standard_normal((5, 3)))
W = mg.tensor(rng.standard_normal((3, 4)))


def test_vmap_of_grad_gives_per_example_gradients():
    per_example = mg.vmap(mg.grad(f, argnums=1), in_axes=(0, None))(X, W)
    assert per_example.shape == (5, 3, 4)
    for i in range(5):
        np.testing.assert_allclose(per_example.data[i], mg.grad(f, argnums=1)(X[i], W).data)
    # and w.r.t. the example itself, against the closed form (1 - tanh^2) W 1
    dx = mg.vmap(mg.grad(f))(X, W) if False else mg.vmap(mg.grad(f), in_axes=(0, None))(X, W)
    closed = (1 - np.tanh(X.data @ W.data) ** 2) @ W.data.T
    np.testing.assert_allclose(dx.data, closed, rtol=1e-12)


def test_grad_of_vmap_and_nested_vmap():
    w = mg.tensor(W.data, requires_grad=True)
    total = mg.grad(lambda w: mg.vmap(f, in_axes=(0, None))(X, w).sum())(w)
    np.testing.assert_allclose(total.data, mg.grad(lambda w: f(X, w))(w).data, rtol=1e-12)
    Y = mg.tensor(rng.standard_normal((2, 5, 3)))
    nested = mg.vmap(mg.vmap(f, in_axes=(0, None)), in_axes=(0, None))(Y, W)
    expected = [[f(Y[i, j], W).item() for j in range(5)] for i in range(2)]
    np.testing.assert_allclose(nested.data, expected, rtol=1e-12)


def test_in_axes_out_axes_and_chunks():
    Xt = mg.tensor(X.data.T.copy())  # the batch on axis 1
    a = mg.vmap(lambda x: x * 2, in_axes=1)(Xt)
    np.testing.assert_allclose(a.data, X.data * 2)
    b = mg.vmap(lambda x: x * 2, in_axes=-1, out_axes=1)(Xt)
    np.testing.assert_allclose(b.data, Xt.data * 2)
    d = mg.vmap(lambda p: p["x"] @ p["w"], in_axes=({"x": 0, "w": None},))({"x": X, "w": W})
    np.testing.assert_allclose(d.data, X.data @ W.data)
    c = mg.vmap(f, in_axes=(0, None), chunk_size=2)(X, W)
    np.testing.assert_allclose(c.data, mg.vmap(f, in_axes=(0, None))(X, W).data)
    const = mg.vmap(lambda x: W.sum())(X)  # a result that does not depend on the batch
    np.testing.assert_allclose(const.data, np.full(5, W.data.sum()))


def test_errors_name_what_is_wrong():
    with pytest.raises(mg.ArgumentError, match="different sizes"):
        mg.vmap(lambda a, b: a + b)(X, mg.ones(4, 3))
    with pytest.raises(mg.ArgumentError, match="no argument is batched"):
        mg.vmap(lambda a: a, in_axes=None)(X)
    with pytest.raises(mg.ArgumentError, match="in_axes has 1 entries for 2"):
        mg.vmap(lambda a, b: a, in_axes=(0,))(X, X)
    with pytest.raises(mg.BatchingError, match=r"\.item\(\) on a value that is batched"):
        mg.vmap(lambda x: x.sum().item())(X)
    with pytest.raises(mg.BatchingError, match="numpy's add on a value that is batched"):
        mg.vmap(lambda x: np.add(x.data, 1))(X)
    with pytest.raises(mg.ArgumentError, match="not implemented yet"):
        mg.vmap(lambda x: x, randomness="different")
