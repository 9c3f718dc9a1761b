"""mg.vmap: batching rules against a Python loop over the examples, the API's semantics (JAX's
and torch.func.vmap's), and compositions with grad.

Every built-in primitive has its own batching rule: the named, warned loop fallback exists for
a user's primitive without one, and the registry test below makes sure no built-in needs it.
"""

import warnings

import numpy as np
import pytest
from harness import primitives_used
from hypothesis import given, settings
from hypothesis import strategies as st
from test_registry import all_cases, builtin_primitives

import minigrad as mg
from minigrad.batching import BatchingWarning

PENDING: set[str] = set()  # built-in primitives without a batching rule: none

rng = np.random.default_rng(3)


def own_rule(cls) -> bool:
    return next(k for k in cls.__mro__ if "batch" in vars(k)) is not mg.Primitive


def test_every_builtin_primitive_has_its_own_batching_rule():
    missing = {name for name, cls in builtin_primitives().items() if not own_rule(cls)}
    assert missing == PENDING


def batch_of(case, size=3):
    """``size`` examples of each input: the case's own values, moved a little each time."""
    return [
        np.stack([a + 0.1 * k if a.dtype.kind == "f" else a for k in range(size)])
        for a in case.inputs
    ]


RULED = [c for c in all_cases() if not (primitives_used(c) & PENDING)]


@pytest.mark.parametrize("case", RULED, ids=str)
def test_every_batching_rule_matches_a_loop_over_the_examples(case):
    batch = batch_of(case)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)  # no loop fallback for these
        got = mg.vmap(case.fn)(*[mg.tensor(b) for b in batch])
    expected = [case.fn(*[mg.tensor(b[k]) for b in batch]).data for k in range(3)]
    np.testing.assert_allclose(got.data, np.stack(expected), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", RULED, ids=str)
@settings(max_examples=3, deadline=None, derandomize=True)
@given(data=st.data())
def test_every_batching_rule_matches_a_loop_in_any_axes(case, data):
    """Each input batched or not (at least one is), along any of its axes (negative too), for
    a batch of 1 to 3: the same as the operation on each example."""
    n = len(case.inputs)
    chosen = data.draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(any), "batched")
    size = data.draw(st.integers(1, 3), "size")
    args, axes = [], []
    for a, batched in zip(case.inputs, chosen):
        if not batched:
            args.append(a)
            axes.append(None)
            continue
        axis = data.draw(st.integers(-a.ndim - 1, a.ndim), "axis")
        examples = [a + 0.1 * k if a.dtype.kind == "f" else a for k in range(size)]
        args.append(np.stack(examples, axis=axis))
        axes.append(axis)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        got = mg.vmap(case.fn, in_axes=tuple(axes))(*[mg.tensor(a) for a in args])

    def example(a, axis, k):
        return mg.tensor(a if axis is None else np.take(a, k, axis=axis))

    expected = [case.fn(*[example(a, x, k) for a, x in zip(args, axes)]).data for k in range(size)]
    np.testing.assert_allclose(got.data, np.stack(expected), rtol=1e-12, atol=1e-12)


def f(x, W):
    return (x @ W).tanh().sum()


X = mg.tensor(rng.standard_normal((5, 3)))
W = mg.tensor(rng.standard_normal((3, 4)))


def test_vmap_of_grad_gives_per_example_gradients():
    per_example = mg.vmap(mg.grad(f, argnums=1), in_axes=(0, None))(X, W)
    assert per_example.shape == (5, 3, 4)
    for i in range(5):
        np.testing.assert_allclose(per_example.data[i], mg.grad(f, argnums=1)(X[i], W).data)
    # and w.r.t. the example itself, against the closed form (1 - tanh^2) W 1
    dx = mg.vmap(mg.grad(f))(X, W) if False else mg.vmap(mg.grad(f), in_axes=(0, None))(X, W)
    closed = (1 - np.tanh(X.data @ W.data) ** 2) @ W.data.T
    np.testing.assert_allclose(dx.data, closed, rtol=1e-12)


