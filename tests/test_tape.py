"""The tape: deep graphs, freeing, accumulation, grad mode, version counters, custom primitives,
forward mode and forward-over-reverse. Derivatives are checked against closed forms."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import autodiff
from minigrad.autodiff import forward_mode


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ----- deep graphs -------------------------------------------------------------------------------


def test_deep_chain_of_100k_muls_backpropagates_without_recursion():
    """y = x * c**n over 100,000 recorded Muls: dy/dx = c**n, no RecursionError."""
    x = leaf([0.1, -0.2, 0.3])
    c, n = 1.00001, 100_000
    y = x
    for _ in range(n):
        y = y * c
    y.sum().backward()
    np.testing.assert_allclose(y.data, x.data * c**n, rtol=1e-9)
    np.testing.assert_allclose(x.grad.data, np.full(3, c**n), rtol=1e-9)


def test_deep_chain_of_alternating_sin_and_mul():
    """y_{k+1} = 1.001 * sin(y_k): the gradient is the product of 1.001 * cos(y_k) along it."""
    x0 = np.array([0.4, -0.7, 1.1])
    x = leaf(x0)
    y, expected_grad, value = x, np.ones(3), x0.copy()
    for _ in range(5_000):
        y = mg.sin(y) * 1.001
        expected_grad *= 1.001 * np.cos(value)
        value = 1.001 * np.sin(value)
    y.sum().backward()
    np.testing.assert_allclose(y.data, value, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, expected_grad, rtol=1e-9)


def test_diamond_graph_sums_both_paths():
    """h = 2x feeds two branches that join: d/dx [sin(h) + exp(h)] = 2 cos(2x) + 2 exp(2x)."""
    x0 = np.array([0.3, -0.5])
    x = leaf(x0)
    h = x * 2
    (mg.sin(h) + mg.exp(h)).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.cos(2 * x0) + 2 * np.exp(2 * x0), rtol=1e-12)


# Two-input steps that keep values bounded, so a random graph stays well conditioned.
GRAPH_STEPS = (
    lambda a, b: mg.tanh(a * b),
    lambda a, b: a + mg.sin(b),
    lambda a, b: a - 0.5 * b,
    lambda a, b: mg.sigmoid(a) * b,
)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_graphs_backpropagate_like_finite_differences(data):
    """Random DAGs: each step combines two earlier values (possibly the same one, possibly a
    leaf used many times), and the output sums them all, so cotangents reach a node from several
    consumers in any order. The walk must finish every node before passing its cotangent on."""
    n_leaves = data.draw(st.integers(1, 3), label="leaves")
    plan = [
        (
            data.draw(st.integers(0, len(GRAPH_STEPS) - 1)),
            data.draw(st.integers(0, n_leaves + k - 1)),
            data.draw(st.integers(0, n_leaves + k - 1)),
        )
        for k in range(data.draw(st.integers(1, 12), label="steps"))
    ]

    def f(*leaves):
        values = list(leaves)
        for step, i, j in plan:
            values.append(GRAPH_STEPS[step](values[i], values[j]))
        return sum(v.sum() for v in values[n_leaves:])

    rng = np.random.default_rng(len(plan))
    arrays = [rng.uniform(-1, 1, 3) for _ in range(n_leaves)]
    report = mg.gradcheck(f, *arrays)
    assert report, f"plan {plan}\n{report}"


def test_input_used_twice_by_one_op():
    """x * x: both operand slots contribute, d/dx = 2x."""
    x0 = np.array([1.5, -2.0])
    x = leaf(x0)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x0)


# ----- freeing, retaining and accumulating -------------------------------------------------------


def test_second_backward_through_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (mg.exp(x) * x).sum()
    y.backward()
    with pytest.raises(mg.BackwardError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward_and_gradients_accumulate():
    """As in PyTorch: two backward passes add up, so the gradient doubles."""
    x0 = np.array([0.5, -1.0])
    x = leaf(x0)
    y = (mg.exp(x) * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, np.exp(x0) * (x0 + 1))
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(x0) * (x0 + 1))


def test_gradients_accumulate_across_graphs():
    x0 = np.array([2.0, 3.0])
    x = leaf(x0)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x0 + 3)


def test_zero_grad_forgets_the_accumulated_gradient():
    x = leaf([1.0, 2.0])
    (x * 5).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


# ----- what .grad holds --------------------------------------------------------------------------


def test_leaf_grad_has_no_history():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    assert isinstance(x.grad, mg.Tensor)
    assert not x.grad.requires_grad
    assert x.grad.is_leaf
    assert x.grad.grad_fn is None


def test_leaf_grad_has_history_with_create_graph():
    x = leaf([1.0, 2.0])
    (x * x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    assert not x.grad.is_leaf


def test_create_graph_gives_a_differentiable_gradient():
    """d/dx x**3 = 3x**2 = 12 and d2/dx2 x**3 = 6x = 12 at x = 2 (backward on the grad)."""
    x = mg.tensor(2.0, requires_grad=True)
    (x**3).backward(create_graph=True)
    first = x.grad
    assert first.item() == pytest.approx(12.0)
    x.zero_grad()
    first.backward()
    assert x.grad.item() == pytest.approx(12.0)


def test_third_derivative_through_repeated_create_graph():
    """d3/dx3 sin(x) = -cos(x)."""
    x = mg.tensor(0.7, requires_grad=True)
    (g1,) = mg.autograd.grad(mg.sin(x), [x], create_graph=True)
    (g2,) = mg.autograd.grad(g1, [x], create_graph=True)
    (g3,) = mg.autograd.grad(g2, [x])
    assert g1.item() == pytest.approx(np.cos(0.7))
    assert g2.item() == pytest.approx(-np.sin(0.7))
    assert g3.item() == pytest.approx(-np.cos(0.7))


def test_retain_grad_fills_a_non_leaf_grad():
    """h = 3x, y = sum(h**2): dy/dh = 2h."""
    x0 = np.array([1.0, -2.0])
    x = leaf(x0)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.data, 6 * x0)
    np.testing.assert_allclose(x.grad.data, 18 * x0)


def test_non_leaf_grad_is_not_filled_by_default():
    x = leaf([1.0, -2.0])
    h = x * 3
    (h * h).sum().backward()
    assert h.grad is None
    assert x.grad is not None


# ----- mg.grad -----------------------------------------------------------------------------------


def test_mg_grad_returns_gradients_without_touching_dot_grad():
    x0, w0 = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    x, w = leaf(x0), leaf(w0)
    gx, gw = mg.autograd.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.data, w0)
    np.testing.assert_allclose(gw.data, x0)
    assert x.grad is None and w.grad is None


def test_mg_grad_gives_zeros_for_an_unused_input():
    x, unused = leaf([1.0, 2.0]), leaf(np.ones((2, 3)))
    gx, gu = mg.autograd.grad((x * x).sum(), [x, unused])
    np.testing.assert_allclose(gx.data, [2.0, 4.0])
    assert gu.shape == (2, 3)
    np.testing.assert_array_equal(gu.data, np.zeros((2, 3)))


def test_mg_grad_of_an_intermediate():
    """The gradient with respect to a non-leaf input h = x**2, y = sum(sin(h)): cos(h)."""
    x0 = np.array([0.5, 1.5])
    x = leaf(x0)
    h = x * x
    (gh,) = mg.autograd.grad(mg.sin(h).sum(), [h])
    np.testing.assert_allclose(gh.data, np.cos(x0**2))


# ----- grad mode ---------------------------------------------------------------------------------


def test_no_grad_as_context_manager_records_nothing():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2
    assert mg.is_grad_enabled()
    assert not y.requires_grad
    assert y.is_leaf and y.grad_fn is None


def test_no_grad_as_decorator_records_nothing():
    @mg.no_grad()
    def double(t):
        assert not mg.is_grad_enabled()
        return t * 2

    x = leaf([1.0, 2.0])
    y = double(x)
    assert mg.is_grad_enabled()
    assert not y.requires_grad


def test_enable_grad_inside_no_grad_records():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        with mg.enable_grad():
            y = x * 2
        z = x * 2
        assert not mg.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad


def test_enable_grad_as_decorator_inside_no_grad():
    @mg.enable_grad()
    def double(t):
        return t * 2

    x = leaf([1.0, 2.0])
    with mg.no_grad():
        y = double(x)
    assert y.requires_grad


def test_grad_mode_is_restored_after_an_exception():
    def fail():
        with mg.no_grad():
            raise KeyError("boom")

    with pytest.raises(KeyError):
        fail()
    assert mg.is_grad_enabled()


def test_grad_mode_is_thread_local():
    """A thread inside no_grad does not switch grad mode off for the main thread."""
    entered, release = threading.Event(), threading.Event()
    seen_in_thread = []

    def worker():
        with mg.no_grad():
            entered.set()
            seen_in_thread.append(mg.is_grad_enabled())
            release.wait(timeout=10)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert entered.wait(timeout=10)
        assert mg.is_grad_enabled()
        y = leaf([1.0]) * 2
        assert y.requires_grad
    finally:
        release.set()
        thread.join(timeout=10)
    assert seen_in_thread == [False]


def test_grad_mode_stays_inside_its_asyncio_task():
    """Two tasks interleave on one thread; the one inside no_grad does not switch recording off
    for the other (a thread-local flag would leak between them)."""
    import asyncio

    async def evaluating(inside, done):
        with mg.no_grad():
            inside.set()
            await done.wait()
            return mg.is_grad_enabled()

    async def training(inside, done):
        await inside.wait()
        y = leaf([1.0]) * 2  # runs while the other task is inside no_grad
        done.set()
        return y.requires_grad

    async def main():
        inside, done = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(evaluating(inside, done), training(inside, done))

    assert asyncio.run(main()) == [False, True]
    assert mg.is_grad_enabled()


def test_a_new_thread_starts_with_grad_enabled():
    seen = []
    with mg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        thread.start()
        thread.join(timeout=10)
    assert seen == [True]


# ----- version counter ---------------------------------------------------------------------------


def test_modifying_a_saved_input_in_place_makes_backward_raise():
    """Mul saved x (to multiply the cotangent of exp(x) by it); changing x invalidates that."""
    x = leaf([1.0, 2.0])
    y = (mg.exp(x) * x).sum()
    with mg.no_grad():
        x.add_(1.0)
    with pytest.raises(mg.BackwardError, match="Mul"):
        y.backward()


def test_modifying_an_input_only_add_used_is_allowed():
    """Add saves nothing, so an in-place change of its input does not affect its gradient."""
    x, c = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (x + c).sum()
    with mg.no_grad():
        x.mul_(10.0)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(c.grad.data, [1.0, 1.0])


def test_modifying_an_output_that_exp_saved_makes_backward_raise():
    x = leaf([1.0, 2.0])
    e = mg.exp(x)
    y = e.sum()
    with mg.no_grad():
        e.mul_(2.0)
    with pytest.raises(mg.BackwardError, match="Exp"):
        y.backward()


def test_in_place_op_on_tensor_requiring_grad_raises_in_grad_mode():
    x = leaf([1.0, 2.0])
    for update in (
        lambda: x.add_(1.0),
        lambda: x.sub_(1.0),
        lambda: x.mul_(2.0),
        lambda: x.div_(2.0),
        lambda: x.copy_(np.zeros(2)),
        lambda: x.fill_(3.0),
        lambda: x.zero_(),
        lambda: x.__setitem__(0, 5.0),
    ):
        with pytest.raises(mg.OpError, match="in-place"):
            update()
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    assert x._version == 0


@pytest.mark.parametrize(
    "write",
    [
        lambda y, v: y.__setitem__(0, v),
        lambda y, v: y.add_(v),
        lambda y, v: y.mul_(v),
        lambda y, v: y.copy_(v.broadcast_to(y.shape)),
    ],
    ids=["setitem", "add_", "mul_", "copy_"],
)
def test_writing_a_value_that_requires_grad_in_place_is_refused(write):
    """y[0] = x**2 into a constant y would drop x's gradient (minigrad does not record in-place
    changes): refused, and y is unchanged."""
    x = leaf([3.0])
    y = mg.zeros(2)
    with pytest.raises(mg.OpError, match="value written in place .* requires grad"):
        write(y, x[0] ** 2)
    np.testing.assert_array_equal(y.data, [0.0, 0.0])


def test_in_place_changes_under_forward_mode_keep_tangents_right():
    """``h += sin(x)`` on a tensor that carries a tangent is done out of place (the tangent
    follows); an explicit in-place change of one is refused, never silently wrong."""
    x0, v = np.array([0.3, -0.5, 1.2]), np.array([1.0, 2.0, -1.0])

    def block(x):
        h = mg.tanh(x)
        h += mg.sin(x)
        h *= x
        return (h * h).sum()

    def closed_form(x):
        h = np.tanh(x) + np.sin(x)
        dh = (1 - np.tanh(x) ** 2 + np.cos(x)) * x + h
        return (2 * h * x * dh * v).sum()

    _, tangent = mg.jvp(block, (mg.tensor(x0),), (mg.tensor(v),))
    np.testing.assert_allclose(tangent.item(), closed_form(x0), rtol=1e-12)
    np.testing.assert_allclose(
        mg.jacfwd(lambda x: mg.sum((x * 2).__iadd__(x)))(mg.tensor(x0)).data, [3.0] * 3
    )

    def overwrite(x):
        y = x * 1.0
        y.fill_(0.0)
        return y

    with pytest.raises(mg.OpError, match="fill_: in-place change .* carries a tangent"):
        mg.jvp(overwrite, (mg.tensor(x0),), (mg.tensor(v),))


def test_in_place_ops_under_no_grad_work_and_bump_the_version():
    x = leaf([1.0, 2.0])
    steps = [
        (lambda: x.add_(1.0), [2.0, 3.0]),
        (lambda: x.mul_(2.0), [4.0, 6.0]),
        (lambda: x.sub_(np.array([1.0, 2.0])), [3.0, 4.0]),
        (lambda: x.div_(2.0), [1.5, 2.0]),
        (lambda: x.__setitem__(1, 7.0), [1.5, 7.0]),
        (lambda: x.copy_(np.array([4.0, 5.0])), [4.0, 5.0]),
        (lambda: x.fill_(9.0), [9.0, 9.0]),
        (lambda: x.zero_(), [0.0, 0.0]),
    ]
    with mg.no_grad():
        for update, expected in steps:
            before = x._version
            update()
            np.testing.assert_array_equal(x.data, expected)
            assert x._version > before
    assert x.requires_grad


def test_in_place_on_a_tensor_without_grad_works_in_grad_mode():
    x = mg.tensor([1.0, 2.0])
    before = x._version
    x.add_(1.0)
    np.testing.assert_array_equal(x.data, [2.0, 3.0])
    assert x._version > before


def test_in_place_change_before_use_does_not_invalidate_the_graph():
    """Only changes after a value was saved count: y = exp(x) * x recorded after x.add_."""
    x0 = np.array([0.5, -1.0])
    x = leaf(x0 - 1.0)
    with mg.no_grad():
        x.add_(1.0)
    y = (mg.exp(x) * x).sum()
    other = mg.tensor([0.0])
    other.add_(1.0)  # an unrelated in-place change after the graph was recorded
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x0) * (x0 + 1))


# ----- custom primitives -------------------------------------------------------------------------


class UserCube(mg.Primitive):
    """x**3, defined by a user: the tape treats it like a built-in primitive."""

    @staticmethod
    def forward(x):
        return x**3

    @staticmethod
    def vjp(g, y, x):
        return (g * 3 * x * x,)

    @staticmethod
    def jvp(ts, y, x):
        return ts[0] * (3 * x * x)


def test_custom_primitive_is_registered():
    assert mg.ops.registry[f"{UserCube.__module__}.UserCube"] is UserCube


def test_custom_primitive_never_shadows_a_builtin():
    builtin = mg.ops.registry["Exp"]

    class Exp(mg.Primitive):  # same name as the built-in
        forward = staticmethod(np.exp)

    assert mg.ops.registry["Exp"] is builtin
    assert mg.ops.registry[f"{Exp.__module__}.{Exp.__qualname__}"] is Exp


def test_custom_primitive_forward_and_gradient():
    x0 = np.array([0.5, -1.5, 2.0])
    x = leaf(x0)
    y = UserCube.apply(x)
    assert y.grad_fn == "UserCube"
    np.testing.assert_allclose(y.data, x0**3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x0**2)


def test_custom_primitive_second_derivative():
    """d2/dx2 x**3 = 6x (the VJP is written in Tensor ops, so it is differentiable)."""
    x0 = np.array([0.5, -1.5, 2.0])
    x = leaf(x0)
    (g,) = mg.autograd.grad(UserCube.apply(x).sum(), [x], create_graph=True)
    (gg,) = mg.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.data, 6 * x0)


def test_custom_primitive_jvp():
    x0 = np.array([0.5, -1.5, 2.0])
    tangents = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]])
    x = mg.tensor(x0)
    x.tangent = tangents
    with forward_mode():
        y = UserCube.apply(x)
    np.testing.assert_allclose(y.tangent, tangents * 3 * x0**2)


# ----- forward mode ------------------------------------------------------------------------------


def test_forward_mode_propagates_a_batch_of_tangents():
    """d/dt [sin(x + t v) * (x + t v)] at t = 0 is v * (cos(x) x + sin(x)), per batch row."""
    x0 = np.array([0.3, -1.2, 2.5])
    V = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, -1.0]])
    x = mg.tensor(x0)
    x.tangent = V
    with forward_mode():
        y = mg.sin(x) * x
    assert y.tangent.shape == (2, 3)
    np.testing.assert_allclose(y.tangent, V * (np.cos(x0) * x0 + np.sin(x0)), rtol=1e-12)


def test_no_tangents_outside_forward_mode():
    x = mg.tensor([0.3, -1.2])
    x.tangent = np.ones((1, 2))
    y = mg.sin(x) * x
    assert y.tangent is None


def test_nested_forward_mode_raises():
    def enter_twice():
        with forward_mode(), forward_mode():
            pass

    with pytest.raises(mg.BackwardError, match="forward mode"):
        enter_twice()
    with forward_mode():  # the outer level was left cleanly: entering again works
        pass


def test_forward_over_reverse_gives_hessian_vector_product():
    """f = sum(x**4)/4 + x0*x1: grad = x**3 + (x1, x0, 0), H = diag(3x**2) + [[0,1,0],[1,0,0],0].
    With x carrying tangent v, the tangent of the gradient is H @ v."""
    x0 = np.array([0.5, -1.0, 2.0])
    v = np.array([1.0, 2.0, -0.5])
    hessian = np.diag(3 * x0**2)
    hessian[0, 1] = hessian[1, 0] = 1.0
    x = leaf(x0)
    x.tangent = v[None, :]
    with forward_mode():
        f = (x**4).sum() / 4 + x[0] * x[1]
        (g,) = mg.autograd.grad(f, [x], create_graph=False)
    np.testing.assert_allclose(g.data, x0**3 + np.array([x0[1], x0[0], 0.0]), rtol=1e-12)
    assert g.tangent.shape == (1, 3)
    np.testing.assert_allclose(g.tangent[0], hessian @ v, rtol=1e-12)


def test_forward_over_reverse_full_hessian_with_identity_tangents():
    """B = n tangents (the identity's rows) give every row of the Hessian in one pass."""
    x0 = np.array([0.5, -1.0, 2.0])
    hessian = np.diag(3 * x0**2)
    hessian[0, 1] = hessian[1, 0] = 1.0
    x = leaf(x0)
    x.tangent = np.eye(3)
    with forward_mode():
        (g,) = mg.autograd.grad((x**4).sum() / 4 + x[0] * x[1], [x])
    np.testing.assert_allclose(g.tangent, hessian, rtol=1e-12)


def test_primitive_without_rules_says_which_rule_is_missing():
    class ForwardOnly(mg.Primitive):
        forward = staticmethod(np.square)

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = ForwardOnly.apply(x)
    with pytest.raises(mg.BackwardError, match="ForwardOnly has no vjp rule"):
        y.sum().backward()
    with autodiff.forward_mode():
        x = mg.tensor([1.0, 2.0])
        x.tangent = np.ones((1, 2))
        with pytest.raises(mg.BackwardError, match="ForwardOnly has no jvp rule"):
            ForwardOnly.apply(x)


def test_a_vjp_returning_the_wrong_shape_is_caught():
    class Broken(mg.Primitive):
        forward = staticmethod(np.sum)

        @staticmethod
        def vjp(g, y, x):
            return (g,)  # forgot to broadcast back to x's shape

    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(mg.BackwardError, match=r"Broken.vjp returned .* shape \(\) .* \(3,\)"):
        Broken.apply(x).backward()


@pytest.mark.parametrize("returned", ["bare", "too many"])
def test_a_vjp_returning_the_wrong_number_of_cotangents_is_caught(returned):
    class Scale(mg.Primitive):
        forward = staticmethod(lambda x: 2 * x)

        @staticmethod
        def vjp(g, y, x):
            return 2 * g if returned == "bare" else (2 * g, None)

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    got = "Tensor" if returned == "bare" else "2 values"
    with pytest.raises(mg.BackwardError, match=rf"Scale.vjp returned {got} for 1 inputs"):
        Scale.apply(x).sum().backward()


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_custom_vjp_receives_tensors_in_every_backward(create_graph):
    """A user's rule is written in Tensor ops; the array cotangents of a plain backward are
    minigrad's own business (Primitive.array_cotangents), so the rule never sees them."""
    seen = []

    class Cube(mg.Primitive):
        forward = staticmethod(lambda x: x**3)

        @staticmethod
        def vjp(g, y, x):
            seen.append(type(g))
            return (g * 3 * x * x,)

    x = mg.tensor([1.0, -2.0], requires_grad=True)
    mg.sin(Cube.apply(x)).sum().backward(create_graph=create_graph)
    assert seen == [mg.Tensor]
    np.testing.assert_allclose(x.grad.data, np.cos(x.data**3) * 3 * x.data**2, rtol=1e-12)


def test_autograd_grad_accepts_a_single_tensor():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = mg.autograd.grad((x**3).sum(), x)
    np.testing.assert_allclose(g.data, 3 * np.array([1.0, 4.0, 9.0]))


def test_leaf_gradients_are_writable_arrays_of_their_own():
    """Clipping changes .grad in place: a read-only broadcast view, or one cotangent handed to
    two leaves (Add's), would fail or change the other leaf too."""
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad.data.flags.writeable and b.grad.data.flags.writeable
    a.grad.mul_(10.0)
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.data, [10.0, 10.0])


