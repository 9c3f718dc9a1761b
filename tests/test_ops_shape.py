"""Shape operations with PyTorch's meanings: reshape/view, permute/transpose, squeeze/expand,
joining, splitting, repeating, flipping and rolling.

Where numpy's function of the same name means the same, a case is one expression written once
against a module ``xp`` and run twice: with ``xp = mg`` on Tensors and with ``xp = np`` on arrays
(numpy is the reference). Where PyTorch's meaning differs from numpy's (``transpose``, ``split``,
``repeat``), the case writes the numpy that computes PyTorch's answer. Every op is
followed by ``** 2`` (or weighted pieces) so the second derivative depends on the op too:
a shape op is linear, and a wrong rule could hide behind a zero Hessian.
"""

import numpy as np
import pytest
from harness import Case, check_case
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def case(name, expr, *inputs, **kwargs) -> Case:
    """``expr(xp, *xs)`` with ``xp = mg`` checked against the same ``expr`` with ``xp = np``."""
    return Case(
        name,
        lambda *xs: expr(mg, *xs),
        lambda *arrays: expr(np, *arrays),
        list(inputs),
        **kwargs,
    )


def weighted(pieces, xp, dim):
    """Each piece times its own weight (1, 2, 3, ...), joined again and squared: a piece that
    came from the wrong place gets the wrong weight."""
    return xp.concatenate([p * (i + 1) for i, p in enumerate(pieces)], dim) ** 2


