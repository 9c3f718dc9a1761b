"""Convolution and pooling: conv2d, max_pool2d, avg_pool2d and the Conv2d, MaxPool2d, AvgPool2d
modules, against nested loops written here (PyTorch's definitions), finite differences, and
the closed forms of PyTorch's initialisation."""

import itertools
import math

import numpy as np
import pytest
from window_reference import conv_loop

import minigrad as mg
from minigrad.nn import check_module
from minigrad.nn.conv import Conv2d, conv2d
from minigrad.nn.pooling import AvgPool2d, MaxPool2d, avg_pool2d, max_pool2d

rng = np.random.default_rng(7)


def randn(*shape):
    return rng.standard_normal(shape)


def distinct(*shape, gap=0.1):
    """Values at least ``gap`` apart, in random order: max pooling has no ties, and finite
    differences never swap which element is the largest."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * gap - 1.0


# ----- references: one output element at a time ------------------------------------------------


def pool_loop(x, kernel, stride, padding, reduce, fill, dilation=(1, 1)):
    """reduce() of each window of x padded with ``fill`` (PyTorch's floor mode)."""
    (ph, pw), (kh, kw), (sh, sw), (dh, dw) = padding, kernel, stride, dilation
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    N, C, H, W = x.shape
    OH, OW = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, C, OH, OW))
    for n, c, i, j in itertools.product(range(N), range(C), range(OH), range(OW)):
        rows = [i * sh + p * dh for p in range(kh)]
        cols = [j * sw + q * dw for q in range(kw)]
        out[n, c, i, j] = reduce(x[n, c][np.ix_(rows, cols)])
    return out


# ----- conv2d ------------------------------------------------------------------------------------

