"""The fast paths of forward-over-reverse (``mg.hvp``, ``mg.hessian``, ``mg.jacfwd``).

- The backward pass that pushes tangents computes on ``Dual`` pairs of arrays (minigrad/dual.py)
  instead of Tensors: it must give the same products, bit for bit, as the Tensor form of the
  same pass (which a recorded backward, ``create_graph=True``, still uses), for every kind of
  step: the direct operations, those that go through the Tensor path, a user's rule, a hook.
- ``MatMul.forward_and_jvp``: a matrix without tangents times a vector with a few, as one
  product; checked against ``forward`` and ``jvp`` and against the closed-form HVP.
- Tangents that are rows of the identity (``identity_tangents``): a matrix product with them
  takes rows, exactly.
- ``mg.hessian`` measures its ``f`` once per form of the arguments, not on every call.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd
from minigrad.arguments import FlatLayout, identity_tangents
from minigrad.autodiff import forward_mode
from minigrad.ops import MatMul
from minigrad.ops._tangents import identity_offset, identity_times

rng = np.random.default_rng(7)


def tensor_form_products(f, x, V):
    """``H @ v`` for the rows ``v`` of ``V`` by the Tensor form of forward-over-reverse: the
    backward pass recorded (``create_graph=True``) while the input carries the tangents."""
    leaf = mg.tensor(x, requires_grad=True)
    leaf.tangent = V
    with forward_mode():
        (g,) = autograd.grad(f(leaf), [leaf], create_graph=True)
    return g.tangent


def logistic(X, y):
    return lambda w: mg.log(1 + mg.exp(-y * (X @ w))).mean()


def logistic_hessian(X, y, w):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (X * (p * (1 - p))[:, None]) / len(y)


X_SMALL = rng.standard_normal((40, 6))
Y_SMALL = rng.choice([-1.0, 1.0], 40)
X_BIG = rng.standard_normal((256, 200)) / np.sqrt(200)  # 51,200 elements: MatMul stacks
Y_BIG = rng.choice([-1.0, 1.0], 256)
W1 = rng.standard_normal((6, 2))


class Softplus(mg.Primitive):
    """log(1 + e^x) as a user's primitive: the pass hands its vjp Tensors carrying tangents."""

    @staticmethod
    def forward(x):
        return np.logaddexp(0.0, x)

    @staticmethod
    def vjp(g, y, x):
        return (g / (1 + mg.exp(-x)),)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] / (1 + np.exp(-x))


def hooked(x):
    h = mg.tanh(x) * 2.0
    h.register_hook(lambda g: g * 3.0)  # a hook on an inner tensor's cotangent
    return (h * h).sum()


FUNCTIONS = {
    "logistic": (logistic(X_SMALL, Y_SMALL), (6,)),
    "logistic, stacked products": (logistic(X_BIG, Y_BIG), (200,)),
    "mlp (matrix products, broadcast bias, sums)": (
        lambda x: (mg.tanh(x.reshape(2, 6) @ mg.tensor(W1) + mg.tensor([0.5, -1.0])) ** 2).sum(),
        (12,),
    ),
    "where, maximum, abs (the Tensor path)": (
        lambda x: (mg.where(x > 0, x * x, mg.sin(x)) + mg.maximum(x, 0.3 * x) * mg.abs(x)).sum(),
        (7,),
    ),
    "indexing (scatter) and a mean over an axis": (
        lambda x: (x[1:4] ** 3).sum() + (x.reshape(2, 4) * x.reshape(2, 4)).mean(dim=0).sum(),
        (8,),
    ),
    "float32 constant times float64 (promotion)": (
        lambda x: (mg.tensor(np.arange(5, dtype=np.float32)) * mg.exp(x)).sum() / 3,
        (5,),
    ),
    "a user's primitive": (lambda x: Softplus.apply(x * x).sum() * 0.5, (4,)),
    "a gradient hook": (hooked, (5,)),
}


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("batch", [1, 3])
def test_dual_pass_equals_tensor_pass_bit_for_bit(name, batch):
    f, shape = FUNCTIONS[name]
    x = rng.standard_normal(shape)
    V = rng.standard_normal((batch, *shape))
    expected = tensor_form_products(f, x, V)
    products = mg.hvp(f, (x,), (V,)).data
    np.testing.assert_array_equal(products, expected)
    assert np.abs(products).max() > 1e-3  # not trivially zero


