"""Activation functions and modules: values against numpy references, derivatives against finite
differences (reverse and forward mode, first and second order), stability at +-1000."""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import autodiff
from minigrad.errors import OpError, ShapeError
from minigrad.nn import activation as A

rng = np.random.default_rng(0)

# ----- numpy references (written from the definitions) -------------------------------------------

_erf = np.vectorize(math.erf, otypes=[np.float64])


def relu_ref(x):
    return np.maximum(x, 0.0)


def leaky_relu_ref(x, slope=0.01):
    return np.where(x > 0, x, slope * x)


def elu_ref(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0.0)) - 1))


def gelu_ref(x):
    return x * 0.5 * (1 + _erf(x / math.sqrt(2)))


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def softplus_ref(x, beta=1.0, threshold=20.0):
    """PyTorch's rule: x where beta x > threshold, else log(1 + exp(beta x)) / beta (np.logaddexp
    is log(exp(0) + exp(beta x)) without overflow)."""
    return np.where(beta * x > threshold, x, np.logaddexp(0.0, beta * x) / beta)


def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))


def softmax_ref(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_ref(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def silu_ref(x):
    return x * sigmoid_ref(x)


def mish_ref(x):
    return x * np.tanh(np.logaddexp(0.0, x))


def celu_ref(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0) / alpha))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu_ref(x):
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))


