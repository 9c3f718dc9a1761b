"""``Newton(..., hessian_every=k)``: the Hessian is computed and factored at steps 1, k + 1, ...
and reused in between with a fresh gradient. References: a quadratic (constant Hessian: the
same trajectory as k = 1) and a logistic regression whose damped Newton steps with a stale
Hessian are computed here in numpy from the closed-form gradient and Hessian."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import Newton, OptimizerError

rng = np.random.default_rng(0)
Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
A = Q @ np.diag([0.5, 1.0, 2.0, 4.0, 8.0, 16.0]) @ Q.T
A = (A + A.T) / 2
B = rng.standard_normal(6)
X = np.hstack([rng.standard_normal((40, 3)), np.ones((40, 1))])
Y = np.where(rng.random(40) < 0.5, 1.0, -1.0)
REG = 0.01


def quadratic_setup(**kwargs):
    """0.5 x^T A x - b.x; ``hessians`` counts the closure's runs in forward mode (one per
    Hessian: the 6 rows fit one pass)."""
    x = mg.tensor(np.ones(6), requires_grad=True)
    opt = Newton([x], **kwargs)
    hessians = []

    def closure():
        hessians.append(x.tangent is not None)
        opt.zero_grad()
        loss = 0.5 * (x @ (mg.tensor(A) @ x)) - mg.tensor(B) @ x
        loss.backward()
        return loss

    return x, opt, closure, hessians


def logreg_setup(**kwargs):
    w = mg.tensor(np.zeros(4), requires_grad=True)
    opt = Newton([w], **kwargs)

    def closure():
        opt.zero_grad()
        loss = mg.log1p(mg.exp(-mg.tensor(Y) * (mg.tensor(X) @ w))).mean() + REG / 2 * (w @ w)
        loss.backward()
        return loss

    return w, opt, closure


def logreg_numpy(w):
    z = Y * (X @ w)
    s = 1 / (1 + np.exp(z))
    g = -(X.T @ (Y * s)) / len(z) + REG * w
    H = (X.T * (s * (1 - s))) @ X / len(z) + REG * np.eye(len(w))
    return g, H


@pytest.mark.parametrize("adaptive", [False, True], ids=["fixed_damping", "adaptive"])
def test_hessian_every_3_recomputes_every_third_step_and_matches_every_step_on_a_quadratic(
    adaptive,
):
    kwargs = dict(lr=0.5, damping=0.3, adaptive=adaptive)
    x1, every_step, closure1, hessians1 = quadratic_setup(**kwargs)
    x3, every_third, closure3, hessians3 = quadratic_setup(hessian_every=3, **kwargs)
    for step in range(1, 8):
        every_step.step(closure1)
        every_third.step(closure3)
        np.testing.assert_allclose(x3.data, x1.data, rtol=1e-11, atol=1e-13)
        assert every_third.state[x3]["hessian_evals"] == (step + 2) // 3  # steps 1, 4, 7
        assert every_step.state[x1]["hessian_evals"] == step
    assert sum(hessians3) == 3 and sum(hessians1) == 7
    assert every_third.state[x3]["eigenvalues"].shape == (6,)
    np.testing.assert_allclose(every_third.state[x3]["eigenvalues"], [0.5, 1, 2, 4, 8, 16],
                               rtol=1e-12)  # fmt: skip


def test_the_steps_between_reuse_the_stale_hessian():
    """Logistic regression, fixed damping: x <- x - lr (H(x_r) + lam I)^{-1} g(x), with x_r the
    point of the last refresh (steps 1 and 4 of 5)."""
    w, opt, closure = logreg_setup(lr=1.0, damping=0.05, adaptive=False, hessian_every=3)
    x = np.zeros(4)
    for step in range(5):
        if step % 3 == 0:
            H = logreg_numpy(x)[1]
        x = x - np.linalg.solve(H + 0.05 * np.eye(4), logreg_numpy(x)[0])
        opt.step(closure)
        np.testing.assert_allclose(w.data, x, rtol=1e-10, atol=1e-13)
    assert opt.state[w]["hessian_evals"] == 2


def test_hessian_every_1_is_newton_at_every_step():
    """The default: a fresh Hessian each step (the numpy Newton iteration), no kept factors."""
    w, opt, closure = logreg_setup(lr=1.0, damping=0.05, adaptive=False)
    x = np.zeros(4)
    for _ in range(4):
        g, H = logreg_numpy(x)
        x = x - np.linalg.solve(H + 0.05 * np.eye(4), g)
        opt.step(closure)
        np.testing.assert_allclose(w.data, x, rtol=1e-10, atol=1e-13)
    state = opt.state[w]
    assert state["hessian_evals"] == 4 and "eigenvectors" not in state


def test_the_adaptive_steps_still_lower_the_loss_with_a_stale_hessian():
    w, opt, closure = logreg_setup(hessian_every=4)
    losses = [float(opt.step(closure)) for _ in range(12)]
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert np.abs(logreg_numpy(w.data)[0]).max() < 1e-8
    assert opt.state[w]["hessian_evals"] == 3


def test_state_dict_round_trips_with_the_kept_factorisation(tmp_path):
    w, opt, closure = logreg_setup(lr=1.0, damping=0.05, adaptive=False, hessian_every=3)
    for _ in range(2):
        opt.step(closure)
    mg.save(opt.state_dict(), tmp_path / "newton.npz")
    at = w.data.copy()
    for _ in range(3):
        opt.step(closure)
    w2, opt2, closure2 = logreg_setup(hessian_every=3)
    w2.data[:] = at
    opt2.load_state_dict(mg.load(tmp_path / "newton.npz"))
    for _ in range(3):
        opt2.step(closure2)
    np.testing.assert_allclose(w2.data, w.data, rtol=1e-13, atol=1e-15)
    assert opt2.state[w2]["hessian_evals"] == opt.state[w]["hessian_evals"] == 2


def test_bad_hessian_every_and_bad_state_are_refused():
    w, opt, closure = logreg_setup(hessian_every=3)
    with pytest.raises(OptimizerError, match="Invalid hessian_every: 0"):
        Newton([w], hessian_every=0)
    with pytest.raises(OptimizerError, match="Invalid hessian_every: 1.5"):
        Newton([w], hessian_every=1.5)
    opt.step(closure)
    saved = opt.state_dict()
    entry = saved["state"][0]
    for bad, message in [
        ({**entry, "eigenvectors": np.eye(3)}, r"'eigenvectors' has shape \(3, 3\).*\(4, 4\)"),
        ({k: v for k, v in entry.items() if k != "eigenvectors"}, "come together"),
        ({**entry, "eigenvalues": np.full(4, np.nan)}, "'eigenvalues' holds NaN"),
    ]:
        fresh = Newton([w], hessian_every=3)
        with pytest.raises(OptimizerError, match=message):
            fresh.load_state_dict({**saved, "state": {0: bad}})
        assert fresh.state == {}
