"""Constant folding: the steps of a recording that compute the same arrays on every replay.

An eager run makes some arrays from nothing but literals: a gate's constants (``np.full`` and a
few writes), ``np.ones(())`` for a loss's first cotangent, a number as a 0-d array. A replay
would make them again each time; ``fold`` computes them once, when the program is built, and the
replay reads them as constants.

A step is folded when it is a pure numpy call (an array maker, a ufunc without ``out=``, a
method that reshapes or copies) whose arrays are all folded, or a literal set into a folded
array (``scale[2 * H : 3 * H] = 1``). An array is not folded when anything else writes into its
memory, when a view of it escapes (a result, a ``.grad``, a state entry: the caller may change
it in place), or when its memory is from outside.
"""

from __future__ import annotations

import numpy as np

from ..trees import tree_map
from .steps import Slot, Step, result_slots, slots_in

# ndarray methods that only reshape, view, copy or read
_PURE_METHODS = {
    getattr(np.ndarray, name)
    for name in ("__getitem__", "reshape", "astype", "copy", "swapaxes", "transpose", "ravel",
                 "squeeze", "view")
}  # fmt: skip
_SETITEM = np.ndarray.__setitem__


def fold(steps: list[Step], memory: dict, makers: set, keep: set):
    """(the steps left, {slot: its value}): ``keep`` are slots that must stay fresh (results,
    what effects read); ``memory`` maps a view's slot to the slot owning its memory (-1: from
    outside); ``makers`` are the array-making functions."""
    owner = lambda n: memory.get(n, n)  # noqa: E731
    constant: set[int] = set()
    spoiled: set[int] = {owner(n) for n in keep}  # memory that must stay fresh
    for step in steps:
        reads = step.slots()
        targets = _targets(step)
        # NOTE: writes fold only as a literal set into a made array (a gate's constants):
        # anything written with out= stays a step, and spoils the memory it writes into.
        pure = step.kind == "numpy" and "out" not in step.kwargs and (
            step.fn in makers or isinstance(step.fn, np.ufunc) or step.fn in _PURE_METHODS
            or (step.fn is _SETITEM and not any(slots_in(step.args[1:])))
        )  # fmt: skip
        if pure and all(n in constant for n in reads):
            constant.update(result_slots(step.results))
            continue
        for n in targets:  # written with what changes, or by a step that is not folded
            spoiled.add(owner(n))
        if step.kind in ("effect", "guard", "check", "outside"):
            spoiled.update(owner(n) for n in reads)
    folded = {
        n for n in constant if owner(n) not in spoiled and not (owner(n) == -1 and n in memory)
    }
    values: dict[int, object] = {}  # what is folded, computed
    left = []
    for step in steps:
        made = result_slots(step.results) or _targets(step)  # a write: into its target
        reads = step.slots()
        if made and all(n in folded for n in made) and all(n in values for n in reads):
            _evaluate(step, values)
        else:
            left.append(step)
    return left, values


def _targets(step: Step) -> list[int]:
    """The slots a step writes into."""
    if "out" in step.kwargs:
        out = step.kwargs["out"]
        return [o.n for o in (out if type(out) is tuple else (out,)) if type(o) is Slot]
    if step.writes and step.args and type(step.args[0]) is Slot:
        return [step.args[0].n]
    return []


def _evaluate(step: Step, values: dict) -> None:
    def value(x):
        return values[x.n] if type(x) is Slot else x

    result = step.fn(*tree_map(value, tuple(step.args)), **tree_map(value, step.kwargs))
    if step.as_array:
        result = np.asarray(result)
    _store(step.results, result, values)


def _store(results, result, values) -> None:
    if results is None:
        return
    if type(results) is int:
        values[results] = result
        return
    for r, v in zip(results, result):
        _store(r, v, values)
