"""Function transforms: grad, value_and_grad, vjp, jvp, jacfwd, jacrev, jacobian, check_grads.

Every derivative is checked against a closed form written from the math, and most also against
central finite differences computed here in numpy (never against minigrad itself, except where
a test is about two routes agreeing, next to a closed form).
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad.checking import GradcheckError

EPS = 1e-6


def fd_jacobian(fn, x0, eps=EPS):
    """Central differences of the numpy function ``fn`` at ``x0``: shape out.shape + x0.shape."""
    x0 = np.asarray(x0, dtype=np.float64)
    out_shape = np.shape(fn(x0))
    jac = np.zeros(out_shape + x0.shape)
    for j in np.ndindex(x0.shape):
        step = np.zeros_like(x0)
        step[j] = eps
        jac[(...,) + j] = (np.asarray(fn(x0 + step)) - np.asarray(fn(x0 - step))) / (2 * eps)
    return jac


def fd_grad(fn, x0, eps=EPS):
    """Central differences of a scalar numpy function: the gradient, shaped like ``x0``."""
    return fd_jacobian(fn, x0, eps)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ----- grad and value_and_grad -------------------------------------------------------------------


def test_grad_of_one_argument_matches_closed_form_and_fd(rng):
    """f(x) = sum(x sin x): grad = sin x + x cos x."""
    x0 = rng.standard_normal(4)
    g = mg.grad(lambda x: (x * mg.sin(x)).sum())(mg.tensor(x0))
    assert isinstance(g, mg.Tensor)
    np.testing.assert_allclose(g.data, np.sin(x0) + x0 * np.cos(x0), rtol=1e-12)
    np.testing.assert_allclose(g.data, fd_grad(lambda x: np.sum(x * np.sin(x)), x0), atol=1e-8)


def test_grad_result_is_a_plain_tensor_without_history(rng):
    g = mg.grad(lambda x: (mg.exp(x)).sum())(mg.tensor(rng.standard_normal(3)))
    assert not g.requires_grad
    assert g.grad_fn is None


def test_value_and_grad_returns_value_and_gradient(rng):
    """f(x) = sum(exp(x) * x): value and gradient exp(x) (1 + x)."""
    x0 = rng.standard_normal((2, 3))
    value, g = mg.value_and_grad(lambda x: (mg.exp(x) * x).sum())(mg.tensor(x0))
    assert value.shape == ()
    np.testing.assert_allclose(value.item(), np.sum(np.exp(x0) * x0), rtol=1e-12)
    np.testing.assert_allclose(g.data, np.exp(x0) * (1 + x0), rtol=1e-12)


def two_args(x, y):
    """f(x, y) = sum(x * y**2) + sum(exp(x)): df/dx = y**2 + exp(x), df/dy = 2 x y."""
    return (x * y**2).sum() + mg.exp(x).sum()


def two_args_np(x, y):
    return np.sum(x * y**2) + np.sum(np.exp(x))


@pytest.mark.parametrize("argnums", [0, 1, -1, -2])
def test_grad_int_argnums_gives_one_gradient(rng, argnums):
    x0, y0 = rng.standard_normal(3), rng.standard_normal(3)
    g = mg.grad(two_args, argnums=argnums)(mg.tensor(x0), mg.tensor(y0))
    assert isinstance(g, mg.Tensor)
    if argnums % 2 == 0:
        expected = y0**2 + np.exp(x0)
        numeric = fd_grad(lambda x: two_args_np(x, y0), x0)
    else:
        expected = 2 * x0 * y0
        numeric = fd_grad(lambda y: two_args_np(x0, y), y0)
    np.testing.assert_allclose(g.data, expected, rtol=1e-12)
    np.testing.assert_allclose(g.data, numeric, atol=1e-8)


@pytest.mark.parametrize("argnums", [(0, 1), (1, 0), (0, -1), (1,)])
def test_grad_tuple_argnums_gives_tuple_in_argnums_order(rng, argnums):
    x0, y0 = rng.standard_normal(3), rng.standard_normal(3)
    grads = mg.grad(two_args, argnums=argnums)(mg.tensor(x0), mg.tensor(y0))
    assert isinstance(grads, tuple)
    assert len(grads) == len(argnums)
    closed = {0: y0**2 + np.exp(x0), 1: 2 * x0 * y0}
    for a, g in zip(argnums, grads):
        np.testing.assert_allclose(g.data, closed[a % 2], rtol=1e-12)


def test_value_and_grad_tuple_argnums(rng):
    x0, y0 = rng.standard_normal(2), rng.standard_normal(2)
    value, (gx, gy) = mg.value_and_grad(two_args, argnums=(0, 1))(x0, y0)
    np.testing.assert_allclose(value.item(), two_args_np(x0, y0), rtol=1e-12)
    np.testing.assert_allclose(gx.data, y0**2 + np.exp(x0), rtol=1e-12)
    np.testing.assert_allclose(gy.data, 2 * x0 * y0, rtol=1e-12)


@pytest.mark.parametrize(
    "make_input",
    [
        pytest.param(lambda v: mg.tensor(v), id="tensor"),
        pytest.param(lambda v: np.array(v), id="ndarray"),
        pytest.param(lambda v: float(v), id="python-float"),
        pytest.param(lambda v: np.float64(v), id="numpy-scalar"),
    ],
)
def test_grad_accepts_tensors_arrays_and_python_floats(make_input):
    """d/dx x**3 at 1.5 = 6.75, whatever the input's type."""
    g = mg.grad(lambda x: x**3)(make_input(1.5))
    assert g.shape == ()
    assert g.dtype == np.float64
    np.testing.assert_allclose(g.item(), 3 * 1.5**2, rtol=1e-12)


def test_grad_of_python_int_is_float64():
    """An int argument becomes float64: d/dx x**3 at 2 = 12.0 (not an integer, not 0)."""
    g = mg.grad(lambda x: x**3)(2)
    assert g.dtype == np.float64
    assert g.item() == pytest.approx(12.0, rel=1e-12)


