"""mg.vmap's batching rules for gathers and scatters (GetItem, ScatterAdd), scans, Einsum, and
the fused layers (Affine, LayerNorm, NllMean) where the op cases do not reach: advanced indices
that numpy moves to the front, per-example weights and biases, per-example labels, and
derivatives through the rules (vmap(grad), grad(vmap)), each against a loop over the examples.
"""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ops
from minigrad.batching import BatchingWarning
from minigrad.primitive import apply

rng = np.random.default_rng(22)
B = 4


def looped(fn, *batches, in_axes=None):
    """``fn`` applied to each example (the leading slices of the batched arguments), stacked."""
    in_axes = in_axes or (0,) * len(batches)
    rows = [
        fn(*[mg.tensor(b[k]) if a == 0 else b for b, a in zip(batches, in_axes)]).data
        for k in range(B)
    ]
    return np.stack(rows)


def vmapped(fn, *batches, in_axes=None):
    in_axes = in_axes or (0,) * len(batches)
    args = [mg.tensor(b) if a == 0 else b for b, a in zip(batches, in_axes)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)  # a rule, never the loop fallback
        return mg.vmap(fn, in_axes=tuple(in_axes))(*args).data


def assert_matches_loop(fn, *batches, in_axes=None):
    got = vmapped(fn, *batches, in_axes=in_axes)
    np.testing.assert_allclose(got, looped(fn, *batches, in_axes=in_axes), rtol=1e-12, atol=1e-12)


# ----- GetItem and ScatterAdd --------------------------------------------------------------------

