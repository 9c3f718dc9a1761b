"""PyTorch's meanings for the math names (values from PyTorch's documentation and behaviour,
written in): the calls that used to compute something else silently (std/var, max(dim), ...),
the numpy keywords accepted as aliases, and the errors."""

import numpy as np
import pytest

import minigrad as mg

X = np.array([1.0, 2.0, 3.0, 4.0])
M = np.array([[1.0, 5.0], [3.0, 2.0]])


# ----- std and var: unbiased by default ------------------------------------------------------------


def test_std_and_var_are_unbiased_by_default():
    """torch.tensor([1., 2., 3., 4.]).std() = 1.2909944 (numpy's default would give 1.1180340)."""
    x = mg.tensor(X)
    assert x.std().item() == pytest.approx(1.2909944487358056, rel=1e-15)
    assert x.var().item() == pytest.approx(5 / 3, rel=1e-15)
    assert mg.std(x).item() == x.std().item()


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda x: x.std(correction=0), 1.118033988749895),
        (lambda x: x.std(unbiased=False), 1.118033988749895),
        (lambda x: x.std(False), 1.118033988749895),  # PyTorch's std(unbiased) overload
        (lambda x: x.std(0, False), 1.118033988749895),  # std(dim, unbiased)
        (lambda x: x.std(ddof=0), 1.118033988749895),  # numpy's keyword
        (lambda x: x.std(ddof=1), 1.2909944487358056),
        (lambda x: x.var(correction=2), 2.5),
        (lambda x: x.var(correction=0.5), 5 / 3.5),
        (lambda x: x.var(0, True, True).reshape(()), 5 / 3),
    ],
)
def test_correction_unbiased_and_ddof(call, expected):
    assert call(mg.tensor(X)).item() == pytest.approx(expected, rel=1e-15)


def test_std_along_a_dim_with_keepdim_and_its_gradient():
    """d std / d x_i = (x_i - mean) / ((n - 1) std), per row."""
    x = mg.tensor(np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 6.0]]), requires_grad=True)
    s = x.std(dim=1, keepdim=True)
    assert s.shape == (2, 1)
    np.testing.assert_allclose(s.data[:, 0], [1.2909944487358056, 2.0], rtol=1e-15)
    s.sum().backward()
    d = x.data - x.data.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, d / (3 * s.data), rtol=1e-14)


