"""Resampling and reshaping layers: interpolate/Upsample in every mode against PyTorch's own
numbers (written in), their derivatives against finite differences, pixel_shuffle/unshuffle
and Unflatten, and errors."""

import numpy as np
import pytest
from window_reference import ramp

import minigrad as mg
from minigrad import nn
from minigrad.nn.functional import interpolate, pixel_shuffle, pixel_unshuffle

rng = np.random.default_rng(23)

IMAGE = ramp(1, 1, 3, 4, scale=0.5)  # the image PyTorch's numbers below were computed from

# torch.nn.functional.interpolate(IMAGE, mode=mode, **kwargs)[0, 0]
PYTORCH_2D = [
    ("nearest", {"size": (5, 7)}, [
        [-2.5, -2.5, 1.0, 1.0, -1.0, -1.0, 2.5], [-2.5, -2.5, 1.0, 1.0, -1.0, -1.0, 2.5],
        [0.5, 0.5, -1.5, -1.5, 2.0, 2.0, 0.0], [0.5, 0.5, -1.5, -1.5, 2.0, 2.0, 0.0],
        [-2.0, -2.0, 1.5, 1.5, -0.5, -0.5, -2.5]]),
    ("nearest-exact", {"size": (5, 7)}, [
        [-2.5, -2.5, 1.0, -1.0, -1.0, 2.5, 2.5], [-2.5, -2.5, 1.0, -1.0, -1.0, 2.5, 2.5],
        [0.5, 0.5, -1.5, 2.0, 2.0, 0.0, 0.0], [-2.0, -2.0, 1.5, -0.5, -0.5, -2.5, -2.5],
        [-2.0, -2.0, 1.5, -0.5, -0.5, -2.5, -2.5]]),
    ("nearest", {"scale_factor": 1.5}, [
        [-2.5, -2.5, 1.0, -1.0, -1.0, 2.5], [-2.5, -2.5, 1.0, -1.0, -1.0, 2.5],
        [0.5, 0.5, -1.5, 2.0, 2.0, 0.0], [-2.0, -2.0, 1.5, -0.5, -0.5, -2.5]]),
    ("bilinear", {"scale_factor": 2}, [
        [-2.5, -1.625, 0.125, 0.5, -0.5, -0.125, 1.625, 2.5],
        [-1.75, -1.21875, -0.15625, 0.21875, -0.09375, 0.28125, 1.34375, 1.875],
        [-0.25, -0.40625, -0.71875, -0.34375, 0.71875, 1.09375, 0.78125, 0.625],
        [-0.125, -0.28125, -0.59375, -0.21875, 0.84375, 0.875, -0.125, -0.625],
        [-1.375, -0.84375, 0.21875, 0.59375, 0.28125, -0.375, -1.375, -1.875],
        [-2.0, -1.125, 0.625, 1.0, 0.0, -1.0, -2.0, -2.5]]),
    ("bilinear", {"size": (2, 6), "align_corners": True}, [
        [-2.5, -0.4, 0.6, -0.6, 0.4, 2.5], [-2.0, 0.1, 1.1, -0.1, -1.3, -2.5]]),
    ("bicubic", {"size": (4, 5)}, [
        [-2.95193964, 0.35682501, -0.01794434, -0.39271368, 2.91605096],
        [-0.26859088, -0.98907037, 0.07579803, 1.42254816, 1.17443958],
        [-0.03348346, -0.75396295, 0.55335999, 0.9361109, -1.33374518],
        [-2.41605096, 0.89271368, 1.07057953, -1.50146735, -2.80094336]]),
    ("area", {"size": (2, 3)}, [[-0.625, 0.125, 0.875], [-0.375, 0.375, -0.25]]),
]  # fmt: skip


@pytest.mark.parametrize("mode, kwargs, expected", PYTORCH_2D,
                         ids=[f"{m} {k}" for m, k, _ in PYTORCH_2D])  # fmt: skip
def test_interpolate_2d_matches_pytorchs_numbers(mode, kwargs, expected):
    out = interpolate(mg.tensor(IMAGE), mode=mode, **kwargs)
    np.testing.assert_allclose(out.data[0, 0], expected, atol=1e-8)


