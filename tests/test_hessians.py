"""Second derivatives: ``mg.hessian`` and ``mg.hvp`` (forward-over-reverse).

Hessians are checked against closed forms written from the math (quadratic forms, logistic
regression, Rosenbrock, a two-argument function with a nonlinear cross term) and, for a small MLP,
against central differences of a gradient written by hand in numpy.
"""

import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import BackwardError, ShapeError

# ----- helpers -----------------------------------------------------------------------------------


def central_difference_jacobian(fn, x, eps=1e-5):
    """d fn / d x by central differences, shape ``fn(x).shape + x.shape`` (numpy in, numpy out).

    Applied to a gradient, this is the Hessian with an error O(eps**2) independent of minigrad.
    """
    x = np.asarray(x, dtype=np.float64)
    out_shape = np.shape(fn(x))
    columns = []
    for j in range(x.size):
        step = np.zeros(x.size)
        step[j] = eps
        step = step.reshape(x.shape)
        columns.append((np.asarray(fn(x + step)) - np.asarray(fn(x - step))).ravel() / (2 * eps))
    return np.stack(columns, axis=-1).reshape(out_shape + x.shape)


def assert_symmetric(H, rtol=1e-10):
    """An (n, n) matrix equal to its transpose up to rounding, relative to its largest entry."""
    H = np.asarray(H)
    scale = max(np.abs(H).max(), 1.0)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=rtol * scale)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ----- problems: a minigrad function and its Hessian from the math ---------------------------------

rng = np.random.default_rng(0)

A5 = rng.standard_normal((5, 5))  # not symmetric: the Hessian of x^T A x is A + A^T
A6 = rng.standard_normal((6, 6))


def quadratic(A):
    def f(x):
        v = x.reshape(-1)
        return v @ (mg.tensor(A) @ v)

    return f


X_LOG = rng.standard_normal((8, 4))
Y_LOG = np.where(rng.random(8) < 0.5, -1.0, 1.0)
LAM = 0.3


def logistic_loss(w):
    """sum(log(1 + exp(-y * (X @ w)))) + lam/2 ||w||^2."""
    margins = -mg.tensor(Y_LOG) * (mg.tensor(X_LOG) @ w)
    return mg.log(1 + mg.exp(margins)).sum() + LAM / 2 * (w * w).sum()


def logistic_hessian(w):
    """X^T diag(s (1 - s)) X + lam I, s = sigmoid(X @ w) (y = +-1 drops out since y^2 = 1)."""
    s = sigmoid(X_LOG @ w)
    return X_LOG.T @ np.diag(s * (1 - s)) @ X_LOG + LAM * np.eye(len(w))


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def rosenbrock_hessian(x):
    """Tridiagonal: H_ii = [i < n-1](1200 x_i^2 - 400 x_{i+1} + 2) + [i > 0] 200,
    H_{i,i+1} = H_{i+1,i} = -400 x_i."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n):
        if i < n - 1:
            H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
            H[i, i + 1] = H[i + 1, i] = -400 * x[i]
        if i > 0:
            H[i, i] += 200
    return H


# A small MLP: 2 inputs, 3 tanh hidden units, 3 classes; parameters W1 (2,3), b1 (3,), W2 (3,3),
# b2 (3,), flattened in that order into one vector of 21.
X_MLP = rng.standard_normal((6, 2))
LABELS = np.array([0, 1, 2, 1, 0, 2])
ONE_HOT = np.eye(3)[LABELS]
MLP_SHAPES = [(2, 3), (3,), (3, 3), (3,)]
MLP_SIZES = [int(np.prod(s)) for s in MLP_SHAPES]
MLP_N = sum(MLP_SIZES)


def unflatten(theta):
    """The MLP's parameter blocks from one flat vector (works on numpy arrays and Tensors)."""
    offsets = np.cumsum([0, *MLP_SIZES])
    return [theta[a:b].reshape(s) for a, b, s in zip(offsets[:-1], offsets[1:], MLP_SHAPES)]


