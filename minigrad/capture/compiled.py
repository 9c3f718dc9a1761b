"""``mg.compile``: record a function's numpy work once, then replay it without the engine.

The first call with a new form of arguments runs eagerly and records (``recorder.Recorder``);
the next call with that form replays the recording and the eager function side by side once,
and trusts the replay only if the two agree bit for bit; from then on calls of that form replay
(``program.Program``): no Tensor, no tape, no mode switch per operation. ``check=True`` runs both
on every call and raises at the first difference.

What a recording depends on is guarded, never trusted:
- the form of the arguments: their nesting, each tensor's shape, dtype, strides and
  ``requires_grad``, the values of numbers and strings, the identity of other objects;
- the modes (grad mode, forward mode, anomaly detection);
- the names the function reads from its closure and its globals: the same objects, and the
  same values for numbers, strings and booleans (a global learning rate changed is seen);
- each truth value the recording read from a tensor (``if (x > 0).all():``), read again;
- the tensors read from outside: their current array is used, which must have the recorded
  shape, dtype and strides.
A changed guard records again (up to ``cache_size`` recordings are kept, by form). What cannot
be replayed (a value read into Python with ``.item()``, ``float()`` or ``.tolist()``; a ``.grad``
set on a tensor from outside, as ``backward()`` does; a ``.data`` rebound) is detected while
recording: the function then runs eagerly, with one warning, or raises ``CompileError`` with
``fullgraph=True``.
"""

from __future__ import annotations

import types
import warnings
from collections import OrderedDict

import numpy as np

from ..autodiff import mode, recording_into
from ..tensor import Tensor, constant
from ..trees import leaves, tree_map
from .program import CompileError, Program
from .recorder import MAKERS, Recorder
from .sources import GuardFailed
from .traced import active, plain
from .transaction import Snapshot

EAGER = "eager"  # a cache entry for a form whose recording cannot be replayed


class CompileWarning(UserWarning):
    """``mg.compile`` runs a function eagerly: what it does cannot be replayed."""


def compile(fn=None, *, fullgraph: bool = False, check: bool = False, disable: bool = False,
            cache_size: int = 8):  # fmt: skip
    """Capture and replay ``fn``, a function of Tensors (also as ``@mg.compile`` or
    ``@mg.compile(check=True)``). See ``docs/compile.md``.

    - ``fullgraph=True``: raise ``CompileError`` where the function cannot be replayed, instead
      of running it eagerly with a warning (as ``torch.compile``'s ``fullgraph``).
    - ``check=True``: run the replay and the eager function on every call and raise
      ``CompileError`` at the first result that differs in any bit.
    - ``disable=True``: return ``fn`` itself.
    - ``cache_size``: the recordings kept, one per form of the arguments.
    """
    if fn is None:
        return lambda f: compile(f, fullgraph=fullgraph, check=check, disable=disable,
                                 cache_size=cache_size)  # fmt: skip
    if not callable(fn):
        raise TypeError(f"mg.compile takes a function, got {type(fn).__name__}")
    if disable:
        return fn
    return Compiled(fn, fullgraph, check, cache_size)


