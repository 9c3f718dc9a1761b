"""Elementwise unary operations: values against numpy, derivatives against finite differences."""

import warnings

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg
from minigrad import autodiff

rng = np.random.default_rng(0)

SHAPES = [(), (3,), (2, 3), (1, 4)]


def normal(shape, scale=1.0):
    return np.asarray(scale * rng.standard_normal(shape))


def uniform(low, high):
    return lambda shape: np.asarray(rng.uniform(low, high, shape))


def away_from_zero(shape, low=0.2, high=1.5):
    """Values with |x| in [low, high] and random signs: clear of the kink at 0."""
    return np.asarray(rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape))


def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))


def relu_ref(x):
    return np.maximum(x, 0)


def to_float32(x):
    return x.astype(np.float32)


# (name, op, numpy reference, input generator); each op is checked on every shape in SHAPES.
UNARY = [
    ("exp", mg.exp, np.exp, normal),
    ("log", mg.log, np.log, uniform(0.5, 2.0)),
    ("log1p", mg.log1p, np.log1p, uniform(-0.5, 1.0)),
    ("expm1", mg.expm1, np.expm1, normal),
    ("sqrt", mg.sqrt, np.sqrt, uniform(0.5, 2.0)),
    ("abs", mg.abs, np.abs, away_from_zero),
    ("sin", mg.sin, np.sin, normal),
    ("cos", mg.cos, np.cos, normal),
    ("tan", mg.tan, np.tan, uniform(-1.2, 1.2)),  # poles at +-pi/2 ~ +-1.571
    ("tanh", mg.tanh, np.tanh, normal),
    ("sigmoid", mg.sigmoid, sigmoid_ref, lambda shape: normal(shape, 2.0)),
    ("relu", mg.relu, relu_ref, away_from_zero),
    ("neg", mg.neg, np.negative, normal),
    ("-x", lambda x: -x, np.negative, normal),
    ("abs(x)", abs, np.abs, away_from_zero),
    ("rsqrt", mg.rsqrt, lambda x: 1 / np.sqrt(x), uniform(0.5, 2.0)),
    ("square", mg.square, np.square, normal),
    ("reciprocal", mg.reciprocal, np.reciprocal, away_from_zero),
    ("log2", mg.log2, np.log2, uniform(0.5, 2.0)),
    ("log10", mg.log10, np.log10, uniform(0.5, 2.0)),
]


def off_the_jumps(shape):
    """Values k + 0.2 for integers k in [-3, 2]: away from the integers and the halves, where
    floor, ceil, round, trunc and sign jump."""
    return np.asarray(rng.integers(-3, 3, shape) + 0.2)


# Piecewise constant: derivatives 0 (the harness checks them against finite differences).
STEPS = [
    ("floor", mg.floor, np.floor),
    ("ceil", mg.ceil, np.ceil),
    ("round", mg.round, np.round),
    ("round decimals=1", lambda x: mg.round(x * 3.3, decimals=1), lambda x: np.round(x * 3.3, 1)),
    ("trunc", mg.trunc, np.trunc),
    ("sign", mg.sign, np.sign),
]

CASES = [
    Case(f"{name} {shape}", op, ref, [draw(shape)])
    for name, op, ref, draw in UNARY
    for shape in SHAPES
]
CASES += [
    Case(f"{name} {shape}", op, ref, [off_the_jumps(shape)]) for name, op, ref in STEPS
    for shape in SHAPES
]  # fmt: skip

# NOTE: Cast float64 -> float32 rounds, so finite differences of it carry rounding noise of about
# ulp32(x) / (2 eps) per element. Inputs of magnitude ~1e-4 have ulp32 ~ 7e-12, so that noise is
# ~4e-6 of the true derivative (1), far below the tolerance; the forward value is numpy's cast
# exactly and the gradient is checked honestly against finite differences.
CASES += [
    Case(f"astype float32 {shape}", lambda x: x.astype("float32"), to_float32,
         [normal(shape, 1e-4)])
    for shape in SHAPES
]  # fmt: skip
CASES += [
    Case("mg.astype float32 then square (2, 3)",
         lambda x: mg.astype(x, np.float32) * mg.astype(x, np.float32),
         lambda x: to_float32(x) * to_float32(x), [normal((2, 3), 1e-4)]),
    Case("astype float32 then back to float64 (3,)",
         lambda x: x.astype(np.float32).astype(np.float64) * 3.0,
         lambda x: to_float32(x).astype(np.float64) * 3.0, [normal((3,), 1e-4)]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- kinks, saturation, no-gradient ops ----------------------------------------------------------


@pytest.mark.parametrize("op", [mg.relu, mg.abs], ids=["relu", "abs"])
@pytest.mark.parametrize("shape", [(), (3,)])
def test_gradient_at_the_kink_is_zero(op, shape):
    """relu'(0) = abs'(0) = 0, the subgradient PyTorch and JAX choose (reverse mode)."""
    x = mg.tensor(np.zeros(shape), requires_grad=True)
    op(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(shape))


@pytest.mark.parametrize("op", [mg.relu, mg.abs], ids=["relu", "abs"])
def test_tangent_at_the_kink_is_zero(op):
    """The same choice in forward mode: the tangent of relu/abs at 0 is 0."""
    with autodiff.forward_mode():
        x = mg.tensor([0.0, 0.0])
        x.tangent = np.array([[1.0, -2.0]])
        y = op(x)
    np.testing.assert_array_equal(y.tangent, np.zeros((1, 2)))


def test_relu_and_abs_gradients_around_the_kink():
    """relu' is 0 for x < 0 and 1 for x > 0; abs' is sign(x), and 0 at 0."""
    values = np.array([-2.0, -1e-300, 0.0, 1e-300, 3.0])
    x = mg.tensor(values, requires_grad=True)
    mg.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0, 1.0, 1.0])
    x = mg.tensor(values, requires_grad=True)
    mg.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, -1.0, 0.0, 1.0, 1.0])


