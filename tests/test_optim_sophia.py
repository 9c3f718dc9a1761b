"""``optim.Sophia`` (Sophia-H, Liu et al. 2023, Algorithm 3 with the Hutchinson estimator of
Algorithm 1), checked step by step against the rule computed here in numpy on a quadratic with
a known, indefinite Hessian."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import OptimizerError, Sophia

rng = np.random.default_rng(0)
Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
A = Q @ np.diag([-0.5, 0.3, 2.0, 9.0]) @ Q.T  # one negative eigenvalue: some h < 0 appear
A = (A + A.T) / 2
B = rng.standard_normal(4)
X0 = rng.standard_normal(4)


def setup(**kwargs):
    """0.5 x^T A x - b.x over two parameters, w (3,) and c (), flattened in that order."""
    w = mg.tensor(X0[:3].copy(), requires_grad=True)
    c = mg.tensor(X0[3], requires_grad=True)
    opt = Sophia([w, c], **kwargs)

    def closure():
        opt.zero_grad()
        x = mg.cat([w, c.reshape(1)])
        loss = 0.5 * (x @ (mg.tensor(A) @ x)) - mg.tensor(B) @ x
        loss.backward()
        return loss

    return (w, c), opt, closure


def sophia_numpy(steps, lr, betas, gamma, eps, weight_decay, k, seed):
    """The paper's Algorithm 3 on the flat x, with u_t = default_rng([seed, t]).normal(n)."""
    beta1, beta2 = betas
    x, m, h = X0.copy(), np.zeros(4), np.zeros(4)
    path = []
    for t in range(1, steps + 1):
        g = A @ x - B
        m = beta1 * m + (1 - beta1) * g
        if t % k == 1 % k:
            u = np.random.default_rng([seed, t]).standard_normal(4)
            h = beta2 * h + (1 - beta2) * u * (A @ u)
        x = x - lr * weight_decay * x
        x = x - lr * np.clip(m / np.maximum(gamma * h, eps), -1, 1)
        path.append(x.copy())
    return path


@pytest.mark.parametrize("k", [1, 3])
def test_steps_follow_the_papers_rule(k):
    hyper = dict(lr=0.05, betas=(0.9, 0.95), gamma=0.5, eps=1e-3, weight_decay=0.1, seed=7)
    (w, c), opt, closure = setup(hessian_every=k, **hyper)
    expected = sophia_numpy(7, k=k, **hyper)
    clipped = negative = False
    for x in expected:
        before = np.concatenate([w.data, [c.item()]])
        opt.step(closure)
        after = np.concatenate([w.data, [c.item()]])
        np.testing.assert_allclose(after, x, rtol=1e-12, atol=1e-14)
        move = np.abs(after - before * (1 - 0.05 * 0.1))
        assert move.max() <= 0.05 + 1e-12  # no coordinate moves more than lr
        clipped |= bool(np.isclose(move, 0.05, rtol=1e-12).any())
        h = np.concatenate([opt.state[w]["hessian"], [opt.state[c]["hessian"].item()]])
        negative |= bool((h < 0).any())
    assert clipped  # the clip was reached
    assert negative  # a negative curvature estimate was floored by eps
    assert opt.state[w]["step"] == 7


def test_the_first_step_by_hand():
    """t = 1: m = (1 - b1) g, h = (1 - b2) u * (A u), x1 = x0 (1 - lr wd) - lr clip(...)."""
    (w, c), opt, closure = setup(lr=0.1, gamma=0.05, eps=1e-12, weight_decay=0.0, seed=3)
    opt.step(closure)
    u = np.random.default_rng([3, 1]).standard_normal(4)
    m = (1 - 0.965) * (A @ X0 - B)
    h = (1 - 0.99) * u * (A @ u)
    x1 = X0 - 0.1 * np.clip(m / np.maximum(0.05 * h, 1e-12), -1, 1)
    np.testing.assert_allclose(np.concatenate([w.data, [c.item()]]), x1, rtol=1e-12)


def test_a_step_that_estimates_the_hessian_needs_the_closure():
    (w, c), opt, closure = setup(hessian_every=2)
    with pytest.raises(OptimizerError, match="estimates the Hessian's diagonal.*pass a closure"):
        opt.step()
    assert opt.state == {}
    opt.step(closure)
    closure()  # the gradients, by the caller: step 2 reuses h and needs no closure
    before = w.data.copy()
    opt.step()
    assert not np.array_equal(w.data, before) and opt.state[w]["step"] == 2
    with pytest.raises(OptimizerError, match="hessian_every=2 steps"):
        opt.step()


def test_sophia_minimises_a_convex_quadratic():
    w = mg.tensor(np.zeros(4), requires_grad=True)
    opt = Sophia([w], lr=0.05, weight_decay=0.0, hessian_every=2)
    H = Q @ np.diag([0.5, 1.0, 2.0, 9.0]) @ Q.T

    def closure():
        opt.zero_grad()
        loss = 0.5 * (w @ (mg.tensor(H) @ w)) - mg.tensor(B) @ w
        loss.backward()
        return loss

    for _ in range(400):
        opt.step(closure)
    np.testing.assert_allclose(w.data, np.linalg.solve(H, B), atol=0.05)


def test_state_dict_round_trip_and_bad_input(tmp_path):
    hyper = dict(lr=0.05, gamma=0.5, hessian_every=3, seed=1)
    (w, c), opt, closure = setup(**hyper)
    for _ in range(2):
        opt.step(closure)
    mg.save(opt.state_dict(), tmp_path / "sophia.npz")
    at = np.concatenate([w.data, [c.item()]])
    for _ in range(3):
        opt.step(closure)
    (w2, c2), opt2, closure2 = setup()
    w2.data[:], c2.data[...] = at[:3], at[3]
    opt2.load_state_dict(mg.load(tmp_path / "sophia.npz"))
    for _ in range(3):
        opt2.step(closure2)
    np.testing.assert_allclose(w2.data, w.data, rtol=1e-13)
    assert c2.item() == pytest.approx(c.item(), rel=1e-13)
    saved = opt.state_dict()
    bad = {**saved, "state": {**saved["state"], 0: {**saved["state"][0], "hessian": np.ones(2)}}}
    with pytest.raises(OptimizerError, match=r"'hessian' has shape \(2,\)"):
        opt2.load_state_dict(bad)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(gamma=0.0), "Invalid gamma value: 0.0"),
        (dict(eps=0.0), "Invalid epsilon value: 0.0"),
        (dict(hessian_every=0), "Invalid hessian_every: 0"),
        (dict(betas=(1.0, 0.99)), "Invalid beta parameter at index 0: 1.0"),
        (dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs, message):
    with pytest.raises(OptimizerError, match=message):
        Sophia([mg.tensor(np.zeros(2), requires_grad=True)], **kwargs)