A, C = np.array([2, 0, 2]), np.array([[1], [2]])
MASK = rng.standard_normal((4, 5)) > 0
INDICES = {
    "arrays split by a slice (moved first)": (A, slice(None), np.array([0, 3, 1])),
    "an int and an array split by a slice": (1, slice(None), A),
    "arrays split by None": (A, None, slice(None), np.array([1, 1, 0])),
    "arrays around an Ellipsis": (C, Ellipsis, np.array([0, 2])),
    "broadcast arrays split by a slice": (C[:1], slice(1, 3), A),
    "a mask then a slice then an array": (np.array([True, False, True]), slice(None), A[:2]),
    "adjacent arrays (stay)": (slice(None), MASK),
    "basic": (1, slice(None, None, -2), None),
}


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_gathers_and_their_scatters_match_a_loop(index):
    x = rng.standard_normal((B, 3, 4, 5))
    weights = rng.standard_normal(np.zeros((3, 4, 5))[index].shape)

    def f(x):
        return (x[index] * mg.tensor(weights)).sin().sum()

    assert_matches_loop(lambda x: x[index], x)
    # vmap(grad): the cotangent of each gather is batched, so ScatterAdd's rule runs
    assert_matches_loop(mg.grad(f), x)
    # grad(vmap): the batched gather's own derivative
    xt = mg.tensor(x, requires_grad=True)
    total = mg.grad(lambda x: mg.vmap(f)(x).sum())(xt)
    np.testing.assert_allclose(total.data, looped(mg.grad(f), x), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([slice(None), slice(1, None), slice(None, None, -1), None, 0, -1]),
            st.lists(st.integers(-2, 1), min_size=1, max_size=3).map(np.array),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_any_mix_of_basic_and_advanced_indices_matches_a_loop(index):
    index = tuple(index)
    x = rng.standard_normal((B, 2, 2, 2))
    try:
        np.zeros((2, 2, 2))[index]
    except IndexError:  # more indices than axes, or arrays that do not broadcast
        return
    assert_matches_loop(lambda x: x[index], x)
    assert_matches_loop(mg.grad(lambda x: (x[index] ** 2).sum()), x)


def test_scatter_add_with_a_batched_source_matches_a_loop():
    index = mg.tensor(np.array([[0, 1, 2, 0], [2, 0, 0, 1]]))

    def f(src):
        return mg.zeros(3, 4, dtype=mg.float64).scatter_add(0, index, src)

    assert_matches_loop(f, rng.standard_normal((B, 2, 4)))


# ----- scans and einsum ---------------------------------------------------------------------------


def test_scans_and_their_derivatives_match_a_loop():
    x = rng.standard_normal((B, 3, 4))
    x[1, 1, 2] = 0.0  # an example with a zero: CumProd's exact derivative
    for fn in (
        lambda x: x.cumsum(1),
        lambda x: x.cumprod(0),
        mg.grad(lambda x: (x.cumprod(1) * x.cumsum(0)).sum()),
    ):
        assert_matches_loop(fn, x)


def test_einsum_with_unbatched_operands_and_nested_vmap():
    x, w = rng.standard_normal((B, 2, 3)), rng.standard_normal((3, 5))
    assert_matches_loop(
        lambda x, w: mg.einsum("ij,jk->ik", x, w), x, mg.tensor(w), in_axes=(0, None)
    )
    assert_matches_loop(
        lambda w, x: mg.einsum("ij,jk->ik", x, w), mg.tensor(w), x, in_axes=(None, 0)
    )
    y = rng.standard_normal((B, 2, 3))  # vmap(vmap): two fresh letters
    nested = mg.vmap(mg.vmap(lambda a, b: mg.einsum("i,i->", a, b)))(mg.tensor(x), mg.tensor(y))
    np.testing.assert_allclose(nested.data, (x * y).sum(axis=-1), rtol=1e-12)


# ----- Affine: per-example inputs, weights and biases ---------------------------------------------

F = mg.nn.functional


@pytest.mark.parametrize("batched", ["x", "w", "b", "xw", "xb", "wb", "xwb"])
@pytest.mark.parametrize("x_shape", [(5, 3), (2, 5, 3), (3,)], ids=str)
def test_linear_with_any_batched_operand_matches_a_loop(batched, x_shape):
    x = rng.standard_normal((B, *x_shape))
    w, b = rng.standard_normal((B, 2, 3)), rng.standard_normal((B, 2))
    operands = [v if name in batched else mg.tensor(v[0]) for name, v in zip("xwb", (x, w, b))]
    in_axes = [0 if name in batched else None for name in "xwb"]
    assert_matches_loop(F.linear, *operands, in_axes=in_axes)
    # the per-example gradient of every operand (the weight's: what per-sample gradients are)
    for argnum in range(3):

        def loss(x, w, b):
            return (F.linear(x, w, b).tanh() * mg.tensor(np.arange(2.0))).sum()

        assert_matches_loop(mg.grad(loss, argnums=argnum), *operands, in_axes=in_axes)


def test_per_example_weight_gradients_of_a_linear_layer_in_closed_form():
    # d/dW sum(x W^T) = 1 x^T: one outer product per example
    x, w = rng.standard_normal((B, 3)), mg.tensor(rng.standard_normal((2, 3)))
    grads = mg.vmap(mg.grad(lambda x, w: F.linear(x, w).sum(), argnums=1), in_axes=(0, None))
    np.testing.assert_allclose(grads(mg.tensor(x), w).data, np.ones((B, 2, 1)) * x[:, None, :])


# ----- LayerNorm: per-example weight and bias -----------------------------------------------------


@pytest.mark.parametrize("batched", ["x", "w", "b", "xw", "wb", "xwb", "xb"])
def test_layer_norm_with_any_batched_operand_matches_a_loop(batched):
    x = rng.standard_normal((B, 2, 3, 4))
    w, b = rng.standard_normal((B, 3, 4)), rng.standard_normal((B, 3, 4))
    operands = [v if name in batched else mg.tensor(v[0]) for name, v in zip("xwb", (x, w, b))]
    in_axes = [0 if name in batched else None for name in "xwb"]

    def norm(x, w, b):
        return F.layer_norm(x, (3, 4), w, b)

    assert_matches_loop(norm, *operands, in_axes=in_axes)
    for argnum in range(3):
        loss = mg.grad(lambda x, w, b: (norm(x, w, b) ** 3).sum(), argnums=argnum)
        assert_matches_loop(loss, *operands, in_axes=in_axes)


# ----- NllMean: per-example labels -----------------------------------------------------------------


def nll(logp, labels):
    # NOTE: the primitive itself: cross_entropy refuses batched labels before it gets here
    return apply(ops.NllMean, logp, labels=labels.data)


@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None)], ids=str)
def test_nll_with_batched_labels_matches_a_loop_and_the_closed_form(in_axes):
    logp = np.log(rng.dirichlet(np.ones(3), size=(B, 5)))
    labels = rng.integers(0, 3, size=(B, 5))
    args = [logp if in_axes[0] == 0 else mg.tensor(logp[0]), labels]
    if in_axes[1] is None:
        args[1] = mg.tensor(labels[0])
    got = vmapped(nll, *args, in_axes=in_axes)
    np.testing.assert_allclose(got, looped(nll, *args, in_axes=in_axes), rtol=1e-12)
    lp = logp if in_axes[0] == 0 else np.broadcast_to(logp[0], logp.shape)
    lab = labels if in_axes[1] == 0 else np.broadcast_to(labels[0], labels.shape)
    closed = -np.take_along_axis(lp, lab[..., None], axis=2)[..., 0].mean(axis=1)
    np.testing.assert_allclose(got, closed, rtol=1e-12)
    if in_axes == (0, None):  # per-example gradients: -1/n at each row's label
        grads = vmapped(mg.grad(nll), *args, in_axes=in_axes)
        np.testing.assert_allclose(grads, -np.eye(3)[lab] / 5, rtol=1e-12)
    if in_axes[0] == 0:  # the gradient of the batch's total, through the rule's own operations
        total = mg.grad(
            lambda lp: mg.vmap(nll, in_axes=in_axes)(
                lp, mg.tensor(labels if in_axes[1] == 0 else labels[0])
            ).sum()
        )
        np.testing.assert_allclose(total(mg.tensor(logp)).data, -np.eye(3)[lab] / 5, rtol=1e-12)


