"""The convolution and max-pooling primitives: Convolution, MaxPool, and the pair that carries
max pooling's gradient, Unpool and Pick (each the other's transpose).

Forward values are checked against loops over every output element written here (from
PyTorch's definitions); the harness checks every derivative against finite differences. The
bilinear/linear cases are squared so that second derivatives depend on the op's rules too.
"""

import itertools

import numpy as np
import pytest
from harness import Case, check_case
from window_reference import conv_loop

import minigrad as mg
from minigrad.ops import Convolution, MaxPool, Pick, Unpool
from minigrad.ops.pooling import winners

rng = np.random.default_rng(11)


def randn(*shape):
    return rng.standard_normal(shape)


def distinct(*shape):
    """Values with no ties (so max pooling is differentiable at them), in random order."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


def windows_of(x, kernel, stride, dilation):
    """Each window's elements in row-major order: (N, C, OH, OW, kh * kw), one at a time."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    OH, OW = (H - dh * (kh - 1) - 1) // sh + 1, (W - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, C, OH, OW, kh * kw), x.dtype)
    for n, c, i, j, p, q in itertools.product(*map(range, (N, C, OH, OW, kh, kw))):
        out[n, c, i, j, p * kw + q] = x[n, c, i * sh + p * dh, j * sw + q * dw]
    return out


def unpool_loop(g, won, size, kernel, stride, dilation):
    """g[n, c, i, j] added at the offset k of its window where won[k, n, i, j, c]."""
    assert (won.sum(axis=0) == 1).all()  # one winner per window
    found = won.argmax(axis=0)
    N, C, OH, OW = g.shape
    (_, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    out = np.zeros((N, C, *size))
    for n, c, i, j in itertools.product(range(N), range(C), range(OH), range(OW)):
        p, q = divmod(int(found[n, i, j, c]), kw)
        out[n, c, i * sh + p * dh, j * sw + q * dw] += g[n, c, i, j]
    return out


# (name, x shape, weight shape, padding, stride, dilation, groups, bias)
CONVOLUTIONS = [
    ("3x3 padding 1", (2, 1, 5, 5), (3, 1, 3, 3), ((1, 1), (1, 1)), (1, 1), (1, 1), 1, True),
    ("2 channels no bias", (1, 2, 4, 5), (2, 2, 2, 3), ((0, 0), (0, 0)), (1, 1), (1, 1), 1, False),
    (
        "stride 2, uneven pads",
        (1, 2, 5, 4),
        (2, 2, 3, 2),
        ((1, 0), (0, 2)),
        (2, 1),
        (1, 1),
        1,
        True,
    ),
    ("dilation 2", (1, 1, 6, 6), (2, 1, 2, 2), ((1, 1), (0, 0)), (1, 2), (2, 2), 1, True),
    ("groups 2", (1, 4, 4, 4), (4, 2, 2, 2), ((0, 0), (1, 1)), (1, 1), (1, 1), 2, True),
    ("depthwise", (2, 3, 3, 4), (3, 1, 2, 2), ((1, 1), (1, 1)), (2, 2), (1, 1), 3, False),
]


def convolution_case(name, x_shape, w_shape, padding, stride, dilation, groups, bias) -> Case:
    params = dict(padding=padding, stride=stride, dilation=dilation, groups=groups)
    inputs = [randn(*x_shape), randn(*w_shape)] + ([randn(w_shape[0])] if bias else [])
    return Case(
        f"convolution {name}",
        lambda *xs: Convolution.apply(*xs, **params) ** 2,
        lambda x, w, b=None: conv_loop(x, w, b, stride, padding, dilation, groups) ** 2,
        inputs,
    )


# (name, x shape, kernel, stride, dilation)
POOLS = [
    ("2x2 tiles", (2, 3, 4, 4), (2, 2), (2, 2), (1, 1)),
    ("2x2 tiles, a row unused", (1, 2, 5, 4), (2, 2), (2, 2), (1, 1)),
    ("3x3 stride 1, overlapping", (1, 2, 5, 5), (3, 3), (1, 1), (1, 1)),
    ("2x3 stride (1, 2)", (1, 1, 4, 7), (2, 3), (1, 2), (1, 1)),
    ("dilation 2", (2, 1, 5, 5), (2, 2), (1, 1), (2, 2)),
    ("1x1", (1, 2, 3, 3), (1, 1), (2, 2), (1, 1)),
]


def max_pool_case(name, shape, kernel, stride, dilation) -> Case:
    window = dict(kernel=kernel, stride=stride, dilation=dilation)
    return Case(
        f"max pool {name}",
        lambda x: MaxPool.apply(x, **window) ** 2,
        lambda x: windows_of(x, kernel, stride, dilation).max(axis=-1) ** 2,
        [distinct(*shape)],
    )


def found_of(shape, kernel, stride, dilation):
    """The winners of a random image's windows: a boolean input for Unpool and Pick."""
    x = randn(*shape)
    y = windows_of(x, kernel, stride, dilation).max(axis=-1)
    return winners(x, y, kernel, stride, dilation)


def unpool_case(name, shape, kernel, stride, dilation) -> Case:
    window = dict(kernel=kernel, stride=stride, dilation=dilation)
    found = found_of(shape, kernel, stride, dilation)
    N, C, size = shape[0], shape[1], shape[2:]
    return Case(
        f"unpool {name}",
        lambda g, f: Unpool.apply(g, f, size=size, **window) ** 2,
        lambda g, f: unpool_loop(g, f, size, kernel, stride, dilation) ** 2,
        [randn(N, C, *found.shape[2:4]), found],
    )


def pick_case(name, shape, kernel, stride, dilation) -> Case:
    window = dict(kernel=kernel, stride=stride, dilation=dilation)
    found = found_of(shape, kernel, stride, dilation)

    def ref(x, f):
        w = windows_of(x, kernel, stride, dilation)
        first = f.argmax(axis=0).transpose(0, 3, 1, 2)  # (N, C, OH, OW) offsets
        return np.take_along_axis(w, first[..., None], -1)[..., 0] ** 2

    return Case(
        f"pick {name}",
        lambda x, f: Pick.apply(x, f, **window) ** 2,
        ref,
        [randn(*shape), found],
    )


CASES = (
    [convolution_case(*c) for c in CONVOLUTIONS]
    + [max_pool_case(*p) for p in POOLS]
    + [unpool_case(*p) for p in POOLS]
    + [pick_case(*p) for p in POOLS]
)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima():
    """Windows of equal values (what a ReLU leaves): the whole gradient to the first, as
    PyTorch's max_pool2d."""
    x = mg.tensor(np.zeros((1, 1, 2, 4)), requires_grad=True)
    MaxPool.apply(x, kernel=(2, 2), stride=(2, 2), dilation=(1, 1)).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])
    # Ties after a smaller first element, and ties among the later offsets of a 3x3 window.
    image = [[0, 1, 5, 5, 2, 2], [5, 5, 1, 5, 2, 9], [1, 1, 1, 5, 9, 9]]
    x = mg.tensor(np.array(image, float)[None, None], requires_grad=True)
    MaxPool.apply(x, kernel=(3, 3), stride=(3, 3), dilation=(1, 1)).sum().backward()
    expected = [[0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]]
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)


