"""Losses and loss modules: values against numpy references written from PyTorch's definitions,
derivatives against finite differences (reverse and forward mode), stability, errors."""

import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import DTypeError, IndexingError, OpError, ShapeError
from minigrad.nn import loss as L

rng = np.random.default_rng(0)

# ----- numpy references --------------------------------------------------------------------------


def log_softmax_ref(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def reduce_ref(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": np.asarray}[reduction](losses)


def rows_and_labels(scores, target):
    """(M, C) rows and (M,) labels from PyTorch's layouts: (C,) with (), (N, C) with (N,),
    (N, C, d1, ...) with (N, d1, ...)."""
    scores, target = np.asarray(scores), np.asarray(target)
    if scores.ndim == 1:
        return scores[None], target.reshape(1)
    classes = scores.shape[1]
    return np.moveaxis(scores, 1, -1).reshape(-1, classes), target.reshape(-1)


def nll_ref(log_probs, target, weight=None, ignore_index=-100, reduction="mean"):
    """Sample by sample: -w[y] log_probs[y], 0 when ignored; "mean" divides by sum of w[y]."""
    rows, labels = rows_and_labels(log_probs, target)
    w = np.ones(rows.shape[1]) if weight is None else weight
    losses, total = [], 0.0
    for row, y in zip(rows, labels):
        if y == ignore_index:
            losses.append(0.0)
            continue
        losses.append(-w[y] * row[y])
        total += w[y]
    losses = np.array(losses).reshape(np.shape(target))
    if reduction == "mean":
        return losses.sum() / total
    return losses.sum() if reduction == "sum" else losses


def cross_entropy_ref(logits, target, weight=None, ignore_index=-100, reduction="mean",
                      label_smoothing=0.0):  # fmt: skip
    """PyTorch's definition with class labels: (1 - e) * nll + e / C * sum_c -w_c log p_c per
    sample, ignored samples 0, "mean" dividing both terms by sum of w[y]."""
    logits = np.asarray(logits)
    rows, labels = rows_and_labels(logits, target)
    classes = rows.shape[1]
    w = np.ones(classes) if weight is None else weight
    losses, total = [], 0.0
    for row, y in zip(log_softmax_ref(rows, 1), labels):
        if y == ignore_index:
            losses.append(0.0)
            continue
        smooth = -(w * row).sum()
        losses.append((1 - label_smoothing) * -w[y] * row[y] + label_smoothing / classes * smooth)
        total += w[y]
    losses = np.array(losses).reshape(np.shape(target))
    if reduction == "mean":
        return losses.sum() / total
    return losses.sum() if reduction == "sum" else losses


def cross_entropy_probs_ref(logits, probs, weight=None, reduction="mean", label_smoothing=0.0):
    """Class probabilities: -sum_c w_c q_c log p_c per sample, q = (1 - e) probs + e / C;
    "mean" divides by the number of samples."""
    rows, _ = rows_and_labels(logits, np.zeros(1))
    q_rows, _ = rows_and_labels(probs, np.zeros(1))
    classes = rows.shape[1]
    w = np.ones(classes) if weight is None else weight
    q = (1 - label_smoothing) * q_rows + label_smoothing / classes
    losses = -(w * q * log_softmax_ref(rows, 1)).sum(axis=1)
    shape = () if np.ndim(logits) == 1 else (logits.shape[0],) + logits.shape[2:]
    return reduce_ref(losses.reshape(shape), reduction)


def bce_ref(p, y, weight=None, reduction="mean"):
    """-w (y log p + (1 - y) log(1 - p)), each log clamped below at -100 (PyTorch)."""
    with np.errstate(divide="ignore"):
        log_p, log_1mp = np.maximum(np.log(p), -100), np.maximum(np.log(1 - p), -100)
    losses = -(y * log_p + (1 - y) * log_1mp)
    return reduce_ref(losses if weight is None else losses * weight, reduction)


def bce_logits_ref(x, y, weight=None, pos_weight=None, reduction="mean"):
    """-w (pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), with
    -log sigmoid(x) = log(1 + exp(-x)) = np.logaddexp(0, -x) (exact, no overflow)."""
    pw = 1.0 if pos_weight is None else pos_weight
    losses = pw * y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)
    return reduce_ref(losses if weight is None else losses * weight, reduction)


def labels(shape, classes, ignore_index=None, every=3):
    """Random labels; with ``ignore_index``, every ``every``-th is it, and at least one is not."""
    y = rng.integers(0, classes, shape)
    if ignore_index is not None:
        flat = y.reshape(-1)
        flat[::every] = ignore_index
        flat[-1] = (ignore_index + 1) % classes
    return y


def probabilities(shape, axis):
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


REDUCTIONS = ["mean", "sum", "none"]


def assert_close(out, expected, rtol=1e-12, atol=1e-13):
    expected = np.asarray(expected)
    assert out.shape == expected.shape, f"shape {out.shape} != {expected.shape}"
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)


