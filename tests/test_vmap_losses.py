"""Classification losses under mg.vmap with each example's own labels: equal to a loop over the
examples, values and per-example gradients, through every path of nll_loss and cross_entropy
(class weights, ignore_index, label smoothing, spatial labels)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import functional as F

rng = np.random.default_rng(2)
B, N, C = 5, 3, 4
SCORES = mg.tensor(rng.standard_normal((B, N, C)))
LABELS = mg.tensor(rng.integers(0, C, (B, N)))
LABELS.data[1, 0] = LABELS.data[3, 2] = -100  # ignored (ignore_index's default)
SPATIAL = mg.tensor(rng.standard_normal((B, N, C, 2)))
SPATIAL_LABELS = mg.tensor(rng.integers(0, C, (B, N, 2)))
WEIGHT = mg.tensor(rng.uniform(0.5, 2.0, C))

CASES = {
    "nll": lambda s, y: F.nll_loss(s.log_softmax(dim=1), y),
    "nll, weights, sum": lambda s, y: F.nll_loss(s.log_softmax(dim=1), y, WEIGHT, reduction="sum"),
    "nll, none": lambda s, y: F.nll_loss(s.log_softmax(dim=1), y, reduction="none"),
    "cross_entropy, weights": lambda s, y: F.cross_entropy(s, y, weight=WEIGHT),
    "cross_entropy, smoothing": lambda s, y: F.cross_entropy(s, y, label_smoothing=0.2),
}


def loop(fn, scores, labels):
    return np.stack([fn(scores[i], labels[i]).data for i in range(B)])


@pytest.mark.parametrize("name", CASES)
def test_batched_labels_equal_a_loop(name):
    fn = CASES[name]
    np.testing.assert_allclose(mg.vmap(fn)(SCORES, LABELS).data, loop(fn, SCORES, LABELS),
                               rtol=1e-13)  # fmt: skip
    if name != "nll, none":
        grads = mg.vmap(mg.grad(fn))(SCORES, LABELS)
        np.testing.assert_allclose(grads.data, loop(mg.grad(fn), SCORES, LABELS), rtol=1e-12)


def test_spatial_labels_and_a_closed_form():
    fn = CASES["nll"]
    out = mg.vmap(fn)(SPATIAL, SPATIAL_LABELS)
    np.testing.assert_allclose(out.data, loop(fn, SPATIAL, SPATIAL_LABELS), rtol=1e-13)
    # one example, one position: -log softmax(s)[y]
    s, y = SCORES.data[0, 0], int(LABELS.data[0, 0])
    single = mg.vmap(lambda s, y: F.cross_entropy(s, y))(SCORES[:, 0], LABELS[:, 0])
    assert single.data[0] == pytest.approx(np.log(np.exp(s).sum()) - s[y], rel=1e-13)


def test_an_out_of_range_label_in_any_example_is_refused():
    bad = mg.tensor(LABELS.data.copy())
    bad.data[4, 1] = C
    with pytest.raises(mg.IndexingError, match=f"target {C} is out of bounds for {C} classes"):
        mg.vmap(CASES["nll"])(SCORES, bad)


PROBS = mg.tensor(rng.uniform(size=(B, N, C)))
PROBS.data[2, 1, 3] = 0.0  # a zero target (kl_div's 0 log 0) and a clamped log (BCE) in one example
EDGES = mg.tensor(rng.uniform(size=(B, N, C)))
EDGES.data[0, 0, 0], EDGES.data[4, 2, 1] = 0.0, 1.0  # probabilities whose logs BCE clamps

ELEMENTWISE = {
    "bce with logits": lambda s, t: F.binary_cross_entropy_with_logits(s, t),
    "bce with logits, pos_weight": lambda s, t: F.binary_cross_entropy_with_logits(
        s, t, pos_weight=WEIGHT
    ),
    "bce": lambda s, t: F.binary_cross_entropy(s.sigmoid(), t),
    "bce at 0 and 1": lambda s, t: F.binary_cross_entropy(t, s.sigmoid()),
    "kl_div": lambda s, t: F.kl_div(s.log_softmax(dim=1), t, reduction="batchmean"),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_losses_of_targets_equal_a_loop(name):
    fn = ELEMENTWISE[name]
    targets = EDGES if name == "bce at 0 and 1" else PROBS
    np.testing.assert_allclose(mg.vmap(fn)(SCORES, targets).data, loop(fn, SCORES, targets),
                               rtol=1e-13)  # fmt: skip
    grads = mg.vmap(mg.grad(fn))(SCORES, targets)
    np.testing.assert_allclose(grads.data, loop(mg.grad(fn), SCORES, targets), rtol=1e-12)
