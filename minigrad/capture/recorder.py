"""``Recorder``: writes down the numpy calls of one eager run, as the steps of a ``Program``.

Every array the run computes with gets a *slot*: the function's inputs, the arrays it reads from
outside (a tensor's data, an array in a closure: *externals*, read again on every replay, so a
parameter updated in place or rebound is seen), and the result of every call. A step is one
numpy call with its arguments written as slots and literals (``program.Slot``).

How the arrays become ``Traced`` (so that numpy tells the recorder about them):
- the inputs' data, when the run starts;
- the data of every tensor an operation reads (``primitive.apply`` calls ``bind``): the tensor
  sees a recording view of its array during the run and gets its own array back afterwards;
- arrays numpy makes from nothing (``np.zeros``, ``np.arange``, ``np.asarray`` of a list, ...):
  those functions are replaced in the ``numpy`` module while a recording runs, for the
  recording thread only (``PATCHED``);
- the result of every recorded call, and views of recorded arrays numpy made silently (found
  through their ``base``).
What cannot be replayed stops the capture (``broken``): a value read into Python other than a
truth value, and effects outside the arrays (a tensor's ``.grad`` set, its ``.data`` rebound).
"""

from __future__ import annotations

import numpy as np

from ..anomaly import user_line
from ..trees import leaves, tree_map
from .binding import Outside
from .program import strided_view
from .scalars import Scalar
from .sources import check_truth
from .steps import Slot, Step
from .traced import Traced, local, plain, plain_tree

# numpy's functions that make arrays without an array argument (or from a plain one): while a
# recording runs they make recorded arrays.
PATCHED = (
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
    "arange", "eye", "identity", "array", "asarray", "asanyarray", "ascontiguousarray",
    "asfortranarray", "copy", "linspace", "tri",
)  # fmt: skip
_originals = {name: getattr(np, name) for name in PATCHED}
MAKERS = frozenset(_originals.values())  # what a recording's array-making steps call
_patched_by = 0  # recordings running (any thread): numpy is patched while this is > 0

# Methods and functions that write into an argument (besides ``out=``): their steps are kept
# even when nothing reads their result.
WRITERS = {
    np.ndarray.__setitem__, np.ndarray.fill, np.ndarray.sort, np.ndarray.put,
    np.ndarray.partition, np.ndarray.resize, np.copyto, np.put, np.place, np.putmask,
    np.fill_diagonal, np.put_along_axis,
}  # fmt: skip


