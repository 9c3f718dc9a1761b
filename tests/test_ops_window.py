"""Sliding windows: Unfold (every window as patches) and Fold (its transpose, adding back).

Forward values are checked against loops over every output element written here; each case is
squared so that second derivatives depend on the op's rules too (both ops are linear).
"""

import itertools

import numpy as np
import pytest
from harness import Case, check_case
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.ops import Fold, Unfold

rng = np.random.default_rng(5)


def randn(*shape):
    return rng.standard_normal(shape)


def out_size(size, kernel, stride, dilation):
    return tuple(
        (n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(size, kernel, stride, dilation)
    )


def unfold_loop(x, kernel, stride, dilation):
    """patches[n, i, j, c, p, q] = x[n, c, i * sh + p * dh, j * sw + q * dw], one at a time."""
    N, C, H, W = x.shape
    OH, OW = out_size((H, W), kernel, stride, dilation)
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    out = np.zeros((N, OH, OW, C, kh, kw), x.dtype)
    for n, i, j, c, p, q in itertools.product(*map(range, out.shape)):
        out[n, i, j, c, p, q] = x[n, c, i * sh + p * dh, j * sw + q * dw]
    return out


def fold_loop(patches, size, kernel, stride, dilation):
    """The same index map, adding each patch element into its pixel."""
    N, OH, OW, C, kh, kw = patches.shape
    (sh, sw), (dh, dw) = stride, dilation
    out = np.zeros((N, C, *size), patches.dtype)
    for n, i, j, c, p, q in itertools.product(*map(range, patches.shape)):
        out[n, c, i * sh + p * dh, j * sw + q * dw] += patches[n, i, j, c, p, q]
    return out


# (name, x shape, kernel, stride, dilation)
WINDOWS = [
    ("3x3 stride 1", (1, 1, 4, 4), (3, 3), (1, 1), (1, 1)),
    ("2 channels 2x2 stride 2", (2, 2, 4, 4), (2, 2), (2, 2), (1, 1)),
    ("non-square kernel 2x3", (1, 2, 4, 5), (2, 3), (1, 1), (1, 1)),
    ("strides (2, 1), overlapping", (1, 1, 5, 4), (3, 2), (2, 1), (1, 1)),
    ("stride leaves a row unused", (1, 1, 6, 5), (2, 2), (3, 2), (1, 1)),
    ("dilation 2", (1, 1, 5, 5), (2, 2), (1, 1), (2, 2)),
    ("dilation (1, 2) stride (1, 2)", (1, 2, 3, 6), (2, 2), (1, 2), (1, 2)),
    ("1x1 kernel stride 2", (2, 1, 3, 3), (1, 1), (2, 2), (1, 1)),
    ("kernel as large as the input", (1, 1, 3, 2), (3, 2), (1, 1), (1, 1)),
]


def params(kernel, stride, dilation):
    return {"kernel": kernel, "stride": stride, "dilation": dilation}


def unfold_case(name, shape, kernel, stride, dilation) -> Case:
    p = params(kernel, stride, dilation)
    return Case(
        f"unfold {name} {shape}",
        lambda x: Unfold.apply(x, **p) ** 2,
        lambda x: unfold_loop(x, kernel, stride, dilation) ** 2,
        [randn(*shape)],
    )


def fold_case(name, shape, kernel, stride, dilation) -> Case:
    N, C, H, W = shape
    OH, OW = out_size((H, W), kernel, stride, dilation)
    p = params(kernel, stride, dilation)
    return Case(
        f"fold {name} {shape}",
        lambda patches: Fold.apply(patches, size=(H, W), **p) ** 2,
        lambda patches: fold_loop(patches, (H, W), kernel, stride, dilation) ** 2,
        [randn(N, OH, OW, C, *kernel)],
    )


def unfold_with_ones_case(name, shape, kernel, stride, dilation) -> Case:
    """The rows of a matrix with a column of ones after the patches (for a bias row)."""
    p = params(kernel, stride, dilation)

    def reference(x):
        patches = unfold_loop(x, kernel, stride, dilation)
        rows = patches.reshape(int(np.prod(patches.shape[:3])), -1)
        return np.concatenate([rows, np.ones((len(rows), 1))], axis=1) ** 2

    return Case(
        f"unfold with ones {name} {shape}",
        lambda x: Unfold.apply(x, ones=True, **p) ** 2,
        reference,
        [randn(*shape)],
    )


CASES = (
    [unfold_case(*w) for w in WINDOWS]
    + [fold_case(*w) for w in WINDOWS]
    + [unfold_with_ones_case(*w) for w in WINDOWS[:3]]
)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
    kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
    dh=st.integers(1, 2), dw=st.integers(1, 2),
)  # fmt: skip
def test_unfold_and_fold_match_loops_and_are_transposes(n, c, h, w, kh, kw, sh, sw, dh, dw):
    """Forward values match the loops, and <unfold(x), p> = <x, fold(p)> (adjoint operators)."""
    kernel, stride, dilation = (kh, kw), (sh, sw), (dh, dw)
    if min(out_size((h, w), kernel, stride, dilation)) < 1:
        return
    x = randn(n, c, h, w)
    patches = Unfold.apply(mg.tensor(x), **params(kernel, stride, dilation)).data
    np.testing.assert_array_equal(patches, unfold_loop(x, kernel, stride, dilation))
    p = randn(*patches.shape)
    image = Fold.apply(mg.tensor(p), size=(h, w), **params(kernel, stride, dilation)).data
    np.testing.assert_allclose(image, fold_loop(p, (h, w), kernel, stride, dilation), atol=1e-12)
    np.testing.assert_allclose(np.sum(patches * p), np.sum(x * image), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    x = mg.tensor(randn(1, 2, 4, 4).astype(dtype))
    patches = Unfold.apply(x, **params((2, 2), (1, 1), (1, 1)))
    assert patches.dtype == dtype
    assert Fold.apply(patches, size=(4, 4), **params((2, 2), (1, 1), (1, 1))).dtype == dtype


def test_patches_are_contiguous_for_one_matrix_product():
    x = mg.tensor(randn(2, 3, 5, 5))
    patches = Unfold.apply(x, **params((3, 3), (2, 2), (1, 1)))
    assert patches.shape == (2, 2, 2, 3, 3, 3)
    assert patches.data.flags.c_contiguous


def test_unfold_of_a_kernel_larger_than_the_input_raises():
    with pytest.raises(mg.OpError, match=r"Unfold: .*does not fit"):
        Unfold.apply(mg.tensor(randn(1, 1, 2, 5)), **params((3, 3), (1, 1), (1, 1)))


def test_fold_to_a_size_the_patches_cannot_come_from_raises():
    patches = mg.tensor(randn(1, 2, 2, 1, 2, 2))  # 2x2 windows of a 3x3 image at stride 1
    with pytest.raises(mg.OpError, match=r"Fold: .*do not come from an image"):
        Fold.apply(patches, size=(5, 5), **params((2, 2), (1, 1), (1, 1)))
