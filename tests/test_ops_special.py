"""Special functions (erf, the tanh GELU): values against references, derivatives against finite
differences."""

import math
import warnings

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg
from minigrad import autodiff, erf
from minigrad.errors import DTypeError, MinigradError
from minigrad.ops.special import Erf

rng = np.random.default_rng(0)

SHAPES = [(), (3,), (2, 3), (1, 4)]


def erf_ref(x):
    """math.erf element by element, float64."""
    return np.vectorize(math.erf, otypes=[np.float64])(x)


CASES = [
    Case(f"erf {shape}", erf, erf_ref, [np.asarray(1.5 * rng.standard_normal(shape))])
    for shape in SHAPES
]
CASES += [
    Case("erf(2 x) * x (2, 2)", lambda x: erf(x * 2.0) * x, lambda x: erf_ref(2 * x) * x,
         [rng.uniform(-1.5, 1.5, (2, 2))]),
    Case("erf in the tails (4,)", erf, erf_ref, [np.array([-4.0, -2.5, 2.5, 4.0])]),
]  # fmt: skip


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


CASES += [
    Case(f"gelu tanh {shape}", lambda x: mg.nn.functional.gelu(x, approximate="tanh"),
         gelu_tanh_ref, [np.asarray(2.0 * rng.standard_normal(shape))])
    for shape in [(), (2, 3)]
]  # fmt: skip
CASES += [
    Case("gelu tanh (x * w)", lambda x, w: mg.nn.functional.gelu(x * w, approximate="tanh"),
         lambda x, w: gelu_tanh_ref(x * w), [rng.standard_normal(4), rng.standard_normal(4)]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


def test_known_values():
    """erf(0) = 0, erf(-x) = -erf(x), erf(+-inf) = +-1, erf(1) to 16 digits."""
    x = mg.tensor([0.0, 1.0, -1.0, np.inf, -np.inf, 30.0])
    np.testing.assert_array_equal(
        erf(x).data, [0.0, 0.8427007929497149, -0.8427007929497149, 1.0, -1.0, 1.0]
    )


def test_derivative_closed_form():
    """d/dx erf(x) = 2/sqrt(pi) exp(-x^2); the second derivative is -2x times that."""
    values = np.array([-2.0, -0.3, 0.0, 0.7, 1.9])
    x = mg.tensor(values, requires_grad=True)
    (g,) = mg.autograd.grad(erf(x).sum(), x, create_graph=True)
    first = 2 / math.sqrt(math.pi) * np.exp(-(values**2))
    np.testing.assert_allclose(g.data, first, rtol=1e-14, atol=0)
    (h,) = mg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, -2 * values * first, rtol=1e-13, atol=1e-300)


def test_forward_mode_tangent():
    """The tangent of erf(x) along t is 2/sqrt(pi) exp(-x^2) t, for a batch of tangents."""
    values = np.array([0.5, -1.0])
    tangents = np.array([[1.0, 2.0], [-3.0, 0.5]])
    with autodiff.forward_mode():
        x = mg.tensor(values)
        x.tangent = tangents
        y = erf(x)
    expected = tangents * 2 / math.sqrt(math.pi) * np.exp(-(values**2))
    np.testing.assert_allclose(y.tangent, expected, rtol=1e-14)


def test_large_inputs_no_warnings():
    """erf and its gradient at +-1000: +-1 and 0, without overflow or other warnings."""
    x = mg.tensor([-1000.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = erf(x)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [-1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_float32_stays_float32():
    """A float32 input gives float32 values (math.erf rounded once) and a float32 gradient."""
    values = np.array([-1.25, 0.1, 2.0], dtype=np.float32)
    x = mg.tensor(values, requires_grad=True)
    y = erf(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, erf_ref(values.astype(np.float64)).astype(np.float32))
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_integer_input_gives_float64_and_no_gradient():
    """erf of integers is float64 (numpy's rule for ufuncs), a constant."""
    y = erf(mg.tensor([0, 1, 2]))
    assert y.dtype == np.float64
    assert not y.requires_grad
    np.testing.assert_array_equal(y.data, erf_ref(np.array([0.0, 1.0, 2.0])))


def test_python_numbers_and_arrays_are_accepted():
    assert erf(0.5).item() == math.erf(0.5)
    np.testing.assert_array_equal(erf(np.array([0.5])).data, [math.erf(0.5)])


def test_complex_input_is_a_dtype_error():
    with pytest.raises(DTypeError, match="Erf.*real"):
        erf(mg.tensor([1.0 + 1.0j]))


def test_complex_step_refuses_erf():
    """Erf is not holomorphic (math.erf is real only): the complex-step check stops, naming it."""
    assert not Erf.holomorphic
    with pytest.raises(MinigradError, match="Erf.*not holomorphic"):
        mg.gradcheck(erf, np.array([0.5]), method="complex")