def mlp_loss_blocks(W1, b1, W2, b2):
    """Mean softmax cross-entropy of tanh(X W1 + b1) W2 + b2."""
    logits = mg.tanh(mg.tensor(X_MLP) @ W1 + b1) @ W2 + b2
    picked = (logits * mg.tensor(ONE_HOT)).sum(axis=1)
    return (mg.logsumexp(logits, axis=1) - picked).mean()


def mlp_loss(theta):
    return mlp_loss_blocks(*unflatten(theta))


def mlp_loss_numpy(theta):
    W1, b1, W2, b2 = unflatten(theta)
    logits = np.tanh(X_MLP @ W1 + b1) @ W2 + b2
    top = logits.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return np.mean(lse - logits[np.arange(len(LABELS)), LABELS])


def mlp_grad_numpy(theta):
    """Backpropagation by hand: dZ = (softmax - onehot) / m, then through W2, tanh, W1."""
    W1, b1, W2, b2 = unflatten(theta)
    hidden = np.tanh(X_MLP @ W1 + b1)
    logits = hidden @ W2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_logits = (p - ONE_HOT) / len(LABELS)
    d_pre = (d_logits @ W2.T) * (1 - hidden**2)
    grads = [X_MLP.T @ d_pre, d_pre.sum(axis=0), hidden.T @ d_logits, d_logits.sum(axis=0)]
    return np.concatenate([g.ravel() for g in grads])


THETA = 0.8 * rng.standard_normal(MLP_N)
MLP_HESSIAN_FD = central_difference_jacobian(mlp_grad_numpy, THETA)

X_QUAD_MAT = rng.standard_normal((2, 3))
W_LOG = rng.standard_normal(4)
X_ROSEN = np.array([-0.7, 1.2, 0.4, 0.9])

# (name, f, x, expected Hessian of shape x.shape + x.shape, tolerance)
PROBLEMS = [
    ("quadratic_vector", quadratic(A5), rng.standard_normal(5), A5 + A5.T, 1e-12),
    (
        "quadratic_matrix",
        quadratic(A6),
        X_QUAD_MAT,
        (A6 + A6.T).reshape(2, 3, 2, 3),
        1e-12,
    ),
    ("logistic", logistic_loss, W_LOG, logistic_hessian(W_LOG), 1e-12),
    ("rosenbrock", rosenbrock, X_ROSEN, rosenbrock_hessian(X_ROSEN), 1e-12),
    ("mlp", mlp_loss, THETA, MLP_HESSIAN_FD, 1e-6),
]
PROBLEM_IDS = [p[0] for p in PROBLEMS]


def as_matrix(H, x):
    return np.asarray(H).reshape(np.size(x), np.size(x))


# ----- the numpy references themselves -----------------------------------------------------------


def test_mlp_numpy_gradient_matches_finite_differences_of_the_loss():
    """The hand-written MLP gradient (the reference for the MLP Hessian) is right."""
    fd = central_difference_jacobian(mlp_loss_numpy, THETA)
    np.testing.assert_allclose(mlp_grad_numpy(THETA), fd, atol=1e-9)


def test_mlp_minigrad_loss_matches_numpy_loss():
    assert mlp_loss(mg.tensor(THETA)).item() == pytest.approx(mlp_loss_numpy(THETA), rel=1e-12)


def logistic_loss_numpy(w):
    return np.sum(np.log1p(np.exp(-Y_LOG * (X_LOG @ w)))) + LAM / 2 * w @ w


def rosenbrock_numpy(z):
    return np.sum(100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)


def second_differences(value, x, eps=1e-4):
    """The Hessian of a numpy function by central differences of central differences."""
    return central_difference_jacobian(
        lambda z: central_difference_jacobian(value, z, eps=eps), x, eps=eps
    )


@pytest.mark.parametrize(
    "value, closed_form, x",
    [
        (logistic_loss_numpy, logistic_hessian, W_LOG),
        (rosenbrock_numpy, rosenbrock_hessian, X_ROSEN),
    ],
    ids=["logistic", "rosenbrock"],
)
def test_closed_form_hessians_match_second_differences(value, closed_form, x):
    """The closed forms themselves, checked on minigrad-free numpy code."""
    np.testing.assert_allclose(closed_form(x), second_differences(value, x), rtol=1e-5, atol=1e-5)


# ----- hessian against the math ------------------------------------------------------------------