# (name, x shape, w shape, kwargs for conv2d, the same as (stride, pads, dilation) for the loop)
CONVS = [
    ("1 channel 3x3", (2, 1, 5, 5), (3, 1, 3, 3), {}, {}),
    ("padding 1", (2, 2, 4, 4), (3, 2, 3, 3), {"padding": 1}, {"pads": ((1, 1), (1, 1))}),
    ("stride 2 padding 1", (1, 2, 6, 5), (2, 2, 3, 3), {"stride": 2, "padding": 1},
     {"stride": (2, 2), "pads": ((1, 1), (1, 1))}),
    ("non-square kernel, stride and padding", (1, 3, 6, 7), (4, 3, 2, 3),
     {"stride": (1, 2), "padding": (2, 0)}, {"stride": (1, 2), "pads": ((2, 2), (0, 0))}),
    ("dilation 2", (1, 2, 7, 7), (2, 2, 3, 3), {"dilation": 2}, {"dilation": (2, 2)}),
    ("dilation (2, 1) padding (2, 1)", (1, 1, 6, 5), (2, 1, 2, 3),
     {"dilation": (2, 1), "padding": (2, 1)}, {"dilation": (2, 1), "pads": ((2, 2), (1, 1))}),
    ("stride leaves columns unused", (1, 1, 5, 8), (2, 1, 2, 2), {"stride": 3},
     {"stride": (3, 3)}),
    ("1x1 kernel", (2, 3, 3, 3), (4, 3, 1, 1), {}, {}),
    ("padding 'valid'", (1, 2, 5, 4), (2, 2, 3, 2), {"padding": "valid"}, {}),
    ("padding 'same' odd kernel", (1, 2, 5, 4), (2, 2, 3, 3), {"padding": "same"},
     {"pads": ((1, 1), (1, 1))}),
    # PyTorch puts the extra row/column of an even total padding at the bottom/right.
    ("padding 'same' even kernel", (1, 1, 5, 4), (2, 1, 2, 4), {"padding": "same"},
     {"pads": ((0, 1), (1, 2))}),
    ("padding 'same' dilated", (1, 1, 6, 6), (1, 1, 3, 2), {"padding": "same", "dilation": 2},
     {"pads": ((2, 2), (1, 1)), "dilation": (2, 2)}),
    ("groups 2", (1, 4, 4, 4), (6, 2, 3, 3), {"groups": 2}, {"groups": 2}),
    ("depthwise groups 3", (2, 3, 4, 5), (3, 1, 2, 2), {"groups": 3, "padding": 1},
     {"groups": 3, "pads": ((1, 1), (1, 1))}),
    ("groups 2 stride dilation", (1, 2, 7, 6), (4, 1, 2, 2),
     {"groups": 2, "stride": (2, 1), "dilation": (1, 2)},
     {"groups": 2, "stride": (2, 1), "dilation": (1, 2)}),
]  # fmt: skip


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize(
    "name, x_shape, w_shape, kwargs, loop_kwargs", CONVS, ids=[c[0] for c in CONVS]
)
def test_conv2d_forward_matches_loop(name, x_shape, w_shape, kwargs, loop_kwargs, bias):
    x, w = randn(*x_shape), randn(*w_shape)
    b = randn(w_shape[0]) if bias else None
    out = conv2d(mg.tensor(x), mg.tensor(w), None if b is None else mg.tensor(b), **kwargs)
    expected = conv_loop(x, w, b, **loop_kwargs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


def test_conv2d_same_padding_keeps_the_spatial_size():
    out = conv2d(mg.tensor(randn(2, 1, 7, 6)), mg.tensor(randn(3, 1, 4, 5)), padding="same")
    assert out.shape == (2, 3, 7, 6)


def test_conv2d_of_one_image_without_batch_axis():
    x, w, b = randn(2, 5, 4), randn(3, 2, 3, 2), randn(3)
    out = conv2d(mg.tensor(x), mg.tensor(w), mg.tensor(b), padding=1)
    np.testing.assert_allclose(out.data, conv_loop(x[None], w, b, pads=((1, 1), (1, 1)))[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_keeps_the_dtype(dtype):
    x, w = randn(1, 2, 4, 4).astype(dtype), randn(3, 2, 3, 3).astype(dtype)
    out = conv2d(mg.tensor(x), mg.tensor(w), mg.tensor(randn(3).astype(dtype)), padding=1)
    assert out.dtype == dtype


GRADIENT_CONVS = [CONVS[i] for i in (2, 3, 5, 10, 14)]


@pytest.mark.parametrize("name, x_shape, w_shape, kwargs, loop_kwargs", GRADIENT_CONVS,
                         ids=[c[0] for c in GRADIENT_CONVS])  # fmt: skip
def test_conv2d_gradients_of_input_weight_and_bias(name, x_shape, w_shape, kwargs, loop_kwargs):
    """Reverse mode against finite differences, and forward mode (JVP, <u, Jv> = <J'u, v>)."""
    x, w, b = randn(*x_shape), randn(*w_shape), randn(w_shape[0])

    def f(x, w, b):
        return conv2d(x, w, b, **kwargs)

    report = mg.gradcheck(f, x, w, b)
    assert report, report
    report = mg.check_grads(f, x, w, b, modes=("fwd", "rev"))
    assert report, report


def test_conv2d_second_derivatives():
    """conv2d is bilinear in (x, w): its mixed second derivatives are not zero."""
    x, w, b = randn(1, 2, 4, 4), randn(2, 1, 2, 2), randn(2)

    def f(x, w, b):
        return mg.tanh(conv2d(x, w, b, stride=(2, 1), padding=1, groups=2))

    report = mg.gradgradcheck(f, x, w, b)
    assert report, report
    report = mg.check_grads(f, x, w, b, order=2)
    assert report, report


def test_conv2d_weight_gradient_closed_form():
    """For loss = sum(conv2d(x, w)) with a 1x1 kernel, d loss / d w[o, c] = sum of x[:, c]."""
    x = mg.tensor(randn(2, 3, 4, 5))
    w = mg.tensor(randn(2, 3, 1, 1), requires_grad=True)
    conv2d(x, w).sum().backward()
    expected = np.broadcast_to(x.data.sum(axis=(0, 2, 3)).reshape(1, 3, 1, 1), (2, 3, 1, 1))
    np.testing.assert_allclose(w.grad.data, expected, rtol=1e-12)


# ----- pooling -----------------------------------------------------------------------------------

# (name, x shape, kernel, stride, padding, dilation)
POOLS = [
    ("2x2 tiles", (2, 3, 4, 6), 2, None, 0, 1),
    ("2x2 tiles, odd size crops", (1, 2, 5, 7), 2, None, 0, 1),
    ("non-square tiles (2, 3)", (1, 2, 4, 6), (2, 3), None, 0, 1),
    ("3x3 stride 2 overlapping", (1, 2, 7, 6), 3, 2, 0, 1),
    ("2x2 stride 1", (1, 1, 4, 5), 2, 1, 0, 1),
    ("3x3 stride 2 padding 1", (2, 1, 6, 5), 3, 2, 1, 1),
    ("2x2 tiles padding 1", (1, 2, 4, 5), 2, None, 1, 1),
    ("kernel (3, 2) stride (1, 2) padding (1, 0)", (1, 1, 5, 6), (3, 2), (1, 2), (1, 0), 1),
    ("stride larger than kernel", (1, 1, 7, 7), 2, 3, 0, 1),
]


def pair(v):
    return (v, v) if isinstance(v, int) else v


@pytest.mark.parametrize("name, shape, kernel, stride, padding, dilation", POOLS,
                         ids=[p[0] for p in POOLS])  # fmt: skip
def test_max_pool2d_forward_and_gradients(name, shape, kernel, stride, padding, dilation):
    x = distinct(*shape)
    out = max_pool2d(mg.tensor(x), kernel, stride, padding)
    expected = pool_loop(x, pair(kernel), pair(stride or kernel), pair(padding), np.max, -np.inf)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)

    def f(x):
        return max_pool2d(x, kernel, stride, padding) ** 2

    assert (report := mg.gradcheck(f, x)), report
    assert (report := mg.check_grads(f, x, modes=("fwd", "rev"))), report


@pytest.mark.parametrize("dilation, stride, padding", [((2, 2), 1, 0), ((1, 2), (2, 1), (0, 1))])
def test_max_pool2d_with_dilation(dilation, stride, padding):
    x = distinct(1, 2, 6, 7)
    out = max_pool2d(mg.tensor(x), 2, stride, padding, dilation)
    expected = pool_loop(x, (2, 2), pair(stride), pair(padding), np.max, -np.inf, dilation)
    np.testing.assert_array_equal(out.data, expected)
    report = mg.gradcheck(lambda x: max_pool2d(x, 2, stride, padding, dilation), x)
    assert report, report


@pytest.mark.parametrize("name, shape, kernel, stride, padding, dilation", POOLS,
                         ids=[p[0] for p in POOLS])  # fmt: skip
def test_avg_pool2d_forward_and_gradients(name, shape, kernel, stride, padding, dilation):
    """count_include_pad=True: the padding zeros count towards each window's mean."""
    x = randn(*shape)
    out = avg_pool2d(mg.tensor(x), kernel, stride, padding)
    expected = pool_loop(x, pair(kernel), pair(stride or kernel), pair(padding), np.mean, 0.0)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-15)

    def f(x):
        return avg_pool2d(x, kernel, stride, padding) ** 2

    assert (report := mg.gradcheck(f, x)), report
    assert (report := mg.check_grads(f, x, modes=("fwd", "rev"))), report


def test_avg_pool2d_gradient_closed_form():
    """Each input of a non-overlapping 2x3 window gets 1/6 of the window's gradient."""
    x = mg.tensor(randn(1, 1, 4, 6), requires_grad=True)
    avg_pool2d(x, (2, 3)).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((1, 1, 4, 6), 1 / 6), rtol=1e-12)


