"""The short paths of the functions layer and of the rules (issue 20: per-operation overhead) give
what the general paths give: the same values bit for bit, the same dtypes, the same errors."""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.functions.reductions import normalize_axes
from minigrad.ops.shape import broadcast_view

# ----- Python numbers next to tensors -------------------------------------------------------------


def test_a_negative_zero_is_not_the_cached_zero():
    """PyTorch: torch.tensor([1.0]) * -0.0 -> tensor([-0.]), and 1 / that -> tensor([-inf])."""
    x = mg.tensor([1.0])
    assert np.signbit((x * 0.0).data[0]) == np.False_  # 0.0 first, so that -0.0 could hit it
    negative = x * -0.0
    assert np.signbit(negative.data[0])
    with np.errstate(divide="ignore"):
        assert (1 / negative).data[0] == -np.inf


def test_numbers_and_arrays_as_both_operands():
    """PyTorch: torch.add(1, 2) -> tensor(3); a number next to an array takes its dtype."""
    three = mg.add(1, 2)
    assert three.item() == 3 and three.dtype == np.int64
    twice = mg.mul(2.0, np.ones(2, np.float32))
    assert twice.dtype == np.float32 and twice.tolist() == [2.0, 2.0]
    assert mg.add(np.ones(2), 2).tolist() == [3.0, 3.0]


def test_a_number_of_a_higher_category_takes_the_default_dtype(float32_default):
    """PyTorch: torch.tensor([1, 2]) * 0.5 -> float32 (the default), however often it is asked."""
    ints = mg.tensor([1, 2])
    for _ in range(2):  # the second time from any cache
        assert (ints * 0.5).dtype == np.float32
    mg.set_default_dtype(mg.float64)
    try:
        assert (ints * 0.5).dtype == np.float64  # not the float32 constant made before
    finally:
        mg.set_default_dtype(mg.float32)


# ----- broadcasting one operand: constants of no dimension ---------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_one_plus_a_tensor_is_numpy_bit_for_bit_with_its_gradient(dtype):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(5).astype(dtype)
    x = mg.tensor(data, requires_grad=True)
    y = (1 + x) * (x / 3)
    np.testing.assert_array_equal(y.data, (1 + data) * (data / np.asarray(3, dtype)))
    assert y.dtype == dtype
    if dtype.startswith("float"):  # d/dx of (1 + x) x / 3 is (1 + 2 x) / 3
        y.sum().backward()
        np.testing.assert_allclose(x.grad.data, (1 + 2 * data) / 3, rtol=1e-6)


# ----- mean as Sum and Div -----------------------------------------------------------------------


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_mean_is_the_sum_divided_by_the_count_bit_for_bit(dim, keepdim, dtype):
    rng = np.random.default_rng(1)
    data = (rng.standard_normal((3, 4, 5)) * 10).astype(dtype)
    x = mg.tensor(data, requires_grad=True)
    mean = x.mean(dim, keepdim)
    axes = normalize_axes("mean", dim, data.shape)
    count = int(np.prod([data.shape[a] for a in axes]))
    expected = data.sum(axis=axes, keepdims=keepdim) / np.asarray(count, dtype)
    np.testing.assert_array_equal(mean.data, expected)
    assert mean.dtype == dtype and mean.grad_fn == "Div"
    if dtype.startswith("complex"):
        return
    weights = rng.standard_normal(mean.shape).astype(dtype)
    (mean * mg.tensor(weights)).sum().backward()
    spread = np.broadcast_to(
        (weights * (1 / np.asarray(count, dtype))).reshape(
            [1 if i in axes else n for i, n in enumerate(data.shape)]
        ),
        data.shape,
    )
    np.testing.assert_array_equal(x.grad.data, spread)


# ----- normalize_axes ----------------------------------------------------------------------------


def test_normalize_axes_short_cases_and_errors():
    assert normalize_axes("sum", None, (2, 3)) == (0, 1)
    assert normalize_axes("sum", -1, (2, 3)) == (1,)
    assert normalize_axes("sum", 0, ()) == ()  # a 0-d tensor has dims 0 and -1, as PyTorch
    assert normalize_axes("sum", None, (1,) * 40) == tuple(range(40))
    with pytest.raises(mg.errors.ShapeError, match="sum: dim 2 is out of range"):
        normalize_axes("sum", 2, (2, 3))
    with pytest.raises(mg.errors.ShapeError, match="sum: dim=True is not a dimension"):
        normalize_axes("sum", True, (2, 3))


# ----- broadcast views ---------------------------------------------------------------------------

SHAPES = [
    ((), (3, 4)), ((1,), (5,)), ((3, 1), (2, 3, 4)), ((4,), (3, 4)), ((2, 3), (2, 3)),
    ((1, 1), (0, 3)), ((3,), (0, 3)), ((2,), (3,)), ((3, 4), (4,)), ((1,), (-1,)), ((2,), (-1, 2)),
]  # fmt: skip


@pytest.mark.parametrize("source, shape", SHAPES)
def test_broadcast_view_is_numpy_broadcast_to(source, shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(source)
    layouts = [x] + ([x.T, np.asfortranarray(x), x[..., ::2]] if x.ndim > 1 else [])
    for array in layouts:
        try:
            expected = np.broadcast_to(array, shape)
        except ValueError as error:
            with pytest.raises(ValueError, match=re.escape(str(error))):
                broadcast_view(array, shape)
            continue
        got = broadcast_view(array, shape)
        assert got.shape == expected.shape and got.strides == expected.strides
        np.testing.assert_array_equal(got, expected)
        assert not got.flags.writeable  # as numpy's: a write would reach every broadcast copy
