"""NAdam, RAdam and Adamax follow PyTorch's update rules.

Each rule is written again below in numpy from its published formula (as in PyTorch's
documentation) and run side by side with minigrad for 40 steps, on a quadratic and on a small
network, over every option that changes the rule (1e-12 relative). PyTorch's own trajectories
(PyTorch 2.13, float64) are written in for a few settings. Then: defaults, state (names, what a
state dict holds, a resumed run through ``mg.save``), refused hyperparameters, the schedules that
cycle beta1, and convergence on a logistic regression.
"""

import itertools
import math
import re

import numpy as np
import pytest
from optim_problems import assert_float32_kept, backward_grads, network

import minigrad as mg
from minigrad import nn
from minigrad.optim import Adamax, NAdam, OptimizerError, RAdam
from minigrad.optim.lr_scheduler import CyclicLR, OneCycleLR

STEPS = 40

# ----- reference rules, from the formulas -----------------------------------------------------
# Each takes the parameter p, its gradient g and a dict s of its own state; returns the new p.


def decay(p, g, s, lr, weight_decay, maximize, decoupled):
    """(p, g) after weight decay: coupled adds wd * p to g, decoupled shrinks p."""
    g = -g if maximize else g
    if decoupled:
        return p * (1 - lr * weight_decay), g
    return p, g + weight_decay * p


def nadam_ref(p, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):  # fmt: skip
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    p, g = decay(p, g, s, lr, weight_decay, maximize, decoupled_weight_decay)
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    prod = s["prod"] = s.get("prod", 1.0) * mu
    m = s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    v = s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g**2
    denom = np.sqrt(v / (1 - beta2**t)) + eps
    return (
        p - lr * (1 - mu) / (1 - prod) * g / denom - lr * mu_next / (1 - prod * mu_next) * m / denom
    )


def radam_ref(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled_weight_decay=False, maximize=False):  # fmt: skip
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    p, g = decay(p, g, s, lr, weight_decay, maximize, decoupled_weight_decay)
    m = s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    v = s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho <= 5:
        return p - lr * m_hat
    r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return p - lr * m_hat * r * math.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)


def adamax_ref(p, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    p, g = decay(p, g, s, lr, weight_decay, maximize, False)
    m = s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    u = s["u"] = np.maximum(beta2 * s.get("u", 0.0), np.abs(g) + eps)
    return p - lr / (1 - beta1**t) * m / u


REFERENCE = {NAdam: nadam_ref, RAdam: radam_ref, Adamax: adamax_ref}


def grid(**options):
    return [dict(zip(options, values)) for values in itertools.product(*options.values())]


WD, FLAGS = [0.0, 0.1], [False, True]
RULES = (
    [(NAdam, dict(lr=0.05, **o)) for o in grid(betas=[(0.9, 0.999), (0.8, 0.95)],
                                               momentum_decay=[4e-3, 0.1], weight_decay=WD,
                                               decoupled_weight_decay=FLAGS, maximize=FLAGS)]
    + [(RAdam, dict(lr=0.05, **o)) for o in grid(betas=[(0.9, 0.999), (0.8, 0.9), (0.5, 0.0)],
                                                 weight_decay=WD, decoupled_weight_decay=FLAGS,
                                                 maximize=FLAGS)]
    + [(Adamax, dict(lr=0.05, **o)) for o in grid(betas=[(0.9, 0.999), (0.0, 0.5)],
                                                  eps=[1e-8, 0.1], weight_decay=WD,
                                                  maximize=FLAGS)]
)  # fmt: skip


def rule_id(rule) -> str:
    cls, hp = rule
    return f"{cls.__name__}({', '.join(f'{k}={v}' for k, v in hp.items())})"


def assert_same(actual, expected, what=""):
    """Equal to 1e-12 relative (1e-13 absolute where a parameter crosses 0)."""
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-13, err_msg=what)