def test_per_example_gradients_of_cross_entropy_with_per_example_labels():
    # vmap(grad) with batched labels: NllMean's VJP runs at the batched level with the labels
    # still batched (a batched mask), against a loop of single-example gradients
    logits = rng.standard_normal((B, 5, 3))
    labels = rng.integers(0, 3, size=(B, 5))
    loss = mg.grad(lambda x, y: nll(F.log_softmax(x, dim=1), y))
    assert_matches_loop(loss, logits, labels)


# ----- batched index tensors: x[i], gather, scatter, masks, embeddings -----------------------------

# Each example's index (the leading slices of these), for x of one example's shape (3, 4, 5):
# repeats and negative entries included, so that gradients accumulate and wrap.
I3 = np.array([[0, 2, 2], [-1, 0, 1], [1, 1, 1], [2, -3, 0]])  # into an axis of size 3
I4 = np.array([[3, 3, 0], [1, -4, 2], [0, 0, 0], [2, 1, 3]])  # into an axis of size 4
I5 = np.array([[4, 0, 4], [1, 1, -5], [3, 2, 0], [0, 4, 4]])  # into an axis of size 5
SCALARS = np.array([2, 0, -1, 1])  # a 0-d index per example
ROW = np.array([True, False, True])  # an unbatched mask of axis 0, beside batched indices
FIXED = np.array([[0], [4]])  # an unbatched index array, beside batched ones
BATCHED_INDICES = {
    "x[i]": lambda i, j, k, s: (i,),
    "x[:, j]": lambda i, j, k, s: (slice(None), j),
    "x[..., k]": lambda i, j, k, s: (Ellipsis, k),
    "x[i, j] (adjacent)": lambda i, j, k, s: (i, j),
    "x[:, j, k] (adjacent, after a slice)": lambda i, j, k, s: (slice(None), j, k),
    "x[i, :, k] (split: moved first)": lambda i, j, k, s: (i, slice(None), k),
    "x[1, :, k] (an int and an array, split)": lambda i, j, k, s: (1, slice(None), k),
    "x[:, j, 2] (an array and an int, adjacent)": lambda i, j, k, s: (slice(None), j, 2),
    "x[None, :, j, 1:4]": lambda i, j, k, s: (None, slice(None), j, slice(1, 4)),
    "x[i, None, k] (split by None)": lambda i, j, k, s: (i, None, slice(None), k),
    "x[:, j, ..., fixed] (split by ...)": lambda i, j, k, s: (slice(None), j, Ellipsis, FIXED),
    "x[s] (0-d)": lambda i, j, k, s: (s,),
    "x[:, ::-1, s] (0-d)": lambda i, j, k, s: (slice(None), slice(None, None, -1), s),
    "x[mask, :, k[:2]] (an unbatched mask)": lambda i, j, k, s: (ROW, slice(None), k[:2]),
}


