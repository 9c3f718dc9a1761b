"""Checking an optimizer state dict before ``Optimizer.load_state_dict`` applies any of it.

The layout is PyTorch's: ``{"state": {index: {key: value}}, "param_groups": [{..., "params":
[indices]}]}``, with the parameters numbered across the groups in order. Everything is checked
first (the groups' sizes and indices, every hyperparameter's kind and range, every state entry's
key, shape, dtype and kind); only then is a new ``(param_groups, state)`` returned, made of
copies, so a refused dict leaves the optimizer as it was and a loaded one shares nothing with the
dict it came from.

What each optimizer keeps is declared on its class as ``state_slots`` (key -> one of the slot
kinds below) and ``required_state`` (keys a non-empty entry must hold). Arrays may come as numpy
arrays or Tensors (``mg.load`` returns either) and are cast to the parameter's dtype, as PyTorch
casts them to the parameter's; counts may come as ints or integral floats (PyTorch's ``step`` is
a float tensor).
"""

from __future__ import annotations

import copy

import numpy as np

from ..tensor import Tensor
from .checks import Limits, OptimizerError, check, is_flag, is_integer, is_real

# ----- slot kinds: (value, where, shape, dtype) -> a checked copy ---------------------------------
# ``shape``/``dtype`` are what an array in this state must have: the parameter's, or the flat
# vector's for the optimizers that see all parameters as one (LBFGS).


def _array_of(value):
    """The ndarray inside a numpy array, numpy scalar or Tensor; None for anything else."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray | np.generic):
        return np.asarray(value)
    return None


def array_slot(value, where: str, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An array of ``shape`` whose dtype has ``dtype``'s kind; returned as a copy in ``dtype``."""
    array = _array_of(value)
    check(
        array is not None,
        f"{where} must be an array (or Tensor) of shape {shape}, got {type(value).__name__}",
    )
    check(
        array.shape == tuple(shape),
        f"{where} has shape {array.shape}, but must have shape {tuple(shape)} to fit the "
        f"parameters; was it saved for another model?",
    )
    check(
        array.dtype.kind == dtype.kind,
        f"{where} has dtype {array.dtype}, but the parameter's is {dtype}",
    )
    return np.array(array, dtype=dtype, copy=True)


def array_list_slot(value, where: str, shape: tuple, dtype: np.dtype) -> list:
    """A list of arrays, each as ``array_slot``."""
    check(isinstance(value, list | tuple), f"{where} must be a list of arrays, got {value!r:.60}")
    return [array_slot(a, f"{where}[{i}]", shape, dtype) for i, a in enumerate(value)]


def _scalar(value):
    """A 0-d array or Tensor as a Python number; anything else as it is."""
    array = _array_of(value)
    return array.item() if array is not None and array.shape == () else value


def count_slot(value, where: str, shape=None, dtype=None) -> int:
    """A count >= 0: an int, or an integral float (PyTorch keeps ``step`` as a float)."""
    value = _scalar(value)
    ok = is_integer(value) or (is_real(value) and float(value).is_integer())
    check(ok and value >= 0, f"{where} must be a count (an integer >= 0), got {value!r:.60}")
    return int(value)


def flag_slot(value, where: str, shape=None, dtype=None) -> bool:
    """A bool."""
    value = _scalar(value)
    check(is_flag(value), f"{where} must be True or False, got {value!r:.60}")
    return bool(value)


def number_slot(limits: Limits):
    """A number within ``limits``."""

    def slot(value, where: str, shape=None, dtype=None):
        value = _scalar(value)
        check(limits.allows(value), f"{where} must be {limits.describe()}, got {value!r:.60}")
        return value

    return slot


def number_list_slot(limits: Limits):
    """A list of numbers within ``limits`` (``None`` too if ``limits.optional``)."""
    one = number_slot(limits)

    def slot(value, where: str, shape=None, dtype=None) -> list:
        check(isinstance(value, list | tuple), f"{where} must be a list, got {value!r:.60}")
        return [one(v, f"{where}[{i}]") for i, v in enumerate(value)]

    return slot


# ----- the whole dict -----------------------------------------------------------------------------


def _index(value, where: str) -> int:
    """A parameter index: an int (or its decimal string, as JSON writes dict keys)."""
    if isinstance(value, str) and value.isdecimal():
        value = int(value)
    check(
        is_integer(value) and value >= 0,
        f"{where}: a parameter index must be an integer >= 0, got {value!r:.60}",
    )
    return int(value)


