"""Norms as PyTorch's: ``mg.norm`` (torch.norm), ``mg.linalg.norm``, ``vector_norm`` and
``matrix_norm``; values from PyTorch's documentation, derivatives against finite differences,
and gradient 0 where a norm is 0."""

import math

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg

rng = np.random.default_rng(0)

A = np.array([[1.0, -2.0], [3.0, 4.0]])
INF = math.inf


def away_from_zero(*shape):
    return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(*shape):
    """No ties in |x| (nor in row/column sums), so max-based norms are differentiable."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) + 1) * 0.37 * rng.choice([-1.0, 1.0], size)).reshape(shape)


CASES = [
    *(Case(f"vector_norm ord={ord} {shape} dim={dim}",
           lambda x, ord=ord, dim=dim: mg.linalg.vector_norm(x, ord, dim),
           lambda x, ord=ord, dim=dim: np.linalg.norm(x.reshape(-1) if dim is None else x, ord,
                                                      axis=dim),
           [distinct(*shape)])
      for ord, shape, dim in [(2, (3, 4), None), (2, (3, 4), 1), (1, (5,), None), (3, (2, 3), 0),
                              (INF, (4,), None), (-INF, (2, 3), 1), (0.5, (3,), 0)]),
    Case("vector_norm dims (0, 2) keepdim", lambda x: mg.linalg.vector_norm(x, 2, (0, 2), True),
         lambda x: np.sqrt((x * x).sum(axis=(0, 2), keepdims=True)), [distinct(2, 3, 4)]),
    *(Case(f"matrix_norm ord={ord}", lambda x, ord=ord: mg.linalg.matrix_norm(x, ord),
           lambda x, ord=ord: np.linalg.norm(x, ord), [distinct(3, 4)])
      for ord in ("fro", 1, -1, INF, -INF)),
    Case("matrix_norm batched dim=(0, 2) ord=1", lambda x: mg.linalg.matrix_norm(x, 1, (0, 2)),
         lambda x: np.abs(x).sum(axis=0).max(axis=1), [distinct(3, 2, 4)]),
    Case("torch.norm p=fro over dim 1", lambda x: mg.norm(x, dim=1),
         lambda x: np.linalg.norm(x, axis=1), [away_from_zero(3, 4)]),
    Case("x.norm(3)", lambda x: x.norm(3), lambda x: (np.abs(x) ** 3).sum() ** (1 / 3),
         [away_from_zero(2, 3)]),
    Case("linalg.norm of a vector with a zero", mg.linalg.norm, np.linalg.norm,
         [np.array([3.0, 0.0, -4.0])]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: mg.norm(mg.tensor(A)), math.sqrt(30)),  # torch.norm(A) = 5.4772
        (lambda: mg.norm(mg.tensor(A), 1), 10.0),  # torch.norm: a vector norm, all elements
        (lambda: mg.norm(mg.tensor(A), INF), 4.0),
        (lambda: mg.norm(mg.tensor(A), 2, dim=(0, 1)), math.sqrt(30)),
        (lambda: mg.linalg.norm(mg.tensor(A)), math.sqrt(30)),
        (lambda: mg.linalg.norm(mg.tensor(A), 1), 6.0),  # linalg: the matrix 1-norm
        (lambda: mg.linalg.norm(mg.tensor(A), INF), 7.0),
        (lambda: mg.linalg.norm(mg.tensor(A), -1), 4.0),
        (lambda: mg.linalg.norm(mg.tensor(A), -INF), 3.0),
        (lambda: mg.linalg.norm(mg.tensor(A), "fro"), math.sqrt(30)),
        (lambda: mg.linalg.norm(mg.tensor(3.0)), 3.0),
        (lambda: mg.linalg.vector_norm(mg.tensor(A), 1), 10.0),
        (lambda: mg.linalg.vector_norm(mg.tensor([3.0, 0.0, 4.0]), 0), 2.0),
        (lambda: mg.tensor([3.0, 4.0]).norm(), 5.0),
    ],
)
def test_values_as_pytorch(call, expected):
    assert call().item() == pytest.approx(expected, rel=1e-15)


def test_norms_along_dims():
    """torch.linalg.norm(A, dim=1) -> [2.2361, 5.0]; torch.norm(A, dim=0, keepdim=True) ->
    [[3.1623, 4.4721]]; linalg.norm of a (2, 2, 2) stack with ord=1, dim=(1, 2) -> [4, 12]."""
    np.testing.assert_allclose(mg.linalg.norm(mg.tensor(A), dim=1).data, [5**0.5, 5.0])
    np.testing.assert_allclose(
        mg.norm(mg.tensor(A), dim=0, keepdim=True).data, [[10**0.5, 20**0.5]], rtol=1e-15
    )
    B = mg.tensor(np.arange(8.0).reshape(2, 2, 2))
    np.testing.assert_allclose(mg.linalg.norm(B, 1, dim=(1, 2)).data, [4.0, 12.0])
    assert mg.linalg.norm(B, 1, dim=(1, 2), keepdim=True).shape == (2, 1, 1)
    assert mg.linalg.norm(B).item() == pytest.approx(140**0.5, rel=1e-15)


# ----- gradients where the norm is 0 ---------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 1, 3, INF, "fro"])
def test_gradient_of_a_zero_norm_is_zero_as_pytorch(p):
    """torch.zeros(3).norm(p).backward() gives zeros (no NaN) for every p."""
    x = mg.tensor(np.zeros(3), requires_grad=True)
    mg.norm(x, p).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(3))


def test_zero_rows_get_zero_gradient_and_others_the_unit_vector():
    x = mg.tensor(np.array([[0.0, 0.0], [3.0, -4.0]]), requires_grad=True)
    mg.linalg.norm(x, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.0], [0.6, -0.8]], rtol=1e-15)


def test_inf_norm_splits_the_gradient_among_ties_with_the_sign():
    """torch.tensor([0., 2., -2.]).norm(inf) backward -> [0, 0.5, -0.5]."""
    x = mg.tensor(np.array([0.0, 2.0, -2.0]), requires_grad=True)
    x.norm(INF).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, -0.5])


def test_hessian_of_the_two_norm_where_an_element_is_zero():
    """d2 ||x|| = (I - u u^T) / ||x|| with u = x / ||x||: exact where an element is 0 too."""
    x_np = np.array([3.0, 0.0, 4.0])
    H = mg.hessian(mg.linalg.norm)(mg.tensor(x_np))
    u = x_np / 5.0
    np.testing.assert_allclose(H.data, (np.eye(3) - np.outer(u, u)) / 5.0, rtol=1e-14, atol=1e-16)


# ----- errors ------------------------------------------------------------------------------------


def test_matrix_norms_that_need_an_svd_say_so():
    for ord in (2, -2, "nuc"):
        with pytest.raises(
            mg.OpError, match=rf"linalg.matrix_norm: ord={ord!r} needs the singular"
        ):
            mg.linalg.norm(mg.tensor(A), ord)
    with pytest.raises(mg.OpError, match="norm: p='nuc'.*SVD"):
        mg.norm(mg.tensor(A), "nuc")


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: mg.linalg.norm(mg.tensor(A), 3), mg.OpError, r"ord=3 is not a matrix norm"),
        (lambda: mg.linalg.norm(mg.tensor(A), "fro", dim=1), mg.ShapeError,
         r"linalg.norm: ord='fro' is a matrix norm, so dim must be a pair"),
        (lambda: mg.linalg.norm(mg.tensor(np.ones((2, 2, 2))), 1), mg.ShapeError,
         r"ord=1 without dim needs a 1-D or 2-D tensor, got shape \(2, 2, 2\)"),
        (lambda: mg.linalg.matrix_norm(mg.tensor([1.0, 2.0])), mg.ShapeError,
         r"matrix_norm: the tensor has shape \(2,\); a matrix norm needs at least 2"),
        (lambda: mg.norm(mg.tensor(np.array([1, 2]))), mg.DTypeError,
         r"vector_norm: the tensor is int64.*\.float\(\)"),
        (lambda: mg.linalg.vector_norm(mg.tensor(A), "fro"), mg.OpError,
         r"ord='fro' is not a vector norm"),
        (lambda: mg.norm(mg.tensor(A), dim=2), mg.ShapeError,
         r"dim 2 is out of range for a tensor of shape \(2, 2\)"),
    ],
)  # fmt: skip
def test_errors_name_the_op_and_the_fix(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_linalg_names_minigrad_lacks_say_so_by_pytorchs_name():
    with pytest.raises(mg.MissingFeatureError, match=r"minigrad has no `torch.linalg.svd`"):
        mg.linalg.svd  # noqa: B018
    from minigrad.linalg import matrix_norm, norm, vector_norm  # importable as torch.linalg

    assert norm is mg.linalg.norm and callable(matrix_norm) and callable(vector_norm)
