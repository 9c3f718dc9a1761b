"""Scans: cumsum and cumprod along a dim (PyTorch's ``dim``), with exact derivatives of cumprod
where its input has zeros, as PyTorch's."""

import math

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg
from minigrad import autodiff

rng = np.random.default_rng(0)


def near_one(shape):
    """Values of magnitude in [0.5, 1.5] with random signs, so products stay of order one."""
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


# Zeros in several places: one, two, at the start, at the end, along the middle axis.
ONE_ZERO = np.array([1.3, 0.0, -0.9, 1.1])
TWO_ZEROS = np.array([0.8, 0.0, 1.2, 0.0, -1.4])
ZERO_FIRST = np.array([0.0, 1.2, -0.7])
ZERO_LAST = np.array([1.2, -0.7, 0.0])
ZEROS_3D = np.array(
    [[[0.9, 1.1], [0.0, -0.7], [1.3, 0.6]], [[1.2, 0.0], [-1.2, 0.8], [0.0, 1.4]]]
)  # along axis 1: a zero in the middle of one column, at the end of another

CASES = [
    *(Case(f"cumsum {shape} dim={dim}", lambda x, dim=dim: mg.cumsum(x, dim),
           lambda x, dim=dim: np.cumsum(x, axis=dim), [rng.standard_normal(shape)])
      for shape, dim in [((5,), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((3, 4), 0), ((1, 3), 0)]),
    Case("cumsum 0-d", lambda x: mg.cumsum(x, 0), lambda x: x.copy(), [np.array(0.7)]),
    *(Case(f"cumprod {shape} dim={dim}", lambda x, dim=dim: mg.cumprod(x, dim),
           lambda x, dim=dim: np.cumprod(x, axis=dim), [near_one(shape)])
      for shape, dim in [((5,), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((3, 4), 0)]),
    Case("cumprod 0-d", lambda x: mg.cumprod(x, 0), lambda x: x.copy(), [np.array(0.7)]),
    *(Case(f"cumprod with zeros {name}", lambda x: mg.cumprod(x, 0),
           lambda x: np.cumprod(x, axis=0), [values])
      for name, values in [("one", ONE_ZERO), ("two", TWO_ZEROS), ("first", ZERO_FIRST),
                           ("last", ZERO_LAST)]),
    *(Case(f"cumprod with zeros (2, 3, 2) dim={dim}", lambda x, dim=dim: mg.cumprod(x, dim),
           lambda x, dim=dim: np.cumprod(x, axis=dim), [ZEROS_3D])
      for dim in (0, 1, 2)),
    Case("cumsum then cumprod", lambda x: mg.cumprod(mg.cumsum(x, 1), 0),
         lambda x: np.cumprod(np.cumsum(x, 1), 0), [near_one((3, 2)) * 0.3]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- values and gradients as PyTorch's documentation gives them ---------------------------------


def test_cumsum_values_and_gradient():
    """torch.cumsum(torch.tensor([[1., 2., 3.], [4., 5., 6.]]), dim=1) is [[1, 3, 6], [4, 9, 15]];
    the gradient of its sum is the number of running sums each element is in."""
    x = mg.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), requires_grad=True)
    y = x.cumsum(dim=1)
    np.testing.assert_array_equal(y.data, [[1, 3, 6], [4, 9, 15]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[3, 2, 1], [3, 2, 1]])


def others_products(x, k):
    """d (x_0 ... x_k) / d x_j for each j: the product of the others (0 for j > k)."""
    return np.array([math.prod(np.delete(x[: k + 1], j)) if j <= k else 0.0 for j in range(x.size)])


@pytest.mark.parametrize("values", [ONE_ZERO, TWO_ZEROS, ZERO_FIRST, ZERO_LAST, near_one(4)])
def test_cumprod_gradient_is_exact_with_zeros(values):
    """d/dx of sum_k u_k cumprod(x)_k, against the products of the other elements."""
    u = rng.standard_normal(values.size)
    x = mg.tensor(values, requires_grad=True)
    (x.cumprod(0) * u).sum().backward()
    expected = sum(u[k] * others_products(values, k) for k in range(values.size))
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-14, atol=1e-15)


def test_cumprod_hessian_is_exact_with_zeros():
    """The Hessian of sum(w * cumprod(x)) at x = [2, 0, 3, 0, 0.5], w = [1, 2, -1, 0.5, 3], as
    PyTorch's double backward gives it: d2/dx_a dx_b = sum over k >= max(a, b) of w_k times
    the product of x_0 .. x_k without x_a and x_b."""
    w = np.array([1.0, 2.0, -1.0, 0.5, 3.0])
    H = mg.hessian(lambda x: (x.cumprod(0) * w).sum())(mg.tensor([2.0, 0.0, 3.0, 0.0, 0.5]))
    expected = np.zeros((5, 5))
    expected[0, 1] = expected[1, 0] = -1.0
    expected[1, 2] = expected[2, 1] = -2.0
    expected[1, 3] = expected[3, 1] = 12.0
    np.testing.assert_allclose(H.data, expected, rtol=1e-14, atol=1e-14)


def test_cumprod_tangent_with_zeros():
    """Forward mode: the tangent of cumprod([2, 0, 3]) along t = [1, 1, 1] is
    [1, 2 * 1, 2 * 1 * 3] (only the terms through the zero's own tangent survive after it)."""
    with autodiff.forward_mode():
        x = mg.tensor([2.0, 0.0, 3.0])
        x.tangent = np.ones((1, 3))
        y = mg.cumprod(x, 0)
    np.testing.assert_allclose(y.tangent, [[1.0, 2.0, 6.0]], rtol=1e-15)


# ----- arguments as PyTorch's ----------------------------------------------------------------------


def test_integers_and_bools_accumulate_in_int64():
    """torch.tensor([1, 2], dtype=torch.int32).cumsum(0).dtype is int64; so is a bool's."""
    assert mg.cumsum(mg.tensor(np.array([1, 2], dtype=np.int32)), 0).dtype == np.int64
    assert mg.cumsum(mg.tensor(np.array([True, True])), 0).data.tolist() == [1, 2]
    assert mg.cumprod(mg.tensor(np.array([2, 3], dtype=np.int16)), 0).dtype == np.int64


def test_dtype_casts_the_input_first():
    x = mg.tensor(np.array([1.5, 2.5]), requires_grad=True)
    y = x.cumsum(0, dtype=np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, np.array([1.5, 4.0], np.float32))
    y.sum().backward()
    assert x.grad.dtype == np.float64


@pytest.mark.parametrize("fn", [mg.cumsum, mg.cumprod])
def test_numpy_axis_is_an_alias_for_dim(fn):
    x = np.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_array_equal(fn(mg.tensor(x), axis=1).data, fn(mg.tensor(x), dim=1).data)
    with pytest.raises(mg.OpError, match=rf"{fn.__name__}: dim=1 and axis=0 name the same"):
        fn(mg.tensor(x), 1, axis=0)


@pytest.mark.parametrize("fn", [mg.cumsum, mg.cumprod])
def test_dim_is_required_and_checked(fn):
    """PyTorch's cumsum has no default dim; one dim, in range."""
    name = fn.__name__
    x = mg.tensor(np.ones((2, 3)))
    with pytest.raises(mg.ShapeError, match=rf"{name}: dim=None is not one dimension"):
        fn(x)
    with pytest.raises(mg.ShapeError, match=rf"{name}: dim 2 is out of range.*\(2, 3\)"):
        fn(x, 2)
    with pytest.raises(mg.ShapeError, match=rf"{name}: dim=\(0, 1\) is not one dimension"):
        fn(x, (0, 1))