@pytest.mark.parametrize("kernel, stride", [(2, None), (2, 1)], ids=["tiles", "overlapping"])
def test_max_pool2d_gives_the_gradient_to_the_first_of_tied_maxima(kernel, stride):
    """A window whose maximum occurs several times gives its whole gradient to the first in
    row-major order, as PyTorch's (values from torch 2 written in)."""
    x = mg.tensor(np.array([[[[1.0, 1.0, 0.0, 2.0],
                              [1.0, 0.5, 2.0, 2.0]]]]), requires_grad=True)  # fmt: skip
    max_pool2d(x, kernel, stride).sum().backward()
    # Tiles [[1, 1], [1, .5]] and [[0, 2], [2, 2]]; or three overlapping windows, maxima 1 (first
    # at [0, 0]), 2 (at [1, 2]) and 2 (first at [0, 3]).
    tiles = stride is None
    expected = [[1, 0, 0, 1], [0, 0, 0, 0]] if tiles else [[1, 0, 0, 1], [0, 0, 1, 0]]
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)


def test_max_pool2d_padding_never_wins():
    """Padding acts as -inf: windows of negative values still return their largest value."""
    x = -1.0 - np.abs(randn(1, 1, 3, 3))
    out = max_pool2d(mg.tensor(x), 2, 2, 1)
    np.testing.assert_array_equal(out.data, pool_loop(x, (2, 2), (2, 2), (1, 1), np.max, -np.inf))


