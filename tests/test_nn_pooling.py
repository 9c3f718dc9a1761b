"""Pooling beyond 2-D floor mode: max/avg pooling of sequences, ceil_mode, count_include_pad,
divisor_override, return_indices, and adaptive pooling, against loops over PyTorch's
definitions and PyTorch's own numbers (written in), with every derivative through the op
harness. (2-D pooling in floor mode is in test_nn_conv.py.)"""

import itertools

import numpy as np
import pytest
from harness import Case, check_case
from window_reference import adaptive_loop, pool1d_loop, ramp

import minigrad as mg
from minigrad import nn
from minigrad.nn.functional import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

rng = np.random.default_rng(17)


def distinct(*shape, gap=0.1):
    """Values at least ``gap`` apart: no ties, and finite differences never change the winner."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * gap - 1.0


def avg_loop(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
    """PyTorch's avg_pool2d, window by window: the sum over the window's part inside the input,
    divided by the window's size clipped to the padded input (count_include_pad) or to the
    input, or by divisor_override."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    H, W = x.shape[-2:]
    sizes = [pool1d_loop(np.zeros((1, 1, n)), k, s, p, np.sum, 0, 1, ceil_mode).shape[-1]
             for n, k, s, p in ((H, kh, sh, ph), (W, kw, sw, pw))]  # fmt: skip
    out = np.zeros(x.shape[:-2] + tuple(sizes))
    for i, j in itertools.product(*map(range, sizes)):
        h0, w0 = i * sh - ph, j * sw - pw
        h1, w1 = min(h0 + kh, H + ph), min(w0 + kw, W + pw)
        size = (h1 - h0) * (w1 - w0)
        h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
        divisor = divisor_override or (size if count_include_pad else (h1 - h0) * (w1 - w0))
        out[..., i, j] = x[..., h0:h1, w0:w1].sum(axis=(-2, -1)) / divisor
    return out


# ----- 1-D max and average pooling ---------------------------------------------------------------

# (kernel, stride, padding, dilation, ceil_mode)
POOLS_1D = [
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    (2, 3, 0, 1, True),
    (3, 1, 0, 2, False),
    (2, 2, 1, 3, True),
    (4, 3, 2, 1, True),
]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", POOLS_1D)
def test_max_pool1d_values_and_every_derivative(kernel, stride, padding, dilation, ceil_mode):
    check_case(Case(
        f"max_pool1d {kernel} {stride} {padding} {dilation} {ceil_mode}",
        lambda x: max_pool1d(x, kernel, stride, padding, dilation, ceil_mode),
        lambda x: pool1d_loop(x, kernel, stride or kernel, padding, np.max, -np.inf, dilation,
                              ceil_mode),  # fmt: skip
        [distinct(2, 3, 9)],
    ))  # fmt: skip


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode",
                         [p for p in POOLS_1D if p[3] == 1])  # fmt: skip
def test_avg_pool1d_values_and_every_derivative(kernel, stride, padding, dilation, ceil_mode,
                                                count_include_pad):  # fmt: skip
    def loop(x):
        return avg_loop(x[:, :, None], (1, kernel), (1, stride or kernel), (0, padding),
                        ceil_mode, count_include_pad)[:, :, 0]  # fmt: skip

    check_case(Case(
        f"avg_pool1d {kernel} {stride} {padding} {ceil_mode} {count_include_pad}",
        lambda x: avg_pool1d(x, kernel, stride, padding, ceil_mode, count_include_pad),
        loop,
        [rng.standard_normal((2, 2, 8))],
    ))  # fmt: skip


def test_1d_pooling_matches_pytorchs_numbers():
    """torch.nn.functional's pools of ramp(1, 2, 7) in ceil mode, with indices."""
    x = mg.tensor(ramp(1, 2, 7))
    out = max_pool1d(x, 3, 2, 1, ceil_mode=True)
    np.testing.assert_array_equal(out.data, [[[0.5, 1.25, 1.25, 1.0], [0.0, 0.75, 0.5, 0.5]]])
    out, indices = max_pool1d(x, 2, 3, 1, 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(out.data, [[[0.5, 0.25, -0.75], [-1.0, 0.75, 0.5]]])
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices.data, [[[1, 4, 5], [1, 2, 5]]])
    out = avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(out.data, [[[-0.375, 5 / 12, 0.25, 0.125],
                                           [-0.5, -1 / 6, -1 / 3, 0.0]]], rtol=1e-12)  # fmt: skip
    out = avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=True)
    np.testing.assert_allclose(out.data, [[[-0.25, 5 / 12, 0.25, 1 / 12],
                                           [-1 / 3, -1 / 6, -1 / 3, 0.0]]], rtol=1e-12)  # fmt: skip


