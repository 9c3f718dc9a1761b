"""Linear algebra: matmul (and the @ operator), dot, outer, einsum."""

import numpy as np
import pytest
from harness import Case, check_case

import minigrad as mg

rng = np.random.default_rng(1)


def randn(*shape):
    return rng.standard_normal(shape)


MATMUL_SHAPES = [
    ("1-D @ 1-D", (4,), (4,)),
    ("1-D @ 2-D", (3,), (3, 4)),
    ("2-D @ 1-D", (3, 4), (4,)),
    ("2-D @ 2-D", (2, 3), (3, 4)),
    ("batched @ 2-D", (2, 3, 4), (4, 5)),
    ("broadcast batches", (2, 1, 3, 4), (5, 4, 2)),
    ("2-D @ batched", (3, 4), (2, 4, 5)),
    ("batched @ 1-D", (2, 3, 4), (4,)),
    ("1-D @ batched", (4,), (2, 4, 3)),
    ("batched @ batched", (2, 3, 4), (2, 4, 2)),
]

DOT_SHAPES = [("1-D . 1-D", (5,), (5,)), ("length 1", (1,), (1,))]  # PyTorch's dot: 1-D only

EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output: 'ik'
    ("ii->i", [(3, 3)]),  # diagonal
    ("ii", [(3, 3)]),  # trace
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,i", [(4,)] * 2),  # inner product
    ("i,j->ij", [(3,), (4,)]),  # outer product
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 3), (3, 2)]),  # empty ellipsis
    ("ij->ji", [(2, 3)]),  # transpose
    ("ij,ij->ij", [(2, 3)] * 2),  # elementwise product
    ("iij->j", [(2, 2, 3)]),  # diagonal then summed
]

CASES = [
    *(Case(f"matmul {name} {a}@{b}", mg.matmul, np.matmul, [randn(*a), randn(*b)])
      for name, a, b in MATMUL_SHAPES),
    Case("@ operator (2,3)@(3,)", lambda a, b: a @ b, lambda a, b: a @ b, [randn(2, 3), randn(3)]),
    # A transposed (F-ordered) matrix with a vector: the outer-product cotangent of the matrix.
    Case("matmul transposed (3,2).T @ (3,)", lambda a, b: a.T @ b, lambda a, b: a.T @ b,
         [randn(3, 2), randn(3)]),
    Case("matmul (3,) @ transposed (4,3).T", lambda a, b: a @ b.T, lambda a, b: a @ b.T,
         [randn(3), randn(4, 3)]),
    Case("linear (4,3) W(2,3) b(2,)", mg.nn.functional.linear, lambda x, w, b: x @ w.T + b,
         [randn(4, 3), randn(2, 3), randn(2)]),
    Case("linear without bias", mg.nn.functional.linear, lambda x, w: x @ w.T,
         [randn(4, 3), randn(2, 3)]),
    Case("linear (2,4,3) batched", mg.nn.functional.linear, lambda x, w, b: x @ w.T + b,
         [randn(2, 4, 3), randn(5, 3), randn(5)]),
    *(Case(f"dot {name} {a}.{b}", mg.dot, np.dot, [randn(*a), randn(*b)])
      for name, a, b in DOT_SHAPES),
    Case("outer (3,)x(4,)", mg.outer, np.outer, [randn(3), randn(4)]),
    Case("x.outer(y) (2,)x(1,)", lambda a, b: a.outer(b), np.outer, [randn(2), randn(1)]),
    Case("mm (2,3)x(3,4)", mg.mm, np.matmul, [randn(2, 3), randn(3, 4)]),
    Case("bmm (2,3,4)x(2,4,5)", mg.bmm, np.matmul, [randn(2, 3, 4), randn(2, 4, 5)]),
    Case("x.bmm(y) (1,2,2)x(1,2,3)", lambda a, b: a.bmm(b), np.matmul,
         [randn(1, 2, 2), randn(1, 2, 3)]),
    *(Case(f"einsum '{spec}' {shapes}",
           lambda *xs, spec=spec: mg.einsum(spec, *xs),
           lambda *xs, spec=spec: np.einsum(spec, *xs),
           [randn(*s) for s in shapes])
      for spec, shapes in EINSUMS),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case):
    check_case(case)


# ----- closed forms ------------------------------------------------------------------------------


def test_matmul_gradients_are_the_closed_forms():
    """For C = A @ B and cotangent G: dA = G @ B.T, dB = A.T @ G."""
    A_np, B_np, G = randn(3, 4), randn(4, 5), randn(3, 5)
    A = mg.tensor(A_np, requires_grad=True)
    B = mg.tensor(B_np, requires_grad=True)
    gA, gB = mg.autograd.grad(A @ B, [A, B], grad_output=G)
    np.testing.assert_allclose(gA.data, G @ B_np.T, rtol=1e-13)
    np.testing.assert_allclose(gB.data, A_np.T @ G, rtol=1e-13)


def test_batched_broadcast_matmul_gradients_sum_over_the_broadcast_batch():
    """(2,1,3,4) @ (5,4,2): each operand's gradient is summed over the batch axes it was broadcast along."""
    A_np, B_np, G = randn(2, 1, 3, 4), randn(5, 4, 2), randn(2, 5, 3, 2)
    A = mg.tensor(A_np, requires_grad=True)
    B = mg.tensor(B_np, requires_grad=True)
    gA, gB = mg.autograd.grad(A @ B, [A, B], grad_output=G)
    np.testing.assert_allclose(
        gA.data, (G @ B_np.swapaxes(-1, -2)).sum(axis=1, keepdims=True), rtol=1e-12
    )
    np.testing.assert_allclose(gB.data, (A_np.swapaxes(-1, -2) @ G).sum(axis=0), rtol=1e-12)


