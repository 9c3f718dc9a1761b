"""``Program``: a recorded run as a flat list of numpy calls, and its replay.

A step is one call: the function numpy was called with, its arguments with ``Slot`` in place of
each array, and the slots its results go to. A replay fills the slots of the inputs and of the
arrays read from outside, then runs the steps in order: the same numpy calls on the same kinds
of arrays in the same order as the eager run, so the same results, bit for bit. Steps whose
results nothing needs (the eager run's bookkeeping) are dropped; steps that write into an array
are kept.
"""

from __future__ import annotations

import numpy as np

from ..errors import MinigradError
from . import folding
from .sources import check_no_grad, set_grad
from .steps import Slot, Step, result_slots, slots_in


class CompileError(MinigradError, RuntimeError):
    """A function ``mg.compile`` cannot capture (with ``fullgraph=True``), or a replay that
    differs from the eager run (with ``check=True``)."""


class _Interface:
    """An object numpy makes an array from (``__array_interface__``), keeping ``base`` alive."""

    def __init__(self, interface, base):
        self.__array_interface__ = interface
        self.base = base


def strided_view(owner: np.ndarray, offset: int, shape, strides, dtype) -> np.ndarray:
    """The view of ``owner``'s memory at byte ``offset`` with ``shape`` and ``strides``."""
    interface = dict(owner.__array_interface__)
    interface.update(
        data=(interface["data"][0] + offset, False), shape=tuple(shape), strides=tuple(strides),
        typestr=np.dtype(dtype).str, descr=np.dtype(dtype).descr,
    )  # fmt: skip
    interface.pop("mask", None)
    return np.asarray(_Interface(interface, owner))


class _Source:
    """Python source of a replay: one line per step, constants by name."""

    def __init__(self):
        self.constants: dict[str, object] = {}
        self.lines: list[str] = []

    def constant(self, value) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def expression(self, x) -> str:
        if type(x) is Slot:
            return f"s{x.n}"
        if not any(True for _ in slots_in(x)):
            return self.constant(x)  # NOTE: the object itself (a state dict is written to)
        if type(x) is tuple:
            return "(" + "".join(self.expression(v) + ", " for v in x) + ")"
        if type(x) is list:
            return "[" + ", ".join(self.expression(v) for v in x) + "]"
        if type(x) is dict and all(type(k) is str and k.isidentifier() for k in x):
            return "{" + ", ".join(f"{k!r}: {self.expression(v)}" for k, v in x.items()) + "}"
        return self.constant(x)

    def call(self, step: Step) -> str:
        args = [self.expression(a) for a in step.args]
        if step.kwargs and all(type(k) is str and k.isidentifier() for k in step.kwargs):
            args += [f"{k}={self.expression(v)}" for k, v in step.kwargs.items()]
        elif step.kwargs:
            args.append(f"**{self.expression(step.kwargs)}")
        call = f"{self.constant(step.fn)}({', '.join(args)})"
        return f"asarray({call})" if step.as_array else call


def _targets(results) -> str:
    if type(results) is int:
        return f"s{results}"
    return "(" + "".join(_targets(r) + ", " for r in results) + ")"


def _without_unread_grads(steps):
    """The steps without a ``.grad`` set to None that a later set replaces before anything reads
    it (``zero_grad`` then ``backward``), nor the checks that it is None right after."""
    unread, dropped = {}, set()  # id(tensor) -> the step that set its .grad to None
    for i, step in enumerate(steps):
        if step.fn is set_grad:
            if id(step.args[0]) in unread:
                dropped.add(unread.pop(id(step.args[0])))
            if step.args[1] is None:
                unread[id(step.args[0])] = i
        elif step.fn is check_no_grad and id(step.args[0]) in unread:
            dropped.add(i)  # it holds: the replay has just set it
    return [step for i, step in enumerate(steps) if i not in dropped]


def _guards_first(steps, externals: set):
    """The steps with the guards that depend only on what is read from outside (a state dict's
    entries, the truth of a hyperparameter or a step count), and the arithmetic on recorded
    numbers they need, moved to the start: they fail before anything is written."""
    early, first, rest, seen = set(externals), [], [], set()
    for step in steps:
        reads = step.slots()
        if step.kind in ("python", "guard") and all(n in early for n in reads):
            if step.kind == "guard":  # the same check twice (one per parameter): once
                key = (step.fn, tuple(reads), repr(step.args))
                if key in seen:
                    continue
                seen.add(key)
            first.append(step)
            early.update(result_slots(step.results))
        else:
            rest.append(step)
    return first + rest


