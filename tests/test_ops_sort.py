"""Selections with indices, as PyTorch's: max(dim)/min(dim), sort, argsort and topk return
``(values, indices)``; the values are gathered, so their gradient goes to the places taken.
argmax and argmin give the indices alone."""

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg

rng = np.random.default_rng(0)


def distinct(*shape):
    """Values with no ties (gaps of at least 0.1), so every selection is differentiable."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 - size * 0.05).reshape(shape)


def np_topk(x, k, dim, largest=True):
    ordered = -np.sort(-x, axis=dim) if largest else np.sort(x, axis=dim)
    return np.take(ordered, np.arange(k), axis=dim)


CASES = [
    *(Case(f"max {shape} dim={dim} keepdim={keep}",
           lambda x, dim=dim, keep=keep: mg.max(x, dim, keep).values,
           lambda x, dim=dim, keep=keep: np.max(x, axis=dim, keepdims=keep), [distinct(*shape)])
      for shape, dim, keep in [((4,), 0, False), ((2, 3, 4), 1, False), ((2, 3, 4), -1, True),
                               ((3, 1), 1, False)]),
    Case("min (3, 4) dim=0", lambda x: x.min(0).values, lambda x: np.min(x, 0), [distinct(3, 4)]),
    Case("max 0-d dim=0", lambda x: x.max(0).values, lambda x: x.copy(), [np.array(0.3)]),
    *(Case(f"sort {shape} dim={dim} descending={down}",
           lambda x, dim=dim, down=down: mg.sort(x, dim, down).values,
           lambda x, dim=dim, down=down: -np.sort(-x, dim) if down else np.sort(x, dim),
           [distinct(*shape)])
      for shape, dim, down in [((5,), -1, False), ((5,), 0, True), ((2, 3, 4), 1, False),
                               ((2, 3, 4), -1, True)]),
    Case("sort 0-d", lambda x: x.sort().values, lambda x: x.copy(), [np.array(0.3)]),
    *(Case(f"topk k={k} {shape} dim={dim} largest={largest}",
           lambda x, k=k, dim=dim, largest=largest: mg.topk(x, k, dim, largest).values,
           lambda x, k=k, dim=dim, largest=largest: np_topk(x, k, dim, largest),
           [distinct(*shape)])
      for k, shape, dim, largest in [(2, (5,), -1, True), (3, (4, 5), 1, False),
                                     (1, (3, 4), 0, True), (4, (2, 4), 1, True)]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- max(dim) / min(dim): the named pair ---------------------------------------------------------

M = np.array([[1.0, 5.0], [3.0, 2.0]])


def test_max_with_dim_is_the_pair_of_values_and_indices():
    """torch.tensor([[1., 5.], [3., 2.]]).max(1) is (values=[5, 3], indices=[1, 0]), a named
    tuple: unpacked, indexed or read by field name."""
    out = mg.tensor(M).max(1)
    values, indices = out
    np.testing.assert_array_equal(values.data, [5.0, 3.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert indices.dtype == np.int64
    assert out[0] is out.values and out[1] is out.indices
    assert isinstance(out, tuple) and len(out) == 2
    assert type(out) is mg.return_types.max
    assert repr(out).startswith("max(values=tensor([5., 3.]")


def test_min_with_dim_and_keepdim():
    values, indices = mg.min(mg.tensor(M), dim=0, keepdim=True)
    np.testing.assert_array_equal(values.data, [[1.0, 2.0]])
    np.testing.assert_array_equal(indices.data, [[0, 1]])
    assert type(mg.tensor(M).min(0)) is mg.return_types.min


def test_max_without_dim_is_the_largest_element_and_with_a_tensor_the_maximum():
    """PyTorch's other two overloads: max(x) -> tensor(5.); max(x, other) -> maximum(x, other)."""
    x = mg.tensor(M)
    assert x.max().item() == 5.0 and x.max().shape == ()
    assert mg.min(x).item() == 1.0
    np.testing.assert_array_equal(x.max(mg.tensor([2.0, 2.0])).data, [[2.0, 5.0], [3.0, 2.0]])
    np.testing.assert_array_equal(mg.min(x, mg.tensor(2.5)).data, [[1.0, 2.5], [2.5, 2.0]])


def test_max_dim_gradient_goes_to_the_first_index_at_ties():
    """PyTorch: for x = [[1, 5, 5], [3, 3, 2]], x.max(1) has indices [1, 0], and the gradient
    goes to those places only (amax splits it among the ties)."""
    x = mg.tensor(np.array([[1.0, 5.0, 5.0], [3.0, 3.0, 2.0]]), requires_grad=True)
    values, indices = x.max(1)
    np.testing.assert_array_equal(indices.data, [1, 0])
    values.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.data, [[0, 1, 0], [10, 0, 0]])
    x.grad = None
    x.amax(1).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.data, [[0, 0.5, 0.5], [5, 5, 0]])


def test_max_numpy_keywords_and_errors():
    x = mg.tensor(M)
    np.testing.assert_array_equal(x.max(axis=1).indices.data, [1, 0])
    assert x.max(axis=1, keepdims=True).values.shape == (2, 1)
    with pytest.raises(mg.ShapeError, match=r"max: dim=\(0, 1\) is not one dimension.*\(2, 2\)"):
        x.max((0, 1))
    with pytest.raises(
        mg.ShapeError, match=r"max: dim 2 is out of range for a tensor of shape \(2, 2\)"
    ):
        x.max(2)
    with pytest.raises(mg.OpError, match="max: dim=1 and axis=1 name the same argument"):
        x.max(1, axis=1)


