"""Forward mode inside mg.vmap (jvp, jacfwd, hvp, hessian): each equal to the unbatched transform
applied to one example at a time, whichever of the primals, tangents and closed-over values are
batched; and the closed forms of a small function, so that the loop itself is checked."""

import numpy as np
import pytest

import minigrad as mg

rng = np.random.default_rng(5)
N = 4
X = mg.tensor(rng.standard_normal((N, 3)))
V = mg.tensor(rng.standard_normal((N, 3)))
K = mg.tensor(rng.standard_normal((N, 2, 3)))  # two directions per example
W = mg.tensor(rng.standard_normal((3, 3)))


def scalar(x):
    return ((x @ W).tanh() * x).sum()


def vector(x):
    return (x @ W).sin() * x


def two(x, w):
    return ((x @ w).tanh() * x).sum()


def per_example(fn, *batched):
    """The loop vmap stands for: ``fn`` on each example, the results stacked."""
    return np.stack([np.asarray(fn(*[b[i] for b in batched]).data) for i in range(N)])


def jvp_tangent(fn):
    return lambda x, v: mg.jvp(fn, (x,), (v,))[1]


def hvp_of(fn):
    return lambda x, v: mg.hvp(fn, (x,), (v,))


CASES = {
    "jvp": (jvp_tangent(vector), (X, V)),
    "jvp, k directions": (jvp_tangent(vector), (X, K)),
    "jvp of grad": (jvp_tangent(mg.grad(scalar)), (X, V)),
    "jacfwd": (mg.jacfwd(vector), (X,)),
    "jacobian fwd": (mg.jacobian(vector, mode="fwd"), (X,)),
    "hvp": (hvp_of(scalar), (X, V)),
    "hvp, k directions": (hvp_of(scalar), (X, K)),
    "hessian": (mg.hessian(scalar), (X,)),
    "hessian in chunks": (mg.hessian(scalar, chunk_size=2), (X,)),
}


@pytest.mark.parametrize("name", CASES)
def test_forward_mode_inside_vmap_equals_the_transform_per_example(name):
    fn, args = CASES[name]
    np.testing.assert_allclose(mg.vmap(fn)(*args).data, per_example(fn, *args), atol=1e-14)


def test_the_closed_forms():
    """d/dx sin(x) x = cos(x) x + sin(x) along v, and the Hessian of sum(x^3) is diag(6 x)."""
    out = mg.vmap(lambda x, v: mg.jvp(lambda t: t.sin() * t, (x,), (v,))[1])(X, V)
    x, v = X.data, V.data
    np.testing.assert_allclose(out.data, (np.cos(x) * x + np.sin(x)) * v, rtol=1e-13)
    hessians = mg.vmap(mg.hessian(lambda t: (t**3).sum()))(X)
    np.testing.assert_allclose(hessians.data, np.stack([np.diag(6 * r) for r in x]), rtol=1e-13)
    products = mg.vmap(lambda x, v: mg.hvp(lambda t: (t**3).sum(), (x,), (v,)))(X, V)
    np.testing.assert_allclose(products.data, 6 * x * v, rtol=1e-13)


def test_batched_tangents_of_one_primal_and_batched_primals_of_one_tangent():
    x0, v0 = X[0], V[0]
    along = mg.vmap(lambda v: mg.jvp(vector, (x0,), (v,))[1])(V)
    np.testing.assert_allclose(along.data, per_example(lambda v: mg.jvp(vector, (x0,), (v,))[1], V))
    at = mg.vmap(lambda x: mg.jvp(vector, (x,), (v0,))[1])(X)
    np.testing.assert_allclose(at.data, per_example(lambda x: mg.jvp(vector, (x,), (v0,))[1], X))
    jac = mg.vmap(lambda v: mg.hvp(scalar, (x0,), (v,)))(V)
    np.testing.assert_allclose(jac.data, per_example(lambda v: mg.hvp(scalar, (x0,), (v,)), V))


def test_a_batched_value_the_function_closes_over():
    """The primal is not batched, a value ``f`` uses is: the tangents meet the batch inside."""

    def along_w(x):
        return mg.jvp(lambda w: (x @ w).sin(), (W,), (W,))[1]

    np.testing.assert_allclose(mg.vmap(along_w)(X).data, per_example(along_w, X))

    def hessian_in_w(x):
        return mg.hessian(lambda w: two(x, w))(W)

    np.testing.assert_allclose(mg.vmap(hessian_in_w)(X).data, per_example(hessian_in_w, X))