def away_from_zero(shape, low=0.2, high=2.0):
    """|x| in [low, high] with random signs: clear of the kinks at 0."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


# (name, function of a Tensor, numpy reference, whether smooth at 0)
FUNCTIONS = [
    ("relu", A.relu, relu_ref, False),
    ("leaky_relu", A.leaky_relu, leaky_relu_ref, False),
    ("leaky_relu slope 0.2", lambda x: A.leaky_relu(x, 0.2), lambda x: leaky_relu_ref(x, 0.2),
     False),
    ("elu", A.elu, elu_ref, False),
    ("elu alpha 0.5", lambda x: A.elu(x, alpha=0.5), lambda x: elu_ref(x, 0.5), False),
    ("gelu", A.gelu, gelu_ref, True),
    ("gelu tanh", lambda x: A.gelu(x, approximate="tanh"), gelu_tanh_ref, True),
    ("softplus", A.softplus, softplus_ref, True),
    ("softplus beta 2", lambda x: A.softplus(x, beta=2.0), lambda x: softplus_ref(x, 2.0), True),
    ("softplus beta 2 threshold 1", lambda x: A.softplus(x, beta=2.0, threshold=1.0),
     lambda x: softplus_ref(x, 2.0, 1.0), False),
    ("sigmoid", A.sigmoid, sigmoid_ref, True),
    ("tanh", A.tanh, np.tanh, True),
    ("softmax", A.softmax, softmax_ref, True),
    ("log_softmax", A.log_softmax, log_softmax_ref, True),
    ("softmax axis 0", lambda x: A.softmax(x, 0), lambda x: softmax_ref(x, 0), True),
    ("log_softmax dim 0", lambda x: A.log_softmax(x, dim=0), lambda x: log_softmax_ref(x, 0),
     True),
    ("silu", A.silu, silu_ref, True),
    ("mish", A.mish, mish_ref, True),
    ("logsigmoid", A.logsigmoid, lambda x: -np.logaddexp(0.0, -x), True),
    ("tanhshrink", A.tanhshrink, lambda x: x - np.tanh(x), True),
    ("softsign", A.softsign, lambda x: x / (1 + np.abs(x)), False),  # |x|'' at 0
    ("celu alpha 2", lambda x: A.celu(x, 2.0), lambda x: celu_ref(x, 2.0), False),
    ("selu", A.selu, selu_ref, False),
]  # fmt: skip
IDS = [f[0] for f in FUNCTIONS]
SHAPES = [(), (5,), (2, 3)]


def inputs(shape, smooth):
    """Normal values for smooth functions, values clear of 0 for those with a kink there."""
    return 1.5 * rng.standard_normal(shape) if smooth else away_from_zero(shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, fn, ref, smooth", FUNCTIONS, ids=IDS)
def test_forward_matches_numpy(name, fn, ref, smooth, shape):
    if shape == () and name.endswith("0"):
        shape = (4,)  # axis 0 of a 0-d tensor does not exist
    values = 3.0 * rng.standard_normal(shape)
    out = fn(mg.tensor(values))
    expected = ref(values)
    assert out.shape == expected.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name, fn, ref, smooth", FUNCTIONS, ids=IDS)
def test_derivatives_reverse_and_forward_mode(name, fn, ref, smooth):
    """First and second derivatives in both modes against finite differences (float64)."""
    if name == "softplus beta 2 threshold 1":
        values = np.array([[-1.3, 0.2, 0.35], [0.8, 1.7, -0.4]])  # both sides of x = 0.5
    else:
        values = inputs((2, 3), smooth)
    report = mg.check_grads(fn, values, modes=("fwd", "rev"), order=2)
    assert report, f"{name}\n{report}"


@pytest.mark.parametrize("name, fn, ref, smooth", FUNCTIONS, ids=IDS)
def test_derivatives_of_a_0d_and_a_column(name, fn, ref, smooth):
    shape = (3, 1) if name.endswith("0") else ()
    values = inputs(shape, smooth)
    if name == "softplus beta 2 threshold 1":
        values = np.full(shape, 0.3)
    assert mg.check_grads(fn, values, modes=("fwd", "rev"))


# ----- values and derivatives at the kinks (PyTorch's choices) ------------------------------------


def gradient_at(fn, values):
    x = mg.tensor(np.asarray(values, dtype=float), requires_grad=True)
    fn(x).sum().backward()
    return x.grad.data


def test_relu_family_gradients_at_zero():
    """At 0: relu' = 0, leaky_relu' = negative_slope, elu' = alpha (PyTorch's subgradients)."""
    assert gradient_at(A.relu, [0.0]) == [0.0]
    assert gradient_at(lambda x: A.leaky_relu(x, 0.3), [0.0]) == [0.3]
    assert gradient_at(lambda x: A.elu(x, alpha=2.5), [0.0]) == [2.5]


def test_elu_derivative_closed_form():
    """elu'(x) = alpha exp(x) for x < 0, 1 for x > 0."""
    values = np.array([-3.0, -0.5, 0.5, 4.0])
    grad = gradient_at(lambda x: A.elu(x, alpha=0.7), values)
    np.testing.assert_allclose(grad, [0.7 * np.exp(-3.0), 0.7 * np.exp(-0.5), 1.0, 1.0], rtol=1e-15)


def test_gelu_derivative_closed_form():
    """gelu'(x) = Phi(x) + x phi(x), Phi/phi the standard normal CDF/density."""
    values = np.array([-2.0, -0.5, 0.0, 0.3, 3.0])
    phi = np.exp(-(values**2) / 2) / math.sqrt(2 * math.pi)
    Phi = 0.5 * (1 + _erf(values / math.sqrt(2)))
    np.testing.assert_allclose(gradient_at(A.gelu, values), Phi + values * phi, rtol=1e-14)


def test_softplus_derivatives_exact_at_zero():
    """softplus'(0) = 1/2 and softplus''(0) = 1/4 (the formula's max and |x| have kinks there, the
    function does not), in reverse mode, forward mode and forward-over-reverse."""
    x = mg.tensor([0.0, 0.0], requires_grad=True)
    (g,) = mg.autograd.grad(A.softplus(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [0.5, 0.5])
    (h,) = mg.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, [0.25, 0.25])
    with autodiff.forward_mode():
        x = mg.tensor([0.0])
        x.tangent = np.array([[2.0]])
        y = A.softplus(x)
    np.testing.assert_array_equal(y.tangent, [[1.0]])
    H = mg.hessian(lambda x: A.softplus(x).sum())(np.zeros(2))
    np.testing.assert_array_equal(H.data, np.diag([0.25, 0.25]))