@pytest.mark.parametrize("as_tensor", [False, True])
def test_a_gradient_does_not_share_memory_with_the_grad_passed_in(as_tensor):
    """Add hands the output's cotangent to its inputs unchanged: the leaves' gradients must not
    be the caller's array, or changing it afterwards would change them."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    g = np.array([1.0, 1.0])
    (a + b).backward(mg.Tensor(g) if as_tensor else g)  # mg.Tensor shares g
    g[:] = 99.0
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [1.0, 1.0]
    a.grad.data[0] = 5.0
    assert b.grad.tolist() == [1.0, 1.0]


def failing_once(calls: list):
    class FailsOnce(mg.Primitive):
        forward = staticmethod(lambda x: 2 * x)

        @staticmethod
        def vjp(g, y, x):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("first time")
            return (g * 2,)

    return FailsOnce


def test_a_backward_that_fails_part_way_leaves_no_stale_cotangents():
    """Cotangents wait on the nodes during backward; an error must not leave them there."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (failing_once([]).apply(x * 3) * 5).sum()
    with pytest.raises(RuntimeError, match="first time"):
        loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [30.0, 30.0])  # 5 * 2 * 3, counted once


def test_an_in_place_change_through_one_view_is_seen_through_the_others():
    """As PyTorch's shared version counter: z views x's memory, Exp saved z's output's input."""
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    base = x * 1.0  # a non-leaf we may change under no_grad
    view = base[0:2]
    y = (view * view).sum()  # Mul saves the view
    with mg.no_grad():
        base.add_(10.0)  # changes the view's values too
    with pytest.raises(mg.BackwardError, match="Mul"):
        y.backward()


