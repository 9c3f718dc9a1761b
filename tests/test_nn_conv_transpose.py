"""conv_transpose1d/2d and ConvTranspose1d/2d: values against a pixel-by-pixel loop over
PyTorch's definition and against PyTorch's own numbers (written in), the adjoint identity with
the convolution, every derivative through the op harness, the modules' layouts, and errors."""

import math

import numpy as np
import pytest
from harness import Case, check_case
from window_reference import conv_transpose_loop, ramp

import minigrad as mg
from minigrad.nn import ConvTranspose1d, ConvTranspose2d, check_module
from minigrad.nn.functional import conv1d, conv2d, conv_transpose1d, conv_transpose2d

rng = np.random.default_rng(13)


def randn(*shape):
    return rng.standard_normal(shape)


# (name, x shape, w shape (in, out / groups, kh, kw), stride, padding, output_padding, groups,
# dilation)
TRANSPOSES = [
    ("kernel 3", (2, 2, 3, 3), (2, 3, 3, 3), 1, 0, 0, 1, 1),
    ("stride 2 doubles with output_padding 1", (1, 3, 3, 2), (3, 2, 3, 3), 2, 1, 1, 1, 1),
    ("stride 2 kernel 2 tiles", (2, 2, 2, 3), (2, 2, 2, 2), 2, 0, 0, 1, 1),
    ("stride (3, 1) padding (2, 0)", (1, 2, 3, 3), (2, 1, 4, 2), (3, 1), (2, 0), 0, 1, 1),
    ("dilation 2 padding 1", (1, 2, 3, 3), (2, 2, 2, 3), 1, 1, 0, 1, 2),
    # PyTorch allows an output padding at least the stride when it is below the dilation.
    ("output_padding 1 >= stride 1, < dilation 2", (1, 1, 2, 3), (1, 2, 2, 2), 1, 0, 1, 1, 2),
    ("groups 2", (1, 4, 3, 2), (4, 3, 2, 2), (1, 2), (0, 1), (0, 1), 2, 1),
    ("depthwise groups 3 stride 2", (2, 3, 2, 2), (3, 1, 3, 3), 2, 1, (1, 0), 3, 1),
    ("kernel 1", (1, 3, 2, 2), (3, 2, 1, 1), 1, 0, 0, 1, 1),
]


def pair(v):
    return (v, v) if isinstance(v, int) else v


def transpose_case(name, x_shape, w_shape, stride, padding, out_pad, groups, dilation):
    b = randn(w_shape[1] * groups)
    return Case(
        f"conv_transpose2d {name}",
        lambda x, w, b: conv_transpose2d(x, w, b, stride, padding, out_pad, groups, dilation),
        lambda x, w, b: conv_transpose_loop(
            x, w, b, pair(stride), pair(padding), pair(out_pad), groups, pair(dilation)
        ),  # fmt: skip
        [randn(*x_shape), randn(*w_shape), b],
    )


def transpose1d_case(name, x_shape, w_shape, stride, padding, out_pad, groups, dilation):
    def loop(x, w):
        return conv_transpose_loop(x[:, :, None], w[:, :, None], None, (1, stride),
                                   (0, padding), (0, out_pad), groups, (1, dilation))[:, :, 0]  # fmt: skip

    return Case(
        f"conv_transpose1d {name}",
        lambda x, w: conv_transpose1d(x, w, None, stride, padding, out_pad, groups, dilation),
        loop,
        [randn(*x_shape), randn(*w_shape)],
    )