@pytest.mark.parametrize("name, f, x, expected, tol", PROBLEMS, ids=PROBLEM_IDS)
def test_hessian_matches_reference(name, f, x, expected, tol):
    H = mg.hessian(f)(mg.tensor(x))
    assert isinstance(H, mg.Tensor)
    assert H.shape == x.shape + x.shape
    assert H.dtype == np.float64
    np.testing.assert_allclose(H.data, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name, f, x, expected, tol", PROBLEMS, ids=PROBLEM_IDS)
def test_hessian_is_symmetric(name, f, x, expected, tol):
    assert_symmetric(as_matrix(mg.hessian(f)(mg.tensor(x)).data, x))


@pytest.mark.parametrize("chunk_size", [1, 3, None])
@pytest.mark.parametrize("name, f, x, expected, tol", PROBLEMS, ids=PROBLEM_IDS)
def test_hessian_chunk_sizes_give_the_same_result(name, f, x, expected, tol, chunk_size):
    """chunk_size=1, 3 (uneven for n = 4, 5, 6) and the default all give the reference."""
    H = mg.hessian(f, chunk_size=chunk_size)(mg.tensor(x))
    np.testing.assert_allclose(H.data, expected, rtol=tol, atol=tol)


def test_hessian_accepts_a_numpy_array():
    np.testing.assert_allclose(mg.hessian(rosenbrock)(X_ROSEN).data, rosenbrock_hessian(X_ROSEN))


def test_hessian_of_mlp_with_parameters_as_several_arguments():
    """argnums over the four parameter blocks, flat=True: the same 21 x 21 matrix."""
    blocks = [mg.tensor(b) for b in unflatten(THETA)]
    H = mg.hessian(mlp_loss_blocks, argnums=(0, 1, 2, 3), flat=True)(*blocks)
    assert H.shape == (MLP_N, MLP_N)
    np.testing.assert_allclose(H.data, MLP_HESSIAN_FD, atol=1e-6)


def test_reverse_over_reverse_agrees_with_forward_over_reverse_on_mlp():
    """backward(create_graph=True), then differentiating each gradient component, gives rows of
    the same matrix as mg.hessian; both match finite differences of the numpy gradient."""
    theta = mg.tensor(THETA, requires_grad=True)
    mlp_loss(theta).backward(create_graph=True)
    g = theta.grad
    assert g.requires_grad
    rows = [mg.autograd.grad(g[i], [theta], retain_graph=True)[0].data for i in range(MLP_N)]
    H_rr = np.stack(rows)
    H_fr = mg.hessian(mlp_loss)(mg.tensor(THETA)).data
    np.testing.assert_allclose(H_rr, H_fr, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H_rr, MLP_HESSIAN_FD, atol=1e-6)
    assert_symmetric(H_rr)


# ----- several arguments: nested blocks and flat -------------------------------------------------

A_CROSS = rng.standard_normal((3, 4))
X_TWO = rng.standard_normal(3)
Y_TWO = rng.standard_normal((2, 2))


def two_argument_f(x, Y):
    """x^T A vec(Y) + sum(x^3) + sum(exp(Y)) + sum(sin(x[:2] * Y[0]))."""
    return (
        x @ (mg.tensor(A_CROSS) @ Y.reshape(4))
        + (x**3).sum()
        + mg.exp(Y).sum()
        + mg.sin(x[:2] * Y[0]).sum()
    )


def two_argument_hessian(x, Y):
    """The (3 + 4) x (3 + 4) Hessian over u = concat(x, vec(Y)). The sin terms pair x_i with
    vec(Y)_i (i < 2): with z = x_i y_i, d2/dx2 = -sin(z) y^2, d2/dxdy = cos(z) - sin(z) x y,
    d2/dy2 = -sin(z) x^2."""
    y = Y.ravel()
    H = np.zeros((7, 7))
    H[:3, :3] = np.diag(6 * x)
    H[:3, 3:] = A_CROSS
    H[3:, :3] = A_CROSS.T
    H[3:, 3:] = np.diag(np.exp(y))
    for i in range(2):
        z = x[i] * y[i]
        H[i, i] += -np.sin(z) * y[i] ** 2
        H[3 + i, 3 + i] += -np.sin(z) * x[i] ** 2
        H[i, 3 + i] += np.cos(z) - np.sin(z) * x[i] * y[i]
        H[3 + i, i] += np.cos(z) - np.sin(z) * x[i] * y[i]
    return H


H_TWO = two_argument_hessian(X_TWO, Y_TWO)


def test_two_argument_closed_form_matches_finite_differences():
    """The closed form above, checked by second differences of numpy code."""

    def value(u):
        x, y = u[:3], u[3:]
        return x @ A_CROSS @ y + np.sum(x**3) + np.sum(np.exp(y)) + np.sum(np.sin(x[:2] * y[:2]))

    u = np.concatenate([X_TWO, Y_TWO.ravel()])
    np.testing.assert_allclose(H_TWO, second_differences(value, u), rtol=1e-5, atol=1e-5)


def test_hessian_tuple_argnums_gives_nested_blocks():
    """H[i][j] has shape x_i.shape + x_j.shape and is the (i, j) block of the flat matrix."""
    x, Y = mg.tensor(X_TWO), mg.tensor(Y_TWO)
    H = mg.hessian(two_argument_f, argnums=(0, 1))(x, Y)
    assert isinstance(H, tuple) and len(H) == 2
    assert all(isinstance(row, tuple) and len(row) == 2 for row in H)
    assert H[0][0].shape == (3, 3)
    assert H[0][1].shape == (3, 2, 2)
    assert H[1][0].shape == (2, 2, 3)
    assert H[1][1].shape == (2, 2, 2, 2)
    np.testing.assert_allclose(H[0][0].data, H_TWO[:3, :3], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H[0][1].data.reshape(3, 4), H_TWO[:3, 3:], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H[1][0].data.reshape(4, 3), H_TWO[3:, :3], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H[1][1].data.reshape(4, 4), H_TWO[3:, 3:], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 3, None])