# ----- regression --------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_mse_and_l1_values(shape, reduction):
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    assert_close(L.mse_loss(mg.tensor(x), y, reduction), reduce_ref((x - y) ** 2, reduction))
    assert_close(L.l1_loss(mg.tensor(x), y, reduction), reduce_ref(np.abs(x - y), reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_derivatives_in_input_and_target(reduction):
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    y = x + np.where(np.abs(y) < 0.2, 0.5, y)  # |x - y| clear of l1's kink at 0
    for fn in (L.mse_loss, L.l1_loss):
        assert mg.check_grads(lambda a, b, fn=fn: fn(a, b, reduction), x, y, modes=("fwd", "rev"))
    assert mg.check_grads(lambda a, b: L.mse_loss(a, b, reduction), x, y, order=2)


def test_mse_gradient_closed_form():
    """d/dx mean((x - y)^2) = 2 (x - y) / n."""
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    xt = mg.tensor(x, requires_grad=True)
    L.mse_loss(xt, y).backward()
    np.testing.assert_allclose(xt.grad.data, 2 * (x - y) / 5, rtol=1e-14)


def test_l1_gradient_at_zero_is_zero():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    L.l1_loss(x, np.array([1.0, 0.0]), "sum").backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])


# ----- nll_loss and cross_entropy with class labels ----------------------------------------------

# (input shape, target shape): unbatched, batched, and PyTorch's K-dimensional layouts.
LAYOUTS = [((4,), ()), ((5, 3), (5,)), ((2, 3, 4), (2, 4)), ((2, 3, 2, 2), (2, 2, 2))]
LAYOUT_IDS = ["(C,)", "(N,C)", "(N,C,d)", "(N,C,d1,d2)"]


def class_axis(shape):
    return 0 if len(shape) == 1 else 1


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("ignored", [False, True], ids=["", "ignore_index"])
@pytest.mark.parametrize("in_shape, t_shape", LAYOUTS, ids=LAYOUT_IDS)
def test_nll_loss_values(in_shape, t_shape, ignored, weighted, reduction):
    classes = in_shape[class_axis(in_shape)]
    log_probs = log_softmax_ref(rng.standard_normal(in_shape), class_axis(in_shape))
    ignore_index = 1 if ignored else -100  # a valid class can be the ignored one
    target = labels(t_shape, classes, ignore_index if ignored and t_shape else None)
    weight = rng.uniform(0.5, 2.0, classes) if weighted else None
    out = L.nll_loss(mg.tensor(log_probs), target, weight, ignore_index, reduction)
    assert_close(out, nll_ref(log_probs, target, weight, ignore_index, reduction))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("ignored", [False, True], ids=["", "ignore_index"])
