"""conv1d and Conv1d: values against a loop over PyTorch's definition and against PyTorch's own
numbers (written in), every derivative through the op harness, the module's layout, padding
modes, and errors that name the layer and the shapes."""

import math

import numpy as np
import pytest
from harness import Case, check_case
from window_reference import conv1d_loop, ramp

import minigrad as mg
from minigrad.nn import Conv1d, Conv2d, check_module
from minigrad.nn.functional import conv1d

rng = np.random.default_rng(11)


def randn(*shape):
    return rng.standard_normal(shape)


# (name, x shape, w shape, conv1d kwargs, the same for the loop)
CONVS = [
    ("kernel 3", (2, 3, 7), (4, 3, 3), {}, {}),
    ("stride 2 padding 1", (2, 2, 8), (3, 2, 3), {"stride": 2, "padding": 1},
     {"stride": 2, "pads": (1, 1)}),
    ("dilation 2 padding 2", (1, 2, 9), (2, 2, 3), {"dilation": 2, "padding": 2},
     {"dilation": 2, "pads": (2, 2)}),
    ("stride 3 leaves the end unused", (1, 1, 10), (2, 1, 2), {"stride": 3}, {"stride": 3}),
    ("padding 'valid'", (1, 2, 6), (2, 2, 4), {"padding": "valid"}, {}),
    ("padding 'same' odd kernel", (2, 2, 6), (3, 2, 5), {"padding": "same"}, {"pads": (2, 2)}),
    # As PyTorch: the extra element of an odd total padding goes at the end.
    ("padding 'same' even kernel", (1, 2, 5), (2, 2, 4), {"padding": "same"}, {"pads": (1, 2)}),
    ("padding 'same' dilated", (1, 1, 7), (2, 1, 2), {"padding": "same", "dilation": 3},
     {"pads": (1, 2), "dilation": 3}),
    ("groups 2", (2, 4, 6), (6, 2, 3), {"groups": 2}, {"groups": 2}),
    ("depthwise stride 2", (1, 3, 7), (3, 1, 3), {"groups": 3, "stride": 2, "padding": 1},
     {"groups": 3, "stride": 2, "pads": (1, 1)}),
    ("kernel as long as the input", (2, 2, 4), (1, 2, 4), {}, {}),
]  # fmt: skip


def conv_case(name, x_shape, w_shape, kwargs, loop_kwargs, bias=True) -> Case:
    inputs = [randn(*x_shape), randn(*w_shape)] + ([randn(w_shape[0])] if bias else [])
    return Case(
        f"conv1d {name}" + ("" if bias else " no bias"),
        lambda x, w, b=None: conv1d(x, w, b, **kwargs),
        lambda x, w, b=None: conv1d_loop(x, w, b, **loop_kwargs),
        inputs,
    )


CASES = [conv_case(*c) for c in CONVS] + [conv_case(*CONVS[1], bias=False)]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv1d_values_and_every_derivative(case):
    """Forward against the loop; reverse mode, second order and forward mode (JVP) against
    finite differences, through the op harness."""
    check_case(case)


def test_conv1d_matches_pytorchs_numbers():
    """torch.nn.functional.conv1d(ramp(2, 3, 7), ramp(4, 3, 3, shift=1), ramp(4), stride=2,
    padding=1), and a grouped dilated 'same' convolution."""
    out = conv1d(mg.tensor(ramp(2, 3, 7)), ramp(4, 3, 3, shift=1), ramp(4), stride=2, padding=1)
    expected = [[[-1.6875, -1.3125, -0.6875, -1.6875], [0.9375, 0.875, 1.25, -0.625],
                 [-1.25, 1.6875, -0.25, -1.625], [0.6875, 1.125, -1.0625, 3.5625]],
                [[-1.6875, 1.8125, -1.0, -0.5], [3.3125, -1.375, 1.0625, 0.1875],
                 [-1.3125, -1.125, -3.0625, 0.875], [0.9375, 0.5, 3.8125, 0.875]]]  # fmt: skip
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    out = conv1d(mg.tensor(ramp(1, 4, 9)), ramp(2, 2, 3, shift=2), padding="same", dilation=2,
                 groups=2)  # fmt: skip
    expected = [[[-0.375, 0.1875, -1.125, 1.1875, 1.4375, -1.0625, 1.25, -1.25, -1.25],
                 [-0.5625, 0.625, -0.5, 2.0625, -0.1875, -1.75, 2.1875, -0.1875, -0.9375]]]  # fmt: skip
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_conv1d_of_one_sequence_without_batch_dim():
    x, w, b = randn(2, 6), randn(3, 2, 3), randn(3)
    out = conv1d(mg.tensor(x), mg.tensor(w), mg.tensor(b), padding=1)
    assert out.shape == (3, 6)
    np.testing.assert_allclose(out.data, conv1d_loop(x[None], w, b, pads=(1, 1))[0], rtol=1e-12)


