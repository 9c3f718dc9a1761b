"""First-order optimizers (SGD, Adam, AdamW, Adagrad, RMSprop, Adadelta) follow PyTorch's rules.

Each update rule is written again below in numpy straight from its published formula (as in
PyTorch's documentation) and run side by side with minigrad for 20 steps, on a quadratic (whose
gradient the reference computes itself) and on a small network (both fed the gradients minigrad's
backward computes), over every option combination that changes the rule. Then: parameter groups,
``zero_grad``, parameters without gradients, state dicts through ``mg.save``/``mg.load``, refused
hyperparameters, and convergence on Rosenbrock and a logistic regression with stated budgets.
"""

import itertools
import re

import numpy as np
import pytest
from optim_problems import assert_float32_kept, backward_grads, network

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.adaptive import Adadelta, Adagrad, RMSprop
from minigrad.optim.optimizer import OptimizerError

STEPS = 20

# ----- reference rules, from the formulas ---------------------------------------------------------
# Each takes the parameter p, its gradient g and a dict s of its own state, returns the new p.


def sgd_ref(p, g, s, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):  # fmt: skip
    g = (-g if maximize else g) + weight_decay * p
    if momentum:
        s["b"] = g if "b" not in s else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return p - lr * g


def adam_ref(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             maximize=False, decoupled=False):  # fmt: skip
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    g = -g if maximize else g
    if decoupled:
        p = p - lr * weight_decay * p
    else:
        g = g + weight_decay * p
    m = s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    v = s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g**2
    if amsgrad:
        v = s["v_max"] = np.maximum(s.get("v_max", 0.0), v)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def adamw_ref(p, g, s, weight_decay=1e-2, **hp):
    return adam_ref(p, g, s, weight_decay=weight_decay, decoupled=True, **hp)


def adagrad_ref(p, g, s, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, maximize=False):  # fmt: skip
    t = s["t"] = s.get("t", 0) + 1
    g = (-g if maximize else g) + weight_decay * p
    s["G"] = s.get("G", initial_accumulator_value) + g**2
    return p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["G"]) + eps)


def rmsprop_ref(p, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):  # fmt: skip
    g = (-g if maximize else g) + weight_decay * p
    v = s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g**2
    if centered:
        m = s["m"] = alpha * s.get("m", 0.0) + (1 - alpha) * g
        v = v - m**2
    step = g / (np.sqrt(v) + eps)
    if momentum:
        step = s["b"] = momentum * s.get("b", 0.0) + step
    return p - lr * step


def adadelta_ref(p, g, s, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    g = (-g if maximize else g) + weight_decay * p
    s["Eg2"] = rho * s.get("Eg2", 0.0) + (1 - rho) * g**2
    dx = np.sqrt(s.get("Edx2", 0.0) + eps) / np.sqrt(s["Eg2"] + eps) * g
    s["Edx2"] = rho * s.get("Edx2", 0.0) + (1 - rho) * dx**2
    return p - lr * dx


REFERENCE = {SGD: sgd_ref, Adam: adam_ref, AdamW: adamw_ref, Adagrad: adagrad_ref,
             RMSprop: rmsprop_ref, Adadelta: adadelta_ref}  # fmt: skip


def grid(**options):
    """Every combination of the option values, as dicts."""
    return [dict(zip(options, values)) for values in itertools.product(*options.values())]


WD, MAX = [0.0, 0.1], [False, True]
RULES = (
    [(SGD, dict(lr=0.05, **o)) for o in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.1],
                                              nesterov=MAX, weight_decay=WD, maximize=MAX)
     if not o["nesterov"] or (o["momentum"] and not o["dampening"])]
    + [(cls, dict(lr=0.05, betas=(0.8, 0.95), eps=1e-8, **o)) for cls in (Adam, AdamW)
       for o in grid(amsgrad=MAX, weight_decay=WD, maximize=MAX)]
    + [(Adagrad, dict(lr=0.1, **o)) for o in grid(lr_decay=[0.0, 0.1],
                                                    initial_accumulator_value=[0.0, 0.5],
                                                    weight_decay=WD, maximize=MAX)]
    + [(RMSprop, dict(lr=0.01, alpha=0.9, **o)) for o in grid(centered=MAX, momentum=[0.0, 0.9],
                                                                weight_decay=WD, maximize=MAX)]
    + [(Adadelta, dict(lr=1.0, rho=0.8, eps=1e-4, **o)) for o in grid(weight_decay=WD,
                                                                         maximize=MAX)]
)  # fmt: skip