def test_max_pool2d_with_padding_is_quiet_under_detect_anomaly():
    x = mg.tensor(randn(1, 1, 4, 4), requires_grad=True)
    with mg.detect_anomaly():
        max_pool2d(x, 3, 2, 1).sum().backward()
    assert np.isfinite(x.grad.data).all()


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_pool_of_one_image_without_batch_axis(pool):
    x = distinct(2, 4, 4)
    np.testing.assert_array_equal(pool(mg.tensor(x), 2).data, pool(mg.tensor(x[None]), 2).data[0])


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_pool_keeps_float32(pool):
    assert pool(mg.tensor(randn(1, 2, 4, 4).astype(np.float32)), 2, padding=1).dtype == np.float32


# ----- modules -----------------------------------------------------------------------------------


def test_conv2d_module_layout_names_and_init(float32_default):
    """Weight (out, in / groups, kh, kw), bias (out,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    layer = Conv2d(4, 6, (3, 2), groups=2, generator=mg.Generator(0))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (6, 2, 3, 2) and layer.bias.shape == (6,)
    assert layer.weight.dtype == layer.bias.dtype == np.float32
    bound = 1 / math.sqrt(2 * 3 * 2)  # kaiming_uniform_(a=sqrt(5)): sqrt(1/3) * sqrt(3 / fan_in)
    big = Conv2d(8, 64, 3, generator=mg.Generator(1))
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound * (1 + 1e-6)  # float32 rounding
    # Thousands of draws from U(-b, b) come close to both ends (for the bias: fan_in = 2).
    wide = Conv2d(2, 4000, 1, generator=mg.Generator(2))
    for p, b in [(big.weight, 1 / math.sqrt(72)), (wide.bias, 1 / math.sqrt(2))]:
        assert np.abs(p.data).max() <= b * (1 + 1e-6)
        assert p.data.max() > 0.99 * b and p.data.min() < -0.99 * b


def test_conv2d_module_is_seeded_by_its_generator():
    a, b = Conv2d(2, 3, 3, generator=mg.Generator(4)), Conv2d(2, 3, 3, generator=mg.Generator(4))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    c = Conv2d(2, 3, 3, generator=mg.Generator(5))
    assert not np.array_equal(a.weight.data, c.weight.data)


def test_conv2d_module_forward_is_the_convolution():
    layer = Conv2d(2, 4, (2, 3), stride=(2, 1), padding=1, dilation=(1, 2), groups=2,
                   dtype=np.float64)  # fmt: skip
    x = randn(3, 2, 5, 6)
    expected = conv_loop(x, layer.weight.data, layer.bias.data, (2, 1), ((1, 1), (1, 1)), (1, 2), 2)
    np.testing.assert_allclose(layer(mg.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)


def test_conv2d_module_without_bias():
    layer = Conv2d(1, 2, 3, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert "bias=False" in repr(layer)


def test_conv2d_module_gradients_in_float64():
    """check_module: the loss's gradient for every parameter against central differences."""
    model = mg.nn.Sequential(Conv2d(2, 3, 3, padding=1, generator=mg.Generator(2)),
                             MaxPool2d(2), AvgPool2d(2))  # fmt: skip
    x = distinct(2, 2, 4, 4)
    report = check_module(model, lambda out: (out**2).sum(), x, n_coords=6)
    assert report, report