def test_max_pool_gradient_goes_to_a_nan():
    """A NaN is its window's maximum (np.maximum propagates it), and gets the gradient."""
    x = mg.tensor(np.array([[[[1.0, np.nan], [3.0, 2.0]]]]), requires_grad=True)
    y = MaxPool.apply(x, kernel=(2, 2), stride=(2, 2), dilation=(1, 1))
    assert np.isnan(y.item())
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 1], [0, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convolution_keeps_the_dtype_and_lays_its_output_out_channels_last(dtype):
    x = mg.tensor(randn(2, 3, 5, 5).astype(dtype))
    w, b = mg.tensor(randn(4, 3, 3, 3).astype(dtype)), mg.tensor(randn(4).astype(dtype))
    y = Convolution.apply(x, w, b, padding=((1, 1), (1, 1)), stride=(1, 1), dilation=(1, 1),
                          groups=1)  # fmt: skip
    assert y.shape == (2, 4, 5, 5) and y.dtype == dtype
    assert y.data.transpose(0, 2, 3, 1).flags.c_contiguous  # (N, OH, OW, O) in memory


def test_convolution_computes_no_patches_for_an_image_without_grad():
    """Only the cotangents that are needed: with the image a constant, the image's cotangent
    (a fold) is not formed, and the weight's still is."""
    x = mg.tensor(randn(1, 1, 4, 4))
    w = mg.tensor(randn(2, 1, 3, 3), requires_grad=True)
    y = Convolution.apply(x, w, padding=((1, 1), (1, 1)), stride=(1, 1), dilation=(1, 1), groups=1)
    g = randn(*y.shape)
    gx, gw = Convolution.vjp(g, y, x, w, padding=((1, 1), (1, 1)), stride=(1, 1), dilation=(1, 1),
                             groups=1, xp=mg.ops.ArrayMath)  # fmt: skip
    assert gx is None
    padded = np.pad(x.data[0, 0], 1)
    patches = np.stack([padded[p : p + 4, q : q + 4] for p in range(3) for q in range(3)])
    np.testing.assert_allclose(gw.reshape(2, 9), np.einsum("oij,kij->ok", g[0], patches))
