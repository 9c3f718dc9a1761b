"""nn.init: PyTorch's initialisers, checked against their formulas on large tensors.

Each fills in place and keeps shape and dtype; sample statistics over ~10^5 draws match the
distribution the formula gives (mean 0, std or bounds from fan_in / fan_out / gain); draws are
reproducible through ``mg.manual_seed`` and ``generator=mg.Generator(seed)``.
"""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import ShapeError
from minigrad.nn import init

SHAPE = (400, 300)  # fan_in 300, fan_out 400, 120,000 draws
CONV_SHAPE = (64, 32, 3, 3)  # fan_in 32 * 9 = 288, fan_out 64 * 9 = 576, 18,432 draws


@pytest.fixture(autouse=True)
def seeded():
    """Statistics are checked on fixed draws, so a test never fails by chance."""
    mg.manual_seed(0)


def fresh(shape=SHAPE, dtype=np.float32):
    return nn.Parameter(np.full(shape, np.nan, dtype=dtype))


def assert_uniform(x: np.ndarray, low: float, high: float) -> None:
    """Samples lie in [low, high], reach close to both ends, with U(low, high)'s mean and std."""
    width = high - low
    assert x.min() >= low and x.max() <= high
    assert x.min() < low + 0.01 * width and x.max() > high - 0.01 * width
    n = x.size
    std = width / math.sqrt(12)
    assert abs(x.mean() - (low + high) / 2) < 5 * std / math.sqrt(n)
    assert x.std() == pytest.approx(std, rel=0.02)


def assert_normal(x: np.ndarray, mean: float, std: float) -> None:
    """Sample mean and std match N(mean, std^2), and the tails are a normal's (not uniform)."""
    n = x.size
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(n)
    assert x.std() == pytest.approx(std, rel=0.02)
    beyond_two_sigma = np.mean(np.abs(x - mean) > 2 * std)
    assert beyond_two_sigma == pytest.approx(0.0455, abs=0.006)


# ----- gain and fans -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nonlinearity, param, gain",
    [
        ("linear", None, 1.0),
        ("identity", None, 1.0),
        ("conv1d", None, 1.0),
        ("conv2d", None, 1.0),
        ("conv3d", None, 1.0),
        ("conv_transpose1d", None, 1.0),
        ("conv_transpose2d", None, 1.0),
        ("conv_transpose3d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5.0 / 3.0),
        ("relu", None, math.sqrt(2.0)),
        ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2.0 / (1 + 0.2**2))),
        ("leaky_relu", 0.0, math.sqrt(2.0)),
        ("leaky_relu", math.sqrt(5), math.sqrt(2.0 / 6.0)),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_unknown_name():
    with pytest.raises(ValueError, match="softplus"):
        init.calculate_gain("softplus")


@pytest.mark.parametrize(
    "shape, expected",
    [((400, 300), (300, 400)), ((64, 32, 3, 3), (288, 576)), ((5, 7, 2), (14, 10))],
)
def test_fans(shape, expected):
    assert init.fans(fresh(shape)) == expected


@pytest.mark.parametrize(
    "fn",
    [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_],
    ids=lambda f: f.__name__,
)
def test_fan_based_inits_need_two_dimensions(fn):
    with pytest.raises(ValueError, match=r"\(5,\)"):
        fn(fresh((5,)))


def test_kaiming_mode_must_be_fan_in_or_fan_out():
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(fresh(), mode="fan_avg")


# ----- every initialiser: in place, shape and dtype kept, no tape ---------------------------------

INITIALISERS = {
    "uniform_": lambda t: init.uniform_(t, -2.0, 3.0),
    "normal_": lambda t: init.normal_(t, 1.0, 0.5),
    "constant_": lambda t: init.constant_(t, 0.3),
    "zeros_": init.zeros_,
    "ones_": init.ones_,
    "xavier_uniform_": init.xavier_uniform_,
    "xavier_normal_": init.xavier_normal_,
    "kaiming_uniform_": init.kaiming_uniform_,
    "kaiming_normal_": init.kaiming_normal_,
    "trunc_normal_": init.trunc_normal_,
    "orthogonal_": init.orthogonal_,
}