# ----- 2-D: ceil_mode, count_include_pad, divisor_override, indices ------------------------------


@pytest.mark.parametrize("divisor_override", [None, 3])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", [
    (2, 2, 1, True), ((3, 2), (2, 1), (1, 0), True), (3, 2, 1, False), (2, 3, 0, True),
])  # fmt: skip
def test_avg_pool2d_options_and_every_derivative(kernel, stride, padding, ceil_mode,
                                                 count_include_pad, divisor_override):  # fmt: skip
    def pair(v):
        return (v, v) if isinstance(v, int) else v

    check_case(Case(
        f"avg_pool2d {kernel} {stride} {padding} {ceil_mode} {count_include_pad} {divisor_override}",
        lambda x: avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad,
                             divisor_override),  # fmt: skip
        lambda x: avg_loop(x, pair(kernel), pair(stride), pair(padding), ceil_mode,
                           count_include_pad, divisor_override),  # fmt: skip
        [rng.standard_normal((1, 2, 5, 6))],
    ))  # fmt: skip


def test_2d_pooling_matches_pytorchs_numbers():
    x = mg.tensor(ramp(1, 1, 5, 5))
    out = avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_array_equal(out.data[0, 0], [[-1.25, 0.0, 0.75], [-0.5, 0.0625, 0.125],
                                                   [0.5, -0.3125, -0.25]])  # fmt: skip
    out = avg_pool2d(x, 3, 2, 1, divisor_override=2)
    np.testing.assert_array_equal(out.data[0, 0], [[-0.25, 0.625, 0.625], [-0.875, -0.5, -0.25],
                                                   [0.0, -0.375, -0.5]])  # fmt: skip
    out, indices = max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(out.data[0, 0], [[1.0, 1.25, 1.25], [1.0, 1.0, 1.25],
                                                   [0.75, 1.0, 0.5]])  # fmt: skip
    np.testing.assert_array_equal(indices.data[0, 0], [[6, 3, 3], [6, 6, 14], [20, 17, 23]])


def test_max_pool_indices_point_at_the_maxima_and_the_first_of_ties():
    x = distinct(2, 3, 6, 7)
    out, indices = max_pool2d(mg.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    planes = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(planes, indices.data.reshape(2, 3, -1), -1),
                                  out.data.reshape(2, 3, -1))  # fmt: skip
    ties = mg.tensor(np.array([[[1.0, 3.0, 3.0, 0.0, 3.0]]]))
    assert max_pool1d(ties, 3, 2, return_indices=True)[1].tolist() == [[[1, 2]]]
    module = nn.MaxPool1d(3, 2, return_indices=True)
    assert module(ties)[1].tolist() == [[[1, 2]]]


def test_ceil_mode_drops_a_window_that_would_start_in_the_right_padding():
    """PyTorch: the last window must start inside the input or its left padding. Length 4,
    kernel 2, stride 2, padding 1: ceil(5 / 2) + 1 = 4 windows, the last starting at 5 >= 4 + 1
    is dropped, leaving 3 (as floor mode)."""
    assert max_pool1d(mg.zeros((1, 1, 4)), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3)
    assert max_pool1d(mg.zeros((1, 1, 5)), 2, 2, 0, ceil_mode=True).shape == (1, 1, 3)
    assert max_pool1d(mg.zeros((1, 1, 5)), 2, 2, 0).shape == (1, 1, 2)


# ----- adaptive pooling --------------------------------------------------------------------------

# (input shape, output_size, the sizes it means)
ADAPTIVE_2D = [
    ((1, 2, 5, 7), (3, 4), (3, 4)),  # overlapping bins in both dims
    ((2, 1, 6, 4), (4, 2), (4, 2)),  # uneven rows, even columns
    ((1, 2, 4, 6), 2, (2, 2)),  # equal bins that tile
    ((1, 1, 5, 5), (None, 3), (5, 3)),  # None keeps the size
    ((2, 2, 3, 4), 1, (1, 1)),  # global pooling
    ((1, 1, 3, 2), (5, 4), (5, 4)),  # more bins than elements: bins repeat elements
]


