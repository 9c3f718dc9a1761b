"""``Traced``: an ndarray whose every operation is written down while it is being recorded.

During a recording (``recorder.Recorder``) the arrays minigrad computes with are ``Traced``:
numpy hands each ufunc call (``__array_ufunc__``) and each numpy function (``__array_function__``)
on them to the recorder, and the ndarray methods and properties that compute are overridden here
to do the same. The recorder runs the real numpy call on plain views, writes the call down and
returns its results as ``Traced`` again. Reading a value into Python (``bool``, ``float``,
``.item()``, ``.tolist()``) is what a recording cannot replay by itself: ``bool`` becomes a guard
checked on every replay, the others stop the capture (see ``Recorder.read``).

A ``Traced`` array made while no recording is running (one that outlived its recording) behaves
as a plain ndarray.
"""

from __future__ import annotations

import threading

import numpy as np

from ..tensor import KEPT_ARRAYS
from ..trees import tree_map
from .scalars import Scalar

# The recorder of this thread, or None (set by ``recorder.Recorder``).
local = threading.local()


def active():
    return getattr(local, "recorder", None)


class Traced(np.ndarray):
    """An ndarray recorded by ``slot`` (its number in the recording), or None for a view numpy
    made without telling (then the recorder finds it through ``base``)."""

    slot: int | None = None
    recorder = None

    def __array_finalize__(self, obj):
        self.slot, self.recorder = None, None

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        recorder = active()
        if recorder is None:
            inputs = tuple(plain(x) for x in inputs)
            if "out" in kwargs:
                kwargs["out"] = tuple(plain(x) for x in kwargs["out"])
            return getattr(ufunc, method)(*inputs, **kwargs)
        # NOTE: the ufunc itself for a plain call: a replay calls it without a bound method.
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return recorder.call(fn, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        recorder = active()
        if recorder is None:
            return func(*plain_tree(args), **plain_tree(kwargs))
        return recorder.call(func, args, kwargs)

    # ----- reading values into Python ---------------------------------------------------------

    def __bool__(self):
        return _read(self, "bool")

    def __float__(self):
        return _read(self, "float")

    def __int__(self):
        return _read(self, "int")

    def __index__(self):
        return _read(self, "index")

    def __complex__(self):
        return _read(self, "complex")

    def item(self, *args):
        return _read(self, "item", *args)

    def tolist(self):
        return _read(self, "tolist")

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def _read(array, how, *args):
    recorder = active()
    view = plain(array)
    if recorder is None:
        return _READERS[how](view, *args)
    return recorder.read(array, how, _READERS[how], args)


KEPT_ARRAYS.add(Traced)

_READERS = {
    "bool": bool, "float": float, "int": int, "index": lambda a: a.__index__(),
    "complex": complex, "item": lambda a, *args: a.item(*args), "tolist": np.ndarray.tolist,
}  # fmt: skip


_view = np.ndarray.view  # NOTE: not x.view, which Traced records


def plain(x):
    """``x`` as a plain ndarray view if it is ``Traced``, else ``x``."""
    return _view(x, np.ndarray) if isinstance(x, Traced) else x


def plain_tree(x):
    """``plain`` through tuples, lists and dicts (and a recorded number as its value)."""
    return tree_map(_plain_leaf, x)


def _plain_leaf(x):
    if isinstance(x, Traced):
        return _view(x, np.ndarray)
    return x.value if type(x) is Scalar else x


# ----- ndarray methods and properties that compute: written down like numpy's functions ----------

# NOTE: methods numpy implements in C (copy, astype, reshape, argmax, ...) would otherwise make
# their result without the recorder knowing; the ones that are ufuncs underneath (sum, max,
# any, ...) go through ``__array_ufunc__`` anyway, and are listed so that the recording shows
# the call the code made.
METHODS = (
    "__getitem__", "__setitem__", "__copy__", "__deepcopy__", "all", "any", "argmax", "argmin",
    "argpartition", "argsort", "astype", "byteswap", "choose", "clip", "compress", "conj",
    "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot", "fill", "flatten", "max",
    "mean", "min", "nonzero", "partition", "prod", "put", "ravel", "repeat", "reshape",
    "resize", "round", "searchsorted", "sort", "squeeze", "std", "sum", "swapaxes", "take",
    "trace", "transpose", "var", "view",
)  # fmt: skip
PROPERTIES = ("T", "mT", "real", "imag")


def _method(name):
    implementation = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        recorder = active()
        if recorder is None:
            return implementation(plain(self), *plain_tree(args), **plain_tree(kwargs))
        return recorder.call(implementation, (self, *args), kwargs)

    method.__name__ = name
    return method


def _property(name):
    implementation = getattr(np.ndarray, name).__get__

    def get(self):
        recorder = active()
        if recorder is None:
            return implementation(plain(self))
        return recorder.call(implementation, (self,), {})

    return property(get)


for _name in METHODS:
    setattr(Traced, _name, _method(_name))
for _name in PROPERTIES:
    setattr(Traced, _name, _property(_name))
