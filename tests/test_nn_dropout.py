"""Dropout: the fraction dropped, the 1 / (1 - p) scaling, gradients equal to the scaled mask,
seeded masks, the identity in evaluation mode, and PyTorch's signatures."""

import inspect
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.containers import Sequential
from minigrad.nn.dropout import Dropout, dropout
from minigrad.nn.layers import Linear

N = 200_000


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_fraction_dropped_is_about_p(p):
    x = mg.ones(N)
    y = dropout(x, p, generator=mg.Generator(0)).data
    dropped = np.mean(y == 0)
    # binomial standard error sqrt(p (1 - p) / N) <= 0.0012; allow 5 of them
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / N)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_kept_values_are_scaled_by_one_over_keep_probability(p):
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 2.0, 10_000)  # never zero, so a zero output means dropped
    y = dropout(mg.tensor(x), p, generator=mg.Generator(1)).data
    kept = y != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-15)


def test_expectation_is_unchanged():
    x = mg.full((N,), 3.0)
    assert abs(dropout(x, 0.3, generator=mg.Generator(2)).data.mean() - 3.0) < 0.03


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_gradient_is_the_mask_over_keep_probability(p):
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.uniform(1.0, 2.0, (50, 40)), requires_grad=True)
    g = rng.standard_normal((50, 40))
    y = dropout(x, p, generator=mg.Generator(4))
    (y * g).sum().backward()
    mask = (y.data != 0).astype(float)
    np.testing.assert_allclose(x.grad.data, g * mask / (1 - p), rtol=1e-15)


def test_forward_mode_tangent_is_the_scaled_mask():
    rng = np.random.default_rng(5)
    x, v = rng.uniform(1.0, 2.0, 30), rng.standard_normal(30)
    out, tangent = mg.jvp(lambda x: dropout(x, 0.4, generator=mg.Generator(6)), (x,), (v,))
    mask = (out.data != 0).astype(float)
    np.testing.assert_allclose(tangent.data, v * mask / 0.6, rtol=1e-15)