@pytest.mark.parametrize("name", list(INITIALISERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_in_place_keeps_shape_dtype_and_storage(name, dtype):
    tensor = fresh((6, 5, 2), dtype)
    storage = tensor.data
    out = INITIALISERS[name](tensor)
    assert out is tensor
    assert tensor.data is storage  # same array: views of it see the new values
    assert tensor.shape == (6, 5, 2) and tensor.dtype == dtype
    assert np.all(np.isfinite(tensor.data))
    assert tensor.requires_grad and tensor.is_leaf and tensor.grad_fn is None


@pytest.mark.parametrize("name", list(INITIALISERS))
def test_works_on_a_tensor_that_requires_grad_while_grad_mode_is_on(name):
    """Initialisation is not a differentiable op: no error, no history, even with grad on."""
    tensor = fresh((4, 3))
    assert mg.is_grad_enabled()
    INITIALISERS[name](tensor)
    assert tensor.grad_fn is None and tensor.grad is None


# ----- statistics --------------------------------------------------------------------------------


def test_uniform_statistics():
    assert_uniform(init.uniform_(fresh(), -2.0, 3.0).data, -2.0, 3.0)
    assert_uniform(init.uniform_(fresh()).data, 0.0, 1.0)  # default U(0, 1)


def test_normal_statistics():
    assert_normal(init.normal_(fresh(), 1.0, 0.5).data, 1.0, 0.5)
    assert_normal(init.normal_(fresh()).data, 0.0, 1.0)  # default N(0, 1)


@pytest.mark.parametrize(
    "fn, value", [(init.zeros_, 0.0), (init.ones_, 1.0), (lambda t: init.constant_(t, -0.7), -0.7)]
)
def test_constant_fills(fn, value):
    tensor = fresh((3, 4))
    fn(tensor)
    np.testing.assert_array_equal(tensor.data, np.float32(value))


@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE], ids=str)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier_uniform(shape, gain):
    fan_in, fan_out = init.fans(fresh(shape))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    assert_uniform(init.xavier_uniform_(fresh(shape), gain=gain).data, -bound, bound)


@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE], ids=str)
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier_normal(shape, gain):
    fan_in, fan_out = init.fans(fresh(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    assert_normal(init.xavier_normal_(fresh(shape), gain=gain).data, 0.0, std)


KAIMING = [
    # (kwargs, gain)
    ({}, math.sqrt(2.0)),  # a=0 with leaky_relu: the relu gain
    ({"nonlinearity": "relu"}, math.sqrt(2.0)),
    ({"a": 0.2}, math.sqrt(2.0 / 1.04)),
    ({"a": math.sqrt(5)}, math.sqrt(1.0 / 3.0)),
    ({"nonlinearity": "tanh"}, 5.0 / 3.0),
    ({"nonlinearity": "linear"}, 1.0),
]


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("kwargs, gain", KAIMING, ids=str)
@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE], ids=str)
def test_kaiming_uniform(shape, kwargs, gain, mode):
    fan_in, fan_out = init.fans(fresh(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    bound = gain * math.sqrt(3.0 / fan)
    assert_uniform(init.kaiming_uniform_(fresh(shape), mode=mode, **kwargs).data, -bound, bound)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("kwargs, gain", KAIMING, ids=str)
@pytest.mark.parametrize("shape", [SHAPE, CONV_SHAPE], ids=str)
def test_kaiming_normal(shape, kwargs, gain, mode):
    fan_in, fan_out = init.fans(fresh(shape))
    std = gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    assert_normal(init.kaiming_normal_(fresh(shape), mode=mode, **kwargs).data, 0.0, std)


def test_float64_draws_are_not_rounded_to_float32():
    tensor = init.normal_(fresh((1000,), np.float64))
    assert np.any(tensor.data != tensor.data.astype(np.float32))


# ----- reproducibility ---------------------------------------------------------------------------

RANDOM = [n for n in INITIALISERS if n not in ("constant_", "zeros_", "ones_")]


@pytest.mark.parametrize("name", RANDOM)
def test_manual_seed_reproduces(name):
    fn = INITIALISERS[name]
    mg.manual_seed(123)
    first = fn(fresh((30, 20))).data.copy()
    second = fn(fresh((30, 20))).data.copy()
    mg.manual_seed(123)
    again = fn(fresh((30, 20))).data.copy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # the stream moves on


@pytest.mark.parametrize("name", RANDOM)
def test_generator_reproduces_and_leaves_the_default_stream_alone(name):
    fn = getattr(init, name)
    args = {"uniform_": (-1.0, 1.0), "normal_": (0.0, 1.0)}.get(name, ())

    def draw(generator):
        return fn(fresh((30, 20)), *args, generator=generator).data.copy()

    mg.manual_seed(7)
    a = draw(mg.Generator(5))
    after_a = mg.rand(3).data
    mg.manual_seed(7)
    b = draw(mg.Generator(5))
    after_b = mg.rand(3).data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(after_a, after_b)  # the default generator was not used
    mg.manual_seed(7)
    np.testing.assert_array_equal(after_a, mg.rand(3).data)
    assert not np.array_equal(a, draw(mg.Generator(6)))


# ----- Linear's default initialisation -----------------------------------------------------------


@pytest.mark.parametrize("n_in, n_out", [(784, 256), (3, 1000), (100, 100)])
def test_linear_default_init_bounds(n_in, n_out):
    """PyTorch's default: weight and bias both U(-1/sqrt(in), 1/sqrt(in))."""
    mg.manual_seed(0)
    layer = nn.Linear(n_in, n_out)
    bound = 1.0 / math.sqrt(n_in)
    w, b = layer.weight.data, layer.bias.data
    assert np.all(np.abs(w) <= bound) and np.all(np.abs(b) <= bound)
    assert np.abs(w).max() > 0.95 * bound  # uses the whole interval
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert np.abs(b).max() > 0.5 * bound


def test_linear_generator_argument():
    a = nn.Linear(20, 10, generator=mg.Generator(1))
    b = nn.Linear(20, 10, generator=mg.Generator(1))
    c = nn.Linear(20, 10, generator=mg.Generator(2))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)


# ----- truncated normal --------------------------------------------------------------------------


def truncated_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) conditioned on [a, b], in closed form."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi) if math.isfinite(z) else 0.0  # noqa: E731
    cdf = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    edge = lambda z: z * pdf(z) if math.isfinite(z) else 0.0  # noqa: E731
    variance = 1 + (edge(alpha) - edge(beta)) / mass - shift**2
    return mean + std * shift, std * math.sqrt(variance)