@pytest.mark.parametrize("in_shape, t_shape", LAYOUTS, ids=LAYOUT_IDS)
def test_cross_entropy_values(in_shape, t_shape, ignored, weighted, reduction, smoothing):
    classes = in_shape[class_axis(in_shape)]
    logits = 3 * rng.standard_normal(in_shape)
    ignore_index = -1 if ignored else -100
    target = labels(t_shape, classes, ignore_index if ignored and t_shape else None)
    weight = rng.uniform(0.5, 2.0, classes) if weighted else None
    out = L.cross_entropy(mg.tensor(logits), target, weight, ignore_index, reduction, smoothing)
    expected = cross_entropy_ref(logits, target, weight, ignore_index, reduction, smoothing)
    assert_close(out, expected)


def test_cross_entropy_small_example_by_hand():
    """logits [0, log 3] -> p = [1/4, 3/4]; label 1 -> log(4/3); with e = 0.5:
    0.5 log(4/3) + 0.25 (log 4 + log(4/3))."""
    logits = mg.tensor([[0.0, math.log(3)]])
    assert L.cross_entropy(logits, [1]).item() == pytest.approx(math.log(4 / 3), rel=1e-15)
    smoothed = L.cross_entropy(logits, [1], label_smoothing=0.5).item()
    expected = 0.5 * math.log(4 / 3) + 0.25 * (math.log(4) + math.log(4 / 3))
    assert smoothed == pytest.approx(expected, rel=1e-15)


def test_weighted_mean_divides_by_the_weights_of_the_targets():
    """PyTorch's weighted mean: sum_n w[y_n] l_n / sum_n w[y_n], not / N."""
    log_probs = np.log(np.array([[0.5, 0.5], [0.25, 0.75], [0.1, 0.9]]))
    target, weight = np.array([0, 1, 1]), np.array([3.0, 1.0])
    out = L.nll_loss(mg.tensor(log_probs), target, weight).item()
    expected = (3 * -np.log(0.5) + -np.log(0.75) + -np.log(0.9)) / (3 + 1 + 1)
    assert out == pytest.approx(expected, rel=1e-14)