def test_hessian_flat_matches_block_hessian(chunk_size):
    x, Y = mg.tensor(X_TWO), mg.tensor(Y_TWO)
    H = mg.hessian(two_argument_f, argnums=(0, 1), flat=True, chunk_size=chunk_size)(x, Y)
    assert H.shape == (7, 7)
    np.testing.assert_allclose(H.data, H_TWO, rtol=1e-12, atol=1e-12)
    assert_symmetric(H.data)


def test_hessian_int_argnums_picks_one_argument():
    """argnums=1: the Hessian in Y alone, with x held fixed (a block of the full one)."""
    H = mg.hessian(two_argument_f, argnums=1)(mg.tensor(X_TWO), mg.tensor(Y_TWO))
    assert H.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(H.data.reshape(4, 4), H_TWO[3:, 3:], rtol=1e-12, atol=1e-12)


def test_hessian_tuple_of_one_argnum_gives_nested_one_block():
    H = mg.hessian(two_argument_f, argnums=(0,))(mg.tensor(X_TWO), mg.tensor(Y_TWO))
    assert isinstance(H, tuple) and len(H) == 1 and len(H[0]) == 1
    np.testing.assert_allclose(H[0][0].data, H_TWO[:3, :3], rtol=1e-12, atol=1e-12)


# ----- hvp ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, f, x, expected, tol", PROBLEMS, ids=PROBLEM_IDS)
def test_hvp_with_one_vector_is_hessian_times_vector(name, f, x, expected, tol):
    v = np.random.default_rng(1).standard_normal(x.shape)
    Hv = mg.hvp(f, (mg.tensor(x),), (mg.tensor(v),))
    assert isinstance(Hv, mg.Tensor)
    assert Hv.shape == x.shape
    expected_Hv = (as_matrix(expected, x) @ v.ravel()).reshape(x.shape)
    np.testing.assert_allclose(Hv.data, expected_Hv, rtol=tol, atol=tol)