class Compiled:
    """A function with its recordings (``mg.compile``'s result); call it as the function."""

    def __init__(self, fn, fullgraph, check, cache_size):
        self.fn, self.fullgraph, self.check, self.cache_size = fn, fullgraph, check, cache_size
        self.recordings: OrderedDict = OrderedDict()  # form -> Entry
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __repr__(self):
        return f"mg.compile({self.__name__}, {len(self.recordings)} recordings)"

    def __call__(self, *args, **kwargs):
        if active() is not None:  # inside another function's recording: part of it
            return self.fn(*args, **kwargs)
        arrays, form = [], []
        _flatten((args, kwargs), arrays, form)
        now = mode()
        key = (tuple(form), now.grad_enabled, now.forward_level, now.detect_anomaly)
        entry = self.recordings.get(key)
        if entry is not None and not entry.still_true():
            entry = None
        if entry is None:
            return self._record(key, args, kwargs, arrays)
        self.recordings.move_to_end(key)
        if entry.program is EAGER:
            return self.fn(*args, **kwargs)
        if entry.verified and not self.check:
            program = entry.program
            before = Snapshot.of(program) if program.transactional else None
            grads = [(t, t.grad) for t in program.grads_to_undo]
            try:
                return entry.outputs(program.run(arrays))
            except GuardFailed:
                if before is not None:
                    before.restore()
                for t, grad in grads:
                    t.grad = grad
                return self._record(key, args, kwargs, arrays)
        return self._verify(key, entry, args, kwargs, arrays)

    def _verify(self, key, entry, args, kwargs, arrays):
        """Replay and run eagerly from the same state; trust the replay if both end the same."""
        before = Snapshot.of(entry.program)
        try:
            replayed = entry.outputs(entry.program.run(arrays))
        except GuardFailed:
            before.restore()
            return self._record(key, args, kwargs, arrays)
        after_replay = before.again()
        before.restore()
        eager = self.fn(*args, **kwargs)
        difference = _difference(eager, replayed) or after_replay.difference(before.again())
        if difference is not None:
            if self.check:
                raise CompileError(f"mg.compile({self.__name__}, check=True): {difference}")
            self._give_up(key, f"its replay differs from the eager run ({difference})")
            return eager
        entry.verified = True
        return eager

    def _record(self, key, args, kwargs, arrays):
        recorder = Recorder()
        inputs, swapped = [], []
        with recorder:
            for position, array in enumerate(arrays):
                inputs.append(recorder.input(array, position))
            args, kwargs = _substitute((args, kwargs), iter(inputs), swapped)
            try:
                with recording_into(recorder):
                    result = self.fn(*args, **kwargs)
                outputs = _output_template(result, recorder)
            finally:
                for t, data in swapped:
                    t.data = data
        result = _plain_result(result)
        if recorder.broken is None and outputs is None:
            recorder.broken = "it returns a tensor that requires grad (with a graph)"
        if recorder.broken is not None:
            self._give_up(key, recorder.broken)
            return result
        program = Program(recorder.steps, recorder.slots, recorder.inputs, recorder.externals,
                          _template_slots(outputs), recorder.memory, MAKERS)  # fmt: skip
        guards = _closure_guards(self.fn) + list(recorder.guards.values())
        self._keep(key, Entry(program, outputs, guards))
        return result

    def _give_up(self, key, reason):
        message = f"mg.compile({self.__name__}) cannot replay this function: {reason}"
        if self.fullgraph:
            raise CompileError(message + " (fullgraph=True)")
        warnings.warn(message + "; it runs eagerly", CompileWarning, stacklevel=3)
        self._keep(key, Entry(EAGER, None, _closure_guards(self.fn)))

    def _keep(self, key, entry):
        self.recordings[key] = entry
        self.recordings.move_to_end(key)
        while len(self.recordings) > self.cache_size:
            self.recordings.popitem(last=False)


class Entry:
    """One recording: its program, how to build the outputs, the closure's guards."""

    def __init__(self, program, outputs, guards):
        self.program, self.template, self.guards, self.verified = program, outputs, guards, False

    def still_true(self) -> bool:
        for check in self.guards:  # noqa: SIM110 (a loop, not all() of a generator: every call)
            if not check():
                return False
        return True

    def outputs(self, env):
        return _build(self.template, env)


# ----- the form of the arguments -----------------------------------------------------------------

_VALUES = (int, float, bool, str, type(None), complex)


def _flatten(x, arrays, form):
    """Collect the arrays of Tensors and ndarrays in ``x`` and describe ``x``'s form."""
    if isinstance(x, Tensor):
        data = x.data
        arrays.append(data)
        form.append(("tensor", data.shape, data.dtype.str, data.strides, x.requires_grad))
    elif isinstance(x, np.ndarray):
        arrays.append(x)
        form.append(("array", x.shape, x.dtype.str, x.strides))
    elif type(x) is tuple or type(x) is list:
        form.append((type(x), len(x)))
        for v in x:
            _flatten(v, arrays, form)
    elif type(x) is dict:
        form.append((dict, tuple(x)))
        for v in x.values():
            _flatten(v, arrays, form)
    elif type(x) in _VALUES:
        form.append((type(x), x))
    else:
        form.append(("object", id(x)))


