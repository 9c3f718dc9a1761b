"""Second-order optimizers and line searches: Newton, NewtonCG, LBFGS, backtracking Armijo and
the strong Wolfe search.

References are written in this file from the math (closed-form Hessians, Newton steps, IRLS for
logistic regression) and, for LBFGS, from PyTorch's algorithm transcribed to numpy below.
"""

import math
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import SGD
from minigrad.optim.closure_curvature import closure_hvp
from minigrad.optim.lbfgs import LBFGS
from minigrad.optim.line_search import backtracking_armijo, cubic_interpolate, strong_wolfe
from minigrad.optim.newton import Newton
from minigrad.optim.newton_cg import NewtonCG
from minigrad.optim.optimizer import OptimizerError

# ----- problems ----------------------------------------------------------------------------------


def ill_conditioned_quadratic(n=20, condition=1e4, seed=0):
    """``A`` SPD with eigenvalues log-spaced in [1, condition], ``b``, and ``x* = A^{-1} b``."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = Q @ np.diag(np.logspace(0, np.log10(condition), n)) @ Q.T
    A = (A + A.T) / 2
    b = rng.standard_normal(n)
    return A, b, np.linalg.solve(A, b)


def quadratic_setup(opt_cls, A, b, x0=None, **kwargs):
    """A parameter at ``x0`` (zeros), its optimizer and the closure of 0.5 x^T A x - b^T x."""
    x = mg.tensor(np.zeros(len(b)) if x0 is None else x0, requires_grad=True)
    opt = opt_cls([x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (mg.tensor(A) @ x)) - mg.tensor(b) @ x
        loss.backward()
        return loss

    return x, opt, closure


def relative_error(x, x_star):
    return np.linalg.norm(np.asarray(x) - x_star) / np.linalg.norm(x_star)


def rosenbrock_setup(opt_cls, **kwargs):
    """(1 - x)^2 + 100 (y - x^2)^2 from the classic start (-1.2, 1); minimum 0 at (1, 1)."""
    x = mg.tensor([-1.2, 1.0], requires_grad=True)
    opt = opt_cls([x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss

    return x, opt, closure


def rosenbrock_numpy(v):
    x, y = v
    f = (1 - x) ** 2 + 100 * (y - x**2) ** 2
    g = np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])
    return f, g


# Logistic regression with an L2 penalty: a unique minimiser w*, found below by Newton's method
# in numpy (IRLS) from the closed-form gradient and Hessian.
_rng = np.random.default_rng(1)
LOGREG_X = np.hstack([_rng.standard_normal((80, 3)), np.ones((80, 1))])  # last column: bias
LOGREG_Y = np.where(
    _rng.random(80) < 1 / (1 + np.exp(-LOGREG_X @ np.array([1.5, -2.0, 0.5, 0.3]))), 1.0, -1.0
)
LOGREG_REG = 0.01


def logreg_numpy(w):
    """Loss, gradient and Hessian of mean(log(1 + exp(-y x.w))) + reg/2 |w|^2."""
    z = LOGREG_Y * (LOGREG_X @ w)
    s = 1 / (1 + np.exp(z))  # sigmoid(-z)
    f = np.mean(np.log1p(np.exp(-z))) + LOGREG_REG / 2 * w @ w
    g = -(LOGREG_X.T @ (LOGREG_Y * s)) / len(z) + LOGREG_REG * w
    H = (LOGREG_X.T * (s * (1 - s))) @ LOGREG_X / len(z) + LOGREG_REG * np.eye(len(w))
    return f, g, H


def logreg_optimum():
    w = np.zeros(4)
    for _ in range(30):
        _, g, H = logreg_numpy(w)
        w = w - np.linalg.solve(H, g)
    assert np.abs(logreg_numpy(w)[1]).max() < 1e-14
    return w


LOGREG_W = logreg_optimum()


def logreg_setup(opt_cls, **kwargs):
    """Weights (3,) and bias () as two parameters, so the flattening order matters."""
    w = mg.tensor(np.zeros(3), requires_grad=True)
    c = mg.tensor(0.0, requires_grad=True)
    opt = opt_cls([w, c], **kwargs)
    X, y = mg.tensor(LOGREG_X[:, :3]), mg.tensor(LOGREG_Y)

    def closure():
        opt.zero_grad()
        z = y * (X @ w + c)
        loss = mg.log1p(mg.exp(-z)).mean() + LOGREG_REG / 2 * ((w * w).sum() + c * c)
        loss.backward()
        return loss

    return (w, c), opt, closure


def logreg_params(w, c):
    return np.concatenate([w.data, [c.item()]])


# ----- Newton ------------------------------------------------------------------------------------


def test_newton_solves_a_quadratic_in_one_step():
    """Undamped Newton: x1 = x0 - A^{-1}(A x0 - b) = A^{-1} b exactly, from any start."""
    A, b, x_star = ill_conditioned_quadratic(n=8, condition=1e3)
    x0 = np.random.default_rng(2).standard_normal(8)
    for adaptive in (False, True):
        x, opt, closure = quadratic_setup(Newton, A, b, x0=x0, damping=0.0, adaptive=adaptive)
        opt.step(closure)
        assert relative_error(x.data, x_star) < 1e-10


def test_newton_damped_step_is_the_levenberg_marquardt_step():
    """adaptive=False: x1 = x0 - lr (A + lambda I)^{-1} (A x0 - b)."""
    A, b, _ = ill_conditioned_quadratic(n=6, condition=100)
    x0 = np.random.default_rng(3).standard_normal(6)
    x, opt, closure = quadratic_setup(Newton, A, b, x0=x0, lr=0.7, damping=0.5, adaptive=False)
    opt.step(closure)
    expected = x0 - 0.7 * np.linalg.solve(A + 0.5 * np.eye(6), A @ x0 - b)
    np.testing.assert_allclose(x.data, expected, rtol=1e-12, atol=1e-12)


def test_newton_hessian_of_two_parameters_matches_the_closed_form():
    """The flattened Hessian over (w, c) is X^T S X / m + reg I, in the parameters' order."""
    (w, c), opt, closure = logreg_setup(Newton)
    rng = np.random.default_rng(4)
    w.data[:] = rng.standard_normal(3)
    c.data[...] = 0.4
    loss, g, H = opt.hessian(closure)
    f_ref, g_ref, H_ref = logreg_numpy(logreg_params(w, c))
    assert float(loss) == pytest.approx(f_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(H, H_ref, rtol=1e-10, atol=1e-14)
    assert w.tangent is None and c.tangent is None
    assert w.grad.tangent is None and c.grad.tangent is None


def test_newton_hessian_in_chunks_matches_one_pass():
    A, b, _ = ill_conditioned_quadratic(n=7, condition=10)
    x0 = np.random.default_rng(5).standard_normal(7)
    _, opt, closure = quadratic_setup(Newton, A, b, x0=x0, chunk_size=3)
    _, _, H = opt.hessian(closure)
    np.testing.assert_allclose(H, A, rtol=1e-12, atol=1e-12)


def test_closure_hvp_gives_hessian_vector_products():
    A, b, _ = ill_conditioned_quadratic(n=5, condition=10)
    x0 = np.random.default_rng(6).standard_normal(5)
    x, _, closure = quadratic_setup(SGD, A, b, x0=x0, lr=0.1)
    V = np.random.default_rng(7).standard_normal((3, 5))
    loss, g, HV = closure_hvp(closure, [x], V)
    assert float(loss) == pytest.approx(0.5 * x0 @ A @ x0 - b @ x0, rel=1e-12)
    np.testing.assert_allclose(g, A @ x0 - b, rtol=1e-12)
    np.testing.assert_allclose(HV, V @ A, rtol=1e-12)
    assert x.tangent is None and x.grad.tangent is None


def test_newton_without_damping_follows_newtons_map():
    """f = sqrt(1 + x^2): Newton's map is x -> x - f'/f'' = -x^3, so from 2 it jumps to -8."""
    x = mg.tensor([2.0], requires_grad=True)
    opt = Newton([x], damping=0.0, adaptive=False)

    def closure():
        opt.zero_grad()
        loss = mg.sqrt(1 + (x * x).sum())
        loss.backward()
        return loss

    opt.step(closure)
    assert x.data[0] == pytest.approx(-8.0, rel=1e-12)


def test_newton_adaptive_damping_grows_on_failure_and_shrinks_on_success():
    """Same f from 2: the undamped step raises the loss, so lambda grows until a step lowers
    it; every accepted step lowers the loss, and lambda then shrinks."""
    x = mg.tensor([2.0], requires_grad=True)
    opt = Newton([x], damping=0.0)

    def closure():
        opt.zero_grad()
        loss = mg.sqrt(1 + (x * x).sum())
        loss.backward()
        return loss

    losses = [float(closure())]
    opt.step(closure)
    state = opt.state[x]
    assert state["rejected"] >= 1 and state["damping"] > 0
    losses.append(float(closure()))
    damping = [state["damping"]]
    for _ in range(15):
        opt.step(closure)
        losses.append(float(closure()))
        damping.append(state["damping"])
    assert all(b < a for a, b in zip(losses, losses[1:]) if a > 1 + 1e-12)
    assert damping[-1] < damping[0] / 100
    assert abs(x.data[0]) < 1e-8


def test_newton_out_of_retries_stays_put():
    """max_retries=0 and an undamped step that raises the loss: x does not move."""
    x = mg.tensor([2.0], requires_grad=True)
    opt = Newton([x], damping=0.0, max_retries=0)

    def closure():
        opt.zero_grad()
        loss = mg.sqrt(1 + (x * x).sum())
        loss.backward()
        return loss

    opt.step(closure)
    assert x.data[0] == 2.0 and opt.state[x]["rejected"] == 1


def test_newton_refuses_indefinite_steps():
    """At a saddle's neighbourhood of f = x^2 - y^2 + y^4, H + lambda I is not positive definite
    for small lambda; the adaptive step still lowers the loss."""
    x = mg.tensor([0.5, 0.1], requires_grad=True)
    opt = Newton([x], damping=0.0)

    def closure():
        opt.zero_grad()
        loss = x[0] ** 2 - x[1] ** 2 + x[1] ** 4
        loss.backward()
        return loss

    before = float(closure())
    opt.step(closure)
    assert opt.state[x]["rejected"] >= 1
    assert float(closure()) < before


def test_newton_too_large_hessian_is_a_clear_error():
    layer = mg.nn.Linear(30, 30, dtype=np.float64)  # 930 parameters
    with pytest.raises(mg.HessianTooLarge, match=r"930 x 930.*max_size=100.*NewtonCG"):
        Newton([p for _, p in layer.named_parameters()], max_size=100)
    x = mg.tensor(np.zeros(50), requires_grad=True)
    with pytest.raises(mg.HessianTooLarge, match=r"max_memory=.*NewtonCG"):
        Newton([x], max_memory=10_000)
    assert issubclass(mg.HessianTooLarge, MemoryError)


# ----- Newton's memory ---------------------------------------------------------------------------

HESSIAN_N = 400
HESSIAN_BYTES = 8 * HESSIAN_N * HESSIAN_N  # float64
# The closure's tape (few_samples_setup): w, X w (one matrix-vector product), X w - y, its
# square, and their sum.
TAPE = HESSIAN_N + 3 * 5 + 1
# The documented tangents of one row: three per value on the tape, the identity row, H v.
ROW_BYTES = 8 * (3 * TAPE + 2 * HESSIAN_N)
# Room for the Hessian, its two work arrays and a quarter of a Hessian's worth of tangent rows;
# all n rows at once (the whole identity as tangents) would need six Hessians' worth.
TIGHT_MEMORY = int(3.25 * HESSIAN_BYTES)


def few_samples_setup(opt_cls, **kwargs):
    """f(w) = ||X w - y||^2 with X of shape (5, n): the intermediate values have 5 elements, so
    what grows with n is the parameters' share of the tape. Returns w, its optimizer, the
    closure and a count of its calls."""
    rng = np.random.default_rng(9)
    X = mg.tensor(rng.standard_normal((5, HESSIAN_N)))
    y = mg.tensor(rng.standard_normal(5))
    w = mg.tensor(np.zeros(HESSIAN_N), requires_grad=True)
    opt = opt_cls([w], **kwargs)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = ((X @ w - y) ** 2).sum()
        loss.backward()
        return loss

    return w, opt, closure, calls


def peak_bytes(fn):
    """What ``fn()`` allocates at its peak (tracemalloc sees numpy's arrays, not LAPACK's
    internal buffers, which the model counts as the Hessian's work arrays)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("adaptive", [True, False], ids=["levenberg_marquardt", "fixed_damping"])
def test_newton_step_stays_under_max_memory_in_chunks(adaptive):
    """n = 400 under 3.25 Hessians' worth of bytes: the default chunk is the most rows that fit
    next to the Hessian, and the step's peak (Hessian passes, symmetrising, factoring,
    solving) stays under max_memory. The Newton that built np.eye(n), (H + H.T) / 2 and
    H + lam * eye peaked at 4 (fixed damping) to 5 Hessians here. The chunks change nothing: the same step as with
    all rows in one pass."""
    w, opt, closure, calls = few_samples_setup(
        Newton, max_memory=TIGHT_MEMORY, damping=0.1, adaptive=adaptive
    )
    assert opt.measure_tape(closure) == TAPE  # the closure's graph, kept for a look
    calls.clear()
    chunk = opt.rows_per_pass(TAPE)
    assert 1 < chunk < HESSIAN_N
    assert HESSIAN_BYTES + chunk * ROW_BYTES <= TIGHT_MEMORY
    assert HESSIAN_BYTES + (chunk + 1) * ROW_BYTES > TIGHT_MEMORY  # the most that fit
    peak = peak_bytes(lambda: opt.step(closure))
    assert peak <= TIGHT_MEMORY, f"peak {peak} bytes > max_memory {TIGHT_MEMORY}"
    passes = 1 + math.ceil(HESSIAN_N / chunk)  # the run that measures the tape, the passes
    assert len(calls) >= passes and opt.state[w]["func_evals"] == len(calls)

    w1, one_pass, closure1, calls1 = few_samples_setup(Newton, damping=0.1, adaptive=adaptive)
    assert one_pass.rows_per_pass() == HESSIAN_N
    one_pass.step(closure1)
    assert len(calls1) == len(calls) - passes + 2  # one measuring run and one pass
    np.testing.assert_allclose(w.data, w1.data, rtol=1e-10, atol=1e-12)


def test_newton_refuses_a_chunk_size_that_does_not_fit():
    _, opt, _, _ = few_samples_setup(Newton, max_memory=TIGHT_MEMORY)
    chunk = opt.rows_per_pass()
    with pytest.raises(
        mg.HessianTooLarge,
        match=rf"Newton: chunk_size={HESSIAN_N} needs .* use chunk_size <= {chunk} or raise "
        rf"max_memory, or use NewtonCG",
    ):
        few_samples_setup(Newton, max_memory=TIGHT_MEMORY, chunk_size=HESSIAN_N)
    _, fits, _, _ = few_samples_setup(Newton, max_memory=TIGHT_MEMORY, chunk_size=chunk)
    assert fits.rows_per_pass() == chunk


def test_newton_without_a_memory_bound_takes_all_rows_in_one_pass():
    _, opt, _, _ = few_samples_setup(Newton, max_memory=np.inf)
    assert opt.rows_per_pass() == HESSIAN_N


def test_newton_that_cannot_fit_refuses_before_allocating():
    """n = 20000 (a 3.2 GB Hessian) with max_size raised: refused by max_memory at construction,
    and at a step once a frozen parameter joins, before the closure runs; neither allocates
    as much as ten copies of the parameters."""
    big = mg.tensor(np.zeros(20000), requires_grad=True)

    def construct():
        with pytest.raises(
            mg.HessianTooLarge, match=r"a 20000 x 20000 Hessian and the work arrays .*NewtonCG"
        ):
            Newton([big], max_size=10**6)

    assert peak_bytes(construct) < 10 * big.data.nbytes

    small = mg.tensor(np.zeros(3), requires_grad=True)
    big.requires_grad_(False)
    opt = Newton([small, big], max_size=10**6)
    big.requires_grad_(True)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = (small**2).sum() + (big**2).sum()
        loss.backward()
        return loss

    def step():
        with pytest.raises(mg.HessianTooLarge, match="20003 x 20003 Hessian"):
            opt.step(closure)

    assert peak_bytes(step) < 10 * big.data.nbytes
    assert calls == []


# ----- NewtonCG ----------------------------------------------------------------------------------


def test_conjugate_gradient_solves_the_newton_system_on_a_quadratic():
    """One NewtonCG step with enough CG iterations lands on A^{-1} b."""
    A, b, x_star = ill_conditioned_quadratic(n=8, condition=100)
    x, opt, closure = quadratic_setup(NewtonCG, A, b, cg_iters=50, cg_tol=1e-12)
    opt.step(closure)
    assert relative_error(x.data, x_star) < 1e-9
    assert opt.state[x]["negative_curvature"] is False


def test_newton_cg_negative_curvature_at_the_first_direction_takes_steepest_descent():
    """H = diag(-1, -2): p = -g has negative curvature at once, so d = -g, x1 = x0 - lr g."""
    x0 = np.array([0.3, -0.2])
    x = mg.tensor(x0, requires_grad=True)
    opt = NewtonCG([x], lr=0.5)
    D = mg.tensor([-1.0, -2.0])

    def closure():
        opt.zero_grad()
        loss = 0.5 * (D * x * x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    g = np.array([-1.0, -2.0]) * x0
    np.testing.assert_allclose(x.data, x0 - 0.5 * g, rtol=1e-14)
    assert opt.state[x]["negative_curvature"] is True and opt.state[x]["cg_iters"] == 1


def test_newton_cg_negative_curvature_later_keeps_the_last_iterate():
    """H = diag(1, 1, -4), g = (1, 1, 0.1): p0 = -g has positive curvature; the second
    direction has negative curvature, so d is the first CG iterate -(g.g / g.Hg) g."""
    H = np.diag([1.0, 1.0, -4.0])
    g0 = np.array([1.0, 1.0, 0.1])
    x = mg.tensor(np.linalg.solve(H, g0), requires_grad=True)  # so that H x = g0
    x0 = x.data.copy()
    opt = NewtonCG([x], lr=1.0)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x @ (mg.tensor(H) @ x))
        loss.backward()
        return loss

    opt.step(closure)
    expected = x0 - (g0 @ g0) / (g0 @ H @ g0) * g0
    np.testing.assert_allclose(x.data, expected, rtol=1e-12)
    assert opt.state[x]["negative_curvature"] is True and opt.state[x]["cg_iters"] == 2


# ----- beating SGD on an ill-conditioned quadratic (condition number 1e4, n = 20) -----------------


def best_sgd_error(A, b, x_star, steps=1000):
    """Plain SGD from 0 with the best learning rate of a grid around 2 / lambda_max."""
    errors = []
    for lr in (5e-5, 1e-4, 1.5e-4, 1.9e-4):
        x, opt, closure = quadratic_setup(SGD, A, b, lr=lr)
        for _ in range(steps):
            closure()
            opt.step()
        errors.append(relative_error(x.data, x_star))
    return min(errors)


@pytest.fixture(scope="module")
def hard_quadratic():
    A, b, x_star = ill_conditioned_quadratic()
    sgd_error = best_sgd_error(A, b, x_star)
    # SGD's slowest mode contracts by (1 - lr lambda_min) <= 1 - 1e-4 per step: after 1000
    # steps it has barely moved.
    assert sgd_error > 1e-1
    return A, b, x_star


def test_newton_cg_beats_sgd(hard_quadratic):
    """NewtonCG: 1e-8 relative error in 2 steps and <= 80 closure runs; SGD > 1e-1 after 1000."""
    A, b, x_star = hard_quadratic
    x, opt, closure = quadratic_setup(NewtonCG, A, b, cg_iters=60, cg_tol=1e-10)
    for _ in range(2):
        opt.step(closure)
    assert relative_error(x.data, x_star) < 1e-8
    assert opt.state[x]["func_evals"] <= 80


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_beats_sgd(hard_quadratic, line_search_fn):
    """LBFGS: 1e-8 relative error (1e-6 with a line search: the loss's rounding floor) in <= 80
    iterations and <= 120 closure runs (one step with max_iter=80); SGD at its best learning
    rate is still > 1e-1 after 1000 iterations."""
    A, b, x_star = hard_quadratic
    x, opt, closure = quadratic_setup(
        LBFGS, A, b, max_iter=80, max_eval=120, tolerance_grad=0, tolerance_change=0,
        line_search_fn=line_search_fn,
    )  # fmt: skip
    opt.step(closure)
    # NOTE: the strong-Wolfe search compares loss values. x^T A x with entries of A up to 1e4
    # rounds at ~1e-12, which is the loss decrease left at a relative error of ~1e-7, so the
    # search stops there (where exactly depends on the BLAS's summation order: 3.7e-8 with
    # numpy 2.4). Without a line search only gradients are used and 1e-8 is reached.
    assert relative_error(x.data, x_star) < (1e-8 if line_search_fn is None else 1e-6)
    assert opt.state[x]["n_iter"] <= 80 and opt.state[x]["func_evals"] <= 120


# ----- Rosenbrock and logistic regression --------------------------------------------------------


def run_steps(opt, closure, steps):
    for _ in range(steps):
        opt.step(closure)


@pytest.mark.parametrize(
    "opt_cls, kwargs, steps",
    [
        (Newton, {}, 40),
        (NewtonCG, {"line_search_fn": "armijo"}, 40),
        (LBFGS, {"line_search_fn": "strong_wolfe", "max_iter": 100, "tolerance_change": 1e-14}, 1),
        (LBFGS, {"lr": 0.5, "max_iter": 300, "tolerance_change": 1e-14}, 1),
    ],
    ids=["newton", "newton_cg_armijo", "lbfgs_wolfe", "lbfgs_fixed_step"],
)
def test_rosenbrock(opt_cls, kwargs, steps):
    """From (-1.2, 1) to within 1e-6 of (1, 1) in the stated number of steps."""
    x, opt, closure = rosenbrock_setup(opt_cls, **kwargs)
    run_steps(opt, closure, steps)
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    "opt_cls, kwargs, steps",
    [
        (Newton, {}, 8),
        (NewtonCG, {}, 8),
        (LBFGS, {"line_search_fn": "strong_wolfe", "tolerance_change": 1e-14}, 2),
        (LBFGS, {"tolerance_change": 1e-14}, 3),
    ],
    ids=["newton", "newton_cg", "lbfgs_wolfe", "lbfgs_fixed_step"],
)
def test_logistic_regression(opt_cls, kwargs, steps):
    """To within 1e-6 of the IRLS optimum w* in the stated number of steps."""
    (w, c), opt, closure = logreg_setup(opt_cls, **kwargs)
    run_steps(opt, closure, steps)
    np.testing.assert_allclose(logreg_params(w, c), LOGREG_W, atol=1e-6)


# ----- LBFGS against PyTorch's algorithm, transcribed to numpy -----------------------------------


@np.errstate(all="ignore")  # torch gives inf/nan silently on a degenerate cubic
def torch_cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def torch_strong_wolfe(obj, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tol=1e-9, max_ls=25):
    d_norm = np.abs(d).max()
    f_new, g_new = obj(x, t, d)
    evals, gtd_new = 1, g_new @ d
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            br, br_f, br_g, br_gtd = (
                [t_prev, t],
                [f_prev, f_new],
                [g_prev, g_new],
                [gtd_prev, gtd_new],
            )
            break
        if abs(gtd_new) <= -c2 * gtd:
            br, br_f, br_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            br, br_f, br_g, br_gtd = (
                [t_prev, t],
                [f_prev, f_new],
                [g_prev, g_new],
                [gtd_prev, gtd_new],
            )
            break
        tmp = t
        t = torch_cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                    bounds=(t + 0.01 * (t - t_prev), t * 10))  # fmt: skip
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj(x, t, d)
        evals, gtd_new, ls_iter = evals + 1, g_new @ d, ls_iter + 1
    if ls_iter == max_ls:
        br, br_f, br_g = [0, t], [f, f_new], [g, g_new]
    insuf = False
    lo, hi = (0, 1) if br_f[0] <= br_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(br[1] - br[0]) * d_norm < tol:
            break
        t = torch_cubic_interpolate(br[0], br_f[0], br_gtd[0], br[1], br_f[1], br_gtd[1])
        eps = 0.1 * (max(br) - min(br))
        if min(max(br) - t, t - min(br)) < eps:
            if insuf or t >= max(br) or t <= min(br):
                t = max(br) - eps if abs(t - max(br)) < abs(t - min(br)) else min(br) + eps
                insuf = False
            else:
                insuf = True
        else:
            insuf = False
        f_new, g_new = obj(x, t, d)
        evals, gtd_new, ls_iter = evals + 1, g_new @ d, ls_iter + 1
        if f_new > (f + c1 * t * gtd) or f_new >= br_f[lo]:
            br[hi], br_f[hi], br_g[hi], br_gtd[hi] = t, f_new, g_new, gtd_new
            lo, hi = (0, 1) if br_f[0] <= br_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br[hi] - br[lo]) >= 0:
                br[hi], br_f[hi], br_g[hi], br_gtd[hi] = br[lo], br_f[lo], br_g[lo], br_gtd[lo]
            br[lo], br_f[lo], br_g[lo], br_gtd[lo] = t, f_new, g_new, gtd_new
    return br_f[lo], br_g[lo], br[lo], evals


def torch_lbfgs(fg, x, steps, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                tolerance_change=1e-9, history_size=100, line_search_fn=None):  # fmt: skip
    """``torch.optim.LBFGS(...).step(closure)`` called ``steps`` times on ``fg(x) -> (f, g)``;
    the iterate after each step."""
    max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
    x = np.array(x, dtype=float)
    S = {"func_evals": 0, "n_iter": 0}
    out = []
    for _ in range(steps):
        loss, flat_grad = fg(x)
        current_evals = 1
        S["func_evals"] += 1
        if np.abs(flat_grad).max() <= tolerance_grad:
            out.append(x.copy())
            continue
        d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad, prev_loss = (
            S.get(k) for k in ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "pg", "pl")
        )
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            S["n_iter"] += 1
            if S["n_iter"] == 1:
                d, old_dirs, old_stps, ro, H_diag = -flat_grad, [], [], [], 1
            else:
                y, s = flat_grad - prev_flat_grad, d * t
                ys = y @ s
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    H_diag = ys / (y @ y)
                al = [None] * history_size
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = (old_stps[i] @ q) * ro[i]
                    q = q + (-al[i]) * old_dirs[i]
                d = r = q * H_diag
                for i in range(len(old_dirs)):
                    be_i = (old_dirs[i] @ r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad, prev_loss = flat_grad.copy(), loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if S["n_iter"] == 1 else lr
            gtd = flat_grad @ d
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if line_search_fn is not None:

                def obj(x0, t, d):
                    return fg(x0 + t * d)

                loss, flat_grad, t, ls_func_evals = torch_strong_wolfe(
                    obj, x.copy(), t, d, loss, flat_grad, gtd
                )
                x = x + t * d
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                x = x + t * d
                if n_iter != max_iter:
                    loss, flat_grad = fg(x)
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            S["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break
        S.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag)
        S.update(pg=prev_flat_grad, pl=prev_loss)
        out.append(x.copy())
    return out, S


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_iterates_match_pytorchs_algorithm(line_search_fn):
    """Rosenbrock, history_size=3 (so the memory wraps), 6 steps of max_iter=4: the same
    iterates and evaluation counts as the numpy transcription of torch.optim.LBFGS."""
    kwargs = dict(lr=0.5 if line_search_fn is None else 1, max_iter=4, history_size=3,
                  line_search_fn=line_search_fn)  # fmt: skip
    expected, ref_state = torch_lbfgs(lambda v: rosenbrock_numpy(v), [-1.2, 1.0], steps=6, **kwargs)
    x, opt, closure = rosenbrock_setup(LBFGS, **kwargs)
    for want in expected:
        opt.step(closure)
        np.testing.assert_allclose(x.data, want, rtol=1e-9, atol=1e-12)  # rounding only
    state = opt.state[x]
    assert state["func_evals"] == ref_state["func_evals"]
    assert state["n_iter"] == ref_state["n_iter"] >= 18  # several iterations per step
    assert len(state["old_dirs"]) == 3
    assert np.abs(x.data - [-1.2, 1.0]).max() > 0.1  # it moved


def test_lbfgs_first_step_is_scaled_steepest_descent():
    """The first iteration moves by -min(1, 1/|g|_1) lr g."""
    A, b, _ = ill_conditioned_quadratic(n=4, condition=10)
    x0 = np.ones(4)
    x, opt, closure = quadratic_setup(LBFGS, A, b, x0=x0, max_iter=1, lr=0.8)
    opt.step(closure)
    g = A @ x0 - b
    np.testing.assert_allclose(x.data, x0 - min(1, 1 / np.abs(g).sum()) * 0.8 * g, rtol=1e-13)


def test_lbfgs_stops_at_a_small_gradient():
    """tolerance_grad: a step at a point with max |g| <= tolerance_grad evaluates once, moves
    nothing and returns the loss."""
    A, b, x_star = ill_conditioned_quadratic(n=4, condition=10)
    x, opt, closure = quadratic_setup(LBFGS, A, b, x0=x_star.copy(), tolerance_grad=1e-6)
    loss = opt.step(closure)
    np.testing.assert_array_equal(x.data, x_star)
    assert opt.state[x]["func_evals"] == 1 and opt.state[x]["n_iter"] == 0
    assert float(loss) == pytest.approx(-0.5 * b @ x_star, rel=1e-12)


# ----- line searches -----------------------------------------------------------------------------


def test_armijo_shrinks_geometrically_and_holds_at_the_accepted_step():
    """Steps tried: 4, 2, 1, ... (shrink 0.5) until the Armijo condition holds; the one before
    the accepted one fails it."""
    f_np = lambda v: rosenbrock_numpy(v)[0]  # noqa: E731
    x0 = np.array([-1.2, 1.0])
    g = rosenbrock_numpy(x0)[1]
    d = -g
    steps = []

    def phi(v):
        steps.append(float((v - x0) @ d / (d @ d)))
        return f_np(v)

    t, f_new = backtracking_armijo(phi, x0, d, grad=g, step=4.0, c1=1e-4, shrink=0.5)
    f0 = f_np(x0)
    assert steps[0] == 0  # f(x) itself, as f0 was not given
    steps = steps[1:]
    np.testing.assert_allclose(steps, [4.0 * 0.5**k for k in range(len(steps))], rtol=1e-12)
    assert t == pytest.approx(steps[-1], rel=1e-12) and len(steps) > 3
    assert f_new == f_np(x0 + t * d)
    assert f_new <= f0 + 1e-4 * t * (g @ d)
    t_before = 2 * t
    assert f_np(x0 + t_before * d) > f0 + 1e-4 * t_before * (g @ d)


def test_armijo_computes_the_gradient_of_a_minigrad_function():
    """Without grad=, g comes from mg.value_and_grad; f(x) = |x|^2 along -x from (1, 1)."""
    t, f_new = backtracking_armijo(lambda v: (v * v).sum(), np.ones(2), -np.ones(2), step=1.5)
    # t = 1.5 -> (-0.5, -0.5): f = 0.5 <= 2 - 1e-4 * 1.5 * 4, accepted at once.
    assert (t, f_new) == (1.5, pytest.approx(0.5))


def test_armijo_via_a_closure_leaves_the_parameters_at_the_step():
    x, opt, closure = rosenbrock_setup(SGD, lr=0.1)
    x0 = x.data.copy()
    f0, g = rosenbrock_numpy(x0)
    t, f_new = backtracking_armijo(closure, [x], -g)
    np.testing.assert_allclose(x.data, x0 - t * g, rtol=1e-14)
    assert f_new == pytest.approx(rosenbrock_numpy(x.data)[0], rel=1e-14)
    assert f_new <= f0 - 1e-4 * t * (g @ g) and t < 1


def test_armijo_refuses_an_ascent_direction_and_reports_failure():
    f = lambda v: float(v @ v)  # noqa: E731
    with pytest.raises(OptimizerError, match="not a descent direction"):
        backtracking_armijo(f, np.ones(2), np.ones(2), grad=2 * np.ones(2))
    # a descent direction but too few tries to get small enough: no step
    assert backtracking_armijo(f, np.ones(2), -1e6 * np.ones(2), grad=2 * np.ones(2),
                               max_iter=3) == (0.0, 2.0)  # fmt: skip


@pytest.mark.parametrize("t0", [1e-4, 1.0, 50.0], ids=["extrapolate", "unit", "zoom"])
def test_strong_wolfe_conditions_hold_at_the_accepted_step(t0):
    """Rosenbrock along -g from (-1.2, 1): the returned t satisfies sufficient decrease and
    the strong curvature condition, and f_new, g_new are f and g there."""
    x0 = np.array([-1.2, 1.0])
    f0, g0 = rosenbrock_numpy(x0)
    d = -g0 / np.abs(g0).sum()
    gtd = g0 @ d
    f_new, g_new, t, evals = strong_wolfe(
        lambda x, t, d: rosenbrock_numpy(x + t * d), x0, t0, d, f0, g0, gtd
    )
    f_t, g_t = rosenbrock_numpy(x0 + t * d)
    assert f_new == f_t and np.array_equal(g_new, g_t)
    assert f_t <= f0 + 1e-4 * t * gtd
    assert abs(g_t @ d) <= 0.9 * abs(gtd)
    assert 1 <= evals <= 25
    if t0 == 1e-4:  # sufficient decrease but too little: the search had to extrapolate
        assert t > t0 and evals >= 2
    if t0 == 50.0:  # far past the minimum along d: the search had to zoom back
        assert t < t0 and evals >= 2


def wiggly_numpy(v):
    """sin(3x) + cos(2y) + 0.1 |v|^2: many local minima, so the zoom phase is busy."""
    f = np.sin(3 * v[0]) + np.cos(2 * v[1]) + 0.1 * (v @ v)
    return f, np.array([3 * np.cos(3 * v[0]) + 0.2 * v[0], -2 * np.sin(2 * v[1]) + 0.2 * v[1]])


def quartic_numpy(v):
    return (v**4).sum() - 3 * (v**2).sum() + 0.5 * v.sum(), 4 * v**3 - 6 * v + 0.5


def linear_numpy(v):
    """Unbounded below: no bracket is ever found, the search runs out of max_ls."""
    return -v[0] - 0.5 * v[1], np.array([-1.0, -0.5])


@pytest.mark.parametrize("fn", [rosenbrock_numpy, wiggly_numpy, quartic_numpy, linear_numpy])
def test_strong_wolfe_matches_pytorchs_search(fn):
    """300 random starts, directions, first trials (1e-4 .. 1e3) and max_ls (3 .. 25): the same
    (f, g, t, evaluations) as the numpy transcription of PyTorch's _strong_wolfe (this sweep
    reaches its extrapolation, zoom, boundary-safeguard and max_ls branches)."""
    rng = np.random.default_rng(8)
    for _ in range(300):
        x0 = rng.uniform(-2, 2, 2)
        f0, g0 = fn(x0)
        d = -g0 + 0.5 * rng.standard_normal(2) * np.abs(g0).max()
        d = d if g0 @ d < 0 else -g0
        t0, max_ls = 10 ** rng.uniform(-4, 3), int(rng.integers(3, 26))

        def obj(x, t, d):
            return fn(x + t * d)

        got = strong_wolfe(obj, x0, t0, d, f0, g0, g0 @ d, max_ls=max_ls)
        want = torch_strong_wolfe(obj, x0, t0, d, f0, g0, g0 @ d, max_ls=max_ls)
        assert got[0] == want[0] and got[2] == want[2] and got[3] == want[3]
        np.testing.assert_array_equal(got[1], want[1])


def test_cubic_interpolation_finds_the_minimum_of_a_cubic():
    """phi(t) = t^3 - 3t has its local minimum at t = 1; two points with slopes determine it."""
    phi = lambda t: t**3 - 3 * t  # noqa: E731
    dphi = lambda t: 3 * t**2 - 3  # noqa: E731
    t = cubic_interpolate(0.0, phi(0.0), dphi(0.0), 2.0, phi(2.0), dphi(2.0))
    assert t == pytest.approx(1.0, rel=1e-12)
    # clamped to the bounds
    assert cubic_interpolate(0.0, phi(0.0), dphi(0.0), 2.0, phi(2.0), dphi(2.0), (1.5, 3)) == 1.5


# ----- hyperparameters and state dicts -----------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: Newton(p, damping=-1.0), "Invalid damping value: -1.0"),
        (lambda p: Newton(p, lr=-1.0), "Invalid learning rate: -1.0"),
        (lambda p: NewtonCG(p, cg_iters=0), "Invalid cg_iters: 0"),
        (lambda p: NewtonCG(p, line_search_fn="wolfe"), "only 'armijo'"),
        (lambda p: LBFGS(p, line_search_fn="armijo"), "only 'strong_wolfe'"),
        (lambda p: LBFGS(p, history_size=0), "Invalid history_size: 0"),
        (
            lambda p: LBFGS([{"params": p[:1]}, {"params": p[1:]}]),
            "doesn't support per-parameter options",
        ),
        (lambda p: Newton([{"params": p[:1]}, {"params": p[1:]}]), "parameter groups"),
        # kinds and ranges checked by name, not by a TypeError at the first step
        (lambda p: LBFGS(p, max_iter=2.0), "Invalid max_iter: 2.0; max_iter must be an integer"),
        (lambda p: LBFGS(p, history_size=np.int64(3), lr=np.inf), "Invalid learning rate: inf"),
        (lambda p: LBFGS(p, tolerance_grad=np.nan), "Invalid tolerance_grad: nan"),
        (lambda p: Newton(p, damping=np.inf), "Invalid damping value: inf"),
        (lambda p: Newton(p, chunk_size=1.5), "Invalid chunk_size: 1.5"),
        (lambda p: Newton(p, max_retries=-1), "Invalid max_retries: -1"),
        (lambda p: Newton(p, adaptive="no"), "adaptive must be True or False"),
        (lambda p: NewtonCG(p, cg_iters=2.5), "Invalid cg_iters: 2.5"),
        (lambda p: NewtonCG(p, cg_tol=np.inf), "Invalid cg_tol: inf"),
    ],
)
def test_bad_hyperparameters_are_refused(make, message):
    params = [mg.tensor(np.zeros(2), requires_grad=True), mg.tensor(1.0, requires_grad=True)]
    with pytest.raises(OptimizerError, match=message.replace("(", r"\(")):
        make(params)


def test_step_without_a_closure_is_refused():
    x = mg.tensor(np.zeros(2), requires_grad=True)
    for opt in (LBFGS([x]), Newton([x]), NewtonCG([x])):
        with pytest.raises(OptimizerError, match="needs a closure"):
            opt.step(None)


@pytest.mark.parametrize(
    "opt_cls, kwargs",
    [
        (LBFGS, {"max_iter": 3, "history_size": 2}),
        (LBFGS, {"max_iter": 3, "line_search_fn": "strong_wolfe"}),
        (Newton, {}),
        (NewtonCG, {"line_search_fn": "armijo"}),
    ],
    ids=["lbfgs", "lbfgs_wolfe", "newton", "newton_cg"],
)
def test_state_dict_round_trips_through_save_and_load(tmp_path, opt_cls, kwargs):
    """Save after 2 steps, load into a fresh optimizer at the same point: the next 2 steps are
    the same as those of the original."""
    (w, c), opt, closure = logreg_setup(opt_cls, **kwargs)
    run_steps(opt, closure, 2)
    path = tmp_path / "opt.npz"
    mg.save(opt.state_dict(), path)
    at = logreg_params(w, c)
    run_steps(opt, closure, 2)
    expected = logreg_params(w, c)

    (w2, c2), opt2, closure2 = logreg_setup(opt_cls, **kwargs)
    w2.data[:], c2.data[...] = at[:3], at[3]
    opt2.load_state_dict(mg.load(path))
    run_steps(opt2, closure2, 2)
    np.testing.assert_allclose(logreg_params(w2, c2), expected, rtol=1e-13, atol=1e-15)
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]


def test_lbfgs_state_dict_layout_is_pytorchs():
    (w, c), opt, closure = logreg_setup(LBFGS, max_iter=3)
    opt.step(closure)
    sd = opt.state_dict()
    assert list(sd["state"]) == [0]
    assert set(sd["state"][0]) == {
        "func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
        "prev_flat_grad", "prev_loss", "al",
    }  # fmt: skip
    assert sd["state"][0]["d"].shape == (4,) and sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["max_eval"] == 3 * 5 // 4


def test_lbfgs_load_state_dict_checks_the_flat_size():
    (w, c), opt, closure = logreg_setup(LBFGS, max_iter=2)
    opt.step(closure)
    sd = opt.state_dict()
    x = mg.tensor(np.zeros(3), requires_grad=True)
    y = mg.tensor(0.0, requires_grad=True)
    other = LBFGS([x, y])
    bad = {**sd, "state": {0: {**sd["state"][0], "d": np.zeros(7)}}}
    with pytest.raises(OptimizerError, match=r"'d' has shape \(7,\).*\(4,\)"):
        other.load_state_dict(bad)
    assert other.state == {}


@pytest.mark.parametrize("cls", [LBFGS, Newton, NewtonCG], ids=lambda c: c.__name__)
def test_frozen_parameters_are_left_out_of_the_flat_vector(cls):
    """A frozen parameter (requires_grad=False) is not part of x: it does not move, and the
    curvature is taken in the others alone (a bias-only tangent flows through the layer)."""
    generator = mg.Generator(0)
    model = mg.nn.Sequential(
        mg.nn.Linear(2, 2, generator=generator), mg.nn.Linear(2, 1, generator=generator)
    )
    model[0].weight.requires_grad_(False)
    frozen, bias = model[0].weight.data.copy(), model[0].bias.data.copy()
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 2)))
    opt = cls(model.parameters(), lr=0.5)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - 1.0) ** 2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert not np.array_equal(model[0].bias.data, bias)  # the rest of the layer trained