def checked_state_dict(optimizer, state_dict) -> tuple[list[dict], dict]:
    """The ``(param_groups, state)`` that loading ``state_dict`` into ``optimizer`` gives, after
    checking all of it; raises ``OptimizerError`` (and changes nothing) on the first problem."""
    name = f"{type(optimizer).__name__}.load_state_dict"
    check(
        isinstance(state_dict, dict) and {"state", "param_groups"} <= set(state_dict),
        f"{name}: expected a dict with 'state' and 'param_groups' (from state_dict()), got "
        f"{type(state_dict).__name__}"
        + (f" with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict) else ""),
    )
    saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
    check(
        isinstance(saved_groups, list | tuple) and isinstance(saved_state, dict),
        f"{name}: 'param_groups' must be a list of dicts and 'state' a dict, got "
        f"{type(saved_groups).__name__} and {type(saved_state).__name__}",
    )
    check(
        len(saved_groups) == len(optimizer.param_groups),
        f"{name}: {len(saved_groups)} parameter groups saved, {len(optimizer.param_groups)} here",
    )
    groups, owner = [], {}  # owner: saved index -> (parameter, its new group)
    for g, (saved, group) in enumerate(zip(saved_groups, optimizer.param_groups)):
        where = f"{name}: param_groups[{g}]"
        check(
            isinstance(saved, dict) and isinstance(saved.get("params"), list | tuple),
            f"{where} must be a dict with a 'params' list of parameter indices",
        )
        check(
            len(saved["params"]) == len(group["params"]),
            f"{where} holds {len(saved['params'])} parameters, the optimizer's group "
            f"{len(group['params'])}",
        )
        odd = [k for k in saved if not isinstance(k, str)]
        check(not odd, f"{where} has keys that are not names: {odd!r:.80}")
        full = {**group, **{k: v for k, v in saved.items() if k != "params"}}
        full["params"] = group["params"]
        try:
            optimizer.check_group(full)
        except OptimizerError as error:
            raise OptimizerError(f"{where}: {error}") from None
        groups.append(full)
        for i, p in zip(saved["params"], group["params"]):
            i = _index(i, where)
            check(i not in owner, f"{where}: parameter index {i} is listed twice")
            owner[i] = (p, full)
    state = {}
    # the flat optimizers (global_state) keep theirs on the first parameter, as PyTorch's LBFGS
    first = groups[0]["params"][0] if groups[0]["params"] else None
    first_index = _index(saved_groups[0]["params"][0], name) if first is not None else 0
    for i, entry in saved_state.items():
        i = _index(i, f"{name}: state")
        check(i in owner, f"{name}: state for parameter {i}, which no group lists")
        p, group = owner[i]
        check(p not in state, f"{name}: state for parameter {i} is given twice")
        check(
            not optimizer.global_state or p is first,
            f"{name}: state for parameter {i}; {type(optimizer).__name__} keeps its state on the "
            f"first parameter (index {first_index})",
        )
        check(
            isinstance(entry, dict),
            f"{name}: state of parameter {i} must be a dict, got {type(entry).__name__}",
        )
        state[p] = checked_entry(optimizer, entry, f"{name}: state of parameter {i}", p, group)
    return groups, state


def checked_entry(optimizer, entry: dict, where: str, p: Tensor, group: dict) -> dict:
    """One parameter's state, each key checked by its slot, then as a whole."""
    slots = optimizer.state_slots
    if slots is None:  # an optimizer that does not declare its state (a user's subclass)
        checked = {key: _undeclared(value, f"{where}: '{key}'", p) for key, value in entry.items()}
        optimizer.check_state(checked, group, where)
        return checked
    # NOTE: PyTorch keeps whatever state it is given. Unknown keys are refused here instead: a
    # key this optimizer never reads is the sign of a state dict from another optimizer (Adam's
    # into SGD) or another version, and accepting it half-way would mix two optimizers' state
    # (Adam's 'step' read as RMSprop's) or fail at the next step, after some parameters moved.
    unknown = sorted(str(k) for k in entry if k not in slots)
    check(
        not unknown,
        f"{where} has keys {unknown} that {type(optimizer).__name__} does not use (it keeps "
        f"{sorted(slots)}); was it saved by another optimizer? Load a state dict saved from "
        f"{type(optimizer).__name__}, or pass 'state': {{}} to load only the hyperparameters",
    )
    shape, dtype = optimizer.state_layout(p)
    checked = {
        key: slots[key](value, f"{where}: '{key}'", shape, dtype) for key, value in entry.items()
    }
    optimizer.check_state(checked, group, where)
    return checked


def _undeclared(value, where: str, p: Tensor):
    """An entry of undeclared state: an array must have the parameter's shape (or be a scalar);
    anything else is kept as a copy."""
    array = _array_of(value)
    if array is None:
        return copy.deepcopy(value)
    if array.shape == ():
        return array.copy()
    return array_slot(array, where, p.shape, array.dtype)


def check_required(optimizer, entry: dict, where: str) -> None:
    """A non-empty entry holds every key in ``optimizer.required_state`` (an empty one means the
    parameter has not been updated yet, as PyTorch's)."""
    missing = [k for k in optimizer.required_state if k not in entry]
    check(
        not entry or not missing,
        f"{where} lacks {missing}; {type(optimizer).__name__} keeps "
        f"{sorted(optimizer.required_state)} together (or none, for a parameter not updated yet)",
    )
