"""nn.per_sample_grads: each example's own gradient, equal to a loop of single-example backward
passes (issue 22)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

rng = np.random.default_rng(8)


def test_per_sample_gradients_equal_single_example_backward_passes():
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    x = mg.tensor(rng.standard_normal((6, 4)))
    y = mg.tensor(rng.integers(0, 3, 6))
    grads = nn.per_sample_grads(model, nn.functional.cross_entropy, x, y)
    assert {k: v.shape for k, v in grads.items()} == {
        name: (6, *p.shape) for name, p in model.named_parameters()
    }
    for i in range(6):
        model.zero_grad()
        nn.functional.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        for name, p in model.named_parameters():
            np.testing.assert_allclose(grads[name].data[i], p.grad.data, rtol=1e-12, atol=1e-14)
    # the mean-reduced batch gradient is their mean
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(grads[name].data.mean(axis=0), p.grad.data, rtol=1e-12)


def test_batch_norm_in_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Linear(5, 1))
    x, y = mg.tensor(rng.standard_normal((6, 4))), mg.tensor(rng.standard_normal((6, 1)))
    with pytest.raises(mg.BatchingError, match=r"1 is a BatchNorm1d in training mode.*eval"):
        nn.per_sample_grads(model, nn.functional.mse_loss, x, y)