def test_grad_of_int_ndarray_is_float64():
    g = mg.grad(lambda x: (x * x).sum())(np.array([1, 2, 3]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g.data, [2.0, 4.0, 6.0])


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_grad_of_int_tensor_raises_dtype_error(dtype):
    x = mg.tensor(np.array([1, 0, 1]).astype(dtype))
    with pytest.raises(mg.DTypeError, match=dtype):
        mg.grad(lambda x: (x * 2.0).sum())(x)


def test_int_tensor_outside_argnums_is_a_constant():
    """An integer tensor not named by argnums is fine: d/dx sum(x * k) = k."""
    k = mg.tensor(np.array([1, 2, 3]))
    g = mg.grad(lambda x, k: (x * k).sum())(mg.tensor([0.5, 0.5, 0.5]), k)
    np.testing.assert_allclose(g.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("shape", [(), (1,), (4,), (2, 3), (2, 1, 3)])
def test_grad_has_the_argument_shape(rng, shape):
    """d/dx sum(x**2 / 2) = x, for any shape."""
    x0 = rng.standard_normal(shape)
    g = mg.grad(lambda x: (x**2 / 2).sum())(mg.tensor(x0))
    assert g.shape == shape
    np.testing.assert_allclose(g.data, x0, rtol=1e-12)


def test_grad_passes_kwargs_through(rng):
    """f(x, scale=s) = s * sum(sin x): grad = s cos x; the keyword reaches f."""
    x0 = rng.standard_normal(3)
    seen = {}

    def f(x, scale=1.0):
        seen["scale"] = scale
        return scale * mg.sin(x).sum()

    g = mg.grad(f)(mg.tensor(x0), scale=2.5)
    assert seen["scale"] == 2.5
    np.testing.assert_allclose(g.data, 2.5 * np.cos(x0), rtol=1e-12)
    value, g = mg.value_and_grad(f)(mg.tensor(x0), scale=-1.0)
    np.testing.assert_allclose(value.item(), -np.sum(np.sin(x0)), rtol=1e-12)
    np.testing.assert_allclose(g.data, -np.cos(x0), rtol=1e-12)


@pytest.mark.parametrize("x0", [-1.3, 0.5, 2.0])
def test_grad_of_grad_is_second_derivative(x0):
    """d2/dx2 x**4 = 12 x**2; and a third level: d3/dx3 x**4 = 24 x."""
    f = lambda x: x**4  # noqa: E731
    assert mg.grad(f)(x0).item() == pytest.approx(4 * x0**3, rel=1e-12)
    assert mg.grad(mg.grad(f))(x0).item() == pytest.approx(12 * x0**2, rel=1e-12)
    assert mg.grad(mg.grad(mg.grad(f)))(x0).item() == pytest.approx(24 * x0, rel=1e-12)


def test_grad_of_grad_of_a_vector_function(rng):
    """f(x) = sum(sin x); d/dx_0 of sum(grad f) = d/dx_0 sum(cos x) = -sin x."""
    x0 = rng.standard_normal(3)
    outer = mg.grad(lambda x: mg.grad(lambda z: mg.sin(z).sum())(x).sum())
    np.testing.assert_allclose(outer(mg.tensor(x0)).data, -np.sin(x0), rtol=1e-12)


def test_grad_of_a_function_closing_over_a_tensor(rng):
    """f(x) = sum(tanh(A @ x)): grad = A^T (1 - tanh(A x)**2)."""
    A0, x0 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    A = mg.tensor(A0)
    g = mg.grad(lambda x: mg.tanh(A @ x).sum())(mg.tensor(x0))
    np.testing.assert_allclose(g.data, A0.T @ (1 - np.tanh(A0 @ x0) ** 2), rtol=1e-12)
    np.testing.assert_allclose(g.data, fd_grad(lambda x: np.tanh(A0 @ x).sum(), x0), atol=1e-8)


def test_grad_closing_over_a_tensor_that_requires_grad_leaves_its_grad_alone(rng):
    """The transform returns the gradient for x; it does not write .grad of a closed-over leaf."""
    w0, x0 = rng.standard_normal(3), rng.standard_normal(3)
    w = mg.tensor(w0, requires_grad=True)
    g = mg.grad(lambda x: (w * x * x).sum())(mg.tensor(x0))
    np.testing.assert_allclose(g.data, 2 * w0 * x0, rtol=1e-12)
    assert w.grad is None


def test_grad_does_not_write_grad_of_a_tensor_argument(rng):
    x = mg.tensor(rng.standard_normal(3), requires_grad=True)
    mg.grad(lambda x: (x * x).sum())(x)
    assert x.grad is None


def test_grad_of_constant_function_is_zeros(rng):
    """f does not depend on x: the gradient is zeros of x's shape."""
    x0 = rng.standard_normal((2, 3))
    value, g = mg.value_and_grad(lambda x: mg.tensor(4.0))(mg.tensor(x0))
    assert value.item() == 4.0
    assert g.shape == (2, 3)
    np.testing.assert_array_equal(g.data, np.zeros((2, 3)))


def test_grad_with_respect_to_an_unused_argument_is_zeros(rng):
    """f(x, y) = sum(x**2): df/dy = 0, even though f depends on x."""
    x0, y0 = rng.standard_normal(3), rng.standard_normal(2)
    gx, gy = mg.grad(lambda x, y: (x**2).sum(), argnums=(0, 1))(mg.tensor(x0), mg.tensor(y0))
    np.testing.assert_allclose(gx.data, 2 * x0, rtol=1e-12)
    assert gy.shape == (2,)
    np.testing.assert_array_equal(gy.data, np.zeros(2))


def test_grad_of_non_scalar_raises_shape_error_naming_the_shape():
    with pytest.raises(mg.ShapeError, match=r"\(3,\)"):
        mg.grad(lambda x: x * 2)(mg.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(mg.ShapeError, match=r"\(2, 2\)"):
        mg.value_and_grad(lambda x: x * 2)(mg.tensor(np.ones((2, 2))))


@pytest.mark.parametrize("argnums", [2, -3, (0, 2), 5])
def test_grad_argnums_out_of_range_raises_shape_error(argnums):
    with pytest.raises(mg.ShapeError, match="argnums"):
        mg.grad(two_args, argnums=argnums)(mg.tensor([1.0]), mg.tensor([2.0]))


TRANSFORMS_WITH_ARGNUMS = {
    "grad": mg.grad,
    "value_and_grad": mg.value_and_grad,
    "jacfwd": mg.jacfwd,
    "jacrev": mg.jacrev,
    "jacobian": mg.jacobian,
    "hessian": mg.hessian,
}


@pytest.mark.parametrize("argnums", [None, 1.0, "0", (0, None), True, [0, 1.5]])
@pytest.mark.parametrize("name", TRANSFORMS_WITH_ARGNUMS)
def test_argnums_of_the_wrong_type_is_refused_when_the_transform_is_made(name, argnums):
    """Not a raw TypeError at the first call: a ShapeError naming argnums, where it was given."""
    with pytest.raises(mg.ShapeError) as info:
        TRANSFORMS_WITH_ARGNUMS[name](two_args, argnums=argnums)
    message = str(info.value)
    assert message.startswith(f"{'grad' if name == 'value_and_grad' else name}: argnums")
    assert "an int or a tuple of ints" in message and repr(argnums) in message


def test_argnums_as_a_list_of_ints_is_accepted(rng):
    x0, y0 = rng.standard_normal(3), rng.standard_normal(3)
    gx, gy = mg.grad(two_args, argnums=[0, 1])(x0, y0)
    np.testing.assert_allclose(gx.data, y0**2 + np.exp(x0), rtol=1e-12)
    np.testing.assert_allclose(gy.data, 2 * x0 * y0, rtol=1e-12)


def test_grad_of_a_call_without_positional_arguments_says_so():
    with pytest.raises(mg.ShapeError, match="no positional arguments"):
        mg.grad(lambda x=1.0: x**2)(x=2.0)


# ----- a list of arrays is not one argument ------------------------------------------------------

X_LIN = np.random.default_rng(5).standard_normal((4, 3))
W_LIN = np.random.default_rng(6).standard_normal((3, 2))
B_LIN = np.random.default_rng(7).standard_normal(2)


def linear_loss(W, b):
    """sum((X W + b)**2): dW = 2 X^T (X W + b), db = 2 sum(X W + b, axis=0)."""
    return ((mg.tensor(X_LIN) @ W + b) ** 2).sum()


LIST_ARGUMENT_CALLS = {
    "grad": lambda: mg.grad(lambda p: linear_loss(*p))([W_LIN, B_LIN]),
    "jacrev": lambda: mg.jacrev(lambda p: linear_loss(*p))([W_LIN, B_LIN]),
    "jacfwd": lambda: mg.jacfwd(lambda p: linear_loss(*p))([W_LIN, B_LIN]),
    "jacobian": lambda: mg.jacobian(lambda p: linear_loss(*p))([W_LIN, B_LIN]),
    "hessian": lambda: mg.hessian(lambda p: linear_loss(*p))([W_LIN, B_LIN]),
    "vjp": lambda: mg.vjp(lambda p: linear_loss(*p), [W_LIN, B_LIN]),
    "jvp": lambda: mg.jvp(lambda p: linear_loss(*p), ([W_LIN, B_LIN],), (np.ones(2),)),
    "hvp": lambda: mg.hvp(lambda p: linear_loss(*p), ([W_LIN, B_LIN],), (np.ones(2),)),
}


@pytest.mark.parametrize("name", LIST_ARGUMENT_CALLS)
def test_a_list_of_arrays_of_different_shapes_as_one_argument_is_refused_with_the_fix(name):
    """A list of arrays (not Tensors, which reverse mode takes as a pytree) is one array, and
    [W, b] cannot be one. The error names the argument, the shapes, and the fix (separate
    arguments and argnums)."""
    with pytest.raises(mg.ShapeError) as info:
        LIST_ARGUMENT_CALLS[name]()
    message = str(info.value)
    assert message.startswith(f"{name}: argument 0 is a list of 2 entries of shapes (3, 2), (2,)")
    assert "argnums=(0, 1)" in message and "concatenate" in message


def test_the_fix_for_a_list_argument_gives_the_closed_form_gradients():
    gW, gb = mg.grad(linear_loss, argnums=(0, 1))(W_LIN, B_LIN)
    residual = X_LIN @ W_LIN + B_LIN
    np.testing.assert_allclose(gW.data, 2 * X_LIN.T @ residual, rtol=1e-12)
    np.testing.assert_allclose(gb.data, 2 * residual.sum(axis=0), rtol=1e-12)


def test_a_list_that_is_one_array_is_that_array():
    """As in numpy (and mg.tensor), a nested list of equal shapes is one array: d sum(p**2) = 2p."""
    g = mg.grad(lambda p: (p**2).sum())([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(g.data, [[2.0, 4.0], [6.0, 8.0]])


@pytest.mark.parametrize("value", ["abc", None, ["a", "b"]])
def test_an_argument_that_is_not_numbers_raises_dtype_error(value):
    with pytest.raises(mg.DTypeError, match=f"grad: argument 0 is a {type(value).__name__}"):
        mg.grad(lambda x: (x * x).sum())(value)
    with pytest.raises(mg.DTypeError, match=r"grad: argument 0 is a \w+, not numbers"):
        mg.grad(lambda d: (d["w"] * d["w"]).sum())({"w": value})  # an entry of a dict


def test_a_ragged_tangent_or_cotangent_raises_shape_error():
    with pytest.raises(mg.ShapeError, match="jvp: the tangent of argument 0 is a list"):
        mg.jvp(mg.sin, (np.ones(2),), ([np.ones(2), np.ones(3)],))
    _, vjp_fn = mg.vjp(mg.sin, np.ones(2))
    with pytest.raises(mg.ShapeError, match="vjp: the cotangent is a list"):
        vjp_fn([np.ones(2), np.ones(3)])


# ----- vjp ---------------------------------------------------------------------------------------


def test_vjp_matches_closed_form_jacobian(rng):
    """f(x) = A @ tanh(x): J = A diag(1 - tanh**2), so u^T J = (1 - tanh**2) * (A^T u)."""
    A0, x0, u0 = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    A = mg.tensor(A0)
    out, vjp_fn = mg.vjp(lambda x: A @ mg.tanh(x), mg.tensor(x0))
    np.testing.assert_allclose(out.data, A0 @ np.tanh(x0), rtol=1e-12)
    cotangents = vjp_fn(mg.tensor(u0))
    assert isinstance(cotangents, tuple) and len(cotangents) == 1
    (ct,) = cotangents
    assert ct.shape == (4,)
    J = A0 * (1 - np.tanh(x0) ** 2)
    np.testing.assert_allclose(ct.data, u0 @ J, rtol=1e-12)
    np.testing.assert_allclose(ct.data, u0 @ fd_jacobian(lambda x: A0 @ np.tanh(x), x0), atol=1e-8)


def test_vjp_fn_can_be_called_twice(rng):
    """Each call gives u^T J for its own u; repeating a call gives the same again."""
    A0, x0 = rng.standard_normal((3, 4)), rng.standard_normal(4)
    u0, u1 = rng.standard_normal(3), rng.standard_normal(3)
    _, vjp_fn = mg.vjp(lambda x: mg.tensor(A0) @ mg.tanh(x), mg.tensor(x0))
    J = A0 * (1 - np.tanh(x0) ** 2)
    first = vjp_fn(u0)[0].data.copy()
    second = vjp_fn(u1)[0].data.copy()
    third = vjp_fn(u0)[0].data
    np.testing.assert_allclose(first, u0 @ J, rtol=1e-12)
    np.testing.assert_allclose(second, u1 @ J, rtol=1e-12)
    np.testing.assert_allclose(third, first, rtol=1e-15)


@pytest.mark.parametrize("bad_shape", [(4,), (3, 1), (), (1, 3)])
def test_vjp_wrong_cotangent_shape_raises_shape_error(rng, bad_shape):
    _, vjp_fn = mg.vjp(lambda x: mg.tensor(np.ones((3, 2))) @ x, mg.tensor(rng.standard_normal(2)))
    with pytest.raises(mg.ShapeError, match=r"\(3,\)"):
        vjp_fn(np.ones(bad_shape))


def test_vjp_of_several_primals(rng):
    """f(W, x) = sin(W @ x): u^T J_W = outer(u cos(Wx), x), u^T J_x = W^T (u cos(Wx))."""
    W0, x0, u0 = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal(3)
    out, vjp_fn = mg.vjp(lambda W, x: mg.sin(W @ x), mg.tensor(W0), mg.tensor(x0))
    np.testing.assert_allclose(out.data, np.sin(W0 @ x0), rtol=1e-12)
    ct_W, ct_x = vjp_fn(u0)
    s = u0 * np.cos(W0 @ x0)
    assert ct_W.shape == (3, 2) and ct_x.shape == (2,)
    np.testing.assert_allclose(ct_W.data, np.outer(s, x0), rtol=1e-12)
    np.testing.assert_allclose(ct_x.data, W0.T @ s, rtol=1e-12)
    fd_W = np.tensordot(u0, fd_jacobian(lambda W: np.sin(W @ x0), W0), axes=1)
    np.testing.assert_allclose(ct_W.data, fd_W, atol=1e-8)


def test_vjp_of_python_float_primal():
    """f(x) = x**3 at 2: u * 12."""
    out, vjp_fn = mg.vjp(lambda x: x**3, 2.0)
    assert out.item() == pytest.approx(8.0)
    assert vjp_fn(0.5)[0].item() == pytest.approx(6.0, rel=1e-12)


def test_vjp_of_function_not_depending_on_primal_is_zeros():
    _, vjp_fn = mg.vjp(lambda x: mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0, 5.0]))
    (ct,) = vjp_fn(np.ones(2))
    np.testing.assert_array_equal(ct.data, np.zeros(3))


# ----- jvp ---------------------------------------------------------------------------------------


def test_jvp_matches_closed_form_jacobian(rng):
    """f(x) = A @ tanh(x): J v = A ((1 - tanh**2) * v)."""
    A0, x0, v0 = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)
    A = mg.tensor(A0)
    out, t_out = mg.jvp(lambda x: A @ mg.tanh(x), (mg.tensor(x0),), (mg.tensor(v0),))
    np.testing.assert_allclose(out.data, A0 @ np.tanh(x0), rtol=1e-12)
    assert t_out.shape == (3,)
    np.testing.assert_allclose(t_out.data, A0 @ ((1 - np.tanh(x0) ** 2) * v0), rtol=1e-12)
    fd = fd_jacobian(lambda x: A0 @ np.tanh(x), x0) @ v0
    np.testing.assert_allclose(t_out.data, fd, atol=1e-8)


def test_jvp_accepts_arrays_as_tangents(rng):
    x0, v0 = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    _, t_out = mg.jvp(mg.exp, (x0,), (v0,))
    np.testing.assert_allclose(t_out.data, np.exp(x0) * v0, rtol=1e-12)


def test_jvp_of_python_float_primals():
    """f(x) = x**3 at 2 along 0.5: 12 * 0.5 = 6; float64 results."""
    out, t_out = mg.jvp(lambda x: x**3, (2.0,), (0.5,))
    assert out.item() == pytest.approx(8.0)
    assert t_out.shape == ()
    assert t_out.dtype == np.float64
    assert t_out.item() == pytest.approx(6.0, rel=1e-12)


def test_jvp_batched_tangents_equal_single_products_and_closed_form(rng):
    """(k, n) tangents give k products J v_k, each equal to its own single jvp."""
    k = 5
    A0, x0, V = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((k, 4))
    A = mg.tensor(A0)

    def f(x):
        return A @ mg.tanh(x)

    out, t_out = mg.jvp(f, (mg.tensor(x0),), (mg.tensor(V),))
    np.testing.assert_allclose(out.data, A0 @ np.tanh(x0), rtol=1e-12)
    assert t_out.shape == (k, 3)
    J = A0 * (1 - np.tanh(x0) ** 2)
    np.testing.assert_allclose(t_out.data, V @ J.T, rtol=1e-12)
    for i in range(k):
        _, single = mg.jvp(f, (mg.tensor(x0),), (mg.tensor(V[i]),))
        np.testing.assert_allclose(t_out.data[i], single.data, rtol=1e-12)


def test_jvp_batched_tangents_of_matrix_input(rng):
    """f(X) = sum(X**2, axis=1) on (2, 3): tangent 2 sum(X * V_k, axis=1) for each k."""
    X0, V = rng.standard_normal((2, 3)), rng.standard_normal((4, 2, 3))
    _, t_out = mg.jvp(lambda X: (X**2).sum(axis=1), (X0,), (V,))
    assert t_out.shape == (4, 2)
    np.testing.assert_allclose(t_out.data, 2 * (X0 * V).sum(axis=2), rtol=1e-12)


def test_jvp_of_several_primals(rng):
    """f(W, x) = sin(W @ x): J (dW, dx) = cos(Wx) * (dW @ x + W @ dx)."""
    W0, x0 = rng.standard_normal((3, 2)), rng.standard_normal(2)
    dW, dx = rng.standard_normal((3, 2)), rng.standard_normal(2)
    out, t_out = mg.jvp(
        lambda W, x: mg.sin(W @ x), (mg.tensor(W0), mg.tensor(x0)), (mg.tensor(dW), mg.tensor(dx))
    )
    np.testing.assert_allclose(out.data, np.sin(W0 @ x0), rtol=1e-12)
    np.testing.assert_allclose(t_out.data, np.cos(W0 @ x0) * (dW @ x0 + W0 @ dx), rtol=1e-12)
    fd = (np.sin((W0 + EPS * dW) @ (x0 + EPS * dx)) - np.sin((W0 - EPS * dW) @ (x0 - EPS * dx))) / (
        2 * EPS
    )
    np.testing.assert_allclose(t_out.data, fd, atol=1e-8)


def test_jvp_of_several_primals_batched(rng):
    """f(x, y) = x * y elementwise; k directions (dx_k, dy_k): dx_k y + x dy_k."""
    x0, y0 = rng.standard_normal(3), rng.standard_normal(3)
    DX, DY = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    _, t_out = mg.jvp(lambda x, y: x * y, (x0, y0), (DX, DY))
    assert t_out.shape == (2, 3)
    np.testing.assert_allclose(t_out.data, DX * y0 + x0 * DY, rtol=1e-12)


def test_jvp_of_function_not_depending_on_primal_is_zeros():
    out, t_out = mg.jvp(lambda x: mg.tensor([1.0, 2.0]), (mg.tensor([3.0]),), (mg.tensor([1.0]),))
    assert t_out.shape == (2,)
    np.testing.assert_array_equal(t_out.data, np.zeros(2))


@pytest.mark.parametrize("tangent_shape", [(4,), (2, 2), (3, 2), ()])
def test_jvp_tangent_shape_mismatch_raises_shape_error(tangent_shape):
    with pytest.raises(mg.ShapeError, match="tangent"):
        mg.jvp(mg.sin, (mg.tensor(np.ones(3)),), (np.ones(tangent_shape),))


def test_jvp_primals_and_tangents_of_different_lengths_raise_shape_error():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(mg.ShapeError, match="tangent"):
        mg.jvp(lambda x, y: x * y, (x, x), (np.ones(2),))
    with pytest.raises(mg.ShapeError, match="tangent"):
        mg.jvp(mg.sin, (x,), (np.ones(2), np.ones(2)))


@pytest.mark.parametrize(
    "primals, tangents, wrong",
    [
        (np.array([3.0]), np.array([1.0]), "primals"),
        (np.array([3.0, 1.0, 2.0]), np.array([1.0, 0.0, 0.0]), "primals"),
        (mg.tensor([3.0]), (np.array([1.0]),), "primals"),
        ((np.array([3.0]),), np.array([1.0]), "tangents"),
        (3.0, 1.0, "primals"),
    ],
)
def test_jvp_with_bare_values_instead_of_tuples_raises_with_the_fix(primals, tangents, wrong):
    """JAX's rule: primals and tangents are tuples. A bare array used to be unpacked silently
    (a (1,) input became a scalar one) or to fail inside f with a raw TypeError."""
    with pytest.raises(mg.ShapeError) as info:
        mg.jvp(lambda x: x * x, primals, tangents)
    message = str(info.value)
    assert message.startswith(f"jvp: {wrong} must be a tuple or list")
    assert "mg.jvp(f, (x,), (v,))" in message


def test_jvp_with_one_element_tuples_keeps_the_shape():
    """d/dx x*x along 1 at x = [3]: value [9], tangent [6], both of shape (1,), not ()."""
    out, t_out = mg.jvp(lambda x: x * x, (np.array([3.0]),), (np.array([1.0]),))
    assert out.shape == (1,) and t_out.shape == (1,)
    np.testing.assert_array_equal(out.data, [9.0])
    np.testing.assert_array_equal(t_out.data, [6.0])


def test_jvp_accepts_lists_of_primals_and_tangents(rng):
    x0, y0, dx, dy = (rng.standard_normal(3) for _ in range(4))
    _, t_out = mg.jvp(lambda x, y: x * y, [x0, y0], [dx, dy])
    np.testing.assert_allclose(t_out.data, dx * y0 + x0 * dy, rtol=1e-12)


def test_jvp_unequal_batch_sizes_raise_shape_error():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(mg.ShapeError, match="batch"):
        mg.jvp(lambda x, y: x * y, (x, x), (np.ones((3, 2)), np.ones((4, 2))))


def test_jvp_mixing_batched_and_single_tangents_raises_shape_error():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(mg.ShapeError, match=r"the same batch size .*got \[1, 3\]"):
        mg.jvp(lambda x, y: x * y, (x, x), (np.ones((3, 2)), np.ones(2)))


def test_jvp_inside_jvp_raises_backward_error():
    """Forward mode has one level: an inner jvp of the tangent-carrying input is refused."""

    def inner_slope(x):
        return mg.jvp(mg.sin, (x,), (mg.ones_like(x),))[1]

    with pytest.raises(mg.BackwardError, match="tangent"):
        mg.jvp(inner_slope, (mg.tensor([0.5]),), (mg.tensor([1.0]),))


def test_jvp_inside_jvp_of_a_constant_raises_backward_error():
    """Even an inner jvp at a fresh constant is nesting, and refused."""

    def f(x):
        _, slope = mg.jvp(mg.sin, (mg.tensor([0.0]),), (mg.tensor([1.0]),))
        return x * slope

    with pytest.raises(
        mg.BackwardError, match="already carries a tangent: forward mode does not nest"
    ):
        mg.jvp(f, (mg.tensor([0.5]),), (mg.tensor([1.0]),))


def test_forward_mode_is_usable_after_a_refused_nesting():
    """The refused inner jvp does not leave forward mode switched on."""
    with pytest.raises(
        mg.BackwardError, match="already carries a tangent: forward mode does not nest"
    ):
        mg.jvp(lambda x: mg.jvp(mg.sin, (x,), (x,))[1], (mg.tensor(0.5),), (mg.tensor(1.0),))
    _, t_out = mg.jvp(mg.sin, (mg.tensor(0.5),), (mg.tensor(2.0),))
    assert t_out.item() == pytest.approx(2 * np.cos(0.5), rel=1e-12)


def test_jvp_of_a_leaf_requiring_grad_takes_its_value():
    """A parameter is a value to forward mode (as in JAX): sin' = cos, with grad mode on or off;
    the results are constants and the parameter's .grad is untouched."""
    x = mg.tensor([0.3, -0.7], requires_grad=True)
    v = np.array([1.0, 2.0])
    for grad_mode in (mg.enable_grad, mg.no_grad):
        with grad_mode():
            out, t_out = mg.jvp(mg.sin, (x,), (v,))
        np.testing.assert_allclose(out.data, np.sin([0.3, -0.7]), rtol=1e-12)
        np.testing.assert_allclose(t_out.data, np.cos([0.3, -0.7]) * v, rtol=1e-12)
        assert not t_out.requires_grad
    assert x.grad is None


def test_jacfwd_of_nn_parameters_is_the_closed_form():
    """d(X W^T + b)/dW[o, i] = X[:, i] on output column o, for a Linear layer's own Parameters."""
    layer = mg.nn.Linear(3, 2)
    W, b = layer.parameters()
    J_W, J_b = mg.jacfwd(lambda W, b: mg.tensor(X_LIN) @ W.T + b, argnums=(0, 1))(W, b)
    expected_W = np.einsum("po,mi->mpoi", np.eye(2), X_LIN)
    np.testing.assert_allclose(J_W.data, expected_W, rtol=1e-6)
    np.testing.assert_allclose(J_b.data, np.broadcast_to(np.eye(2), (4, 2, 2)), rtol=1e-6)
    assert W.grad is None and b.grad is None


# What an outer reverse-mode transform cannot differentiate: a forward-mode transform of its
# own input (the tangents are numpy arrays, not recorded).
FORWARD_INSIDE = {
    "jvp": lambda x: mg.jvp(mg.sin, (x,), (mg.ones_like(x),))[1].sum(),
    "jacfwd": lambda x: mg.jacfwd(mg.sin)(x).sum(),
    "hvp": lambda x: mg.hvp(lambda z: (z**3).sum(), (x,), (mg.ones_like(x),)).sum(),
    "hessian": lambda x: mg.hessian(lambda z: (z**3).sum())(x).sum(),
}
REVERSE_OUTSIDE = {
    "grad": lambda f, x: mg.grad(f)(x),
    "jacrev": lambda f, x: mg.jacrev(f)(x),
    "vjp": lambda f, x: mg.vjp(f, x),
}


@pytest.mark.parametrize("outer", REVERSE_OUTSIDE)
@pytest.mark.parametrize("inner", FORWARD_INSIDE)
def test_reverse_over_forward_is_refused_with_a_fix_that_is_another_route(inner, outer):
    """Refused with BackwardError (not a silent zero gradient), and the fix named is a different
    composition or x.detach(), never the function that was called."""
    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(mg.BackwardError) as info:
        REVERSE_OUTSIDE[outer](FORWARD_INSIDE[inner], x)
    message = str(info.value)
    assert message.startswith(f"{inner}: argument 0 is being differentiated in reverse mode")
    assert "reverse-over-forward is not supported" in message and "x.detach()" in message
    assert f"mg.{inner}(" not in message


def test_reverse_over_reverse_is_the_route_the_refusal_names():
    """d/dx sum(d/dx sin x) = -sin x, by mg.grad over mg.jacrev."""
    x = np.array([0.5, -1.0, 2.0])
    g = mg.grad(lambda x: mg.jacrev(mg.sin)(x).sum())(x)
    np.testing.assert_allclose(g.data, -np.sin(x), rtol=1e-12)


def test_jvp_of_a_tensor_computed_from_one_requiring_grad_is_refused_and_detach_fixes_it():
    """y = 2 w is part of a recorded graph: forward mode of y cannot be backpropagated to w."""
    w = mg.tensor([0.3, -0.7], requires_grad=True)
    y = w * 2
    v = np.array([1.0, 2.0])
    with pytest.raises(mg.BackwardError, match="jvp: argument 0 is being differentiated"):
        mg.jvp(mg.sin, (y,), (v,))
    _, t_out = mg.jvp(mg.sin, (y.detach(),), (v,))
    np.testing.assert_allclose(t_out.data, np.cos([0.6, -1.4]) * v, rtol=1e-12)


# ----- jvp of grad: forward-over-reverse ---------------------------------------------------------


def test_jvp_of_grad_is_hessian_vector_product(rng):
    """f(x) = x^T A x / 2 + sum(x**3) / 3: H = (A + A^T) / 2 + diag(2 x)."""
    n = 4
    A0, x0, v0 = rng.standard_normal((n, n)), rng.standard_normal(n), rng.standard_normal(n)
    A = mg.tensor(A0)

    def f(x):
        return (x * (A @ x)).sum() / 2 + (x**3).sum() / 3

    _, hv = mg.jvp(mg.grad(f), (mg.tensor(x0),), (mg.tensor(v0),))
    H = (A0 + A0.T) / 2 + np.diag(2 * x0)
    np.testing.assert_allclose(hv.data, H @ v0, rtol=1e-10)


def test_jvp_of_grad_of_logsumexp_batched(rng):
    """f(x) = log sum exp(x): H = diag(p) - p p^T with p = softmax(x); k directions at once."""
    x0, V = rng.standard_normal(4), rng.standard_normal((3, 4))
    grad_value, hv = mg.jvp(mg.grad(lambda x: mg.log(mg.exp(x).sum())), (x0,), (V,))
    p = np.exp(x0) / np.exp(x0).sum()
    np.testing.assert_allclose(grad_value.data, p, rtol=1e-12)
    H = np.diag(p) - np.outer(p, p)
    assert hv.shape == (3, 4)
    np.testing.assert_allclose(hv.data, V @ H, rtol=1e-10, atol=1e-14)


# ----- jacfwd, jacrev, jacobian ------------------------------------------------------------------

JACOBIANS = {
    "jacfwd": mg.jacfwd,
    "jacrev": mg.jacrev,
    "jacobian-auto": lambda f, argnums=0: mg.jacobian(f, argnums),
    "jacobian-fwd": lambda f, argnums=0: mg.jacobian(f, argnums, mode="fwd"),
    "jacobian-rev": lambda f, argnums=0: mg.jacobian(f, argnums, mode="rev"),
}


def _jacobian_cases():
    rng = np.random.default_rng(1)
    A0 = rng.standard_normal((3, 4))
    B0 = rng.standard_normal((2, 3))
    M0 = rng.standard_normal((3, 2))
    x_vec, x_mat, x_sq = rng.standard_normal(4), rng.standard_normal((2, 3)), rng.standard_normal(3)
    eye3, eye2 = np.eye(3), np.eye(2)
    # (name, f on Tensors, f on arrays, x0, closed-form Jacobian)
    return [
        (
            "tanh: vector->vector, diagonal",
            mg.tanh,
            np.tanh,
            x_sq,
            np.diag(1 - np.tanh(x_sq) ** 2),
        ),
        ("A @ x: vector->vector, J = A", lambda x: mg.tensor(A0) @ x, lambda x: A0 @ x, x_vec, A0),
        (
            "sum(X**2): matrix->scalar",
            lambda X: (X**2).sum(),
            lambda X: np.sum(X**2),
            x_mat,
            2 * x_mat,
        ),
        (
            "s*B + s**2: scalar->matrix",
            lambda s: s * mg.tensor(B0) + s**2,
            lambda s: s * B0 + s**2,
            np.float64(0.7),
            B0 + 2 * 0.7,
        ),
        (
            "M @ X: matrix->matrix",
            lambda X: mg.tensor(M0) @ X,
            lambda X: M0 @ X,
            x_mat,
            np.einsum("ik,jl->ijkl", M0, np.eye(3)),
        ),
        (
            "exp(X).T: matrix->matrix",
            lambda X: mg.exp(X).T,
            lambda X: np.exp(X).T,
            x_mat,
            np.einsum("jk,il->ijkl", eye2, eye3) * np.exp(x_mat).T[:, :, None, None],
        ),
    ]


JACOBIAN_CASES = _jacobian_cases()


@pytest.mark.parametrize("transform", JACOBIANS.values(), ids=JACOBIANS.keys())
@pytest.mark.parametrize("case", JACOBIAN_CASES, ids=[c[0] for c in JACOBIAN_CASES])
def test_jacobian_shape_and_values(transform, case):
    """Shape out.shape + x.shape; values equal the closed form and finite differences."""
    _, f, f_np, x0, closed = case
    out_shape = np.shape(f_np(x0))
    jac = transform(f)(mg.tensor(x0))
    assert isinstance(jac, mg.Tensor)
    assert jac.shape == out_shape + np.shape(x0)
    np.testing.assert_allclose(jac.data, closed, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(jac.data, fd_jacobian(f_np, x0), atol=1e-8)


def test_exp_transpose_closed_form_is_what_it_says():
    """Guard the einsum above: J[i, j, k, l] = exp(X[j, i]) if (k, l) == (j, i) else 0."""
    _, _, _, X0, closed = JACOBIAN_CASES[-1]
    expected = np.zeros((3, 2, 2, 3))
    for i in range(3):
        for j in range(2):
            expected[i, j, j, i] = np.exp(X0[j, i])
    np.testing.assert_array_equal(closed, expected)


@pytest.mark.parametrize("case", JACOBIAN_CASES, ids=[c[0] for c in JACOBIAN_CASES])
def test_jacfwd_equals_jacrev(case):
    """Two routes to the same matrix (in addition to the closed form above)."""
    _, f, _, x0, _ = case
    np.testing.assert_allclose(
        mg.jacfwd(f)(mg.tensor(x0)).data, mg.jacrev(f)(mg.tensor(x0)).data, rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("transform", JACOBIANS.values(), ids=JACOBIANS.keys())
def test_jacobian_tuple_argnums_gives_tuple_of_blocks(rng, transform):
    """f(W, x) = W @ x: dF/dW[i, k, l] = delta(i, k) x[l], dF/dx = W."""
    W0, x0 = rng.standard_normal((3, 2)), rng.standard_normal(2)

    def f(W, x):
        return W @ x

    blocks = transform(f, (0, 1))(mg.tensor(W0), mg.tensor(x0))
    assert isinstance(blocks, tuple) and len(blocks) == 2
    J_W, J_x = blocks
    assert J_W.shape == (3, 3, 2) and J_x.shape == (3, 2)
    np.testing.assert_allclose(J_W.data, np.einsum("ik,l->ikl", np.eye(3), x0), rtol=1e-12)
    np.testing.assert_allclose(J_x.data, W0, rtol=1e-12)
    swapped = transform(f, (1, 0))(mg.tensor(W0), mg.tensor(x0))
    np.testing.assert_allclose(swapped[0].data, W0, rtol=1e-12)
    np.testing.assert_allclose(swapped[1].data, J_W.data, rtol=1e-12)
    only_x = transform(f, 1)(mg.tensor(W0), mg.tensor(x0))
    assert isinstance(only_x, mg.Tensor)
    np.testing.assert_allclose(only_x.data, W0, rtol=1e-12)


@pytest.mark.parametrize("transform", JACOBIANS.values(), ids=JACOBIANS.keys())
def test_jacobian_of_python_float_and_constant_function(transform):
    """d/dx sin(x) at 0.3 = cos(0.3); a function ignoring x has a zero Jacobian."""
    assert transform(mg.sin)(0.3).item() == pytest.approx(np.cos(0.3), rel=1e-12)
    jac = transform(lambda x: mg.tensor([1.0, 2.0]))(mg.tensor([1.0, 2.0, 3.0]))
    assert jac.shape == (2, 3)
    np.testing.assert_array_equal(jac.data, np.zeros((2, 3)))


@pytest.mark.parametrize("n_in, n_out", [(2, 5), (5, 2), (3, 3)])
def test_jacobian_auto_mode_gives_the_same_numbers(rng, n_in, n_out):
    """Whichever mode "auto" picks (wide or tall Jacobian), the numbers are the closed form."""
    A0, x0 = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_in)
    A = mg.tensor(A0)

    def f(x):
        return mg.sin(A @ x)

    closed = np.cos(A0 @ x0)[:, None] * A0
    for mode in ("auto", "fwd", "rev"):
        jac = mg.jacobian(f, mode=mode)(mg.tensor(x0))
        np.testing.assert_allclose(jac.data, closed, rtol=1e-12, err_msg=mode)


@pytest.mark.parametrize(
    "n_in, n_out, passes",
    [(2, 5, ["recorded", "forward"]), (3, 3, ["recorded", "forward"]), (5, 2, ["recorded"])],
)
def test_jacobian_auto_picks_forward_mode_unless_inputs_outnumber_outputs(rng, n_in, n_out, passes):
    """The passes f sees: one recorded run to learn the output's size; reverse mode reuses it
    (no second call), forward mode runs f once more with tangents. Values: the closed form."""
    A0, x0 = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_in)
    seen = []

    def f(x):
        seen.append("forward" if x.tangent is not None else "recorded" if x.requires_grad else "?")
        return mg.sin(mg.tensor(A0) @ x)

    jac = mg.jacobian(f)(x0)
    assert seen == passes
    np.testing.assert_allclose(jac.data, np.cos(A0 @ x0)[:, None] * A0, rtol=1e-12)


@pytest.mark.parametrize("n_out", [4, 2], ids=["auto-forward", "auto-reverse"])
def test_jacobian_auto_of_dropout_is_that_of_the_masks_one_call_draws(n_out):
    """f(x) = dropout(x**2, 0.5)[:n_out]: J = diag(2 x keep / 0.5), with keep the mask that a
    single call draws after the same seed; minigrad's generator moves on by one call's draws."""
    x0 = np.array([0.5, -1.0, 1.5, 2.0])

    def f(x):
        return mg.nn.functional.dropout(x * x, 0.5, training=True)[:n_out]

    mg.manual_seed(0)
    keep = f(mg.tensor(x0)).numpy() != 0
    after_one_call = mg.rand(3).numpy()
    mg.manual_seed(0)
    jac = mg.jacobian(f)(x0)
    np.testing.assert_array_equal(mg.rand(3).numpy(), after_one_call)
    expected = np.diag(2 * x0 / 0.5)[:n_out] * keep[:, None]
    assert 0 < keep.sum() < n_out  # the mask drops some and keeps some
    np.testing.assert_allclose(jac.data, expected, rtol=1e-12)


def test_jacobian_bad_mode_raises():
    with pytest.raises(ValueError, match="mode"):
        mg.jacobian(mg.sin, mode="forward")


@pytest.mark.parametrize("name", ["jacfwd", "jacrev"])
def test_jacobian_argnums_out_of_range_raises_shape_error(name):
    with pytest.raises(mg.ShapeError, match="argnums"):
        JACOBIANS[name](mg.sin, 1)(mg.tensor([1.0]))


@pytest.mark.parametrize("name", ["jacfwd", "jacrev"])
def test_jacobian_of_int_tensor_raises_dtype_error(name):
    with pytest.raises(
        mg.DTypeError, match=rf"{name}: argument 0 is a int64 tensor; only floating"
    ):
        JACOBIANS[name](lambda x: x * 2.0)(mg.tensor(np.array([1, 2])))


# ----- check_grads -------------------------------------------------------------------------------


def smooth_fn(x, y):
    return mg.sin(x) * y**2 + mg.exp(x * y)


@pytest.mark.parametrize("modes", [("fwd", "rev"), ("fwd",), ("rev",)])
@pytest.mark.parametrize("order", [1, 2])
def test_check_grads_passes_for_a_correct_function(rng, modes, order):
    x, y = mg.tensor(rng.standard_normal(3)), mg.tensor(rng.standard_normal(3))
    report = mg.check_grads(smooth_fn, x, y, modes=modes, order=order)
    assert report, str(report)
    assert report.checks  # something was actually compared
    assert not report.failures


class SinWrongVjp(mg.Primitive):
    """sin with a VJP off by a factor of 2; the JVP is right."""

    @staticmethod
    def forward(x):
        return np.sin(x)

    @staticmethod
    def vjp(g, y, x):
        return (g * mg.cos(x) * 2,)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * np.cos(x)


class SinWrongJvp(mg.Primitive):
    """sin with a JVP of the wrong sign; the VJP is right."""

    @staticmethod
    def forward(x):
        return np.sin(x)

    @staticmethod
    def vjp(g, y, x):
        return (g * mg.cos(x),)

    @staticmethod
    def jvp(ts, y, x):
        return -ts[0] * np.cos(x)


X_CHECK = np.array([0.3, -0.8, 1.2])


def test_check_grads_fails_for_a_wrong_vjp_and_names_the_row():
    report = mg.check_grads(SinWrongVjp.apply, mg.tensor(X_CHECK, name="x"), modes=("rev",))
    assert not report
    assert not report.passed
    names = [c.name for c in report.failures]
    assert "x" in names
    assert "FAIL" in str(report) and "x" in str(report)


def row(report, prefix):
    """The one row of a check_grads report whose name starts with ``prefix``."""
    rows = [c for c in report.checks if c.name.startswith(prefix)]
    assert len(rows) == 1, str(report)
    return rows[0]


def test_check_grads_wrong_vjp_is_caught_by_the_mode_identity():
    """With both modes, the reverse row and the <u, J v> = <J^T u, v> row fail; the JVP row
    passes (the JVP is right), and forward mode alone passes."""
    report = mg.check_grads(SinWrongVjp.apply, mg.tensor(X_CHECK, name="x"))
    assert not report
    assert not row(report, "x").passed
    assert not row(report, "<u,").passed
    assert row(report, "jvp").passed
    assert mg.check_grads(SinWrongVjp.apply, mg.tensor(X_CHECK), modes=("fwd",))


def test_check_grads_fails_for_a_wrong_jvp_and_names_the_row():
    report = mg.check_grads(SinWrongJvp.apply, mg.tensor(X_CHECK), modes=("fwd",))
    assert not report
    assert len(report.failures) == 1
    name = report.failures[0].name
    assert "jvp" in name
    assert "FAIL" in str(report) and name in str(report)
    assert mg.check_grads(SinWrongJvp.apply, mg.tensor(X_CHECK), modes=("rev",))


def test_check_grads_wrong_jvp_is_caught_with_both_modes():
    """The JVP row and the mode identity fail; the reverse row passes (the VJP is right)."""
    report = mg.check_grads(SinWrongJvp.apply, mg.tensor(X_CHECK, name="x"))
    assert not report
    assert not row(report, "jvp").passed
    assert not row(report, "<u,").passed
    assert row(report, "x").passed


def test_check_grads_raise_exception():
    with pytest.raises(GradcheckError, match=r"check_grads FAILED.*\n\s*FAIL input 0 "):
        mg.check_grads(SinWrongVjp.apply, mg.tensor(X_CHECK), raise_exception=True)
    # GradcheckError is an AssertionError, so pytest and unittest report it as a failed check
    with pytest.raises(GradcheckError, match=r"check_grads FAILED.*\n\s*FAIL jvp") as info:
        mg.check_grads(SinWrongJvp.apply, mg.tensor(X_CHECK), modes=("fwd",), raise_exception=True)
    assert isinstance(info.value, AssertionError)
    # a correct function does not raise
    assert mg.check_grads(mg.sin, mg.tensor(X_CHECK), raise_exception=True)


def test_check_grads_rejects_unknown_mode_or_order():
    with pytest.raises(
        mg.OpError, match=r"modes must be among 'fwd', 'rev' \(got \('backward',\)\)"
    ):
        mg.check_grads(mg.sin, mg.tensor(X_CHECK), modes=("backward",))
    with pytest.raises(mg.OpError, match=r"order 1 or 2 \(got 3\)"):
        mg.check_grads(mg.sin, mg.tensor(X_CHECK), order=3)
