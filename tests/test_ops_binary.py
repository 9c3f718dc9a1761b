"""Binary elementwise operations, ``where`` and ``clip``: broadcasting, constants, dtypes.

Values are checked against numpy, derivatives against finite differences (``CASES``) or closed
forms written from the math (the plain tests).
"""

import operator

import numpy as np
import pytest
from harness import Case, check_case
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minigrad as mg
from minigrad import autodiff

rng = np.random.default_rng(1)

# Equal shapes, then broadcast pairs (either side smaller, both stretched, 0-d, rank change).
SHAPE_PAIRS = [
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((4, 1, 3), (2, 1)),
]


def normal(shape):
    return np.asarray(rng.standard_normal(shape))


def positive(shape):
    return np.asarray(rng.uniform(0.5, 2.0, shape))


def away_from_zero(shape):
    return np.asarray(rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape))


def separated(shape_a, shape_b, gap=0.1):
    """Two normal arrays whose broadcast elements differ by more than ``gap`` (no ties)."""
    while True:
        a, b = normal(shape_a), normal(shape_b)
        if np.all(np.abs(a - b) > gap):
            return a, b


def independent(draw_a, draw_b):
    return lambda shape_a, shape_b: (draw_a(shape_a), draw_b(shape_b))


# (name, op on Tensors, numpy reference, input generator for a pair of shapes)
BINARY = [
    ("add", operator.add, np.add, independent(normal, normal)),
    ("sub", operator.sub, np.subtract, independent(normal, normal)),
    ("mul", operator.mul, np.multiply, independent(normal, normal)),
    ("div", operator.truediv, np.true_divide, independent(normal, away_from_zero)),
    ("pow", operator.pow, np.power, independent(positive, normal)),
    ("maximum", mg.maximum, np.maximum, separated),
    ("minimum", mg.minimum, np.minimum, separated),
]

CASES = [
    Case(f"{name} {sa} {sb}", op, ref, list(draw(sa, sb)))
    for name, op, ref, draw in BINARY
    for sa, sb in SHAPE_PAIRS
]

# The function forms agree with the operators.
CASES += [
    Case("mg.add (2, 3) (3,)", mg.add, np.add, [normal((2, 3)), normal(3)]),
    Case("mg.sub (2, 1) (1, 3)", mg.sub, np.subtract, [normal((2, 1)), normal((1, 3))]),
    Case("mg.mul () (2, 3)", mg.mul, np.multiply, [normal(()), normal((2, 3))]),
    Case("mg.div (2, 3) (3,)", mg.div, np.true_divide, [normal((2, 3)), away_from_zero(3)]),
    Case("mg.pow (2, 1) (1, 3)", mg.pow, np.power, [positive((2, 1)), normal((1, 3))]),
]

# ----- constants: Python scalars and ndarrays on either side --------------------------------------

ARRAY_23 = rng.uniform(0.5, 2.0, (2, 3))  # positive, so it can be a base of pow
# (name, op, numpy reference, draw x for op(x, c), draw x for op(c, x))
CONSTANT_OPS = [
    ("add", operator.add, np.add, normal, normal),
    ("sub", operator.sub, np.subtract, normal, normal),
    ("mul", operator.mul, np.multiply, normal, normal),
    ("div", operator.truediv, np.true_divide, normal, away_from_zero),
    ("pow", operator.pow, np.power, positive, normal),  # x ** c needs x > 0; c ** x does not
]
for name, op, ref, draw_left, draw_right in CONSTANT_OPS:
    for label, c in (("2.5", 2.5), ("3", 3), ("ndarray (2, 3)", ARRAY_23)):
        # default arguments bind op, ref and c now, so each lambda keeps its own
        CASES += [
            Case(f"{name} (3,) with {label} on the right",
                 lambda x, op=op, c=c: op(x, c), lambda x, ref=ref, c=c: ref(x, c),
                 [draw_left(3)]),
            Case(f"{name} {label} on the left with (3,)",
                 lambda x, op=op, c=c: op(c, x), lambda x, ref=ref, c=c: ref(c, x),
                 [draw_right(3)]),
        ]  # fmt: skip

