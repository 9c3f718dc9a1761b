"""LayerNorm: values against a numpy reference, derivatives (reverse, forward, second order, with
tangents on each input) by the harness, for each combination of weight and bias."""

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg
from minigrad.nn.functional import layer_norm

rng = np.random.default_rng(3)


def reference(x, axes, weight=None, bias=None, eps=1e-5):
    centred = x - x.mean(axis=axes, keepdims=True)
    y = centred / np.sqrt((centred**2).mean(axis=axes, keepdims=True) + eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


CASES = [
    Case("layer_norm (3,4) over 4", lambda x: layer_norm(x, 4),
         lambda x: reference(x, (1,)), [rng.standard_normal((3, 4))]),
    Case("layer_norm (2,3,4) weight and bias", lambda x, w, b: layer_norm(x, 4, w, b),
         lambda x, w, b: reference(x, (2,), w, b),
         [rng.standard_normal((2, 3, 4)), rng.standard_normal(4), rng.standard_normal(4)]),
    Case("layer_norm (2,3,4) over (3,4), weight", lambda x, w: layer_norm(x, (3, 4), w, eps=0.1),
         lambda x, w: reference(x, (1, 2), w, eps=0.1),
         [rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))]),
    Case("layer_norm (5,) bias only", lambda x, b: layer_norm(x, 5, bias=b),
         lambda x, b: reference(x, (0,), bias=b), [rng.standard_normal(5), rng.standard_normal(5)]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


def test_layer_norm_gradient_closed_form():
    """d/dx of sum(g * layer_norm(x)) = r (h - mean(h) - x^ mean(h x^)), h = g * weight."""
    x = mg.tensor(rng.standard_normal((3, 6)), requires_grad=True)
    w = rng.standard_normal(6)
    g = rng.standard_normal((3, 6))
    layer_norm(x, 6, w, eps=0.0).backward(g)
    centred = x.data - x.data.mean(axis=1, keepdims=True)
    r = 1 / np.sqrt((centred**2).mean(axis=1, keepdims=True))
    normalised, h = centred * r, g * w
    expected = r * (
        h - h.mean(1, keepdims=True) - normalised * (h * normalised).mean(1, keepdims=True)
    )
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12, atol=1e-14)
    assert x.grad.data.sum(axis=1) == pytest.approx(np.zeros(3), abs=1e-12)  # shifts do nothing