def indexing_case(name):
    build = BATCHED_INDICES[name]
    return lambda x, i, j, k, s: x[build(i, j, k, s)]


def index_batches():
    return I3, I4, I5, SCALARS


@pytest.mark.parametrize("name", BATCHED_INDICES)
def test_batched_integer_indices_match_a_loop_with_their_gradients(name):
    x = rng.standard_normal((B, 3, 4, 5))
    index = indexing_case(name)
    out_shape = looped(index, x, *index_batches()).shape[1:]
    weights = mg.tensor(rng.standard_normal(out_shape))

    def f(x, i, j, k, s):
        return (index(x, i, j, k, s) * weights).sin().sum()

    assert_matches_loop(index, x, *index_batches())
    # vmap(grad): repeated indices accumulate in each example's gradient (ScatterAdd's rows)
    assert_matches_loop(mg.grad(f), x, *index_batches())
    # the same data for every example (in_axes=None), only the indices batched
    shared = mg.tensor(x[0])
    in_axes = (None, 0, 0, 0, 0)
    assert_matches_loop(index, shared, *index_batches(), in_axes=in_axes)
    assert_matches_loop(mg.grad(f), shared, *index_batches(), in_axes=in_axes)
    # grad(vmap): the batched gather's own derivative, into the batched and into the shared x
    ids = [mg.tensor(a) for a in index_batches()]
    for data, axes in ((mg.tensor(x), 0), (shared, None)):
        vmapped_f = mg.vmap(f, in_axes=(axes, 0, 0, 0, 0))
        total = mg.grad(lambda x, f=vmapped_f: f(x, *ids).sum())(data)
        each = looped(mg.grad(f), x if axes == 0 else data, *index_batches(),
                      in_axes=(axes, 0, 0, 0, 0))  # fmt: skip
        np.testing.assert_allclose(total.data, each if axes == 0 else each.sum(0), rtol=1e-12)


def test_the_per_example_gradient_of_a_gather_counts_each_index_in_closed_form():
    # d/dx sum(x[i]) is the number of times each position is named (repeats accumulate)
    grads = mg.vmap(mg.grad(lambda x, i: x[i].sum()))(mg.tensor(rng.standard_normal((B, 3))),
                                                      mg.tensor(I3))  # fmt: skip
    counts = np.stack([np.bincount(row % 3, minlength=3) for row in I3])
    np.testing.assert_array_equal(grads.data, counts)


def test_the_reported_example_and_other_in_axes():
    x, i = rng.standard_normal((4, 3, 5)), np.array([[0, 1, 2], [2, 2, 1], [0, 0, 0], [1, 2, 0]])
    got = mg.vmap(lambda x, i: x[i])(mg.tensor(x), mg.tensor(i))
    np.testing.assert_array_equal(got.data, np.stack([x[b][i[b]] for b in range(4)]))
    # the batch on axis 2 of x and axis 1 of the index, the results' batch on axis 1
    xt, it = np.moveaxis(x, 0, 2), np.moveaxis(i, 0, 1)
    f = mg.vmap(lambda x, i: x[:, i], in_axes=(2, 1), out_axes=1)
    expected = np.stack([xt[..., b][:, it[:, b]] for b in range(4)], axis=1)
    np.testing.assert_array_equal(f(mg.tensor(xt), mg.tensor(it)).data, expected)
    grad = mg.vmap(mg.grad(lambda x, i: (x[:, i] ** 2).sum()), in_axes=(2, 1), out_axes=2)
    loop = [mg.grad(lambda x, i: (x[:, i] ** 2).sum())(mg.tensor(xt[..., b]), mg.tensor(it[:, b]))
            for b in range(4)]  # fmt: skip
    np.testing.assert_allclose(grad(mg.tensor(xt), mg.tensor(it)).data,
                               np.stack([g.data for g in loop], axis=2), rtol=1e-12)  # fmt: skip


LEVEL_AXES = [(0, 0), (0, None), (None, 0)]  # (x's, the index's) in_axes at one vmap level