def test_sigmoid_saturates_without_overflow():
    """sigmoid(-1000) = 0 and sigmoid(1000) = 1, with finite (zero) gradients and no warnings."""
    x = mg.tensor([-1000.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.sigmoid(x)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    assert np.all(np.isfinite(x.grad.data))
    # the true derivative is sigmoid(x)(1 - sigmoid(x)) ~ exp(-1000), i.e. 0 in float64
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_sigmoid_saturates_in_float32():
    """Large |x| in float32 (where exp(89) overflows) saturates to 0 and 1, no warnings."""
    x = mg.tensor([-200.0, -100.0, 100.0, 200.0], dtype="float32", requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.sigmoid(x)
        y.sum().backward()
    assert y.dtype == np.float32
    exact = 1 / (1 + np.exp(-np.array([-200.0, -100.0, 100.0, 200.0])))  # float64: no overflow
    np.testing.assert_allclose(y.data, exact.astype(np.float32), rtol=1e-6, atol=0)
    assert np.all(np.isfinite(x.grad.data))


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_piecewise_constant_functions_have_zero_gradient_as_pytorch(name):
    """As PyTorch: x.floor() requires grad when x does, and sends back zeros (also at a jump),
    so a loss that uses it still backpropagates."""
    values = np.array([-2.5, -1.0, 0.0, 0.5, 1.5, 2.7])
    x = mg.tensor(values, requires_grad=True)
    y = getattr(x, name)()
    assert y.requires_grad and y.grad_fn == "Step"
    np.testing.assert_array_equal(y.data, getattr(np, name)(values))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(6))


def test_round_halves_to_even_and_to_decimals():
    """torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5]).round() -> [0, 2, 2, -0, -2];
    torch.tensor([1.234, 5.678]).round(decimals=1) -> [1.2, 5.7]."""
    x = mg.tensor(np.array([0.5, 1.5, 2.5, -0.5, -1.5]))
    np.testing.assert_array_equal(x.round().data, [0.0, 2.0, 2.0, -0.0, -2.0])
    np.testing.assert_allclose(mg.round(mg.tensor([1.234, 5.678]), decimals=1).data, [1.2, 5.7])


def test_rounding_keeps_integer_dtypes():
    """torch.tensor([4]).floor() stays int64 (integers are whole already); sign too."""
    x = mg.tensor(np.array([4, -3]))
    for name in ("floor", "ceil", "round", "trunc", "sign"):
        y = getattr(mg, name)(x)
        assert y.dtype == np.int64, name
    np.testing.assert_array_equal(mg.sign(x).data, [1, -1])
    np.testing.assert_array_equal(mg.floor(x).data, [4, -3])


def test_reciprocal_of_integers_is_float():
    """torch.tensor([4]).reciprocal() -> tensor([0.25]); square stays an integer."""
    assert mg.reciprocal(mg.tensor(np.array([4]))).data.tolist() == [0.25]
    assert mg.tensor(np.array([4])).square().data.tolist() == [16]
    assert mg.tensor(np.array([4.0])).rsqrt().data.tolist() == [0.5]


# ----- float32 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, op, ref, draw", UNARY, ids=[u[0] for u in UNARY])
def test_float32_forward_and_gradient_dtype(name, op, ref, draw):
    """A float32 input gives numpy's float32 answer, and its gradient is float32 too."""
    values = draw((2, 3)).astype(np.float32)
    x = mg.tensor(values, requires_grad=True)
    y = op(x)
    expected = ref(values)
    assert expected.dtype == np.float32  # the reference itself stays in float32
    assert y.dtype == np.float32, f"{name}: {y.dtype}"
    np.testing.assert_allclose(y.data, expected, rtol=1e-6, atol=1e-7)
    y.sum().backward()
    assert x.grad.dtype == np.float32, f"{name}: gradient dtype {x.grad.dtype}"
    assert x.grad.shape == x.shape


def test_astype_gradient_comes_back_in_the_input_dtype():
    """float32 -> float64: the output is float64, the gradient (1 per element) is float32."""
    x = mg.tensor([0.5, -1.25, 3.0], dtype="float32", requires_grad=True)
    y = x.astype("float64")
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, np.array([0.5, -1.25, 3.0]))
    (y * np.array([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, np.array([1.0, 2.0, 3.0], dtype=np.float32))


def test_astype_to_the_same_dtype_keeps_the_gradient():
    """Casting to the dtype a tensor already has changes nothing: d/dx = 1."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.astype("float64")
    assert y.dtype == np.float64
    (y * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