def test_hessian_blocks_and_flat_with_unbatched_arguments():
    blocks = mg.vmap(mg.hessian(two, argnums=(0, 1)), in_axes=(0, None))(X, W)
    loop = [mg.hessian(two, argnums=(0, 1))(X[i], W) for i in range(N)]
    for a in range(2):
        for b in range(2):
            expected = np.stack([h[a][b].data for h in loop])
            np.testing.assert_allclose(blocks[a][b].data, expected, atol=1e-14)
    flat = mg.vmap(mg.hessian(two, argnums=(0, 1), flat=True), in_axes=(0, None))(X, W)
    assert flat.shape == (N, 12, 12)
    expected = per_example(lambda x: mg.hessian(two, argnums=(0, 1), flat=True)(x, W), X)
    np.testing.assert_allclose(flat.data, expected, atol=1e-14)
    jacobians = mg.jacfwd(lambda x, w: (x @ w).sin(), argnums=(0, 1))
    jac = mg.vmap(jacobians, in_axes=(0, None))(X, W)
    loop = [jacobians(X[i], W) for i in range(N)]
    for j in range(2):
        np.testing.assert_allclose(jac[j].data, np.stack([b[j].data for b in loop]), atol=1e-14)


def test_nested_vmap_and_other_axes():
    XX = mg.tensor(rng.standard_normal((2, N, 3)))
    VV = mg.tensor(rng.standard_normal((2, N, 3)))
    inner = jvp_tangent(vector)
    out = mg.vmap(mg.vmap(inner))(XX, VV)
    loop = [[inner(XX[i, j], VV[i, j]).data for j in range(N)] for i in range(2)]
    np.testing.assert_allclose(out.data, np.array(loop))
    hessians = mg.vmap(mg.vmap(mg.hessian(scalar)), in_axes=1)(XX)  # (N, 2, 3, 3)
    loop = [[mg.hessian(scalar)(XX[j, i]).data for j in range(2)] for i in range(N)]
    np.testing.assert_allclose(hessians.data, np.array(loop), atol=1e-14)
    # the primal batched by the outer vmap, the tangent by the inner one
    crossed = mg.vmap(lambda x: mg.vmap(lambda v: inner(x, v))(VV[0]))(X)
    loop = [[inner(X[i], VV[0, j]).data for j in range(N)] for i in range(N)]
    np.testing.assert_allclose(crossed.data, np.array(loop))


def test_the_primal_output_and_chunks():
    primal = mg.vmap(lambda x, v: mg.jvp(vector, (x,), (v,))[0])(X, V)
    np.testing.assert_allclose(primal.data, vector(X).data)
    chunked = mg.vmap(mg.hessian(scalar), chunk_size=3)(X)
    np.testing.assert_allclose(chunked.data, per_example(mg.hessian(scalar), X), atol=1e-14)


def test_compiled_per_example_hessians_replay_exactly():
    compiled = mg.compile(mg.vmap(mg.hessian(scalar)))
    expected = per_example(mg.hessian(scalar), X)
    for _ in range(3):
        np.testing.assert_allclose(compiled(X).data, expected, atol=1e-14)


def test_reverse_over_forward_through_a_closure_is_refused():
    """A forward-mode result differentiated by an enclosing grad would silently lose the
    tangents' dependence (they are not recorded): refused, in and out of vmap."""

    def inside(w):
        return mg.jvp(lambda x: (x @ w).sin(), (X[0],), (V[0],))[1].sum()

    def batched(w):
        return mg.vmap(lambda x, v: mg.jvp(lambda t: (t @ w).sin(), (x,), (v,))[1])(X, V).sum()

    for fn in (inside, batched):
        with pytest.raises(mg.BackwardError, match="enclosing mg.grad.*not recorded"):
            mg.grad(fn)(W)
    with pytest.raises(mg.BackwardError, match="enclosing mg.grad"):
        mg.grad(lambda w: mg.hvp(lambda x: two(x, w), (X[0],), (V[0],)).sum())(W)
    # a closed-over tensor that no enclosing transform differentiates is fine
    np.testing.assert_allclose(mg.grad(lambda x: inside(W) * x)(2.0).data, inside(W).data)


def test_forward_mode_around_vmap_equals_it_around_the_loop():
    """jvp and jacfwd of a vmapped function: the same as of the loop it stands for."""

    def batched(w):
        return mg.vmap(lambda x: (x @ w).sin())(X)

    def looped(w):
        return mg.stack([(X[i] @ w).sin() for i in range(N)])

    _, along = mg.jvp(batched, (W,), (W,))
    np.testing.assert_allclose(along.data, mg.jvp(looped, (W,), (W,))[1].data, atol=1e-14)
    np.testing.assert_allclose(mg.jacfwd(batched)(W).data, mg.jacfwd(looped)(W).data, atol=1e-14)
