"""LogSoftmax and Softmax: values against a numpy reference, derivatives by the harness."""

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg
from minigrad.nn.functional import cross_entropy, log_softmax, softmax

rng = np.random.default_rng(7)
LABELS = np.array([0, 2, 1, 2, 2])


def reference(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


CASES = [
    Case("log_softmax (5,)", log_softmax, lambda x: reference(x, -1), [rng.standard_normal(5)]),
    Case("log_softmax (3,4) axis -1", log_softmax, lambda x: reference(x, -1),
         [rng.standard_normal((3, 4))]),
    Case("log_softmax (3,4) axis 0", lambda x: log_softmax(x, 0), lambda x: reference(x, 0),
         [rng.standard_normal((3, 4))]),
    Case("log_softmax (2,3,4) axis 1", lambda x: log_softmax(x, 1), lambda x: reference(x, 1),
         [rng.standard_normal((2, 3, 4))]),
    Case("softmax (3,4)", softmax, lambda x: np.exp(reference(x, -1)),
         [rng.standard_normal((3, 4))]),
    Case("softmax (5,) scaled", lambda x: softmax(x * 3.0), lambda x: np.exp(reference(3 * x, -1)),
         [rng.standard_normal(5)]),
    Case("softmax (2,3,4) axis 1", lambda x: softmax(x, 1), lambda x: np.exp(reference(x, 1)),
         [rng.standard_normal((2, 3, 4))]),
    Case("softmax (3,4) axis 0 times weights", lambda x, w: softmax(x, 0) * w,
         lambda x, w: np.exp(reference(x, 0)) * w,
         [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]),
    Case("cross_entropy (5,3) mean, fused", lambda x: cross_entropy(x, LABELS),
         lambda x: -reference(x, -1)[np.arange(5), LABELS].mean(), [rng.standard_normal((5, 3))]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


def test_log_softmax_of_huge_logits_is_finite_and_exact():
    out = log_softmax(mg.tensor([1000.0, 1000.0, -1000.0]))
    np.testing.assert_allclose(out.data, [-np.log(2), -np.log(2), -2000 - np.log(2)])


def test_log_softmax_gradient_is_identity_minus_softmax():
    x = mg.tensor(rng.standard_normal(4), requires_grad=True)
    g = rng.standard_normal(4)
    log_softmax(x).backward(g)
    p = np.exp(reference(x.data, -1))
    np.testing.assert_allclose(x.grad.data, g - p * g.sum(), rtol=1e-12)


def test_fused_cross_entropy_equals_the_general_path():
    """The fused NllMean gives what the weighted path gives with unit weights."""
    x = mg.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    labels = np.array([3, 0, 1, 1, 2, 0])
    fused = cross_entropy(x, labels)
    general = cross_entropy(x, labels, weight=np.ones(4))
    np.testing.assert_allclose(fused.data, general.data, rtol=1e-14)
    (g1,) = mg.autograd.grad(fused, x)
    (g2,) = mg.autograd.grad(general, x)
    np.testing.assert_allclose(g1.data, g2.data, rtol=1e-13)


def test_softmax_of_a_row_of_minus_inf_is_nan_without_warnings():
    """As PyTorch's: 0/0 is nan, and numpy's warning is not PyTorch's behaviour."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = softmax(mg.tensor([[-np.inf, -np.inf], [0.0, -np.inf]]))
    assert np.isnan(out.data[0]).all()
    np.testing.assert_array_equal(out.data[1], [1.0, 0.0])


def test_softmax_vjp_closed_form():
    """The cotangent of x is y * g - y * sum(y * g)."""
    x = mg.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    g = rng.standard_normal((2, 5))
    y = softmax(x)
    y.backward(g)
    expected = y.data * g - y.data * (y.data * g).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-13, atol=1e-15)
