"""Every optimizer in ``minigrad.optim`` refuses what does not fit, and a refusal changes nothing.

- a ``.grad`` that is not a Tensor of its parameter's shape and dtype kind (numpy would broadcast
  a ``(4,)`` gradient over a ``(3, 4)`` weight; the flat optimizers would read a ``(4, 3)`` one
  in the wrong order) is refused before any parameter moves;
- a non-finite learning rate is refused;
- ``load_state_dict`` checks the whole dict (keys, indices, shapes, dtypes, hyperparameter kinds
  and ranges) before it applies any of it: after a refusal every state array, every group value
  and every parameter is byte for byte what it was, and the next step is the step a twin
  optimizer that never saw the bad dict takes;
- a state dict that went through ``mg.save``/``mg.load`` (or holds Tensors) loads.
"""

import copy
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import Optimizer, OptimizerError

# ----- every optimizer, on one small problem ------------------------------------------------------

SETTINGS = {
    "SGD": dict(lr=0.1, momentum=0.9),
    "Adam": dict(lr=0.01, amsgrad=True),
    "AdamW": dict(lr=0.01),
    "NAdam": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    "RAdam": dict(lr=0.01, weight_decay=0.1),
    "Adamax": dict(lr=0.01),
    "Adagrad": dict(lr=0.1),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adadelta": dict(),
    "LBFGS": dict(max_iter=3, history_size=2),
    "Newton": dict(),
    "NewtonCG": dict(cg_iters=5),
    "Sophia": dict(lr=0.01, hessian_every=2),
}
OPTIMIZERS = sorted(
    (c for c in vars(mg.optim).values()
     if isinstance(c, type) and issubclass(c, Optimizer) and c is not Optimizer),
    key=lambda c: c.__name__,
)  # fmt: skip


def test_every_optimizer_has_a_case():
    """A new optimizer in minigrad.optim must join these tests."""
    assert sorted(c.__name__ for c in OPTIMIZERS) == sorted(SETTINGS)


def problem(cls, seed=0):
    """A bias ``b`` (4,) and a weight ``w`` (3, 4) fitted by least squares; the optimizer, its
    closure, and the parameters (in the optimizer's order: b, w)."""
    rng = np.random.default_rng(seed)
    x, y = mg.tensor(rng.normal(size=(5, 3))), mg.tensor(rng.normal(size=(5, 4)))
    b = mg.tensor(rng.normal(size=4), requires_grad=True)
    w = mg.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    opt = cls([b, w], **SETTINGS[cls.__name__])

    def closure():
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    return opt, closure, (b, w)


def trained(cls, steps=3, seed=0):
    """``problem`` after a few steps, so the optimizer holds state."""
    opt, closure, params = problem(cls, seed)
    for _ in range(steps):
        opt.step(closure)
    return opt, closure, params


def freeze(value):
    """A value as nested tuples that compare equal only if the value is the same, arrays byte for
    byte (dtype, shape and bytes)."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, mg.Tensor):
        return ("tensor", id(value))
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(freeze(v) for v in value))
    return (type(value).__name__, repr(value))


def snapshot(opt, params):
    """Everything the optimizer holds, and the parameters' values."""
    state = tuple((id(p), freeze(s)) for p, s in opt.state.items())
    groups = tuple(
        (freeze({k: v for k, v in g.items() if k != "params"}), tuple(id(p) for p in g["params"]))
        for g in opt.param_groups
    )
    return state, groups, tuple(freeze(p.data) for p in params)


def assert_refused_and_unchanged(cls, state_dict, match):
    """Loading ``state_dict`` raises an OptimizerError matching ``match``; afterwards the
    optimizer is as it was, and its next step is the one its untouched twin takes."""
    opt, closure, params = trained(cls)
    twin, twin_closure, twin_params = trained(cls)
    before = snapshot(opt, params)
    with pytest.raises(OptimizerError, match=match):
        opt.load_state_dict(state_dict)
    assert snapshot(opt, params) == before
    opt.step(closure)
    twin.step(twin_closure)
    for p, q in zip(params, twin_params):
        np.testing.assert_array_equal(p.data, q.data)