@pytest.mark.parametrize("outer", LEVEL_AXES, ids=lambda a: f"outer{a}")
@pytest.mark.parametrize("inner", LEVEL_AXES, ids=lambda a: f"inner{a}")
def test_nested_vmap_with_batched_indices_matches_a_double_loop(outer, inner):
    C = 3  # the inner batch
    full = [rng.standard_normal((B, C, 4, 5)), rng.integers(-4, 4, (B, C, 2, 3))]

    def given(a, o, i):  # what vmap(vmap) takes: without the axes that are not batched
        a = a if i == 0 else a[:, 0]
        return a if o == 0 else a[0]

    def example(a, o, i, b, c):
        return a[b if o == 0 else 0, c if i == 0 else 0]

    def f(x, i):
        return (x[:, i] ** 2).sum() * x[i[0, 0]].sum()

    args = [mg.tensor(given(a, o, i)) for a, o, i in zip(full, outer, inner)]
    for fn in (f, mg.grad(f)):
        nested = mg.vmap(mg.vmap(fn, in_axes=inner), in_axes=outer)(*args)
        loop = [[fn(*[mg.tensor(example(a, o, i, b, c)) for a, o, i in zip(full, outer, inner)]).data
                 for c in range(C)] for b in range(B)]  # fmt: skip
        np.testing.assert_allclose(nested.data, np.array(loop), rtol=1e-12)


# The gathers and scatters of indexing.py with each example's own index (x one example (3, 4)).
G = np.array([[[0, 2, 1, 0], [2, 2, 2, 1]], [[1, 0, 0, 2], [0, 1, 2, 2]],
              [[2, 2, 2, 2], [1, 1, 1, 1]], [[0, 1, 2, 0], [1, 2, 0, 1]]])  # fmt: skip
SELECT = np.array([[3, 0, 3], [1, 1, 2], [0, 2, 0], [2, 3, 1]])  # along dim 1 (size 4)
TAKE = np.array([[11, -1, 0], [5, 5, -12], [3, 7, 7], [0, 1, 2]])  # into the flattened 12
ALONG = np.array([[[1, -1]], [[0, 3]], [[-4, 2]], [[3, 3]]])  # (1, 2): broadcast along dim 0
GATHERS = {
    "gather dim 0": (lambda x, i: x.gather(0, i), G),
    "gather dim 1": (lambda x, i: x.gather(1, i[:, 1:]), G),
    "index_select": (lambda x, i: x.index_select(1, i), SELECT),
    "index_select of a 0-d index": (lambda x, i: mg.index_select(x, 1, i[0]), SELECT),
    "take": (lambda x, i: x.take(i), TAKE),
    "take_along_dim": (lambda x, i: mg.take_along_dim(x, i, dim=1), ALONG),
    "take_along_dim flat": (lambda x, i: mg.take_along_dim(x, i[0, 0]), ALONG),
}


@pytest.mark.parametrize("name", GATHERS)
@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0)], ids=["x batched", "x shared"])
def test_gathers_with_batched_indices_match_a_loop(name, in_axes):
    fn, index = GATHERS[name]
    x = rng.standard_normal((B, 3, 4))
    x = x if in_axes[0] == 0 else mg.tensor(x[0])
    assert_matches_loop(fn, x, index, in_axes=in_axes)
    assert_matches_loop(mg.grad(lambda x, i: (fn(x, i) ** 2).sum()), x, index, in_axes=in_axes)


SRC = rng.standard_normal((B, 2, 4))
SCATTERS = {
    "scatter_add": lambda x, i, src: x.scatter_add(0, i, src),
    "scatter_add along dim 1": lambda x, i, src: x.scatter_add(1, i[:, 1:], src),
    "scatter (the last write wins)": lambda x, i, src: x.scatter(0, i, src),
    "scatter a value": lambda x, i, src: x.scatter(0, i, value=-2.5),
    "scatter with reduce='add'": lambda x, i, src: mg.scatter(x, 0, i, src, reduce="add"),
}


@pytest.mark.parametrize("name", SCATTERS)
@pytest.mark.parametrize("in_axes", [(0, 0, 0), (None, 0, None), (0, 0, None), (None, 0, 0),
                                     (0, None, 0)], ids=str)  # fmt: skip
