"""The losses of issue 17 (HuberLoss, SmoothL1Loss, KLDivLoss, CosineEmbeddingLoss,
MarginRankingLoss, GaussianNLLLoss, PoissonNLLLoss, the elementwise ``weight`` of mse/l1/huber)
and cross-entropy over sequences: values and gradients against PyTorch's, written in below
(PyTorch 2.13, float64, for the fixed inputs here); derivatives against finite differences
(reverse and forward mode, and second order); errors that name the loss and the bad value.
"""

import math
import re
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import OpError, ShapeError
from minigrad.nn import functional as F

rng = np.random.default_rng(0)

# ----- PyTorch's values ------------------------------------------------------------------------------
# name: (loss with reduction="none", "sum", "mean", the gradient of the "mean" in one argument)

X = [[0.5, -1.2, 2.0], [3.1, 0.0, -0.7]]  # input
Y = [[1.0, 0.3, -0.5], [1.0, 0.0, -0.2]]  # target: x - y = [[-0.5, -1.5, 2.5], [2.1, 0, -0.5]]
W = [[1.0, 2.0, 0.5], [0.0, 1.5, 3.0]]  # an elementwise weight
V = [[0.5, 2.0, 1e-8], [1.0, 0.25, 3.0]]  # variances, one below eps = 1e-6
C = [[0.0, 1.0, 2.0], [5.0, 3.0, 1.5]]  # counts
R = [[0.5, 1.2, 2.0], [3.1, 0.0, 0.7]]  # Poisson rates, one 0
A = [[1.0, 2.0, 0.5], [0.0, -1.0, 1.0], [3.0, 0.5, -2.0], [1.0, 1.0, 1.0]]  # embeddings
B = [[0.5, 1.0, 1.0], [1.0, 1.0, 0.0], [-1.0, 0.5, 2.0], [2.0, 2.0, 2.0]]
T = [1, -1, -1, -1]  # similar pair, then dissimilar ones (the last two point the same way)
S1, S2 = [0.5, -1.0, 2.0, 0.3, 1.0], [1.0, -2.0, 2.0, 0.1, 1.5]  # scores; a tie at index 2
TT = [1.0, 1.0, -1.0, -1.0, 1.0]

# name: (function of (arguments, reduction), arguments, index of the argument differentiated)
CASES = {
    "huber": (lambda a, b, r: F.huber_loss(a, b, r), (X, Y), 0),
    "huber delta=0.6": (lambda a, b, r: F.huber_loss(a, b, r, delta=0.6), (X, Y), 0),
    "smooth_l1": (lambda a, b, r: F.smooth_l1_loss(a, b, r), (X, Y), 0),
    "smooth_l1 beta=0.6": (lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.6), (X, Y), 0),
    "smooth_l1 beta=0": (lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.0), (X, Y), 0),
    "huber weight": (lambda a, b, r: F.huber_loss(a, b, r, 0.6, weight=mg.tensor(W)), (X, Y), 0),
    "mse weight": (lambda a, b, r: F.mse_loss(a, b, r, weight=mg.tensor(W)), (X, Y), 0),
    "l1 weight": (lambda a, b, r: F.l1_loss(a, b, r, weight=mg.tensor(W)), (X, Y), 0),
    "gaussian": (lambda a, b, v, r: F.gaussian_nll_loss(a, b, v, reduction=r), (X, Y, V), 0),
    "gaussian var grad": (
        lambda a, b, v, r: F.gaussian_nll_loss(a, b, v, reduction=r),
        (X, Y, V),
        2,
    ),
    "gaussian full eps=0.3": (
        lambda a, b, v, r: F.gaussian_nll_loss(a, b, v, full=True, eps=0.3, reduction=r),
        (X, Y, V),
        0,
    ),
    "gaussian var per sample": (
        lambda a, b, v, r: F.gaussian_nll_loss(a, b, v, reduction=r),
        (X, Y, [0.5, 2.0]),
        0,
    ),
    "gaussian var float": (lambda a, b, r: F.gaussian_nll_loss(a, b, 0.7, reduction=r), (X, Y), 0),
    "poisson": (lambda a, r: F.poisson_nll_loss(a, mg.tensor(C), reduction=r), (X,), 0),
    "poisson full": (
        lambda a, r: F.poisson_nll_loss(a, mg.tensor(C), full=True, reduction=r),
        (X,),
        0,
    ),
    "poisson rates": (
        lambda a, r: F.poisson_nll_loss(a, mg.tensor(C), log_input=False, reduction=r),
        (R,),
        0,
    ),
    "poisson rates full eps=0.1": (
        lambda a, r: F.poisson_nll_loss(a, mg.tensor(C), False, True, eps=0.1, reduction=r),
        (R,),
        0,
    ),
    "cosine": (lambda a, b, r: F.cosine_embedding_loss(a, b, T, reduction=r), (A, B), 0),
    "cosine margin=0.2": (lambda a, b, r: F.cosine_embedding_loss(a, b, T, 0.2, r), (A, B), 0),
    "cosine margin=-0.5 grad2": (
        lambda a, b, r: F.cosine_embedding_loss(a, b, T, -0.5, r),
        (A, B),
        1,
    ),
    "ranking": (lambda a, b, r: F.margin_ranking_loss(a, b, TT, reduction=r), (S1, S2), 0),
    "ranking margin=0.3": (lambda a, b, r: F.margin_ranking_loss(a, b, TT, 0.3, r), (S1, S2), 0),
    "ranking margin=0.3 grad2": (
        lambda a, b, r: F.margin_ranking_loss(a, b, TT, 0.3, r),
        (S1, S2),
        1,
    ),
}