def test_gradcheck_with_a_fixed_mask():
    """With the generator re-seeded on every call, dropout is a fixed linear map."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 5))
    f = lambda x: dropout(x, 0.5, generator=mg.Generator(8))  # noqa: E731
    assert mg.check_grads(f, x, modes=("fwd", "rev"))


def test_same_seed_same_mask_and_different_seed_different_mask():
    x = mg.ones(1000)
    mg.manual_seed(0)
    a = dropout(x).data
    mg.manual_seed(0)
    b = dropout(x).data
    c = dropout(x).data  # the stream moved on
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d = dropout(x, generator=mg.Generator(0)).data
    e = dropout(x, generator=mg.Generator(0)).data
    np.testing.assert_array_equal(d, e)


def test_generator_leaves_the_default_stream_alone():
    x = mg.ones(100)
    mg.manual_seed(1)
    expected = dropout(x).data
    mg.manual_seed(1)
    dropout(x, generator=mg.Generator(99))
    np.testing.assert_array_equal(dropout(x).data, expected)


def test_not_training_or_p_zero_returns_the_input():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x


def test_p_one_drops_everything():
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = dropout(x, 1.0)
    np.testing.assert_array_equal(y.data, 0.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, 0.0)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_outside_unit_interval_is_refused(p):
    with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
        dropout(mg.ones(3), p)
    with pytest.raises(ValueError, match=f"Dropout: .*but got {p}"):
        Dropout(p)


def test_dtype_is_kept():
    y = dropout(mg.ones(100, dtype=np.float32), 0.5)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(np.unique(y.data), np.array([0.0, 2.0], dtype=np.float32))


def test_integer_input_is_refused():
    with pytest.raises(mg.DTypeError, match="floating-point"):
        dropout(mg.tensor([1, 2, 3]), 0.5)


# ----- module ------------------------------------------------------------------------------------


def test_dropout_module_follows_train_and_eval():
    layer = Dropout(0.5, generator=mg.Generator(0))
    x = mg.ones(1000)
    assert layer.training
    train_out = layer(x).data
    assert np.any(train_out == 0) and np.any(train_out == 2.0)
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert np.any(layer(x).data == 0)


def test_eval_switches_dropout_inside_a_model():
    model = Sequential(Linear(4, 8, dtype=np.float64), Dropout(0.5))
    x = mg.tensor(np.random.default_rng(9).uniform(1.0, 2.0, (16, 4)))
    model.eval()
    a, b = model(x).data, model(x).data
    np.testing.assert_array_equal(a, b)  # deterministic in eval
    model.train()
    c = model(x).data
    assert not np.array_equal(a, c)
    assert np.all((c == 0) | np.isclose(c, 2 * a))


def test_dropout_module_has_no_state_and_a_repr():
    layer = Dropout(0.25)
    assert list(layer.parameters()) == [] and layer.state_dict() == {}
    assert repr(layer) == "Dropout(p=0.25)"
    assert list(Sequential(Dropout()).state_dict()) == []


# ----- PyTorch's signatures: inplace ---------------------------------------------------------------


def test_dropout_module_takes_inplace_like_pytorch():
    """Dropout(p, inplace): inplace is accepted and shown, and the input is left alone."""
    values = np.random.default_rng(10).uniform(1.0, 2.0, 500)
    x = mg.tensor(values)
    layer = Dropout(p=0.2, inplace=True, generator=mg.Generator(3))
    assert layer.inplace is True and layer.p == 0.2
    assert repr(layer) == "Dropout(p=0.2, inplace=True)"
    y = layer(x).data
    np.testing.assert_array_equal(x.data, values)  # computed out of place
    expected = dropout(mg.tensor(values), 0.2, generator=mg.Generator(3)).data
    np.testing.assert_array_equal(y, expected)
    assert np.any(y == 0) and np.allclose(y[y != 0], values[y != 0] / 0.8)


def test_second_positional_argument_of_dropout_module_is_inplace():
    layer = Dropout(0.5, True)  # PyTorch's order; used to be taken as the generator
    assert layer.inplace is True and layer.generator is None
    y = layer(mg.ones(200)).data
    assert set(np.unique(y)) == {0.0, 2.0}


def test_generator_is_keyword_only_and_refused_in_inplace_position():
    for fn in (Dropout, dropout):
        assert inspect.signature(fn).parameters["generator"].kind is inspect.Parameter.KEYWORD_ONLY
    message = r"Dropout: got a Generator as the inplace argument.*the argument after p is inplace"
    with pytest.raises(mg.OpError, match=message):
        Dropout(0.5, mg.Generator(0))
    with pytest.raises(mg.OpError, match=r"dropout: got a Generator as the inplace argument"):
        dropout(mg.ones(3), 0.5, True, mg.Generator(0))


def test_functional_dropout_follows_pytorch_signature():
    """dropout(input, p=0.5, training=True, inplace=False), as torch.nn.functional.dropout."""
    parameters = list(inspect.signature(dropout).parameters.values())
    expected = [("p", 0.5), ("training", True), ("inplace", False)]
    assert [(q.name, q.default) for q in parameters[1:4]] == expected
    x = mg.tensor([1.0, 2.0, 3.0])
    assert dropout(x, 0.5, False, True) is x  # not training, inplace accepted
    mg.manual_seed(11)
    a = dropout(x, 0.5, True, True).data
    mg.manual_seed(11)
    np.testing.assert_array_equal(a, dropout(x, 0.5).data)  # inplace changes nothing


@pytest.mark.parametrize("p", ["0.5", None, True])
def test_p_that_is_not_a_number_is_refused(p):
    message = f"dropout: dropout probability p must be a real number, got {p!r}"
    with pytest.raises(mg.OpError, match=re.escape(message)):
        dropout(mg.ones(3), p)
    with pytest.raises(mg.OpError, match="Dropout: dropout probability p must be a real number"):
        Dropout(p)
