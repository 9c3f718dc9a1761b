"""Functions that build masks from values (piecewise activations, closeness, logical operators,
losses with clamps) under mg.vmap: equal to a loop over the examples, values and per-example
gradients. Their masks are computed from each example's own values, never from placeholders."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import functional as F

rng = np.random.default_rng(7)
B = 4
X = mg.tensor(rng.standard_normal((B, 3, 5)) * 3)  # values on both sides of every kink
Y = mg.tensor(rng.standard_normal((B, 3, 5)))
VAR = mg.tensor(np.abs(rng.standard_normal((B, 3, 5))))
VAR.data[1, 0, :2] = 0.0  # below eps: clamped in one example only
COUNTS = mg.tensor(rng.integers(0, 4, (B, 3, 5)).astype(np.float64))

SMOOTH_ENOUGH = {  # (differentiable almost everywhere: the random values miss the kinks)
    "leaky_relu": lambda x, y, v, c: F.leaky_relu(x, 0.1),
    "elu": lambda x, y, v, c: F.elu(x, 0.7),
    "celu": lambda x, y, v, c: F.celu(x, 0.7),
    "selu": lambda x, y, v, c: F.selu(x),
    "softplus": lambda x, y, v, c: F.softplus(x, beta=2.0, threshold=1.0),
    "logsigmoid": lambda x, y, v, c: F.logsigmoid(x),
    "mish": lambda x, y, v, c: F.mish(x),
    "hardtanh": lambda x, y, v, c: F.hardtanh(x, -1.0, 2.0),
    "relu6": lambda x, y, v, c: F.relu6(x),
    "hardsigmoid": lambda x, y, v, c: F.hardsigmoid(x),
    "hardswish": lambda x, y, v, c: F.hardswish(x),
    "threshold": lambda x, y, v, c: F.threshold(x, 0.5, -2.0),
    "hardshrink": lambda x, y, v, c: F.hardshrink(x, 1.0),
    "prelu": lambda x, y, v, c: F.prelu(x, mg.linspace(0.1, 0.5, 5, dtype=mg.float64)),
    "gaussian_nll_loss": lambda x, y, v, c: F.gaussian_nll_loss(x, y, v),
    "poisson_nll_loss, full": lambda x, y, v, c: F.poisson_nll_loss(x, c, full=True),
}
ARGS = (X, Y, VAR, COUNTS)


@pytest.mark.parametrize("name", SMOOTH_ENOUGH)
def test_masks_from_values_equal_a_loop(name):
    fn = SMOOTH_ENOUGH[name]
    got = mg.vmap(fn)(*ARGS)
    expected = np.stack([fn(*[a[i] for a in ARGS]).data for i in range(B)])
    np.testing.assert_allclose(got.data, expected, rtol=1e-13)

    def loss(*args):
        return fn(*args).sum()

    grads = mg.vmap(mg.grad(loss))(*ARGS)
    loop = np.stack([mg.grad(loss)(*[a[i] for a in ARGS]).data for i in range(B)])
    np.testing.assert_allclose(grads.data, loop, rtol=1e-12)


def test_closeness_and_logical_operators():
    near = Y + 1e-9 * (X > 0)  # close where x > 0 only, by a hair
    close = mg.vmap(lambda a, b: mg.isclose(a, b, rtol=0, atol=1e-12))(Y, near)
    np.testing.assert_array_equal(close.data, X.data <= 0)
    both = mg.vmap(lambda x, y: ((x > 0) & (y > 0)) | ~(x < y))(X, Y)
    x, y = X.data, Y.data
    np.testing.assert_array_equal(both.data, ((x > 0) & (y > 0)) | ~(x < y))


def test_rrelu_in_training_follows_vmaps_randomness():
    with pytest.raises(mg.BatchingError, match="randomness='error'"):
        mg.vmap(lambda x: F.rrelu(x, training=True))(X)
    mg.manual_seed(0)
    out = mg.vmap(lambda x: F.rrelu(x, 0.1, 0.3, training=True), randomness="different")(X)
    slopes = out.data[X.data < 0] / X.data[X.data < 0]
    assert ((slopes >= 0.1) & (slopes <= 0.3)).all() and len(np.unique(slopes)) > 10
