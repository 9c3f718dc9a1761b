"""Batch norm and layer norm: forward values against numpy, running statistics as PyTorch keeps
them, train/eval behaviour, gradients against finite differences (reverse and forward mode)."""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.containers import Sequential
from minigrad.nn.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    LayerNorm,
    batch_norm,
    layer_norm,
)

EPS = 1e-5
SHAPES = [(6, 3), (5, 3, 4), (4, 3, 2, 3)]  # (N, C), (N, C, L), (N, C, H, W)


# ----- numpy references --------------------------------------------------------------------------


def stat_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def channel_view(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def bn_ref(x, mean, var, weight=None, bias=None, eps=EPS):
    """(x - mean) / sqrt(var + eps) * weight + bias, per channel (axis 1)."""
    y = (x - channel_view(mean, x.ndim)) / np.sqrt(channel_view(var, x.ndim) + eps)
    if weight is not None:
        y = y * channel_view(weight, x.ndim)
    if bias is not None:
        y = y + channel_view(bias, x.ndim)
    return y


def batch_stats(x):
    """(mean, biased variance, unbiased variance) of each channel."""
    axes = stat_axes(x)
    return x.mean(axis=axes), x.var(axis=axes), x.var(axis=axes, ddof=1)


def ln_ref(x, k, weight=None, bias=None, eps=EPS):
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def module_of(shape, **kwargs):
    return (BatchNorm1d if len(shape) < 4 else BatchNorm2d)(shape[1], **kwargs)


def with_parameters(module, names):
    """``f(x, *params)`` running ``module`` with the given tensors as its parameters."""

    def f(x, *params):
        return mg.nn.functional_call(module, dict(zip(names, params)), x)

    return f


# ----- batch norm: forward values ----------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_training_matches_numpy(shape):
    """Training mode normalises with the batch mean and the biased batch variance."""
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, shape)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    mean, var, _ = batch_stats(x)
    y = batch_norm(mg.tensor(x), None, None, mg.tensor(w), mg.tensor(b), training=True)
    np.testing.assert_allclose(y.data, bn_ref(x, mean, var, w, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_training_output_has_zero_mean_unit_variance(shape):
    """Without affine parameters each channel of the output has mean 0 and variance
    var / (var + eps)."""
    rng = np.random.default_rng(1)
    x = rng.normal(-1.0, 2.0, shape)
    y = batch_norm(mg.tensor(x), None, None, training=True).data
    _, var, _ = batch_stats(x)
    np.testing.assert_allclose(y.mean(axis=stat_axes(x)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=stat_axes(x)), var / (var + EPS), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_eval_matches_numpy(shape):
    """Evaluation mode normalises with the running statistics and leaves them alone."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    running_mean, running_var = mg.tensor(rm), mg.tensor(rv)
    y = batch_norm(mg.tensor(x), running_mean, running_var, mg.tensor(w), mg.tensor(b))
    np.testing.assert_allclose(y.data, bn_ref(x, rm, rv, w, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(running_mean.data, rm)
    np.testing.assert_array_equal(running_var.data, rv)


def test_batch_norm_updates_running_stats_with_unbiased_variance():
    """One training step: running = (1 - m) running + m batch, the variance unbiased."""
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, (5, 3, 4))
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    running_mean, running_var = mg.tensor(rm), mg.tensor(rv)
    batch_norm(mg.tensor(x), running_mean, running_var, training=True, momentum=0.3)
    mean, _, unbiased = batch_stats(x)
    np.testing.assert_allclose(running_mean.data, 0.7 * rm + 0.3 * mean, rtol=1e-12)
    np.testing.assert_allclose(running_var.data, 0.7 * rv + 0.3 * unbiased, rtol=1e-12)


def test_batch_norm_updates_numpy_running_stats_in_place():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 2))
    rm, rv = np.zeros(2), np.ones(2)
    batch_norm(mg.tensor(x), rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm, 0.5 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(rv, 0.5 + 0.5 * x.var(axis=0, ddof=1), rtol=1e-12)


# ----- batch norm modules: running statistics and modes -----------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_running_stats_after_several_steps(shape, momentum):
    rng = np.random.default_rng(5)
    bn = module_of(shape, momentum=momentum, dtype=np.float64)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(4):
        x = rng.normal(step, 1.0 + step, shape)
        bn(mg.tensor(x))
        mean, _, unbiased = batch_stats(x)
        rm = (1 - momentum) * rm + momentum * mean
        rv = (1 - momentum) * rv + momentum * unbiased
    np.testing.assert_allclose(bn.running_mean.data, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, rv, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 4


def test_batchnorm_momentum_none_is_a_cumulative_average():
    """momentum=None: the running statistics are the plain averages of the batch statistics."""
    rng = np.random.default_rng(6)
    bn = BatchNorm2d(3, momentum=None, dtype=np.float64)
    means, variances = [], []
    for step in range(5):
        x = rng.normal(step, 1.0 + step, (4, 3, 2, 2))
        bn(mg.tensor(x))
        mean, _, unbiased = batch_stats(x)
        means.append(mean)
        variances.append(unbiased)
    np.testing.assert_allclose(bn.running_mean.data, np.mean(means, axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, np.mean(variances, axis=0), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 5


def test_batchnorm_eval_uses_running_stats_and_freezes_them():
    rng = np.random.default_rng(7)
    bn = BatchNorm1d(3, dtype=np.float64)
    for _ in range(3):
        bn(mg.tensor(rng.normal(5.0, 2.0, (8, 3))))
    x = rng.normal(5.0, 2.0, (8, 3))
    train_out = bn(mg.tensor(x)).data
    rm, rv = bn.running_mean.data.copy(), bn.running_var.data.copy()
    bn.eval()
    eval_out = bn(mg.tensor(x)).data
    np.testing.assert_allclose(eval_out, bn_ref(x, rm, rv), rtol=1e-12)
    np.testing.assert_allclose(train_out, bn_ref(x, *batch_stats(x)[:2]), rtol=1e-12)
    assert not np.allclose(train_out, eval_out)
    np.testing.assert_array_equal(bn.running_mean.data, rm)  # unchanged in eval
    np.testing.assert_array_equal(bn.running_var.data, rv)
    assert bn.num_batches_tracked.item() == 4


def test_train_and_eval_switch_batchnorm_inside_a_model():
    rng = np.random.default_rng(8)
    model = Sequential(BatchNorm2d(2, dtype=np.float64))
    x = mg.tensor(rng.normal(3.0, 2.0, (4, 2, 3, 3)))
    fresh = x.data / np.sqrt(1 + EPS)  # running stats start at mean 0, variance 1
    model.eval()
    np.testing.assert_allclose(model(x).data, fresh, rtol=1e-12)
    model.train()
    assert model[0].training
    np.testing.assert_allclose(model(x).data, bn_ref(x.data, *batch_stats(x.data)[:2]), rtol=1e-12)
    model.eval()
    assert not np.allclose(model(x).data, fresh)  # the training step moved the running stats


def test_batchnorm_eval_accepts_a_single_sample():
    bn = BatchNorm1d(3, dtype=np.float64).eval()
    x = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(bn(mg.tensor(x)).data, x / np.sqrt(1 + EPS), rtol=1e-12)


def test_batchnorm_without_running_stats_always_uses_the_batch():
    rng = np.random.default_rng(9)
    bn = BatchNorm2d(3, track_running_stats=False, dtype=np.float64)
    x = rng.normal(2.0, 3.0, (4, 3, 2, 2))
    expected = bn_ref(x, *batch_stats(x)[:2])
    np.testing.assert_allclose(bn(mg.tensor(x)).data, expected, rtol=1e-12)
    bn.eval()
    np.testing.assert_allclose(bn(mg.tensor(x)).data, expected, rtol=1e-12)
    assert bn.running_mean is None and bn.running_var is None
    assert list(bn.state_dict()) == ["weight", "bias"]


def test_batchnorm_defaults_like_pytorch(float32_default):
    bn = BatchNorm2d(4)
    assert bn.weight.dtype == np.float32 and bn.running_mean.dtype == np.float32
    np.testing.assert_array_equal(bn.weight.data, np.ones(4))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(4))
    np.testing.assert_array_equal(bn.running_mean.data, np.zeros(4))
    np.testing.assert_array_equal(bn.running_var.data, np.ones(4))
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert repr(bn) == (  # PyTorch 2.13's, with the bias= of its keyword-only bias argument
        "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )
    assert [n for n, _ in BatchNorm2d(4, bias=False).named_parameters()] == ["weight"]
    out = bn(mg.randn(2, 4, 3, 3, dtype=np.float32))
    assert out.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batchnorm_without_affine_has_no_parameters():
    bn = BatchNorm1d(3, affine=False)
    assert list(bn.parameters()) == []
    assert list(bn.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]


def test_batchnorm_state_dict_has_pytorch_keys_and_round_trips():
    rng = np.random.default_rng(10)
    model = Sequential(BatchNorm1d(3, dtype=np.float64))
    for _ in range(2):
        model(mg.tensor(rng.normal(1.0, 2.0, (6, 3))))
    state = model.state_dict()
    assert list(state) == [
        "0.weight", "0.bias", "0.running_mean", "0.running_var", "0.num_batches_tracked",
    ]  # fmt: skip
    assert state["0.num_batches_tracked"].dtype == np.int64 and state["0.num_batches_tracked"] == 2
    x = mg.tensor(rng.standard_normal((4, 3)))
    other = Sequential(BatchNorm1d(3, dtype=np.float64)).eval()
    before = other(x).data
    other.load_state_dict(state)
    model.eval()
    np.testing.assert_array_equal(other(x).data, model(x).data)
    assert not np.allclose(before, other(x).data)
    assert other[0].num_batches_tracked.item() == 2


# ----- batch norm: errors ------------------------------------------------------------------------


def test_batchnorm2d_shape_error_names_the_layer():
    message = "BatchNorm2d(16): got input of shape (8, 3, 4, 4); expected (N, 16, H, W)"
    with pytest.raises(mg.ShapeError, match=re.escape(message)):
        BatchNorm2d(16)(mg.zeros(8, 3, 4, 4))
    with pytest.raises(mg.ShapeError, match=re.escape("expected (N, 16, H, W)")):
        BatchNorm2d(16)(mg.zeros(8, 16, 4))


@pytest.mark.parametrize("shape", [(8,), (8, 4), (8, 3, 4, 4)], ids=str)
def test_batchnorm1d_shape_error_names_the_layer(shape):
    message = f"BatchNorm1d(3): got input of shape {shape}; expected (N, 3) or (N, 3, L)"
    with pytest.raises(mg.ShapeError, match=re.escape(message)):
        BatchNorm1d(3)(mg.zeros(*shape))


def test_batchnorm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(mg.ShapeError, match=r"BatchNorm1d\(3\).*more than 1 value per channel"):
        BatchNorm1d(3)(mg.zeros(1, 3))
    with pytest.raises(ValueError, match="batch_norm.*more than 1 value per channel"):
        batch_norm(mg.zeros(1, 3, 1), None, None, training=True)


def test_batch_norm_functional_errors():
    x = mg.zeros(4, 3)
    with pytest.raises(mg.ShapeError, match=r"running_mean and running_var"):
        batch_norm(x, None, None, training=False)
    with pytest.raises(mg.ShapeError, match=r"weight has shape \(4,\), expected \(3,\)"):
        batch_norm(x, None, None, mg.ones(4), training=True)
    with pytest.raises(ValueError, match="momentum=None"):
        batch_norm(x, mg.zeros(3), mg.ones(3), training=True, momentum=None)
    with pytest.raises(mg.ShapeError, match=r"\(N, C, \*\)"):
        batch_norm(mg.zeros(3), None, None, training=True)


# ----- batch norm: gradients ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_training_gradients(shape):
    """d/dx, d/dweight, d/dbias through the batch statistics, reverse and forward mode."""
    rng = np.random.default_rng(11)
    x = rng.normal(1.0, 2.0, shape)
    w, b = rng.standard_normal(3), rng.standard_normal(3)

    def f(x, w, b):
        return batch_norm(x, None, None, w, b, training=True)

    assert mg.check_grads(f, x, w, b, modes=("fwd", "rev"))


def test_batch_norm_training_second_order():
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((4, 2, 3)), rng.standard_normal(2)
    assert mg.check_grads(lambda x, w: batch_norm(x, None, None, w, training=True), x, w, order=2)


def test_batch_norm_sum_of_outputs_has_zero_input_gradient():
    """Without affine parameters sum(y) over a channel is identically 0, so its gradient is 0."""
    rng = np.random.default_rng(13)
    x = mg.tensor(rng.normal(2.0, 3.0, (5, 3, 2)), requires_grad=True)
    batch_norm(x, None, None, training=True).sum().backward()
    np.testing.assert_allclose(x.grad.data, 0.0, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_eval_gradients(shape):
    rng = np.random.default_rng(14)
    x = rng.standard_normal(shape)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    w, b = rng.standard_normal(3), rng.standard_normal(3)

    def f(x, w, b):
        return batch_norm(x, mg.tensor(rm), mg.tensor(rv), w, b)

    assert mg.check_grads(f, x, w, b, modes=("fwd", "rev"))
    # closed form: dy/dx = weight / sqrt(running_var + eps), elementwise
    xt = mg.tensor(x, requires_grad=True)
    f(xt, mg.tensor(w), mg.tensor(b)).sum().backward()
    expected = np.broadcast_to(channel_view(w / np.sqrt(rv + EPS), x.ndim), shape)
    np.testing.assert_allclose(xt.grad.data, expected, rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_module_gradients_for_input_and_parameters(training):
    rng = np.random.default_rng(15)
    bn = BatchNorm2d(2, dtype=np.float64)
    bn.running_mean.copy_(rng.standard_normal(2))
    bn.running_var.copy_(rng.uniform(0.5, 2.0, 2))
    bn.train(training)
    x, w, b = rng.standard_normal((3, 2, 2, 2)), rng.standard_normal(2), rng.standard_normal(2)
    f = with_parameters(bn, ["weight", "bias"])
    assert mg.check_grads(f, x, w, b, modes=("fwd", "rev"))


# ----- layer norm --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, normalized_shape", [((4, 5), 5), ((3, 4, 5), (5,)), ((3, 4, 5), (4, 5)), ((2, 3), (2, 3))],
    ids=str,
)  # fmt: skip
def test_layer_norm_matches_numpy(shape, normalized_shape):
    rng = np.random.default_rng(16)
    x = rng.normal(1.0, 3.0, shape)
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    trailing = shape[len(shape) - k :]
    w, b = rng.standard_normal(trailing), rng.standard_normal(trailing)
    y = layer_norm(mg.tensor(x), normalized_shape, mg.tensor(w), mg.tensor(b))
    np.testing.assert_allclose(y.data, ln_ref(x, k, w, b), rtol=1e-12, atol=1e-12)
    plain = layer_norm(mg.tensor(x), normalized_shape).data
    np.testing.assert_allclose(plain, ln_ref(x, k), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("normalized_shape", [(5,), (4, 5)], ids=str)
def test_layer_norm_gradients(normalized_shape):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((3, 4, 5))
    w, b = rng.standard_normal(normalized_shape), rng.standard_normal(normalized_shape)

    def f(x, w, b):
        return layer_norm(x, normalized_shape, w, b)

    assert mg.check_grads(f, x, w, b, modes=("fwd", "rev"))
    assert mg.check_grads(lambda x: layer_norm(x, normalized_shape), x, order=2)


def test_layernorm_module_defaults_and_gradients(float32_default):
    rng = np.random.default_rng(18)
    ln = LayerNorm((2, 3))
    assert ln.weight.dtype == np.float32 and ln.weight.shape == (2, 3)
    np.testing.assert_array_equal(ln.weight.data, np.ones((2, 3)))
    np.testing.assert_array_equal(ln.bias.data, np.zeros((2, 3)))
    assert list(ln.state_dict()) == ["weight", "bias"]
    assert repr(ln) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True)"
    ln64 = LayerNorm(3, dtype=np.float64)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)
    assert mg.check_grads(with_parameters(ln64, ["weight", "bias"]), x, w, b, modes=("fwd", "rev"))


def test_layernorm_is_the_same_in_train_and_eval():
    rng = np.random.default_rng(19)
    ln = LayerNorm(4, dtype=np.float64)
    x = mg.tensor(rng.standard_normal((3, 4)))
    train_out = ln(x).data
    np.testing.assert_array_equal(ln.eval()(x).data, train_out)
    np.testing.assert_allclose(train_out, ln_ref(x.data, 1), rtol=1e-12)


def test_layernorm_without_affine_or_bias():
    assert list(LayerNorm(4, elementwise_affine=False).parameters()) == []
    assert [n for n, _ in LayerNorm(4, bias=False).named_parameters()] == ["weight"]


def test_layernorm_shape_error_names_the_layer():
    message = "LayerNorm((2, 3)): got input of shape (4, 3, 2); expected (*, 2, 3)"
    with pytest.raises(mg.ShapeError, match=re.escape(message)):
        LayerNorm((2, 3))(mg.zeros(4, 3, 2))
    with pytest.raises(mg.ShapeError, match=re.escape("expected (*, 5)")):
        layer_norm(mg.zeros(5, 4), 5)
    with pytest.raises(mg.ShapeError, match=r"weight has shape \(4,\)"):
        layer_norm(mg.zeros(2, 5), 5, mg.ones(4))


# ----- arrays and lists as arguments; arguments of the wrong type --------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_takes_list_weight_and_bias(shape):
    rng = np.random.default_rng(20)
    x = rng.normal(2.0, 3.0, shape)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    mean, var, _ = batch_stats(x)
    y = batch_norm(x, None, None, w.tolist(), b.tolist(), training=True)
    np.testing.assert_allclose(y.data, bn_ref(x, mean, var, w, b), rtol=1e-12, atol=1e-12)
    y = batch_norm(x, None, None, w, training=True)  # an array weight, no bias
    np.testing.assert_allclose(y.data, bn_ref(x, mean, var, w), rtol=1e-12, atol=1e-12)


def test_batch_norm_eval_takes_list_running_statistics():
    rng = np.random.default_rng(21)
    x = rng.standard_normal((4, 3))
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    y = batch_norm(x, rm.tolist(), rv.tolist(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(y.data, bn_ref(x, rm, rv, np.array([1.0, 2.0, 3.0])), rtol=1e-12)


@pytest.mark.parametrize("name", ["running_mean", "running_var", "weight", "bias"])
def test_batch_norm_list_of_the_wrong_length_is_a_shape_error(name):
    arguments = {"running_mean": [0.0] * 3, "running_var": [1.0] * 3, name: [1.0, 1.0]}
    with pytest.raises(
        mg.ShapeError, match=rf"batch_norm: {name} has shape \(2,\), expected \(3,\)"
    ):
        batch_norm(np.ones((4, 3)), **arguments)


@pytest.mark.parametrize(
    "running_mean, error, message",
    [
        ([0.0, 0.0, 0.0], mg.OpError, "running_mean in place, but it is a list"),
        (
            np.zeros(3, dtype=np.int64),
            mg.DTypeError,
            "running_mean in place, but its dtype is int64",
        ),
    ],
)
def test_batch_norm_training_needs_running_statistics_it_can_update(running_mean, error, message):
    """Training updates the running statistics in place: a list (a copy would be updated and
    lost) or an integer array cannot be; training=False takes them as constants."""
    x = np.random.default_rng(22).standard_normal((4, 3))
    with pytest.raises(error, match=f"batch_norm: training=True updates {message}"):
        batch_norm(x, running_mean, np.ones(3), training=True)


def test_batch_norm_training_refuses_read_only_running_statistics():
    running_var = np.ones(3)
    running_var.setflags(write=False)
    with pytest.raises(mg.OpError, match="updates running_var in place, but it is read-only"):
        batch_norm(np.ones((4, 3)), np.zeros(3), running_var, training=True)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: batch_norm(np.ones((4, 3)), None, None, training=True, eps="1e-5"),
         "batch_norm: eps must be a real number, got '1e-5'"),
        (lambda: batch_norm(np.ones((4, 3)), np.zeros(3), np.ones(3), momentum="0.1"),
         "batch_norm: momentum must be a real number (or None), got '0.1'"),
        (lambda: layer_norm(np.ones((4, 3)), 3, eps=None),
         "layer_norm: eps must be a real number, got None"),
        (lambda: BatchNorm1d(3, momentum="0.1"),
         "BatchNorm1d: momentum must be a real number (or None), got '0.1'"),
        (lambda: LayerNorm(3, eps="small"), "LayerNorm: eps must be a real number, got 'small'"),
        (lambda: BatchNorm2d(3.0), "BatchNorm2d: num_features must be a non-negative int, got 3.0"),
    ],
)  # fmt: skip
def test_numbers_of_the_wrong_type_are_op_errors(call, message):
    with pytest.raises(mg.OpError, match=re.escape(message)):
        call()


def test_layer_norm_takes_list_and_array_weight_and_bias():
    rng = np.random.default_rng(23)
    x = rng.standard_normal((3, 2, 4))
    w, b = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    y = layer_norm(x, (2, 4), w.tolist(), b)
    np.testing.assert_allclose(y.data, ln_ref(x, 2, w, b), rtol=1e-12, atol=1e-12)
    with pytest.raises(mg.ShapeError, match=re.escape("layer_norm: bias has shape (4,), expected")):
        layer_norm(x, (2, 4), w, [0.0] * 4)


@pytest.mark.parametrize("normalized_shape", [3.0, "3", (3, 1.5), -3, None])
def test_normalized_shape_must_be_ints(normalized_shape):
    message = "normalized_shape must be an int or a sequence of non-negative ints (the sizes of "
    with pytest.raises(mg.ShapeError, match=re.escape(f"layer_norm: {message}")):
        layer_norm(np.ones((2, 3)), normalized_shape)
    with pytest.raises(mg.ShapeError, match=re.escape(f"LayerNorm: {message}")):
        LayerNorm(normalized_shape)


def test_normalization_modules_take_arrays_and_lists():
    rng = np.random.default_rng(24)
    x = rng.standard_normal((5, 3))
    mean, var, unbiased = batch_stats(x)
    bn = BatchNorm1d(3, dtype=np.float64)
    np.testing.assert_allclose(bn(x.tolist()).data, bn_ref(x, mean, var), rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * unbiased, rtol=1e-12)
    bn.eval()
    expected = bn_ref(x, bn.running_mean.data, bn.running_var.data)
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-12)
    ln = LayerNorm(3, dtype=np.float64)
    np.testing.assert_allclose(ln(x).data, ln_ref(x, 1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ln(x.tolist()).data, ln_ref(x, 1), rtol=1e-12, atol=1e-12)
    with pytest.raises(mg.ShapeError, match=re.escape("BatchNorm1d(3): got input of shape (2, 2)")):
        bn([[1.0, 2.0], [3.0, 4.0]])
