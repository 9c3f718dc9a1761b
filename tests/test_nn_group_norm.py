"""Group norm and instance norm: values against numpy written from PyTorch's equations and
against PyTorch's own numbers (written in), running statistics as PyTorch keeps them, every
derivative through the op harness, the modules' state_dicts, and errors."""

import numpy as np
import pytest
from harness import Case, check_case
from window_reference import ramp

import minigrad as mg
from minigrad import nn
from minigrad.nn.functional import group_norm, instance_norm

EPS = 1e-5
rng = np.random.default_rng(19)


def group_norm_ref(x, groups, weight=None, bias=None, eps=EPS):
    """y = (x - mean_g) / sqrt(var_g + eps) * weight[c] + bias[c], statistics per (sample,
    group) over the group's channels and positions."""
    N, C = x.shape[:2]
    grouped = x.reshape(N, groups, -1)
    mean = grouped.mean(axis=2, keepdims=True)
    var = grouped.var(axis=2, keepdims=True)
    y = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    view = (1, C) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(view)
    if bias is not None:
        y = y + bias.reshape(view)
    return y


# ----- group norm --------------------------------------------------------------------------------

# (input shape, groups)
GROUPS = [((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 4, 3), 1), ((2, 3, 2, 2), 3), ((1, 4), 2)]


@pytest.mark.parametrize("shape, groups", GROUPS, ids=str)
def test_group_norm_values_and_every_derivative(shape, groups):
    C = shape[1]
    check_case(Case(
        f"group_norm {shape} groups {groups}",
        lambda x, w, b: group_norm(x, groups, w, b),
        lambda x, w, b: group_norm_ref(x, groups, w, b),
        [rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)],
    ))  # fmt: skip


def test_group_norm_matches_pytorchs_numbers():
    """torch.nn.functional.group_norm(ramp(2, 4, 3), 2, ramp(4, shift=3), ramp(4, shift=1))."""
    out = group_norm(mg.tensor(ramp(2, 4, 3)), 2, ramp(4, shift=3), ramp(4, shift=1))
    np.testing.assert_allclose(out.data[0], [
        [-0.30347893, -1.34826053, -0.75124248], [2.74006019, 1.24751505, -0.2450301],
        [0.09048996, -0.21216778, -0.51482553], [-2.04447658, -1.13650335, -0.22853011],
    ], atol=1e-8)  # fmt: skip


def test_group_norm_module_state_dict_and_repr_are_pytorchs(float32_default):
    layer = nn.GroupNorm(2, 4)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, np.ones(4))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(4))
    assert repr(layer) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert list(nn.GroupNorm(2, 4, affine=False).state_dict()) == []
    assert list(nn.GroupNorm(2, 4, bias=False).state_dict()) == ["weight"]


def test_group_norm_module_trains_with_a_batch_of_one():
    """The statistics are each sample's: a batch of one is fine, and the samples of a batch
    do not affect each other."""
    layer = nn.GroupNorm(2, 4, dtype=np.float64)
    x = rng.standard_normal((3, 4, 5))
    one = layer(mg.tensor(x[1:2])).data
    np.testing.assert_allclose(one, layer(mg.tensor(x)).data[1:2], rtol=1e-12)
    report = nn.check_module(layer, lambda out: (out**3).sum(), x[:1], n_coords=4)
    assert report, report


def test_group_norm_errors():
    with pytest.raises(mg.ShapeError, match=r"^GroupNorm: num_channels \(6\) must be divisible "
                                            r"by num_groups \(4\)"):  # fmt: skip
        nn.GroupNorm(4, 6)
    with pytest.raises(mg.ShapeError, match=r"^GroupNorm\(2, 4, .*\): got input of shape "
                                            r"\(2, 6, 3\); expected \(N, 4, \*\)"):  # fmt: skip
        nn.GroupNorm(2, 4)(mg.zeros((2, 6, 3)))
    with pytest.raises(mg.ShapeError, match=r"^group_norm: got input of shape \(2, 6, 3\): its 6 "
                                            r"channels must be divisible by num_groups=4"):  # fmt: skip
        group_norm(mg.zeros((2, 6, 3)), 4)
    with pytest.raises(
        mg.ShapeError, match=r"^group_norm: weight has shape \(4,\), expected \(6,\)"
    ):
        group_norm(mg.zeros((2, 6, 3)), 3, mg.ones(4))


# ----- instance norm -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 4)], ids=str)
def test_instance_norm_is_group_norm_with_a_group_per_channel(shape):
    C = shape[1]
    check_case(Case(
        f"instance_norm {shape}",
        lambda x, w, b: instance_norm(x, weight=w, bias=b),
        lambda x, w, b: group_norm_ref(x, C, w, b),
        [rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)],
    ))  # fmt: skip