def test_changing_unrelated_memory_does_not_trip_the_check():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    other = mg.tensor([5.0, 6.0])
    y = (x * x).sum()
    with mg.no_grad():
        other.add_(1.0)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_many_in_place_changes_keep_the_memory_stamps_bounded():
    from minigrad import autodiff

    before = len(autodiff._memory_stamps)
    with mg.no_grad():
        for _ in range(5000):
            mg.zeros(2).add_(1.0)  # each array dies right after its change
    assert len(autodiff._memory_stamps) <= before  # each stamp left with its array


# ----- reliability: threads, failed passes, dtypes ----------------------------------------------


def test_backward_on_two_threads_into_one_leaf_adds_up_exactly():
    """Each pass adds 1 to w.grad[0]; an unlocked ``w.grad = w.grad + g`` lost ~5% of them."""
    import sys

    w = mg.tensor([0.0, 0.0], requires_grad=True)
    passes, threads = 4_000, 4
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so a race shows
    try:

        def work():
            for _ in range(passes):
                (w * 1.0).sum().backward()

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert w.grad.tolist() == [passes * threads] * 2


def test_a_failed_backward_delivers_no_retained_gradient():
    """h is walked (and its cotangent known) before the older FailsOnce node raises; the retry
    must count h's gradient once: [1, 1], not [2, 2]."""
    x = leaf([1.0, 2.0])
    h = failing_once([]).apply(x) * 1.0
    h.retain_grad()
    loss = h.sum()
    with pytest.raises(RuntimeError, match="first time"):
        loss.backward(retain_graph=True)
    assert h.grad is None and x.grad is None  # nothing delivered by the failed pass
    loss.backward()
    assert h.grad.tolist() == [1.0, 1.0] and x.grad.tolist() == [2.0, 2.0]