def far_quadratic():
    """``0.5 sum a (p - m)^2`` with its minimum far from p0, so 50 steps never reach it (near a
    minimum the sign-like steps of these rules turn chaotic and amplify rounding)."""
    return np.array([1.0, 4.0, 0.25]), np.array([10.0, -10.0, 5.0]), np.array([0.5, -1.5, 2.0])


# ----- each rule against its reference and against PyTorch ----------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_rule_on_quadratic(rule):
    cls, hp = rule
    a, m, p0 = far_quadratic()
    p = mg.tensor(p0, requires_grad=True)
    opt = cls([p], **hp)
    ref, s = p0.copy(), {}
    for step in range(STEPS):
        opt.zero_grad()
        (0.5 * (mg.tensor(a) * (p - mg.tensor(m)) ** 2).sum()).backward()
        opt.step()
        ref = REFERENCE[cls](ref, a * (ref - m), s, **hp)
        assert_same(p.data, ref, f"step {step + 1}")
    assert np.abs(p.data - p0).max() > 0.1


@pytest.mark.parametrize("rule", RULES[::3], ids=rule_id)
def test_rule_on_network(rule):
    """Every parameter of a 2-layer network follows the formula fed the same gradients."""
    cls, hp = rule
    hp = {**hp, "lr": 0.01}
    model, loss_fn = network()
    params = list(model.parameters())
    opt = cls(params, **hp)
    refs = [np.array(p.data, copy=True) for p in params]
    states = [{} for _ in params]
    for step in range(STEPS):
        grads = backward_grads(params, loss_fn)
        opt.step()
        refs = [REFERENCE[cls](r, g, s, **hp) for r, g, s in zip(refs, grads, states)]
        for p, r in zip(params, refs):
            assert_same(p.data, r, f"step {step + 1}")


# fmt: off
PYTORCH_PATHS = [  # (optimizer, hyperparameters, p after 10, 25 and 50 steps)
    ('NAdam', {'lr': 0.05}, [[0.9011303032170985, -1.900795292650849, 2.3948051890034723],
        [1.5748154753704153, -2.572024487204577, 3.020355026865115], [2.7147159693308374,
        -3.6997804877496425, 3.9135510774489792]]),
    ('NAdam', {'lr': 0.05, 'betas': (0.8, 0.95), 'weight_decay': 0.1, 'momentum_decay': 0.01},
        [[0.9555520997446643, -1.9553949628380443, 2.436889677666008], [1.672687646980808,
        -2.6714788545188806, 3.0117026164048695], [2.8333952161591918, -3.8280978220938366,
        3.5111995882506983]]),
    ('NAdam', {'lr': 0.05, 'weight_decay': 0.1, 'decoupled_weight_decay': True, 'maximize':
        True}, [[0.0778912095483671, -1.0283074438805482, 1.4972453221480537], [-0.6167252951747314,
        -0.2606791150483704, 0.656912525903891], [-1.7853564276304124, 1.0267836267992048,
        -0.8129922765718882]]),
    ('RAdam', {'lr': 0.05}, [[2.757524930812469, -8.293072735829071, 2.194430025011733],
        [2.8139456745152516, -8.330049382241755, 2.2522163581263155], [2.9666293461803175,
        -8.432601871583465, 2.4061391642636414]]),
    ('RAdam', {'lr': 0.05, 'betas': (0.8, 0.9), 'weight_decay': 0.1}, [[2.8052209380310646,
        -8.151094189158677, 2.229483214863553], [3.3296711683929825, -8.530368698413147,
        2.738918324340947], [4.459340338946528, -9.39717765469292, 3.5359088297043497]]),
    ('RAdam', {'lr': 0.05, 'weight_decay': 0.1, 'decoupled_weight_decay': True, 'maximize':
        True}, [[-1.9551136149808632, 8.724830590285764, 1.7085441310441896], [-1.870992838654806,
        8.151514137722765, 1.527413784513319], [-1.800918033889718, 7.342348590030166,
        1.192518604218054]]),
    ('Adamax', {'lr': 0.05}, [[0.9954629600599324, -1.99466855149762, 2.481001216094865],
        [1.7135941736309857, -2.707662073021403, 3.1086175242556746], [2.8218809158410143,
        -3.7951681023806842, 3.8781373003555184]]),
    ('Adamax', {'lr': 0.05, 'betas': (0.5, 0.9), 'eps': 0.5, 'weight_decay': 0.1, 'maximize':
        True}, [[0.025919520215137493, -1.0089897020841614, 1.6710472890497856],
        [-0.6862980130630967, -0.27267369084490806, 1.1679394073875422], [-1.8779177497114459,
        0.9565865560392829, 0.30396863088684206]]),
]
# fmt: on