CASES += [
    Case("x ** 2 (2, 3)", lambda x: x**2, lambda x: x**2, [normal((2, 3))]),
    Case("x ** 3 0-d negative base", lambda x: x**3, lambda x: x**3, [np.array(-1.3)]),
    Case("x ** 0.5 (3,)", lambda x: x**0.5, lambda x: x**0.5, [positive(3)]),
    Case("2 ** x (2, 3)", lambda x: 2**x, lambda x: 2**x, [normal((2, 3))]),
    Case("2.0 ** x 0-d", lambda x: 2.0**x, lambda x: 2.0**x, [np.array(0.7)]),
    Case("maximum (2, 3) with 0.0", lambda x: mg.maximum(x, 0.0), lambda x: np.maximum(x, 0.0),
         [away_from_zero((2, 3))]),
    Case("minimum 0.0 with (2, 3)", lambda x: mg.minimum(0.0, x), lambda x: np.minimum(0.0, x),
         [away_from_zero((2, 3))]),
    Case("maximum (3,) with ndarray (2, 3)", lambda x: mg.maximum(x, ARRAY_23 - 1.25),
         lambda x: np.maximum(x, ARRAY_23 - 1.25), [np.array([-1.0, 0.1, 1.2])]),
    Case("minimum ndarray (2, 3) with (3,)", lambda x: mg.minimum(ARRAY_23 - 1.25, x),
         lambda x: np.minimum(ARRAY_23 - 1.25, x), [np.array([-1.0, 0.1, 1.2])]),
    # an integer operand is a constant: only the float one is differentiated
    Case("mul float (2, 3) by int (3,)", operator.mul, np.multiply,
         [normal((2, 3)), np.array([1, -2, 3])]),
    Case("sub int (2, 1) minus float (1, 3)", operator.sub, np.subtract,
         [np.array([[4], [-1]]), normal((1, 3))]),
]  # fmt: skip

# ----- where -------------------------------------------------------------------------------------


COND_23 = np.array([[True, False, True], [False, False, True]])
COND_3 = np.array([True, False, True])
COND_411 = np.array([True, False, False, True]).reshape(4, 1, 1)
CASES += [
    Case("where (2, 3) (2, 3) (2, 3)", lambda a, b: mg.where(COND_23, a, b),
         lambda a, b: np.where(COND_23, a, b), [normal((2, 3)), normal((2, 3))]),
    Case("where (2, 3) (3,) (2, 1)", lambda a, b: mg.where(COND_23, a, b),
         lambda a, b: np.where(COND_23, a, b), [normal(3), normal((2, 1))]),
    Case("where cond (3,) broadcast over (2, 1) and ()", lambda a, b: mg.where(COND_3, a, b),
         lambda a, b: np.where(COND_3, a, b), [normal((2, 1)), normal(())]),
    Case("where cond (4, 1, 1) adds axes to (2, 3) and (3,)",
         lambda a, b: mg.where(COND_411, a, b), lambda a, b: np.where(COND_411, a, b),
         [normal((2, 3)), normal(3)]),
    Case("where (2, 3) with constant 0.0", lambda a: mg.where(COND_23, a, 0.0),
         lambda a: np.where(COND_23, a, 0.0), [normal((2, 3))]),
    Case("where (2, 3) with constant 1.5 first", lambda b: mg.where(COND_23, 1.5, b),
         lambda b: np.where(COND_23, 1.5, b), [normal(3)]),
    Case("where (2, 3) with ndarray first", lambda b: mg.where(COND_23, ARRAY_23, b),
         lambda b: np.where(COND_23, ARRAY_23, b), [normal((2, 1))]),
    Case("where cond from a comparison of a tensor", lambda a, b: mg.where(a > 0, a, b),
         lambda a, b: np.where(a > 0, a, b), [away_from_zero((2, 3)), normal((2, 3))]),
]  # fmt: skip

# ----- clip --------------------------------------------------------------------------------------


def avoiding(shape, points, gap=0.05, low=-1.5, high=1.5):
    """Uniform values at least ``gap`` from each of ``points`` (the kinks of clip)."""
    while True:
        x = np.asarray(rng.uniform(low, high, shape))
        if all(np.all(np.abs(x - p) > gap) for p in points):
            return x