def test_conv1d_is_conv2d_over_a_height_of_one():
    x, w = randn(2, 4, 9), randn(6, 2, 3)
    one = conv1d(mg.tensor(x), mg.tensor(w), stride=2, dilation=2, groups=2, padding=1)
    two = mg.nn.functional.conv2d(mg.tensor(x[:, :, None]), mg.tensor(w[:, :, None]),
                                  stride=(1, 2), dilation=(1, 2), groups=2, padding=(0, 1))  # fmt: skip
    np.testing.assert_array_equal(one.data, two.data[:, :, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_keeps_the_dtype(dtype):
    x, w = randn(1, 2, 5).astype(dtype), randn(3, 2, 3).astype(dtype)
    assert conv1d(mg.tensor(x), mg.tensor(w), padding=1).dtype == dtype


# ----- the module --------------------------------------------------------------------------------


def test_conv1d_module_layout_state_dict_and_init(float32_default):
    """PyTorch's keys and shapes: nn.Conv1d(4, 6, 3, groups=2).state_dict() holds weight (6, 2,
    3) and bias (6,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = 2 * 3."""
    layer = Conv1d(4, 6, 3, groups=2, generator=mg.Generator(0))
    state = layer.state_dict()
    assert list(state) == ["weight", "bias"]
    assert state["weight"].shape == (6, 2, 3) and state["bias"].shape == (6,)
    assert layer.weight.dtype == np.float32
    wide = Conv1d(2, 3000, 1, generator=mg.Generator(1))  # fan_in 2: bound 1/sqrt(2)
    bound = 1 / math.sqrt(2)
    for p in (wide.weight, wide.bias):
        assert np.abs(p.data).max() <= bound * (1 + 1e-6)
        assert p.data.max() > 0.99 * bound and p.data.min() < -0.99 * bound


def test_conv1d_module_loads_a_state_dict_and_computes_the_convolution():
    """A state dict with PyTorch's keys and shapes (as ``torch.save`` of one, converted to
    arrays) loads and gives the convolution of those weights."""
    layer = Conv1d(3, 4, 3, stride=2, padding=1)
    w, b = ramp(4, 3, 3, shift=1), ramp(4)
    layer.load_state_dict({"weight": w, "bias": b})
    x = ramp(2, 3, 7)
    np.testing.assert_allclose(
        layer(mg.tensor(x)).data, conv1d_loop(x, w, b, 2, (1, 1)), rtol=1e-12
    )


# PyTorch's nn.Conv1d(2, 1, 3, padding=2, padding_mode=mode, bias=False) with weight
# ramp(1, 2, 3, shift=1), on ramp(1, 2, 6, shift=3).
PADDING_MODES = {
    "zeros": None,
    "reflect": [2.0, -3.75, 3.125, -1.3125, -1.625, 3.5625, -2.375, 2.4375],
    "replicate": [1.5, 0.1875, 3.125, -1.3125, -1.625, 3.5625, -1.625, 0.625],
    "circular": [-1.25, -0.9375, 3.125, -1.3125, -1.625, 3.5625, -1.25, -0.9375],
}


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_conv1d_module_padding_modes_are_pytorchs(mode):
    layer = Conv1d(2, 1, 3, padding=2, padding_mode=mode, bias=False)
    layer.load_state_dict({"weight": ramp(1, 2, 3, shift=1)})
    x = ramp(1, 2, 6, shift=3)
    out = layer(mg.tensor(x)).data[0, 0]
    expected = PADDING_MODES[mode]
    if expected is None:
        expected = conv1d_loop(x, ramp(1, 2, 3, shift=1), pads=(2, 2))[0, 0]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # The edges differ between modes; the middle (no padding read) does not.
    np.testing.assert_allclose(out[2:6], [3.125, -1.3125, -1.625, 3.5625], rtol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "circular"])
def test_conv1d_module_gradients_with_padding_modes(mode):
    model = mg.nn.Sequential(
        Conv1d(2, 3, 3, padding="same", padding_mode=mode, generator=mg.Generator(3)),
        mg.nn.Tanh(),
        Conv1d(3, 2, 2, stride=2, dilation=2, generator=mg.Generator(4)),
    )
    report = check_module(model, lambda out: (out**2).sum(), randn(2, 2, 9), n_coords=6)
    assert report, report


def test_conv1d_module_reprs_are_pytorchs():
    assert repr(Conv1d(2, 3, 3)) == "Conv1d(2, 3, kernel_size=(3,), stride=(1,))"
    assert repr(Conv1d(2, 3, 3, padding=1, padding_mode="reflect")) == (
        "Conv1d(2, 3, kernel_size=(3,), stride=(1,), padding=(1,), padding_mode=reflect)"
    )
    assert repr(Conv1d(4, 4, 5, 2, "valid", 2, 4, False)) == (
        "Conv1d(4, 4, kernel_size=(5,), stride=(2,), padding=valid, dilation=(2,), groups=4, "
        "bias=False)"
    )
    assert repr(Conv2d(1, 1, 3, padding=1, padding_mode="circular")) == (
        "Conv2d(1, 1, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), padding_mode=circular)"
    )


def test_conv2d_module_padding_mode_is_pad_then_convolve():
    layer = Conv2d(1, 2, 3, padding=(1, 2), padding_mode="replicate", dtype=np.float64)
    x = randn(2, 1, 4, 5)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode="edge")
    expected = mg.nn.functional.conv2d(mg.tensor(padded), layer.weight, layer.bias)
    np.testing.assert_allclose(layer(mg.tensor(x)).data, expected.data, rtol=1e-12)


