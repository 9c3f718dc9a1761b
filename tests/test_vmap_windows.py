"""mg.vmap's batching rules for the window primitives (Convolution, Unfold, Fold, MaxPool, Unpool,
Pick) and the recurrent steps (LSTMStep, GRUStep), beyond what the op cases run (test_vmap.py
batches every input of a case): a batched weight or bias, one side batched and not the other,
per-example gradients (vmap(grad)), gradients of a vmap (grad(vmap)) and nested levels, each
against a loop over the examples; and that a batch is one application, not one per example.
"""

import warnings

import numpy as np
import pytest
from test_ops_conv import CONVOLUTIONS, POOLS, found_of

import minigrad as mg
from minigrad.batching import BatchingWarning
from minigrad.ops import Convolution, GRUStep, LSTMStep, MaxPool, Pick, Unpool

rng = np.random.default_rng(22)
B = 3


def randn(*shape):
    return rng.standard_normal(shape)


def vmapped(fn, in_axes, *args):
    """``vmap(fn, in_axes)(*args)``, refusing the loop fallback."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        return mg.vmap(fn, in_axes=in_axes)(*args)


def looped(fn, in_axes, *args):
    """The same by a loop over the examples, stacked."""
    size = next(a.shape[0] for a, d in zip(args, in_axes) if d is not None)
    outs = [fn(*[a[k] if d is not None else a for a, d in zip(args, in_axes)]) for k in range(size)]
    return np.stack([o.data for o in outs])


def check(fn, in_axes, *arrays):
    args = [mg.tensor(a) for a in arrays]
    got = vmapped(fn, in_axes, *args)
    np.testing.assert_allclose(got.data, looped(fn, in_axes, *args), rtol=1e-12, atol=1e-12)


def primitive_count(t, name) -> int:
    return sum(n._node.prim.__name__ == name for n in mg.autograd.toposort(t) if n._node)


# ----- Convolution: every combination of batched image, weight and bias --------------------------


@pytest.mark.parametrize("conv", CONVOLUTIONS, ids=lambda c: c[0])
@pytest.mark.parametrize("batched", ["w", "xw", "b", "xb", "wb", "xwb"])
def test_convolution_with_a_batched_weight_or_bias_matches_a_loop(conv, batched):
    _, x_shape, w_shape, padding, stride, dilation, groups, bias = conv
    params = dict(padding=padding, stride=stride, dilation=dilation, groups=groups)
    if "b" in batched and not bias:
        pytest.skip("no bias")
    arrays = [randn(*x_shape), randn(*w_shape)] + ([randn(w_shape[0])] if bias else [])
    in_axes = [0 if name in batched else None for name in "xwb"[: len(arrays)]]
    arrays = [np.stack([a + k for k in range(B)]) if d == 0 else a for a, d in zip(arrays, in_axes)]
    check(lambda *xs: Convolution.apply(*xs, **params), tuple(in_axes), *arrays)


def test_a_batch_of_convolutions_is_one_convolution():
    """Batched images, or batched weights: one Convolution node either way (no loop)."""
    x, w = mg.tensor(randn(B, 2, 3, 5, 5), requires_grad=True), mg.tensor(randn(B, 4, 3, 3, 3))
    params = dict(padding=((1, 1), (1, 1)), stride=(1, 1), dilation=(1, 1), groups=1)
    for in_axes in [(0, None), (0, 0), (None, 0)]:
        wb = w if in_axes[1] == 0 else mg.tensor(w.data[0])
        xb = x if in_axes[0] == 0 else mg.tensor(x.data[0], requires_grad=True)
        y = vmapped(lambda a, b: Convolution.apply(a, b, **params), in_axes, xb, wb)
        assert y.shape == (B, 2, 4, 5, 5)
        assert primitive_count(y, "Convolution") == 1


# ----- per-example gradients of a small CNN: vmap(grad) and grad(vmap) -----------------------------

PARAMS = dict(padding=((1, 1), (1, 1)), stride=(1, 1), dilation=(1, 1), groups=1)
POOL = dict(kernel=(2, 2), stride=(2, 2), dilation=(1, 1))


def cnn_loss(x, w, b):
    """A convolution, ReLU, max pooling: one image (C, H, W)'s loss, a scalar."""
    y = Convolution.apply(x.reshape((1, *x.shape)), w, b, **PARAMS).relu()
    return (MaxPool.apply(y, **POOL) ** 2).sum()


