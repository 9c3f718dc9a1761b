"""The plumbing the transforms, the Hessians and the second-order optimizers share
(``minigrad.arguments``): flat vectors and their split, identity rows a chunk at a time, the
scalar-output check and ``f`` restricted to its differentiated arguments."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.arguments import (
    FlatLayout,
    identity_rows,
    resolve_argnums,
    restricted,
    scalar_output,
)
from minigrad.errors import ShapeError
from minigrad.optim import OptimizerError

SHAPES = [(2, 3), (), (4,), (0,)]  # a matrix, a scalar, a vector and an empty array: n = 11


def test_flat_layout_splits_in_order_and_joins_back():
    layout = FlatLayout(SHAPES)
    assert layout.n == 11
    assert [(shape, int(a), int(b)) for shape, a, b in layout.slices()] == [
        ((2, 3), 0, 6), ((), 6, 7), ((4,), 7, 11), ((0,), 11, 11),
    ]  # fmt: skip
    vector = np.arange(11.0)
    blocks = layout.split(vector)
    assert [b.shape for b in blocks] == SHAPES
    np.testing.assert_array_equal(blocks[0], [[0, 1, 2], [3, 4, 5]])
    assert blocks[1] == 6.0
    np.testing.assert_array_equal(blocks[2], [7, 8, 9, 10])
    np.testing.assert_array_equal(layout.join(blocks), vector)


def test_flat_layout_keeps_leading_axes_and_joins_into_out():
    """A batch (k, n) splits into (k, *shape) blocks; join(out=...) writes in place."""
    layout = FlatLayout(SHAPES)
    batch = np.random.default_rng(0).standard_normal((3, 11))
    blocks = layout.split(batch)
    assert [b.shape for b in blocks] == [(3, *shape) for shape in SHAPES]
    assert all(np.shares_memory(b, batch) for b in blocks if b.size)  # views, not copies
    out = np.zeros((3, 11))
    assert layout.join(blocks, lead=(3,), out=out) is out
    np.testing.assert_array_equal(out, batch)
    np.testing.assert_array_equal(layout.join(blocks, lead=(3,)), batch)


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_identity_rows_in_chunks_make_the_identity(chunk):
    n = 7
    rows = [identity_rows(start, min(start + chunk, n), n) for start in range(0, n, chunk)]
    assert all(r.shape == (min(chunk, n - i * chunk), n) for i, r in enumerate(rows))
    np.testing.assert_array_equal(np.concatenate(rows), np.eye(n))
    assert identity_rows(2, 4, 5, np.float32).dtype == np.float32


def test_scalar_output_names_the_caller_the_function_and_the_fix():
    with pytest.raises(
        ShapeError, match=r"hvp: the function must return a scalar Tensor, it returned shape "
        r"\(3,\); reduce it \(e\.g\. \.sum\(\)\)",
    ):  # fmt: skip
        scalar_output("hvp", mg.tensor(np.ones(3)))
    with pytest.raises(OptimizerError, match="suggest_lr: loss_fn must return a scalar Tensor, "
                       "it returned float"):  # fmt: skip
        scalar_output("suggest_lr", 1.0, function="loss_fn", error=OptimizerError)
    one = mg.tensor([[2.0]])
    assert scalar_output("grad", one) is one  # one element is a scalar, whatever its shape


def test_restricted_substitutes_the_differentiated_arguments():
    def f(a, b, c):
        return (a, b, c)

    of_c_and_a = restricted("f", f, ("a", "b", "c"), resolve_argnums("f", (2, -3), 3))
    assert of_c_and_a("C", "A") == ("A", "b", "C")


def test_resolved_argnums_are_per_call_size_and_errors_stay_errors():
    """``resolve_argnums`` remembers a resolution for the next call of the same size: a
    negative index still counts from that call's end, and a bad one fails every time."""
    assert resolve_argnums("f", -1, 2) == (1,)
    assert resolve_argnums("f", -1, 2) == (1,)
    assert resolve_argnums("f", -1, 3) == (2,)
    assert resolve_argnums("f", [0, -1], 3) == (0, 2)
    for _ in range(2):
        with pytest.raises(ShapeError, match="out of range"):
            resolve_argnums("f", 2, 2)
        with pytest.raises(ShapeError, match="names an argument twice"):
            resolve_argnums("f", (0, -2), 2)


def test_a_failing_function_leaves_grad_mode_and_the_reverse_inputs_as_they_were():
    def f(x):
        raise KeyError("inside f")

    with mg.no_grad():
        with pytest.raises(KeyError, match="inside f"):
            mg.grad(f)(1.0)
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    x = mg.tensor(2.0, requires_grad=True)  # recorded: grad differentiates through x itself
    with pytest.raises(KeyError, match="inside f"):
        mg.grad(f)(x)
    # x is no longer marked as an input of a reverse pass: forward mode takes its value.
    out, slope = mg.jvp(lambda t: t * t, (x,), (1.0,))
    assert slope.item() == 4.0