def test_vector_matrix_gradients_are_the_closed_forms():
    """For y = a @ B (a a vector) and cotangent g: da = B @ g, dB = outer(a, g)."""
    a_np, B_np, g = randn(4), randn(4, 3), randn(3)
    a = mg.tensor(a_np, requires_grad=True)
    B = mg.tensor(B_np, requires_grad=True)
    ga, gB = mg.autograd.grad(a @ B, [a, B], grad_output=g)
    np.testing.assert_allclose(ga.data, B_np @ g, rtol=1e-13)
    np.testing.assert_allclose(gB.data, np.outer(a_np, g), rtol=1e-13)


def test_quadratic_form_gradient_and_hessian():
    """f(x) = x @ A @ x has gradient (A + A.T) x and Hessian A + A.T."""
    A_np, x_np = randn(4, 4), randn(4)
    A = mg.tensor(A_np)
    x = mg.tensor(x_np, requires_grad=True)
    (g,) = mg.autograd.grad(x @ A @ x, [x], create_graph=True)
    np.testing.assert_allclose(g.data, (A_np + A_np.T) @ x_np, rtol=1e-13)
    hessian = np.stack([mg.autograd.grad(g[i], [x], retain_graph=True)[0].data for i in range(4)])
    np.testing.assert_allclose(hessian, A_np + A_np.T, rtol=1e-13)


def test_quadratic_form_second_derivative_via_grad_of_grad():
    """d/dx <v, grad f(x)> = (A + A.T) v for f(x) = x @ A @ x."""
    A_np, x_np, v = randn(3, 3), randn(3), randn(3)
    x = mg.tensor(x_np, requires_grad=True)
    (g,) = mg.autograd.grad(x @ mg.tensor(A_np) @ x, [x], create_graph=True)
    (hv,) = mg.autograd.grad((g * v).sum(), [x])
    np.testing.assert_allclose(hv.data, (A_np + A_np.T) @ v, rtol=1e-13)


def test_einsum_trace_gradient_is_identity():
    X = mg.tensor(randn(3, 3), requires_grad=True)
    mg.einsum("ii", X).backward()
    np.testing.assert_array_equal(X.grad.data, np.eye(3))


# ----- the @ operator with numpy arrays ----------------------------------------------------------


@pytest.mark.parametrize("side", ["tensor @ ndarray", "ndarray @ tensor"])
def test_matmul_operator_with_numpy_arrays(side):
    """Either order gives a Tensor with numpy's value, and the Tensor operand gets its gradient."""
    A_np, B_np, G = randn(2, 3), randn(3, 4), randn(2, 4)
    if side == "tensor @ ndarray":
        t = mg.tensor(A_np, requires_grad=True)
        out = t @ B_np
        expected_grad = G @ B_np.T
    else:
        t = mg.tensor(B_np, requires_grad=True)
        out = A_np @ t
        expected_grad = A_np.T @ G
    assert isinstance(out, mg.Tensor)
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out.data, A_np @ B_np, rtol=1e-13)
    out.backward(G)
    np.testing.assert_allclose(t.grad.data, expected_grad, rtol=1e-13)


def test_matmul_operator_with_numpy_vector():
    v, M = randn(3), randn(3, 2)
    out = v @ mg.tensor(M)
    assert isinstance(out, mg.Tensor)
    np.testing.assert_allclose(out.data, v @ M, rtol=1e-13)
    out = mg.tensor(M.T) @ v
    np.testing.assert_allclose(out.data, M.T @ v, rtol=1e-13)


# ----- a matrix and a vector ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "a_shape, b_shape", [((4, 3), (3,)), ((3,), (3, 4))], ids=["matrix @ vector", "vector @ matrix"]
)
def test_a_matrix_and_a_vector_are_one_product(a_shape, b_shape):
    """No reshape to lift the vector (two forward, two backward): one MatMul node, whose
    gradients are the closed forms ``g b^T, A^T g`` (or ``a g^T, g B^T``)."""
    a = mg.tensor(randn(*a_shape), requires_grad=True)
    b = mg.tensor(randn(*b_shape), requires_grad=True)
    out = a @ b
    assert [t._node.prim.__name__ for t in mg.autograd.toposort(out) if t._node] == ["MatMul"]
    g = randn(*out.shape)
    out.backward(g)
    if a.ndim == 2:
        np.testing.assert_allclose(a.grad.data, np.outer(g, b.data), rtol=1e-13)
        np.testing.assert_allclose(b.grad.data, a.data.T @ g, rtol=1e-13)
    else:
        np.testing.assert_allclose(a.grad.data, b.data @ g, rtol=1e-13)
        np.testing.assert_allclose(b.grad.data, np.outer(a.data, g), rtol=1e-13)


def test_matrix_vector_tangents_are_one_product_per_batch():
    """Forward mode through ``A @ x`` with ``k`` tangents of ``x`` (and of ``A``) gives each
    direction's ``A @ t`` (``T @ x``), shape ``(k, m)``."""
    A, x = randn(4, 3), randn(3)
    tA, tx = randn(5, 4, 3), randn(5, 3)
    out, slope = mg.jvp(lambda A, x: A @ x, (A, x), (tA, tx))
    np.testing.assert_allclose(out.data, A @ x, rtol=1e-13)
    assert slope.shape == (5, 4)
    np.testing.assert_allclose(slope.data, tA @ x + tx @ A.T, rtol=1e-13)