@pytest.mark.parametrize("name, f, x, expected, tol", PROBLEMS, ids=PROBLEM_IDS)
def test_hvp_with_a_batch_of_vectors(name, f, x, expected, tol):
    """Tangents of shape (k, *x.shape): result (k, *x.shape), row i = H @ v_i."""
    k = 3
    V = np.random.default_rng(2).standard_normal((k, *x.shape))
    HV = mg.hvp(f, (mg.tensor(x),), (V,))
    assert HV.shape == (k, *x.shape)
    H = as_matrix(expected, x)
    for i in range(k):
        np.testing.assert_allclose(
            HV.data[i], (H @ V[i].ravel()).reshape(x.shape), rtol=tol, atol=tol
        )


def test_hvp_with_several_primals_returns_a_tuple_of_blocks():
    """(H @ v) split by argument: block i = sum_j H[i][j] @ v_j."""
    rng_v = np.random.default_rng(3)
    vx, vY = rng_v.standard_normal(3), rng_v.standard_normal((2, 2))
    out = mg.hvp(two_argument_f, (mg.tensor(X_TWO), mg.tensor(Y_TWO)), (vx, vY))
    assert isinstance(out, tuple) and len(out) == 2
    assert out[0].shape == (3,) and out[1].shape == (2, 2)
    full = H_TWO @ np.concatenate([vx, vY.ravel()])
    np.testing.assert_allclose(out[0].data, full[:3], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out[1].data, full[3:].reshape(2, 2), rtol=1e-12, atol=1e-12)


def test_hvp_with_several_primals_and_a_batch():
    k = 4
    rng_v = np.random.default_rng(4)
    Vx, VY = rng_v.standard_normal((k, 3)), rng_v.standard_normal((k, 2, 2))
    out = mg.hvp(two_argument_f, (X_TWO, Y_TWO), (Vx, VY))
    assert out[0].shape == (k, 3) and out[1].shape == (k, 2, 2)
    full = np.concatenate([Vx, VY.reshape(k, 4)], axis=1) @ H_TWO.T
    np.testing.assert_allclose(out[0].data, full[:, :3], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out[1].data, full[:, 3:].reshape(k, 2, 2), rtol=1e-12, atol=1e-12)


def test_hvp_with_a_python_float_primal():
    """f(x) = x^3 sin(x): f'' = 6x sin x + 6x^2 cos x - x^3 sin x."""

    def f(x):
        return x**3 * mg.sin(x)

    x = 0.7
    f2 = 6 * x * np.sin(x) + 6 * x**2 * np.cos(x) - x**3 * np.sin(x)
    out = mg.hvp(f, (x,), (2.0,))
    assert out.shape == ()
    assert out.item() == pytest.approx(2.0 * f2, rel=1e-12)
    batch = mg.hvp(f, (x,), (np.array([1.0, -3.0]),))
    np.testing.assert_allclose(batch.data, [f2, -3.0 * f2], rtol=1e-12)


def test_hvp_of_a_function_that_ignores_its_input_is_zero():
    out = mg.hvp(lambda x: (x * 0).sum() + 1.0, (np.ones(3),), (np.ones(3),))
    np.testing.assert_array_equal(out.data, np.zeros(3))


# ----- dtypes ------------------------------------------------------------------------------------


def test_float32_hessian_is_float32_and_close_to_float64():
    x32 = mg.tensor(W_LOG.astype(np.float32))
    H32 = mg.hessian(logistic_loss)(x32)
    assert H32.dtype == np.float32
    np.testing.assert_allclose(H32.data, logistic_hessian(W_LOG), rtol=1e-4, atol=1e-4)


def test_float32_quadratic_hessian_with_float32_constants():
    A32 = A5.astype(np.float32)

    def f(x):
        return x @ (mg.tensor(A32) @ x)

    H = mg.hessian(f)(mg.tensor(np.ones(5, np.float32)))
    assert H.dtype == np.float32
    np.testing.assert_allclose(H.data, A5 + A5.T, rtol=1e-5, atol=1e-5)


def test_float32_hvp_is_float32():
    x32 = X_ROSEN.astype(np.float32)
    v32 = np.array([1.0, -1.0, 0.5, 2.0], np.float32)
    out = mg.hvp(rosenbrock, (mg.tensor(x32),), (mg.tensor(v32),))
    assert out.dtype == np.float32
    expected = rosenbrock_hessian(X_ROSEN) @ v32.astype(np.float64)
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-3)