def _writes_before_a_guard(steps) -> tuple[bool, list]:
    """What a replay writes outside before its last guard, which a failing guard must undo:
    (whether arrays or state entries are written: a snapshot of everything; else the tensors
    whose ``.grad`` alone is set, as ``zero_grad`` does: their ``.grad`` put back)."""
    last = max((i for i, s in enumerate(steps) if s.kind in ("guard", "check")), default=-1)
    before = steps[:last]
    grads = [s.args[0] for s in before if s.kind == "effect" and s.fn is set_grad]
    heavy = any(s.kind == "outside" or s.kind == "effect" and s.fn is not set_grad for s in before)
    return heavy, list({id(t): t for t in grads}.values())


class Program:
    """The steps of a recording, ready to replay: ``run(inputs) -> slots``.

    The replay is one generated Python function, a line per step with a local variable per
    slot (the fastest Python calls numpy), and a ``del`` after each array's last use, so that
    memory is freed as soon as the eager run would free it or sooner.
    """

    def __init__(self, steps, slots: int, inputs: dict, externals: dict, outputs, memory=None,
                 makers=()):  # fmt: skip
        self.slots = slots
        self.inputs = list(inputs.items())  # (slot, flat input position)
        self.externals = list(externals.items())  # (slot, (reader, its arguments))
        self.outputs = list(dict.fromkeys(outputs))  # slots the caller reads after a run
        steps = _without_unread_grads(self._needed(steps))
        # Arrays made from literals alone, computed once here (folding.py)
        steps, self.constants = folding.fold(steps, memory or {}, set(makers), set(self.outputs))
        self.steps = _guards_first(steps, {slot for slot, _ in self.externals})
        # A guard that may fail after the replay has written outside (a truth value of data
        # read after an update): such a replay runs inside a snapshot (``compiled.py``), or,
        # when only .grad is set before it (zero_grad), puts those back.
        self.transactional, self.grads_to_undo = _writes_before_a_guard(self.steps)
        self.replay = self._generate()

    def _needed(self, steps):
        """The steps that a result, a guard or a write depends on, in order (a guard is a step
        that writes: it is always kept)."""
        needed = set(self.outputs)
        kept = []
        for step in reversed(steps):
            made = result_slots(step.results)
            if step.writes or any(n in needed for n in made):
                kept.append(step)
                needed.update(step.slots())
        kept.reverse()
        return kept

    def _generate(self):
        source = _Source()
        lines = ["def replay(inputs):"]
        for slot, position in self.inputs:
            lines.append(f"    s{slot} = inputs[{position}]")
        read = {n for step in self.steps for n in step.slots()} | set(self.outputs)
        for slot, value in self.constants.items():
            if slot in read:
                lines.append(f"    s{slot} = {source.constant(value)}")
        used = {n for step in self.steps for n in step.slots()} | set(self.outputs)
        for slot, (read, args) in self.externals:
            if slot not in used:  # NOTE: only what the kept steps read is read
                continue
            if read is None:  # an array held by reference (from a closure)
                lines.append(f"    s{slot} = {source.constant(args[0])}")
            else:
                arguments = ", ".join(source.constant(a) for a in args)
                lines.append(f"    s{slot} = {source.constant(read)}({arguments})")
        last_use = {}
        for i, step in enumerate(self.steps):
            for n in step.slots():
                last_use[n] = i
        kept = set(self.outputs)
        for i, step in enumerate(self.steps):
            call = source.call(step)
            made = step.results
            lines.append(f"    {_targets(made)} = {call}" if made is not None else f"    {call}")
            done = [n for n in dict.fromkeys(step.slots()) if last_use[n] == i and n not in kept]
            unused = [n for n in result_slots(made) if n not in last_use and n not in kept]
            if done or unused:
                lines.append("    del " + ", ".join(f"s{n}" for n in done + unused))
        outputs = "".join(f"s{n}, " for n in self.outputs)
        lines.append(f"    return ({outputs})")
        namespace = dict(source.constants, asarray=np.asarray)
        exec("\n".join(lines), namespace)  # noqa: S102 (our own generated source)
        self.source = "\n".join(lines)
        return namespace["replay"]

    def run(self, inputs) -> dict:
        """Replay on the flat input arrays; the output slots' arrays by slot."""
        return dict(zip(self.outputs, self.replay(inputs)))