def test_softplus_derivative_closed_form():
    """softplus'(x) = sigmoid(beta x), and 1 in the linear tail beta x > threshold."""
    values = np.array([-30.0, -2.0, 0.0, 1.0, 4.9, 5.1, 40.0])
    grad = gradient_at(lambda x: A.softplus(x, beta=2.0, threshold=10.0), values)
    expected = np.where(2 * values > 10, 1.0, sigmoid_ref(2 * values))
    np.testing.assert_allclose(grad, expected, rtol=1e-14, atol=0)


def test_softplus_threshold_switches_to_identity():
    """PyTorch's rule: exactly x where beta x > threshold (not log1p(exp)), the formula at it."""
    x = np.array([0.5, 0.51, 3.0])
    out = A.softplus(mg.tensor(x), beta=2.0, threshold=1.0).data
    assert out[1] == 0.51 and out[2] == 3.0
    assert out[0] == pytest.approx(math.log1p(math.e) / 2, rel=1e-15)


def test_softmax_jacobian_closed_form():
    """d softmax_i / d x_j = s_i (delta_ij - s_j)."""
    values = np.array([0.3, -1.2, 2.0])
    s = softmax_ref(values)
    J = mg.jacobian(A.softmax)(values)
    np.testing.assert_allclose(J.data, np.diag(s) - np.outer(s, s), rtol=1e-13, atol=1e-16)


def test_log_softmax_gradient_closed_form():
    """d/dx sum(u * log_softmax(x)) = u - softmax(x) * sum(u)."""
    values, u = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    grad = gradient_at(lambda x: A.log_softmax(x) * u, values)
    expected = u - softmax_ref(values) * u.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(grad, expected, rtol=1e-13, atol=1e-15)


# ----- stability ---------------------------------------------------------------------------------


BIG = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
# (function, value at BIG, gradient of the sum at BIG), from the definitions.
AT_1000 = [
    (A.relu, [0, 0, 0, 1, 1000], [0, 0, 0, 1, 1]),
    (A.leaky_relu, [-10, -0.01, 0, 1, 1000], [0.01, 0.01, 0.01, 1, 1]),
    (A.elu, [-1, math.expm1(-1), 0, 1, 1000], [0, math.exp(-1), 1, 1, 1]),
    (A.gelu, gelu_ref(BIG), [0, 0.5 * (1 + math.erf(-1 / math.sqrt(2))) - math.exp(-0.5)
                             / math.sqrt(2 * math.pi), 0.5, 0.5 * (1 + math.erf(1 / math.sqrt(2)))
                             + math.exp(-0.5) / math.sqrt(2 * math.pi), 1]),
    (lambda x: A.gelu(x, "tanh"), gelu_tanh_ref(BIG), None),
    (A.softplus, [0, math.log1p(math.exp(-1)), math.log(2), 1 + math.log1p(math.exp(-1)), 1000],
     [0, sigmoid_ref(-1.0), 0.5, sigmoid_ref(1.0), 1]),
    (lambda x: A.softplus(x, threshold=1e9), [0, math.log1p(math.exp(-1)), math.log(2),
                                              1 + math.log1p(math.exp(-1)), 1000],
     [0, sigmoid_ref(-1.0), 0.5, sigmoid_ref(1.0), 1]),
    (A.sigmoid, [0, sigmoid_ref(-1.0), 0.5, sigmoid_ref(1.0), 1], None),
    (A.tanh, np.tanh(BIG), None),
    (A.softmax, [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]),
    (A.log_softmax, [-2000, -1001, -1000, -999, 0], [1, 1, 1, 1, -4]),
    (A.silu, [0, -sigmoid_ref(-1.0), 0, sigmoid_ref(1.0), 1000],
     [0, sigmoid_ref(-1.0) * (1 - sigmoid_ref(1.0)), 0.5,
                             sigmoid_ref(1.0) * (1 + sigmoid_ref(-1.0)), 1]),
    (A.mish, mish_ref(BIG), None),
    (A.logsigmoid, [-1000, -math.log1p(math.e), -math.log(2), -math.log1p(math.exp(-1)), 0],
     [1, sigmoid_ref(1.0), 0.5, sigmoid_ref(-1.0), 0]),
    (A.softsign, [-1000 / 1001, -0.5, 0, 0.5, 1000 / 1001], None),
    (A.selu, selu_ref(BIG), [0, SELU_SCALE * SELU_ALPHA * math.exp(-1), SELU_SCALE * SELU_ALPHA,
                             SELU_SCALE, SELU_SCALE]),
    (lambda x: A.celu(x, 2.0), celu_ref(BIG, 2.0), [0, math.exp(-0.5), 1, 1, 1]),
]  # fmt: skip