@pytest.mark.parametrize("X, y", [(X_SMALL, Y_SMALL), (X_BIG, Y_BIG)])
def test_hvp_and_hessian_of_the_logistic_loss_match_the_closed_form(X, y):
    n = X.shape[1]
    w, v = rng.standard_normal(n) * 0.5, rng.standard_normal(n)
    H = logistic_hessian(X, y, w)
    f = logistic(X, y)
    np.testing.assert_allclose(mg.hvp(f, (w,), (v,)).data, H @ v, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(mg.hessian(f)(w).data, H, rtol=1e-10, atol=1e-14)
    grad = mg.grad(f)(w).data
    p = 1 / (1 + np.exp(-(X @ w)))
    np.testing.assert_allclose(grad, X.T @ (p - (y + 1) / 2) / len(y), rtol=1e-10, atol=1e-14)


# ----- MatMul.forward_and_jvp --------------------------------------------------------------------


@pytest.mark.parametrize("side", ["matrix @ vector", "vector @ matrix"])
@pytest.mark.parametrize("batch", [1, 4])
def test_matmul_forward_and_jvp_is_forward_and_jvp(side, batch):
    M = rng.standard_normal((256, 160))  # 40,960 elements: above the threshold
    u = rng.standard_normal(160 if side == "matrix @ vector" else 256)
    T = rng.standard_normal((batch, u.size))
    a, b = (M, u) if side == "matrix @ vector" else (u, M)
    ts = [None, T] if side == "matrix @ vector" else [T, None]
    y, t = MatMul.forward_and_jvp(ts, a, b)
    np.testing.assert_allclose(y, MatMul.forward(a, b), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(t, MatMul.jvp(ts, MatMul.forward(a, b), a, b), rtol=1e-13,
                               atol=1e-13)  # fmt: skip
    assert y.shape == (M.shape[0] if side == "matrix @ vector" else M.shape[1],)
    assert t.shape == (batch, *y.shape)


def test_matmul_forward_and_jvp_declines_where_stacking_does_not_pay():
    M, u, T = rng.standard_normal((40, 6)), rng.standard_normal(6), rng.standard_normal((1, 6))
    assert MatMul.forward_and_jvp([None, T], M, u) is None  # a small matrix
    big, w = rng.standard_normal((256, 200)), rng.standard_normal(200)
    both = [rng.standard_normal((1, 256, 200)), rng.standard_normal((1, 200))]
    assert MatMul.forward_and_jvp(both, big, w) is None  # both operands carry tangents
    assert MatMul.forward_and_jvp([None, rng.standard_normal((20, 200))], big, w) is None
    assert MatMul.forward_and_jvp([None, rng.standard_normal((1, 200))], big, w) is not None


def test_forward_mode_uses_the_joint_product(monkeypatch):
    w = mg.tensor(rng.standard_normal(200))
    w.tangent = rng.standard_normal((1, 200))
    with monkeypatch.context() as patched:
        patched.setattr(MatMul, "jvp", None)  # not called: forward_and_jvp does both
        with forward_mode():
            out = mg.tensor(X_BIG) @ w
    np.testing.assert_allclose(out.data, X_BIG @ w.data, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(out.tangent, w.tangent @ X_BIG.T, rtol=1e-13, atol=1e-13)
    with pytest.raises(mg.errors.OpError), forward_mode():  # a shape error is reported as one
        MatMul.apply(mg.tensor(X_BIG), w[:100])


# ----- tangents that are rows of the identity ----------------------------------------------------


def test_identity_tangents_are_marked_read_only_blocks_of_the_identity():
    layout = FlatLayout([(3,), (2, 2), (4,)])
    blocks = identity_tangents(layout, 2, 9, np.float64)
    full = np.eye(7, 11, k=2)
    for block, (shape, a, b) in zip(blocks, layout.slices()):
        np.testing.assert_array_equal(block.reshape(7, -1), full[:, a:b])
        assert identity_offset(block) == (2 - a if len(shape) == 1 else None)
        assert block.flags.writeable == (len(shape) != 1)  # the marked ones are read-only
    assert identity_offset(np.eye(3)) is None  # a plain array is not marked


@pytest.mark.parametrize("offset", [-3, 0, 2, 6])
def test_identity_times_is_the_product(offset):
    M = rng.standard_normal((5, 4))
    identity = np.eye(4, 5, k=offset)
    np.testing.assert_array_equal(identity_times(identity, offset, M), identity @ M)
    assert identity_times(identity, offset, M).flags.c_contiguous


def test_jacfwd_and_hessian_through_matrix_products_are_exact():
    A = rng.standard_normal((7, 5))
    np.testing.assert_array_equal(mg.jacfwd(lambda x: mg.tensor(A) @ x)(np.ones(5)).data, A)
    np.testing.assert_array_equal(mg.jacfwd(lambda x: x @ mg.tensor(A.T))(np.ones(5)).data, A)
    # two inputs: blocks of the identity with offsets, and zero blocks
    B = rng.standard_normal((4, 3))
    f = lambda u, v: ((mg.tensor(A[:4]) @ u) * (mg.tensor(B) @ v)).sum()  # noqa: E731
    H = mg.hessian(f, argnums=(0, 1), flat=True)(np.ones(5), np.ones(3)).data
    cross = A[:4].T @ B
    expected = np.block([[np.zeros((5, 5)), cross], [cross.T, np.zeros((3, 3))]])
    np.testing.assert_allclose(H, expected, rtol=1e-12, atol=1e-12)


# ----- the Hessian's probe -----------------------------------------------------------------------


def test_hessian_measures_f_once_per_form_of_the_arguments():
    calls = []

    def f(x, scale):
        calls.append(x.shape)
        return (x**3).sum() * scale

    hessian = mg.hessian(f)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(hessian(x, 2.0).data, np.diag(12 * x))
    assert len(calls) == 2  # the probe, then the pass
    np.testing.assert_allclose(hessian(x + 1, 2.0).data, np.diag(12 * (x + 1)))
    assert len(calls) == 3  # the same form: the pass alone
    hessian(np.ones(4), 2.0)
    hessian(x, 3.0)
    assert len(calls) == 7  # a new shape, a new number: measured again