ADAPTIVE = {"avg": (adaptive_avg_pool1d, adaptive_avg_pool2d, np.mean),
            "max": (adaptive_max_pool1d, adaptive_max_pool2d, np.max)}  # fmt: skip


@pytest.mark.parametrize("kind", ADAPTIVE)
@pytest.mark.parametrize("shape, output_size, sizes", ADAPTIVE_2D)
def test_adaptive_pool2d_values_and_every_derivative(kind, shape, output_size, sizes):
    _, pool, reduce = ADAPTIVE[kind]
    check_case(Case(
        f"adaptive_{kind}_pool2d {shape} -> {output_size}",
        lambda x: pool(x, output_size),
        lambda x: adaptive_loop(x, sizes, lambda block: reduce(block, axis=-1)),
        [distinct(*shape)],
    ))  # fmt: skip


@pytest.mark.parametrize("kind", ADAPTIVE)
@pytest.mark.parametrize("length, output_size", [(7, 3), (5, 5), (8, 4), (3, 7), (9, 1)])
def test_adaptive_pool1d_values_and_every_derivative(kind, length, output_size):
    pool, _, reduce = ADAPTIVE[kind]
    check_case(Case(
        f"adaptive_{kind}_pool1d {length} -> {output_size}",
        lambda x: pool(x, output_size),
        lambda x: adaptive_loop(x, (output_size,), lambda block: reduce(block, axis=-1)),
        [distinct(2, 2, length)],
    ))  # fmt: skip


def test_adaptive_pooling_matches_pytorchs_numbers():
    """torch.nn.functional.adaptive_*_pool2d(ramp(1, 2, 5, 7), (3, 4)) and the 1-D pools of
    ramp(2, 5, 7) to 3 bins, with indices."""
    x = ramp(1, 2, 5, 7)
    out = adaptive_avg_pool2d(mg.tensor(x), (3, 4))
    np.testing.assert_allclose(out.data[0, 0], [[-0.4375, 0.125, -1 / 24, 0.0625],
                                                [-1 / 6, -5 / 36, 0.0, -0.125],
                                                [-0.125, -0.25, 1 / 24, -0.3125]],
                               rtol=1e-12, atol=1e-15)  # fmt: skip
    out, indices = adaptive_max_pool2d(mg.tensor(x), (3, 4), return_indices=True)
    np.testing.assert_array_equal(out.data[0], [
        [[0.5, 1.25, 1.25, 1.0], [1.25, 1.0, 1.25, 0.75], [1.0, 0.75, 1.25, 0.5]],
        [[1.25, 1.25, 1.25, 1.25], [1.0, 1.25, 1.25, 1.25], [0.75, 1.25, 1.0, 1.25]]])  # fmt: skip
    np.testing.assert_array_equal(indices.data[0], [
        [[1, 3, 3, 6], [14, 17, 25, 20], [28, 31, 25, 34]],
        [[1, 1, 12, 12], [15, 23, 12, 12], [29, 23, 26, 34]]])  # fmt: skip
    out = adaptive_avg_pool1d(mg.tensor(x[0]), 3)  # (N, C, L) = (2, 5, 7)
    np.testing.assert_allclose(out.data[0, :2], [[-5 / 12, 1 / 3, 1 / 6], [-1 / 12, -0.25, -5 / 12]],
                               rtol=1e-12)  # fmt: skip
    out, indices = adaptive_max_pool1d(mg.tensor(x[0]), 3, return_indices=True)
    np.testing.assert_array_equal(out.data[0, :2], [[0.5, 1.25, 1.0], [0.75, 0.75, 0.5]])
    np.testing.assert_array_equal(indices.data[0], [[1, 3, 6], [2, 2, 5], [0, 3, 6], [2, 4, 4],
                                                 [0, 3, 6]])  # fmt: skip


def test_adaptive_avg_pool_gradient_closed_form():
    """Bins of 5 over 3: [0, 2), [1, 4), [3, 5); each element gets 1/|bin| from every bin that
    holds it."""
    x = mg.tensor(np.zeros((1, 1, 5)), requires_grad=True)
    adaptive_avg_pool1d(x, 3).sum().backward()
    np.testing.assert_allclose(
        x.grad.data[0, 0], [1 / 2, 1 / 2 + 1 / 3, 1 / 3, 1 / 3 + 1 / 2, 1 / 2]
    )


# ----- modules -----------------------------------------------------------------------------------


