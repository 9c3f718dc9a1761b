"""Embedding: lookups against numpy, gradients that accumulate over repeated indices, a padding
row that gets no gradient, PyTorch's N(0, 1) initialisation, errors that name the layer."""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.embedding import Embedding, embedding


def scatter_rows(indices, g, num_embeddings):
    """The closed-form weight gradient of sum(g * weight[indices]): row r gets the sum of g over
    the positions where indices == r."""
    grad = np.zeros((num_embeddings, g.shape[-1]))
    for position in np.ndindex(indices.shape):
        grad[indices[position]] += g[position]
    return grad


# ----- forward -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "indices", [np.array([3, 1, 3, 3, 0]), np.array([[0, 2], [2, 2], [4, 1]]), np.array(2)],
    ids=["1d", "2d", "0d"],
)  # fmt: skip
def test_embedding_looks_up_rows(indices):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((5, 3))
    out = embedding(mg.tensor(indices), mg.tensor(weight))
    assert out.shape == indices.shape + (3,)
    np.testing.assert_array_equal(out.data, weight[indices])


def test_embedding_accepts_lists_and_arrays():
    weight = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(embedding([1, 1], mg.tensor(weight)).data, weight[[1, 1]])
    np.testing.assert_array_equal(embedding(np.array([3]), mg.tensor(weight)).data, weight[[3]])


def test_padding_row_is_looked_up_as_it_is():
    """padding_idx changes gradients, not values: a non-zero padding row is still returned."""
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((4, 2))
    indices = np.array([[0, 1], [0, 3]])
    out = embedding(indices, mg.tensor(weight), padding_idx=0)
    np.testing.assert_array_equal(out.data, weight[indices])


def test_embedding_module_forward_with_padding():
    emb = Embedding(6, 4, padding_idx=2, dtype=np.float64)
    indices = np.array([[2, 5, 2], [1, 2, 0]])
    out = emb(mg.tensor(indices))
    np.testing.assert_array_equal(out.data, emb.weight.data[indices])
    np.testing.assert_array_equal(out.data[indices == 2], np.zeros((3, 4)))


# ----- gradients ---------------------------------------------------------------------------------


def test_gradient_accumulates_over_repeated_indices():
    rng = np.random.default_rng(2)
    weight = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    indices = np.array([[1, 1, 4], [1, 0, 4]])
    g = rng.standard_normal((2, 3, 3))
    (embedding(indices, weight) * g).sum().backward()
    expected = scatter_rows(indices, g, 5)
    np.testing.assert_allclose(weight.grad.data, expected, rtol=1e-12, atol=1e-15)
    # row 1 appears three times: its gradient is the sum of three cotangent rows
    np.testing.assert_allclose(weight.grad.data[1], g[0, 0] + g[0, 1] + g[1, 0], rtol=1e-12)
    np.testing.assert_array_equal(weight.grad.data[[2, 3]], 0.0)


def test_padding_row_gets_no_gradient():
    rng = np.random.default_rng(3)
    weight = mg.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    indices = np.array([0, 3, 0, 1, 3])
    g = rng.standard_normal((5, 2))
    (embedding(indices, weight, padding_idx=3) * g).sum().backward()
    expected = scatter_rows(indices, g, 4)
    expected[3] = 0.0
    np.testing.assert_allclose(weight.grad.data, expected, rtol=1e-12, atol=1e-15)


def test_padding_row_stays_zero_under_training():
    rng = np.random.default_rng(4)
    emb = Embedding(5, 3, padding_idx=-1, dtype=np.float64)
    assert emb.padding_idx == 4
    indices = np.array([4, 4, 1, 2, 4])
    (emb(indices) * rng.standard_normal((5, 3))).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[4], 0.0)
    assert np.all(emb.weight.grad.data[[1, 2]] != 0)
    with mg.no_grad():
        emb.weight.sub_(emb.weight.grad.data, alpha=0.1)
    np.testing.assert_array_equal(emb.weight.data[4], 0.0)


@pytest.mark.parametrize("indices", [np.array([0, 2, 2, 1]), np.array([[3, 0, 3], [3, 1, 1]])])
def test_embedding_gradcheck_reverse_and_forward(indices):
    rng = np.random.default_rng(5)
    weight = rng.standard_normal((4, 3))
    f = lambda w: embedding(indices, w)  # noqa: E731
    assert mg.check_grads(f, weight, modes=("fwd", "rev"))
    assert mg.check_grads(lambda w: (embedding(indices, w) ** 2).sum(), weight, order=2)


