"""F.one_hot: class indices to one-hot rows, int64, with PyTorch 2.x's values and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.errors import DTypeError, MinigradError


def test_one_hot_of_a_vector():
    out = F.one_hot(mg.tensor([0, 2, 1]), 4)
    assert out.dtype == np.int64 and out.shape == (3, 4)
    assert out.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]


def test_one_hot_infers_the_number_of_classes():
    """PyTorch: F.one_hot(torch.tensor([[0, 2], [1, 1]])) has 3 classes (max + 1)."""
    out = F.one_hot(mg.tensor([[0, 2], [1, 1]]))
    assert out.shape == (2, 2, 3)
    assert out.tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]


def test_one_hot_of_a_scalar_and_of_an_empty_tensor():
    assert F.one_hot(mg.tensor(2), 4).tolist() == [0, 0, 1, 0]
    empty = F.one_hot(mg.tensor(np.zeros(0, np.int64)), 3)
    assert empty.shape == (0, 3) and empty.dtype == np.int64


def test_one_hot_takes_other_integer_dtypes_and_arrays():
    assert F.one_hot(mg.tensor(np.array([1, 0], np.int32)), 2).tolist() == [[0, 1], [1, 0]]
    assert F.one_hot(np.array([1], np.uint8), 3).tolist() == [[0, 1, 0]]


def test_one_hot_is_a_constant_of_the_graph():
    out = F.one_hot(mg.tensor([1]), 2)
    assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize(
    "labels, num_classes, match",
    [
        ([-1], 3, "must be non-negative"),
        ([3], 3, "smaller than num_classes=3"),
        ([1], 0, "smaller than num_classes=0"),
        (np.zeros(0, np.int64), -1, "empty tensor"),
        ([0], -2, "num_classes must be -1"),
    ],
)
def test_one_hot_refuses_values_out_of_range(labels, num_classes, match):
    with pytest.raises(MinigradError, match=match):
        F.one_hot(mg.tensor(labels), num_classes)


@pytest.mark.parametrize("labels", [np.array([1.0]), np.array([True])], ids=["float", "bool"])
def test_one_hot_refuses_labels_that_are_not_integers(labels):
    with pytest.raises(DTypeError, match=r"index tensors \(integers\).*labels.long\(\)"):
        F.one_hot(mg.tensor(labels), 2)
