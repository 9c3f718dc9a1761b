"""mg.vmap's batching rules for gathers and scatters (GetItem, ScatterAdd), scans, Einsum, and
the fused layers (Affine, LayerNorm, NllMean) where the op cases do not reach: advanced indices
that numpy moves to the front, per-example weights and biases, per-example labels, and
derivatives through the rules (vmap(grad), grad(vmap)), each against a loop over the examples.
"""

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
