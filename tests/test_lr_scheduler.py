"""Learning-rate schedules (``minigrad.optim.lr_scheduler``) against PyTorch's documented formulas.

Every schedule's rates over many steps are compared with the closed form written here from the
PyTorch documentation, ``t`` the step count and ``base`` the group's initial rate; per-group
rates, chaining, state dicts (through ``mg.save``) and ReduceLROnPlateau's patience, cooldown
and thresholds are checked on hand-worked sequences.
"""

import copy
import math
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import SGD, Optimizer, OptimizerError
from minigrad.optim.lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    StepLR,
)

BASES = (0.1, 0.03)  # two parameter groups with their own rates


def make_sgd(lrs=BASES, **hyper):
    """SGD over one parameter per group, group ``i`` with rate ``lrs[i]``."""
    groups = [{"params": [mg.tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return SGD(groups, lr=1.0, **hyper)


class WithBetas(Optimizer):
    """An optimizer with Adam's ``betas`` hyperparameter (enough for OneCycleLR to cycle it)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999)):
        super().__init__(params, dict(lr=lr, betas=betas))


def rates(scheduler, steps):
    """The rates of every group at t = 0 (after construction), 1, ..., steps: (steps + 1, groups)."""
    out = [scheduler.get_last_lr()]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr())
    return np.array(out)


def expected(formula, steps, bases=BASES):
    """``formula(t, base)`` for t = 0..steps and every group, shape (steps + 1, groups)."""
    return np.array([[formula(t, base) for base in bases] for t in range(steps + 1)])


# ----- each schedule against its closed form ----------------------------------------------------


def test_step_lr_matches_closed_form():
    """StepLR: base * gamma ** (t // step_size)."""
    sched = StepLR(make_sgd(), step_size=3, gamma=0.5)
    np.testing.assert_allclose(
        rates(sched, 20), expected(lambda t, b: b * 0.5 ** (t // 3), 20), rtol=1e-14
    )


def test_multistep_lr_matches_closed_form_with_repeated_milestone():
    """MultiStepLR: base * gamma ** (number of milestones <= t); a repeated milestone counts twice."""
    milestones = [3, 7, 7, 12]
    sched = MultiStepLR(make_sgd(), milestones=milestones, gamma=0.1)
    formula = lambda t, b: b * 0.1 ** sum(m <= t for m in milestones)  # noqa: E731
    np.testing.assert_allclose(rates(sched, 20), expected(formula, 20), rtol=1e-13)


def test_exponential_lr_matches_closed_form():
    """ExponentialLR: base * gamma ** t."""
    sched = ExponentialLR(make_sgd(), gamma=0.9)
    np.testing.assert_allclose(rates(sched, 30), expected(lambda t, b: b * 0.9**t, 30), rtol=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.001])
def test_cosine_annealing_matches_closed_form_past_t_max(eta_min):
    """CosineAnnealingLR: eta_min + (base - eta_min) * (1 + cos(pi t / T_max)) / 2, over two
    periods (it climbs back to base at 2 T_max, as PyTorch's)."""
    T_max = 7
    sched = CosineAnnealingLR(make_sgd(), T_max=T_max, eta_min=eta_min)
    formula = lambda t, b: eta_min + (b - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2  # noqa: E731
    got = rates(sched, 4 * T_max)
    np.testing.assert_allclose(got, expected(formula, 4 * T_max), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(got[T_max], [eta_min, eta_min], atol=1e-15)
    np.testing.assert_allclose(got[2 * T_max], BASES, rtol=1e-12)


@pytest.mark.parametrize(
    "start_factor, end_factor, total_iters",
    [(1 / 3, 1.0, 5), (0.1, 1.0, 10), (1.0, 0.2, 4), (0.5, 0.0, 3)],
    ids=["default warm-up", "long warm-up", "decay", "decay to zero"],
)
def test_linear_lr_matches_closed_form(start_factor, end_factor, total_iters):
    """LinearLR: base * (a + (b - a) * min(t, n) / n), constant after n steps."""
    sched = LinearLR(make_sgd(), start_factor, end_factor, total_iters)
    a, b, n = start_factor, end_factor, total_iters

    def formula(t, base):
        return base * (a + (b - a) * min(t, n) / n)

    np.testing.assert_allclose(rates(sched, 15), expected(formula, 15), rtol=1e-12, atol=1e-15)


def test_lambda_lr_one_function_per_group():
    """LambdaLR: base * lr_lambda(t), with a different function for each group."""
    fns = [lambda t: 0.95**t * (t + 1), lambda t: 1.0 / (1 + t)]
    sched = LambdaLR(make_sgd(), lr_lambda=fns)
    want = np.array([[BASES[0] * fns[0](t), BASES[1] * fns[1](t)] for t in range(13)])
    np.testing.assert_allclose(rates(sched, 12), want, rtol=1e-14)


def test_lambda_lr_one_function_for_all_groups():
    sched = LambdaLR(make_sgd(), lr_lambda=lambda t: 2.0**-t)
    np.testing.assert_allclose(rates(sched, 6), expected(lambda t, b: b * 2.0**-t, 6), rtol=1e-15)


# ----- OneCycleLR ----------------------------------------------------------------------------------


def one_cycle(t, total, max_lr, pct_start, strategy, three_phase, low=0.85, high=0.95):
    """PyTorch's 1cycle policy at step t: (lr, momentum), div_factor 25, final_div_factor 1e4."""
    initial = max_lr / 25
    final = initial / 1e4
    up = pct_start * total - 1
    if three_phase:
        phases = [
            (up, initial, max_lr, high, low),
            (2 * pct_start * total - 2, max_lr, initial, low, high),
            (total - 1, initial, final, high, high),
        ]
    else:
        phases = [(up, initial, max_lr, high, low), (total - 1, max_lr, final, low, high)]

    def anneal(a, b, pct):
        if strategy == "cos":
            return b + (a - b) * (1 + math.cos(math.pi * pct)) / 2
        return a + (b - a) * pct

    start = 0.0
    for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            pct = (t - start) / (end - start)
            return anneal(lr0, lr1, pct), anneal(m0, m1, pct)
        start = end


@pytest.mark.parametrize("three_phase", [False, True], ids=["two-phase", "three-phase"])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_rates_and_momentum(strategy, three_phase):
    """Rates and SGD momentum over the whole cycle, per group (max_lr a list)."""
    total, max_lrs = 40, [1.0, 0.2]
    opt = make_sgd(momentum=0.9)
    sched = OneCycleLR(
        opt, max_lr=max_lrs, total_steps=total, anneal_strategy=strategy, three_phase=three_phase
    )
    got_lr, got_momentum = [], []
    for t in range(total):
        got_lr.append(sched.get_last_lr())
        got_momentum.append([g["momentum"] for g in opt.param_groups])
        if t < total - 1:
            opt.step()
            sched.step()
    want = [
        [one_cycle(t, total, m, 0.3, strategy, three_phase) for m in max_lrs] for t in range(total)
    ]
    np.testing.assert_allclose(got_lr, [[w[0] for w in row] for row in want], rtol=1e-12)
    np.testing.assert_allclose(got_momentum, [[w[1] for w in row] for row in want], rtol=1e-12)


def test_one_cycle_landmarks():
    """Starts at max_lr / div_factor, peaks at max_lr after pct_start of the steps, ends at
    initial / final_div_factor; momentum goes the other way (0.95 -> 0.85 -> 0.95)."""
    opt = make_sgd(lrs=(0.5,), momentum=0.9)
    sched = OneCycleLR(opt, max_lr=2.0, epochs=5, steps_per_epoch=20, div_factor=10.0)
    assert sched.total_steps == 100
    lrs, momenta = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(99):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
    peak = int(np.argmax(lrs))
    assert peak == 29  # pct_start * total_steps - 1
    np.testing.assert_allclose([lrs[0], lrs[peak], lrs[-1]], [0.2, 2.0, 0.2 / 1e4], rtol=1e-9)
    np.testing.assert_allclose([momenta[0], momenta[peak], momenta[-1]], [0.95, 0.85, 0.95])
    assert np.all(np.diff(lrs[: peak + 1]) > 0) and np.all(np.diff(lrs[peak:]) < 0)
    assert opt.param_groups[0]["initial_lr"] == pytest.approx(0.2)


def test_one_cycle_cycles_beta1_and_keeps_beta2():
    opt = WithBetas([mg.tensor([1.0], requires_grad=True)], lr=0.1, betas=(0.9, 0.99))
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=20)
    for t in range(1, 20):
        sched.step()
        beta1, beta2 = opt.param_groups[0]["betas"]
        assert beta1 == pytest.approx(one_cycle(t, 20, 1.0, 0.3, "cos", False)[1], rel=1e-12)
        assert beta2 == 0.99


def test_one_cycle_refuses_to_step_past_total_steps():
    sched = OneCycleLR(make_sgd(momentum=0.9), max_lr=1.0, total_steps=5)
    for _ in range(5):
        sched.step()
    with pytest.raises(OptimizerError, match="total steps is 5"):
        sched.step()


def test_one_cycle_needs_momentum_or_cycle_momentum_false():
    opt = Optimizer([mg.tensor([1.0], requires_grad=True)], dict(lr=0.1))
    with pytest.raises(OptimizerError, match="cycle_momentum=False"):
        OneCycleLR(opt, max_lr=1.0, total_steps=10)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)
    assert sched.get_last_lr() == [pytest.approx(1.0 / 25)]


# ----- composition with the optimizer ----------------------------------------------------------


def test_chained_schedulers_multiply():
    """Two schedulers on one optimizer compose (chainable forms): warm-up times decay."""
    opt = make_sgd()
    warm = LinearLR(opt, start_factor=0.25, total_iters=4)
    decay = ExponentialLR(opt, gamma=0.8)
    got = [[g["lr"] for g in opt.param_groups]]
    for _ in range(10):
        warm.step()
        decay.step()
        got.append([g["lr"] for g in opt.param_groups])
    formula = lambda t, b: b * (0.25 + 0.75 * min(t, 4) / 4) * 0.8**t  # noqa: E731
    np.testing.assert_allclose(got, expected(formula, 10), rtol=1e-12)


def test_sgd_uses_the_scheduled_rate():
    """Loss = sum(w) (gradient 1): after each step, w has moved by minus the rate then in force."""
    w = mg.tensor(np.zeros(3), requires_grad=True)
    opt = SGD([w], lr=0.4)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    used = []
    for _ in range(6):
        opt.zero_grad()
        w.sum().backward()
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert used == [0.4, 0.4, 0.2, 0.2, 0.1, 0.1]
    np.testing.assert_allclose(w.numpy(), np.full(3, -1.4), rtol=1e-14)


def test_initial_lr_and_base_lrs_per_group():
    opt = make_sgd()
    sched = ExponentialLR(opt, gamma=0.5)
    assert sched.base_lrs == list(BASES)
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASES)
    sched.step()
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASES)  # untouched by steps
    assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    assert sched.last_epoch == 1


def test_resuming_needs_initial_lr():
    with pytest.raises(OptimizerError, match="initial_lr"):
        StepLR(make_sgd(), step_size=2, last_epoch=3)


def test_resuming_cosine_from_a_given_epoch_uses_the_closed_form():
    """A scheduler built with last_epoch=k on an optimizer that holds initial_lr starts at k + 1."""
    opt = make_sgd()
    CosineAnnealingLR(opt, T_max=10)  # sets initial_lr
    sched = CosineAnnealingLR(opt, T_max=10, last_epoch=4)
    assert sched.last_epoch == 5
    want = [b * (1 + math.cos(math.pi * 5 / 10)) / 2 for b in BASES]
    np.testing.assert_allclose(sched.get_last_lr(), want, rtol=1e-12)


# ----- state dicts -----------------------------------------------------------------------------

SCHEDULES = {
    "StepLR": lambda opt: StepLR(opt, step_size=3, gamma=0.5),
    "MultiStepLR": lambda opt: MultiStepLR(opt, milestones=[2, 6, 6], gamma=0.3),
    "ExponentialLR": lambda opt: ExponentialLR(opt, gamma=0.9),
    "CosineAnnealingLR": lambda opt: CosineAnnealingLR(opt, T_max=5, eta_min=0.001),
    "LinearLR": lambda opt: LinearLR(opt, start_factor=0.2, total_iters=8),
    "LambdaLR": lambda opt: LambdaLR(opt, lambda t: 1 / (1 + t)),
    "OneCycleLR": lambda opt: OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=20, three_phase=True),
    "ReduceLROnPlateau": lambda opt: ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5),
    "PolynomialLR": lambda opt: PolynomialLR(opt, total_iters=12, power=2.0),
    "CosineAnnealingWarmRestarts": lambda opt: CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2),
    "CyclicLR": lambda opt: CyclicLR(opt, [0.01, 0.005], 0.1, step_size_up=3, mode="triangular2"),
}