# fmt: off
PYTORCH = {
    'huber': ([[0.125, 1.0, 2.0], [1.6, 0.0, 0.12499999999999997]], 4.85, 0.8083333333333332,
        [[-0.08333333333333333, -0.16666666666666666, 0.16666666666666666], [0.16666666666666666,
        0.0, -0.08333333333333331]]),
    'huber delta=0.6': ([[0.125, 0.72, 1.32], [1.08, 0.0, 0.12499999999999997]], 3.37,
        0.5616666666666666, [[-0.08333333333333333, -0.09999999999999999, 0.09999999999999999],
        [0.09999999999999999, 0.0, -0.08333333333333331]]),
    'smooth_l1': ([[0.125, 1.0, 2.0], [1.6, 0.0, 0.12499999999999997]], 4.85,
        0.8083333333333332, [[-0.08333333333333333, -0.16666666666666666, 0.16666666666666666],
        [0.16666666666666666, 0.0, -0.08333333333333331]]),
    'smooth_l1 beta=0.6': ([[0.20833333333333334, 1.2, 2.2], [1.8, 0.0, 0.2083333333333333]],
        5.616666666666667, 0.9361111111111112, [[-0.1388888888888889, -0.16666666666666666,
        0.16666666666666666], [0.16666666666666666, 0.0, -0.13888888888888887]]),
    'smooth_l1 beta=0': ([[0.5, 1.5, 2.5], [2.1, 0.0, 0.49999999999999994]], 7.1,
        1.1833333333333333, [[-0.16666666666666666, -0.16666666666666666, 0.16666666666666666],
        [0.16666666666666666, 0.0, -0.16666666666666666]]),
    'huber weight': ([[0.125, 1.44, 0.66], [0.0, 0.0, 0.3749999999999999]], 2.6,
        0.43333333333333335, [[-0.08333333333333333, -0.19999999999999998, 0.049999999999999996],
        [0.0, 0.0, -0.24999999999999997]]),
    'mse weight': ([[0.25, 4.5, 3.125], [0.0, 0.0, 0.7499999999999998]], 8.625, 1.078125,
        [[-0.125, -0.75, 0.3125], [0.0, 0.0, -0.37499999999999994]]),
    'l1 weight': ([[0.5, 3.0, 1.25], [0.0, 0.0, 1.4999999999999998]], 6.25, 0.78125, [[-0.125,
        -0.25, 0.0625], [0.0, 0.0, -0.375]]),
    'gaussian': ([[-0.09657359027997264, 0.9090735902799727, 3124993.092244721], [2.205,
        -0.6931471805599453, 0.5909728110007215]], 3124996.0075703515, 520832.6679283919,
        [[-0.16666666666666666, -0.125, 416666.6666666666], [0.35, 0.0, -0.027777777777777773]]),
    'gaussian var grad': ([[-0.09657359027997264, 0.9090735902799727, 3124993.092244721],
        [2.205, -0.6931471805599453, 0.5909728110007215]], 3124996.0075703515, 520832.6679283919,
        [[0.08333333333333333, -0.005208333333333336, -520833250000.0], [-0.2841666666666667,
        0.3333333333333333, 0.02546296296296296]]),
    'gaussian full eps=0.3': ([[0.8223649429247, 1.8280121234846454, 10.733618797708372],
        [3.1239385332046727, 0.3169521310417046, 1.5099113442053942]], 18.33479787256949,
        3.055799645428248, [[-0.16666666666666666, -0.125, 1.3888888888888888], [0.35, 0.0,
        -0.027777777777777773]]),
    'gaussian var per sample': ([[-0.09657359027997264, 1.9034264097200273, 5.903426409720027],
        [1.4490735902799727, 0.34657359027997264, 0.40907359027997264]], 9.915, 1.6524999999999999,
        [[-0.16666666666666666, -0.5, 0.8333333333333333], [0.175, 0.0, -0.04166666666666666]]),
    'gaussian var float': ([[0.0002339566020623518, 1.428805385173491, 4.285948242316348],
        [2.971662528030634, -0.17833747196936622, 0.00023395660206232405]], 8.508546596755231,
        1.418091099459205, [[-0.11904761904761905, -0.35714285714285715, 0.5952380952380952], [0.5,
        0.0, -0.11904761904761904]]),
    'poisson': ([[1.6487212707001282, 1.5011942119122021, 3.3890560989306504],
        [6.697951281441636, 1.0, 1.5465853037914092]], 15.783508166776027, 2.630584694462671,
        [[0.27478687845002137, -0.11646763134796631, 0.8981760164884418], [2.8663252135736057,
        -0.33333333333333337, -0.16723578270143175]]),
    'poisson full': ([[1.6487212707001282, 1.5011942119122021, 4.040862583535186],
        [11.46879833303386, 2.764081543543057, 1.7764540532124107]], 23.200111995936844,
        3.866685332656141, [[0.27478687845002137, -0.11646763134796631, 0.8981760164884418],
        [2.8663252135736057, -0.33333333333333337, -0.16723578270143175]]),
    'poisson rates': ([[0.5, 1.0176784348727121, 0.6137056288801095], [-2.557010573584536,
        55.2620422318571, 1.2350123944795273]], 56.07142811650492, 9.345238019417486,
        [[0.16666666666666666, 0.027777778935185155, 8.333333190169157e-10], [-0.1021505367672563,
        -49999999.833333336, -0.19047618537414976]]),
    'poisson rates full eps=0.1': ([[0.5, 0.9376357355325089, 1.1679317951457813],
        [2.05509300256382, 8.671836822525194, 1.2645840763923162]], 14.59708143215962,
        2.4328469053599364, [[0.16666666666666666, 0.038461538461538464, 0.007936507936507936],
        [-0.09374999999999997, -4.833333333333333, -0.14583333333333334]]),
    'cosine': ([0.12712843905630766, 0.0, 0.0, 0.9999999999997917], 1.1271284390560994,
        0.28178210976402485, [[0.005195664053228348, 0.010391328106456696, -0.0519566405323666],
        [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [2.7769453403436728e-14, 2.7769453403436728e-14,
        2.7769453403436728e-14]]),
    'cosine margin=0.2': ([0.12712843905630766, 0.0, 0.0, 0.7999999999997918],
        0.9271284390560994, 0.23178210976402486, [[0.005195664053228348, 0.010391328106456696,
        -0.0519566405323666], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [2.7769453403436728e-14,
        2.7769453403436728e-14, 2.7769453403436728e-14]]),
    'cosine margin=-0.5 grad2': ([0.12712843905630766, 2.5002222514558525e-13, 0.0,
        1.4999999999997917], 1.6271284390563494, 0.40678210976408735, [[-0.024246432248457454,
        -0.04849286449691491, 0.06061608062104664], [0.062499999999937494, -0.0625,
        0.1249999999999375], [0.0, 0.0, 0.0], [3.469446951953614e-15, 3.469446951953614e-15,
        3.469446951953614e-15]]),
    'ranking': ([0.5, 0.0, 0.0, 0.19999999999999998, 0.5], 1.2, 0.24, [-0.2, -0.0, 0.2, 0.2,
        -0.2]),
    'ranking margin=0.3': ([0.8, 0.0, 0.3, 0.5, 0.8], 2.4000000000000004, 0.4800000000000001,
        [-0.2, -0.0, 0.2, 0.2, -0.2]),
    'ranking margin=0.3 grad2': ([0.8, 0.0, 0.3, 0.5, 0.8], 2.4000000000000004,
        0.4800000000000001, [0.2, 0.0, -0.2, -0.2, 0.2]),
}
PYTORCH_KL = {
    'kl': ([[-0.06931471805599451, 0.0, 0.529007998411907], [-0.09116077839697728,
        0.22907268296853872, -0.04558038919848861]], 0.5520247957289854, 0.09200413262149758,
        0.2760123978644927, [[-0.05, -0.0, -0.45], [-0.25, -0.125, -0.125]]),
    'kl log_target': ([[-0.04315231086776713, -0.08958797346140275, 0.6097611918637751],
        [-0.047856257344296334, 0.3295836866004328, 0.0]], 0.7587483367907417, 0.1264580561317903,
        0.37937416839537086, [[-0.07500000000000001, -0.025000000000000005, -0.47500000000000003],
        [-0.275, -0.15, -0.15]]),
}
PYTORCH_SEQUENCE = {
    'plain': ([[0.8110433412868643, 1.4350904111228706, 0.0, 0.39395885027954625],
        [2.269794184803706, 0.0, 2.237076178889592, 2.570652678519865]], 9.717615644902445,
        1.6196026074837409, [[[-0.09260097175349155, 0.09957442939342077, 0.0,
        0.012085869490458704], [0.04722637214607002, 0.027409931154842186, 0.0,
        -0.054269698951284195], [0.04537459960742152, -0.12698436054826295, 0.0,
        0.042183829460825474]], [[0.1210497508268581, 0.0, 0.11545947826419117,
        0.09325550869293983], [0.02839467492513852, 0.0, -0.14887162908532495, -0.1539190652307465],
        [-0.14944442575199662, 0.0, 0.033412150821133774, 0.060663556537806675]]]),
    'weight': ([[0.40552167064343214, 1.4350904111228706, 0.0, 0.7879177005590925],
        [2.269794184803706, 0.0, 4.474152357779184, 5.14130535703973]], 14.513781681948016,
        1.7075037272880018, [[[-0.03268269591299702, 0.0702878325130029, 0.0, 0.017062403986529938],
        [0.01666813134567177, 0.01934818669753566, 0.0, -0.07661604557828357], [0.01601456456732524,
        -0.08963601921053856, 0.0, 0.059553641591753616]], [[0.08544688293660571, 0.0,
        0.16300161637297578, 0.13165483580179743], [0.020043299947156604, 0.0, -0.2101717116498705,
        -0.21729750385517155], [-0.10549018288376233, 0.0, 0.047170095276894745,
        0.08564266805337413]]]),
    'smoothing': ([[0.873710007953531, 1.398423744456204, 0.0, 0.6079588502795463],
        [2.1064608514703727, 0.0, 2.0704095122229256, 2.3339860118531983]], 9.390948978235778,
        1.5651581630392966, [[[-0.07037874953126934, 0.08846331828230966, 0.0,
        0.0009747583793475909], [0.0361152610349589, 0.016298820043731076, 0.0,
        -0.03204747672906198], [0.0342634884963104, -0.10476213832604073, 0.0,
        0.031072718349714354]], [[0.10993863971574698, 0.0, 0.10434836715308003,
        0.0821443975818287], [0.017283563814027406, 0.0, -0.12664940686310272,
        -0.13169684300852427], [-0.1272222035297744, 0.0, 0.02230103971002266,
        0.049552445426695554]]]),
    'weight smoothing': ([[0.6063274494816808, 1.5015934248269664, 0.0, 0.8619245588458349],
        [2.2137873242971633, 0.0, 3.996972994630919, 4.542529910619753]], 13.723135662702317,
        1.6144865485532138, [[[-0.017868669725090346, 0.06870919163598535, 0.0,
        0.01171896836020146], [0.005426691861380325, 0.004306851744316263, 0.0,
        -0.05846666923107367], [0.012441977863710011, -0.07301604338030161, 0.0,
        0.04674770087087218]], [[0.08437354374037492, 0.0, 0.14549657971444346,
        0.11676203085752998], [0.005025135435591235, 0.0, -0.1808926964633617, -0.1874246726515543],
        [-0.08939867917596617, 0.0, 0.03539611674891822, 0.07066264179402432]]]),
}
# fmt: on


def assert_close(out, expected, rtol=1e-12, atol=1e-14):
    expected = np.asarray(expected, dtype=float)
    assert out.shape == expected.shape, f"shape {out.shape} != {expected.shape}"
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)