def rule_id(rule) -> str:
    cls, hp = rule
    return f"{cls.__name__}({', '.join(f'{k}={v}' for k, v in hp.items())})"


def assert_same(actual, expected, what=""):
    """Equal to 1e-12 relative, elementwise."""
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0, err_msg=what)


# ----- problems ------------------------------------------------------------------------------------


def quadratic(seed=0, n=4):
    """``0.5 x^T A x - b^T x`` with A symmetric positive definite; returns (A, b, x0)."""
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    return M @ M.T / n + np.eye(n), rng.normal(size=n), rng.normal(size=n)


# ----- each rule against its reference --------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_rule_on_quadratic(rule):
    """20 steps on 0.5 x^T A x - b^T x: minigrad (backward) vs the formula (gradient A x - b)."""
    cls, hp = rule
    A, b, x0 = quadratic()
    x = mg.tensor(x0, requires_grad=True)
    At, bt = mg.tensor(A), mg.tensor(b)
    opt = cls([x], **hp)
    x_ref, s = x0.copy(), {}
    for step in range(STEPS):
        opt.zero_grad()
        (0.5 * (x @ (At @ x)) - bt @ x).backward()
        opt.step()
        x_ref = REFERENCE[cls](x_ref, A @ x_ref - b, s, **hp)
        assert_same(x.data, x_ref, f"step {step + 1}")
    assert np.abs(x.data - x0).max() > 1e-3  # the rule did move the parameters


@pytest.mark.parametrize("rule", RULES, ids=rule_id)
def test_rule_on_network(rule):
    """20 steps on a 2-layer network: every parameter follows the formula fed the same gradients."""
    cls, hp = rule
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


# ----- defaults, state layout, groups ----------------------------------------------------------------

PYTORCH_DEFAULTS = {
    Adam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
               maximize=False),
    AdamW: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                maximize=False),
    Adagrad: dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                  maximize=False),
    RMSprop: dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                  maximize=False),
    Adadelta: dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False),
}  # fmt: skip


@pytest.mark.parametrize("cls", list(PYTORCH_DEFAULTS), ids=lambda c: c.__name__)
def test_defaults_are_pytorchs(cls):
    group = cls([mg.tensor([1.0], requires_grad=True)]).param_groups[0]
    assert {k: v for k, v in group.items() if k != "params"} == PYTORCH_DEFAULTS[cls]