def test_a_failed_backward_without_retain_graph_leaves_the_graph_for_a_retry():
    x = leaf([1.0, 2.0])
    loss = (failing_once([]).apply(x * 3.0) * 5.0).sum()
    with pytest.raises(RuntimeError, match="first time"):
        loss.backward()  # retain_graph=False: the nodes walked must not be freed yet
    loss.backward()
    assert x.grad.tolist() == [30.0, 30.0]  # 5 * 2 * 3
    with pytest.raises(mg.BackwardError, match="second time"):
        loss.backward()  # the successful pass did free it


def test_a_leaf_gets_a_gradient_of_its_own_dtype():
    """As in PyTorch: float64 data or a float64 scalar does not make a float32 gradient float64."""
    layer = mg.nn.Linear(3, 2, dtype=np.float32)
    x = mg.tensor(np.ones((4, 3)))  # float64 (layer(x) would refuse it, as PyTorch's)
    (x @ layer.weight.T + layer.bias).sum().backward()  # float64 output
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    np.testing.assert_allclose(layer.weight.grad.data, np.full((2, 3), 4.0))

    w = mg.tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    (w * np.float64(2)).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [2.0, 2.0]

    (gw,) = mg.autograd.grad((w * np.float64(3)).sum(), [w])
    assert gw.dtype == np.float32 and gw.tolist() == [3.0, 3.0]

    w.grad = None
    (w.astype(np.float64) ** 2).sum().backward(create_graph=True)  # d/dw = 2w, recorded
    assert w.grad.dtype == np.float32 and w.grad.requires_grad
    w2 = w.grad.sum()
    w.grad = None
    w2.backward()
    assert w.grad.tolist() == [2.0, 2.0]  # d/dw sum(2w)