def test_pool_modules_are_the_functions_and_reprs_are_pytorchs():
    x = mg.tensor(distinct(2, 3, 8))
    np.testing.assert_array_equal(nn.MaxPool1d(3, 2, 1, ceil_mode=True)(x).data,
                                  max_pool1d(x, 3, 2, 1, ceil_mode=True).data)  # fmt: skip
    np.testing.assert_array_equal(nn.AvgPool1d(3, 2, 1, True, False)(x).data,
                                  avg_pool1d(x, 3, 2, 1, True, False).data)  # fmt: skip
    np.testing.assert_array_equal(nn.AdaptiveMaxPool1d(3)(x).data, adaptive_max_pool1d(x, 3).data)
    images = mg.tensor(distinct(2, 3, 5, 6))
    np.testing.assert_array_equal(nn.AvgPool2d(3, 2, 1, True, False, 2)(images).data,
                                  avg_pool2d(images, 3, 2, 1, True, False, 2).data)  # fmt: skip
    np.testing.assert_array_equal(nn.AdaptiveAvgPool2d((2, None))(images).data,
                                  adaptive_avg_pool2d(images, (2, 6)).data)  # fmt: skip
    for pool in (nn.AdaptiveMaxPool2d((2, 3)), nn.AdaptiveAvgPool2d(4), nn.MaxPool2d(2, 1)):
        np.testing.assert_array_equal(pool(images[0]).data, pool(images).data[0])  # (C, H, W)
    assert repr(nn.MaxPool1d(3)) == (
        "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)"
    )
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.AdaptiveAvgPool2d((5, None))) == "AdaptiveAvgPool2d(output_size=(5, None))"
    assert repr(nn.AdaptiveMaxPool1d(3)) == "AdaptiveMaxPool1d(output_size=3)"
    assert all(list(m.state_dict()) == [] for m in (nn.MaxPool1d(2), nn.AdaptiveAvgPool2d(1)))


def test_global_average_pooling_head_trains():
    """Conv -> AdaptiveAvgPool2d(1) -> Flatten -> Linear: every parameter's gradient checks."""
    model = nn.Sequential(nn.Conv2d(2, 4, 3, generator=mg.Generator(0)), nn.ReLU(),
                          nn.AdaptiveMaxPool2d((2, 3)), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 2, generator=mg.Generator(1)))  # fmt: skip
    report = nn.check_module(model, lambda out: (out**2).sum(), distinct(2, 2, 7, 8), n_coords=5)
    assert report, report


# ----- errors ------------------------------------------------------------------------------------


def test_pooling_errors_name_the_layer_and_the_shapes():
    with pytest.raises(mg.ShapeError) as info:
        nn.MaxPool1d(5, dilation=2)(mg.zeros((2, 3, 6)))
    assert str(info.value) == (
        "MaxPool1d(kernel_size=5, stride=5, padding=0, dilation=2, ceil_mode=False): got input "
        "of shape (2, 3, 6); its padded spatial size 6 is smaller than the kernel's extent 9 "
        "(kernel 5, dilation 2)"
    )
    with pytest.raises(mg.ShapeError, match=r"^AvgPool1d\(.*\): got input of shape \(2, 3, 4, 4\);"
                                            r" expected \(N, C, L\) or \(C, L\)"):  # fmt: skip
        nn.AvgPool1d(2)(mg.zeros((2, 3, 4, 4)))
    with pytest.raises(mg.OpError, match=r"^avg_pool1d: padding 2 must be at most half the "
                                         r"kernel's extent 3"):  # fmt: skip
        avg_pool1d(mg.zeros((1, 1, 6)), 3, padding=2)
    with pytest.raises(mg.OpError, match=r"^avg_pool2d: divisor_override must be non-zero"):
        avg_pool2d(mg.zeros((1, 1, 4, 4)), 2, divisor_override=0)
    with pytest.raises(mg.ShapeError, match=r"^adaptive_avg_pool2d: output_size must be an int or "
                                            r"a pair of ints .*got \(2, 0\)"):  # fmt: skip
        adaptive_avg_pool2d(mg.zeros((1, 1, 4, 4)), (2, 0))
    with pytest.raises(mg.ShapeError, match=r"^AdaptiveAvgPool1d: output_size must be an int"):
        nn.AdaptiveAvgPool1d((2, 2))
    with pytest.raises(mg.ShapeError, match=r"^adaptive_max_pool2d: got input of shape "
                                            r"\(1, 1, 0, 4\); its spatial dims must not be empty"):  # fmt: skip
        adaptive_max_pool2d(mg.zeros((1, 1, 0, 4)), 2)