STATE_KEYS = [
    (SGD, dict(lr=0.1, momentum=0.9), {"momentum_buffer"}),
    (Adam, {}, {"step", "exp_avg", "exp_avg_sq"}),
    (Adam, dict(amsgrad=True), {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
    (AdamW, dict(amsgrad=True), {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
    (Adagrad, {}, {"step", "sum"}),
    (RMSprop, {}, {"step", "square_avg"}),
    (RMSprop, dict(momentum=0.9, centered=True),
     {"step", "square_avg", "momentum_buffer", "grad_avg"}),
    (Adadelta, {}, {"step", "square_avg", "acc_delta"}),
]  # fmt: skip


@pytest.mark.parametrize("cls, hp, keys", STATE_KEYS, ids=[rule_id(r[:2]) for r in STATE_KEYS])
def test_state_keys_are_pytorchs(cls, hp, keys):
    """Per-parameter state has PyTorch's names; ``step`` counts this parameter's updates."""
    model, loss_fn = network()
    params = list(model.parameters())
    opt = cls(params, **hp)
    for _ in range(3):
        backward_grads(params, loss_fn)
        opt.step()
    state = opt.state_dict()["state"]
    assert sorted(state) == list(range(len(params)))
    for i, p in enumerate(params):
        assert set(state[i]) == keys
        assert all(state[i][k].shape == p.shape for k in keys - {"step"})
        if "step" in keys:
            assert state[i]["step"] == 3


GROUP_OVERRIDES = [
    (SGD, dict(lr=0.05), dict(lr=0.02, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=0.05), dict(lr=0.01, betas=(0.5, 0.9), amsgrad=True)),
    (AdamW, dict(lr=0.05), dict(lr=0.01, weight_decay=0.5)),
    (Adagrad, dict(lr=0.1), dict(lr_decay=0.2, initial_accumulator_value=1.0)),
    (RMSprop, dict(lr=0.01), dict(alpha=0.5, centered=True, momentum=0.5)),
    (Adadelta, dict(lr=1.0), dict(lr=0.5, rho=0.5, eps=1e-3)),
]


@pytest.mark.parametrize("cls, defaults, override", GROUP_OVERRIDES,
                         ids=[c.__name__ for c, *_ in GROUP_OVERRIDES])  # fmt: skip
def test_parameter_groups_have_their_own_hyperparameters(cls, defaults, override):
    """Layer 1 uses the constructor's hyperparameters, layer 2 its group's overrides."""
    model, loss_fn = network()
    first, second = list(model[0].parameters()), list(model[2].parameters())
    opt = cls([{"params": first}, {"params": second, **override}], **defaults)
    assert opt.param_groups[1]["lr"] == override.get("lr", defaults["lr"])
    params = first + second
    hps = [defaults] * len(first) + [{**defaults, **override}] * len(second)
    refs = [np.array(p.data, copy=True) for p in params]
    states = [{} for _ in params]
    for _ in range(STEPS):
        grads = backward_grads(params, loss_fn)
        opt.step()
        refs = [REFERENCE[cls](r, g, s, **hp) for r, g, s, hp in zip(refs, grads, states, hps)]
    for p, r in zip(params, refs):
        assert_same(p.data, r)


ALL = [(SGD, dict(lr=0.1)), (Adam, {}), (AdamW, {}), (Adagrad, {}), (RMSprop, {}), (Adadelta, {})]


@pytest.mark.parametrize("cls, hp", ALL, ids=[c.__name__ for c, _ in ALL])
def test_zero_grad(cls, hp):
    model, loss_fn = network()
    params = list(model.parameters())
    opt = cls(params, **hp)
    loss_fn().backward()
    assert all(p.grad is not None for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    loss_fn().backward()
    opt.zero_grad(set_to_none=False)
    for p in params:
        assert p.grad.shape == p.shape
        np.testing.assert_array_equal(p.grad.data, 0.0)


@pytest.mark.parametrize("cls, hp", ALL, ids=[c.__name__ for c, _ in ALL])
def test_parameter_without_gradient_is_skipped(cls, hp):
    """No gradient: no update (not even weight decay), no state; its step count starts when a
    gradient first arrives."""
    hp = {**hp, "weight_decay": 0.1}
    rng = np.random.default_rng(1)
    a0, b0 = rng.normal(size=3), rng.normal(size=2)
    a, b = mg.tensor(a0, requires_grad=True), mg.tensor(b0, requires_grad=True)
    opt = cls([a, b], **hp)
    a_ref, s_a = a0.copy(), {}
    for _ in range(3):
        opt.zero_grad()
        (a**2).sum().backward()
        opt.step()
        a_ref = REFERENCE[cls](a_ref, 2 * a_ref, s_a, **hp)
    assert b.grad is None
    np.testing.assert_array_equal(b.data, b0)
    assert b not in opt.state
    assert_same(a.data, a_ref)
    opt.zero_grad()
    ((a**2).sum() + (b**3).sum()).backward()
    opt.step()
    assert_same(b.data, REFERENCE[cls](b0, 3 * b0**2, {}, **hp))


STATEFUL = [
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    (Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    (AdamW, dict(lr=0.05, betas=(0.8, 0.9), amsgrad=True)),
    (Adagrad, dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5)),
    (RMSprop, dict(lr=0.01, centered=True, momentum=0.9)),
    (Adadelta, dict(lr=1.0, rho=0.8, eps=1e-4)),
]


@pytest.mark.parametrize("cls, hp", STATEFUL, ids=[rule_id(r) for r in STATEFUL])
def test_state_dict_round_trip_mid_run(cls, hp, tmp_path):
    """10 steps, save model and optimizer, load both into fresh objects (the optimizer built with
    another lr), 10 more steps: exactly the uninterrupted 20-step trajectory."""
    model, loss_fn = network()
    params = list(model.parameters())
    opt = cls(params, **hp)
    for _ in range(STEPS):
        backward_grads(params, loss_fn)
        opt.step()
    expected = [np.array(p.data, copy=True) for p in params]

    model, loss_fn = network()
    params = list(model.parameters())
    opt = cls(params, **hp)
    for _ in range(STEPS // 2):
        backward_grads(params, loss_fn)
        opt.step()
    mg.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    for _ in range(3):  # steps that must not leak into the resumed run
        backward_grads(params, loss_fn)
        opt.step()

    checkpoint = mg.load(tmp_path / "ckpt.npz")
    model, loss_fn = network(init_seed=5)
    model.load_state_dict(checkpoint["model"])
    params = list(model.parameters())
    opt = cls(params, **{**hp, "lr": 123.0})
    opt.load_state_dict(checkpoint["optim"])
    assert opt.param_groups[0]["lr"] == hp["lr"]
    assert opt.param_groups[0]["params"] == params
    for _ in range(STEPS - STEPS // 2):
        backward_grads(params, loss_fn)
        opt.step()
    for p, e in zip(params, expected):
        np.testing.assert_array_equal(p.data, e)


def test_float32_parameters_stay_float32():
    """State and parameters keep the parameter's dtype (Python-float hyperparameters are weak)."""
    for cls, hp in STATEFUL:
        assert_float32_kept(cls, hp)


# ----- refused hyperparameters ------------------------------------------------------------------------

BAD = [
    (SGD, dict(lr=-1), "Invalid learning rate: -1"),
    (SGD, dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum requires"),
    (Adam, dict(lr=-1), "Invalid learning rate: -1"),
    (Adam, dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (Adam, dict(betas=(-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1"),
    (Adam, dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (Adam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (Adam, dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (AdamW, dict(lr=-0.5), "Invalid learning rate: -0.5"),
    (AdamW, dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    (AdamW, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (Adagrad, dict(lr=-1), "Invalid learning rate: -1"),
    (Adagrad, dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    (Adagrad, dict(initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
    (Adagrad, dict(eps=-1), "Invalid epsilon value: -1"),
    (Adagrad, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (RMSprop, dict(lr=-1), "Invalid learning rate: -1"),
    (RMSprop, dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    (RMSprop, dict(momentum=-1), "Invalid momentum value: -1"),
    (RMSprop, dict(eps=-1), "Invalid epsilon value: -1"),
    (RMSprop, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (Adadelta, dict(lr=-1), "Invalid learning rate: -1"),
    (Adadelta, dict(rho=1.5), "Invalid rho value: 1.5"),
    (Adadelta, dict(rho=-0.5), "Invalid rho value: -0.5"),
    (Adadelta, dict(eps=-1), "Invalid epsilon value: -1"),
    (Adadelta, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    # not finite: PyTorch's meaning needs a number (NaN fails every comparison, inf does not)
    (SGD, dict(lr=np.inf), "Invalid learning rate: inf"),
    (SGD, dict(lr=0.1, momentum=np.inf), "Invalid momentum value: inf"),
    (SGD, dict(lr=0.1, dampening=np.nan), "Invalid dampening value: nan"),
    (SGD, dict(lr=0.1, weight_decay=np.inf), "Invalid weight_decay value: inf"),
    (Adam, dict(lr=np.inf), "Invalid learning rate: inf"),
    (Adam, dict(eps=np.inf), "Invalid epsilon value: inf"),
    (Adam, dict(betas=(np.nan, 0.9)), "Invalid beta parameter at index 0: nan"),
    (AdamW, dict(weight_decay=np.nan), "Invalid weight_decay value: nan"),
    (Adagrad, dict(lr_decay=np.inf), "Invalid lr_decay value: inf"),
    (
        Adagrad,
        dict(initial_accumulator_value=np.inf),
        "Invalid initial_accumulator_value value: inf",
    ),
    (RMSprop, dict(alpha=np.inf), "Invalid alpha value: inf"),
    (RMSprop, dict(momentum=np.nan), "Invalid momentum value: nan"),
    (Adadelta, dict(eps=np.inf), "Invalid epsilon value: inf"),
]


@pytest.mark.parametrize("cls, hp, message", BAD, ids=[m for *_, m in BAD])
def test_bad_hyperparameters_are_refused(cls, hp, message):
    with pytest.raises(OptimizerError, match=re.escape(message)) as info:
        cls([mg.tensor([1.0], requires_grad=True)], **hp)
    assert isinstance(info.value, ValueError)  # as PyTorch's


@pytest.mark.parametrize("cls, hp, message", BAD, ids=[m for *_, m in BAD])
def test_bad_hyperparameters_in_a_group_are_refused(cls, hp, message):
    """The same check for a group's own hyperparameters (constructor or add_param_group)."""
    a, b = mg.tensor([1.0], requires_grad=True), mg.tensor([2.0], requires_grad=True)
    base = {"lr": 0.1} if cls is SGD else {}
    with pytest.raises(OptimizerError, match=re.escape(message)):
        cls([{"params": [a]}, {"params": [b], **hp}], **base)
    opt = cls([a], **base)
    with pytest.raises(OptimizerError, match=re.escape(message)):
        opt.add_param_group({"params": [b], **hp})
    assert len(opt.param_groups) == 1


PAIR = "Adam: betas must be a pair (beta1, beta2) of numbers in [0, 1), got"
WRONG_KINDS = [
    (SGD, dict(lr=0.1, momentum="a"), "SGD: momentum must be a number, got 'a'"),
    (SGD, dict(lr=True), "SGD: lr must be a number, got True"),
    (SGD, dict(lr=0.1, nesterov="yes"), "SGD: nesterov must be True or False, got 'yes'"),
    (Adam, dict(betas=("x", 0.9)), f"{PAIR} ('x', 0.9)"),
    (Adam, dict(betas=0.9), f"{PAIR} 0.9"),  # was Python's "'float' object is not iterable"
    (Adam, dict(betas=(0.9,)), f"{PAIR} (0.9,)"),
    (Adam, dict(betas=(0.9, 0.99, 0.999)), f"{PAIR} (0.9, 0.99, 0.999)"),
    (Adam, dict(lr=mg.tensor(0.1)), "Adam: lr must be a number, got tensor(0.1)"),
    (Adam, dict(amsgrad="False"), "Adam: amsgrad must be True or False, got 'False'"),
    (RMSprop, dict(alpha=None), "RMSprop: alpha must be a number, got None"),
]


@pytest.mark.parametrize("cls, hp, message", WRONG_KINDS, ids=[m for *_, m in WRONG_KINDS])
def test_a_hyperparameter_of_the_wrong_kind_is_named(cls, hp, message):
    """Not a raw TypeError from a comparison inside validate: the name and the value."""
    with pytest.raises(OptimizerError, match=re.escape(message)):
        cls([mg.tensor([1.0], requires_grad=True)], **hp)


def test_numpy_number_hyperparameters_are_numbers():
    a, b = (mg.tensor([1.0, -2.0], requires_grad=True) for _ in range(2))
    # 0.25 is exact in float32, so both runs must agree to the last bit
    opts = [
        SGD([a], lr=0.25, momentum=0.9),
        SGD([b], lr=np.float32(0.25), momentum=np.float64(0.9)),
    ]
    for _ in range(3):
        for p, opt in zip((a, b), opts):
            opt.zero_grad()
            (p**2).sum().backward()
            opt.step()
    np.testing.assert_array_equal(b.data, a.data)
    assert not np.array_equal(a.data, [1.0, -2.0])


def test_one_tensor_instead_of_a_list_is_refused():
    """Iterating a tensor gives views of its rows, which never get a .grad: training would
    silently do nothing, so it is refused, as in PyTorch."""
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(OptimizerError, match=r"params must be an iterable .* pass \[w\]"):
        SGD(w, lr=0.1)


def test_a_non_leaf_tensor_is_refused():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(OptimizerError, match="can't optimise a non-leaf tensor .* made by Mul"):
        SGD([w * 2], lr=0.1)


@pytest.mark.parametrize("cls, hp", ALL, ids=[c.__name__ for c, _ in ALL])
def test_frozen_parameters_are_accepted_and_left_alone(cls, hp):
    """Fine-tuning: model.parameters() includes frozen ones (requires_grad=False), as in
    PyTorch; they get no gradient, so they do not move, and the others train."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    model[0].weight.requires_grad_(False)
    frozen, trained = model[0].weight.data.copy(), model[2].weight.data.copy()
    opt = cls(model.parameters(), **hp)
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).sum().backward()
        opt.step()
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert not np.array_equal(model[2].weight.data, trained)


@pytest.mark.parametrize("cls", [cls for cls, _ in ALL], ids=lambda c: c.__name__)
def test_lr_zero_leaves_the_parameters_unchanged(cls):
    """lr = 0 (allowed, as in PyTorch) moves nothing, whatever the rest (decay, momentum)."""
    hp = dict(lr=0.0, weight_decay=0.1, **({"momentum": 0.9} if cls in (SGD, RMSprop) else {}))
    w0 = np.array([1.0, -2.0, 3.0])
    w = mg.tensor(w0, requires_grad=True)
    opt = cls([w], **hp)
    for _ in range(3):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    np.testing.assert_array_equal(w.data, w0)
    assert opt.state[w]  # it did run the rule: its state was made


@pytest.mark.parametrize("cls", [Adam, AdamW, Adagrad, RMSprop, Adadelta], ids=lambda c: c.__name__)
def test_eps_zero_stays_finite_for_nonzero_gradients(cls):
    """eps = 0 (allowed) divides by the running gradient size itself: finite while the gradients
    are not zero (a zero gradient would give 0 / 0, as in PyTorch)."""
    w = mg.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    opt = cls([w], lr=0.01, eps=0.0)
    for _ in range(10):
        opt.zero_grad()
        ((w - 10.0) ** 2).sum().backward()  # minimum far away: the gradients stay nonzero
        opt.step()
    assert np.all(np.isfinite(w.data))


def test_edge_hyperparameters_do_what_their_formulas_say():
    """The boundaries PyTorch allows, each checked against its rule worked out by hand: with the
    gradient g of sum(w^2 / 2) = w (nonzero),

    - Adam, betas (0, 0), eps 0: m = g, v = g^2, so every step is lr * sign(g);
    - Adam, eps 0: the first step is lr * sign(g) (bias-corrected m / sqrt(v) = g / |g|);
    - RMSprop, alpha 0, eps 0: v = g^2, so every step is lr * sign(g);
    - Adadelta, rho 1: the averages stay 0, so the step is lr * sqrt(eps) / sqrt(eps) * g;
    - Adadelta, rho 0: v = g^2, u = delta^2 of the last step.
    """
    w0 = np.array([0.5, -2.0, 4.0])

    def steps(cls, n, **hp):
        w = mg.tensor(w0, requires_grad=True)
        opt, path = cls([w], **hp), [w0]
        for _ in range(n):
            opt.zero_grad()
            (0.5 * (w**2)).sum().backward()
            opt.step()
            path.append(w.data.copy())
        return np.array(path)

    sign_steps = w0 - 0.1 * np.arange(4)[:, None] * np.sign(w0)
    np.testing.assert_allclose(steps(Adam, 3, lr=0.1, betas=(0.0, 0.0), eps=0.0), sign_steps)
    np.testing.assert_allclose(steps(RMSprop, 3, lr=0.1, alpha=0.0, eps=0.0), sign_steps)
    np.testing.assert_allclose(steps(Adam, 1, lr=0.1, eps=0.0)[1], w0 - 0.1 * np.sign(w0))
    # rho = 1: plain gradient descent, w_t = (1 - lr)^t w0
    np.testing.assert_allclose(steps(Adadelta, 3, lr=0.5, rho=1.0)[-1], 0.5**3 * w0)
    # rho = 0: delta_1 = sqrt(eps) / sqrt(g^2 + eps) g, then delta_2 = sqrt(delta_1^2 + eps) /
    # sqrt(g_2^2 + eps) g_2 with g_2 = w_1
    eps = 1e-2
    d1 = np.sqrt(eps) / np.sqrt(w0**2 + eps) * w0
    w1 = w0 - d1
    d2 = np.sqrt(d1**2 + eps) / np.sqrt(w1**2 + eps) * w1
    np.testing.assert_allclose(steps(Adadelta, 2, lr=1.0, rho=0.0, eps=eps)[1:], [w1, w1 - d2])


# ----- convergence ------------------------------------------------------------------------------------


def rosenbrock(xy):
    """``(1 - x)^2 + 100 (y - x^2)^2``; minimum 0 at (1, 1); 12.5 at the start (-1.5, 2)."""
    x, y = xy[0], xy[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


# (optimizer, hyperparameters, step budget, tolerance on f): honest budgets, measured with margin.
ROSENBROCK = [
    (SGD, dict(lr=1e-3, momentum=0.9), 1000, 1e-3),
    (Adam, dict(lr=0.05), 1000, 1e-3),
    (AdamW, dict(lr=0.05), 1000, 1e-2),
    (Adagrad, dict(lr=1.5), 2000, 2e-2),
    (RMSprop, dict(lr=1e-3, momentum=0.9), 1000, 1e-3),
    (Adadelta, dict(lr=0.1, rho=0.5), 2000, 5e-2),
]


@pytest.mark.parametrize("cls, hp, budget, tol", ROSENBROCK,
                         ids=[f"{rule_id(r[:2])}-f<{r[3]}-in-{r[2]}-steps" for r in ROSENBROCK])  # fmt: skip
def test_rosenbrock_from_minus_1_5_2(cls, hp, budget, tol):
    """From (-1.5, 2), where f = 12.5, f falls below ``tol`` within ``budget`` steps."""
    xy = mg.tensor([-1.5, 2.0], requires_grad=True)
    opt = cls([xy], **hp)
    for _ in range(budget):
        opt.zero_grad()
        rosenbrock(xy).backward()
        opt.step()
    x, y = xy.data
    assert (1 - x) ** 2 + 100 * (y - x * x) ** 2 < tol


@pytest.fixture(scope="module")
def logistic():
    """200 noisy labels from a logistic model in 5 features + bias, and the optimal loss by Newton's
    method in numpy."""
    rng = np.random.default_rng(3)
    n, d = 200, 6
    X = np.hstack([rng.normal(size=(n, d - 1)), np.ones((n, 1))])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.normal(size=d)))).astype(float)

    def loss(w):
        z = X @ w
        return np.mean(np.logaddexp(0, z) - y * z)

    w = np.zeros(d)
    for _ in range(30):
        s = 1 / (1 + np.exp(-X @ w))
        w -= np.linalg.solve(X.T @ (X * (s * (1 - s))[:, None]) / n, X.T @ (s - y) / n)
    s = 1 / (1 + np.exp(-X @ w))
    assert np.linalg.norm(X.T @ (s - y) / n) < 1e-12
    return X, y, loss, loss(w)


LOGISTIC = [
    (SGD, dict(lr=0.5, momentum=0.9), 300, 1e-6),
    (Adam, dict(lr=0.05), 300, 1e-6),
    (AdamW, dict(lr=0.05), 300, 1e-4),  # weight decay 1e-2 shrinks w: a biased optimum
    (Adagrad, dict(lr=0.5), 300, 1e-6),
    (RMSprop, dict(lr=1e-2, momentum=0.5), 300, 1e-6),
    (Adadelta, dict(lr=10.0), 300, 1e-6),
]


@pytest.mark.parametrize("cls, hp, budget, tol", LOGISTIC,
                         ids=[f"{rule_id(r[:2])}-gap<{r[3]}-in-{r[2]}-steps" for r in LOGISTIC])  # fmt: skip
def test_logistic_regression(cls, hp, budget, tol, logistic):
    """From w = 0 (loss log 2), the mean log-loss comes within ``tol`` of the optimum."""
    X, y, loss, optimum = logistic
    Xt, yt = mg.tensor(X), mg.tensor(y)
    w = mg.tensor(np.zeros(X.shape[1]), requires_grad=True)
    opt = cls([w], **hp)
    for _ in range(budget):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(Xt @ w, yt).backward()
        opt.step()
    assert loss(w.data) - optimum < tol