# ----- gradients that do not fit their parameter ----------------------------------------------------

WRONG_GRADS = {
    "broadcastable (4,)": lambda: mg.tensor(np.ones(4)),
    "transposed (4, 3)": lambda: mg.tensor(np.ones((4, 3))),
    "integer dtype": lambda: mg.tensor(np.ones((3, 4), dtype=np.int64)),
    "an ndarray": lambda: np.ones((3, 4)),
}


@pytest.mark.parametrize("wrong", list(WRONG_GRADS))
@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_a_gradient_that_does_not_fit_is_refused(cls, wrong):
    """The closure leaves a bad .grad on w (b's is fine): the step names the optimizer, w's
    index and shape, and the fix; no parameter moves (b is checked and updated after w is
    checked, not before)."""
    opt, closure, (b, w) = problem(cls)

    def bad_closure():
        loss = closure()
        w.grad = WRONG_GRADS[wrong]()
        return loss

    values = [b.data.copy(), w.data.copy()]
    with pytest.raises(OptimizerError) as info:
        opt.step(bad_closure)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}.step: parameter 1 of group 0"), message
    assert "(3, 4)" in message and "zero_grad()" in message
    np.testing.assert_array_equal(b.data, values[0])
    np.testing.assert_array_equal(w.data, values[1])


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_the_wrong_gradient_is_named_with_its_shape_and_dtype(cls):
    opt, closure, (b, w) = problem(cls)

    def bad_closure():
        loss = closure()
        w.grad = mg.tensor(np.ones(4, dtype=np.float32))
        return loss

    with pytest.raises(OptimizerError, match=r"its \.grad has shape \(4,\) and dtype float32"):
        opt.step(bad_closure)


# ----- hyperparameters every optimizer shares -------------------------------------------------------


@pytest.mark.parametrize("lr", [np.inf, -np.inf, np.nan, -1.0, "0.1", True])
@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_a_learning_rate_that_is_not_a_finite_number_is_refused(cls, lr):
    p = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(OptimizerError, match=f"^{cls.__name__}: .*lr"):
        cls([p], **{**SETTINGS[cls.__name__], "lr": lr})


# ----- state dicts that are refused -----------------------------------------------------------------


def valid(cls):
    """A valid state dict of ``cls`` (after three steps), a fresh copy each time."""
    return trained(cls, seed=1)[0].state_dict()


def first_array_key(entry):
    return next((k for k, v in entry.items() if isinstance(v, mg.Tensor)), None)


def edit(cls, change):
    """A valid state dict of ``cls`` with ``change(state_dict)`` applied."""
    state_dict = valid(cls)
    change(state_dict)
    return state_dict


def set_first_array(cls, value):
    def change(sd):
        entry = sd["state"][0]
        entry[first_array_key(entry)] = value(entry[first_array_key(entry)].numpy())

    return edit(cls, change)


