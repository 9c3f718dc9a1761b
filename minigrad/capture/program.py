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


class CompileError(MinigradError, RuntimeError):
    """A function ``mg.compile`` cannot capture (with ``fullgraph=True``), or a replay that
    differs from the eager run (with ``check=True``)."""


class GuardFailed(Exception):
    """A replay's truth value differs from the recording's: record again."""


class Slot:
    """An array's place in a recording."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __repr__(self):
        return f"Slot({self.n})"


class Step:
    """``results = fn(*args, **kwargs)`` with slots for arrays."""

    __slots__ = ("fn", "args", "kwargs", "results", "writes")

    def __init__(self, fn, args, kwargs, results, writes=False):
        self.fn, self.args, self.kwargs, self.results, self.writes = (
            fn,
            args,
            kwargs,
            results,
            writes,
        )

    def slots(self):
        """The slots the call reads."""
        return list(_slots((self.args, self.kwargs)))


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


def _slots(x):
    if type(x) is Slot:
        yield x.n
    elif type(x) is tuple or type(x) is list:
        for v in x:
            yield from _slots(v)
    elif type(x) is dict:
        for v in x.values():
            yield from _slots(v)


def _result_slots(results):
    if results is None:
        return []
    if type(results) is int:
        return [results]
    return [n for r in results for n in _result_slots(r)]


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
        return f"{self.constant(step.fn)}({', '.join(args)})"


def _targets(results) -> str:
    if type(results) is int:
        return f"s{results}"
    return "(" + "".join(_targets(r) + ", " for r in results) + ")"


class Program:
    """The steps of a recording, ready to replay: ``run(inputs) -> slots``.

    The replay is one generated Python function, a line per step with a local variable per
    slot (the fastest Python calls numpy), and a ``del`` after each array's last use, so that
    memory is freed as soon as the eager run would free it or sooner.
    """

    def __init__(self, steps, slots: int, inputs: dict, externals: dict, outputs):
        self.slots = slots
        self.inputs = list(inputs.items())  # (slot, flat input position)
        self.externals = list(externals.items())  # (slot, (tensor or None, array))
        self.outputs = list(dict.fromkeys(outputs))  # slots the caller reads after a run
        self.steps = self._needed(steps)
        self.replay = self._generate()

    def _needed(self, steps):
        """The steps that a result, a guard or a write depends on, in order (a guard is a step
        that writes: it is always kept)."""
        needed = set(self.outputs)
        kept = []
        for step in reversed(steps):
            made = _result_slots(step.results)
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
        for slot, (tensor, array) in self.externals:
            if tensor is None:
                lines.append(f"    s{slot} = {source.constant(array)}")
            else:
                t, a = source.constant(tensor), source.constant(array)
                lines.append(f"    s{slot} = current({t}, {a})")
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
            unused = [n for n in _result_slots(made) if n not in last_use and n not in kept]
            if done or unused:
                lines.append("    del " + ", ".join(f"s{n}" for n in done + unused))
        outputs = "".join(f"s{n}, " for n in self.outputs)
        lines.append(f"    return ({outputs})")
        namespace = dict(source.constants, current=_current)
        exec("\n".join(lines), namespace)  # noqa: S102 (our own generated source)
        self.source = "\n".join(lines)
        return namespace["replay"]

    def run(self, inputs) -> dict:
        """Replay on the flat input arrays; the output slots' arrays by slot."""
        return dict(zip(self.outputs, self.replay(inputs)))


def check_truth(value, expected: bool) -> None:
    """A guard: the truth value the recording read must be read again."""
    if bool(value) != expected:
        raise GuardFailed


def _current(tensor, recorded: np.ndarray) -> np.ndarray:
    """The tensor's array now; a replay reads it, so a parameter rebound to a new array of the
    same form is seen. Another form is a changed input: record again."""
    data = tensor.data
    if data is recorded:
        return data
    if (
        data.shape != recorded.shape
        or data.dtype != recorded.dtype
        or data.strides != recorded.strides
    ):
        raise GuardFailed
    return data
