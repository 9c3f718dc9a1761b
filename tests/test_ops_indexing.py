"""Indexing ``x[index]``: basic (ints, slices, None, Ellipsis) and advanced (integer arrays,
lists, boolean masks), checked against numpy's indexing of the same array; and PyTorch's
indexing functions (``gather``, ``scatter``, ``scatter_add``, ``index_select``, ``take``,
``take_along_dim``, ``masked_fill``, ``tril``/``triu``) against numpy written out.

Each case squares the selection, so the second derivative depends on where elements came from
(and on how often: repeated indices accumulate).
"""

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg

rng = np.random.default_rng(0)

X1 = rng.standard_normal(5)
X2 = rng.standard_normal((3, 4))
X3 = rng.standard_normal((2, 3, 4))
X0 = np.array(1.7)

X3_INDEX = np.array([[[3, 0], [1, 1], [2, 0]], [[0, 0], [3, 2], [1, 3]]])
ARGSORT_2 = np.argsort(X2, axis=1)

MASK_3x4 = np.array(
    [[True, False, False, True], [False, False, True, True], [True, True, False, False]]
)


def index_case(name: str, x: np.ndarray, index) -> Case:
    """``x[index] ** 2``: the Tensor and the ndarray are indexed by the same expression."""

    def squared_selection(a):
        return a[index] ** 2

    return Case(f"{x.ndim}-d {name}", squared_selection, squared_selection, [x])


BASIC = [
    index_case("int", X2, 1),
    index_case("negative int", X2, -1),
    index_case("int in 1-d (0-d result)", X1, 3),
    index_case("two ints (0-d result)", X2, (1, -2)),
    index_case("int on the last axis", X3, (slice(None), slice(None), 2)),
    index_case("slice", X2, slice(1, 3)),
    index_case("slices with steps", X2, (slice(None, None, 2), slice(1, None))),
    index_case("slice step 3", X2, (slice(1, None), slice(None, None, 3))),
    index_case("reversed", X1, slice(None, None, -1)),
    index_case("negative step 2", X2, (slice(None), slice(None, None, -2))),
    index_case("negative step with bounds", X2, slice(2, 0, -1)),
    index_case("negative bounds", X1, slice(-4, -1)),
    index_case("empty slice", X2, slice(2, 2)),
    index_case("None", X2, None),
    index_case("None in the middle and an int", X2, (slice(None), None, 1)),
    index_case("Ellipsis then int", X3, (Ellipsis, 1)),
    index_case("int then Ellipsis", X3, (0, Ellipsis)),
    index_case("Ellipsis in the middle", X3, (1, Ellipsis, slice(None, None, -1))),
    index_case("Ellipsis then None", X3, (Ellipsis, None)),
    index_case("0-d with ()", X0, ()),
    index_case("0-d with ...", X0, Ellipsis),
    index_case("0-d with None", X0, None),
    index_case("numpy integer", X2, (np.int64(1), slice(None))),
    index_case("step past the end", X2, slice(None, None, 10)),
]

ADVANCED = [
    index_case("int array repeated", X2, np.array([0, 2, 0, 0])),
    index_case("int array negative and repeated", X1, np.array([-1, 0, -1, 4])),
    index_case("2-d int array", X2, np.array([[0, 1], [1, 1]])),
    index_case("list repeated", X2, [2, 0, 2]),
    index_case("two lists (pairs)", X2, ([0, 1, 0], [3, 3, 3])),
    index_case("empty list", X2, []),
    index_case("boolean mask full shape", X2, MASK_3x4),
    index_case("boolean mask all False", X2, np.zeros((3, 4), dtype=bool)),
    index_case("boolean mask on axis 0", X2, np.array([True, False, True])),
    index_case("boolean mask on axis 1", X2, (slice(None), np.array([False, True, True, False]))),
    index_case("boolean mask on the leading 2 axes", X3,
               np.array([[True, False, True], [False, True, True]])),
    index_case("boolean list", X1, [True, False, False, True, True]),
    index_case("int array then slice", X2, ([2, 0, 2], slice(1, None))),
    index_case("slice then int array", X2, (slice(1, None), [0, 0, 3])),
    index_case("slice, int array, slice", X3, (slice(None), [1, 0, 1], slice(None, None, 2))),
    index_case("adjacent int arrays stay in place", X3, (slice(None), [0, 2, 2], [1, 1, 3])),
    index_case("int arrays split by a slice move first", X3, ([1, 0, 1], slice(None), [3, 3, 0])),
    index_case("int and array split by a slice move first", X3, (0, slice(None), [1, 2, 1])),
    index_case("broadcast int arrays", X2, (np.array([[0], [2]]), np.array([1, 1, 3]))),
    index_case("mask and int array", X3, (np.array([True, False]), slice(None), [0, 0])),
    index_case("int array with None", X2, (None, [1, 1], slice(None, None, -1))),
    index_case("int arrays split by None move first", X3, ([0, 1], None, [1, 2])),
    index_case("Ellipsis then int array", X3, (Ellipsis, [0, 0, 3])),
    index_case("0-d int array", X2, np.array(1)),
    index_case("scalar True", X2, True),
    index_case("0-d with True", X0, True),
]  # fmt: skip