def test_a_real_leaf_gets_the_real_part_of_a_complex_cotangent():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    ((x * (1 + 1j)).sum()).backward(mg.tensor(1.0 + 0j))
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [1.0, 1.0]


def test_keep_graphs_makes_every_backward_keep_its_graph():
    """What Newton uses to read a closure's graph: inside the block backward() frees nothing,
    outside it frees as usual."""
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    with autodiff.keep_graphs():
        y.backward()
    assert y._node.params is not None
    y.backward()  # the graph is still there; now it is freed
    assert x.grad.tolist() == [4.0, 8.0] and y._node.params is None


# ----- slices: x[t] read step by step ------------------------------------------------------------


def test_a_slices_cotangent_stays_a_slice_until_it_is_added_into_one_buffer():
    """GetItem's VJP in a plain backward sends back the slice's values, not an array of the
    whole input: the walk adds the slices into one buffer (a loop over x[t] was quadratic)."""
    from minigrad.backward import Pending

    x = mg.tensor(np.zeros((1000, 3)), requires_grad=True)
    y = x[5]
    (ct,) = mg.ops.GetItem.vjp(np.ones(3), y, x, index=(5,), xp=mg.ops.ArrayMath)
    assert isinstance(ct, Pending) and ct.data.shape == (3,) and ct.shape == (1000, 3)