def test_grad_of_vmap_and_nested_vmap():
    w = mg.tensor(W.data, requires_grad=True)
    total = mg.grad(lambda w: mg.vmap(f, in_axes=(0, None))(X, w).sum())(w)
    np.testing.assert_allclose(total.data, mg.grad(lambda w: f(X, w))(w).data, rtol=1e-12)
    Y = mg.tensor(rng.standard_normal((2, 5, 3)))
    nested = mg.vmap(mg.vmap(f, in_axes=(0, None)), in_axes=(0, None))(Y, W)
    expected = [[f(Y[i, j], W).item() for j in range(5)] for i in range(2)]
    np.testing.assert_allclose(nested.data, expected, rtol=1e-12)


def test_in_axes_out_axes_and_chunks():
    Xt = mg.tensor(X.data.T.copy())  # the batch on axis 1
    a = mg.vmap(lambda x: x * 2, in_axes=1)(Xt)
    np.testing.assert_allclose(a.data, X.data * 2)
    b = mg.vmap(lambda x: x * 2, in_axes=-1, out_axes=1)(Xt)
    np.testing.assert_allclose(b.data, Xt.data * 2)
    d = mg.vmap(lambda p: p["x"] @ p["w"], in_axes=({"x": 0, "w": None},))({"x": X, "w": W})
    np.testing.assert_allclose(d.data, X.data @ W.data)
    c = mg.vmap(f, in_axes=(0, None), chunk_size=2)(X, W)
    np.testing.assert_allclose(c.data, mg.vmap(f, in_axes=(0, None))(X, W).data)
    scaled = mg.vmap(lambda x, scale=1.0: x * scale)(X, scale=3.0)  # keywords: shared
    np.testing.assert_allclose(scaled.data, X.data * 3)
    # chunks put their results on out_axes too, and share an out_axes=None result
    pair = mg.vmap(lambda x: (x * 2, W.sum()), out_axes=(1, None), chunk_size=2)(X)
    np.testing.assert_allclose(pair[0].data, X.data.T * 2)
    assert pair[1].shape == ()
    const = mg.vmap(lambda x: W.sum())(X)  # a result that does not depend on the batch
    np.testing.assert_allclose(const.data, np.full(5, W.data.sum()))


def test_errors_name_what_is_wrong():
    with pytest.raises(mg.ArgumentError, match="different sizes"):
        mg.vmap(lambda a, b: a + b)(X, mg.ones(4, 3))
    with pytest.raises(mg.ArgumentError, match="no argument is batched"):
        mg.vmap(lambda a: a, in_axes=None)(X)
    with pytest.raises(mg.ArgumentError, match="in_axes has 1 entries for 2"):
        mg.vmap(lambda a, b: a, in_axes=(0,))(X, X)
    with pytest.raises(mg.BatchingError, match=r"\.item\(\) on a value that is batched"):
        mg.vmap(lambda x: x.sum().item())(X)
    with pytest.raises(mg.BatchingError, match="numpy's add on a value that is batched"):
        mg.vmap(lambda x: np.add(x.data, 1))(X)
    with pytest.raises(mg.ArgumentError, match="randomness='sometimes'"):
        mg.vmap(lambda x: x, randomness="sometimes")


def test_random_draws_are_refused_or_shared_as_randomness_says():
    dropout = mg.nn.Dropout(0.5)
    with pytest.raises(mg.BatchingError, match="random draw.*randomness='different'"):
        mg.vmap(dropout)(X)
    mg.manual_seed(0)
    out = mg.vmap(dropout, randomness="same")(X)
    kept = out.data != 0
    assert (kept == kept[0]).all() and 0 < kept[0].sum() < 3  # one mask for every example
    np.testing.assert_allclose(out.data[kept], 2 * X.data[kept])


