"""mg.vmap of the functions that select by value (max/min along a dim, argmax/argmin, sort,
argsort, topk, all/any/count_nonzero, one_hot): each against a Python loop over the examples of
the unbatched function, exactly (the same indices at ties and NaN, the same values), and their
derivatives (vmap(grad), grad(vmap)) against a loop of gradients.
"""

import numpy as np
import pytest

import minigrad as mg

rng = np.random.default_rng(61)
F = mg.nn.functional
B = 4


def ties_and_nan(shape):
    """Values with many ties (few distinct values), one NaN, and signed zeros, float64."""
    x = rng.integers(-2, 3, size=shape).astype(np.float64)
    x[x == 0] = np.where(rng.random(np.count_nonzero(x == 0)) < 0.5, 0.0, -0.0)
    x.flat[rng.integers(x.size)] = np.nan
    return x


def leaves(out):
    """The arrays of a result: a tensor, or a tuple of them (values, indices)."""
    return [t.data for t in out] if isinstance(out, tuple) else [out.data]


def looped(fn, x, axis=0):
    """``fn`` on each example (the slices of ``x`` along ``axis``), each result stacked."""
    rows = [leaves(fn(mg.tensor(np.take(x, i, axis)))) for i in range(x.shape[axis])]
    return [np.stack(parts) for parts in zip(*rows)]


def assert_same(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)  # exact: NaN where NaN
        np.testing.assert_array_equal(np.signbit(g), np.signbit(e))  # -0.0 stays -0.0


def assert_matches_loop(fn, x, axis=0):
    assert_same(leaves(mg.vmap(fn, in_axes=axis)(mg.tensor(x))), looped(fn, x, axis))


# ----- the functions, one example at a time --------------------------------------------------------

SELECTIONS = {
    "max(dim=0)": lambda x: x.max(dim=0),
    "max(1, keepdim)": lambda x: x.max(1, keepdim=True),
    "max(-1)": lambda x: x.max(-1),
    "min(dim=-2)": lambda x: x.min(dim=-2),
    "min(2, keepdim)": lambda x: x.min(2, keepdim=True),
    "max() (every dim)": lambda x: x.max(),
    "argmax()": lambda x: x.argmax(),
    "argmax(keepdim)": lambda x: x.argmax(keepdim=True),
    "argmax(1)": lambda x: x.argmax(1),
    "argmin(-1, keepdim)": lambda x: x.argmin(-1, keepdim=True),
    "argmin()": lambda x: mg.argmin(x),
    "sort()": lambda x: x.sort(),
    "sort(0, descending)": lambda x: x.sort(0, descending=True),
    "sort(-2)": lambda x: mg.sort(x, dim=-2),
    "argsort(1, descending)": lambda x: x.argsort(1, descending=True),
    "argsort(axis=0)": lambda x: mg.argsort(x, axis=0),
    "topk(2)": lambda x: x.topk(2),
    "topk(3, 0, smallest)": lambda x: x.topk(3, 0, largest=False),
    "topk(0)": lambda x: x.topk(0, dim=1),
    "all(1)": lambda x: (x > 0).all(1),
    "any((0, 2), keepdim)": lambda x: x.any((0, 2), keepdim=True),
    "all()": lambda x: mg.all(x),
    "count_nonzero(-1)": lambda x: x.count_nonzero(-1),
    "count_nonzero()": lambda x: mg.count_nonzero(x),
}


@pytest.mark.parametrize("fn", SELECTIONS.values(), ids=SELECTIONS.keys())
def test_each_selection_matches_a_loop_over_the_examples(fn):
    assert_matches_loop(fn, ties_and_nan((B, 3, 4, 5)))


@pytest.mark.parametrize("fn", SELECTIONS.values(), ids=SELECTIONS.keys())
def test_examples_batched_along_another_axis(fn):
    assert_matches_loop(fn, ties_and_nan((3, 4, B, 5)), axis=2)


@pytest.mark.parametrize("fn", SELECTIONS.values(), ids=SELECTIONS.keys())
def test_nested_vmap_matches_a_double_loop(fn):
    x = ties_and_nan((2, 3, 3, 4, 5))
    got = leaves(mg.vmap(mg.vmap(fn, in_axes=1), in_axes=0)(mg.tensor(x)))
    rows = [looped(fn, x[i], axis=1) for i in range(2)]
    assert_same(got, [np.stack(parts) for parts in zip(*rows)])


@pytest.mark.parametrize("name", ["max(1, keepdim)", "argmin()", "sort(0, descending)", "topk(2)"])
def test_integer_values(name):
    assert_matches_loop(SELECTIONS[name], rng.integers(-2, 3, size=(B, 3, 4, 5)))


def test_an_index_found_by_value_then_used_to_index():
    # each example's largest column's entries, and their gradient (batched argmax, then a
    # batched index: the gather's rule)
    def f(x):
        return (x[:, x.sum(0).argmax()] ** 2).sum()

    x = rng.integers(-2, 3, size=(B, 3, 4)).astype(np.float64)
    assert_matches_loop(f, x)
    assert_matches_loop(mg.grad(f), x)


ZERO_D = {
    "max(0)": lambda x: x.max(0),
    "min(-1, keepdim)": lambda x: x.min(-1, keepdim=True),
    "argmax(0)": lambda x: x.argmax(0),
    "argmin()": lambda x: x.argmin(),
    "sort()": lambda x: x.sort(),
    "argsort()": lambda x: x.argsort(),
    "topk(1)": lambda x: x.topk(1),
    "any()": lambda x: x.any(),
}