def test_variance_with_too_few_degrees_of_freedom_is_nan_or_inf_as_pytorch():
    """torch.tensor([1.]).std() is nan; torch.tensor([1., 2.]).var(correction=3) is inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(mg.tensor([1.0]).std().item())
        assert mg.tensor([1.0, 2.0]).var(correction=3).item() == np.inf


def test_variance_errors():
    x = mg.tensor(X)
    with pytest.raises(mg.OpError, match="var: unbiased=False and correction=1 all set the"):
        x.var(unbiased=False, correction=1)
    with pytest.raises(mg.OpError, match="std: correction=1 and ddof=0"):
        x.std(correction=1, ddof=0)
    with pytest.raises(mg.DTypeError, match="std: unbiased=1 is not a bool; .*correction=1"):
        x.std(0, 1)
    with pytest.raises(mg.DTypeError, match=r"var: the tensor is int64 .*\.float\(\)"):
        mg.tensor(np.array([1, 2])).var()


# ----- reductions: dims, aliases, dtypes ------------------------------------------------------------


def test_sum_and_mean_over_dims_with_keepdim_and_numpy_aliases():
    x = mg.tensor(M)
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).data, [[6.0], [5.0]])
    np.testing.assert_array_equal(x.sum(1, True).data, [[6.0], [5.0]])
    np.testing.assert_array_equal(x.sum(axis=1, keepdims=True).data, [[6.0], [5.0]])
    np.testing.assert_array_equal(x.mean([0, 1]).data, 2.75)
    np.testing.assert_array_equal(mg.prod(x, 0, True).data, [[3.0, 10.0]])
    np.testing.assert_array_equal(x.logsumexp(1, keepdim=True).shape, (2, 1))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "amax", "amin", "logsumexp", "all",
                                  "any", "std", "var", "argmax", "argmin", "count_nonzero"])  # fmt: skip
def test_dim_and_axis_together_is_an_error_and_a_bad_dim_names_the_op_and_shape(name):
    x = mg.tensor(M)
    fn = getattr(mg, name)
    with pytest.raises(mg.OpError, match=rf"{name}: dim=0 and axis=1 name the same argument"):
        fn(x, dim=0, axis=1)
    with pytest.raises(mg.ShapeError, match=rf"{name}: dim 2 is out of range for a tensor of "
                                            rf"shape \(2, 2\); use a dim in \[-2, 1\]"):  # fmt: skip
        fn(x, 2)


def test_keepdim_and_keepdims_together_is_an_error():
    with pytest.raises(mg.OpError, match="sum: keepdim=True and keepdims=True name the same"):
        mg.tensor(M).sum(0, keepdim=True, keepdims=True)


def test_a_dim_named_twice_is_an_error():
    with pytest.raises(mg.ShapeError, match=r"sum: dim \(0, -2\) names a dimension twice"):
        mg.tensor(M).sum((0, -2))


def test_integer_sums_are_int64_and_dtype_casts_first():
    """torch: sum/prod of int32 or bool -> int64; sum(dtype=int64) of [1.5, 2.] -> 3."""
    assert mg.sum(mg.tensor(np.array([1, 2], dtype=np.int32))).dtype == np.int64
    assert mg.tensor(np.array([True, False, True])).sum().item() == 2
    assert mg.prod(mg.tensor(np.array([2, 3], dtype=np.int8))).dtype == np.int64
    assert mg.sum(mg.tensor([1.5, 2.0]), dtype=np.int64).item() == 3
    y = mg.tensor(np.array([1.5, 2.5])).prod(dtype=np.float32)
    assert y.dtype == np.float32 and y.item() == 3.75
    assert mg.tensor(np.array([True])).sum(dtype=np.float32).dtype == np.float32


def test_mean_of_integers_needs_a_dtype_as_pytorch():
    """torch.tensor([1, 2]).mean() raises; mean(dtype=torch.float64) gives 1.5."""
    x = mg.tensor(np.array([1, 2]))
    with pytest.raises(mg.DTypeError, match=r"mean: the tensor is int64 .*\.float\(\)"):
        x.mean()
    assert x.mean(dtype=np.float64).item() == 1.5


def test_argmax_argmin_all_any_count_nonzero():
    x = mg.tensor(M)
    np.testing.assert_array_equal(x.argmax(dim=1).data, [1, 0])
    assert x.argmax().item() == 1 and x.argmin().item() == 0
    assert x.argmax(keepdim=True).shape == (1, 1)  # as torch.argmax(x, keepdim=True)
    assert x.argmax(1).dtype == np.int64
    with pytest.raises(mg.ShapeError, match=r"argmax: dim=\(0, 1\) is not one dimension"):
        x.argmax((0, 1))
    b = mg.tensor(np.array([[True, False], [True, True]]))
    np.testing.assert_array_equal(b.all(dim=1).data, [False, True])
    np.testing.assert_array_equal(b.any(0).data, [True, True])
    assert not b.all().item() and mg.all(b, (0, 1)).item() is False
    counts = mg.tensor(np.array([[0, 1], [2, 0]])).count_nonzero(dim=0)
    np.testing.assert_array_equal(counts.data, [1, 1])
    assert counts.dtype == np.int64 and mg.count_nonzero(mg.tensor(M)).item() == 4


def test_logsumexp_values():
    """torch.logsumexp(torch.tensor([[1., 2.], [3., 4.]]), 1) -> [2.3133, 4.3133]."""
    out = mg.logsumexp(mg.tensor(np.array([[1.0, 2.0], [3.0, 4.0]])), 1)
    np.testing.assert_allclose(out.data, [2 + np.log1p(np.exp(-1)), 4 + np.log1p(np.exp(-1))])


# ----- softmax ---------------------------------------------------------------------------------------


def test_softmax_and_log_softmax_along_dim():
    """torch.softmax(torch.tensor([1., 2.]), 0) -> [0.2689, 0.7311]; log_softmax the logs."""
    x = mg.tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    p = mg.softmax(x, dim=1)
    np.testing.assert_allclose(p.data, [[1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-15)
    np.testing.assert_allclose(x.log_softmax(1).data, np.log(p.data), rtol=1e-15)
    assert x.softmax(-1, dtype=np.float32).dtype == np.float32
    (p * np.array([[1.0, 0.0]])).sum().backward()  # d p_0 / d x = p_0 (e_0 - p)
    p0 = p.data[0, 0]
    np.testing.assert_allclose(x.grad.data, [[p0 * (1 - p0), -p0 * (1 - p0)]], rtol=1e-14)
    with pytest.raises(mg.ShapeError, match="softmax: dim=None is not one dimension"):
        mg.softmax(x)


# ----- clamp, where, isclose, allclose, equal -------------------------------------------------------


def test_clamp_with_tensor_bounds_values_and_gradients():
    """PyTorch: clamp(x, lo, hi) for x = [-2, -1, 0, 1, 2, 3], lo = [-1, -1, -1, -1, 2, 5],
    hi = [1, 1, 1, 1, 2, 4], cotangent [1, ..., 6]: values [-1, -1, 0, 1, 2, 4]; x gets
    [0, 2, 3, 4, 5, 0] (bounds included), lo [1, 0, ...], hi [0, ..., 6] (min > max gives max)."""
    x = mg.tensor(np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]), requires_grad=True)
    lo = mg.tensor(np.array([-1.0, -1.0, -1.0, -1.0, 2.0, 5.0]), requires_grad=True)
    hi = mg.tensor(np.array([1.0, 1.0, 1.0, 1.0, 2.0, 4.0]), requires_grad=True)
    y = x.clamp(lo, hi)
    np.testing.assert_array_equal(y.data, [-1, -1, 0, 1, 2, 4])
    y.backward(np.arange(1.0, 7.0))
    np.testing.assert_array_equal(x.grad.data, [0, 2, 3, 4, 5, 0])
    np.testing.assert_array_equal(lo.grad.data, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(hi.grad.data, [0, 0, 0, 0, 0, 6])


def test_clamp_one_bound_integers_and_clip_alias():
    x = mg.tensor(np.array([-2.0, 0.5, 3.0]))
    np.testing.assert_array_equal(x.clamp(min=0).data, [0.0, 0.5, 3.0])
    np.testing.assert_array_equal(mg.clamp(x, max=1).data, [-2.0, 0.5, 1.0])
    np.testing.assert_array_equal(x.clip(0, 1).data, x.clamp(0, 1).data)
    ints = mg.tensor(np.array([1, 5]))
    assert mg.clamp(ints, 0, 2).data.tolist() == [1, 2] and mg.clamp(ints, 0, 2).dtype == np.int64
    assert mg.clamp(ints, 0.5, 2.5).data.tolist() == [1.0, 2.5]  # float bounds: a float result
    with pytest.raises(mg.OpError, match="clamp: at least one of min and max"):
        x.clamp()


def test_clamp_in_place():
    x = mg.tensor(np.array([-2.0, 0.5, 3.0]))
    assert x.clamp_(0, 1) is x
    np.testing.assert_array_equal(x.data, [0.0, 0.5, 1.0])
    x.clamp_(max=mg.tensor(np.array([1.0, 0.25, 1.0])))
    np.testing.assert_array_equal(x.data, [0.0, 0.25, 1.0])
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(mg.OpError, match="clamp_: in-place change of a tensor that requires"):
        w.clamp_(0, 1)
    with mg.no_grad():
        w.clamp_(min=1.5)
    np.testing.assert_array_equal(w.data, [1.5, 2.0])


def test_where_as_pytorch():
    """torch.where(cond, x, y); torch.where(cond) gives the indices; x.where(cond, y)."""
    cond = mg.tensor(np.array([[True, False], [False, True]]))
    x = mg.tensor(M, requires_grad=True)
    out = mg.where(cond, x, 0.0)
    np.testing.assert_array_equal(out.data, [[1.0, 0.0], [0.0, 2.0]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 0.0], [0.0, 1.0]])
    rows, cols = mg.where(cond)
    assert rows.data.tolist() == [0, 1] and cols.data.tolist() == [0, 1]
    assert rows.dtype == np.int64
    np.testing.assert_array_equal(mg.tensor(M).where(cond, -1.0).data, [[1.0, -1.0], [-1.0, 2.0]])
    f32 = mg.where(cond, mg.tensor(M.astype(np.float32)), 0.0)
    assert f32.dtype == np.float32


def test_where_needs_a_bool_condition():
    """PyTorch: 'where expected condition to be a boolean tensor, but got ... Float'."""
    with pytest.raises(mg.DTypeError, match=r"where: the condition is float64 \(shape \(2,\)\)"):
        mg.where(mg.tensor([1.0, 0.0]), mg.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(mg.OpError, match="where: give both input and other"):
        mg.where(np.array([True]), 1.0)


def test_isclose_allclose_equal():
    """torch.isclose([1, nan], [1 + 1e-9, nan]) -> [True, False] (True, True with equal_nan);
    allclose -> a Python bool; equal: same shape and values, any dtypes."""
    a = mg.tensor(np.array([1.0, np.nan]))
    b = mg.tensor(np.array([1.0 + 1e-9, np.nan]))
    assert mg.isclose(a, b).data.tolist() == [True, False]
    assert a.isclose(b, equal_nan=True).data.tolist() == [True, True]
    assert mg.allclose(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0000001])) is True
    assert mg.tensor([1.0, 2.0]).allclose(mg.tensor([1.0, 2.1])) is False
    assert mg.allclose(mg.tensor([1.0, 1.0]), mg.tensor([1.0]))  # broadcast, as PyTorch
    with pytest.raises(mg.ShapeError, match=r"isclose: shapes \(2,\) and \(3,\) cannot be broad"):
        mg.allclose(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0, 3.0]))
    assert mg.equal(mg.tensor([1.0, 2.0]), mg.tensor(np.array([1, 2]))) is True
    assert mg.tensor([1.0, 2.0]).equal(mg.tensor([[1.0, 2.0]])) is False
    assert mg.equal(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.5])) is False


# ----- products ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mg.bmm(mg.ones(2, 3), mg.ones(3, 4)), r"bmm: shapes \(2, 3\) and \(3, 4\): bmm"),
        (lambda: mg.bmm(mg.ones(2, 2, 3), mg.ones(1, 3, 4)), r"same batch size"),
        (lambda: mg.bmm(mg.ones(2, 2, 3), mg.ones(2, 2, 4)), r"\(2, 2, 3\) and \(2, 2, 4\)"),
        (lambda: mg.mm(mg.ones(2, 2, 3), mg.ones(3, 4)), r"mm: shapes \(2, 2, 3\) and \(3, 4\)"),
        (lambda: mg.dot(mg.ones(2, 2), mg.ones(2)), r"dot: shapes \(2, 2\) and \(2,\): dot takes"),
        (lambda: mg.dot(mg.ones(2), mg.ones(3)), r"dot: shapes \(2,\) and \(3,\)"),
        (lambda: mg.outer(mg.ones(2, 2), mg.ones(2)), r"outer: shapes \(2, 2\) and \(2,\): outer"),
    ],
)
def test_products_check_their_shapes_as_pytorch(call, message):
    with pytest.raises(mg.ShapeError, match=message):
        call()


def test_bmm_mm_dot_outer_values():
    a = np.arange(12.0).reshape(2, 2, 3)
    b = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(mg.bmm(mg.tensor(a), mg.tensor(b)).data, a @ b)
    np.testing.assert_array_equal(mg.tensor(a[0]).mm(mg.tensor(b[0])).data, a[0] @ b[0])
    assert mg.tensor([1.0, 2.0]).dot(mg.tensor([3.0, 4.0])).item() == 11.0
    np.testing.assert_array_equal(
        mg.outer(mg.tensor([1.0, 2.0]), mg.tensor([3.0])).data, [[3], [6]]
    )


# ----- Tensor methods that are the arithmetic ----------------------------------------------------------


def test_arithmetic_methods():
    x = mg.tensor([1.0, 2.0])
    assert x.add(1).data.tolist() == [2.0, 3.0]
    assert x.add(mg.tensor([1.0, 1.0]), alpha=2).data.tolist() == [3.0, 4.0]
    assert x.sub(1, alpha=0.5).data.tolist() == [0.5, 1.5]
    assert x.mul(3).data.tolist() == [3.0, 6.0]
    assert x.div(2).data.tolist() == [0.5, 1.0]
    assert x.pow(2).data.tolist() == [1.0, 4.0]
    assert x.neg().data.tolist() == [-1.0, -2.0]


def test_floor_division_and_remainder_as_pytorch():
    """PyTorch: [7, -7] // 2 = [3, -4]; [7, -7] % 3 = [1, 2] (the sign of the divisor); for
    floats, d(a % b)/da = 1 and d(a % b)/db = -floor(a / b)."""
    assert (mg.tensor([7, -7]) // 2).tolist() == [3, -4]
    assert (mg.tensor([7, -7]) % 3).tolist() == [1, 2]
    assert (7 // mg.tensor([2])).tolist() == [3] and (mg.tensor([7]) // 2.0).dtype.kind == "f"
    a = mg.tensor(np.array([5.0, -7.0]), requires_grad=True)
    b = mg.tensor(np.array([2.0, 3.0]), requires_grad=True)
    r = a % b
    assert r.tolist() == [1.0, 2.0]
    r.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [-2.0, 3.0]
    assert a.floor_divide(b).tolist() == [2.0, -3.0] and a.remainder(b).tolist() == [1.0, 2.0]