@pytest.mark.parametrize("fn, value, grad", AT_1000, ids=[str(i) for i in range(len(AT_1000))])
def test_inputs_of_1000_stay_finite_without_warnings(fn, value, grad):
    x = mg.tensor(BIG, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = fn(x)
        y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(y.data, value, rtol=1e-14, atol=1e-300)
    if grad is not None:
        np.testing.assert_allclose(x.grad.data, grad, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize(
    "fn", [A.softmax, A.log_softmax, A.softplus, A.elu, A.gelu, A.silu, A.mish, A.logsigmoid,
           A.selu, A.celu]
)  # fmt: skip
def test_float32_at_100_stays_finite(fn):
    """float32 overflows at exp(89): the functions never exponentiate a positive number."""
    x = mg.tensor([-200.0, -100.0, 0.0, 100.0, 200.0], dtype="float32", requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = fn(x)
        y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 5),
    scale=st.sampled_from([1.0, 30.0, 1000.0]),
    axis=st.sampled_from([0, 1, -1]),
    seed=st.integers(0, 2**16),
)
def test_softmax_is_a_distribution_and_log_softmax_its_log(rows, cols, scale, axis, seed):
    """softmax lies in [0, 1] and sums to 1 along the axis; exp(log_softmax) is softmax."""
    values = scale * np.random.default_rng(seed).standard_normal((rows, cols))
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = A.softmax(mg.tensor(values), axis).data
        log_s = A.log_softmax(mg.tensor(values), axis).data
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-13)
    np.testing.assert_allclose(np.exp(log_s), s, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(log_s, log_softmax_ref(values, axis), rtol=1e-13, atol=1e-13)


# ----- dtypes, arguments, errors -----------------------------------------------------------------


@pytest.mark.parametrize("name, fn, ref, smooth", FUNCTIONS, ids=IDS)
def test_float32_in_float32_out(name, fn, ref, smooth):
    values = (2.0 * rng.standard_normal((2, 3))).astype(np.float32)
    x = mg.tensor(values, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32, f"{name}: {y.dtype}"
    np.testing.assert_allclose(y.data, ref(values.astype(np.float64)), rtol=2e-6, atol=2e-6)
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_softmax_over_several_axes_and_a_0d_tensor():
    values = rng.standard_normal((2, 3, 4))
    out = A.softmax(mg.tensor(values), axis=(0, 2)).data
    e = np.exp(values - values.max())
    np.testing.assert_allclose(out, e / e.sum(axis=(0, 2), keepdims=True), rtol=1e-13)
    assert A.softmax(mg.tensor(2.5)).item() == 1.0
    assert A.log_softmax(mg.tensor(2.5)).item() == 0.0


def test_dim_is_an_alias_of_axis():
    values = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(
        A.softmax(mg.tensor(values), dim=0).data, A.softmax(mg.tensor(values), axis=0).data
    )
    np.testing.assert_array_equal(
        A.log_softmax(mg.tensor(values), dim=0).data, A.log_softmax(mg.tensor(values), 0).data
    )
    with pytest.raises(OpError, match="softmax: got axis=0 and dim=1"):
        A.softmax(mg.tensor(values), 0, dim=1)


def test_axis_out_of_range_names_the_function():
    with pytest.raises(ShapeError, match=r"log_softmax: dim 2 is out of range.*\(3, 4\)"):
        A.log_softmax(mg.tensor(np.zeros((3, 4))), axis=2)


def test_unknown_gelu_approximation():
    with pytest.raises(OpError, match="gelu: approximate='erf' is not 'none' or 'tanh'"):
        A.gelu(mg.tensor([1.0]), approximate="erf")
    with pytest.raises(OpError, match="GELU"):
        A.GELU(approximate="fast")


def test_functions_accept_arrays_and_lists():
    np.testing.assert_array_equal(A.relu(np.array([-1.0, 2.0])).data, [0.0, 2.0])
    np.testing.assert_allclose(A.softmax([0.0, 0.0]).data, [0.5, 0.5])


# ----- modules -----------------------------------------------------------------------------------

MODULES = [
    (A.ReLU(), lambda x: relu_ref(x), "ReLU()"),
    (A.ReLU(inplace=True), lambda x: relu_ref(x), "ReLU(inplace=True)"),
    (A.LeakyReLU(), leaky_relu_ref, "LeakyReLU(negative_slope=0.01)"),
    (A.LeakyReLU(0.2, inplace=True), lambda x: leaky_relu_ref(x, 0.2),
     "LeakyReLU(negative_slope=0.2, inplace=True)"),
    (A.ELU(alpha=0.5), lambda x: elu_ref(x, 0.5), "ELU(alpha=0.5)"),
    (A.GELU(), gelu_ref, "GELU(approximate='none')"),
    (A.GELU("tanh"), gelu_tanh_ref, "GELU(approximate='tanh')"),
    (A.Tanh(), np.tanh, "Tanh()"),
    (A.Sigmoid(), sigmoid_ref, "Sigmoid()"),
    (A.Softplus(beta=2.0, threshold=3.0), lambda x: softplus_ref(x, 2.0, 3.0),
     "Softplus(beta=2.0, threshold=3.0)"),
    (A.Softmax(dim=0), lambda x: softmax_ref(x, 0), "Softmax(dim=0)"),
    (A.Softmax(), softmax_ref, "Softmax(dim=-1)"),
    (A.LogSoftmax(dim=1), lambda x: log_softmax_ref(x, 1), "LogSoftmax(dim=1)"),
    (A.SiLU(), silu_ref, "SiLU()"),
    (A.Mish(inplace=True), mish_ref, "Mish(inplace=True)"),
    (A.SELU(), selu_ref, "SELU()"),
    (A.CELU(alpha=2.0), lambda x: celu_ref(x, 2.0), "CELU(alpha=2.0)"),
    (A.Softsign(), lambda x: x / (1 + np.abs(x)), "Softsign()"),
    (A.LogSigmoid(), lambda x: -np.logaddexp(0.0, -x), "LogSigmoid()"),
    (A.Tanhshrink(), lambda x: x - np.tanh(x), "Tanhshrink()"),
]  # fmt: skip


@pytest.mark.parametrize("module, ref, text", MODULES, ids=[m[2] for m in MODULES])
def test_module_applies_its_function(module, ref, text):
    """Each module computes the reference, has PyTorch's repr, and no parameters."""
    values = 2.0 * rng.standard_normal((3, 4))
    x = mg.tensor(values)
    np.testing.assert_allclose(module(x).data, ref(values), rtol=1e-13, atol=1e-15)
    assert repr(module) == text
    assert list(module.parameters()) == [] and module.state_dict() == {}


def test_inplace_flag_leaves_the_input_alone():
    """inplace=True is accepted (PyTorch code runs) but minigrad keeps the tape valid."""
    x = mg.tensor([-1.0, 2.0], requires_grad=True)
    y = A.ReLU(inplace=True)(x)
    np.testing.assert_array_equal(x.data, [-1.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])


def test_modules_in_a_sequential_train_end_to_end():
    """Activations compose with Linear: gradients of every parameter pass a float64 check."""
    model = mg.nn.Sequential(
        mg.nn.Linear(3, 4, dtype=np.float64, generator=mg.Generator(0)),
        A.GELU(),
        mg.nn.Linear(4, 3, dtype=np.float64, generator=mg.Generator(1)),
        A.LogSoftmax(dim=1),
    )
    x = rng.standard_normal((2, 3))
    weight = model[0].weight

    def f(w):
        return mg.nn.functional_call(model, {"0.weight": w}, mg.tensor(x))

    assert mg.check_grads(f, weight.data.copy(), modes=("fwd", "rev"))
    assert model[0].weight is weight  # functional_call put the Parameter back


# ----- linear, Linear and Flatten: arrays and lists as inputs ------------------------------------
# (the layers of minigrad/nn/layers.py; their other tests are in test_nn_module.py)


def test_linear_takes_list_and_array_operands_as_constants():
    x = rng.standard_normal((2, 3))
    w = rng.standard_normal((4, 3))
    b = [1.0, -2.0, 3.0, 0.5]
    out = mg.nn.functional.linear(mg.tensor(x), w, b)
    np.testing.assert_allclose(out.data, x @ w.T + np.array(b), rtol=1e-13)
    out = mg.nn.functional.linear(x[0].tolist(), w.tolist(), b)  # all lists, 1-d input
    np.testing.assert_allclose(out.data, w @ x[0] + np.array(b), rtol=1e-13)


@pytest.mark.parametrize("bias, shape", [([1.0, 2.0], "(2,)"), (1.0, "()")])
def test_linear_bias_of_the_wrong_shape_is_a_shape_error(bias, shape):
    x, w = mg.ones(2, 3), mg.ones(4, 3)
    with pytest.raises(
        ShapeError, match=re.escape(f"linear: bias of shape {shape}, expected (4,)")
    ):
        mg.nn.functional.linear(x, w, bias)


def test_linear_operand_that_holds_no_numbers_is_a_dtype_error():
    with pytest.raises(mg.DTypeError, match=r"tensor: cannot hold <U1 data"):
        mg.nn.functional.linear([["a", "b", "c"]], mg.ones(2, 3))
    with pytest.raises(mg.DTypeError, match=r"linear: bias has dtype object"):
        mg.nn.functional.linear(mg.ones(1, 3), mg.ones(2, 3), np.array([None, None]))


def test_linear_layer_takes_arrays_and_lists():
    layer = mg.nn.Linear(3, 2, dtype=np.float64, generator=mg.Generator(0))
    w, b = layer.weight.data, layer.bias.data
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(layer(x).data, x @ w.T + b, rtol=1e-13)
    np.testing.assert_allclose(layer(x.tolist()).data, x @ w.T + b, rtol=1e-13)
    with pytest.raises(ShapeError, match=r"Linear\(in_features=3.*got input of shape \(1, 2\)"):
        layer([[1.0, 2.0]])


@pytest.mark.parametrize("args, name", [((3.0, 2), "in_features"), ((3, -1), "out_features")])
def test_linear_sizes_must_be_non_negative_ints(args, name):
    with pytest.raises(OpError, match=f"Linear: {name} must be a non-negative int, got"):
        mg.nn.Linear(*args)


def test_flatten_takes_arrays_and_lists():
    x = np.arange(24.0).reshape(2, 3, 4)
    out = mg.nn.Flatten()(x)
    assert isinstance(out, mg.Tensor)
    np.testing.assert_array_equal(out.data, x.reshape(2, 12))
    np.testing.assert_array_equal(mg.nn.Flatten(0, 1)(x.tolist()).data, x.reshape(6, 4))