@pytest.mark.parametrize("fn", ZERO_D.values(), ids=ZERO_D.keys())
def test_examples_that_are_scalars(fn):
    assert_matches_loop(fn, ties_and_nan((B,)))


# ----- derivatives ------------------------------------------------------------------------------

DIFFERENTIABLE = {
    "max(1)": lambda x: x.max(1).values,
    "min(0, keepdim)": lambda x: x.min(0, keepdim=True).values,
    "sort(-1)": lambda x: x.sort(-1).values,
    "sort(0, descending)": lambda x: x.sort(0, descending=True)[0],
    "topk(2, 1)": lambda x: x.topk(2, 1).values,
    "topk(2, 0, smallest)": lambda x: x.topk(2, 0, largest=False).values,
}


def weighted(select):
    """A scalar of the selected values, with a different weight for each of their places (so
    that a gradient sent to the wrong element shows)."""

    def loss(x):
        values = select(x)
        weights = mg.tensor(np.arange(1.0, values.numel() + 1).reshape(values.shape))
        return (values * weights).sin().sum()

    return loss


def central_differences(loss, x, eps=1e-6):
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[k] += eps
        down[k] -= eps
        g[k] = (loss(mg.tensor(up)).item() - loss(mg.tensor(down)).item()) / (2 * eps)
    return g


@pytest.mark.parametrize("select", DIFFERENTIABLE.values(), ids=DIFFERENTIABLE.keys())
def test_per_example_gradients_match_a_loop_of_gradients(select):
    loss = weighted(select)
    x = rng.integers(-2, 3, size=(B, 3, 4)).astype(np.float64)  # ties: one of them gets it
    assert_matches_loop(mg.grad(loss), x)
    # and finite differences, where no ties make the selection locally constant
    x = rng.standard_normal((B, 3, 4))
    per_example = mg.vmap(mg.grad(loss))(mg.tensor(x)).data
    for i in range(B):
        expected = central_differences(loss, x[i])
        np.testing.assert_allclose(per_example[i], expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("select", DIFFERENTIABLE.values(), ids=DIFFERENTIABLE.keys())
def test_gradient_of_a_vmapped_selection_matches_the_gradient_of_the_loop(select):
    x = mg.tensor(rng.integers(-2, 3, size=(B, 3, 4)).astype(np.float64))
    loss = weighted(select)
    batched = mg.grad(lambda x: (mg.vmap(loss)(x) * mg.arange(1.0, B + 1)).sum())(x)
    looped_ = mg.grad(lambda x: sum((i + 1) * loss(x[i]) for i in range(B)))(x)
    np.testing.assert_array_equal(batched.data, looped_.data)


def test_second_derivatives_through_a_vmapped_sort():
    x = mg.tensor(rng.standard_normal((B, 5)))

    def loss(x):
        return (x.sort().values ** 3 * mg.arange(1.0, 6.0)).sum()

    hessians = mg.vmap(mg.hessian(loss))(x).data
    for i in range(B):  # d2/dx2 of sum w_k s_k^3 = 6 w_k s_k at the place s_k came from
        values, indices = np.sort(x.data[i]), np.argsort(x.data[i])
        expected = np.zeros((5, 5))
        expected[indices, indices] = 6 * np.arange(1.0, 6.0) * values
        np.testing.assert_allclose(hessians[i], expected, rtol=1e-12)


def test_per_example_gradients_through_a_max_of_per_example_logits():
    # the use that matters: a margin loss on each example's largest wrong logit
    w = mg.tensor(rng.standard_normal((3, 5)))
    xs = mg.tensor(rng.standard_normal((B, 3)))

    def loss(w, x):
        logits = x @ w
        return (logits.max(0).values - logits[0]).relu()

    per_example = mg.vmap(mg.grad(loss), in_axes=(None, 0))(w, xs)
    for i in range(B):
        np.testing.assert_array_equal(per_example.data[i], mg.grad(loss)(w, xs[i]).data)


# ----- one_hot ----------------------------------------------------------------------------------


def test_one_hot_of_batched_labels_matches_a_loop():
    labels = rng.integers(0, 4, size=(B, 2, 3))
    assert_matches_loop(lambda i: F.one_hot(i, 5), labels)
    assert_matches_loop(lambda i: F.one_hot(i, 4), labels, axis=1)
    nested = mg.vmap(mg.vmap(lambda i: F.one_hot(i, 4)))(mg.tensor(labels)).data
    np.testing.assert_array_equal(nested, np.eye(4, dtype=np.int64)[labels])


def test_one_hot_of_batched_labels_refuses_what_it_cannot_know():
    labels = mg.tensor(rng.integers(0, 4, size=(B, 3)))
    with pytest.raises(mg.BatchingError, match="num_classes=-1.*pass num_classes"):
        mg.vmap(F.one_hot)(labels)
    with pytest.raises(mg.OpError, match="smaller than num_classes=3, got 3"):
        mg.vmap(lambda i: F.one_hot(i, 3))(labels + (labels == 0).long() * 3)
    with pytest.raises(mg.OpError, match="non-negative, got -1"):
        mg.vmap(lambda i: F.one_hot(i, 4))(labels - 1)


def test_vmap_returns_the_named_pairs_of_max_sort_and_topk():
    x = ties_and_nan((B, 3, 4))
    out = mg.vmap(lambda x: x.sort(1))(mg.tensor(x))
    assert type(out).__name__ == "sort"
    assert_same([out.values.data, out.indices.data], looped(lambda x: x.sort(1), x))