LO_3 = np.array([-1.0, -0.4, 0.2])
CASES += [
    Case("clip (2, 3) to [-0.5, 0.5]", lambda x: mg.clip(x, -0.5, 0.5),
         lambda x: np.clip(x, -0.5, 0.5), [avoiding((2, 3), [-0.5, 0.5])]),
    Case("clip 0-d inside", lambda x: mg.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
         [np.array(0.3)]),
    Case("clip 0-d outside", lambda x: mg.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
         [np.array(-0.8)]),
    Case("clip (2, 3) min only", lambda x: mg.clip(x, min=0.2), lambda x: np.clip(x, 0.2, None),
         [avoiding((2, 3), [0.2])]),
    Case("clip (1, 4) max only", lambda x: x.clip(max=-0.1), lambda x: np.clip(x, None, -0.1),
         [avoiding((1, 4), [-0.1])]),
    Case("clip (2, 3) to ndarray bounds (3,)", lambda x: mg.clip(x, LO_3, LO_3 + 0.7),
         lambda x: np.clip(x, LO_3, LO_3 + 0.7),
         [np.array([[-1.5, -0.2, 0.5], [-0.5, 0.5, 1.2]])]),
    # tensor bounds are differentiated too
    Case("clip (2, 3) to tensor bounds (3,) and ()", lambda x, lo, hi: mg.clip(x, lo, hi),
         lambda x, lo, hi: np.clip(x, lo, hi),
         [np.array([[-1.5, -0.2, 0.1], [-0.5, 0.5, 1.2]]), LO_3.copy(), np.array(0.7)]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- closed forms: ties, clip, the same tensor twice ---------------------------------------------


def test_maximum_and_minimum_split_the_gradient_at_ties():
    """At a == b each operand gets half of the gradient; elsewhere the larger (smaller) gets all."""
    a_values, b_values = np.array([1.0, 2.0, 3.0, -0.5]), np.array([1.0, 0.0, 5.0, -0.5])
    for op, a_share in ((mg.maximum, [0.5, 1.0, 0.0, 0.5]), (mg.minimum, [0.5, 0.0, 1.0, 0.5])):
        a = mg.tensor(a_values, requires_grad=True)
        b = mg.tensor(b_values, requires_grad=True)
        op(a, b).sum().backward()
        np.testing.assert_array_equal(a.grad.data, a_share)
        np.testing.assert_array_equal(b.grad.data, 1 - np.array(a_share))


@pytest.mark.parametrize("op", [mg.maximum, mg.minimum], ids=["maximum", "minimum"])
def test_ties_split_the_tangent_too(op):
    """Forward mode at a tie: the output tangent is (t_a + t_b) / 2."""
    with autodiff.forward_mode():
        a, b = mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0])
        a.tangent, b.tangent = np.array([[2.0, 0.0]]), np.array([[4.0, -6.0]])
        y = op(a, b)
    np.testing.assert_array_equal(y.tangent, [[3.0, -3.0]])


def test_ties_with_a_broadcast_operand():
    """maximum(a, 1.0 as a 0-d tensor): b collects 1 per element below it and 1/2 per tie."""
    a = mg.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 3.0]], requires_grad=True)
    b = mg.tensor(1.0, requires_grad=True)
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [[0.0, 0.5, 1.0], [0.5, 0.5, 1.0]])
    assert b.grad.shape == ()
    assert b.grad.item() == 1.0 + 0.5 + 0.5 + 0.5


@pytest.mark.parametrize("op", [mg.maximum, mg.minimum], ids=["maximum", "minimum"])
def test_maximum_of_a_tensor_with_itself_has_gradient_one(op):
    """max(x, x) = x, so the two halves add up to 1."""
    x = mg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    op(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 1.0])


CLIP_X = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
CLIP_INSIDE = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])  # [min, max] = [-1, 1], bounds in

CLIP_BOUNDS = {
    "python floats": lambda: (-1.0, 1.0),
    "ndarrays": lambda: (np.full(7, -1.0), np.full(7, 1.0)),
    "tensors": lambda: (mg.tensor(-1.0), mg.tensor(1.0)),
    "tensors that require grad": lambda: (
        mg.tensor(-1.0, requires_grad=True),
        mg.tensor(1.0, requires_grad=True),
    ),
}


@pytest.mark.parametrize("bounds", CLIP_BOUNDS.values(), ids=CLIP_BOUNDS.keys())
def test_clip_gradient_is_one_inside_bounds_included(bounds):
    """d clip(x, -1, 1) / dx is 1 on [-1, 1] (the bounds too) and 0 outside, in both modes."""
    lo, hi = bounds()
    x = mg.tensor(CLIP_X, requires_grad=True)
    y = mg.clip(x, lo, hi)
    np.testing.assert_array_equal(y.data, np.clip(CLIP_X, -1.0, 1.0))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, CLIP_INSIDE)
    with autodiff.forward_mode():
        x = mg.tensor(CLIP_X)
        x.tangent = np.ones((1, 7))
        y = mg.clip(x, *bounds())
    np.testing.assert_array_equal(y.tangent, CLIP_INSIDE[None])