# ----- memory guard ------------------------------------------------------------------------------


def test_hessian_larger_than_max_memory_raises_with_size_and_advice():
    with pytest.raises(mg.HessianTooLarge) as info:
        mg.hessian(quadratic(A5), max_memory=100)(np.ones(5))  # 5 x 5 x 8 = 200 bytes
    assert isinstance(info.value, MemoryError)
    message = str(info.value)
    assert "5 x 5" in message
    assert "hvp" in message
    assert "max_memory" in message


def test_huge_hessian_fails_at_once_without_allocating():
    """n = 30000: a 7.2 GB Hessian over the default 1 GiB fails before any large array.
    tracemalloc sees numpy's allocations, even of pages never touched: the peak stays under 10
    copies of x, so not even 10 rows of the Hessian (or of the identity) were allocated."""
    x = np.ones(30000)
    tracemalloc.start()
    try:
        with pytest.raises(mg.HessianTooLarge, match="30000 x 30000 Hessian"):
            mg.hessian(lambda x: (x * x).sum())(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * x.nbytes, f"peak {peak} bytes before refusing; x is {x.nbytes}"


def test_chunk_size_that_does_not_fit_raises_naming_chunk_size():
    """The result fits but n rows of tangents (at least n x n more floats) cannot."""
    n = 100
    max_memory = int(1.5 * n * n * 8)

    def f(x):
        return (x * x).sum()

    with pytest.raises(mg.HessianTooLarge, match="chunk_size"):
        mg.hessian(f, chunk_size=n, max_memory=max_memory)(np.ones(n))
    # one row at a time needs only O(n) tangents: it fits and is right (H = 2 I)
    H = mg.hessian(f, chunk_size=1, max_memory=max_memory)(np.ones(n))
    np.testing.assert_array_equal(H.data, 2 * np.eye(n))


def test_default_chunk_size_fits_under_a_tight_max_memory():
    """With room for the result and a few rows, the default chunking still gives the Hessian."""
    n = 100

    def f(x):
        return (x * x).sum()

    H = mg.hessian(f, max_memory=int(1.5 * n * n * 8))(np.ones(n))
    np.testing.assert_array_equal(H.data, 2 * np.eye(n))


def test_hessian_peak_memory_stays_under_max_memory():
    """tracemalloc sees numpy's allocations. n = 600: the result is 2.9 MB and max_memory 1.5
    times that. An n x n identity for the tangents (as before) alone took the peak to 1.5 times
    max_memory; built a chunk at a time, the result and one chunk's tangents fit."""
    n = 600
    x = np.linspace(-1.0, 1.0, n)
    max_memory = int(1.5 * n * n * 8)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        H = mg.hessian(lambda x: (x**4).sum(), max_memory=max_memory)(x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak <= max_memory, f"peak {peak} bytes > max_memory {max_memory}"
    np.testing.assert_allclose(H.data, np.diag(12 * x**2), rtol=1e-12)


@pytest.mark.parametrize("chunk_size", [0, -2])
def test_nonpositive_chunk_size_raises(chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        mg.hessian(rosenbrock, chunk_size=chunk_size)(X_ROSEN)


# ----- errors ------------------------------------------------------------------------------------


def test_hessian_of_non_scalar_function_raises_shape_error():
    with pytest.raises(
        ShapeError,
        match=r"hessian: the function must return a scalar Tensor, it returned shape \(3,\)",
    ):
        mg.hessian(lambda x: x * x)(np.ones(3))


def test_hvp_of_non_scalar_function_raises_shape_error():
    with pytest.raises(
        ShapeError, match=r"hvp: the function must return a scalar Tensor, it returned shape \(3,\)"
    ):
        mg.hvp(lambda x: x * x, (np.ones(3),), (np.ones(3),))


@pytest.mark.parametrize("primals, tangents", [(X_ROSEN, np.ones(4)), ((X_ROSEN,), np.ones(4))])
def test_hvp_with_bare_arrays_instead_of_tuples_raises_with_the_fix(primals, tangents):
    """A bare (4,) array was unpacked into 4 arguments (a raw TypeError inside f)."""
    with pytest.raises(ShapeError, match=r"hvp: .* must be a tuple or list") as info:
        mg.hvp(rosenbrock, primals, tangents)
    assert "mg.hvp(f, (x,), (v,))" in str(info.value)


def test_hvp_and_hessian_of_an_input_requiring_grad_take_its_value():
    """Under grad mode, a leaf that requires grad (a parameter) is its value, as in JAX."""
    x = mg.tensor(X_ROSEN, requires_grad=True)
    v = np.array([0.5, -1.0, 2.0, 1.0])
    H = rosenbrock_hessian(X_ROSEN)
    np.testing.assert_allclose(mg.hessian(rosenbrock)(x).data, H, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mg.hvp(rosenbrock, (x,), (v,)).data, H @ v, rtol=1e-12)
    assert x.grad is None


def test_hessian_and_hvp_of_a_linear_layers_parameters():
    """L(W, b) = sum((X W^T + b)**2) over an nn.Linear(3, 2)'s own Parameters, flat order
    (W row by row, then b): d2L/dW[o,i]dW[p,j] = 2 [o = p] (X^T X)[i, j],
    d2L/dW[o,i]db[p] = 2 [o = p] sum_m X[m, i], d2L/db[o]db[p] = 2 m [o = p]."""
    X = np.random.default_rng(8).standard_normal((5, 3))
    layer = mg.nn.Linear(3, 2)
    params = list(layer.parameters())

    def loss(W, b):
        return ((mg.tensor(X) @ W.T + b) ** 2).sum()

    eye = np.eye(2)
    H = np.block(
        [
            [np.kron(eye, 2 * X.T @ X), np.kron(eye, 2 * X.sum(axis=0)[:, None])],
            [np.kron(eye, 2 * X.sum(axis=0)[None, :]), 2 * len(X) * eye],
        ]
    )
    flat = mg.hessian(loss, argnums=(0, 1), flat=True)(*params)
    np.testing.assert_allclose(flat.data, H, rtol=1e-5, atol=1e-4)
    vW, vb = np.ones((2, 3)), np.array([1.0, -2.0])
    hW, hb = mg.hvp(loss, params, (vW, vb))
    Hv = H @ np.concatenate([vW.ravel(), vb])
    np.testing.assert_allclose(hW.data.ravel(), Hv[:6], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(hb.data, Hv[6:], rtol=1e-5, atol=1e-4)
    assert all(p.grad is None for p in params)


def test_hessian_inside_grad_is_refused_without_pointing_back_at_hessian():
    """A third derivative through forward mode: reverse-over-forward is not supported."""
    with pytest.raises(BackwardError) as info:
        mg.grad(lambda x: mg.hessian(rosenbrock)(x).sum())(X_ROSEN)
    message = str(info.value)
    assert message.startswith("hessian: argument 0 is being differentiated in reverse mode")
    assert "mg.hessian(" not in message


def test_hvp_of_a_tensor_computed_from_one_requiring_grad_is_refused():
    x = mg.tensor(X_ROSEN, requires_grad=True)
    with pytest.raises(BackwardError, match="hvp: argument 0 is being differentiated"):
        mg.hvp(rosenbrock, (x * 1.0,), (np.ones(4),))


def test_input_requiring_grad_works_under_no_grad():
    """Under mg.no_grad() the input's requires_grad is not an outer differentiation."""
    x = mg.tensor(X_ROSEN, requires_grad=True)
    v = np.array([0.5, -1.0, 2.0, 1.0])
    with mg.no_grad():
        H = mg.hessian(rosenbrock)(x)
        Hv = mg.hvp(rosenbrock, (x,), (v,))
    np.testing.assert_allclose(H.data, rosenbrock_hessian(X_ROSEN), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Hv.data, rosenbrock_hessian(X_ROSEN) @ v, rtol=1e-12, atol=1e-12)
    assert x.grad is None


def test_hessian_through_a_gradient_that_arrives_as_a_view():
    """Regression: a leaf's gradient copied to be writable must keep its tangent (H v)."""
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    H = mg.hessian(lambda x: ((mg.tensor(A) @ x) ** 2).sum())(np.array([1.0, 2.0]))
    np.testing.assert_allclose(H.data, 2 * A.T @ A)