def test_everything_ignored_gives_nan_mean_and_zero_sum():
    """As PyTorch: 0 / 0 for the mean (no warning), 0 for the sum."""
    logits = mg.tensor(rng.standard_normal((2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(L.cross_entropy(logits, [-100, -100]).item())
    assert L.cross_entropy(logits, [-100, -100], reduction="sum").item() == 0.0
    np.testing.assert_array_equal(L.cross_entropy(logits, [-100, 2], reduction="none").data[0], 0)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("in_shape, t_shape", LAYOUTS, ids=LAYOUT_IDS)
def test_cross_entropy_derivatives(in_shape, t_shape, reduction, smoothing):
    """Reverse and forward mode, in the logits and in the (differentiable) class weights."""
    classes = in_shape[class_axis(in_shape)]
    logits = rng.standard_normal(in_shape)
    target = labels(t_shape, classes, -100 if t_shape else None, every=4)
    weight = rng.uniform(0.5, 2.0, classes)

    def f(x, w):
        return L.cross_entropy(x, target, w, reduction=reduction, label_smoothing=smoothing)

    assert mg.check_grads(f, logits, weight, modes=("fwd", "rev"))


def test_cross_entropy_second_derivatives():
    """Hessians (forward-over-reverse and reverse-over-reverse) against finite differences."""
    logits = rng.standard_normal((3, 4))
    target = np.array([0, 3, 1])
    f = lambda x: L.cross_entropy(x, target, label_smoothing=0.1)  # noqa: E731
    assert mg.check_grads(f, logits, modes=("fwd", "rev"), order=2)


def test_cross_entropy_gradient_closed_form():
    """d/dx mean_n -log softmax(x_n)[y_n] = (softmax(x) - onehot(y)) / N."""
    x = rng.standard_normal((4, 3))
    y = np.array([2, 0, 1, 2])
    xt = mg.tensor(x, requires_grad=True)
    L.cross_entropy(xt, y).backward()
    p = np.exp(log_softmax_ref(x, 1))
    np.testing.assert_allclose(xt.grad.data, (p - np.eye(3)[y]) / 4, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_derivatives(reduction):
    log_probs = rng.standard_normal((4, 3))
    target = np.array([2, -100, 0, 2])
    weight = rng.uniform(0.5, 2.0, 3)
    f = lambda x, w: L.nll_loss(x, target, w, reduction=reduction)  # noqa: E731
    assert mg.check_grads(f, log_probs, weight, modes=("fwd", "rev"))


def test_labels_are_picked_with_one_gather():
    """One advanced-indexing gather picks the target log-probabilities (no loop over samples);
    the common mean of (N, C) logits is one fused NllMean operation."""
    x = mg.tensor(rng.standard_normal((64, 10)), requires_grad=True)
    labels = rng.integers(0, 10, 64)

    def ops_of(out):
        return [t._node.prim.__name__ for t in mg.autograd.toposort(out) if t._node]

    assert ops_of(L.cross_entropy(x, labels, reduction="sum")).count("GetItem") == 1
    assert ops_of(L.cross_entropy(x, labels)) == ["LogSoftmax", "NllMean"]


# ----- cross_entropy with class probabilities ----------------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("in_shape", [(4,), (5, 3), (2, 3, 4)], ids=["(C,)", "(N,C)", "(N,C,d)"])
def test_cross_entropy_probability_values(in_shape, weighted, reduction, smoothing):
    classes = in_shape[class_axis(in_shape)]
    logits = 3 * rng.standard_normal(in_shape)
    probs = probabilities(in_shape, class_axis(in_shape))
    weight = rng.uniform(0.5, 2.0, classes) if weighted else None
    out = L.cross_entropy(mg.tensor(logits), probs, weight, reduction=reduction,
                          label_smoothing=smoothing)  # fmt: skip
    assert_close(out, cross_entropy_probs_ref(logits, probs, weight, reduction, smoothing))


def test_one_hot_probabilities_equal_class_labels():
    logits = rng.standard_normal((4, 3))
    y = np.array([0, 2, 2, 1])
    a = L.cross_entropy(mg.tensor(logits), np.eye(3)[y], label_smoothing=0.1)
    b = L.cross_entropy(mg.tensor(logits), y, label_smoothing=0.1)
    assert a.item() == pytest.approx(b.item(), rel=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_probability_derivatives_in_logits_target_and_weight(reduction):
    logits, probs = rng.standard_normal((2, 3, 2)), probabilities((2, 3, 2), 1)
    weight = rng.uniform(0.5, 2.0, 3)

    def f(x, q, w):
        return L.cross_entropy(x, q, w, reduction=reduction, label_smoothing=0.2)

    assert mg.check_grads(f, logits, probs, weight, modes=("fwd", "rev"))


# ----- binary cross-entropy ----------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
def test_binary_cross_entropy_values(weighted, reduction):
    p = rng.uniform(0.05, 0.95, (3, 4))
    y = rng.uniform(0, 1, (3, 4))
    weight = rng.uniform(0.5, 2.0, (4,)) if weighted else None
    out = L.binary_cross_entropy(mg.tensor(p), y, weight, reduction)
    assert_close(out, bce_ref(p, y, weight, reduction))


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    """p = 0 or 1 (or log p below -100) gives a finite loss: each log is clamped at -100."""
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    x = mg.tensor(p, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = L.binary_cross_entropy(x, y, reduction="none")
        out.sum().backward()
    np.testing.assert_allclose(out.data, [100.0, 100.0, 0.0, 0.0, 100.0, math.log(2)], rtol=1e-15)
    assert np.all(np.isfinite(x.grad.data))
    assert x.grad.data[-1] == pytest.approx(-2.0, rel=1e-15)  # -y / p at p = 1/2


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_derivatives(reduction):
    """In p (away from the clamp), y and the weight: -y/p + (1 - y)/(1 - p), checked by finite
    differences."""
    p, y, w = rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(0, 1, (2, 3)), rng.uniform(0.5, 2, 3)
    f = lambda p, y, w: L.binary_cross_entropy(p, y, w, reduction)  # noqa: E731
    assert mg.check_grads(f, p, y, w, modes=("fwd", "rev"))
    assert mg.check_grads(lambda p: L.binary_cross_entropy(p, y, w, reduction), p, order=2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["", "weight", "pos_weight", "both"])
def test_binary_cross_entropy_with_logits_values(weights, reduction):
    x = 4 * rng.standard_normal((3, 4))
    y = rng.uniform(0, 1, (3, 4))
    weight = rng.uniform(0.5, 2.0, (3, 1)) if weights in ("weight", "both") else None
    pos_weight = rng.uniform(0.5, 3.0, (4,)) if weights in ("pos_weight", "both") else None
    out = L.binary_cross_entropy_with_logits(mg.tensor(x), y, weight, pos_weight, reduction)
    assert_close(out, bce_logits_ref(x, y, weight, pos_weight, reduction))


def test_bce_with_logits_equals_bce_of_the_sigmoid():
    x, y = rng.standard_normal(6), rng.uniform(0, 1, 6)
    a = L.binary_cross_entropy_with_logits(mg.tensor(x), y)
    b = L.binary_cross_entropy(mg.sigmoid(mg.tensor(x)), y)
    assert a.item() == pytest.approx(b.item(), rel=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_derivatives(reduction):
    x, y = rng.standard_normal((2, 3)), rng.uniform(0, 1, (2, 3))
    w, pw = rng.uniform(0.5, 2, (2, 1)), rng.uniform(0.5, 3, 3)
    f = lambda x, y, w, pw: L.binary_cross_entropy_with_logits(x, y, w, pw, reduction)  # noqa: E731
    assert mg.check_grads(f, x, y, w, pw, modes=("fwd", "rev"))
    g = lambda x: L.binary_cross_entropy_with_logits(x, y, w, pw, reduction)  # noqa: E731
    assert mg.check_grads(g, x, modes=("fwd", "rev"), order=2)


def test_bce_with_logits_derivatives_exact_at_zero_logits():
    """At x = 0 (a model started from zero weights): gradient (1 - y)/2 - pw y / 2 and second
    derivative ((1 - y) + pw y) / 4, the smooth function's, though its formula has kinks at 0."""
    y, pw = np.array([0.0, 1.0, 0.3]), np.array([1.0, 2.0, 3.0])

    def f(x):
        return L.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="sum")

    g = mg.grad(f)(np.zeros(3))
    np.testing.assert_allclose(g.data, (1 - y) / 2 - pw * y / 2, rtol=1e-15)
    H = mg.hessian(f)(np.zeros(3))
    np.testing.assert_allclose(H.data, np.diag(((1 - y) + pw * y) / 4), rtol=1e-15)


# ----- stability at +-1000 -----------------------------------------------------------------------


def test_losses_of_logits_1000_are_exact_and_warning_free():
    """Cross-entropy and BCE-with-logits at +-1000: the exact values, finite gradients."""
    x = mg.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        ce = L.cross_entropy(x, [1, 2], reduction="none")
        ce.sum().backward()
        z = mg.tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
        bce = L.binary_cross_entropy_with_logits(z, [1.0, 1.0, 0.0, 0.0], reduction="none")
        bce.sum().backward()
    # log 2 comes out of 1000 - (1000 + log 2), so to the rounding of 1000 (1e-13)
    np.testing.assert_allclose(ce.data, [2000.0, math.log(2)], rtol=0, atol=2.3e-13)
    np.testing.assert_allclose(x.grad.data, [[1, -1, 0], [0, 0.5, -0.5]], atol=1e-300)
    np.testing.assert_array_equal(bce.data, [0.0, 1000.0, 1000.0, 0.0])
    np.testing.assert_array_equal(z.grad.data, [0.0, -1.0, 1.0, 0.0])


def test_float32_losses_stay_float32():
    """float32 logits with float64 numpy targets and weights give a float32 loss and gradient."""
    x = mg.tensor(rng.standard_normal((4, 3)), dtype="float32", requires_grad=True)
    losses = [
        L.cross_entropy(x, [0, 1, 2, 0], weight=np.array([1.0, 2.0, 3.0])),
        L.cross_entropy(x, probabilities((4, 3), 1), label_smoothing=0.1),
        L.nll_loss(x, [0, 1, 2, 0]),
        L.binary_cross_entropy_with_logits(x, np.ones((4, 3)), pos_weight=np.array([2.0])),
        L.binary_cross_entropy(mg.sigmoid(x), np.ones((4, 3)), weight=np.ones(3)),
        L.mse_loss(x, np.zeros((4, 3))),
        L.l1_loss(x, np.zeros((4, 3))),
    ]
    for out in losses:
        assert out.dtype == np.float32
        x.grad = None
        out.backward()
        assert x.grad.dtype == np.float32


# ----- errors ------------------------------------------------------------------------------------


def test_unknown_reduction():
    with pytest.raises(OpError, match="mse_loss: reduction='avg' is not one of"):
        L.mse_loss(mg.tensor([1.0]), [1.0], reduction="avg")
    with pytest.raises(OpError, match="CrossEntropyLoss: reduction='batchmean'"):
        L.CrossEntropyLoss(reduction="batchmean")


@pytest.mark.parametrize("fn", [L.mse_loss, L.l1_loss, L.binary_cross_entropy,
                                L.binary_cross_entropy_with_logits])  # fmt: skip
def test_mismatched_shapes_name_the_loss_and_both_shapes(fn):
    with pytest.raises(ShapeError, match=rf"{fn.__name__}: input of shape \(4, 1\) and target of "
                                         r"shape \(4,\)"):  # fmt: skip
        fn(mg.tensor(np.full((4, 1), 0.5)), np.full(4, 0.5))


def test_label_out_of_range():
    with pytest.raises(IndexingError, match=r"cross_entropy: target 3 is out of bounds for 3 "
                                            r"classes \(input of shape \(2, 3\)\)"):  # fmt: skip
        L.cross_entropy(mg.tensor(np.zeros((2, 3))), [0, 3])
    with pytest.raises(IndexingError, match="nll_loss: target -1 is out of bounds"):
        L.nll_loss(mg.tensor(np.zeros((2, 3))), [-1, 0])


def test_wrong_target_shape_for_labels():
    with pytest.raises(ShapeError, match=r"cross_entropy: input of shape \(4, 3\) and target of "
                                         r"shape \(3,\).*shape \(4,\)"):  # fmt: skip
        L.cross_entropy(mg.tensor(np.zeros((4, 3))), [0, 1, 2])
    with pytest.raises(ShapeError, match=r"shape \(2, 5\)"):
        L.nll_loss(mg.tensor(np.zeros((2, 3, 5))), np.zeros((2, 4), int))


def test_float_targets():
    """nll_loss needs integer labels; cross_entropy's float targets must be probabilities of the
    input's shape."""
    with pytest.raises(DTypeError, match="nll_loss: target must hold integer class labels"):
        L.nll_loss(mg.tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))
    with pytest.raises(ShapeError, match=r"cross_entropy:.*float target of shape \(2,\).*"
                                         r"probabilities must have the input's shape"):  # fmt: skip
        L.cross_entropy(mg.tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))


def test_bad_weights_and_smoothing():
    x = mg.tensor(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match=r"cross_entropy: weight of shape \(2,\).*\(3,\)"):
        L.cross_entropy(x, [0, 1], weight=np.ones(2))
    with pytest.raises(ShapeError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        L.binary_cross_entropy_with_logits(x, np.zeros((2, 3)), pos_weight=np.ones(2))
    with pytest.raises(OpError, match="ignore_index=0 with class probabilities"):
        L.cross_entropy(x, np.full((2, 3), 1 / 3), ignore_index=0)
    with pytest.raises(OpError, match="label_smoothing=1.5 must be in"):
        L.cross_entropy(x, [0, 1], label_smoothing=1.5)
    with pytest.raises(ShapeError, match=r"cross_entropy: input of shape \(\)"):
        L.cross_entropy(mg.tensor(1.0), [0])


def test_bce_needs_probabilities():
    with pytest.raises(OpError, match=r"binary_cross_entropy: input holds 1.5.*\[0, 1\]"):
        L.binary_cross_entropy(mg.tensor([0.5, 1.5]), [0.0, 1.0])


# ----- modules -----------------------------------------------------------------------------------


def test_modules_match_the_functions():
    x, y = rng.standard_normal((4, 3)), np.array([2, 0, -100, 1])
    p, t = rng.uniform(0.1, 0.9, (4, 3)), rng.uniform(0, 1, (4, 3))
    w = np.array([1.0, 2.0, 0.5])
    cases = [
        (L.MSELoss(reduction="sum")(mg.tensor(x), t), np.sum((x - t) ** 2)),
        (L.L1Loss()(mg.tensor(x), t), np.mean(np.abs(x - t))),
        (L.NLLLoss(weight=w)(mg.tensor(log_softmax_ref(x, 1)), y),
         nll_ref(log_softmax_ref(x, 1), y, w)),
        (L.CrossEntropyLoss(w, ignore_index=-100, label_smoothing=0.1)(mg.tensor(x), y),
         cross_entropy_ref(x, y, w, label_smoothing=0.1)),
        (L.CrossEntropyLoss(reduction="none")(mg.tensor(x), y), cross_entropy_ref(x, y, None,
                                                                                  reduction="none")),
        (L.BCELoss(weight=w)(mg.tensor(p), t), bce_ref(p, t, w)),
        (L.BCEWithLogitsLoss(pos_weight=w)(mg.tensor(x), t), bce_logits_ref(x, t, None, w)),
    ]  # fmt: skip
    for out, expected in cases:
        assert_close(out, expected)


def test_loss_module_repr_and_state():
    """Weights are buffers (in the state dict, as PyTorch's), not parameters."""
    loss = L.CrossEntropyLoss(weight=[1.0, 2.0], label_smoothing=0.1)
    assert repr(loss) == "CrossEntropyLoss(label_smoothing=0.1)"
    assert repr(L.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    assert repr(L.BCEWithLogitsLoss()) == "BCEWithLogitsLoss()"
    assert list(loss.parameters()) == []
    assert list(loss.state_dict()) == ["weight"]
    np.testing.assert_array_equal(loss.state_dict()["weight"], [1.0, 2.0])
    assert L.NLLLoss().state_dict() == {}
    assert list(L.BCEWithLogitsLoss(pos_weight=[3.0]).state_dict()) == ["pos_weight"]


def test_a_classifier_trains_end_to_end():
    """Linear + CrossEntropyLoss: gradients of the parameters pass a float64 check, and a few
    steps of gradient descent lower the loss."""
    x = rng.standard_normal((8, 3))
    y = (x[:, 0] > 0).astype(int)
    model = mg.nn.Linear(3, 2, dtype=np.float64, generator=mg.Generator(0))
    criterion = L.CrossEntropyLoss()

    def f(w, b):
        return L.cross_entropy(mg.tensor(x) @ w.T + b, y)

    assert mg.check_grads(f, model.weight.data, model.bias.data, modes=("fwd", "rev"))
    first = criterion(model(mg.tensor(x)), y).item()
    for _ in range(20):
        model.zero_grad()
        criterion(model(mg.tensor(x)), y).backward()
        with mg.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * 0.5)
    assert criterion(model(mg.tensor(x)), y).item() < first