def test_embedding_forward_mode_tangent_is_the_looked_up_tangent_rows():
    """jvp of a linear lookup: the tangent of the output is the tangent's rows."""
    rng = np.random.default_rng(6)
    weight, tangent = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    indices = np.array([4, 0, 4, 3])
    _, out_tangent = mg.jvp(lambda w: embedding(indices, w), (weight,), (tangent,))
    np.testing.assert_array_equal(out_tangent.data, tangent[indices])


def test_forward_mode_padding_row_has_zero_tangent():
    rng = np.random.default_rng(7)
    weight, tangent = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    indices = np.array([1, 0, 2])
    _, out_tangent = mg.jvp(lambda w: embedding(indices, w, 0), (weight,), (tangent,))
    np.testing.assert_array_equal(out_tangent.data, [tangent[1], [0.0, 0.0], tangent[2]])


# ----- module ------------------------------------------------------------------------------------


def test_embedding_init_is_standard_normal(float32_default):
    emb = Embedding(400, 50, generator=mg.Generator(0))
    w = emb.weight.data
    assert emb.weight.dtype == np.float32 and emb.weight.shape == (400, 50)
    assert abs(w.mean()) < 0.02  # 20,000 N(0, 1) draws: the standard error is 0.007
    assert abs(w.std() - 1.0) < 0.02


def test_embedding_init_is_seeded():
    mg.manual_seed(11)
    a = Embedding(6, 3).weight.data.copy()
    mg.manual_seed(11)
    b = Embedding(6, 3).weight.data
    np.testing.assert_array_equal(a, b)
    c = Embedding(6, 3, generator=mg.Generator(11)).weight.data
    d = Embedding(6, 3, generator=mg.Generator(12)).weight.data
    assert not np.array_equal(c, d)


def test_embedding_padding_row_starts_at_zero():
    emb = Embedding(5, 4, padding_idx=1, generator=mg.Generator(0))
    np.testing.assert_array_equal(emb.weight.data[1], 0.0)
    assert np.all(emb.weight.data[[0, 2, 3, 4]] != 0)


def test_embedding_module_state_dict_and_repr():
    emb = Embedding(10, 3, padding_idx=0)
    assert list(emb.state_dict()) == ["weight"]
    assert repr(emb) == "Embedding(10, 3, padding_idx=0)"
    assert repr(Embedding(10, 3)) == "Embedding(10, 3)"
    assert emb.num_parameters() == 30


def test_embedding_module_gradient_matches_closed_form():
    rng = np.random.default_rng(8)
    emb = Embedding(4, 2, dtype=np.float64)
    indices = mg.tensor(np.array([[3, 3], [0, 3]]))
    g = rng.standard_normal((2, 2, 2))
    (emb(indices) * g).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.data, scatter_rows(indices.data, g, 4), rtol=1e-12)


# ----- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [[0, 6], [-1, 2]], ids=["too large", "negative"])
def test_out_of_range_index_names_the_layer(bad):
    emb = Embedding(6, 2)
    message = f"Embedding(6, 2): index {max(bad) if max(bad) >= 6 else min(bad)} is out of range"
    with pytest.raises(mg.IndexingError, match=re.escape(message)):
        emb(np.array(bad))
    with pytest.raises(IndexError, match=r"embedding: .*\[0, 6\)"):
        embedding(np.array(bad), emb.weight)


def test_float_indices_are_refused():
    with pytest.raises(mg.DTypeError, match="indices must be integers, got float64"):
        Embedding(4, 2)(np.array([1.0, 2.0]))


def test_padding_idx_out_of_range_is_refused():
    with pytest.raises(mg.IndexingError, match="padding_idx 5"):
        Embedding(5, 2, padding_idx=5)
    with pytest.raises(mg.IndexingError, match="padding_idx -6"):
        embedding([0], mg.zeros(5, 2), padding_idx=-6)


def test_weight_must_be_a_matrix():
    with pytest.raises(mg.ShapeError, match=r"\(num_embeddings, embedding_dim\)"):
        embedding([0], mg.zeros(5))