def test_per_example_gradients_of_a_cnn_match_a_loop():
    X = mg.tensor(rng.permutation(B * 2 * 6 * 6).reshape(B, 2, 6, 6) * 0.01)  # no ties
    w, b = mg.tensor(randn(3, 2, 3, 3)), mg.tensor(randn(3))
    for argnums in [(0,), (1, 2), (0, 1, 2)]:
        got = vmapped(mg.grad(cnn_loss, argnums=argnums), (0, None, None), X, w, b)
        got = got if isinstance(got, tuple) else (got,)
        for k in range(B):
            expected = mg.grad(cnn_loss, argnums=argnums)(X[k], w, b)
            expected = expected if isinstance(expected, tuple) else (expected,)
            for g, e in zip(got, expected):
                np.testing.assert_allclose(g.data[k], e.data, rtol=1e-12, atol=1e-12)


def test_gradient_of_a_vmapped_cnn_matches_the_gradient_of_a_loop():
    X = mg.tensor(rng.permutation(B * 2 * 6 * 6).reshape(B, 2, 6, 6) * 0.01)
    w = mg.tensor(randn(3, 2, 3, 3), requires_grad=True)
    b = mg.tensor(randn(3), requires_grad=True)
    total = vmapped(cnn_loss, (0, None, None), X, w, b).sum()
    gw, gb = mg.autograd.grad(total, [w, b])
    loop = sum(cnn_loss(X[k], w, b) for k in range(B))
    ew, eb = mg.autograd.grad(loop, [w, b])
    np.testing.assert_allclose(gw.data, ew.data, rtol=1e-12)
    np.testing.assert_allclose(gb.data, eb.data, rtol=1e-12)


def test_nested_vmap_of_grad_through_max_pooling():
    """Two levels: the winners of max pooling's backward found for both batches at once."""
    X = mg.tensor(rng.permutation(2 * B * 1 * 4 * 4).reshape(2, B, 1, 1, 4, 4) * 0.1)

    def loss(x):
        return (MaxPool.apply(x, **POOL) ** 3).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        got = mg.vmap(mg.vmap(mg.grad(loss)))(X)
    for i in range(2):
        for k in range(B):
            expected = mg.grad(loss)(X[i, k])
            np.testing.assert_allclose(got.data[i, k], expected.data, rtol=1e-12)
            assert np.count_nonzero(got.data[i, k]) == 4  # one winner a window


# ----- Unpool and Pick: the winners batched, the values not (and the other way round) -----------


@pytest.mark.parametrize("pool", POOLS, ids=lambda p: p[0])
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0)])
def test_unpool_and_pick_with_either_side_batched_match_a_loop(pool, in_axes):
    _, shape, kernel, stride, dilation = pool
    window = dict(kernel=kernel, stride=stride, dilation=dilation)
    found = np.stack([found_of(shape, kernel, stride, dilation) for _ in range(B)])
    won = found if in_axes[1] == 0 else found[0]
    N, C = shape[:2]
    g = randn(B, N, C, *found.shape[3:5])
    check(
        lambda v, f: Unpool.apply(v, f, size=shape[2:], **window), in_axes,
        g if in_axes[0] == 0 else g[0], won,
    )  # fmt: skip
    x = randn(B, *shape)
    check(lambda v, f: Pick.apply(v, f, **window), in_axes, x if in_axes[0] == 0 else x[0], won)


# ----- recurrent steps: inputs batched or not, of different ranks, and their gradients -----------

STEPS = [
    (LSTMStep, (4, 8), (4, 8), (4, 2)),
    (LSTMStep, (12,), (12,), (3,)),
    (GRUStep, (4, 6), (4, 6), (4, 2)),
    (GRUStep, (2, 3, 6), (2, 3, 6), (2, 3, 2)),
]


@pytest.mark.parametrize("step", STEPS, ids=lambda s: f"{s[0].__name__} {s[1:]}")
@pytest.mark.parametrize("in_axes", [(0, None, None), (None, 0, None), (None, None, 0), (0, 0, 0)])
def test_recurrent_steps_and_their_gradients_match_a_loop(step, in_axes):
    prim, *shapes = step
    arrays = [randn(B, *s) if d == 0 else randn(*s) for s, d in zip(shapes, in_axes)]
    check(lambda *xs: prim.apply(*xs), in_axes, *arrays)

    def loss(xg, hg, s):
        return (prim.apply(xg, hg, s) ** 2).sum()

    tensors = [mg.tensor(a) for a in arrays]
    # per-example gradients of every input (batched or not) through the step's rule
    got = vmapped(mg.grad(loss, argnums=(0, 1, 2)), in_axes, *tensors)
    for k in range(B):
        one = [t[k] if d == 0 else t for t, d in zip(tensors, in_axes)]
        expected = mg.grad(loss, argnums=(0, 1, 2))(*one)
        for g, e in zip(got, expected):
            assert g.shape == (B, *e.shape)
            np.testing.assert_allclose(g.data[k], e.data, rtol=1e-12, atol=1e-12)