def numpy_split(a, size_or_sizes, axis):
    """PyTorch's split in numpy: pieces of a size (the last may be smaller), or of given sizes."""
    n = a.shape[axis]
    sizes = (
        [size_or_sizes] * (n // size_or_sizes) + [n % size_or_sizes] * bool(n % size_or_sizes)
        if isinstance(size_or_sizes, int)
        else size_or_sizes
    )
    return np.split(a, np.cumsum(sizes)[:-1], axis=axis)


CONSTANT_2x2 = randn(2, 2)
CONSTANT_3x1 = randn(3, 1)

RESHAPE = [
    case("reshape 2x3x4 -> (4, -1)", lambda xp, x: xp.reshape(x, (4, -1)) ** 2, randn(2, 3, 4)),
    case("reshape 6 -> (2, -1, 3)", lambda xp, x: xp.reshape(x, (2, -1, 3)) ** 2, randn(6)),
    case("reshape 2x3 -> (-1,)", lambda xp, x: xp.reshape(x, (-1,)) ** 2, randn(2, 3)),
    case("reshape method 2x6 -> 3, 4", lambda xp, x: x.reshape(3, 4) ** 2, randn(2, 6)),
    case("reshape 0-d -> (1, 1)", lambda xp, x: xp.reshape(x, (1, 1)) ** 2, np.array(0.7)),
    case("reshape 0-d -> (-1,)", lambda xp, x: xp.reshape(x, (-1,)) ** 2, np.array(-1.3)),
    case("reshape 1x1x1 -> 0-d", lambda xp, x: xp.reshape(x, ()) ** 2, randn(1, 1, 1)),
    Case("view 2x6 -> 4, -1", lambda x: x.view(4, -1) ** 2, lambda a: a.reshape(4, 3) ** 2,
         [randn(2, 6)]),
    Case("view_as 2x6 -> 3x4", lambda x: x.view_as(np.zeros((3, 4))) ** 2,
         lambda a: a.reshape(3, 4) ** 2, [randn(2, 6)]),
    Case("unflatten dim 1 -> (2, -1)", lambda x: x.unflatten(1, (2, -1)) ** 2,
         lambda a: a.reshape(3, 2, 3, 2) ** 2, [randn(3, 6, 2)]),
    Case("unflatten dim -1 -> (3, 1, 2)", lambda x: mg.unflatten(x, -1, (3, 1, 2)) ** 2,
         lambda a: a.reshape(2, 3, 1, 2) ** 2, [randn(2, 6)]),
]  # fmt: skip

FLATTEN = [
    Case("flatten all 2x3x2", lambda x: mg.flatten(x) ** 2, lambda a: a.reshape(-1) ** 2,
         [randn(2, 3, 2)]),
    Case("flatten 0-d", lambda x: mg.flatten(x) ** 2, lambda a: a.flatten() ** 2,
         [np.array(1.5)]),
    Case("flatten start_dim=1", lambda x: mg.flatten(x, start_dim=1) ** 2,
         lambda a: a.reshape(2, 12) ** 2, [randn(2, 3, 2, 2)]),
    Case("flatten start_dim=1 end_dim=2", lambda x: mg.flatten(x, 1, 2) ** 2,
         lambda a: a.reshape(2, 6, 2) ** 2, [randn(2, 3, 2, 2)]),
    Case("flatten start_dim=-2", lambda x: mg.flatten(x, start_dim=-2) ** 2,
         lambda a: a.reshape(2, 3, 4) ** 2, [randn(2, 3, 2, 2)]),
    Case("flatten start_dim=0 end_dim=-2", lambda x: mg.flatten(x, 0, -2) ** 2,
         lambda a: a.reshape(6, 4) ** 2, [randn(2, 3, 4)]),
]  # fmt: skip

TRANSPOSE = [
    Case("permute (1, 2, 0)", lambda x: mg.permute(x, (1, 2, 0)) ** 2,
         lambda a: a.transpose(1, 2, 0) ** 2, [randn(2, 3, 4)]),
    Case("permute 2, 0, 1 method", lambda x: x.permute(2, 0, 1) ** 2,
         lambda a: a.transpose(2, 0, 1) ** 2, [randn(2, 3, 4)]),
    Case("permute (-1, 0, 1)", lambda x: x.permute(-1, 0, 1) ** 2,
         lambda a: a.transpose(2, 0, 1) ** 2, [randn(2, 3, 4)]),
    Case("transpose 0 1 of a matrix", lambda x: x.transpose(0, 1) ** 2, lambda a: a.T ** 2,
         [randn(2, 3)]),
    Case("transpose 0 2 of 3-d", lambda x: mg.transpose(x, 0, 2) ** 2,
         lambda a: a.transpose(2, 1, 0) ** 2, [randn(2, 3, 4)]),
    Case("transpose -1 -2 of 3-d", lambda x: x.transpose(-1, -2) ** 2,
         lambda a: a.transpose(0, 2, 1) ** 2, [randn(2, 3, 4)]),
    Case("t() 2x3", lambda x: x.t() ** 2, lambda a: a.T ** 2, [randn(2, 3)]),
    Case("t() 1-d", lambda x: mg.t(x) ** 2, lambda a: a ** 2, [randn(3)]),
    Case(".mT 2x3x4", lambda x: x.mT ** 2, lambda a: a.transpose(0, 2, 1) ** 2, [randn(2, 3, 4)]),
    case(".T 2x3", lambda xp, x: x.T**2, randn(2, 3)),
    case(".T 2x3x4", lambda xp, x: x.T**2, randn(2, 3, 4)),
    case("swapaxes 0 2", lambda xp, x: xp.swapaxes(x, 0, 2) ** 2, randn(2, 3, 4)),
    case("swapaxes -1 1", lambda xp, x: xp.swapaxes(x, -1, 1) ** 2, randn(2, 3, 4)),
    case("moveaxis 0 -> -1", lambda xp, x: xp.moveaxis(x, 0, -1) ** 2, randn(2, 3, 4)),
    case("moveaxis 2 -> 0", lambda xp, x: xp.moveaxis(x, 2, 0) ** 2, randn(2, 3, 4)),
    case("moveaxis -1 -> 1", lambda xp, x: xp.moveaxis(x, -1, 1) ** 2, randn(2, 3, 4)),
    case("moveaxis (0, 1) -> (2, 0)", lambda xp, x: xp.moveaxis(x, (0, 1), (2, 0)) ** 2,
         randn(2, 3, 4)),
]  # fmt: skip

EXPAND_SQUEEZE = [
    case("expand_dims 0", lambda xp, x: xp.expand_dims(x, 0) ** 2, randn(2, 3)),
    case("expand_dims (-1, 0)", lambda xp, x: xp.expand_dims(x, (-1, 0)) ** 2, randn(2, 3)),
    case("expand_dims 0-d", lambda xp, x: xp.expand_dims(x, 0) ** 2, np.array(0.4)),
    Case("unsqueeze 1", lambda x: x.unsqueeze(1) ** 2, lambda a: a[:, None] ** 2, [randn(2, 3)]),
    Case("unsqueeze -1", lambda x: mg.unsqueeze(x, -1) ** 2, lambda a: a[..., None] ** 2,
         [randn(2, 3)]),
    Case("unsqueeze 0-d", lambda x: x.unsqueeze(0) ** 2, lambda a: a[None] ** 2, [np.array(0.4)]),
    case("squeeze all 1x3x1x2", lambda xp, x: xp.squeeze(x) ** 2, randn(1, 3, 1, 2)),
    case("squeeze axis 2", lambda xp, x: xp.squeeze(x, axis=2) ** 2, randn(1, 3, 1, 2)),
    case("squeeze axis -4", lambda xp, x: xp.squeeze(x, axis=-4) ** 2, randn(1, 3, 1, 2)),
    case("squeeze axis (0, 2)", lambda xp, x: xp.squeeze(x, axis=(0, 2)) ** 2, randn(1, 3, 1, 2)),
    case("squeeze 1x1 -> 0-d", lambda xp, x: xp.squeeze(x) ** 2, randn(1, 1)),
    Case("squeeze dim of size 3 is a no-op", lambda x: x.squeeze(1) ** 2, lambda a: a ** 2,
         [randn(1, 3, 1)]),
    Case("squeeze dims (0, 1) keeps the size-3 dim", lambda x: x.squeeze((0, 1)) ** 2,
         lambda a: a[0] ** 2, [randn(1, 3, 1)]),
]  # fmt: skip

BROADCAST = [
    case("broadcast_to 3 -> 2x3", lambda xp, x: xp.broadcast_to(x, (2, 3)) ** 2, randn(3)),
    case("broadcast_to 2x1x3 -> 2x4x3", lambda xp, x: xp.broadcast_to(x, (2, 4, 3)) ** 2,
         randn(2, 1, 3)),
    case("broadcast_to 1x3 -> 2x2x3", lambda xp, x: xp.broadcast_to(x, (2, 2, 3)) ** 2,
         randn(1, 3)),
    case("broadcast_to 3x1 -> 2x3x4", lambda xp, x: xp.broadcast_to(x, (2, 3, 4)) ** 2,
         randn(3, 1)),
    case("broadcast_to 0-d -> 2x3", lambda xp, x: xp.broadcast_to(x, (2, 3)) ** 2,
         np.array(0.9)),
    Case("expand 3x1 -> (-1, 4)", lambda x: x.expand(-1, 4) ** 2,
         lambda a: np.broadcast_to(a, (3, 4)) ** 2, [randn(3, 1)]),
    Case("expand 1x3 -> (2, 5, -1) new leading dim", lambda x: x.expand((2, 5, -1)) ** 2,
         lambda a: np.broadcast_to(a, (2, 5, 3)) ** 2, [randn(1, 3)]),
    Case("expand_as", lambda x: x.expand_as(np.zeros((4, 3))) ** 2,
         lambda a: np.broadcast_to(a, (4, 3)) ** 2, [randn(3)]),
]  # fmt: skip

JOIN = [
    case("concatenate 2 axis 0", lambda xp, a, b: xp.concatenate([a, b], axis=0) ** 2,
         randn(2, 3), randn(1, 3)),
    case("concatenate 3 axis 1", lambda xp, a, b, c: xp.concatenate([a, b, c], axis=1) ** 2,
         randn(2, 1), randn(2, 3), randn(2, 2)),
    case("concatenate 3 axis -1 3-d", lambda xp, a, b, c: xp.concatenate([a, b, c], -1) ** 2,
         randn(2, 2, 1), randn(2, 2, 2), randn(2, 2, 3)),
    case("concatenate 1-d", lambda xp, a, b: xp.concatenate([a, b]) ** 2, randn(2), randn(3)),
    case("concatenate constant in the middle axis -1",
         lambda xp, a, b: xp.concatenate([a, CONSTANT_2x2, b], axis=-1) ** 2,
         randn(2, 3), randn(2, 1)),
    case("concatenate constant first axis 0",
         lambda xp, a: xp.concatenate([CONSTANT_3x1.T, a], axis=0) ** 2, randn(2, 3)),
    Case("cat dim=1", lambda a, b: mg.cat([a, b], dim=1) ** 2,
         lambda a, b: np.concatenate([a, b], 1) ** 2, [randn(2, 1), randn(2, 3)]),
    case("stack 2 axis 0", lambda xp, a, b: xp.stack([a, b]) ** 2, randn(2, 3), randn(2, 3)),
    case("stack 3 axis -1", lambda xp, a, b, c: xp.stack([a, b, c], axis=-1) ** 2,
         randn(2, 3), randn(2, 3), randn(2, 3)),
    case("stack 2 axis 1 1-d", lambda xp, a, b: xp.stack([a, b], axis=1) ** 2,
         randn(4), randn(4)),
    case("stack 0-d", lambda xp, a, b: xp.stack([a, b]) ** 2, np.array(0.3), np.array(-2.0)),
    case("hstack 1-d", lambda xp, a, b: xp.hstack([a, b]) ** 2, randn(2), randn(3)),
    case("hstack 2-d", lambda xp, a, b: xp.hstack([a, b]) ** 2, randn(2, 1), randn(2, 3)),
    case("vstack 1-d rows", lambda xp, a, b: xp.vstack([a, b]) ** 2, randn(3), randn(3)),
    case("vstack 2-d", lambda xp, a, b: xp.vstack([a, b]) ** 2, randn(1, 3), randn(2, 3)),
]  # fmt: skip

SPLIT = [
    Case("split size 2 of 6 rows", lambda x: weighted(x.split(2), mg, 0),
         lambda a: weighted(numpy_split(a, 2, 0), np, 0), [randn(6, 2)]),
    Case("split size 2 of width 5 (last piece 1)", lambda x: weighted(x.split(2, 1), mg, 1),
         lambda a: weighted(numpy_split(a, 2, 1), np, 1), [randn(2, 5)]),
    Case("split size 4 of 3 (one piece)", lambda x: weighted(mg.split(x, 4, dim=-1), mg, -1),
         lambda a: weighted([a], np, -1), [randn(2, 3)]),
    Case("split sizes [1, 3, 1]", lambda x: weighted(x.split([1, 3, 1]), mg, 0),
         lambda a: weighted(numpy_split(a, [1, 3, 1], 0), np, 0), [randn(5, 2)]),
    Case("split sizes [2, 0, 3] (an empty piece)", lambda x: weighted(x.split([2, 0, 3]), mg, 0),
         lambda a: weighted(numpy_split(a, [2, 0, 3], 0), np, 0), [randn(5)]),
    Case("chunk 3 of 5 -> 2, 2, 1", lambda x: weighted(x.chunk(3), mg, 0),
         lambda a: weighted(numpy_split(a, 2, 0), np, 0), [randn(5, 2)]),
    Case("chunk 4 of 6 -> 2, 2, 2", lambda x: weighted(mg.chunk(x, 4, dim=1), mg, 1),
         lambda a: weighted(numpy_split(a, 2, 1), np, 1), [randn(2, 6)]),
    Case("narrow dim 1 from 1 length 2", lambda x: x.narrow(1, 1, 2) ** 2,
         lambda a: a[:, 1:3] ** 2, [randn(2, 4)]),
    Case("narrow negative start", lambda x: mg.narrow(x, 0, -2, 2) ** 2,
         lambda a: a[-2:] ** 2, [randn(5)]),
]  # fmt: skip

REPEAT_TILE = [
    Case("repeat (2, 1) tiles rows", lambda x: x.repeat(2, 1) ** 2,
         lambda a: np.tile(a, (2, 1)) ** 2, [randn(3, 2)]),
    Case("repeat (2, 1, 3) adds a leading dim", lambda x: x.repeat((2, 1, 3)) ** 2,
         lambda a: np.tile(a, (2, 1, 3)) ** 2, [randn(2, 3)]),
    Case("repeat 3 of 1-d", lambda x: x.repeat(3) ** 2, lambda a: np.tile(a, 3) ** 2,
         [randn(2)]),
    Case("repeat_interleave 2 flattened", lambda x: x.repeat_interleave(2) ** 2,
         lambda a: np.repeat(a, 2) ** 2, [randn(2, 3)]),
    Case("repeat_interleave 3 dim 0", lambda x: mg.repeat_interleave(x, 3, dim=0) ** 2,
         lambda a: np.repeat(a, 3, axis=0) ** 2, [randn(2, 3)]),
    Case("repeat_interleave per element dim 1", lambda x: x.repeat_interleave([1, 0, 2], 1) ** 2,
         lambda a: np.repeat(a, [1, 0, 2], axis=1) ** 2, [randn(2, 3)]),
    Case("repeat_interleave 0-d", lambda x: x.repeat_interleave(3) ** 2,
         lambda a: np.repeat(a, 3) ** 2, [np.array(1.1)]),
    case("tile reps shorter than ndim", lambda xp, x: xp.tile(x, 2) ** 2, randn(2, 3)),
    case("tile reps equal to ndim", lambda xp, x: xp.tile(x, (2, 1)) ** 2, randn(2, 3)),
    case("tile reps longer than ndim", lambda xp, x: xp.tile(x, (2, 1, 2)) ** 2, randn(2, 3)),
    case("tile 0-d reps (2, 3)", lambda xp, x: xp.tile(x, (2, 3)) ** 2, np.array(-0.6)),
]  # fmt: skip

REORDER = [
    case("flip dim 0", lambda xp, x: xp.flip(x, 0) ** 2, randn(3, 2)),
    case("flip dims (0, 2)", lambda xp, x: xp.flip(x, (0, 2)) ** 2, randn(2, 3, 4)),
    Case("flip method 1, 0", lambda x: x.flip(1, 0) ** 2, lambda a: a[::-1, ::-1] ** 2,
         [randn(2, 3)]),
    case("roll 1 flattened", lambda xp, x: xp.roll(x, 1) ** 2, randn(2, 3)),
    case("roll -1 dim 1", lambda xp, x: xp.roll(x, -1, 1) ** 2, randn(2, 3)),
    case("roll (1, 5) dims (0, 1)", lambda xp, x: xp.roll(x, (1, 5), (0, 1)) ** 2, randn(3, 4)),
]  # fmt: skip

CASES = (RESHAPE + FLATTEN + TRANSPOSE + EXPAND_SQUEEZE + BROADCAST + JOIN + SPLIT + REPEAT_TILE
         + REORDER)  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- closed forms and properties ---------------------------------------------------------------


def test_broadcast_to_gradient_sums_over_broadcast_axes():
    """d/dx sum(w * broadcast(x)) is w summed over the new leading axis and the stretched axis."""
    w = np.random.default_rng(1).standard_normal((4, 2, 5, 3))
    x = mg.tensor(np.random.default_rng(2).standard_normal((2, 1, 3)), requires_grad=True)
    (mg.broadcast_to(x, (4, 2, 5, 3)) * w).sum().backward()
    expected = w.sum(axis=0).sum(axis=1, keepdims=True)
    assert x.grad.shape == (2, 1, 3)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


def test_broadcast_to_gradient_size_one_axis_kept_when_target_is_one():
    """A size-1 axis that stays size 1 is not summed over (nothing was repeated)."""
    w = np.random.default_rng(3).standard_normal((3, 1, 4))
    x = mg.tensor(np.random.default_rng(4).standard_normal((1, 4)), requires_grad=True)
    (mg.broadcast_to(x, (3, 1, 4)) * w).sum().backward()
    np.testing.assert_allclose(x.grad.data, w.sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    "shape, size_or_sizes, dim, widths",
    [((6, 2), 3, 0, [3, 3]), ((2, 7), 3, 1, [3, 3, 1]), ((2, 3, 4), [1, 3], -1, [1, 3]),
     ((5,), [1, 0, 4], 0, [1, 0, 4]), ((2, 3), 5, 1, [3])],
)  # fmt: skip
def test_split_round_trips_with_cat(shape, size_or_sizes, dim, widths):
    """cat(split(x)) is x, the pieces have PyTorch's widths, and the gradient passes through."""
    data = np.random.default_rng(5).standard_normal(shape)
    w = np.random.default_rng(6).standard_normal(shape)
    x = mg.tensor(data, requires_grad=True)
    pieces = x.split(size_or_sizes, dim)
    assert [p.shape[dim] for p in pieces] == widths
    joined = mg.cat(pieces, dim)
    np.testing.assert_array_equal(joined.data, data)
    (joined * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, w)


@st.composite
def reshape_problems(draw):
    """A shape, and a target shape with the same number of elements (maybe with one -1)."""
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    ones = [1] * int(gen.integers(0, 3))
    target = [int(d) for d in gen.permutation(list(shape) + ones)]
    if target and np.prod(shape) > 0 and draw(st.booleans()):
        target[int(gen.integers(len(target)))] = -1
    return shape, tuple(target), seed


@settings(max_examples=25, deadline=None)
@given(reshape_problems())
def test_reshape_matches_numpy(problem):
    shape, target, seed = problem
    gen = np.random.default_rng(seed)
    data = gen.standard_normal(shape)
    x = mg.tensor(data, requires_grad=True)
    y = mg.reshape(x, target)
    expected = np.reshape(data, target)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.data, expected)
    g = gen.standard_normal(expected.shape)
    (y * g).sum().backward()
    np.testing.assert_array_equal(x.grad.data, g.reshape(shape))


@settings(max_examples=25, deadline=None)
@given(array_shapes(min_dims=0, max_dims=5, min_side=1, max_side=3), st.integers(0, 2**32 - 1))
def test_permute_matches_numpy_transpose(shape, seed):
    """The forward is numpy's transpose; the gradient is the cotangent put back in place."""
    gen = np.random.default_rng(seed)
    data = gen.standard_normal(shape)
    perm = tuple(int(a) for a in gen.permutation(len(shape)))
    x = mg.tensor(data, requires_grad=True)
    y = mg.permute(x, perm)
    expected = np.transpose(data, perm)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(x.T.data, data.T)
    g = gen.standard_normal(expected.shape)
    (y * g).sum().backward()
    inverse = np.empty(len(perm), dtype=int)
    inverse[list(perm)] = np.arange(len(perm))
    np.testing.assert_array_equal(x.grad.data, np.transpose(g, inverse))