SEQUENCE = ramp(1, 2, 4, scale=0.5)

# torch.nn.functional.interpolate(SEQUENCE, mode="linear", **kwargs)
PYTORCH_1D = [
    ({"size": 7}, [[-2.5, -1.25, 0.75, 0.0, -0.75, 1.25, 2.5],
                   [0.5, -0.21428571, -1.35714286, 0.25, 1.85714286, 0.71428571, 0.0]]),
    ({"scale_factor": 1.5, "align_corners": True}, [[-2.5, -0.4, 0.6, -0.6, 0.4, 2.5],
                                                    [0.5, -0.7, -0.8, 1.3, 1.2, 0.0]]),
    # The scale factor itself places the samples: 1 / 1.7, not 4 / 6.
    ({"scale_factor": 1.7}, [[-2.5, -1.16176471, 0.89705882, -0.11764706, -0.48529412, 1.57352941],
                             [0.5, -0.26470588, -1.44117647, 0.45588235, 1.70588235, 0.52941176]]),
    ({"scale_factor": 1.7, "recompute_scale_factor": True},
     [[-2.5, -0.75, 2 / 3, -2 / 3, 0.75, 2.5], [0.5, -0.5, -11 / 12, 17 / 12, 1.0, 0.0]]),
]  # fmt: skip


@pytest.mark.parametrize("kwargs, expected", PYTORCH_1D, ids=[str(k) for k, _ in PYTORCH_1D])
def test_interpolate_linear_matches_pytorchs_numbers(kwargs, expected):
    out = interpolate(mg.tensor(SEQUENCE), mode="linear", **kwargs)
    np.testing.assert_allclose(out.data[0], expected, atol=1e-8)


def test_interpolate_trilinear_matches_pytorchs_numbers():
    out = interpolate(mg.tensor(ramp(1, 1, 2, 2, 3)), size=(3, 3, 2), mode="trilinear")
    np.testing.assert_allclose(out.data[0, 0], [
        [[-0.8125, -0.25], [0.09375, -0.375], [1.0, -0.5]],
        [[-0.03125, -0.5], [0.359375, -0.625], [0.75, -0.75]],
        [[0.75, -0.75], [0.625, -0.875], [0.5, -1.0]]], atol=1e-12)  # fmt: skip


def test_nearest_source_positions_are_computed_in_float32_as_pytorchs():
    """PyTorch's nearest takes floor(i * float32(1 / scale_factor)): at i = 69 with scale 2.3
    that is floor(29.999998) = 29 (float64 would give 30); with 1.3 at i = 39, 30 (not 29)."""
    x = mg.tensor(np.arange(31.0, dtype=np.float32).reshape(1, 1, 1, 31))
    out = interpolate(x, scale_factor=(1, 2.3), mode="nearest")
    assert out.shape == (1, 1, 1, 71) and out.data[0, 0, 0, 69] == 29
    assert interpolate(x, scale_factor=(1, 1.3), mode="nearest").data[0, 0, 0, 39] == 30


