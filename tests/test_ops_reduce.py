"""Reductions: sum, mean, var, std, amax, amin, max/min without a dim, prod, logsumexp (argmax,
argmin and the pairs of max(dim)/min(dim) are in test_ops_sort.py)."""

import warnings

import numpy as np
import pytest
from harness import Case, check_case
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import minigrad as mg
from minigrad import autodiff

rng = np.random.default_rng(0)


def np_logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) with the usual max shift (numpy has no logsumexp of its own)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def distinct(shape):
    """Values with no ties (gaps of at least 0.1), so max/min are differentiable everywhere."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 - size * 0.05).reshape(shape)


def near_one(shape):
    """Values of magnitude in [0.5, 1.5] with random signs, so products stay of order one."""
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


# (shape, axis, keepdims): 0-d, 1-D, 3-D with int / negative / tuple axes, and a size-1 axis.
LAYOUTS = [
    ((), None, False),
    ((), None, True),
    ((4,), 0, False),
    ((4,), -1, True),
    ((4,), None, True),
    ((2, 3, 4), None, False),
    ((2, 3, 4), 1, False),
    ((2, 3, 4), -1, True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), (-1, 0), True),
    ((2, 3, 4), (0, 1, 2), True),
    ((3, 1, 2), 1, False),
    ((3, 1, 2), (1, 2), True),
]


def nondegenerate(shape, axis):
    """Whether the reduced slices have at least two elements (std needs a nonzero spread)."""
    axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
    return int(np.prod([shape[a] for a in axes])) >= 2


def reduction(name, fn, ref, make, layouts=LAYOUTS, **kw):
    return [
        Case(
            f"{name} {shape} axis={axis} keepdims={keepdims}",
            lambda x, axis=axis, keepdims=keepdims: fn(x, axis=axis, keepdims=keepdims),
            lambda x, axis=axis, keepdims=keepdims: ref(x, axis=axis, keepdims=keepdims),
            [make(shape)],
            **kw,
        )
        for shape, axis, keepdims in layouts
    ]


def with_ddof(fn, ddof):
    """``fn`` (numpy's var or std) with ``ddof``, or mg's with the same ``correction``."""
    if fn in (np.var, np.std):
        return lambda x, axis, keepdims: fn(x, axis=axis, ddof=ddof, keepdims=keepdims)
    return lambda x, axis, keepdims: fn(x, axis, correction=ddof, keepdim=keepdims)


STD_LAYOUTS = [layout for layout in LAYOUTS if nondegenerate(*layout[:2])]

# Products with zeros: row 0 has one zero, row 1 two; column 1 has both zeros.
WITH_ZEROS = np.array([[1.5, 0.0, -0.8], [0.0, 1.2, 0.0]])
WITH_ZEROS_3D = np.array(
    [[[0.9, 0.0], [1.1, -0.7], [1.3, 0.6]], [[0.0, 0.8], [-1.2, 0.0], [0.7, 1.4]]]
)
PROD_ZERO_CASES = [
    Case(f"prod with zeros axis={axis}", lambda x, axis=axis: mg.prod(x, axis=axis),
         lambda x, axis=axis: np.prod(x, axis=axis), [WITH_ZEROS])
    for axis in (None, 0, 1, -1)
] + [
    Case("prod with zeros 3-D axis=(0, 2) keepdims", lambda x: mg.prod(x, (0, 2), keepdims=True),
         lambda x: np.prod(x, (0, 2), keepdims=True), [WITH_ZEROS_3D]),
    Case("prod with one zero 1-D", mg.prod, np.prod, [np.array([1.3, 0.0, -0.9, 1.1])]),
    Case("prod with two zeros 1-D", mg.prod, np.prod, [np.array([0.0, 1.3, 0.0, 0.8])]),
]  # fmt: skip

CASES = [
    *reduction("sum", mg.sum, np.sum, rng.standard_normal),
    *reduction("mean", mg.mean, np.mean, rng.standard_normal),
    *reduction("var ddof=0", with_ddof(mg.var, 0), with_ddof(np.var, 0), rng.standard_normal),
    *reduction(
        "var ddof=1", with_ddof(mg.var, 1), with_ddof(np.var, 1), rng.standard_normal, STD_LAYOUTS
    ),
    *reduction(
        "std ddof=0", with_ddof(mg.std, 0), with_ddof(np.std, 0), rng.standard_normal, STD_LAYOUTS
    ),
    *reduction(
        "std ddof=1", with_ddof(mg.std, 1), with_ddof(np.std, 1), rng.standard_normal, STD_LAYOUTS
    ),
    *reduction("amax", mg.amax, np.max, distinct),
    *reduction("amin", mg.amin, np.min, distinct),
    Case("max over all (2, 3, 4)", mg.max, np.max, [distinct((2, 3, 4))]),
    Case("min over all (3,)", mg.min, np.min, [distinct((3,))]),
    *reduction("prod", mg.prod, np.prod, near_one),
    *PROD_ZERO_CASES,
    *reduction("logsumexp", mg.logsumexp, np_logsumexp, rng.standard_normal),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- max / min at ties -------------------------------------------------------------------------


def grad_of(fn, x, grad_output=None):
    x = mg.tensor(x, requires_grad=True)
    (g,) = mg.autograd.grad(fn(x), [x], grad_output=grad_output)
    return g.data


@pytest.mark.parametrize(
    "fn, x, expected",
    [
        (mg.max, [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
        (mg.min, [2.0, 1.0, 1.0, 5.0], [0.0, 0.5, 0.5, 0.0]),
        (mg.max, [4.0, 4.0, 4.0], [1 / 3, 1 / 3, 1 / 3]),
        (mg.max, [[3.0, 1.0], [0.0, 3.0]], [[0.5, 0.0], [0.0, 0.5]]),
        (mg.min, [[-2.0, 1.0], [-2.0, -2.0]], [[1 / 3, 0.0], [1 / 3, 1 / 3]]),
        (mg.amax, [[3.0, 1.0], [0.0, 3.0]], [[0.5, 0.0], [0.0, 0.5]]),
        (mg.amin, [2.0, 1.0, 1.0, 5.0], [0.0, 0.5, 0.5, 0.0]),
    ],
    ids=["max two tied", "min two tied", "max all tied", "max 2-D", "min 2-D three tied",
         "amax 2-D", "amin two tied"],
)  # fmt: skip
def test_gradient_at_ties_is_split_evenly(fn, x, expected):
    """max() and min() without a dim, and amax/amin, split the gradient among ties (PyTorch's
    rule for these; max(dim) sends it to the one index it returns, see test_ops_sort.py)."""
    np.testing.assert_allclose(grad_of(fn, x), expected, rtol=1e-15)


@pytest.mark.parametrize("keepdims", [False, True])
def test_gradient_at_ties_per_axis(keepdims):
    """Each row's cotangent is shared by that row's tied maxima."""
    x = np.array([[1.0, 3.0, 3.0], [4.0, 4.0, 4.0], [5.0, 1.0, 2.0]])
    u = np.array([2.0, 3.0, -1.0])
    share = np.array([[0, 1 / 2, 1 / 2], [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]])
    grad_output = u[:, None] if keepdims else u
    g = grad_of(lambda t: mg.amax(t, dim=1, keepdim=keepdims), x, grad_output)
    np.testing.assert_allclose(g, u[:, None] * share, rtol=1e-15)


def test_gradient_at_ties_over_axis_tuple():
    x = np.array([[[2.0, 0.0], [1.0, 2.0]], [[-1.0, -1.0], [-3.0, -1.0]]])  # min over axes (1, 2)
    g = grad_of(lambda t: mg.amin(t, dim=(1, 2)), x, np.array([1.0, 6.0]))
    np.testing.assert_allclose(g, [[[0, 1], [0, 0]], [[0, 0], [6, 0]]], rtol=1e-15)
    g = grad_of(lambda t: mg.amax(t, axis=(-1, -2)), x, np.array([1.0, 6.0]))
    np.testing.assert_allclose(g, [[[0.5, 0], [0, 0.5]], [[2, 2], [0, 2]]], rtol=1e-15)


def test_forward_mode_at_ties_averages_the_tied_tangents():
    """The JVP agrees with the VJP: the tangent of max is the mean of the tied tangents."""
    t = np.array([[1.0, 10.0, 100.0], [2.0, 20.0, 200.0]])
    with autodiff.forward_mode():
        x = mg.tensor([1.0, 3.0, 3.0])
        x.tangent = t
        y = mg.max(x)
    np.testing.assert_allclose(y.tangent, [55.0, 110.0], rtol=1e-15)


# ----- prod with zeros: exact derivatives ----------------------------------------------------------


def others_product(x):
    """d prod / d x_i = product of the other elements."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


def others_product_hessian(x):
    """d^2 prod / d x_i d x_j = product of the elements other than i and j (0 when i == j)."""
    n = x.size
    return np.array(
        [[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(n)] for i in range(n)]
    )


@pytest.mark.parametrize(
    "values",
    [[2.0, 0.0, 3.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [2.0, -1.0, 0.5, 0.0], [2.0, -1.5, 4.0]],
    ids=["one zero", "two zeros", "all zeros", "one zero of four", "no zero"],
)
def test_prod_gradient_and_hessian_with_zeros(values):
    x_np = np.array(values)
    x = mg.tensor(x_np, requires_grad=True)
    (g,) = mg.autograd.grad(mg.prod(x), [x], create_graph=True)
    np.testing.assert_allclose(g.data, others_product(x_np), rtol=1e-15, atol=0)
    rows = [mg.autograd.grad(g[i], [x], retain_graph=True)[0].data for i in range(x_np.size)]
    np.testing.assert_allclose(np.stack(rows), others_product_hessian(x_np), rtol=1e-15, atol=0)


def test_prod_per_axis_gradient_and_hessian_with_zeros():
    """prod over rows, one with one zero and one with two: both derivatives exact, block-diagonal."""
    x_np = WITH_ZEROS
    u = np.array([2.0, -3.0])
    x = mg.tensor(x_np, requires_grad=True)
    (g,) = mg.autograd.grad(mg.prod(x, axis=1), [x], grad_output=u, create_graph=True)
    expected = np.stack([u[r] * others_product(x_np[r]) for r in range(2)])
    np.testing.assert_allclose(g.data, expected, rtol=1e-15, atol=0)
    for r in range(2):
        block = u[r] * others_product_hessian(x_np[r])
        for i in range(3):
            (h,) = mg.autograd.grad(g[r, i], [x], retain_graph=True)
            row = np.zeros_like(x_np)
            row[r] = block[i]
            np.testing.assert_allclose(h.data, row, rtol=1e-15, atol=0, err_msg=f"{r}, {i}")


# ----- logsumexp -----------------------------------------------------------------------------------


def softmax(x, axis=None):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize(
    "values, value, gradient",
    [
        ([1000.0, 1000.0], 1000.0 + np.log(2.0), [0.5, 0.5]),
        ([-np.inf, 0.0], 0.0, [0.0, 1.0]),
        ([-1000.0, -1000.0, -1000.0], -1000.0 + np.log(3.0), [1 / 3, 1 / 3, 1 / 3]),
        ([800.0, 0.0], 800.0, [1.0, 0.0]),
    ],
)
def test_logsumexp_extremes_without_overflow(values, value, gradient):
    x = mg.tensor(values, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow or invalid-value warning fails the test
        y = mg.logsumexp(x)
        y.backward()
    assert np.isfinite(y.item())
    np.testing.assert_allclose(y.item(), value, rtol=1e-15)
    np.testing.assert_allclose(x.grad.data, gradient, rtol=1e-15, atol=1e-300)


LARGE = np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.5, 2.0]])