def test_scatters_with_batched_indices_match_a_loop(name, in_axes):
    # G names places twice in an example (the scatters' repeats): scatter_add accumulates,
    # scatter keeps the last write, and only that one gets a gradient
    fn = SCATTERS[name]
    x = rng.standard_normal((B, 3, 4))
    args = [v if a == 0 else mg.tensor(v[0]) for v, a in zip((x, G, SRC), in_axes)]
    assert_matches_loop(fn, *args, in_axes=in_axes)
    weights = mg.tensor(rng.standard_normal((3, 4)))
    for argnum in (0,) if "value" in name else (0, 2):

        def loss(x, i, src):
            return (fn(x, i, src) * weights).sin().sum()

        assert_matches_loop(mg.grad(loss, argnums=argnum), *args, in_axes=in_axes)


def test_a_batched_scatter_overwrites_each_examples_last_write():
    # against numpy's own fancy assignment, which keeps the last of repeated writes
    x = rng.standard_normal((B, 3, 4))
    got = mg.vmap(lambda x, i, s: x.scatter(0, i, s))(mg.tensor(x), mg.tensor(G), mg.tensor(SRC))
    expected = x.copy()
    for b in range(B):
        for r in range(2):
            for c in range(4):
                expected[b, G[b, r, c], c] = SRC[b, r, c]
    np.testing.assert_array_equal(got.data, expected)


@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None)], ids=str)
def test_masked_fill_with_a_batched_mask_matches_a_loop(in_axes):
    x, mask = rng.standard_normal((B, 3, 4)), rng.standard_normal((B, 4)) > 0
    args = [v if a == 0 else mg.tensor(v[0]) for v, a in zip((x, mask), in_axes)]
    assert_matches_loop(lambda x, m: x.masked_fill(m, -1.0), *args, in_axes=in_axes)
    assert_matches_loop(mg.grad(lambda x, m: (x.masked_fill(m, 0.5) ** 3).sum()), *args,
                        in_axes=in_axes)  # fmt: skip
    # a mask computed inside from the batched values, and a 0-d tensor value with a gradient
    value = mg.tensor(2.0)
    assert_matches_loop(lambda x: x.masked_fill(x > 0, value), x)
    per_example = mg.vmap(mg.grad(lambda v, x: x.masked_fill(x > 0, v).sum()), in_axes=(None, 0))
    np.testing.assert_array_equal(per_example(value, mg.tensor(x)).data, (x > 0).sum(axis=(1, 2)))


# ----- embeddings: per-sample gradients of a tiny language model ----------------------------------


class TinyLanguageModel(mg.nn.Module):
    """Token embeddings, averaged over the sequence, then next-token logits."""

    def __init__(self, padding_idx=None):
        super().__init__()
        self.embed = mg.nn.Embedding(7, 5, padding_idx=padding_idx, dtype=mg.float64)
        self.out = mg.nn.Linear(5, 7, dtype=mg.float64)

    def forward(self, tokens):
        return self.out(self.embed(tokens).tanh().mean(dim=1))


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_per_sample_gradients_of_an_embedding_model_match_a_loop(padding_idx):
    mg.manual_seed(1)
    model = TinyLanguageModel(padding_idx)
    tokens = rng.integers(0, 7, (6, 4))
    tokens[0, :2] = tokens[0, 2]  # a token repeated in one sequence: its row's gradient adds up
    tokens[1, 1] = 0  # the padding row, which gets no gradient
    targets = mg.tensor(rng.integers(0, 7, 6))
    loss_fn = mg.nn.functional.cross_entropy
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchingWarning)
        per_sample = mg.nn.per_sample_grads(model, loss_fn, mg.tensor(tokens), targets)
    for b in range(6):
        model.zero_grad()
        loss_fn(model(mg.tensor(tokens[b : b + 1])), targets[b : b + 1]).backward()
        for name, p in model.named_parameters():
            np.testing.assert_allclose(per_sample[name][b].data, p.grad.data, rtol=1e-12,
                                       atol=1e-15, err_msg=name)  # fmt: skip
    rows = per_sample["embed.weight"].data
    unused = sorted(set(range(7)) - set(tokens.ravel()))
    assert not rows[:, unused].any()  # no example reaches a row none of its tokens names
    if padding_idx is not None:
        assert not rows[:, padding_idx].any()