CASES = [transpose_case(*t) for t in TRANSPOSES] + [
    transpose1d_case("kernel 3 stride 2", (2, 2, 4), (2, 3, 3), 2, 1, 1, 1, 1),
    transpose1d_case("groups 2 dilation 3", (1, 4, 3), (4, 1, 2), 1, 2, 2, 2, 3),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conv_transpose_values_and_every_derivative(case):
    check_case(case)


def test_conv_transpose2d_matches_pytorchs_numbers():
    """torch.nn.functional.conv_transpose2d(ramp(1, 2, 3, 3), ramp(2, 3, 3, 3, shift=1),
    ramp(3), stride=2, padding=1, output_padding=1) (a 3x3 image doubled to 6x6), and a grouped,
    dilated one with different strides, paddings and output paddings per dim."""
    out = conv_transpose2d(mg.tensor(ramp(1, 2, 3, 3)), ramp(2, 3, 3, 3, shift=1), ramp(3),
                           stride=2, padding=1, output_padding=1)  # fmt: skip
    assert out.shape == (1, 3, 6, 6)
    np.testing.assert_allclose(out.data[0, 0], [
        [-1.125, -1.0625, -1.25, 0.0625, -2.75, -1.0], [0.5625, 0.1875, -1.75, -1.0, -1.3125, -0.0625],
        [-0.125, -1.8125, -1.625, -1.375, -0.375, -0.875], [0.5, -1.3125, -2.5, -3.1875, 0.0, -0.5],
        [-0.5, -1.1875, -2.0, -0.75, -0.75, -0.75], [-0.8125, -1.3125, -1.8125, -3.3125, -0.75, -0.75],
    ], rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(out.data[0, 2, -2:], [[-1.625, 0.1875, -0.125, -0.9375, 0.0, 0.0],
                                                     [-1.9375, 0.0625, 0.0625, -0.75, 0.0, 0.0]])  # fmt: skip
    out = conv_transpose2d(mg.tensor(ramp(1, 4, 2, 3)), ramp(4, 1, 2, 2, shift=2), stride=(1, 2),
                           padding=(0, 1), output_padding=(1, 0), groups=2, dilation=2)  # fmt: skip
    assert out.shape == (1, 2, 5, 5)
    np.testing.assert_allclose(out.data[0, :, :4, 1::2], [
        [[-1.875, 0.125], [0.6875, -0.0625], [1.75, 0.75], [-0.5625, 1.1875]],
        [[-0.125, -0.5], [-0.5625, -0.9375], [0.5, -0.8125], [0.6875, -0.625]],
    ], rtol=1e-12)  # fmt: skip
    # No patch reaches the even columns or the output-padding row: they hold zeros (no bias).
    assert not out.data[0, :, :, ::2].any() and not out.data[0, :, 4].any()


def test_conv_transpose1d_matches_pytorchs_numbers():
    """torch.nn.functional.conv_transpose1d(ramp(2, 2, 4), ramp(2, 2, 3), ramp(2), stride=3,
    padding=2, output_padding=1)."""
    out = conv_transpose1d(mg.tensor(ramp(2, 2, 4)), ramp(2, 2, 3), ramp(2), stride=3, padding=2,
                           output_padding=1)  # fmt: skip
    expected = [[[-0.875, -2.625, -1.0, -0.75, 0.375, -1.5, -2.0, -2.8125, -0.625],
                 [1.125, 0.5625, 0.8125, 1.0625, 0.625, 0.125, -0.375, 2.0625, 0.8125]],
                [[-1.25, -2.6875, -0.875, -1.125, 0.3125, -1.375, -2.375, 0.5625, -1.875],
                 [0.625, 1.0625, 0.8125, 0.5625, 1.125, 0.125, -0.875, -0.875, 0.125]]]  # fmt: skip
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


# (x shape, w shape of the convolution (out, in / groups, kh, kw), stride, padding, dilation, groups)
ADJOINTS = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 2, 1, 1, 1),
    ((1, 4, 8, 9), (6, 2, 2, 3), (2, 3), (1, 0), (2, 1), 2),
    ((2, 2, 5, 5), (2, 1, 3, 3), 1, 2, 2, 2),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", ADJOINTS)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(x_shape, w_shape, stride, padding, dilation,
                                                    groups):  # fmt: skip
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> with the same weight and arguments (the
    output padding recovering x's size), and conv2d's input gradient is that transpose."""
    x, w = randn(*x_shape), randn(*w_shape)
    forward = conv2d(mg.tensor(x), mg.tensor(w), None, stride, padding, dilation, groups)
    y = randn(*forward.shape)
    smallest = conv_transpose2d(mg.tensor(y), mg.tensor(w), None, stride, padding, 0, groups,
                                dilation).shape[2:]  # fmt: skip
    out_pad = tuple(n - m for n, m in zip(x_shape[2:], smallest))
    back = conv_transpose2d(mg.tensor(y), mg.tensor(w), None, stride, padding, out_pad, groups,
                            dilation)  # fmt: skip
    assert back.shape == x_shape
    np.testing.assert_allclose(np.sum(forward.data * y), np.sum(x * back.data), rtol=1e-12)
    x_t = mg.tensor(x, requires_grad=True)
    conv2d(x_t, mg.tensor(w), None, stride, padding, dilation, groups).backward(mg.tensor(y))
    np.testing.assert_allclose(x_t.grad.data, back.data, rtol=1e-12, atol=1e-12)


def test_conv_transpose1d_is_the_adjoint_of_conv1d():
    x, w = randn(2, 4, 11), randn(6, 2, 3)
    forward = conv1d(mg.tensor(x), mg.tensor(w), stride=3, padding=1, dilation=2, groups=2)
    y = randn(*forward.shape)
    back = conv_transpose1d(mg.tensor(y), mg.tensor(w), None, 3, 1, 2, 2, 2)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(forward.data * y), np.sum(x * back.data), rtol=1e-12)


def test_conv_transpose_of_one_image_without_batch_dim():
    x, w, b = randn(2, 3, 3), randn(2, 3, 2, 2), randn(3)
    out = conv_transpose2d(mg.tensor(x), mg.tensor(w), mg.tensor(b), stride=2)
    np.testing.assert_allclose(out.data, conv_transpose_loop(x[None], w, b, (2, 2))[0], rtol=1e-12)


# ----- modules -----------------------------------------------------------------------------------


def test_conv_transpose2d_module_layout_state_dict_and_init(float32_default):
    """PyTorch's: nn.ConvTranspose2d(4, 6, (3, 2), groups=2) has weight (4, 3, 3, 2) (in,
    out / groups, kh, kw) and bias (6,); fan_in = weight.shape[1] * kh * kw = 18."""
    layer = ConvTranspose2d(4, 6, (3, 2), groups=2, generator=mg.Generator(0))
    state = layer.state_dict()
    assert list(state) == ["weight", "bias"]
    assert state["weight"].shape == (4, 3, 3, 2) and state["bias"].shape == (6,)
    assert layer.weight.dtype == np.float32
    wide = ConvTranspose2d(2, 4000, 1, generator=mg.Generator(1))  # fan_in = 4000
    bound = 1 / math.sqrt(4000)
    assert np.abs(wide.bias.data).max() <= bound * (1 + 1e-6)
    assert wide.bias.data.max() > 0.99 * bound and wide.bias.data.min() < -0.99 * bound
    assert ConvTranspose1d(3, 5, 4, bias=False).state_dict()["weight"].shape == (3, 5, 4)


def test_conv_transpose2d_module_loads_weights_and_computes_the_transpose():
    layer = ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)
    layer.load_state_dict({"weight": ramp(2, 3, 3, 3, shift=1), "bias": ramp(3)})
    out = layer(mg.tensor(ramp(1, 2, 3, 3)))
    assert out.shape == (1, 3, 6, 6)
    np.testing.assert_allclose(out.data[0, 0, 0], [-1.125, -1.0625, -1.25, 0.0625, -2.75, -1.0])


def test_conv_transpose_module_output_size_picks_the_output_padding():
    """As PyTorch's forward(input, output_size): any size from the smallest (output_padding 0)
    to stride - 1 more, given as the spatial sizes or the whole shape."""
    layer = ConvTranspose2d(2, 1, 3, stride=3, padding=1, dtype=np.float64)
    x = mg.tensor(randn(1, 2, 2, 3))
    assert layer(x).shape == (1, 1, 4, 7)
    out = layer(x, output_size=(6, 8))
    assert out.shape == (1, 1, 6, 8)
    expected = conv_transpose2d(x, layer.weight, layer.bias, 3, 1, (2, 1))
    np.testing.assert_array_equal(out.data, expected.data)
    assert layer(x, output_size=[1, 1, 5, 9]).shape == (1, 1, 5, 9)
    with pytest.raises(mg.ShapeError, match=r"^ConvTranspose2d\(2, 1, .*\): requested an output size "
                                            r"of \(7, 8\), but valid sizes range from \(4, 7\) "
                                            r"to \(6, 9\)"):  # fmt: skip
        layer(x, output_size=(7, 8))
    one = ConvTranspose1d(1, 1, 2, stride=2)
    assert one(mg.zeros((1, 1, 3)), output_size=[7]).shape == (1, 1, 7)


def test_conv_transpose_module_gradients():
    model = mg.nn.Sequential(
        ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, generator=mg.Generator(5)),
        mg.nn.Tanh(),
        ConvTranspose2d(3, 2, 2, groups=1, dilation=2, generator=mg.Generator(6)),
    )
    report = check_module(model, lambda out: (out**2).sum(), randn(2, 2, 3, 3), n_coords=6)
    assert report, report


def test_conv_transpose_module_reprs_are_pytorchs():
    assert repr(ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)) == (
        "ConvTranspose2d(16, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))"
    )
    assert repr(ConvTranspose1d(2, 4, 3, groups=2, dilation=2, bias=False)) == (
        "ConvTranspose1d(2, 4, kernel_size=(3,), stride=(1,), dilation=(2,), groups=2, bias=False)"
    )


# ----- errors ------------------------------------------------------------------------------------


def test_output_padding_must_be_below_the_stride_or_the_dilation():
    with pytest.raises(mg.OpError, match=r"^ConvTranspose2d: output_padding \(2, 2\) must be "
                                         r"smaller than either the stride \(2, 2\) or the "
                                         r"dilation \(1, 1\)"):  # fmt: skip
        ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(mg.OpError, match=r"^conv_transpose1d: output_padding \(1,\) must be"):
        conv_transpose1d(mg.zeros((1, 1, 4)), mg.zeros((1, 1, 3)), output_padding=1)


def test_conv_transpose_checks_channels_groups_and_sizes():
    x = mg.zeros((1, 4, 3, 3))
    with pytest.raises(mg.ShapeError, match=r"^conv_transpose2d: got input of shape \(1, 4, 3, 3\) "
                                            r"with 4 channels, but the weight of shape "
                                            r"\(2, 3, 2, 2\) expects 2"):  # fmt: skip
        conv_transpose2d(x, mg.zeros((2, 3, 2, 2)))
    with pytest.raises(mg.ShapeError, match=r"^conv_transpose2d: groups=3 must be a positive "
                                            r"divisor of the weight's 4 input channels"):  # fmt: skip
        conv_transpose2d(x, mg.zeros((4, 1, 2, 2)), groups=3)
    with pytest.raises(mg.ShapeError, match=r"^conv_transpose2d: weight has shape \(4, 1, 2\); "
                                            r"expected \(in_channels, out_channels / groups, "
                                            r"kH, kW\)"):  # fmt: skip
        conv_transpose2d(x, mg.zeros((4, 1, 2)))
    with pytest.raises(mg.ShapeError, match=r"^conv_transpose2d: got input of shape \(1, 4, 3, 3\);"
                                            r" the output's spatial size would be \(-1, -1\), too "
                                            r"small"):  # fmt: skip
        conv_transpose2d(x, mg.zeros((4, 1, 1, 1)), padding=2)
    with pytest.raises(mg.OpError, match=r"^conv_transpose2d: padding must be ints"):
        conv_transpose2d(x, mg.zeros((4, 1, 3, 3)), padding="same")
    with pytest.raises(
        mg.ShapeError, match=r"^ConvTranspose2d: in_channels \(3\) and out_channels"
    ):
        ConvTranspose2d(3, 4, 3, groups=2)
    with pytest.raises(mg.OpError, match=r"^ConvTranspose1d: only padding_mode='zeros'"):
        ConvTranspose1d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(mg.ShapeError, match=r"^ConvTranspose1d\(2, 1, .*\): got input of shape "
                                            r"\(1, 3, 5\); expected \(N, 2, L\) or \(2, L\)"):  # fmt: skip
        ConvTranspose1d(2, 1, 3)(mg.zeros((1, 3, 5)))