def test_module_reprs_are_pytorchs():
    assert repr(Conv2d(1, 16, 3)) == "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(
        Conv2d(4, 8, (3, 5), stride=2, padding=(1, 2), dilation=2, groups=4, bias=False)
    ) == (
        "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(2, 2), "
        "groups=4, bias=False)"
    )
    assert repr(Conv2d(2, 2, 3, padding="same")) == (
        "Conv2d(2, 2, kernel_size=(3, 3), stride=(1, 1), padding=same)"
    )
    assert repr(MaxPool2d(2)) == (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert repr(AvgPool2d(3, 2, 1)) == "AvgPool2d(kernel_size=3, stride=2, padding=1)"


def test_pool_modules_are_the_functions():
    x = distinct(2, 3, 6, 6)
    np.testing.assert_array_equal(MaxPool2d(3, 2, 1)(mg.tensor(x)).data,
                                  max_pool2d(mg.tensor(x), 3, 2, 1).data)  # fmt: skip
    np.testing.assert_array_equal(AvgPool2d(2)(mg.tensor(x)).data, avg_pool2d(mg.tensor(x), 2).data)
    assert list(MaxPool2d(2).named_parameters()) == []


# ----- errors ------------------------------------------------------------------------------------


def test_conv2d_module_rejects_the_wrong_number_of_channels():
    layer = Conv2d(1, 16, kernel_size=3)
    with pytest.raises(mg.ShapeError) as info:
        layer(mg.zeros((8, 3, 28, 28)))
    message = str(info.value)
    assert message.startswith("Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1)): ")
    assert "got input of shape (8, 3, 28, 28)" in message and "expected (N, 1, H, W)" in message


@pytest.mark.parametrize("layer", [Conv2d(1, 2, 3), MaxPool2d(2), AvgPool2d(2)], ids=repr)
def test_layers_reject_inputs_that_are_not_images(layer):
    with pytest.raises(mg.ShapeError, match=r"got input of shape \(8, 64\); expected \(N, "):
        layer(mg.zeros((8, 64)))


@pytest.mark.parametrize("layer", [Conv2d(1, 2, 5), MaxPool2d(5), AvgPool2d((2, 5))], ids=repr)
def test_layers_reject_inputs_smaller_than_the_kernel(layer):
    with pytest.raises(mg.ShapeError, match=r"^\w+2d\(.*\): got input of shape \(1, 1, 4, 4\); .*"
                                            r"smaller than the kernel's extent"):  # fmt: skip
        layer(mg.zeros((1, 1, 4, 4)))


def test_conv2d_checks_weight_bias_and_groups():
    x = mg.zeros((1, 4, 5, 5))
    with pytest.raises(mg.ShapeError, match=r"conv2d: weight has shape \(2, 4, 3\); expected"):
        conv2d(x, mg.zeros((2, 4, 3)))
    with pytest.raises(mg.ShapeError, match=r"conv2d: .*4 channels.*expects 6"):
        conv2d(x, mg.zeros((2, 3, 3, 3)), groups=2)
    with pytest.raises(mg.ShapeError, match=r"conv2d: groups=3 must be a positive divisor"):
        conv2d(x, mg.zeros((4, 2, 3, 3)), groups=3)
    with pytest.raises(mg.ShapeError, match=r"conv2d: bias has shape \(3,\); expected \(2,\)"):
        conv2d(x, mg.zeros((2, 4, 3, 3)), mg.zeros(3))


def test_conv2d_checks_stride_padding_and_dilation():
    x, w = mg.zeros((1, 1, 5, 5)), mg.zeros((1, 1, 3, 3))
    with pytest.raises(mg.OpError, match=r"conv2d: stride must be an int or a pair.*got 0"):
        conv2d(x, w, stride=0)
    with pytest.raises(mg.OpError, match=r"conv2d: padding must be .*got 'full'"):
        conv2d(x, w, padding="full")
    with pytest.raises(mg.OpError, match=r"conv2d: padding='same' is not supported for strided"):
        conv2d(x, w, stride=2, padding="same")
    with pytest.raises(mg.OpError, match=r"conv2d: dilation must be .*got \(1, 2, 3\)"):
        conv2d(x, w, dilation=(1, 2, 3))
    with pytest.raises(mg.OpError, match=r"conv2d: padding must be an int or a pair.*got -1"):
        conv2d(x, w, padding=-1)


def test_conv2d_module_checks_its_arguments_when_built():
    with pytest.raises(mg.ShapeError, match=r"Conv2d: in_channels \(3\) .* divisible by groups"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(mg.OpError, match=r"Conv2d: padding='same' is not supported"):
        Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(mg.OpError, match=r"Conv2d: kernel_size must be"):
        Conv2d(1, 1, 0)


@pytest.mark.parametrize("build", [lambda: MaxPool2d(0), lambda: AvgPool2d(2, stride=(1, 2, 3)),
                                   lambda: MaxPool2d(2, padding=2)])  # fmt: skip
def test_pool_modules_check_their_arguments_when_built(build):
    with pytest.raises(mg.OpError, match=r"^(Max|Avg)Pool2d: "):
        build()


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_pool_padding_is_at_most_half_the_kernel(pool):
    with pytest.raises(mg.OpError, match=rf"{pool.__name__}: padding 2 must be at most half"):
        pool(mg.zeros((1, 1, 6, 6)), 3, padding=2)