def advance(sched, steps, start):
    """Step ``steps`` times (a fixed metric sequence for ReduceLROnPlateau); the rates after each."""
    out = []
    for t in range(start, start + steps):
        sched.optimizer.step()
        if isinstance(sched, ReduceLROnPlateau):
            sched.step(1.0 / (1 + t % 3))  # improves, then stalls: reductions and cooldowns
        else:
            sched.step()
        out.append(sched.get_last_lr())
    return out


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_state_dict_round_trip_through_save(name, tmp_path):
    """Save optimizer + scheduler mid-schedule, load into fresh ones: the rest of the schedule is
    the same as the uninterrupted one."""
    opt = make_sgd(momentum=0.9)
    sched = SCHEDULES[name](opt)
    advance(sched, 7, 0)
    mg.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ck.npz")
    uninterrupted = advance(sched, 10, 7)

    opt2 = make_sgd(lrs=(5.0, 5.0), momentum=0.9)
    sched2 = SCHEDULES[name](opt2)
    checkpoint = mg.load(tmp_path / "ck.npz")
    opt2.load_state_dict(checkpoint["optimizer"])
    sched2.load_state_dict(checkpoint["scheduler"])
    assert sched2.last_epoch == 7
    resumed = advance(sched2, 10, 7)
    np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-14)