def test_clip_gradient_of_tensor_bounds():
    """A tensor bound gets the gradient of the elements clipped to it (strictly beyond it)."""
    x = mg.tensor(CLIP_X, requires_grad=True)
    lo = mg.tensor(-1.0, requires_grad=True)
    hi = mg.tensor(1.0, requires_grad=True)
    mg.clip(x, lo, hi).sum().backward()
    # clip(x + t, lo + t, hi + t) = clip(x, lo, hi) + t: the three gradients add up to 1 per
    # element; x takes all of it on [lo, hi], so a bound only takes elements beyond it.
    assert lo.grad.item() == 1.0  # x = -2
    assert hi.grad.item() == 1.0  # x = 2


@pytest.mark.parametrize(
    "lo, hi, inside",
    [(0.0, None, CLIP_X >= 0.0), (None, 0.5, CLIP_X <= 0.5)],
    ids=["min only", "max only"],
)
def test_clip_with_one_bound(lo, hi, inside):
    x = mg.tensor(CLIP_X, requires_grad=True)
    mg.clip(x, lo, hi).sum().backward()
    np.testing.assert_array_equal(x.grad.data, inside.astype(float))


@pytest.mark.parametrize(
    "fn, grad",
    [
        (lambda x: x - x, lambda x: np.zeros_like(x)),
        (lambda x: x + x, lambda x: np.full_like(x, 2.0)),
        (lambda x: x * x, lambda x: 2 * x),
        (lambda x: x / x, lambda x: np.zeros_like(x)),
        (lambda x: x**x, lambda x: x**x * (np.log(x) + 1)),
    ],
    ids=["x - x", "x + x", "x * x", "x / x", "x ** x"],
)
def test_same_tensor_on_both_sides(fn, grad):
    """Both paths into one tensor accumulate: d(x*x)/dx = 2x, d(x-x)/dx = 0, ..."""
    values = np.array([0.5, 1.25, 2.0])
    x = mg.tensor(values, requires_grad=True)
    fn(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, grad(values), rtol=1e-14, atol=1e-15)


def test_second_derivative_of_x_times_x_is_two():
    x = mg.tensor([0.5, -3.0], requires_grad=True)
    (g,) = mg.autograd.grad((x * x).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, [1.0, -6.0])
    (h,) = mg.autograd.grad(g.sum(), [x])
    np.testing.assert_array_equal(h.data, [2.0, 2.0])


# ----- dtypes ------------------------------------------------------------------------------------


class Raw:
    """An operand passed as it is (an ndarray), not wrapped in a Tensor."""

    def __init__(self, value):
        self.value = value


F32 = np.array([1.5, -2.0], dtype=np.float32)
F64 = np.array([0.25, 3.0])
I64 = np.array([1, -2])
I32 = np.array([3, 4], dtype=np.int32)

# (description, op, left, right, dtype): ndarrays become Tensors, Raw(...) and numbers stay.
# The dtypes are PyTorch's (the unit tests run with float64 as the default dtype): categories
# bool < int < float < complex; across categories the higher one's dtype, not widened; 0-d
# tensors and Python numbers count only when of a higher category; int / int is the default.
ZERO_D_F64 = np.array(2.0)
PROMOTION = [
    ("float32 * 2.0", operator.mul, F32, 2.0, np.float32),
    ("2.0 * float32", operator.mul, 2.0, F32, np.float32),
    ("float32 / 2", operator.truediv, F32, 2, np.float32),
    ("float32 ** 2", operator.pow, F32, 2, np.float32),
    ("float32 + float64", operator.add, F32, F64, np.float64),
    ("float64 - float32", operator.sub, F64, F32, np.float64),
    ("float32 + int64", operator.add, F32, I64, np.float32),  # numpy: float64
    ("float32 + 0-d float64", operator.add, F32, ZERO_D_F64, np.float32),  # numpy: float64
    ("int64 + 0-d float64", operator.add, I64, ZERO_D_F64, np.float64),
    ("float32 + float64 ndarray", operator.add, F32, Raw(F64), np.float64),
    ("float32 + np.float64 scalar", operator.add, F32, np.float64(1.0), np.float32),
    ("int64 + 0.5", operator.add, I64, 0.5, np.float64),  # the default dtype
    ("0.5 - int64", operator.sub, 0.5, I64, np.float64),
    ("int64 * 2", operator.mul, I64, 2, np.int64),
    ("int64 / int64", operator.truediv, I64, I64, np.float64),  # the default dtype
    ("int32 / int32", operator.truediv, I32, I32, np.float64),  # numpy: float64 too
    ("int32 + int32", operator.add, I32, I32, np.int32),
    ("int32 * 3", operator.mul, I32, 3, np.int32),
    ("maximum float32 with 0.0", mg.maximum, F32, 0.0, np.float32),
]