def test_gradients_through_mixed_slices_whole_uses_and_repeated_indices():
    """L = sum_t t * x[t].sum() + sum(x) + x[[0, 0, 2]].sum() + x[1:3].sum() * 2, for x of shape
    (4, 2): dL/dx[t] = t + 1 + (2 at t = 0, 1 at t = 2) + (2 at t = 1, 2)."""
    x = mg.tensor(np.zeros((4, 2)), requires_grad=True)
    loss = sum(x[t].sum() * t for t in range(4)) + x.sum()
    loss = loss + x[np.array([0, 0, 2])].sum() + x[1:3].sum() * 2
    loss.backward()
    expected = np.array([0 + 1 + 2, 1 + 1 + 2, 2 + 1 + 1 + 2, 3 + 1], dtype=float)
    np.testing.assert_array_equal(x.grad.data, np.repeat(expected[:, None], 2, axis=1))


def test_backprop_through_a_thousand_steps_of_a_recurrence():
    """h_t = tanh(a h_{t-1} + x[t]) over 1,000 steps: backward works (no recursion) and its
    gradient at x[0] matches finite differences of the whole unrolled loop."""
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((1000, 3)) * 0.5
    a = 0.9

    def run(values, requires_grad=False):
        x = mg.tensor(values, requires_grad=requires_grad)
        h = mg.tensor(np.zeros(3))
        for t in range(len(values)):
            h = mg.tanh(h * a + x[t])
        return x, h.sum()

    x, loss = run(xs, requires_grad=True)
    loss.backward()
    eps = 1e-6
    for i in range(3):
        bumped = xs.copy()
        bumped[-3, i] += eps
        low = xs.copy()
        low[-3, i] -= eps
        numeric = (run(bumped)[1].item() - run(low)[1].item()) / (2 * eps)
        assert abs(x.grad.data[-3, i] - numeric) < 1e-6
    assert np.all(np.isfinite(x.grad.data)) and x.grad.shape == (1000, 3)