def test_embedding_with_batched_token_ids_as_a_function():
    weight = mg.tensor(rng.standard_normal((6, 3)))
    ids = rng.integers(0, 6, (B, 2, 3))
    embed = mg.nn.functional.embedding
    assert_matches_loop(lambda i, w: embed(i, w), ids, weight, in_axes=(0, None))
    assert_matches_loop(mg.grad(lambda w, i: (embed(i, w) ** 2).sum()), weight, ids,
                        in_axes=(None, 0))  # fmt: skip


# ----- what is refused, and how ------------------------------------------------------------------


def unbatched_error(fn, *args) -> str:
    """The IndexingError's message that ``fn`` raises on one example, without its inputs."""
    with pytest.raises(mg.IndexingError) as error:
        fn(*args)
    return str(error.value).split(" (inputs")[0]


def test_a_batched_index_out_of_range_raises_the_unbatched_error():
    x = mg.tensor(rng.standard_normal((B, 3, 5)))
    bad = I3.copy()
    bad[2, 1] = 3
    message = unbatched_error(lambda: x[0][mg.tensor(bad[2])])
    assert message == "GetItem: index 3 is out of bounds for axis 0 with size 3"
    with pytest.raises(mg.IndexingError, match=message):
        mg.vmap(lambda x, i: x[i])(x, mg.tensor(bad))
    bad = np.minimum(bad, 2)
    bad[3, 0] = -4  # negative indices wrap, down to -3
    y = mg.tensor(rng.standard_normal((B, 5, 3, 3)))
    message = unbatched_error(lambda: y[3][:, mg.tensor(bad[3]), mg.tensor(bad[3])])
    assert "index -4 is out of bounds" in message
    with pytest.raises(mg.IndexingError, match=message):
        mg.vmap(lambda y, i: y[:, i, i])(y, mg.tensor(bad))
    index = np.zeros((B, 2, 5), np.int64)
    index[1, 1, 4] = 3  # one example's index names row 3 of 3
    cases = {
        "gather": (lambda x, i: x.gather(0, i), index),
        "index_select": (lambda x, i: x.index_select(0, i), index[:, 1]),
        "take_along_dim": (lambda x, i: mg.take_along_dim(x, i, 0), index),
        "embedding": (lambda x, i: mg.nn.functional.embedding(i, x), index[:, 1]),
    }
    for fn, i in cases.values():
        message = unbatched_error(fn, x[1], mg.tensor(i[1]))
        assert "index 3" in message
        with pytest.raises(mg.IndexingError, match=re.escape(message)):
            mg.vmap(fn)(x, mg.tensor(i))


def test_a_batched_boolean_mask_is_refused_with_the_reason_and_the_fix():
    x = mg.tensor(rng.standard_normal((B, 5)))
    with pytest.raises(mg.BatchingError, match="boolean mask that differs from example") as error:
        mg.vmap(lambda x: x[x > 0].sum())(x)
    assert "its own length" in str(error.value) and "mg.where(mask, x, 0)" in str(error.value)
    # the fix it names gives what a loop over the examples gives
    fixed = mg.vmap(lambda x: mg.where(x > 0, x, 0.0).sum())(x)
    np.testing.assert_allclose(fixed.data, [row[row > 0].sum() for row in x.data], rtol=1e-12)


def test_writing_at_a_batched_index_and_a_batched_array_in_an_index_tuple_are_refused():
    def write(x, i):
        buffer = mg.zeros(3, dtype=mg.float64)
        buffer[i] = 1.0
        return x + buffer

    with pytest.raises(mg.BatchingError, match="writing at an index"):
        mg.vmap(write)(mg.tensor(rng.standard_normal((B, 3))), mg.tensor(SCALARS))
    # GetItem's index tuple cannot carry a batch (numpy would read placeholder zeros)

    def raw(x, i):
        return apply(ops.GetItem, x, index=(i.data,))

    with pytest.raises(mg.BatchingError, match="index with ops.indexing.indexed"):
        mg.vmap(raw)(mg.tensor(rng.standard_normal((B, 3))), mg.tensor(SCALARS))