@pytest.mark.parametrize("cls_name, hp, marks", PYTORCH_PATHS,
                         ids=[f"{c}{h}" for c, h, _ in PYTORCH_PATHS])  # fmt: skip
def test_trajectory_is_pytorchs(cls_name, hp, marks):
    """50 steps on the far quadratic: the parameters after 10, 25 and 50 steps are PyTorch's."""
    a, m, p0 = far_quadratic()
    p = mg.tensor(p0, requires_grad=True)
    opt = getattr(mg.optim, cls_name)([p], **hp)
    got = []
    for step in range(1, 51):
        opt.zero_grad()
        (0.5 * (mg.tensor(a) * (p - mg.tensor(m)) ** 2).sum()).backward()
        opt.step()
        if step in (10, 25, 50):
            got.append(p.data.copy())
    np.testing.assert_allclose(got, marks, rtol=1e-12)


def test_radam_takes_momentum_steps_until_the_variance_is_tractable():
    """With beta2 = 0.999, rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t) passes 5 only at t = 6:
    the first five steps are lr * m_hat (the first one lr * g), the sixth is rectified."""
    beta2 = 0.999
    rho_inf = 2 / (1 - beta2) - 1
    rho = [rho_inf - 2 * t * beta2**t / (1 - beta2**t) for t in range(1, 8)]
    assert [r > 5 for r in rho] == [False] * 5 + [True] * 2
    w = mg.tensor([1.0, -2.0], requires_grad=True)
    opt = RAdam([w], lr=0.1)
    w.grad = mg.tensor([3.0, 0.5])
    opt.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.3, -2.0 - 0.05], rtol=1e-15)


def test_adamax_steps_are_at_most_lr_over_the_bias_correction():
    """|m| <= u, so each step is at most lr / (1 - beta1^t); a constant gradient c gives m =
    (1 - beta1^t) c and u = |c| + eps: exactly lr sign(c) (up to eps)."""
    w = mg.tensor([0.0, 0.0], requires_grad=True)
    opt = Adamax([w], lr=0.01, eps=0.0)
    for t in range(1, 6):
        w.grad = mg.tensor([2.0, -0.001])
        opt.step()
        np.testing.assert_allclose(w.data, [-0.01 * t, 0.01 * t], rtol=1e-13)


# ----- defaults, state, groups ---------------------------------------------------------------------

PYTORCH_DEFAULTS = {
    NAdam: dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                decoupled_weight_decay=False, maximize=False),
    RAdam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                decoupled_weight_decay=False, maximize=False),
    Adamax: dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False),
}  # fmt: skip


@pytest.mark.parametrize("cls", list(PYTORCH_DEFAULTS), ids=lambda c: c.__name__)
def test_defaults_are_pytorchs(cls):
    group = cls([mg.tensor([1.0], requires_grad=True)]).param_groups[0]
    assert {k: v for k, v in group.items() if k != "params"} == PYTORCH_DEFAULTS[cls]