def unwrap(operand):
    return operand.value if isinstance(operand, Raw) else operand


def wrap(operand):
    if isinstance(operand, Raw):
        return operand.value
    return mg.tensor(operand) if isinstance(operand, np.ndarray) else operand


NUMPY_OF = {mg.maximum: np.maximum}


@pytest.mark.parametrize(
    "op, left, right, dtype", [p[1:] for p in PROMOTION], ids=[p[0] for p in PROMOTION]
)
def test_dtype_promotion_follows_pytorch(op, left, right, dtype):
    """The result's dtype is PyTorch's; its values are numpy's in that dtype."""
    expected = NUMPY_OF.get(op, op)(unwrap(left), unwrap(right))
    out = op(wrap(left), wrap(right))
    assert isinstance(out, mg.Tensor)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_integer_true_division_and_python_floats_take_the_default_dtype(float32_default):
    """With PyTorch's default, float32: int / int and int * 0.5 are float32 (numpy: float64)."""
    i = mg.tensor([1, 3])
    assert (i / i).dtype == np.float32 and (i * 0.5).dtype == np.float32
    assert (i / 2).tolist() == [0.5, 1.5]
    assert (mg.tensor([1.0, 2.0]) * 1j).dtype == np.complex64


def test_a_promoted_operand_gets_its_gradient_in_its_own_dtype():
    """float32 weights times a float64 0-d tensor: the product stays float32 (PyTorch), and the
    weights' gradient is float32."""
    w = mg.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    y = (w * mg.tensor(3.0)).sum()
    assert y.dtype == np.float32
    y.backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize(
    "op",
    [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow],
    ids=["add", "sub", "mul", "div", "pow"],
)
def test_ndarray_on_the_left_gives_a_tensor(op):
    """ndarray (op) Tensor defers to the Tensor: a Tensor on the tape, not an object ndarray."""
    left = np.array([[0.5, 2.0, 1.5], [1.0, 3.0, 0.75]])
    right_values = np.array([1.5, 0.5, 2.0])
    right = mg.tensor(right_values, requires_grad=True)
    out = op(left, right)
    assert isinstance(out, mg.Tensor)
    assert out.requires_grad
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.data, op(left, right_values), rtol=1e-15)
    out.sum().backward()
    assert right.grad.shape == (3,)


def test_numpy_scalar_on_the_left_gives_a_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    out = np.float64(3.0) * x
    assert isinstance(out, mg.Tensor)
    assert out.requires_grad
    np.testing.assert_array_equal(out.data, [3.0, 6.0])


# ----- property: broadcasting in mul sums the gradient back --------------------------------------


def sum_to(x, shape):
    """Sum ``x`` over the axes that broadcasting ``shape`` to ``x.shape`` stretched."""
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, d in enumerate(shape) if d == 1 and x.shape[i] != 1)
    return x.sum(axis=stretched, keepdims=True)