# ----- argmax / argmin ----------------------------------------------------------------------------

ARG_INPUT = np.array([[[3.0, 1.0, 3.0], [0.0, 7.0, 7.0]], [[-2.0, -2.0, 5.0], [4.0, 4.0, 4.0]]])


@pytest.mark.parametrize("fn, ref", [(mg.argmax, np.argmax), (mg.argmin, np.argmin)])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin_match_numpy(fn, ref, axis, keepdims):
    """Values, shape and dtype as numpy (first index at ties); the result needs no gradient."""
    x = mg.tensor(ARG_INPUT, requires_grad=True)
    out = fn(x, axis=axis, keepdims=keepdims)
    expected = ref(ARG_INPUT, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out.data, expected)
    assert not out.requires_grad


def test_argmax_of_1d_and_0d():
    assert mg.argmax(mg.tensor([0.5, 2.0, -1.0])).item() == 1
    assert mg.argmin(mg.tensor([0.5, 2.0, -1.0])).item() == 2
    assert mg.argmax(mg.tensor(3.0)).item() == np.argmax(np.array(3.0))


# ----- sort, argsort, topk -------------------------------------------------------------------------

TIES = np.array([3.0, 1.0, 2.0, 1.0, 3.0, np.nan])


def test_sort_is_stable_and_puts_nan_last():
    """torch.tensor([3., 1., 2., 1., 3., nan]).sort() -> values [1, 1, 2, 3, 3, nan], indices
    [1, 3, 2, 0, 4, 5]; descending (stable) -> [nan, 3, 3, 2, 1, 1], indices [5, 0, 4, 2, 1, 3]."""
    values, indices = mg.tensor(TIES).sort()
    np.testing.assert_array_equal(values.data, [1, 1, 2, 3, 3, np.nan])
    np.testing.assert_array_equal(indices.data, [1, 3, 2, 0, 4, 5])
    values, indices = mg.sort(mg.tensor(TIES), descending=True, stable=True)
    np.testing.assert_array_equal(values.data, [np.nan, 3, 3, 2, 1, 1])
    np.testing.assert_array_equal(indices.data, [5, 0, 4, 2, 1, 3])
    np.testing.assert_array_equal(mg.tensor(TIES).argsort(descending=True).data, [5, 0, 4, 2, 1, 3])
    assert type(mg.tensor(TIES).sort()) is mg.return_types.sort


def test_sort_along_a_dim_and_its_gradient():
    """torch.tensor([[1., 5.], [3., 2.]]).sort(0) -> values [[1, 2], [3, 5]], indices
    [[0, 1], [1, 0]]; the gradient of values * w puts each w back where its value came from."""
    x = mg.tensor(M, requires_grad=True)
    values, indices = x.sort(0)
    np.testing.assert_array_equal(values.data, [[1, 2], [3, 5]])
    np.testing.assert_array_equal(indices.data, [[0, 1], [1, 0]])
    (values * np.array([[10.0, 20.0], [30.0, 40.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[10, 40], [30, 20]])
    assert mg.argsort(x, 0).dtype == np.int64


def test_topk_values_indices_and_gradient():
    """torch.tensor([1., 4., 2., 5.]).topk(2) -> values [5, 4], indices [3, 1]; with
    largest=False, [1, 2] at [0, 2]. At ties the first come first."""
    x = mg.tensor(np.array([1.0, 4.0, 2.0, 5.0]), requires_grad=True)
    values, indices = x.topk(2)
    np.testing.assert_array_equal(values.data, [5, 4])
    np.testing.assert_array_equal(indices.data, [3, 1])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0, 1])
    values, indices = mg.topk(x, 2, largest=False)
    np.testing.assert_array_equal(indices.data, [0, 2])
    np.testing.assert_array_equal(
        mg.tensor(TIES[:5]).topk(3, largest=False).indices.data, [1, 3, 2]
    )
    assert type(x.topk(1)) is mg.return_types.topk


def test_topk_of_k_out_of_range():
    """PyTorch: 'selected index k out of range'."""
    with pytest.raises(
        mg.OpError,
        match=r"topk: k=7 is out of range: dim 0 of the tensor \(shape \(6,\)\) has 6 el",
    ):
        mg.tensor(TIES).topk(7)
    assert mg.tensor(TIES).topk(0).values.shape == (0,)


def test_zero_d_tensors_sort_to_themselves():
    """PyTorch gives a 0-d tensor one element along dim 0 (index 0)."""
    x = mg.tensor(2.5)
    for values, indices in (x.sort(), x.topk(1), x.max(0), x.min(-1)):
        assert values.shape == indices.shape == ()
        assert values.item() == 2.5 and indices.item() == 0
    assert x.argsort().item() == 0 and x.argmax(0).item() == 0


def test_sort_numpy_axis_alias():
    x = mg.tensor(M)
    np.testing.assert_array_equal(x.sort(axis=0).indices.data, [[0, 1], [1, 0]])
    with pytest.raises(mg.OpError, match="sort: dim=1 and axis=0 name the same argument"):
        x.sort(1, axis=0)