@pytest.mark.parametrize(
    "cls, keys",
    [(NAdam, {"step", "mu_product", "exp_avg", "exp_avg_sq"}),
     (RAdam, {"step", "exp_avg", "exp_avg_sq"}),
     (Adamax, {"step", "exp_avg", "exp_inf"})],
    ids=["NAdam", "RAdam", "Adamax"],
)  # fmt: skip
def test_state_has_pytorchs_names(cls, keys):
    model, loss_fn = network()
    params = list(model.parameters())
    opt = cls(params, lr=0.01)
    for _ in range(3):
        backward_grads(params, loss_fn)
        opt.step()
    state = opt.state_dict()["state"]
    for i, p in enumerate(params):
        assert set(state[i]) == keys and state[i]["step"] == 3
        assert all(state[i][k].shape == p.shape for k in keys - {"step", "mu_product"})
    if cls is NAdam:  # mu_1 mu_2 mu_3
        mus = [0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in (1, 2, 3)]
        assert state[0]["mu_product"] == pytest.approx(math.prod(mus), rel=1e-15)


@pytest.mark.parametrize("cls", [NAdam, RAdam, Adamax], ids=lambda c: c.__name__)
def test_groups_state_dict_and_resume_through_save(cls, tmp_path):
    """Two groups with their own settings; 10 steps, save, 3 more, load into a fresh optimizer
    (built with another lr) and model, 10 more: exactly the uninterrupted 20-step run."""
    override = dict(lr=0.02, betas=(0.5, 0.9), weight_decay=0.1)

    def build(seed=0):
        model, loss_fn = network(seed)
        first, second = list(model[0].parameters()), list(model[2].parameters())
        return model, loss_fn, cls([{"params": first}, {"params": second, **override}], lr=0.01)

    model, loss_fn, opt = build()
    for _ in range(20):
        backward_grads(list(model.parameters()), loss_fn)
        opt.step()
    expected = [p.data.copy() for p in model.parameters()]

    model, loss_fn, opt = build()
    for step in range(13):
        if step == 10:
            mg.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "c.npz")
        backward_grads(list(model.parameters()), loss_fn)
        opt.step()
    checkpoint = mg.load(tmp_path / "c.npz")
    model, loss_fn, opt = build(seed=5)
    opt.param_groups[0]["lr"] = 9.0
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optim"])
    assert opt.param_groups[0]["lr"] == 0.01 and opt.param_groups[1]["betas"] == (0.5, 0.9)
    for _ in range(10):
        backward_grads(list(model.parameters()), loss_fn)
        opt.step()
    for p, e in zip(model.parameters(), expected):
        np.testing.assert_array_equal(p.data, e)


def test_float32_parameters_stay_float32():
    for cls in (NAdam, RAdam, Adamax):  # 8 steps: RAdam's rectified steps start at step 6
        assert_float32_kept(cls, dict(lr=0.01, weight_decay=0.1), steps=8)


# ----- refused hyperparameters -------------------------------------------------------------------