@settings(max_examples=25, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_mul_gradient_is_the_other_operand_summed_to_shape(shapes, seed):
    """d sum(a * b) / da = sum_to(broadcast(b), a.shape), and likewise for b."""
    shape_a, shape_b = shapes.input_shapes
    gen = np.random.default_rng(seed)
    a_values, b_values = gen.standard_normal(shape_a), gen.standard_normal(shape_b)
    a = mg.tensor(a_values, requires_grad=True)
    b = mg.tensor(b_values, requires_grad=True)
    out = a * b
    assert out.shape == shapes.result_shape
    out.sum().backward()
    assert a.grad.shape == shape_a
    assert b.grad.shape == shape_b
    result = shapes.result_shape
    np.testing.assert_allclose(
        a.grad.data, sum_to(np.broadcast_to(b_values, result), shape_a), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        b.grad.data, sum_to(np.broadcast_to(a_values, result), shape_b), rtol=1e-12, atol=1e-12
    )


# ----- pow at a = 0: PyTorch's conventions -----------------------------------------------------


def test_pow_gradient_in_the_exponent_is_finite_where_the_base_is_zero():
    """d/dp sum(relu(x) ** p) = sum over x > 0 of x**p log x; PyTorch counts x = 0 as 0 (the
    limit of x**p log x for p > 0), where the formula gives 0 * log 0 = NaN."""
    x = mg.tensor([-1.0, 0.0, 1.5, 2.0], requires_grad=True)
    p = mg.tensor(2.5, requires_grad=True)
    (mg.relu(x) ** p).sum().backward()
    np.testing.assert_allclose(p.grad.data, 1.5**2.5 * np.log(1.5) + 2**2.5 * np.log(2.0))
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 2.5 * 1.5**1.5, 2.5 * 2**1.5])


# (a, b, d/da, d/db) with PyTorch's values: d/da = 0 where b = 0; d/db = 0 where a = 0, b >= 0.
POW_AT_ZERO = [
    (0.0, 0.0, 0.0, 0.0),  # 0 ** 0 = 1: neither 0 * 0 ** -1 nor 1 * log 0
    (0.0, 1.0, 1.0, 0.0),
    (0.0, 2.0, 0.0, 0.0),
    (0.0, 0.5, np.inf, 0.0),  # 0.5 * 0 ** -0.5: really infinite, as in PyTorch
    (2.0, 0.0, 0.0, np.log(2.0)),
    (3.0, 2.0, 6.0, 9.0 * np.log(3.0)),
]


def test_pow_derivatives_at_zero_follow_pytorch_in_both_modes():
    a_values, b_values, da, db = (np.array(column) for column in zip(*POW_AT_ZERO))
    a, b = mg.tensor(a_values, requires_grad=True), mg.tensor(b_values, requires_grad=True)
    with np.errstate(divide="ignore"):
        (a**b).sum().backward()
        _, ta = mg.jvp(lambda a: a**b_values, (mg.tensor(a_values),), (mg.ones(6),))
        _, tb = mg.jvp(lambda b: a_values**b, (mg.tensor(b_values),), (mg.ones(6),))
    for got in (a.grad.data, ta.data):
        np.testing.assert_allclose(got, da)
    for got in (b.grad.data, tb.data):
        np.testing.assert_allclose(got, db)


def test_a_constant_zero_exponent_has_zero_gradient_at_zero():
    z = mg.tensor([0.0, 3.0], requires_grad=True)
    (z**0).sum().backward()
    assert z.grad.tolist() == [0.0, 0.0]  # d/dz z**0 = 0 (PyTorch), not 0 * 0 ** -1 = NaN


def test_pow_second_derivative_away_from_zero_is_unchanged():
    """The fix-ups touch only a = 0; elsewhere d2/da db (a ** b) = a**(b-1) (1 + b log a)."""
    a, b = mg.tensor([0.0, 2.0], requires_grad=True), mg.tensor([2.0, 3.0], requires_grad=True)
    (ga,) = mg.autograd.grad((a**b).sum(), [a], create_graph=True)
    (gab,) = mg.autograd.grad(ga.sum(), [b])
    np.testing.assert_allclose(gab.data[1], 2.0**2 * (1 + 3 * np.log(2.0)))


def test_mul_tangent_sums_its_terms_without_touching_the_input_tangents():
    """``t_a * b + t_b * a``, added into the first term's own array, never into an input's
    tangent; when the second term is wider (float32 then float64) the sum is numpy's, float64."""
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    ta, tb = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    kept = ta.copy(), tb.copy()
    np.testing.assert_array_equal(mg.ops.Mul.jvp((ta, tb), a * b, a, b), ta * b + tb * a)
    np.testing.assert_array_equal(ta, kept[0])
    np.testing.assert_array_equal(tb, kept[1])
    a32, b32, ta32 = a.astype(np.float32), b.astype(np.float32), ta.astype(np.float32)
    mixed = mg.ops.Mul.jvp((ta32, tb), a32 * b32, a32, b32)
    assert mixed.dtype == np.float64
    np.testing.assert_array_equal(mixed, ta32 * b32 + tb * a32)