def test_instance_norm_matches_pytorchs_numbers_and_running_statistics():
    """torch.nn.functional.instance_norm(ramp(2, 4, 3), rm, rv, ramp(4, shift=3),
    ramp(4, shift=1), use_input_stats=True, momentum=0.25): the running statistics move towards
    the batch mean of the instance means and unbiased variances. Then with
    use_input_stats=False they normalise."""
    x = ramp(2, 4, 3)
    running_mean, running_var = np.array([-0.75, 1.0, 0.0, -1.0]), np.array([0.5, 1.5, 1.25, 0.75])
    out = instance_norm(mg.tensor(x), running_mean, running_var, ramp(4, shift=3),
                        ramp(4, shift=1), use_input_stats=True, momentum=0.25)  # fmt: skip
    np.testing.assert_allclose(out.data[1], [
        [-1.05812325, -0.36064421, -1.58123254], [0.89530813, -0.84838948, 2.20308135],
        [-0.22093837, -0.5696779, 0.04061627], [-1.33718488, -0.29096631, -2.12184881],
    ], atol=1e-8)  # fmt: skip
    np.testing.assert_allclose(running_mean, [-0.5625, 0.80208333, -0.01041667, -0.82291667],
                               atol=1e-8)  # fmt: skip
    np.testing.assert_allclose(running_var, [0.56770833, 1.34635417, 1.15885417, 0.78385417],
                               atol=1e-8)  # fmt: skip
    out = instance_norm(mg.tensor(x), running_mean, running_var, use_input_stats=False)
    np.testing.assert_allclose(out.data[0, 0], [-0.91244405, 1.4101408, 0.08294946], atol=1e-8)


def test_instance_norm_modules_defaults_state_dict_and_repr_are_pytorchs():
    plain = nn.InstanceNorm1d(3)
    assert list(plain.state_dict()) == [] and plain.weight is None and plain.running_mean is None
    assert repr(plain) == (
        "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, "
        "track_running_stats=False)"
    )
    full = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    assert list(full.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    assert repr(full) == (
        "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)"
    )


def test_instance_norm_module_train_and_eval():
    """Training uses each instance's statistics (in eval too, without running statistics);
    with track_running_stats, eval uses the running ones, updated with momentum in training."""
    x = rng.standard_normal((2, 3, 4, 5))
    plain = nn.InstanceNorm2d(3, dtype=np.float64)
    expected = group_norm_ref(x, 3)
    np.testing.assert_allclose(plain(mg.tensor(x)).data, expected, rtol=1e-10, atol=1e-12)
    plain.eval()
    np.testing.assert_allclose(plain(mg.tensor(x)).data, expected, rtol=1e-10, atol=1e-12)
    tracked = nn.InstanceNorm2d(3, momentum=0.5, track_running_stats=True, dtype=np.float64)
    tracked(mg.tensor(x))
    means = x.mean(axis=(2, 3)).mean(axis=0)
    variances = x.var(axis=(2, 3), ddof=1).mean(axis=0)
    np.testing.assert_allclose(tracked.running_mean.data, 0.5 * means, rtol=1e-12)
    np.testing.assert_allclose(tracked.running_var.data, 0.5 + 0.5 * variances, rtol=1e-12)
    tracked.eval()
    mean, var = tracked.running_mean.data, tracked.running_var.data
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + EPS)
    np.testing.assert_allclose(tracked(mg.tensor(x)).data, expected, rtol=1e-12)


def test_instance_norm_module_of_one_unbatched_sequence():
    x = rng.standard_normal((3, 6))
    layer = nn.InstanceNorm1d(3, affine=True, dtype=np.float64)
    np.testing.assert_allclose(layer(mg.tensor(x)).data, group_norm_ref(x[None], 3)[0], rtol=1e-10)
    report = nn.check_module(layer, lambda out: (out**3).sum(), x, n_coords=3)
    assert report, report


def test_instance_norm_errors_and_warning():
    with pytest.raises(mg.ShapeError, match=r"^InstanceNorm1d\(3, .*\): got input of shape "
                                            r"\(2, 3, 4, 5\); expected \(N, C, L\) or \(C, L\)"):  # fmt: skip
        nn.InstanceNorm1d(3)(mg.zeros((2, 3, 4, 5)))
    with pytest.raises(mg.ShapeError, match=r"^InstanceNorm2d\(3, .*\): got input of shape "
                                            r"\(2, 4, 5, 5\) with 4 channels; expected "
                                            r"num_features=3"):  # fmt: skip
        nn.InstanceNorm2d(3, affine=True)(mg.zeros((2, 4, 5, 5)))
    # As PyTorch: without affine parameters or running statistics, the count is only questioned.
    with pytest.warns(UserWarning, match=r"with 4 channels; expected num_features=3"):
        nn.InstanceNorm2d(3)(mg.randn(2, 4, 5, 5))
    with pytest.raises(mg.ShapeError, match=r"^instance_norm: got input of shape \(2, 3, 1\); "
                                            r"instance statistics need more than 1 value"):  # fmt: skip
        instance_norm(mg.zeros((2, 3, 1)))