def test_per_example_gradients_through_max_split_ties_as_eagerly():
    x = mg.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]))
    g = mg.vmap(mg.grad(lambda v: v.max()))(x)
    np.testing.assert_array_equal(g.data, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_a_user_primitive_without_a_rule_is_looped_with_one_warning():
    class Cube(mg.Primitive):
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def vjp(g, y, x):
            return (g * 3 * x * x,)

    with pytest.warns(BatchingWarning, match="Cube has no batching rule"):
        out = mg.vmap(lambda v: Cube.apply(v).sum())(X)
    np.testing.assert_allclose(out.data, (X.data**3).sum(axis=1), rtol=1e-12)


def test_forward_mode_transforms_around_vmap():
    """hessian, jvp and hvp of a function that uses vmap: the same as without it."""
    w, v = mg.tensor(rng.standard_normal(3)), mg.tensor(rng.standard_normal(3))

    def batched(w):
        return mg.vmap(lambda x: (x * w).sin().sum())(X).sum()

    def plain(w):
        return (X * w).sin().sum()

    np.testing.assert_allclose(mg.hessian(batched)(w).data, mg.hessian(plain)(w).data)
    np.testing.assert_allclose(mg.hvp(batched, (w,), (v,)).data, mg.hvp(plain, (w,), (v,)).data)
    jacobian = mg.jacrev(lambda w: mg.vmap(lambda x: (x * w).sin().sum())(X))(w)
    np.testing.assert_allclose(jacobian.data, np.cos(X.data * w.data) * X.data, rtol=1e-12)


def test_randomness_different_draws_each_example_its_own_values():
    dropout = mg.nn.Dropout(0.5)
    ones = mg.ones(64, 10)
    mg.manual_seed(3)
    masks = mg.vmap(dropout, randomness="different")(ones).data != 0
    assert len({m.tobytes() for m in masks}) > 50  # independent masks, not one shared
    assert 0.4 < masks.mean() < 0.6
    # per-example gradients through dropout: each is its own mask times 2
    mg.manual_seed(3)
    grads = mg.vmap(mg.grad(lambda x: dropout(x).sum()), randomness="different")(ones)
    np.testing.assert_array_equal(grads.data, 2.0 * masks)
    # normal and integer draws too: independent rows, each with the right distribution
    mg.manual_seed(4)
    normal = mg.vmap(lambda x: x * 0 + mg.randn(10), randomness="different")(mg.ones(500, 10))
    assert len({row.tobytes() for row in normal.data}) == 500
    assert abs(normal.data.mean()) < 0.05 and abs(normal.data.std() - 1) < 0.05
    ints = mg.vmap(lambda x: mg.randint(0, 3, (10,)) + x, randomness="different")(ones.long())
    assert set(np.unique(ints.data - 1)) == {0, 1, 2}
    with pytest.raises(mg.BatchingError, match="multinomial reads the values of a batched"):
        mg.vmap(lambda x: mg.multinomial(x.softmax(0), 2), randomness="different")(ones)


def test_compiled_per_example_gradients_replay_exactly():
    per_example = mg.vmap(mg.grad(f, argnums=1), in_axes=(0, None))
    compiled = mg.compile(per_example)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            out = compiled(X, W)
    assert out.data.tobytes() == per_example(X, W).data.tobytes()
    assert [e.verified for e in compiled.recordings.values()] == [True]


def test_argument_and_result_errors_name_the_fix():
    with pytest.raises(mg.ArgumentError, match="vmap takes a function"):
        mg.vmap(3)
    with pytest.raises(mg.ArgumentError, match="chunk_size=0 must be a positive int"):
        mg.vmap(lambda x: x, chunk_size=0)
    with pytest.raises(mg.ArgumentError, match="in_axes=0 for a float; only tensors are batched"):
        mg.vmap(lambda x, s: x * s)(X, 2.0)
    with pytest.raises(mg.ArgumentError, match=r"in_axes=2 for a tensor of shape \(5, 3\)"):
        mg.vmap(lambda x: x, in_axes=2)(X)
    with pytest.raises(mg.BatchingError, match="returned a float; it must return tensors"):
        mg.vmap(lambda x: 1.0)(X)
    with pytest.raises(mg.BatchingError, match="out_axes=None for a result of shape \\(3,\\)"):
        mg.vmap(lambda x: x, out_axes=None)(X)
    # out_axes=None for a result that does not differ per example: that result, once (JAX's)
    both = mg.vmap(lambda x: (x * 2, W.sum()), out_axes=(0, None))(X)
    np.testing.assert_allclose(both[0].data, X.data * 2)
    assert both[1].shape == () and both[1].item() == pytest.approx(W.data.sum())


def test_integer_arithmetic_an_unused_argument_and_a_repr_under_vmap():
    ints = mg.tensor(np.arange(-6, 6).reshape(4, 3))
    np.testing.assert_array_equal(mg.vmap(lambda i: i % 4)(ints).data, ints.data % 4)
    np.testing.assert_array_equal(mg.vmap(lambda i: i // -4)(ints).data, ints.data // -4)
    copies = mg.vmap(lambda i: i.clone() + i.round() + i.double().long())(ints)
    np.testing.assert_array_equal(copies.data, 3 * ints.data)
    unused = mg.vmap(mg.grad(lambda w, x: (x * 2).sum()), in_axes=(0, None))(X, W[:, 0])
    np.testing.assert_array_equal(unused.data, np.zeros(X.shape))  # f does not depend on w
    seen = []
    mg.vmap(lambda x: seen.append(repr(x)) or x)(X)
    assert seen == ["tensor(<batched under mg.vmap (level 1): 5 examples of (3,)>)"]


def test_in_place_updates_of_batched_tensors_and_writes_into_shared_ones():
    """In place on a batched tensor: each example's own update (as a loop does). A batched value
    written into a tensor every example shares: refused, by name, never silently lost."""

    def f(v):
        v = v * 1.0
        v.mul_(2)
        v.add_(1, alpha=3)
        v.div_(4)
        filled = v * 0.0
        filled.fill_(7.0)
        filled.add_(v)
        copied = v * 0.0
        copied.copy_(np.ones(3))
        assigned = v * 1.0
        assigned[0] = -1.0  # an assignment at an index: the example's own tensor changes
        assigned[[1, 2]] = v[0] * 5
        return v, filled, copied, assigned

    batched = mg.vmap(f)(X)
    looped = [np.stack(parts) for parts in zip(*[[t.data for t in f(X[i])] for i in range(5)])]
    for got, expected in zip(batched, looped, strict=True):
        np.testing.assert_allclose(got.data, expected)
    shared = mg.zeros(3)
    for write in (lambda x: shared.add_(x), lambda x: shared.copy_(x)):
        with pytest.raises(mg.BatchingError, match="is batched under mg.vmap.*is not"):
            mg.vmap(write)(X)
    np.testing.assert_array_equal(shared.data, np.zeros(3))

    def write_at(x):
        shared[0] = x[0]
        return x

    with pytest.raises(mg.BatchingError, match="__setitem__: the value written in place"):
        mg.vmap(write_at)(X)


def test_what_vmap_cannot_batch_is_refused_by_name():
    """Each refusal names the operation and the way out; none computes with placeholders."""
    ones = mg.ones(4, 3, dtype=mg.float64)
    with pytest.raises(mg.BatchingError, match=r"numpy's permutation\(\) is not batched yet"):
        mg.vmap(lambda x: x + mg.randperm(3).double(), randomness="different")(ones)
    with pytest.raises(mg.BatchingError, match="bernoulli reads the values of a batched"):
        mg.vmap(lambda x: mg.bernoulli(x * 0.5), randomness="different")(ones)
    with pytest.raises(mg.BatchingError, match="normal_ on a tensor batched under mg.vmap"):
        mg.vmap(lambda x: (x * 1.0).normal_(), randomness="different")(ones)
    with pytest.raises(mg.BatchingError, match=r"BatchNorm1d\(3\).*training mode.*eval"):
        mg.vmap(mg.nn.BatchNorm1d(3).double())(mg.ones(4, 2, 3, dtype=mg.float64))

    def set_twice(x):
        x = x * 1.0
        x[[0, 0]] = 1.0
        return x

    with pytest.raises(mg.IndexingError, match="names a position twice"):
        mg.vmap(set_twice)(ones)

    def with_a_tangent(x):
        x.tangent = np.ones((1, 3))  # set by hand, not by mg.jvp
        with mg.autodiff.forward_mode():
            return x.sin()

    with pytest.raises(mg.BatchingError, match="carries a tangent of its own.*mg.jvp"):
        mg.vmap(with_a_tangent)(X)
    probabilities = mg.tensor(rng.uniform(size=(4, 3)))
    probabilities.data[2, 1] = 1.5  # one example's input is no probability
    with pytest.raises(mg.OpError, match="binary_cross_entropy: input holds 1.5"):
        mg.vmap(lambda p: mg.nn.functional.binary_cross_entropy(p, p))(probabilities)
    variances = mg.tensor(np.abs(rng.standard_normal((4, 3))))
    variances.data[3, 0] = -2.0
    with pytest.raises(mg.OpError, match="var holds -2.0"):
        mg.vmap(lambda v: mg.nn.functional.gaussian_nll_loss(v, v, v))(variances)
