"""Shape operations: reshape, transposes, broadcasting, joining, splitting, padding, repeating.

Most cases are one expression written once against a module ``xp`` and run twice: with
``xp = mg`` on Tensors and with ``xp = np`` on arrays (numpy is the reference). Every op is
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


def split_and_weight(xp, x, indices_or_sections, axis):
    """Each piece of the split times its own weight (1, 2, 3, ...), joined again and squared:
    a piece that came from the wrong place gets the wrong weight."""
    pieces = xp.split(x, indices_or_sections, axis=axis)
    return xp.concatenate([p * (i + 1) for i, p in enumerate(pieces)], axis=axis) ** 2


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
]

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
    case("transpose no axes 2x3x4", lambda xp, x: xp.transpose(x) ** 2, randn(2, 3, 4)),
    case("transpose (1, 2, 0)", lambda xp, x: xp.transpose(x, (1, 2, 0)) ** 2, randn(2, 3, 4)),
    case("transpose (2, 0, 1) method", lambda xp, x: x.transpose(2, 0, 1) ** 2, randn(2, 3, 4)),
    case("transpose (-1, 0, 1)", lambda xp, x: xp.transpose(x, (-1, 0, 1)) ** 2, randn(2, 3, 4)),
    case(".T 2x3", lambda xp, x: x.T**2, randn(2, 3)),
    case(".T 2x3x4", lambda xp, x: x.T**2, randn(2, 3, 4)),
    case("swapaxes 0 2", lambda xp, x: xp.swapaxes(x, 0, 2) ** 2, randn(2, 3, 4)),
    case("swapaxes -1 1", lambda xp, x: xp.swapaxes(x, -1, 1) ** 2, randn(2, 3, 4)),
    case("moveaxis 0 -> -1", lambda xp, x: xp.moveaxis(x, 0, -1) ** 2, randn(2, 3, 4)),
    case("moveaxis 2 -> 0", lambda xp, x: xp.moveaxis(x, 2, 0) ** 2, randn(2, 3, 4)),
    case("moveaxis -1 -> 1", lambda xp, x: xp.moveaxis(x, -1, 1) ** 2, randn(2, 3, 4)),
]

EXPAND_SQUEEZE = [
    case("expand_dims 0", lambda xp, x: xp.expand_dims(x, 0) ** 2, randn(2, 3)),
    case("expand_dims -1", lambda xp, x: xp.expand_dims(x, -1) ** 2, randn(2, 3)),
    case("expand_dims 1", lambda xp, x: xp.expand_dims(x, 1) ** 2, randn(2, 3)),
    case("expand_dims (0, 2)", lambda xp, x: xp.expand_dims(x, (0, 2)) ** 2, randn(2, 3)),
    case("expand_dims (-1, 0)", lambda xp, x: xp.expand_dims(x, (-1, 0)) ** 2, randn(2, 3)),
    case("expand_dims 0-d", lambda xp, x: xp.expand_dims(x, 0) ** 2, np.array(0.4)),
    case("squeeze all 1x3x1x2", lambda xp, x: xp.squeeze(x) ** 2, randn(1, 3, 1, 2)),
    case("squeeze axis 2", lambda xp, x: xp.squeeze(x, axis=2) ** 2, randn(1, 3, 1, 2)),
    case("squeeze axis -4", lambda xp, x: xp.squeeze(x, axis=-4) ** 2, randn(1, 3, 1, 2)),
    case("squeeze axis (0, 2)", lambda xp, x: xp.squeeze(x, axis=(0, 2)) ** 2, randn(1, 3, 1, 2)),
    case("squeeze 1x1 -> 0-d", lambda xp, x: xp.squeeze(x) ** 2, randn(1, 1)),
]

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
]  # fmt: skip

JOIN = [
    case("concatenate 2 axis 0", lambda xp, a, b: xp.concatenate([a, b], axis=0) ** 2,
         randn(2, 3), randn(1, 3)),
    case("concatenate 2 axis 1", lambda xp, a, b: xp.concatenate([a, b], axis=1) ** 2,
         randn(2, 1), randn(2, 3)),
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
    case("stack 2 axis 0", lambda xp, a, b: xp.stack([a, b]) ** 2, randn(2, 3), randn(2, 3)),
    case("stack 3 axis -1", lambda xp, a, b, c: xp.stack([a, b, c], axis=-1) ** 2,
         randn(2, 3), randn(2, 3), randn(2, 3)),
    case("stack 2 axis 1 1-d", lambda xp, a, b: xp.stack([a, b], axis=1) ** 2,
         randn(4), randn(4)),
    case("stack 0-d", lambda xp, a, b: xp.stack([a, b]) ** 2, np.array(0.3), np.array(-2.0)),
    case("split 3 sections axis 0", lambda xp, x: split_and_weight(xp, x, 3, 0), randn(6, 2)),
    case("split 2 sections axis 1", lambda xp, x: split_and_weight(xp, x, 2, 1), randn(2, 4)),
    case("split 3 sections axis -1", lambda xp, x: split_and_weight(xp, x, 3, -1),
         randn(2, 1, 3)),
    case("split at [1, 3] axis 0", lambda xp, x: split_and_weight(xp, x, [1, 3], 0),
         randn(5, 2)),
    case("split at [2] axis 1", lambda xp, x: split_and_weight(xp, x, [2], 1), randn(2, 5)),
    case("split at [1, 1, 4] (an empty piece)",
         lambda xp, x: split_and_weight(xp, x, [1, 1, 4], 0), randn(5)),
]  # fmt: skip

PAD = [
    case("pad constant 0 width 1", lambda xp, x: xp.pad(x, 1) ** 2, randn(2, 3)),
    case("pad constant 0 per-axis", lambda xp, x: xp.pad(x, ((1, 0), (0, 2))) ** 2,
         randn(2, 3)),
    case("pad constant 2.5 per-axis",
         lambda xp, x: xp.pad(x, ((1, 0), (2, 1)), constant_values=2.5) ** 2, randn(2, 3)),
    case("pad constant 2.5 (before, after)",
         lambda xp, x: xp.pad(x, (2, 1), mode="constant", constant_values=2.5) ** 2, randn(3)),
    case("pad edge per-axis", lambda xp, x: xp.pad(x, ((1, 2), (0, 1)), mode="edge") ** 2,
         randn(2, 3)),
    case("pad edge width 2", lambda xp, x: xp.pad(x, 2, mode="edge") ** 2, randn(3)),
    case("pad reflect width 2", lambda xp, x: xp.pad(x, 2, mode="reflect") ** 2, randn(3, 4)),
    case("pad reflect per-axis",
         lambda xp, x: xp.pad(x, ((1, 0), (2, 3)), mode="reflect") ** 2, randn(2, 4)),
    case("pad symmetric per-axis",
         lambda xp, x: xp.pad(x, ((2, 1), (1, 3)), mode="symmetric") ** 2, randn(3, 3)),
    case("pad symmetric width 1", lambda xp, x: xp.pad(x, 1, mode="symmetric") ** 2, randn(4)),
    case("pad wrap (1, 2)", lambda xp, x: xp.pad(x, (1, 2), mode="wrap") ** 2, randn(2, 3)),
    case("pad wrap per-axis", lambda xp, x: xp.pad(x, ((0, 1), (3, 0)), mode="wrap") ** 2,
         randn(2, 3)),
]  # fmt: skip

REPEAT_TILE = [
    case("repeat 2 axis None", lambda xp, x: xp.repeat(x, 2) ** 2, randn(2, 3)),
    case("repeat per element axis None", lambda xp, x: xp.repeat(x, [0, 1, 2, 1, 0, 3]) ** 2,
         randn(2, 3)),
    case("repeat 3 axis 0", lambda xp, x: xp.repeat(x, 3, axis=0) ** 2, randn(2, 3)),
    case("repeat per element axis 1", lambda xp, x: xp.repeat(x, [1, 0, 2], axis=1) ** 2,
         randn(2, 3)),
    case("repeat per element axis -1 method", lambda xp, x: x.repeat([3, 1], axis=-1) ** 2,
         randn(3, 2)),
    case("repeat 0-d", lambda xp, x: xp.repeat(x, 3) ** 2, np.array(1.1)),
    case("tile reps shorter than ndim", lambda xp, x: xp.tile(x, 2) ** 2, randn(2, 3)),
    case("tile reps equal to ndim", lambda xp, x: xp.tile(x, (2, 1)) ** 2, randn(2, 3)),
    case("tile reps longer than ndim", lambda xp, x: xp.tile(x, (2, 1, 2)) ** 2, randn(2, 3)),
    case("tile 1-d reps (3,)", lambda xp, x: xp.tile(x, (3,)) ** 2, randn(2)),
    case("tile 0-d reps (2, 3)", lambda xp, x: xp.tile(x, (2, 3)) ** 2, np.array(-0.6)),
]  # fmt: skip

CASES = RESHAPE + FLATTEN + TRANSPOSE + EXPAND_SQUEEZE + BROADCAST + JOIN + PAD + REPEAT_TILE


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
    "shape, indices_or_sections, axis",
    [((6, 2), 3, 0), ((2, 6), 2, 1), ((2, 3, 4), [1, 3], -1), ((5,), [1, 1, 4], 0),
     ((4, 3), [2, 7], 0)],
)  # fmt: skip
def test_split_round_trips_with_concatenate(shape, indices_or_sections, axis):
    """concatenate(split(x)) is x, the pieces are numpy's, and the gradient passes through."""
    data = np.random.default_rng(5).standard_normal(shape)
    w = np.random.default_rng(6).standard_normal(shape)
    x = mg.tensor(data, requires_grad=True)
    pieces = mg.split(x, indices_or_sections, axis=axis)
    expected = np.split(data, indices_or_sections, axis=axis)
    assert [p.shape for p in pieces] == [e.shape for e in expected]
    for p, e in zip(pieces, expected):
        np.testing.assert_array_equal(p.data, e)
    joined = mg.concatenate(pieces, axis=axis)
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
def test_transpose_matches_numpy(shape, seed):
    """The forward is numpy's transpose; the gradient is the cotangent put back in place."""
    gen = np.random.default_rng(seed)
    data = gen.standard_normal(shape)
    perm = tuple(int(a) for a in gen.permutation(len(shape)))
    x = mg.tensor(data, requires_grad=True)
    y = mg.transpose(x, perm)
    expected = np.transpose(data, perm)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.data, expected)
    np.testing.assert_array_equal(x.T.data, data.T)
    g = gen.standard_normal(expected.shape)
    (y * g).sum().backward()
    inverse = np.empty(len(perm), dtype=int)
    inverse[list(perm)] = np.arange(len(perm))
    np.testing.assert_array_equal(x.grad.data, np.transpose(g, inverse))