# (name, how to spoil a valid dict, the error's words): the first four spoil a state array, so
# they apply to the optimizers that keep arrays; the rest to every optimizer.
SPOILED = [
    ("a () array for a state array",
     lambda cls: set_first_array(cls, lambda a: np.zeros(())), r"has shape \(\)"),
    ("a Tensor of the wrong shape",
     lambda cls: set_first_array(cls, lambda a: mg.tensor(np.zeros(a.size + 1))),
     r"has shape \(\d+,\)"),
    ("an integer array",
     lambda cls: set_first_array(cls, lambda a: a.astype(np.int64)), "has dtype int64"),
    ("a list for a state array",
     lambda cls: set_first_array(cls, lambda a: a.tolist()), "must be an array"),
    ("an unknown state key",
     lambda cls: edit(cls, lambda sd: sd["state"][0].update(bogus=1)), r"keys \['bogus'\]"),
    ("state for a parameter no group lists",
     lambda cls: edit(cls, lambda sd: sd["state"].update({9: {}})), "parameter 9"),
    ("a state entry that is not a dict",
     lambda cls: edit(cls, lambda sd: sd["state"].update({0: [1, 2]})), "must be a dict"),
    ("a parameter index that is not a number",
     lambda cls: edit(cls, lambda sd: sd["state"].update({"w": {}})), "index must be an integer"),
    ("a group without params",
     lambda cls: edit(cls, lambda sd: sd["param_groups"][0].pop("params")), "'params' list"),
    ("a group of the wrong size",
     lambda cls: edit(cls, lambda sd: sd["param_groups"][0]["params"].pop()), "holds 1 param"),
    ("a parameter index listed twice",
     lambda cls: edit(cls, lambda sd: sd["param_groups"][0].update(params=[0, 0])), "twice"),
    ("a group that is not a dict",
     lambda cls: edit(cls, lambda sd: sd.update(param_groups=[[0, 1]])), "must be a dict"),
    ("one group too many",
     lambda cls: edit(cls, lambda sd: sd["param_groups"].append(sd["param_groups"][0])),
     "2 parameter groups saved, 1 here"),
    ("an infinite lr",
     lambda cls: edit(cls, lambda sd: sd["param_groups"][0].update(lr=np.inf)),
     r"param_groups\[0\]: .*Invalid learning rate: inf"),
    ("a string lr",
     lambda cls: edit(cls, lambda sd: sd["param_groups"][0].update(lr="fast")),
     "lr must be a number, got 'fast'"),
    ("no 'state'", lambda cls: {"param_groups": valid(cls)["param_groups"]}, "'state'"),
    ("not a dict", lambda cls: [valid(cls)], "expected a dict"),
]  # fmt: skip


KEEPS_ARRAYS = {c for c in OPTIMIZERS if first_array_key(valid(c)["state"][0]) is not None}
CASES = [
    (cls, *spoiled)
    for cls in OPTIMIZERS
    for k, spoiled in enumerate(SPOILED)
    if k >= 4 or cls in KEEPS_ARRAYS
]


def test_the_array_cases_cover_the_optimizers_that_keep_arrays():
    assert {c.__name__ for c in OPTIMIZERS} - {c.__name__ for c in KEEPS_ARRAYS} == {
        "Newton", "NewtonCG"  # counters and the damping: no arrays
    }  # fmt: skip


@pytest.mark.parametrize(
    "cls, name, spoil, match", CASES, ids=[f"{c[0].__name__}-{c[1]}" for c in CASES]
)
def test_a_spoiled_state_dict_is_refused_and_changes_nothing(cls, name, spoil, match):
    assert_refused_and_unchanged(cls, spoil(cls), match)


