"""Module.state_dict / load_state_dict with PyTorch 2.x's value types, order and keywords.

PyTorch's ``state_dict()`` holds detached Tensors that share memory with the parameters and
buffers, each module's parameters, then its buffers, then its children's; ``load_state_dict``
takes Tensors (or, in minigrad, numpy arrays) from any mapping. The key lists below are
PyTorch's for the same modules, written in.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import DTypeError


def model():
    generator = mg.Generator(0)
    return nn.Sequential(
        nn.Linear(2, 3, dtype=np.float64, generator=generator),
        nn.BatchNorm1d(3),
        nn.Linear(3, 1, dtype=np.float64, generator=generator),
    )


def test_keys_come_module_by_module_as_pytorchs():
    """PyTorch: list(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 2))
    .state_dict()): a module's buffers come before the next module's parameters."""
    assert list(model().state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "2.weight", "2.bias",
    ]  # fmt: skip


def test_values_are_detached_tensors_sharing_memory():
    m = model()
    state = m.state_dict()
    assert all(type(v) is mg.Tensor and not v.requires_grad for v in state.values())
    assert np.shares_memory(state["0.weight"].numpy(), m[0].weight.data)
    assert np.shares_memory(state["1.running_mean"].numpy(), m[1].running_mean.data)


def test_keep_vars_prefix_and_destination():
    m = model()
    kept = m.state_dict(keep_vars=True)
    assert kept["0.weight"] is m[0].weight and kept["1.running_var"] is m[1].running_var
    prefixed = m.state_dict(prefix="encoder.")
    assert list(prefixed)[:2] == ["encoder.0.weight", "encoder.0.bias"]
    destination = OrderedDict(step=1)
    assert m.state_dict(destination=destination) is destination
    assert list(destination)[:2] == ["step", "0.weight"]


def test_load_takes_tensors_arrays_and_any_mapping():
    source, target = model(), model()
    with mg.no_grad():
        for p in source.parameters():
            p.add_(1.0)
    arrays = OrderedDict((k, v.numpy().copy()) for k, v in source.state_dict().items())
    assert target.load_state_dict(arrays) == ([], [])
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), arrays[key])
    fresh = model()
    fresh.load_state_dict(source.state_dict())  # Tensors
    np.testing.assert_array_equal(fresh[2].bias.numpy(), source[2].bias.numpy())


def test_a_shared_parameter_is_saved_under_each_name():
    shared = nn.Linear(2, 2)
    tied = nn.Sequential(shared, shared)
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert np.shares_memory(tied.state_dict()["1.weight"].numpy(), shared.weight.data)


def test_assign_is_refused_with_the_reason():
    m = model()
    with pytest.raises(DTypeError, match="no meta device"):
        m.load_state_dict(m.state_dict(), assign=True)