@pytest.mark.parametrize(
    "mean, std, a, b",
    [
        (0.0, 1.0, -2.0, 2.0),  # PyTorch's default: std 0.8796
        (0.0, 0.02, -0.04, 0.04),  # the usual transformer init, bounds at 2 std
        (1.0, 0.5, 0.0, 3.0),  # asymmetric
        (0.0, 1.0, 3.0, 4.0),  # far in the right tail
        (0.0, 1.0, -6.0, -5.0),  # far in the left tail
        (0.0, 1.0, 2.5, math.inf),  # a one-sided tail
        (0.0, 1.0, -0.01, 0.01),  # a sliver around the mean
    ],
)
def test_trunc_normal_statistics(mean, std, a, b):
    x = init.trunc_normal_(fresh(dtype=np.float64), mean, std, a, b).data
    assert x.min() >= a and x.max() <= b
    expected_mean, expected_std = truncated_moments(mean, std, a, b)
    assert abs(x.mean() - expected_mean) < 5 * expected_std / math.sqrt(x.size)
    assert x.std() == pytest.approx(expected_std, rel=0.02)


def test_trunc_normal_default_is_pytorchs():
    x = init.trunc_normal_(fresh(dtype=np.float64)).data
    assert x.min() >= -2.0 and x.max() <= 2.0 and x.min() < -1.99 and x.max() > 1.99
    assert x.std() == pytest.approx(0.8796, rel=0.01)


@pytest.mark.parametrize("kwargs, match", [(dict(std=0.0), "std must be > 0"),
                                           (dict(a=1.0, b=-1.0), "empty")])  # fmt: skip
def test_trunc_normal_refuses(kwargs, match):
    with pytest.raises(mg.errors.OpError, match=match):
        init.trunc_normal_(fresh(), **kwargs)


# ----- orthogonal, identity, Dirac, sparse -------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (4, 3, 2)], ids=str)
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape, gain):
    q = init.orthogonal_(fresh(shape, np.float64), gain, generator=mg.Generator(3)).data
    flat = q.reshape(shape[0], -1)
    small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-12)


def test_orthogonal_is_uniform_over_signs():
    """Q's signs are fixed by R's diagonal (as PyTorch's): without that, LAPACK's QR would give
    a first entry of one sign every time."""
    generator = mg.Generator(0)
    first = [init.orthogonal_(fresh((3, 3)), generator=generator).data[0, 0] for _ in range(400)]
    assert 0.4 < np.mean(np.array(first) > 0) < 0.6


def test_orthogonal_needs_two_dimensions():
    with pytest.raises(ShapeError, match="2 or more dimensions"):
        init.orthogonal_(fresh((4,)))


def test_eye():
    x = init.eye_(fresh((3, 5))).data
    np.testing.assert_array_equal(x, np.eye(3, 5))
    with pytest.raises(ShapeError, match="2 dimensions"):
        init.eye_(fresh((2, 2, 2)))


def test_dirac_positions_are_pytorchs():
    """PyTorch 2.x: torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2).nonzero()."""
    x = init.dirac_(fresh((4, 2, 3, 3)), groups=2).data
    assert np.argwhere(x).tolist() == [[0, 0, 1, 1], [1, 1, 1, 1], [2, 0, 1, 1], [3, 1, 1, 1]]
    assert np.argwhere(init.dirac_(fresh((2, 3, 3))).data).tolist() == [[0, 0, 1], [1, 1, 1]]


def test_dirac_makes_a_convolution_the_identity():
    weight = init.dirac_(fresh((3, 3, 3, 3), np.float64))
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 5, 5)))
    np.testing.assert_array_equal(nn.functional.conv2d(x, weight, padding=1).data, x.data)


def test_dirac_refuses():
    with pytest.raises(ShapeError, match="3, 4, or 5 dimensions"):
        init.dirac_(fresh((3, 3)))
    with pytest.raises(ShapeError, match="divisible by groups=2"):
        init.dirac_(fresh((3, 3, 3)), groups=2)


def test_sparse_zeros_the_same_count_in_each_column():
    x = init.sparse_(fresh((100, 400), np.float64), 0.25, std=0.5, generator=mg.Generator(0)).data
    assert np.all(np.sum(x == 0, axis=0) == 25)
    assert x[x != 0].std() == pytest.approx(0.5, rel=0.02)
    with pytest.raises(ShapeError, match="2 dimensions"):
        init.sparse_(fresh((2, 2, 2)), 0.1)


def test_constant_takes_pytorchs_keyword():
    assert np.all(init.constant_(fresh((2, 2)), val=0.25).data == 0.25)
