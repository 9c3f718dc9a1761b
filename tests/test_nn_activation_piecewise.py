"""The activations added for the small networks of today (hardtanh ... softshrink, PReLU, RReLU,
GLU, and the gradients at 0 of SiLU, Mish, SELU, CELU, Softsign, LogSigmoid): values against
numpy references, derivatives against finite differences (both modes, second order), and
PyTorch's gradients at the kinks (PyTorch 2.13, written in)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import OpError, ShapeError
from minigrad.nn import activation_piecewise as P
from minigrad.nn import functional as F

rng = np.random.default_rng(0)

# Values clear of every kink below (0, +-0.5, 1.5, +-3, 6, ...), so finite differences are exact.
SPREAD = np.array([-4.3, -2.9, -1.2, -0.6, 0.3, 0.8, 1.7, 2.4, 3.6, 6.6])

# (name, function, numpy reference written from the definition)
FUNCTIONS = [
    ("hardtanh", P.hardtanh, lambda x: np.clip(x, -1, 1)),
    ("hardtanh -1.5 3", lambda x: P.hardtanh(x, -1.5, 3.0), lambda x: np.clip(x, -1.5, 3)),
    ("relu6", P.relu6, lambda x: np.clip(x, 0, 6)),
    ("hardsigmoid", P.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("hardswish", P.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    ("threshold 0.5 -2", lambda x: P.threshold(x, 0.5, -2.0), lambda x: np.where(x > 0.5, x, -2)),
    ("hardshrink", P.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    ("softshrink 1", lambda x: P.softshrink(x, 1.0),
     lambda x: np.sign(x) * np.maximum(np.abs(x) - 1, 0)),
    ("rrelu eval", P.rrelu, lambda x: np.where(x > 0, x, x * (1 / 8 + 1 / 3) / 2)),
    ("prelu", lambda x: P.prelu(x, [0.3]), lambda x: np.where(x > 0, x, 0.3 * x)),
]  # fmt: skip
IDS = [f[0] for f in FUNCTIONS]


@pytest.mark.parametrize("name, fn, ref", FUNCTIONS, ids=IDS)
def test_values_and_derivatives(name, fn, ref):
    out = fn(mg.tensor(SPREAD))
    np.testing.assert_allclose(out.data, ref(SPREAD), rtol=1e-14, atol=1e-15)
    assert mg.check_grads(fn, SPREAD.reshape(2, 5), modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize("name, fn, ref", FUNCTIONS, ids=IDS)
def test_float32_in_float32_out(name, fn, ref):
    x = mg.tensor(SPREAD.astype(np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


# ----- PyTorch's gradients at the kinks (torch 2.13, float64) ------------------------------------

AT_KINKS = [
    ("hardtanh -1 2", lambda x: F.hardtanh(x, -1.0, 2.0), [-1, 2, 0, -3, 3], [-1, 2, 0, -1, 2],
     [0, 0, 1, 0, 0]),
    ("relu6", F.relu6, [0, 6, 3, -1, 7], [0, 6, 3, 0, 6], [0, 0, 1, 0, 0]),
    ("hardsigmoid", F.hardsigmoid, [-3, 3, 0, -4, 4], [0, 1, 0.5, 0, 1], [0, 0, 1 / 6, 0, 0]),
    ("hardswish", F.hardswish, [-3, 3, 0, -4, 4], [0, 3, 0, 0, 4], [0, 1, 0.5, 0, 1]),
    ("threshold 1 -5", lambda x: F.threshold(x, 1.0, -5.0), [1, 0, 2], [-5, -5, 2], [0, 0, 1]),
    ("hardshrink", F.hardshrink, [0.5, -0.5, 0, 1, -1], [0, 0, 0, 1, -1], [0, 0, 0, 1, 1]),
    ("softshrink", F.softshrink, [0.5, -0.5, 0, 1, -1], [0, 0, 0, 0.5, -0.5], [0, 0, 0, 1, 1]),
    ("celu 2", lambda x: F.celu(x, 2.0), [0, -1, 1], [0, -0.786939, 1], [1, 0.606531, 1]),
    ("selu", F.selu, [0, -1, 1], [0, -1.111331, 1.050701], [1.758099, 0.646769, 1.050701]),
    ("softsign", F.softsign, [0, -1, 1], [0, -0.5, 0.5], [1, 0.25, 0.25]),
    ("logsigmoid", F.logsigmoid, [0, -1000, 1000], [-0.693147, -1000, 0], [0.5, 1, 0]),
    ("mish", F.mish, [0, -1, 1, 100], [0, -0.303401, 0.865098, 100], [0.6, 0.059217, 1.049036, 1]),
    ("silu", F.silu, [0, -1, 1], [0, -0.268941, 0.731059], [0.5, 0.072329, 0.927671]),
    ("tanhshrink", F.tanhshrink, [0, -1, 1], [0, -0.238406, 0.238406], [0, 0.580026, 0.580026]),
]  # fmt: skip


@pytest.mark.parametrize("name, fn, x, value, grad", AT_KINKS, ids=[k[0] for k in AT_KINKS])
def test_values_and_gradients_at_the_kinks_are_pytorchs(name, fn, x, value, grad):
    x = mg.tensor(np.asarray(x, dtype=float), requires_grad=True)
    y = fn(x)
    y.sum().backward()
    np.testing.assert_allclose(y.data, value, atol=5e-7, rtol=0)
    np.testing.assert_allclose(x.grad.data, grad, atol=5e-7, rtol=0)


# ----- PReLU, RReLU, GLU ---------------------------------------------------------------------------


def test_prelu_learns_one_slope_per_channel():
    layer = nn.PReLU(3, init=0.1)
    assert repr(layer) == "PReLU(num_parameters=3)" and list(layer.state_dict()) == ["weight"]
    np.testing.assert_array_equal(layer.weight.data, [0.1, 0.1, 0.1])
    with mg.no_grad():
        layer.weight.copy_(np.array([0.1, -0.2, 0.3]))
    x = mg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    y = layer(x)
    slope = np.array([0.1, -0.2, 0.3])[:, None]
    np.testing.assert_allclose(y.data, np.where(x.data > 0, x.data, slope * x.data), rtol=1e-15)
    y.sum().backward()
    # d/dw_c = sum of the negative inputs of channel c; at x = 0 the slope (PyTorch's)
    np.testing.assert_allclose(layer.weight.grad.data, np.minimum(x.data, 0).sum(axis=(0, 2)))
    assert mg.check_grads(lambda x, w: P.prelu(x, w), SPREAD.reshape(5, 2),
                          np.array([0.3, -0.4]), modes=("fwd", "rev"))  # fmt: skip
    one = nn.PReLU()
    np.testing.assert_allclose(one(mg.tensor([-2.0, 0.0, 3.0])).data, [-0.5, 0.0, 3.0])
    x0 = mg.tensor([0.0], requires_grad=True)
    one(x0).sum().backward()
    assert x0.grad.item() == 0.25
    with pytest.raises(ShapeError, match="prelu: mismatch of parameter numbers and input "
                       "channel size: found 3 parameters and channel size 4"):  # fmt: skip
        layer(rng.standard_normal((2, 4)))


def test_rrelu_draws_slopes_in_training_and_uses_their_mean_in_eval():
    layer = nn.RReLU(0.1, 0.3, generator=mg.Generator(0))
    assert repr(layer) == "RReLU(lower=0.1, upper=0.3)"
    x = -np.ones(1000)
    slopes = -layer(x).data
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.04
    np.testing.assert_array_equal(layer(np.ones(5)).data, 1.0)
    layer.eval()
    np.testing.assert_allclose(layer(x).data, -0.2, rtol=1e-15)
    with pytest.raises(OpError, match="rrelu: lower bound should be less than or equal to the "
                       "upper bound"):  # fmt: skip
        F.rrelu(x, 0.5, 0.1, training=True)


def test_glu_gates_one_half_with_the_other():
    x = rng.standard_normal((3, 4))
    a, b = x[:, :2], x[:, 2:]
    np.testing.assert_allclose(F.glu(x).data, a / (1 + np.exp(-b)), rtol=1e-14)
    np.testing.assert_allclose(nn.GLU(dim=0)(x[:2]).data, [x[0] / (1 + np.exp(-x[1]))])
    assert repr(nn.GLU(1)) == "GLU(dim=1)"
    assert mg.check_grads(F.glu, x, modes=("fwd", "rev"), order=2)
    with pytest.raises(ShapeError, match="glu: halving dimension must be even, but dimension 1 "
                       "is size 3"):  # fmt: skip
        F.glu(x[:, :3])


# ----- modules and errors --------------------------------------------------------------------------

MODULES = [
    (nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)", lambda x: np.clip(x, -1, 1)),
    (nn.Hardtanh(-2, 2, inplace=True), "Hardtanh(min_val=-2, max_val=2, inplace=True)",
     lambda x: np.clip(x, -2, 2)),
    (nn.ReLU6(), "ReLU6()", lambda x: np.clip(x, 0, 6)),
    (nn.ReLU6(inplace=True), "ReLU6(inplace=True)", lambda x: np.clip(x, 0, 6)),
    (nn.Hardsigmoid(), "Hardsigmoid()", lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    (nn.Hardswish(), "Hardswish()", lambda x: x * np.clip(x + 3, 0, 6) / 6),
    (nn.Threshold(0.1, 20), "Threshold(threshold=0.1, value=20)",
     lambda x: np.where(x > 0.1, x, 20)),
    (nn.Hardshrink(), "Hardshrink(0.5)", lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    (nn.Softshrink(1.0), "Softshrink(1.0)", lambda x: np.sign(x) * np.maximum(np.abs(x) - 1, 0)),
]  # fmt: skip


@pytest.mark.parametrize("module, text, ref", MODULES, ids=[m[1] for m in MODULES])
def test_modules_have_pytorchs_repr_and_apply_their_function(module, text, ref):
    assert repr(module) == text
    np.testing.assert_allclose(module(SPREAD).data, ref(SPREAD), rtol=1e-14, atol=1e-15)
    assert module.state_dict() == {}


@pytest.mark.parametrize(
    "call, error, message",
    [(lambda: F.hardtanh(SPREAD, 2.0, 1.0), OpError,
      "hardtanh: min_val cannot be greater than max_val"),
     (lambda: nn.Hardtanh(2.0, 1.0), OpError, "Hardtanh: min_val cannot be greater than max_val"),
     (lambda: F.softshrink(SPREAD, -1.0), OpError, "softshrink: lambda must be >= 0"),
     (lambda: F.celu(SPREAD, 0.0), OpError, "celu: alpha cannot be 0"),
     (lambda: F.glu(mg.tensor(1.0)), ShapeError, "glu: does not support 0-d tensors"),
     (lambda: F.prelu(SPREAD, np.ones((1, 1))), ShapeError,
      "prelu: expected weight to be a scalar or 1-D tensor"),
     (lambda: F.threshold(SPREAD, "1", 0.0), OpError, "threshold: threshold must be a real")],
    ids=["hardtanh", "Hardtanh", "softshrink", "celu", "glu", "prelu", "threshold"],
)  # fmt: skip
def test_argument_errors_name_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()