# Per optimizer: a count that is not one, a missing key, a bad value of its own kind.
OWN = [
    ("SGD", lambda sd: sd["state"][1].update(step=3), r"keys \['step'\]"),
    ("Adam", lambda sd: sd["state"][1].update(step=-1), "'step' must be a count"),
    ("Adam", lambda sd: sd["state"][1].pop("exp_avg_sq"), r"lacks \['exp_avg_sq'\]"),
    ("Adam", lambda sd: sd["param_groups"][0].update(betas=0.9), r"betas must be a pair"),
    ("Adam", lambda sd: sd["param_groups"][0].update(amsgrad="no"), "True or False"),
    ("AdamW", lambda sd: sd["state"][1].update(step=2.5), "'step' must be a count"),
    ("NAdam", lambda sd: sd["state"][1].update(mu_product=1.5), "'mu_product' must be a finite"),
    ("NAdam", lambda sd: sd["state"][1].pop("mu_product"), r"lacks \['mu_product'\]"),
    ("NAdam", lambda sd: sd["param_groups"][0].update(momentum_decay=-1), "momentum_decay value"),
    ("RAdam", lambda sd: sd["param_groups"][0].update(decoupled_weight_decay=1), "True or False"),
    ("Adamax", lambda sd: sd["state"][0].pop("exp_inf"), r"lacks \['exp_inf'\]"),
    ("Adamax", lambda sd: sd["state"][0].update(exp_avg_sq=1.0), r"keys \['exp_avg_sq'\]"),
    ("Adagrad", lambda sd: sd["state"][1].pop("sum"), r"lacks \['sum'\]"),
    ("RMSprop", lambda sd: sd["param_groups"][0].update(alpha=np.nan), "Invalid alpha value"),
    ("Adadelta", lambda sd: sd["param_groups"][0].update(rho=2.0), "Invalid rho value: 2.0"),
    ("LBFGS", lambda sd: sd["state"].update({1: sd["state"].pop(0)}), "index 0"),
    ("LBFGS", lambda sd: sd["state"][0].pop("d"), r"lacks \['d'\]"),
    ("LBFGS", lambda sd: sd["state"][0]["ro"].append(1.0), "old_dirs, old_stps and ro"),
    ("LBFGS", lambda sd: sd["state"][0].update(al=[None]), "'al' has 1 entries"),
    ("LBFGS", lambda sd: sd["param_groups"][0].update(history_size=2.0), "history_size"),
    ("Newton", lambda sd: sd["state"][0].update(nu=0.0), "'nu' must be a finite number > 0"),
    ("Newton", lambda sd: sd["param_groups"][0].update(chunk_size=0), "chunk_size"),
    ("NewtonCG", lambda sd: sd["state"][0].update(negative_curvature="no"), "True or False"),
    ("NewtonCG", lambda sd: sd["param_groups"][0].update(cg_iters=1.5), "cg_iters"),
]


@pytest.mark.parametrize("name, change, match", OWN, ids=[f"{o[0]}-{o[2]}" for o in OWN])
def test_an_optimizers_own_state_is_checked(name, change, match):
    cls = getattr(mg.optim, name)
    assert_refused_and_unchanged(cls, edit(cls, change), match)


def test_adam_state_into_sgd_is_refused_by_name():
    """Another optimizer's state: refused, naming the keys SGD does not use (PyTorch would load
    it, and SGD would carry Adam's moments along unused)."""
    adam = trained(mg.optim.Adam)[0].state_dict()
    message = r"'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step'\] that SGD does not use"
    assert_refused_and_unchanged(mg.optim.SGD, adam, message)


def test_state_for_a_parameter_of_another_shape_names_both():
    sd = valid(mg.optim.Adam)
    sd["state"][0], sd["state"][1] = sd["state"][1], sd["state"][0]  # b's for w, w's for b
    with pytest.raises(
        OptimizerError, match=r"'\w+' has shape \(3, 4\), but must have shape \(4,\)"
    ):
        trained(mg.optim.Adam)[0].load_state_dict(sd)


# ----- state dicts that load ------------------------------------------------------------------------