def test_nearest_and_area_over_one_and_three_spatial_dims():
    """Source of output i: floor(i * in / out) along each dim; "area" is adaptive averaging."""
    x = rng.standard_normal((2, 3, 5))
    np.testing.assert_array_equal(interpolate(mg.tensor(x), size=8).data,
                                  x[..., np.arange(8) * 5 // 8])  # fmt: skip
    np.testing.assert_array_equal(interpolate(mg.tensor(x), size=3, mode="area").data,
                                  mg.nn.functional.adaptive_avg_pool1d(mg.tensor(x), 3).data)  # fmt: skip
    volume = rng.standard_normal((1, 2, 3, 4, 5))
    d, h, w = np.arange(5) * 3 // 5, np.arange(2) * 4 // 2, np.arange(7) * 5 // 7
    expected = volume[:, :, d[:, None, None], h[None, :, None], w[None, None, :]]
    np.testing.assert_array_equal(interpolate(mg.tensor(volume), size=(5, 2, 7)).data, expected)
    area = interpolate(mg.tensor(volume), size=(1, 2, 5), mode="area").data
    np.testing.assert_allclose(area, volume.reshape(1, 2, 1, 3, 2, 2, 5, 1).mean(axis=(3, 5, 7)))


@pytest.mark.parametrize("mode, kwargs", [
    ("nearest", {"size": (5, 3)}), ("nearest-exact", {"scale_factor": 1.5}),
    ("bilinear", {"scale_factor": (2, 0.7)}), ("bilinear", {"size": (4, 4), "align_corners": True}),
    ("bicubic", {"scale_factor": 1.5}), ("bicubic", {"size": (2, 5), "align_corners": True}),
    ("area", {"size": (2, 3)}),
])  # fmt: skip
def test_interpolate_gradients_in_both_modes(mode, kwargs):
    x = rng.standard_normal((2, 2, 3, 4))

    def f(x):
        return interpolate(x, mode=mode, **kwargs) ** 2

    assert (report := mg.gradcheck(f, x)), report
    assert (report := mg.check_grads(f, x, modes=("fwd", "rev"))), report


def test_nearest_upsampling_gradient_closed_form():
    """Doubling each pixel into a 2x2 block: each input pixel's gradient is the sum of its block's."""
    x = mg.tensor(rng.standard_normal((1, 2, 3, 3)), requires_grad=True)
    g = rng.standard_normal((1, 2, 6, 6))
    interpolate(x, scale_factor=2).backward(mg.tensor(g))
    np.testing.assert_allclose(x.grad.data, g.reshape(1, 2, 3, 2, 3, 2).sum(axis=(3, 5)))


def test_upsample_modules_and_reprs_are_pytorchs():
    x = mg.tensor(rng.standard_normal((2, 3, 4, 5)))
    up = nn.Upsample(scale_factor=2, mode="bilinear")
    np.testing.assert_array_equal(up(x).data, interpolate(x, scale_factor=2, mode="bilinear").data)
    assert repr(up) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(nn.Upsample(size=(3, 4))) == "Upsample(size=(3, 4), mode='nearest')"
    corners = nn.UpsamplingBilinear2d(scale_factor=2)
    assert repr(corners) == "UpsamplingBilinear2d(scale_factor=2.0, mode='bilinear')"
    np.testing.assert_array_equal(
        corners(x).data, interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).data
    )
    np.testing.assert_array_equal(nn.UpsamplingNearest2d(size=7)(x).data,
                                  interpolate(x, size=7).data)  # fmt: skip
    assert list(up.state_dict()) == []


# ----- pixel shuffle -----------------------------------------------------------------------------


def test_pixel_shuffle_places_channel_c_r2_plus_i_r_plus_j_at_offset_i_j():
    x = rng.standard_normal((2, 3 * 4, 2, 3))
    out = pixel_shuffle(mg.tensor(x), 2)
    assert out.shape == (2, 3, 4, 6)
    for c, i, j in np.ndindex(3, 2, 2):
        np.testing.assert_array_equal(out.data[:, c, i::2, j::2], x[:, c * 4 + i * 2 + j])
    np.testing.assert_array_equal(pixel_unshuffle(out, 2).data, x)
    batched = rng.standard_normal((2, 3, 9, 2, 2))  # any leading dims (*, C r^2, H, W)
    np.testing.assert_array_equal(pixel_shuffle(mg.tensor(batched), 3).data[1, 2],
                                  pixel_shuffle(mg.tensor(batched[1, 2]), 3).data)  # fmt: skip


def test_pixel_shuffle_gradients_and_modules():
    x = rng.standard_normal((1, 8, 2, 2))
    assert (report := mg.check_grads(lambda x: pixel_shuffle(x, 2) ** 2, x)), report
    assert (report := mg.gradcheck(lambda x: pixel_unshuffle(x**2, 2), x)), report
    module = nn.PixelShuffle(2)
    assert repr(module) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(3)) == "PixelUnshuffle(downscale_factor=3)"
    np.testing.assert_array_equal(module(mg.tensor(x)).data, pixel_shuffle(mg.tensor(x), 2).data)