def test_state_dict_excludes_the_optimizer_and_copies_values():
    sched = StepLR(make_sgd(), step_size=2)
    state = sched.state_dict()
    assert "optimizer" not in state
    assert state["last_epoch"] == 0 and state["step_size"] == 2 and state["base_lrs"] == list(BASES)


def test_lambda_lr_state_dict_saves_callable_objects_not_functions():
    """Plain functions are stored as None; a callable object's attributes are saved and restored."""

    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, t):
            return self.rate**t

    opt = make_sgd()
    sched = LambdaLR(opt, [Decay(0.5), lambda t: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    other = LambdaLR(make_sgd(), [Decay(0.9), lambda t: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5


def scheduler_snapshot(sched):
    """Copies of everything a scheduler and its optimizer's groups hold (functions by identity)."""
    own = {k: v for k, v in vars(sched).items() if k != "optimizer"}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in sched.optimizer.param_groups]
    return copy.deepcopy(own), copy.deepcopy(groups), sched.optimizer


def valid_state(name):
    opt = make_sgd(momentum=0.9)
    sched = SCHEDULES[name](opt)
    advance(sched, 4, 0)
    return sched.state_dict()


# (a schedule, what to load into it, the error's words); each must be refused and change nothing.
COMMON_SPOILS = [
    ({"optimizer": None, "get_lr": None}, "unknown keys ['get_lr', 'optimizer']"),
    ({"last_epoch": "3"}, "Invalid last_epoch: '3'"),
    ({"last_epoch": 2.5}, "last_epoch must be an integer"),
    ({"_last_lr": [0.1]}, "_last_lr must be a list of 2 numbers"),
    ({"_last_lr": [-0.1, 0.1]}, "Invalid _last_lr[0]: -0.1"),
]
OWN_SPOILS = [
    ("StepLR", {"step_size": "two"}, "Invalid step_size: 'two'"),  # failed at the next step
    ("StepLR", {"gamma": -1.0}, "Invalid gamma: -1.0"),
    ("StepLR", {"base_lrs": [0.1, math.inf]}, "Invalid base_lrs[1]: inf"),
    ("MultiStepLR", {"milestones": {2.5: 1}}, "milestones must be integers >= 0"),
    ("MultiStepLR", {"milestones": {3: 0}}, "(counted 0 times)"),
    ("ExponentialLR", {"gamma": -1}, "Invalid gamma: -1"),
    ("ExponentialLR", {"step_size": 3}, "unknown keys ['step_size']"),  # StepLR's
    ("CosineAnnealingLR", {"T_max": 0}, "Invalid T_max: 0"),
    ("CosineAnnealingLR", {"eta_min": math.inf}, "Invalid eta_min: inf"),
    ("LinearLR", {"total_iters": 1.5}, "Invalid total_iters: 1.5"),
    ("LambdaLR", {"lr_lambdas": [None]}, "lr_lambdas must be a list of 2 entries"),
    ("LambdaLR", {"lr_lambdas": ["x", None]}, "lr_lambdas[0] must be None or a dict"),
    ("LambdaLR", {"lr_lambdas": [None, None], "gamma": 0.5}, "unknown keys ['gamma']"),
    ("OneCycleLR", {"anneal_strategy": "exp"}, "anneal_strategy must be one of 'cos', 'linear'"),
    ("OneCycleLR", {"_schedule_phases": []}, "_schedule_phases must be 2 or 3 phases"),
    ("OneCycleLR", {"total_steps": 25}, "the last phase ends at step 19"),
    ("OneCycleLR", {"use_beta1": True}, "use_beta1=True, but the optimizer has no betas"),
    ("ReduceLROnPlateau", {"mode": "lowest"}, "mode must be one of 'min', 'max'"),
    ("ReduceLROnPlateau", {"factor": 2.0}, "Invalid factor: 2.0"),
    ("ReduceLROnPlateau", {"best": math.nan}, "Invalid best: nan"),
    ("ReduceLROnPlateau", {"mode": "max"}, "mode_worse=inf does not fit mode='max'"),
    ("ReduceLROnPlateau", {"cooldown_counter": 5}, "cooldown_counter=5 is more than cooldown=1"),
    ("ReduceLROnPlateau", {"base_lrs": [0.1, 0.1]}, "unknown keys ['base_lrs']"),
    ("PolynomialLR", {"power": -1.0}, "Invalid power: -1.0"),
    ("PolynomialLR", {"total_iters": 0}, "Invalid total_iters: 0"),
    ("CosineAnnealingWarmRestarts", {"T_mult": 1.5}, "Invalid T_mult: 1.5"),
    ("CosineAnnealingWarmRestarts", {"T_i": 6}, "T_i=6 is not T_0=2 times a power of T_mult=2"),
    ("CosineAnnealingWarmRestarts", {"T_cur": math.nan}, "Invalid T_cur: nan"),
    ("CyclicLR", {"mode": "sine"}, "mode must be one of 'triangular', 'triangular2', 'exp_range'"),
    ("CyclicLR", {"step_ratio": 0.0}, "Invalid step_ratio: 0.0"),
    ("CyclicLR", {"max_lrs": [0.1]}, "max_lrs must be a list of 2 numbers"),
    ("CyclicLR", {"cycle_momentum": True, "use_beta1": True}, "use_beta1=True, but the optimizer"),
    ("CyclicLR", {"_scale_fn_custom": {"k": 0.5}}, "_scale_fn_custom has attributes to restore"),
]
SPOILS = [(name, *spoil) for name in SCHEDULES for spoil in COMMON_SPOILS] + OWN_SPOILS


@pytest.mark.parametrize("name, bad, words", SPOILS, ids=[f"{n}-{w}" for n, _, w in SPOILS])
def test_a_bad_state_dict_is_refused_and_changes_nothing(name, bad, words):
    """Only the scheduler's own fields load, each checked, then the whole (loading was
    ``__dict__.update(anything)``: it took an optimizer, a get_lr, a step_size of "two"). After
    the refusal the scheduler, the optimizer's groups and the next steps are those of a twin."""
    opt, twin_opt = make_sgd(momentum=0.9), make_sgd(momentum=0.9)
    sched, twin = SCHEDULES[name](opt), SCHEDULES[name](twin_opt)
    advance(sched, 4, 0)
    advance(twin, 4, 0)
    before = scheduler_snapshot(sched)
    with pytest.raises(OptimizerError, match=re.escape(words)):
        sched.load_state_dict({**valid_state(name), **bad})
    after = scheduler_snapshot(sched)
    assert after[0] == before[0] and after[1] == before[1] and after[2] is before[2]
    np.testing.assert_array_equal(advance(sched, 5, 4), advance(twin, 5, 4))


def test_a_state_dict_that_is_not_a_dict_is_refused():
    sched = StepLR(make_sgd(), step_size=2)
    with pytest.raises(OptimizerError, match="expected a dict"):
        sched.load_state_dict([("last_epoch", 3)])


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_the_fields_are_what_a_scheduler_holds(name):
    """Every attribute but the optimizer (and LambdaLR's functions) is a declared, checked field:
    nothing a state dict needs is left out of it, nothing else can be loaded."""
    sched = SCHEDULES[name](make_sgd(momentum=0.9))
    functions = {"lr_lambdas", "_scale_fn_custom"}  # saved as None or a callable's attributes
    assert set(vars(sched)) - {"optimizer", *functions} == set(type(sched).fields)
    assert set(sched.state_dict()) - functions == set(type(sched).fields)


def test_some_fields_load_alone():
    """As PyTorch's update: a dict with some of the fields sets those (checked)."""
    sched = StepLR(make_sgd(lrs=(1.0,)), step_size=1, gamma=0.5)
    sched.load_state_dict({"gamma": 0.25})
    sched.optimizer.step()
    sched.step()
    assert sched.get_last_lr() == [0.25]


def test_milestones_from_json_keys_load():
    """A checkpoint written as JSON has string keys: {"2": 1, "6": 2} means milestones 2, 6, 6."""
    sched = MultiStepLR(make_sgd(), milestones=[1], gamma=0.5)
    sched.load_state_dict({"milestones": {"2": 1, "6": 2}})
    assert sched.milestones == {2: 1, 6: 2}


# ----- ReduceLROnPlateau -----------------------------------------------------------------------


def plateau_rates(sched, metrics):
    out = []
    for m in metrics:
        sched.step(m)
        out.append(sched.get_last_lr()[0])
    return out


def test_plateau_patience():
    """patience=2: the rate drops on the 3rd bad epoch in a row (epochs 4, 7, 10 of a constant)."""
    sched = ReduceLROnPlateau(make_sgd(lrs=(1.0,)), patience=2, factor=0.5)
    got = plateau_rates(sched, [1.0] * 10)
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_plateau_patience_zero_reduces_on_every_bad_epoch():
    sched = ReduceLROnPlateau(make_sgd(lrs=(1.0,)), patience=0, factor=0.5)
    assert plateau_rates(sched, [3.0, 2.0, 2.0, 2.0, 1.0, 1.0]) == [1, 1, 0.5, 0.25, 0.25, 0.125]


def test_plateau_cooldown():
    """cooldown=2: after a drop, two epochs whose bad counts are forgotten (drops at 4, 9, 14)."""
    sched = ReduceLROnPlateau(make_sgd(lrs=(1.0,)), patience=2, cooldown=2, factor=0.1)
    got = plateau_rates(sched, [1.0] * 14)
    drops = [i + 1 for i in range(1, 14) if got[i] < got[i - 1]]
    assert drops == [4, 9, 14]
    np.testing.assert_allclose(got[-1], 1e-3, rtol=1e-12)


def test_plateau_improvement_resets_the_bad_count():
    sched = ReduceLROnPlateau(make_sgd(lrs=(1.0,)), patience=2, factor=0.5)
    got = plateau_rates(sched, [5.0, 5.0, 5.0, 4.0, 4.0, 4.0, 4.0])
    assert got == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]


@pytest.mark.parametrize(
    "mode, threshold_mode, threshold, steps, reduces",
    [
        ("min", "rel", 0.1, lambda t: 0.98**t, True),  # 2% better each epoch: not 10%
        ("min", "rel", 0.1, lambda t: 0.8**t, False),
        ("min", "abs", 0.5, lambda t: 10 - 0.15 * t, True),
        ("min", "abs", 0.5, lambda t: 10 - 0.6 * t, False),
        ("max", "rel", 0.1, lambda t: 1.02**t, True),
        ("max", "rel", 0.1, lambda t: 1.2**t, False),
        ("max", "abs", 0.5, lambda t: 0.15 * t, True),
        ("max", "abs", 0.5, lambda t: 0.6 * t, False),
    ],
)
def test_plateau_threshold(mode, threshold_mode, threshold, steps, reduces):
    """An improvement smaller than the threshold counts as a bad epoch."""
    sched = ReduceLROnPlateau(
        make_sgd(lrs=(1.0,)),
        mode=mode,
        threshold=threshold,
        threshold_mode=threshold_mode,
        patience=2,
    )
    got = plateau_rates(sched, [steps(t) for t in range(5)])
    # epoch 1 always improves on the initial best (inf); epochs 2-4 bad: a drop at epoch 4
    assert got == ([1.0] * 3 + [0.1] * 2 if reduces else [1.0] * 5)


def test_plateau_threshold_is_measured_from_the_best_not_the_last_epoch():
    """5% gains, threshold 10%: epochs 2 and 3 are bad, but epoch 4 is 14% below the best."""
    sched = ReduceLROnPlateau(make_sgd(lrs=(1.0,)), threshold=0.1, patience=2)
    assert plateau_rates(sched, [0.95**t for t in range(6)]) == [1.0] * 6
    assert sched.best == 0.95**3 and sched.num_bad_epochs == 2


def test_plateau_min_lr_per_group_and_eps():
    """Rates stop at min_lr (one per group); a drop smaller than eps is skipped."""
    opt = make_sgd(lrs=(1.0, 1e-8))
    sched = ReduceLROnPlateau(opt, patience=0, factor=0.1, min_lr=[0.005, 0.0], eps=1e-8)
    for _ in range(5):
        sched.step(1.0)
    lrs = sched.get_last_lr()
    assert lrs[0] == 0.005
    assert lrs[1] == 1e-8  # 1e-8 -> 1e-9 changes it by 9e-9 < eps: kept


def test_plateau_accepts_tensor_metric():
    sched = ReduceLROnPlateau(make_sgd(lrs=(1.0,)), patience=0)
    sched.step(mg.tensor(2.0))
    sched.step(mg.tensor(2.0))
    assert sched.get_last_lr() == [pytest.approx(0.1)]
    assert sched.best == 2.0 and sched.last_epoch == 2


# ----- bad arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda opt: LinearLR(opt, start_factor=0.0), "Invalid start_factor: 0.0"),
        (lambda opt: LinearLR(opt, end_factor=1.5), "Invalid end_factor: 1.5"),
        (lambda opt: LinearLR(opt, start_factor="a"), "Invalid start_factor: 'a'"),
        (lambda opt: LinearLR(opt, total_iters=2.0), "total_iters must be an integer >= 1"),
        (lambda opt: StepLR(opt, step_size=0), "step_size"),
        (lambda opt: StepLR(opt, step_size=2, gamma=-0.5), "Invalid gamma: -0.5"),
        (lambda opt: ExponentialLR(opt, gamma=-1), "gamma must be a finite number > 0"),
        (lambda opt: ExponentialLR(opt, gamma=0.0), "Invalid gamma: 0.0"),
        (lambda opt: ExponentialLR(opt, gamma=math.inf), "Invalid gamma: inf"),
        (lambda opt: ExponentialLR(opt, gamma=math.nan), "Invalid gamma: nan"),
        (lambda opt: MultiStepLR(opt, [2, 5], gamma=0.0), "Invalid gamma: 0.0"),
        (lambda opt: MultiStepLR(opt, [2.5]), "milestones must be integers >= 0"),
        (lambda opt: MultiStepLR(opt, [-1]), "milestones must be integers >= 0"),
        (lambda opt: MultiStepLR(opt, 3), "milestones must be a list"),
        (lambda opt: CosineAnnealingLR(opt, T_max=0), "T_max"),
        (lambda opt: CosineAnnealingLR(opt, T_max=math.inf), "Invalid T_max: inf"),
        (lambda opt: CosineAnnealingLR(opt, T_max=5, eta_min=-0.1), "Invalid eta_min: -0.1"),
        (lambda opt: LambdaLR(opt, [lambda t: 1.0]), "Expected 2 lr_lambdas, but got 1"),
        (lambda opt: OneCycleLR(opt, max_lr=1.0), "total_steps OR"),
        (lambda opt: OneCycleLR(opt, max_lr=1.0, total_steps=0), "total_steps"),
        (lambda opt: OneCycleLR(opt, max_lr=1.0, total_steps=True), "Invalid total_steps: True"),
        (lambda opt: OneCycleLR(opt, 1.0, epochs=2.5, steps_per_epoch=2), "Invalid epochs: 2.5"),
        (lambda opt: OneCycleLR(opt, max_lr=[1.0], total_steps=5), "expected 2 values for max_lr"),
        (lambda opt: OneCycleLR(opt, max_lr=math.inf, total_steps=5), "Invalid max_lr: inf"),
        (lambda opt: OneCycleLR(opt, 1.0, 5, div_factor=0.0), "Invalid div_factor: 0.0"),
        (lambda opt: OneCycleLR(opt, 1.0, 5, final_div_factor=-1), "Invalid final_div_factor"),
        (lambda opt: OneCycleLR(opt, 1.0, 5, max_momentum=-0.5), "Invalid max_momentum: -0.5"),
        (lambda opt: OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=1.5), "pct_start"),
        (lambda opt: OneCycleLR(opt, 1.0, 5, anneal_strategy="exp"), "anneal_strategy"),
        (lambda opt: OneCycleLR(opt, 1.0, 5, last_epoch=-2), "Invalid last_epoch: -2"),
        (lambda opt: ReduceLROnPlateau(opt, factor=1.0), "Invalid factor: 1.0"),
        (
            lambda opt: ReduceLROnPlateau(opt, factor=0.0),
            "factor must be a finite number in (0, 1)",
        ),
        (lambda opt: ReduceLROnPlateau(opt, factor=-0.5), "Invalid factor: -0.5"),
        (lambda opt: ReduceLROnPlateau(opt, patience=1.5), "Invalid patience: 1.5"),
        (lambda opt: ReduceLROnPlateau(opt, cooldown=-1), "Invalid cooldown: -1"),
        (lambda opt: ReduceLROnPlateau(opt, threshold=-1e-4), "Invalid threshold: -0.0001"),
        (lambda opt: ReduceLROnPlateau(opt, eps=math.nan), "Invalid eps: nan"),
        (lambda opt: ReduceLROnPlateau(opt, min_lr=-1.0), "Invalid min_lr: -1.0"),
        (lambda opt: ReduceLROnPlateau(opt, mode="lowest"), "mode must be one of 'min', 'max'"),
        (lambda opt: ReduceLROnPlateau(opt, threshold_mode="pct"), "threshold_mode must be one"),
        (lambda opt: ReduceLROnPlateau(opt, min_lr=[0.0]), "min_lrs must be a list of 2 numbers"),
        (lambda opt: PolynomialLR(opt, total_iters=0), "Invalid total_iters: 0"),
        (lambda opt: PolynomialLR(opt, power=-0.5), "power must be a finite number >= 0"),
        (lambda opt: CosineAnnealingWarmRestarts(opt, T_0=0), "Invalid T_0: 0"),
        (lambda opt: CosineAnnealingWarmRestarts(opt, T_0=2.5), "T_0 must be an integer >= 1"),
        (lambda opt: CosineAnnealingWarmRestarts(opt, 2, T_mult=0), "Invalid T_mult: 0"),
        (lambda opt: CosineAnnealingWarmRestarts(opt, 2, eta_min=-1), "Invalid eta_min: -1"),
        (lambda opt: CyclicLR(opt, -0.1, 0.5), "CyclicLR: Invalid base_lr: -0.1"),
        (lambda opt: CyclicLR(opt, 0.1, [0.5]), "expected 2 values for max_lr"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, step_size_up=0), "Invalid step_size_up: 0"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, step_size_down=-1), "Invalid step_size_down: -1"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, mode="sine"), "mode must be one of 'triangular'"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, scale_mode="epoch"), "scale_mode must be one of"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, gamma=0.0), "Invalid gamma: 0.0"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, scale_fn=2.0), "scale_fn must be a function"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, max_momentum=-0.9), "Invalid max_momentum: -0.9"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, cycle_momentum="no"), "cycle_momentum must be True"),
        (lambda opt: CyclicLR(opt, 0.1, 0.5, last_epoch=-3), "Invalid last_epoch: -3"),
    ],
)
def test_bad_arguments_are_refused(build, message):
    """Each refused by name, with what is allowed: a gamma <= 0 would flip or zero the rate, a
    non-finite one make it inf or nan, a float count be cut or fail at the first step."""
    opt = make_sgd(momentum=0.9)
    groups = copy.deepcopy(
        [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    )
    with pytest.raises(OptimizerError, match=re.escape(message)):
        build(opt)
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups


def test_one_cycle_refused_leaves_the_optimizer_as_it_was():
    """Checked before the groups are changed (its max_lr, initial_lr, ... were written first)."""
    opt = Optimizer([mg.tensor([1.0], requires_grad=True)], dict(lr=0.1))
    with pytest.raises(OptimizerError, match="cycle_momentum=False"):
        OneCycleLR(opt, max_lr=1.0, total_steps=10)
    assert opt.param_groups[0].keys() == {"lr", "params"}


def test_one_cycle_refuses_a_beta1_of_one_or_more():
    """With Adam the momenta become beta1, which must stay below 1."""
    opt = WithBetas([mg.tensor([1.0], requires_grad=True)])
    with pytest.raises(
        OptimizerError, match=re.escape("max_momentum must be a finite number in [0, 1)")
    ):
        OneCycleLR(opt, max_lr=1.0, total_steps=10, max_momentum=1.5)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(OptimizerError, match="is not an Optimizer"):
        ExponentialLR([mg.tensor([1.0], requires_grad=True)], gamma=0.5)