def as_tensors(value):
    """The state dict with every array as a Tensor (what ``mg.load`` gives for saved Tensors)."""
    if isinstance(value, np.ndarray):
        return mg.tensor(value)
    if isinstance(value, dict):
        return {k: as_tensors(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_tensors(v) for v in value]
    return value


@pytest.mark.parametrize("form", ["saved and loaded", "Tensors"])
@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_a_state_dict_through_save_and_load_resumes_exactly(cls, form, tmp_path):
    """Load into a fresh optimizer (other lr) at the same parameters: the next two steps are
    those of the original."""
    opt, closure, params = trained(cls)
    state_dict = opt.state_dict()
    if form == "saved and loaded":
        mg.save(state_dict, tmp_path / "opt.npz")
        state_dict = mg.load(tmp_path / "opt.npz")
    else:
        state_dict = as_tensors(state_dict)
    other, other_closure, other_params = problem(cls)
    for p, q in zip(other_params, params):
        p.data[...] = q.data
    other.param_groups[0]["lr"] = 0.5
    other.load_state_dict(state_dict)
    assert other.param_groups[0]["lr"] == SETTINGS[cls.__name__].get("lr", opt.defaults["lr"])
    for _ in range(2):
        opt.step(closure)
        other.step(other_closure)
    for p, q in zip(other_params, params):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_the_loaded_state_shares_nothing_with_the_dict(cls):
    opt = trained(cls)[0]
    state_dict = valid(cls)
    opt.load_state_dict(state_dict)
    before = snapshot(opt, [])
    for entry in state_dict["state"].values():
        for value in entry.values():
            if isinstance(value, mg.Tensor):
                value.numpy()[...] = 7.0
    state_dict["param_groups"][0]["lr"] = 7.0
    assert snapshot(opt, []) == before


def test_state_arrays_are_cast_to_the_parameters_dtype():
    """As PyTorch: float64 state loaded for a float32 parameter becomes float32."""
    p = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = mg.optim.Adam([p])
    saved = {"step": 2, "exp_avg": np.full(3, 0.1), "exp_avg_sq": np.full(3, 0.01)}
    opt.load_state_dict({"state": {0: saved}, "param_groups": opt.state_dict()["param_groups"]})
    assert all(opt.state[p][k].dtype == np.float32 for k in ("exp_avg", "exp_avg_sq"))
    assert opt.state[p]["step"] == 2


def test_a_pytorch_style_float_step_is_a_count():
    """PyTorch keeps ``step`` as a float tensor: an integral float (or 0-d array) is taken."""
    p = mg.tensor(np.ones(2), requires_grad=True)
    opt = mg.optim.Adam([p])
    zeros = np.zeros(2)
    for step in (3.0, np.array(3.0), mg.tensor(3.0)):
        saved = {"step": step, "exp_avg": zeros, "exp_avg_sq": zeros}
        opt.load_state_dict({"state": {0: saved}, "param_groups": opt.state_dict()["param_groups"]})
        assert opt.state[p]["step"] == 3 and isinstance(opt.state[p]["step"], int)


def test_an_optimizer_that_declares_no_state_still_checks_shapes():
    """A user's subclass without ``state_slots``: any keys, but arrays of the parameter's shape."""

    class Sign(Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def update(self, p, grad, state, group):
            state["last"] = np.sign(grad)
            p.add_(state["last"], alpha=-group["lr"])

    p = mg.tensor(np.ones((2, 2)), requires_grad=True)
    opt = Sign([p])
    groups = opt.state_dict()["param_groups"]
    opt.load_state_dict({"state": {0: {"last": mg.tensor(np.ones((2, 2))), "n": 3}},
                         "param_groups": groups})  # fmt: skip
    assert isinstance(opt.state[p]["last"], np.ndarray) and opt.state[p]["n"] == 3
    with pytest.raises(OptimizerError, match=re.escape("'last' has shape (2,)")):
        opt.load_state_dict({"state": {0: {"last": np.ones(2)}}, "param_groups": groups})
    assert opt.state[p]["last"].shape == (2, 2)


def test_a_state_dict_without_state_sets_only_the_hyperparameters():
    opt, closure, params = trained(mg.optim.Adam)
    sd = copy.deepcopy(opt.state_dict())
    sd["param_groups"][0]["lr"] = 0.5
    fresh = problem(mg.optim.Adam)[0]
    fresh.load_state_dict({**sd, "state": {}})
    assert fresh.param_groups[0]["lr"] == 0.5 and fresh.state == {}


def test_state_dict_arrays_are_tensors_that_keep_this_moment():
    """As PyTorch's, the state's arrays come as Tensors (``exp_avg``, ``exp_avg_sq``); they are
    copies, so neither further steps nor writes into them reach the other side."""
    opt, closure, params = trained(mg.optim.Adam)
    entry = opt.state_dict()["state"][0]
    assert type(entry["exp_avg"]) is mg.Tensor and type(entry["exp_avg_sq"]) is mg.Tensor
    assert not entry["exp_avg"].requires_grad and entry["step"] == 3
    kept = entry["exp_avg"].numpy().copy()
    before = snapshot(opt, params)
    entry["exp_avg"].numpy()[...] = 7.0
    assert snapshot(opt, params) == before
    opt.step(closure)
    assert not np.array_equal(opt.state_dict()["state"][0]["exp_avg"].numpy(), kept)