@pytest.mark.parametrize(
    "x_np, axis",
    [(LARGE, -1), (LARGE.T, 0), (LARGE - 1000.0 * (LARGE > 100), None), (LARGE[None], (0, 2))],
)
def test_logsumexp_gradient_is_softmax(x_np, axis):
    x = mg.tensor(x_np, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.logsumexp(x, axis=axis).sum().backward()
    np.testing.assert_allclose(x.grad.data, softmax(x_np, axis), rtol=1e-13)


# ----- edge cases --------------------------------------------------------------------------------

X23 = np.arange(6.0).reshape(2, 3) - 2.5


@pytest.mark.parametrize(
    "fn, ref",
    [(mg.sum, np.sum), (mg.mean, np.mean), (mg.amax, np.max), (mg.amin, np.min),
     (mg.prod, np.prod), (mg.logsumexp, np_logsumexp), (mg.all, np.all), (mg.any, np.any)],
    ids=["sum", "mean", "amax", "amin", "prod", "logsumexp", "all", "any"],
)  # fmt: skip
@pytest.mark.parametrize("empty", [(), []], ids=["()", "[]"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reduction_over_an_empty_dim_list_reduces_every_dim_as_pytorch(fn, ref, empty, keepdim):
    """PyTorch's rule (numpy's is the identity): x.sum(dim=()) is x.sum(), e.g. 15 for
    torch.arange(6.).reshape(2, 3)."""
    out = fn(mg.tensor(X23), empty, keepdim)
    expected = ref(X23, axis=None, keepdims=keepdim)
    assert out.shape == expected.shape == ((1, 1) if keepdim else ())
    np.testing.assert_allclose(out.data, expected, rtol=1e-15)


@pytest.mark.parametrize("fn", [mg.sum, mg.mean, mg.amax, mg.prod])
def test_gradient_over_an_empty_dim_list_is_the_full_reduction_gradient(fn):
    u = 1.5
    expected = grad_of(fn, X23, np.asarray(u))
    np.testing.assert_array_equal(grad_of(lambda t: fn(t, dim=()), X23, np.asarray(u)), expected)


@pytest.mark.parametrize(
    "fn, ref, shape, axis",
    [
        (mg.sum, np.sum, (0,), None),
        (mg.sum, np.sum, (0, 3), 0),
        (mg.sum, np.sum, (0, 3), 1),
        (mg.prod, np.prod, (0,), None),
        (mg.prod, np.prod, (2, 0), 1),
        (mg.logsumexp, np_logsumexp, (3, 0), 0),
        (mg.amax, np.max, (3, 0), 0),
        (mg.amin, np.min, (2, 0, 3), (0, 2)),
    ],
    ids=[
        "sum (0,)",
        "sum (0,3) axis 0",
        "sum (0,3) axis 1",
        "prod (0,)",
        "prod (2,0) axis 1",
        "logsumexp (3,0) axis 0",
        "amax (3,0) axis 0",
        "amin (2,0,3) axis (0,2)",
    ],  # fmt: skip
)
def test_reductions_of_zero_size_tensors_like_numpy(fn, ref, shape, axis):
    """Sum over nothing is 0, prod over nothing 1; an empty result stays empty."""
    x = np.zeros(shape)
    out = fn(mg.tensor(x), axis=axis)
    expected = ref(x, axis=axis)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)


def test_sum_of_zero_size_tensor_has_empty_gradient():
    x = mg.tensor(np.zeros((0, 3)), requires_grad=True)
    (g,) = mg.autograd.grad(mg.sum(x, axis=0), [x], grad_output=np.ones(3))
    assert g.shape == (0, 3)


def test_mean_of_empty_is_nan_like_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.mean(np.zeros((0,)))
        out = mg.mean(mg.tensor(np.zeros((0,))))
    assert np.isnan(expected) and np.isnan(out.item())


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_of_empty_raise(name):
    """As PyTorch: no extreme of an empty tensor, nor along a dim of size 0."""
    fn, reduce = getattr(mg, name), getattr(mg, "a" + name)
    with pytest.raises(mg.ShapeError, match=rf"{name}: the tensor is empty \(shape \(0,\)\)"):
        fn(mg.tensor(np.zeros((0,))))
    with pytest.raises(mg.ShapeError, match=rf"{name}: dim 0 of the tensor \(shape \(0, 3\)\)"):
        fn(mg.tensor(np.zeros((0, 3))), 0)
    with pytest.raises(mg.OpError, match=rf"{name.capitalize()}: zero-size array.*\(0, 3\)"):
        reduce(mg.tensor(np.zeros((0, 3))), axis=0)


# ----- property test -------------------------------------------------------------------------------


@st.composite
def array_and_axes(draw):
    x = draw(
        arrays(np.float64, array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4),
               elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False))
    )  # fmt: skip
    if draw(st.booleans()):
        axis = None
    else:
        axes = draw(
            st.lists(st.sampled_from(range(x.ndim)), unique=True) if x.ndim else st.just([])
        )
        # Each axis may be named by its negative alias.
        axis = tuple(a - x.ndim if draw(st.booleans()) else a for a in axes)
        if len(axis) == 1 and draw(st.booleans()):
            axis = axis[0]
        axis = axis or None  # no dims at all means every dim (PyTorch), numpy's axis=None
    return x, axis, draw(st.booleans())


@settings(max_examples=25, deadline=None)
@given(array_and_axes())
def test_reductions_match_numpy_on_random_shapes_and_axes(drawn):
    x_np, axis, keepdims = drawn
    x = mg.tensor(x_np, requires_grad=True)
    for fn, ref in [(mg.sum, np.sum), (mg.mean, np.mean), (mg.amax, np.max), (mg.amin, np.min)]:
        out = fn(x, axis=axis, keepdims=keepdims)
        expected = ref(x_np, axis=axis, keepdims=keepdims)
        assert out.shape == np.shape(expected), fn.__name__
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12, err_msg=fn.__name__)
    (g,) = mg.autograd.grad(mg.sum(mg.sum(x, axis=axis, keepdims=keepdims)), [x])
    np.testing.assert_array_equal(g.data, np.ones_like(x_np))