BAD = [
    (NAdam, dict(lr=-1), "NAdam: Invalid learning rate: -1"),
    (NAdam, dict(betas=(1.0, 0.999)), "NAdam: Invalid beta parameter at index 0: 1.0"),
    (NAdam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (NAdam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (NAdam, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (NAdam, dict(momentum_decay=-4e-3), "NAdam: Invalid momentum_decay value: -0.004"),
    (NAdam, dict(momentum_decay=math.inf), "Invalid momentum_decay value: inf"),
    (NAdam, dict(decoupled_weight_decay="yes"), "decoupled_weight_decay must be True or False"),
    (NAdam, dict(betas=0.9), "NAdam: betas must be a pair (beta1, beta2) of numbers in [0, 1)"),
    (RAdam, dict(lr=math.nan), "RAdam: Invalid learning rate: nan"),
    (RAdam, dict(betas=(0.9, 1.0)), "RAdam: Invalid beta parameter at index 1: 1.0"),
    (RAdam, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (RAdam, dict(decoupled_weight_decay=None), "decoupled_weight_decay must be True or False"),
    (Adamax, dict(lr=-0.5), "Adamax: Invalid learning rate: -0.5"),
    (Adamax, dict(betas=(-0.5, 0.9)), "Adamax: Invalid beta parameter at index 0: -0.5"),
    (Adamax, dict(eps=-1), "Invalid epsilon value: -1"),
    (Adamax, dict(weight_decay=math.inf), "Invalid weight_decay value: inf"),
]


@pytest.mark.parametrize("cls, hp, message", BAD, ids=[m for *_, m in BAD])
def test_bad_hyperparameters_are_refused(cls, hp, message):
    a, b = mg.tensor([1.0], requires_grad=True), mg.tensor([2.0], requires_grad=True)
    with pytest.raises(OptimizerError, match=re.escape(message)):
        cls([a], **hp)
    opt = cls([a])
    with pytest.raises(OptimizerError, match=re.escape(message)):
        opt.add_param_group({"params": [b], **hp})
    assert len(opt.param_groups) == 1


# ----- with the schedules -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [NAdam, RAdam, Adamax], ids=lambda c: c.__name__)
def test_schedules_set_lr_and_cycle_beta1(cls):
    """CyclicLR (and OneCycleLR) move the rate and beta1 of these optimizers (they have betas);
    each step then uses the values in force, as the reference fed the same sequence shows."""
    a, m, p0 = far_quadratic()
    p = mg.tensor(p0, requires_grad=True)
    opt = cls([p], lr=1.0, betas=(0.9, 0.99))
    sched = CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3, base_momentum=0.7)
    ref, s, used = p0.copy(), {}, []
    for _ in range(12):
        group = opt.param_groups[0]
        used.append((group["lr"], group["betas"][0]))
        hp = {k: v for k, v in group.items() if k not in ("params", "initial_lr", "max_momentum",
                                                           "base_momentum")}  # fmt: skip
        opt.zero_grad()
        (0.5 * (mg.tensor(a) * (p - mg.tensor(m)) ** 2).sum()).backward()
        opt.step()
        ref = REFERENCE[cls](ref, a * (ref - m), s, **hp)
        sched.step()
    assert_same(p.data, ref)
    lrs, beta1s = zip(*used)
    np.testing.assert_allclose(lrs[:7], [0.01, 0.04, 0.07, 0.1, 0.07, 0.04, 0.01], rtol=1e-12)
    np.testing.assert_allclose(beta1s[:4], [0.9, 0.8333333333333334, 0.7666666666666667, 0.7])
    assert opt.param_groups[0]["betas"][1] == 0.99
    one_cycle = OneCycleLR(cls([mg.tensor([1.0], requires_grad=True)]), max_lr=0.1, total_steps=10)
    assert one_cycle.optimizer.param_groups[0]["betas"] == (0.95, 0.999)


@pytest.mark.parametrize("cls, hp, budget, tol",
                         [(NAdam, dict(lr=0.05), 300, 1e-6), (RAdam, dict(lr=0.2), 300, 1e-6),
                          (Adamax, dict(lr=0.1), 300, 1e-6)],
                         ids=["NAdam", "RAdam", "Adamax"])  # fmt: skip
def test_logistic_regression_converges(cls, hp, budget, tol):
    """From w = 0, the mean log-loss of 200 noisy labels comes within ``tol`` of the optimum
    (found by Newton's method in numpy)."""
    rng = np.random.default_rng(3)
    n, d = 200, 6
    X = np.hstack([rng.normal(size=(n, d - 1)), np.ones((n, 1))])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.normal(size=d)))).astype(float)

    def loss(w):
        return np.mean(np.logaddexp(0, X @ w) - y * (X @ w))

    w_star = np.zeros(d)
    for _ in range(30):
        s = 1 / (1 + np.exp(-X @ w_star))
        w_star -= np.linalg.solve(X.T @ (X * (s * (1 - s))[:, None]) / n, X.T @ (s - y) / n)
    w = mg.tensor(np.zeros(d), requires_grad=True)
    opt = cls([w], **hp)
    for _ in range(budget):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(mg.tensor(X) @ w, mg.tensor(y)).backward()
        opt.step()
    assert loss(w.data) - loss(w_star) < tol