class Recorder(Outside):
    """The numpy calls of one run, by slot. Use as a context manager around the run."""

    def __init__(self):
        self.steps: list[Step] = []
        self.slots = 0
        self.inputs: dict[int, int] = {}  # slot -> position among the flat inputs
        self.externals: dict[int, tuple] = {}  # slot -> (reader or None, its arguments)
        self.by_id: dict[int, int] = {}  # id(an external's array) -> its slot
        self.broken: str | None = None
        self.bound: dict[int, tuple] = {}  # id(tensor) -> what ``bind`` changed on it
        self.guards: dict = {}  # checks of Python state (a module's training flag), per call
        self.grads: dict = {}  # id(tensor) -> (tensor, the .grad last written down)
        self.numbers: dict = {}  # (id(group), key) -> (value, its Scalar): hyperparameters
        self.owners: dict[int, int] = {}  # id(an array that owns its memory) -> its slot
        self.memory: dict[int, int] = {}  # a view's slot -> the slot owning its memory
        self.outside: set[int] = set()  # slots whose memory is an input's or an outside array's
        self.outside_memory: set[int] = set()  # ids of those arrays' memory owners

    # ----- slots -------------------------------------------------------------------------------

    def adopt(self, array: np.ndarray) -> Traced:
        """A recording view of a new ``array`` with a new slot (outside memory if it is a view
        of an input's or an outside array's)."""
        traced = np.ndarray.view(array, Traced)
        traced.slot, traced.recorder = self.slots, self
        self.slots += 1
        if id(_root(array)) in self.outside_memory:
            self.outside.add(traced.slot)
        if array.base is None:  # it owns its memory
            self.owners[id(array)] = traced.slot
        else:  # a view: of the slot that owns its memory (-1: memory from outside)
            self.memory[traced.slot] = self.owners.get(id(_root(array)), -1)
        return traced

    def input(self, array: np.ndarray, position: int) -> Traced:
        array = plain(array)
        self.outside_memory.add(id(_root(array)))
        traced = self.adopt(array)
        self.inputs[traced.slot] = position
        return traced

    def external(self, array: np.ndarray, reader=None, args=None) -> int:
        """The slot of an array from outside the run: read again by ``reader(*args)`` on every
        replay (``sources.py``), or, without a reader, the same array by reference."""
        slot = self.by_id.get(id(array))
        if slot is None:
            self.outside_memory.add(id(_root(array)))
            slot = self.adopt(array).slot
            self.externals[slot] = (reader, args if reader is not None else (array,))
            self.by_id[id(array)] = slot
        return slot

    def slot_of(self, array: np.ndarray) -> int:
        if type(array) is Traced and array.recorder is self and array.slot is not None:
            return array.slot
        array = plain(array)
        if id(array) in self.by_id:
            return self.by_id[id(array)]
        root = array
        while isinstance(root.base, np.ndarray):
            root = root.base
        if root is array:  # an array nobody recorded: one from outside
            return self.external(array)
        # A view numpy made without a call the recorder saw: derived from its memory's owner.
        owner = self.slot_of(root)
        offset = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        view = self.adopt(array)
        args = (Slot(owner), offset, array.shape, array.strides, array.dtype)
        self.steps.append(Step(strided_view, args, {}, view.slot))
        return view.slot

    def template(self, x):
        """An argument written with slots for its arrays (and its recorded numbers)."""
        return tree_map(self._slot_leaf, x)

    def _slot_leaf(self, x):
        if isinstance(x, np.ndarray):
            return Slot(self.slot_of(x))
        return Slot(x.slot) if type(x) is Scalar else x

    # ----- calls -------------------------------------------------------------------------------

    def call(self, fn, args, kwargs):
        """Run ``fn`` on the plain arrays, write the call down, return its results recorded."""
        args_t, kwargs_t = self.template(tuple(args)), self.template(kwargs)
        plain_args, plain_kwargs = plain_tree(tuple(args)), plain_tree(kwargs)
        result = fn(*plain_args, **plain_kwargs)
        given = _arrays((plain_args, plain_kwargs))
        recorded = _arrays((args, kwargs))
        as_array = isinstance(result, np.generic)
        if as_array:  # a full reduction's numpy scalar: a 0-d array
            result = np.asarray(result)
        results, wrapped = self._results(result, given, recorded)
        writes = "out" in kwargs or fn in WRITERS or getattr(fn, "__name__", "") == "at"
        targets = kwargs_t.get("out", ()) if "out" in kwargs else args_t[:1] if writes else ()
        outside = any(type(t) is Slot and t.n in self.outside for t in targets)
        if writes or not _handed_back(results, args_t):
            # NOTE: a call that hands back one of its arrays and writes nothing (np.asarray of
            # an array) is no step: its result is that array's slot.
            kind = "outside" if outside else "numpy"
            self.steps.append(Step(fn, args_t, kwargs_t, results, writes, kind, as_array))
        return wrapped

    def _results(self, result, given, recorded):
        """(slots of the results, the results as the run sees them): an argument handed back
        (``out=``, ``np.asarray(x)``) keeps its slot; a numpy scalar becomes a 0-d array."""
        if type(result) is tuple:
            pairs = [self._results(r, given, recorded) for r in result]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        if not isinstance(result, np.ndarray):
            return None, result
        for g, r in zip(given, recorded):
            if result is g:
                return self.slot_of(r), r
        traced = self.adopt(result)
        return traced.slot, traced

    def read(self, array, how, reader, args):
        """A value read into Python: a truth value is a guard; anything else stops the capture."""
        value = reader(plain(array), *args)
        if how == "bool":  # a guard, checked where the run read it
            guard = Step(check_truth, (Slot(self.slot_of(array)), value), {}, None, True, "guard")
            self.steps.append(guard)
        else:
            self.stop(f"{how}() of a tensor's value is read into Python")
        return value

    def python(self, fn, args) -> Scalar:
        """``fn`` (Python arithmetic) on recorded numbers and constants, recorded."""
        values = [a.value if type(a) is Scalar else a for a in args]
        result = Scalar(fn(*values), self.slots, self)
        self.slots += 1
        self.steps.append(Step(fn, self.template(tuple(args)), {}, result.slot, kind="python"))
        return result

    def truth(self, scalar: Scalar) -> bool:
        """The truth value of a recorded number: a guard where the run read it."""
        value = bool(scalar.value)
        self.steps.append(Step(check_truth, (Slot(scalar.slot), value), {}, None, True, "guard"))
        return value

    def stop(self, reason: str) -> None:
        """What the run does cannot be replayed (``reason`` says what)."""
        if self.broken is None:
            self.broken = f"{reason} at {user_line()}"

    def __enter__(self):
        global _patched_by
        if getattr(local, "recorder", None) is not None:
            raise RuntimeError("a recording is already running on this thread")
        local.recorder = self
        if _patched_by == 0:
            for name in PATCHED:
                setattr(np, name, _recording(_originals[name]))
        _patched_by += 1
        return self

    def __exit__(self, *exc):
        global _patched_by
        _patched_by -= 1
        if _patched_by == 0:
            for name, fn in _originals.items():
                setattr(np, name, fn)
        local.recorder = None
        self.release()


def _handed_back(results, args_t) -> bool:
    return type(results) is int and any(type(a) is Slot and a.n == results for a in args_t)


def _recording(fn):
    """``fn`` (a numpy array maker) that, on a recording thread, records the array it makes."""

    def make(*args, **kwargs):
        recorder = getattr(local, "recorder", None)
        if recorder is None:
            return fn(*args, **kwargs)
        return recorder.call(fn, args, kwargs)

    make.__name__ = fn.__name__
    return make


def _root(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _arrays(x) -> list:
    """The ndarrays in nested tuples, lists and dicts, in order."""
    return [leaf for leaf in leaves(x) if isinstance(leaf, np.ndarray)]