def _substitute(x, inputs, swapped):
    """``x`` with each tensor's data and each ndarray replaced by its recording view (in the
    order ``_flatten`` found them); tensors get their data back from ``swapped`` afterwards."""

    def leaf(v):
        if isinstance(v, Tensor):
            swapped.append((v, v.data))
            v.data = next(inputs)
            return v
        return next(inputs) if isinstance(v, np.ndarray) else v

    return tree_map(leaf, x)


# ----- outputs -----------------------------------------------------------------------------------


class _TensorOut:
    __slots__ = ("slot",)

    def __init__(self, slot):
        self.slot = slot


class _ArrayOut(_TensorOut):
    __slots__ = ()


def _output_template(result, recorder):
    """The result with slots for its tensors and arrays; None if a tensor has a graph."""

    def leaf(r):
        if isinstance(r, Tensor):
            node = r._node
            if node is not None and node.params is not None:  # a graph backward has not freed
                return None
            return _TensorOut(recorder.slot_of(r.data))
        if isinstance(r, np.ndarray):
            return _ArrayOut(recorder.slot_of(r))
        return _Literal(r)

    template = tree_map(leaf, result)
    return None if any(t is None for t in leaves(template)) else template


class _Literal:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _template_slots(template):
    return [t.slot for t in leaves(template) if isinstance(t, _TensorOut)]


def _build(template, env):
    def leaf(t):
        if type(t) is _TensorOut:
            return constant(env[t.slot])
        return env[t.slot] if type(t) is _ArrayOut else t.value

    return tree_map(leaf, template)


def _plain_result(result):
    """The eager result with plain arrays (the recording views are not handed out)."""

    def leaf(r):
        if isinstance(r, Tensor):
            r.data = plain(r.data)
            return r
        return plain(r) if isinstance(r, np.ndarray) else r

    return tree_map(leaf, result)


def _difference(eager, replayed, where="the result") -> str | None:
    """Where ``replayed`` differs from ``eager`` in any bit, or None."""
    if isinstance(eager, Tensor | np.ndarray):
        a = eager.data if isinstance(eager, Tensor) else eager
        b = replayed.data if isinstance(replayed, Tensor) else replayed
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{where}: {b.shape} {b.dtype} replayed, {a.shape} {a.dtype} eagerly"
        same = np.ascontiguousarray(a).view(np.uint8) == np.ascontiguousarray(b).view(np.uint8)
        if not same.all():
            return f"{where} differs (largest difference {np.max(np.abs(a - b))})"
        return None
    if type(eager) is tuple or type(eager) is list:
        for i, (e, r) in enumerate(zip(eager, replayed)):
            found = _difference(e, r, f"{where}[{i}]")
            if found:
                return found
        return None
    if type(eager) is dict:
        for k in eager:
            found = _difference(eager[k], replayed[k], f"{where}[{k!r}]")
            if found:
                return found
        return None
    return None if eager == replayed else f"{where}: {replayed!r} replayed, {eager!r} eagerly"


# ----- the names a function reads ----------------------------------------------------------------


def _closure_guards(fn) -> list:
    """Checks that the names ``fn`` reads from its closure and globals hold what they held."""
    fn = getattr(fn, "__func__", fn)  # a bound method: its function
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    guards = []
    for cell in fn.__closure__ or ():
        try:
            guards.append(_same(lambda cell=cell: cell.cell_contents, cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    scope = fn.__globals__
    for name in code.co_names:
        if name in scope:
            guards.append(_same(lambda name=name: scope.get(name), scope[name]))
    return [g for g in guards if g is not None]


def _same(read, value):
    """A check that ``read()`` still gives ``value`` (equal for plain values, the same object
    otherwise); None for modules, functions and classes, which are not followed."""
    if isinstance(value, types.ModuleType | types.FunctionType | type | types.BuiltinFunctionType):
        return None
    if type(value) in _VALUES:
        kind = type(value)
        return lambda: type(read()) is kind and read() == value
    return lambda: read() is value