# ----- PyTorch's indexing functions --------------------------------------------------------------

INDEX_2x3 = np.array([[2, 0, 2], [1, 1, 0]])  # along dim 1 of a (2, 4): repeats in a row
INDEX_ROWS = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])  # along dim 0 of a (3, 4)
DUPLICATE_ROWS = np.array([[0, 0, 2, 1], [0, 1, 2, 2]])  # column 0 and 2 name one row twice


def numpy_gather(a, dim, index):
    """out[i][j] = a[index[i][j]][j] (dim 0) or a[i][index[i][j]] (dim 1), by loops."""
    out = np.empty(index.shape, a.dtype)
    for pos in np.ndindex(*index.shape):
        source = list(pos)
        source[dim] = index[pos]
        out[pos] = a[tuple(source)]
    return out


def numpy_scatter(a, dim, index, src, add=False):
    """out[index[i][j]][j] = src[i][j] (dim 0), in order (the last write wins), or += with add."""
    out = a.copy()
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[dim] = index[pos]
        out[tuple(target)] = out[tuple(target)] + src[pos] if add else src[pos]
    return out


def pair_case(name, fn, ref, *inputs) -> Case:
    return Case(name, fn, ref, list(inputs))


TORCH_INDEXING = [
    pair_case("gather dim 1 with repeats", lambda x: mg.gather(x, 1, INDEX_2x3) ** 2,
              lambda a: numpy_gather(a, 1, INDEX_2x3) ** 2, rng.standard_normal((2, 4))),
    pair_case("gather dim 0, index narrower than input", lambda x: x.gather(0, INDEX_ROWS[:, :3]) ** 2,
              lambda a: numpy_gather(a, 0, INDEX_ROWS[:, :3]) ** 2, rng.standard_normal((3, 4))),
    pair_case("gather dim -1 3-d", lambda x: x.gather(-1, X3_INDEX) ** 2,
              lambda a: numpy_gather(a, 2, X3_INDEX) ** 2, X3),
    pair_case("scatter src dim 0 (x and src differentiated)",
              lambda x, s: mg.scatter(x, 0, INDEX_ROWS[:, :3], s) ** 2,
              lambda a, s: numpy_scatter(a, 0, INDEX_ROWS[:, :3], s) ** 2,
              rng.standard_normal((3, 4)), rng.standard_normal((2, 5))),
    pair_case("scatter duplicates: the last src element wins",
              lambda x, s: x.scatter(0, DUPLICATE_ROWS, s) ** 2,
              lambda a, s: numpy_scatter(a, 0, DUPLICATE_ROWS, s) ** 2,
              rng.standard_normal((3, 4)), rng.standard_normal((2, 4))),
    pair_case("scatter value dim 1", lambda x: x.scatter(1, INDEX_2x3, 0.5) ** 2,
              lambda a: numpy_scatter(a, 1, INDEX_2x3, np.full((2, 3), 0.5)) ** 2,
              rng.standard_normal((2, 4))),
    pair_case("scatter_add dim 0 with duplicates",
              lambda x, s: mg.scatter_add(x, 0, DUPLICATE_ROWS, s) ** 2,
              lambda a, s: numpy_scatter(a, 0, DUPLICATE_ROWS, s, add=True) ** 2,
              rng.standard_normal((3, 4)), rng.standard_normal((2, 4))),
    pair_case("scatter_add dim 1, src larger than index",
              lambda x, s: x.scatter_add(1, INDEX_2x3, s) ** 2,
              lambda a, s: numpy_scatter(a, 1, INDEX_2x3, s[:2, :3], add=True) ** 2,
              rng.standard_normal((2, 4)), rng.standard_normal((3, 3))),
    pair_case("index_select dim 1 repeated", lambda x: x.index_select(1, [3, 0, 3]) ** 2,
              lambda a: a[:, [3, 0, 3]] ** 2, X2),
    pair_case("index_select dim 0 of 3-d", lambda x: mg.index_select(x, 0, np.array([1])) ** 2,
              lambda a: a[[1]] ** 2, X3),
    pair_case("take 2-d index", lambda x: mg.take(x, np.array([[0, 11], [-1, 5]])) ** 2,
              lambda a: a.reshape(-1)[[[0, 11], [-1, 5]]] ** 2, X2),
    pair_case("take_along_dim argsort", lambda x: x.take_along_dim(ARGSORT_2, 1) ** 2,
              lambda a: np.take_along_axis(a, ARGSORT_2, 1) ** 2, X2),
    pair_case("take_along_dim broadcast indices", lambda x: mg.take_along_dim(x, np.array([[0, -1]]), 1) ** 2,
              lambda a: np.take_along_axis(a, np.array([[0, 3], [0, 3], [0, 3]]), 1) ** 2, X2),
    pair_case("take_along_dim flattened", lambda x: x.take_along_dim(np.array([4, 0])) ** 2,
              lambda a: a.reshape(-1)[[4, 0]] ** 2, X2),
    pair_case("masked_fill number", lambda x: x.masked_fill(MASK_3x4, -1.5) ** 2,
              lambda a: np.where(MASK_3x4, -1.5, a) ** 2, X2),
    pair_case("masked_fill broadcast mask, 0-d tensor value",
              lambda x, v: mg.masked_fill(x, MASK_3x4[:1], v) ** 2,
              lambda a, v: np.where(MASK_3x4[:1], v, a) ** 2, X2, np.array(0.7)),
    pair_case("tril", lambda x: x.tril() ** 2, lambda a: np.tril(a) ** 2, X2),
    pair_case("tril diagonal -1 batched", lambda x: mg.tril(x, -1) ** 2,
              lambda a: np.tril(a, -1) ** 2, X3),
    pair_case("triu diagonal 1", lambda x: x.triu(1) ** 2, lambda a: np.triu(a, 1) ** 2, X2),
    pair_case("triu batched", lambda x: mg.triu(x) ** 2, lambda a: np.triu(a) ** 2, X3),
]  # fmt: skip