def test_every_case_has_pytorchs_values():
    assert set(CASES) == set(PYTORCH)


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_are_pytorchs(name):
    """Each reduction's value, and the gradient of the mean, as PyTorch computes them."""
    fn, args, which = CASES[name]
    none, total, mean, grad = PYTORCH[name]
    tensors = [mg.tensor(np.array(a, dtype=float), requires_grad=True) for a in args]
    assert_close(fn(*tensors, "none"), none)
    assert_close(fn(*tensors, "sum"), total)
    out = fn(*tensors, "mean")
    assert_close(out, mean)
    out.backward()
    assert_close(tensors[which].grad, grad)


@pytest.mark.parametrize("name", list(PYTORCH_KL))
def test_kl_div_values_and_gradient_are_pytorchs(name):
    """The four reductions (batchmean: sum / batch size), and the gradient of batchmean; a
    target of 0 contributes 0 (0 log 0 = 0), without a warning."""
    log_q = mg.tensor(np.log([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]), requires_grad=True)
    p = np.array([[0.1, 0.0, 0.9], [0.5, 0.25, 0.25]])
    log_target = name == "kl log_target"
    target = np.log(p + 0.05) if log_target else p
    none, total, mean, batchmean, grad = PYTORCH_KL[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reduction, expected in [("none", none), ("sum", total), ("batchmean", batchmean)]:
            assert_close(F.kl_div(log_q, target, reduction, log_target), expected)
    with pytest.warns(UserWarning, match="'batchmean' divides by the batch size only"):
        assert_close(F.kl_div(log_q, target, "mean", log_target), mean)
    F.kl_div(log_q, target, "batchmean", log_target).backward()
    assert_close(log_q.grad, grad)


def test_kl_div_is_the_kl_divergence_of_each_row():
    """batchmean of rows that are distributions: the mean over rows of sum p log(p / q)."""
    p, q = rng.dirichlet(np.ones(5), 4), rng.dirichlet(np.ones(5), 4)
    expected = np.mean(np.sum(p * np.log(p / q), axis=1))
    out = F.kl_div(mg.tensor(np.log(q)), p, reduction="batchmean")
    assert out.item() == pytest.approx(expected, rel=1e-13)
    assert F.kl_div(mg.tensor(np.log(p)), p, reduction="batchmean").item() == pytest.approx(
        0, abs=1e-15
    )


# ----- cross-entropy over sequences -----------------------------------------------------------------

LOGITS = [
    [[0.0, 0.3, -0.27, -0.89], [-0.45, -0.99, 0.06, 1.34], [-0.49, -0.62, 0.49, 0.36]],
    [[0.11, -0.93, -0.03, 0.7], [-1.34, -0.46, -1.9, -1.29], [-1.84, -0.24, -1.27, 0.27]],
]  # (N, C, L) = (2, 3, 4)
LABELS = [[0, 2, -100, 1], [2, -100, 1, 1]]  # (N, L); two positions ignored
CLASS_WEIGHT = [0.5, 2.0, 1.0]
SEQUENCE_SETTINGS = {
    "plain": {},
    "weight": dict(weight=CLASS_WEIGHT),
    "smoothing": dict(label_smoothing=0.2),
    "weight smoothing": dict(weight=CLASS_WEIGHT, label_smoothing=0.2),
}


@pytest.mark.parametrize("name", list(SEQUENCE_SETTINGS))
def test_cross_entropy_over_sequences_is_pytorchs(name):
    """(N, C, L) logits and (N, L) labels with ignore_index positions: PyTorch's losses per
    position (0 where ignored), sum, mean (over the positions not ignored, weighted by their
    class weights when weighted) and its gradient; the module gives the same."""
    settings = SEQUENCE_SETTINGS[name]
    weight = settings.get("weight")
    weight = None if weight is None else mg.tensor(weight)
    smoothing = settings.get("label_smoothing", 0.0)
    none, total, mean, grad = PYTORCH_SEQUENCE[name]
    logits = mg.tensor(LOGITS, requires_grad=True)
    labels = np.array(LABELS)
    out = F.cross_entropy(logits, labels, weight, reduction="none", label_smoothing=smoothing)
    assert_close(out, none)
    assert np.signbit(out.data[0, 2]) == 0  # +0.0 where ignored, as PyTorch's
    assert_close(
        F.cross_entropy(logits, labels, weight, reduction="sum", label_smoothing=smoothing), total
    )
    out = F.cross_entropy(logits, labels, weight, label_smoothing=smoothing)
    assert_close(out, mean)
    out.backward()
    assert_close(logits.grad, grad)
    module = nn.CrossEntropyLoss(weight=weight, label_smoothing=smoothing)
    assert_close(module(mg.tensor(LOGITS), labels), mean)


def test_nll_loss_over_sequences_with_class_weights_is_pytorchs():
    """nll_loss of log_softmax over the class axis 1 gives cross_entropy's values."""
    log_p = F.log_softmax(mg.tensor(LOGITS), 1)
    labels = np.array(LABELS)
    out = F.nll_loss(log_p, labels, mg.tensor(CLASS_WEIGHT), reduction="none")
    assert_close(out, PYTORCH_SEQUENCE["weight"][0])
    assert_close(nn.NLLLoss(mg.tensor(CLASS_WEIGHT))(log_p, labels), PYTORCH_SEQUENCE["weight"][2])


def test_ignore_index_can_be_a_real_class():
    """ignore_index=1 drops every position labelled 1 from the loss and its mean (PyTorch's
    value), and their logits get no gradient."""
    labels = np.array([[0, 2, 1, 1], [2, 0, 1, 1]])
    logits = mg.tensor(LOGITS, requires_grad=True)
    out = F.cross_entropy(logits, labels, ignore_index=1)
    assert out.item() == pytest.approx(1.5101539635312502, rel=1e-13)
    out.backward()
    np.testing.assert_array_equal(logits.grad.data[:, :, 2:], 0.0)
    kept = labels != 1
    per_position = F.cross_entropy(mg.tensor(LOGITS), labels, reduction="none").data
    assert out.item() == pytest.approx(per_position[kept].mean(), rel=1e-13)


def test_a_sequence_loss_equals_the_flattened_classifier_loss():
    """(N, C, L) with (N, L) is the (N * L, C) loss of the positions as rows, also with
    ignore_index, class weights and label smoothing."""
    logits = rng.standard_normal((3, 5, 7))
    labels = rng.integers(0, 5, (3, 7))
    labels[0, ::2] = -100
    rows = np.moveaxis(logits, 1, -1).reshape(-1, 5)
    weight = mg.tensor(rng.uniform(0.5, 2, 5))
    for settings in [{}, dict(weight=weight), dict(weight=weight, label_smoothing=0.1)]:
        seq = F.cross_entropy(mg.tensor(logits), labels, **settings)
        flat = F.cross_entropy(mg.tensor(rows), labels.reshape(-1), **settings)
        assert seq.item() == pytest.approx(flat.item(), rel=1e-13)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_over_sequences_derivatives(smoothing):
    """Reverse and forward mode against finite differences, in the logits and the class weights,
    with ignored positions."""
    logits = rng.standard_normal((2, 3, 4))
    labels = np.array(LABELS)

    def f(x, w):
        return F.cross_entropy(x, labels, w, label_smoothing=smoothing)

    assert mg.check_grads(f, logits, np.array(CLASS_WEIGHT), modes=("fwd", "rev"))
    assert mg.check_grads(lambda x: f(x, None), logits, modes=("fwd", "rev"), order=2)


# ----- derivatives by finite differences ---------------------------------------------------------


def away_from(d, points, gap=0.1):
    """``d`` moved at least ``gap`` away from each of ``points`` (the kinks of a loss)."""
    for p in points:
        d = np.where(np.abs(d - p) < gap, p + gap * np.sign(d - p + 1e-300), d)
    return d


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_and_smooth_l1_derivatives(delta, reduction):
    """First and second order (the second derivative is 1 inside, 0 outside), in input and
    target, away from |d| = delta where the second derivative jumps."""
    y = rng.standard_normal((3, 4))
    x = y + away_from(2 * rng.standard_normal((3, 4)), [-delta, delta])
    for fn in (F.huber_loss, F.smooth_l1_loss):
        f = lambda a, b, fn=fn: fn(a, b, reduction, delta)  # noqa: E731
        assert mg.check_grads(f, x, y, modes=("fwd", "rev"))
        assert mg.check_grads(f, x, y, modes=("fwd", "rev"), order=2)


def test_huber_gradient_is_the_clipped_error():
    """d/dx sum huber(x - y) = clip(x - y, -delta, delta): an outlier pulls with delta at most;
    at |d| = delta both sides agree."""
    d = np.array([-3.0, -1.0, -0.4, 0.0, 0.7, 1.0, 5.0])
    x = mg.tensor(d, requires_grad=True)
    F.huber_loss(x, np.zeros(7), "sum").backward()
    np.testing.assert_array_equal(x.grad.data, np.clip(d, -1.0, 1.0))
    smooth = mg.tensor(d, requires_grad=True)
    F.smooth_l1_loss(smooth, np.zeros(7), "sum", beta=2.0).backward()
    np.testing.assert_allclose(smooth.grad.data, np.clip(d, -2.0, 2.0) / 2.0, rtol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_derivatives_in_mean_target_and_variance(full, reduction):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    var = rng.uniform(0.2, 2.0, (3, 4))
    f = lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=full, reduction=reduction)  # noqa: E731
    assert mg.check_grads(f, x, y, var, modes=("fwd", "rev"))
    assert mg.check_grads(f, x, y, var, modes=("fwd", "rev"), order=2)
    per_sample = lambda a, v: F.gaussian_nll_loss(a, y, v, reduction=reduction)  # noqa: E731
    assert mg.check_grads(per_sample, x, var[:, 0], modes=("fwd", "rev"))


def test_gaussian_nll_clamps_the_variance_without_stopping_its_gradient():
    """Below eps the variance counts as eps in the value and in the derivative, which still
    reaches the variance (PyTorch clamps it in place under no_grad): 0.5 (1/eps - d^2/eps^2)."""
    var = mg.tensor([1e-9, 0.5], requires_grad=True)
    d = np.array([1e-4, 1.0])
    out = F.gaussian_nll_loss(mg.tensor(d), np.zeros(2), var, eps=1e-6, reduction="sum")
    v = np.array([1e-6, 0.5])
    assert out.item() == pytest.approx(np.sum(0.5 * (np.log(v) + d**2 / v)), rel=1e-14)
    out.backward()
    np.testing.assert_allclose(var.grad.data, 0.5 * (1 / v - d**2 / v**2), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_derivatives(full, log_input, reduction):
    """In the input (log-rates or rates) and, with the Stirling term, in the counts."""
    x = rng.standard_normal((3, 4)) if log_input else rng.uniform(0.5, 3.0, (3, 4))
    counts = rng.uniform(0.0, 4.0, (3, 4))
    counts = away_from(counts, [1.0])  # the Stirling term starts above 1

    def f(a, c):
        return F.poisson_nll_loss(a, c, log_input, full, reduction=reduction)

    assert mg.check_grads(f, x, counts, modes=("fwd", "rev"))
    assert mg.check_grads(lambda a: f(a, counts), x, modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_derivatives_in_input_and_target(log_target, reduction):
    log_q = np.log(rng.dirichlet(np.ones(4), 3))
    p = rng.dirichlet(np.ones(4), 3)
    target = np.log(p) if log_target else p
    f = lambda a, b: F.kl_div(a, b, reduction, log_target)  # noqa: E731
    assert mg.check_grads(f, log_q, target, modes=("fwd", "rev"))
    assert mg.check_grads(f, log_q, target, modes=("fwd", "rev"), order=2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [-0.3, 0.0, 0.4])
def test_cosine_embedding_derivatives(margin, reduction):
    """Both embeddings, batched and single pairs, away from cos = margin (the hinge)."""
    a, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    target = np.array([1, -1, 1, -1, -1, -1])
    cos = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    keep = np.abs(cos - margin) > 0.05
    a, b, target = a[keep], b[keep], target[keep]
    f = lambda u, v: F.cosine_embedding_loss(u, v, target, margin, reduction)  # noqa: E731
    assert mg.check_grads(f, a, b, modes=("fwd", "rev"))
    assert mg.check_grads(f, a, b, modes=("fwd", "rev"), order=2)
    single = lambda u, v: F.cosine_embedding_loss(u, v, np.array(1), margin, reduction)  # noqa: E731
    assert mg.check_grads(single, a[0], b[0], modes=("fwd", "rev"))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_derivatives(reduction):
    s1, s2 = rng.standard_normal(8), rng.standard_normal(8)
    target = np.where(rng.random(8) < 0.5, -1.0, 1.0)
    s2 = s1 - target * away_from(s1 * 0 + rng.standard_normal(8), [0.3])  # off the hinge at 0.3
    f = lambda a, b: F.margin_ranking_loss(a, b, target, 0.3, reduction)  # noqa: E731
    assert mg.check_grads(f, s1, s2, modes=("fwd", "rev"))


def test_margin_ranking_broadcasts_like_pytorch():
    """Inputs of the same number of axes broadcast: one score against a row of them."""
    out = F.margin_ranking_loss(
        mg.tensor([[1.0]]), mg.tensor([[0.5, 2.0]]), [[1.0, 1.0]], 0.1, "none"
    )
    assert_close(out, [[0.0, 1.1]])


# ----- modules ------------------------------------------------------------------------------------


def test_modules_match_the_functions():
    x, y = mg.tensor(X), mg.tensor(Y)
    assert_close(nn.HuberLoss(delta=0.6)(x, y), PYTORCH["huber delta=0.6"][2])
    assert_close(nn.SmoothL1Loss(reduction="sum", beta=0.6)(x, y), PYTORCH["smooth_l1 beta=0.6"][1])
    assert_close(
        nn.GaussianNLLLoss(full=True, eps=0.3)(x, y, mg.tensor(V)),
        PYTORCH["gaussian full eps=0.3"][2],
    )
    assert_close(
        nn.PoissonNLLLoss(False, True, eps=0.1)(mg.tensor(R), mg.tensor(C)),
        PYTORCH["poisson rates full eps=0.1"][2],
    )
    assert_close(
        nn.CosineEmbeddingLoss(0.2, "none")(mg.tensor(A), mg.tensor(B), T),
        PYTORCH["cosine margin=0.2"][0],
    )
    assert_close(
        nn.MarginRankingLoss(margin=0.3)(mg.tensor(S1), mg.tensor(S2), TT),
        PYTORCH["ranking margin=0.3"][2],
    )
    log_q, p = (
        mg.tensor(np.log([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
        [[0.1, 0.0, 0.9], [0.5, 0.25, 0.25]],
    )
    assert_close(nn.KLDivLoss(reduction="batchmean")(log_q, p), PYTORCH_KL["kl"][3])


def test_module_settings_repr_and_state():
    """Settings are attributes with PyTorch's names; the losses hold no parameters or buffers."""
    losses = [nn.HuberLoss(delta=0.5), nn.SmoothL1Loss(beta=0.2), nn.KLDivLoss("batchmean", True),
              nn.GaussianNLLLoss(full=True), nn.PoissonNLLLoss(log_input=False),
              nn.CosineEmbeddingLoss(margin=0.1), nn.MarginRankingLoss(margin=1.0)]  # fmt: skip
    assert [m.state_dict() for m in losses] == [{}] * len(losses)
    assert repr(losses[0]) == "HuberLoss(delta=0.5)"
    assert repr(losses[1]) == "SmoothL1Loss(beta=0.2)"
    assert (losses[2].reduction, losses[2].log_target) == ("batchmean", True)
    assert (losses[3].full, losses[3].eps) == (True, 1e-6)
    assert (losses[4].log_input, losses[4].eps) == (False, 1e-8)
    assert losses[5].margin == 0.1 and losses[6].margin == 1.0
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only settings, as PyTorch's


def test_float32_losses_stay_float32(float32_default):
    x, y = mg.tensor(np.array(X, np.float32)), np.array(Y)  # float64 numpy targets
    var, counts = np.array(V), np.array(C)
    outs = [F.huber_loss(x, y), F.smooth_l1_loss(x, y, beta=0.5), F.gaussian_nll_loss(x, y, var),
            F.gaussian_nll_loss(x, y, 0.5, full=True), F.poisson_nll_loss(x, counts, full=True),
            F.kl_div(x, np.abs(y), "batchmean"), F.margin_ranking_loss(x[0], x[1], [1.0, -1.0, 1.0]),
            F.cosine_embedding_loss(x, mg.tensor(np.array(Y, np.float32)), [1, -1])]  # fmt: skip
    assert [o.dtype for o in outs] == [np.float32] * len(outs)


# ----- errors ----------------------------------------------------------------------------------

x = mg.tensor(X)
ERRORS = [  # (the call, the error, its words)
    (lambda: F.huber_loss(x, Y, delta=0.0), OpError,
     "huber_loss: delta=0.0 must be a finite number > 0"),
    (lambda: F.huber_loss(x, Y, delta=-1), OpError, "huber_loss: delta=-1 must be"),
    (lambda: nn.HuberLoss(delta=math.nan), OpError, "HuberLoss: delta=nan must be"),
    (lambda: F.smooth_l1_loss(x, Y, beta=-0.5), OpError,
     "smooth_l1_loss: beta=-0.5 must be a finite number >= 0"),
    (lambda: nn.SmoothL1Loss(beta="1"), OpError, "SmoothL1Loss: beta='1'"),
    (lambda: F.huber_loss(x, [1.0, 2.0, 3.0]), ShapeError,
     "huber_loss: input of shape (2, 3) and target of shape (3,)"),
    (lambda: F.huber_loss(x, Y, weight=[1.0, 2.0, 3.0]), ShapeError,
     "huber_loss: weight of shape (3,) for input of shape (2, 3)"),
    (lambda: F.smooth_l1_loss(x, Y, "avg"), OpError, "smooth_l1_loss: reduction='avg' is not one"),
    (lambda: F.kl_div(x, Y, "batch"), OpError,
     "kl_div: reduction='batch' is not one of 'mean', 'batchmean', 'sum', 'none'"),
    (lambda: nn.KLDivLoss(reduction="avg"), OpError, "KLDivLoss: reduction='avg'"),
    (lambda: nn.MSELoss(reduction="batchmean"), OpError,
     "MSELoss: reduction='batchmean' is not one of 'mean', 'sum', 'none'"),
    (lambda: F.kl_div(x, [0.5, 0.5], "sum"), ShapeError, "kl_div: input of shape (2, 3)"),
    (lambda: F.gaussian_nll_loss(x, Y, [[1.0, -0.5, 1.0], [1.0, 1.0, 1.0]]), OpError,
     "gaussian_nll_loss: var holds -0.5; variances must be >= 0"),
    (lambda: F.gaussian_nll_loss(x, Y, -1.0), OpError, "var holds -1.0"),
    (lambda: F.gaussian_nll_loss(x, Y, [1.0, 2.0, 3.0]), ShapeError,
     "gaussian_nll_loss: var of shape (3,) for input of shape (2, 3)"),
    (lambda: F.gaussian_nll_loss(x, Y, 1.0, eps=-1e-6), OpError,
     "gaussian_nll_loss: eps=-1e-06 must be"),
    (lambda: F.gaussian_nll_loss(x, [[1.0], [2.0], [3.0]], 1.0), ShapeError,
     "target of shape (3, 1) does not broadcast"),
    (lambda: nn.GaussianNLLLoss(eps=math.inf), OpError, "GaussianNLLLoss: eps=inf must be"),
    (lambda: nn.PoissonNLLLoss(eps=-1.0), OpError, "PoissonNLLLoss: eps=-1.0 must be"),
    (lambda: F.poisson_nll_loss(x, [1.0]), ShapeError, "poisson_nll_loss: input of shape (2, 3)"),
    (lambda: F.cosine_embedding_loss(mg.tensor(A), B, [1, 0, 1, -1]), OpError,
     "cosine_embedding_loss: target holds 0; each label must be 1"),
    (lambda: F.cosine_embedding_loss(mg.tensor(A), B, [1, -1]), ShapeError,
     "cosine_embedding_loss: target of shape (2,) for inputs of shape (4, 3)"),
    (lambda: F.cosine_embedding_loss(mg.tensor(A), B[:2], T), ShapeError,
     "input1 (4, 3), input2 (2, 3) and target (4,)"),
    (lambda: F.cosine_embedding_loss(mg.tensor(A), B, [[1], [1], [1], [1]]), ShapeError,
     "expected two (N, D) inputs"),
    (lambda: F.cosine_embedding_loss(mg.tensor(A), B, T, margin=math.inf), OpError,
     "margin=inf must be a finite number"),
    (lambda: nn.CosineEmbeddingLoss(margin="0"), OpError, "CosineEmbeddingLoss: margin='0'"),
    (lambda: F.margin_ranking_loss(mg.tensor(S1), S2, [[1.0] * 5]), ShapeError,
     "must have the same number of axes"),
    (lambda: F.margin_ranking_loss(mg.tensor(S1), S2[:3], TT), ShapeError,
     "input1 (5,), input2 (3,) and target (5,)"),
    (lambda: nn.MarginRankingLoss(margin=math.nan), OpError, "MarginRankingLoss: margin=nan"),
]  # fmt: skip


@pytest.mark.parametrize("call, error, words", ERRORS, ids=[w for *_, w in ERRORS])
def test_errors_name_the_loss_and_the_value(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()