# ----- Unflatten ---------------------------------------------------------------------------------


def test_unflatten_splits_a_dim_as_pytorchs():
    x = mg.tensor(rng.standard_normal((4, 24)))
    layer = nn.Unflatten(1, (2, -1, 3))
    assert layer(x).shape == (4, 2, 4, 3)
    np.testing.assert_array_equal(layer(x).data, x.data.reshape(4, 2, 4, 3))
    assert repr(nn.Unflatten(1, (2, 12))) == "Unflatten(dim=1, unflattened_size=(2, 12))"
    assert nn.Unflatten(-1, [2, 3])(mg.zeros((5, 6))).shape == (5, 2, 3)
    model = nn.Sequential(nn.Linear(3, 8, generator=mg.Generator(0)), nn.Unflatten(1, (2, 2, 2)),
                          nn.Conv2d(2, 1, 2, generator=mg.Generator(1)), nn.Flatten())  # fmt: skip
    report = nn.check_module(model, lambda out: (out**2).sum(), rng.standard_normal((2, 3)))
    assert report, report
    with pytest.raises(mg.ShapeError, match=r"^unflatten: sizes \[5, -1\] do not multiply to 24"):
        nn.Unflatten(1, (5, -1))(x)


# ----- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda x: interpolate(x, size=3, scale_factor=2), mg.OpError,
     r"^interpolate: give exactly one of size and scale_factor"),
    (lambda x: interpolate(x), mg.OpError, r"^interpolate: give exactly one of size and scale"),
    (lambda x: interpolate(x, size=3, align_corners=True), mg.OpError,
     r"^interpolate: align_corners can only be set with the interpolating modes .*not mode "
     r"'nearest'"),
    (lambda x: interpolate(x, size=3, mode="linear"), mg.ShapeError,
     r"^interpolate: got input of shape \(1, 1, 3, 4\), but mode 'linear' needs 3-D input"),
    (lambda x: interpolate(x[0], size=3, mode="bilinear"), mg.ShapeError,
     r"^interpolate: got input of shape \(1, 3, 4\), but mode 'bilinear' needs 4-D input"),
    (lambda x: interpolate(x[0, 0], size=3), mg.ShapeError,
     r"^interpolate: got input of shape \(3, 4\), but mode 'nearest' needs 3-D to 5-D input"),
    (lambda x: interpolate(x, size=3, mode="lanczos"), mg.OpError,
     r"^interpolate: mode must be one of 'nearest', .*; got 'lanczos'"),
    (lambda x: interpolate(x, size=3, mode="bilinear", antialias=True), mg.OpError,
     r"^interpolate: antialias=True .* is not supported"),
    (lambda x: interpolate(x, size=(3, 4, 5)), mg.ShapeError,
     r"^interpolate: size \(3, 4, 5\) must be an int or 2 ints, one per spatial dim of the "
     r"input's \(3, 4\)"),
    (lambda x: interpolate(x, scale_factor=0.1), mg.ShapeError,
     r"^interpolate: the output size \(0, 0\) for an input of shape \(1, 1, 3, 4\) is empty"),
    (lambda x: interpolate(x, size=5, recompute_scale_factor=True), mg.OpError,
     r"^interpolate: recompute_scale_factor is not meaningful with an explicit size"),
    (lambda x: pixel_shuffle(x, 2), mg.ShapeError,
     r"^pixel_shuffle: got input of shape \(1, 1, 3, 4\); expected \(\*, C \* 4, H, W\)"),
    (lambda x: pixel_unshuffle(x, 2), mg.ShapeError,
     r"^pixel_unshuffle: got input of shape \(1, 1, 3, 4\); expected .*divisible by "
     r"downscale_factor=2"),
    (lambda x: nn.PixelShuffle(0), mg.OpError, r"^PixelShuffle: the factor must be a positive int"),
])  # fmt: skip
def test_resampling_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(mg.tensor(IMAGE))