CASES = BASIC + ADVANCED + TORCH_INDEXING


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- closed forms ------------------------------------------------------------------------------


def test_repeated_indices_accumulate_gradients():
    """x[[0, 0, 2]].sum(): element 0 is used twice, 1 never, 2 once."""
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 1.0])


def test_repeated_rows_accumulate_weighted_gradients():
    """sum(w * x[[1, 1, 1, 0]]): row 1 collects w[0] + w[1] + w[2], row 0 collects w[3]."""
    w = np.random.default_rng(1).standard_normal((4, 2))
    x = mg.tensor(np.random.default_rng(2).standard_normal((3, 2)), requires_grad=True)
    (x[np.array([1, 1, 1, 0])] * w).sum().backward()
    expected = np.stack([w[3], w[0] + w[1] + w[2], np.zeros(2)])
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


def test_repeated_pairs_accumulate_gradients():
    """x[[0, 0, 1], [2, 2, 0]].sum() counts each (row, column) pair."""
    x = mg.tensor(np.zeros((2, 3)), requires_grad=True)
    x[[0, 0, 1], [2, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0, 2.0], [1.0, 0.0, 0.0]])


def test_boolean_mask_gradient_is_the_mask():
    x = mg.tensor(np.ones((3, 4)), requires_grad=True)
    x[MASK_3x4].sum().backward()
    np.testing.assert_array_equal(x.grad.data, MASK_3x4.astype(float))


def test_mask_from_a_comparison_selects_and_routes_gradients():
    """x[x > 0]: the boolean Tensor of a comparison is a mask; the gradient of the sum is it."""
    x = mg.tensor(X2, requires_grad=True)
    selected = x[x > 0]
    np.testing.assert_array_equal(selected.data, X2[X2 > 0])
    selected.sum().backward()
    np.testing.assert_array_equal(x.grad.data, (X2 > 0).astype(float))


def test_integer_tensor_index_acts_like_its_array():
    """An integer Tensor used as an index selects what its array would."""
    x = mg.tensor(X2, requires_grad=True)
    index = mg.tensor(np.array([2, 0, 2]))
    np.testing.assert_array_equal(x[index].data, X2[[2, 0, 2]])
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.array([1.0, 0.0, 2.0])[:, None] * np.ones(4))