# ----- errors ------------------------------------------------------------------------------------


def test_conv1d_module_rejects_a_kernel_longer_than_the_input():
    with pytest.raises(mg.ShapeError) as info:
        Conv1d(2, 3, 5, dilation=2)(mg.zeros((4, 2, 8)))
    assert str(info.value) == (
        "Conv1d(2, 3, kernel_size=(5,), stride=(1,), dilation=(2,)): got input of shape "
        "(4, 2, 8); its padded spatial size 8 is smaller than the kernel's extent 9 (kernel 5, "
        "dilation 2)"
    )


def test_conv1d_module_rejects_the_wrong_channels_and_shapes():
    with pytest.raises(mg.ShapeError, match=r"^Conv1d\(2, 3, .*\): got input of shape "
                                            r"\(4, 3, 8\); expected \(N, 2, L\) or \(2, L\)$"):  # fmt: skip
        Conv1d(2, 3, 3)(mg.zeros((4, 3, 8)))
    with pytest.raises(mg.ShapeError, match=r"got input of shape \(4, 2, 8, 8\); expected \(N, 2"):
        Conv1d(2, 3, 3)(mg.zeros((4, 2, 8, 8)))


def test_conv1d_module_checks_its_arguments_when_built():
    with pytest.raises(mg.ShapeError, match=r"^Conv1d: in_channels \(3\) and out_channels \(4\) "
                                            r"must both be divisible by groups \(2\)"):  # fmt: skip
        Conv1d(3, 4, 3, groups=2)
    with pytest.raises(mg.OpError, match=r"^Conv1d: padding_mode must be one of .*'zeros'.*; "
                                         r"got 'mirror'"):  # fmt: skip
        Conv1d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(mg.OpError, match=r"^Conv1d: padding='same' is not supported for strided"):
        Conv1d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(mg.OpError, match=r"^Conv1d: kernel_size must be an int, each at least 1; "
                                         r"got \(3, 3\)"):  # fmt: skip
        Conv1d(1, 1, (3, 3))


def test_conv1d_checks_weight_bias_and_groups():
    x = mg.zeros((1, 4, 6))
    with pytest.raises(mg.ShapeError, match=r"^conv1d: weight has shape \(2, 4, 3, 3\); expected "
                                            r"\(out_channels, in_channels / groups, kW\)"):  # fmt: skip
        conv1d(x, mg.zeros((2, 4, 3, 3)))
    with pytest.raises(mg.ShapeError, match=r"^conv1d: got input of shape \(1, 4, 6\) with 4 "
                                            r"channels, but the weight .* expects 6"):  # fmt: skip
        conv1d(x, mg.zeros((2, 3, 3)), groups=2)
    with pytest.raises(mg.ShapeError, match=r"^conv1d: groups=3 must be a positive divisor"):
        conv1d(x, mg.zeros((4, 2, 3)), groups=3)
    with pytest.raises(mg.ShapeError, match=r"^conv1d: bias has shape \(3,\); expected \(2,\)"):
        conv1d(x, mg.zeros((2, 4, 3)), mg.zeros(3))
    with pytest.raises(mg.ShapeError, match=r"^conv1d: got input of shape \(6,\); expected "
                                            r"\(N, C, L\) or \(C, L\)"):  # fmt: skip
        conv1d(mg.zeros(6), mg.zeros((2, 4, 3)))
