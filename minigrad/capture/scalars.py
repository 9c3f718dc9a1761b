"""``Scalar``: a Python number a recording reads from outside, such as a learning rate.

An optimizer's hyperparameters and step counts are Python numbers in dicts (``param_groups``,
``state``). A recording that baked them in would replay a stale learning rate after a
scheduler's change, and Adam's bias corrections of its first recorded step forever. While an
optimizer step is recorded, those numbers are ``Scalar``: each arithmetic operation on them is a
step of the recording (Python's own operator on the values, so the same bits), a numpy call
with them is recorded with the number in its place, and a truth value read from them
(``if weight_decay:``) is a guard. ``float()`` of one (``math.sqrt(x)`` takes it so) would lose
the connection: it stops the capture, so rules call ``sqrt`` below instead. So does numpy making
an array of one where no recorded array is among the operands.
"""

from __future__ import annotations

import math
import operator

import numpy as np


class Scalar:
    """A recorded Python number: ``value`` (what the eager run computes with) in ``slot``."""

    __slots__ = ("value", "slot", "recorder")

    def __init__(self, value, slot: int, recorder):
        self.value, self.slot, self.recorder = value, slot, recorder

    def __repr__(self):
        return f"Scalar({self.value!r})"

    def _apply(self, fn, *args):
        return self.recorder.python(fn, (self, *args))

    def __bool__(self):
        return self.recorder.truth(self)

    def __array__(self, dtype=None, copy=None):
        # numpy makes an array of it only in a call the recorder does not see (a recorded
        # array among the operands would have handed the call over with the number inside)
        self.recorder.stop(f"a recorded number ({self.value!r}) meets numpy outside the recording")
        return np.asarray(self.value, dtype)

    def __float__(self):
        self.recorder.stop(f"float() of a recorded number ({self.value!r})")
        return float(self.value)

    def __int__(self):
        self.recorder.stop(f"int() of a recorded number ({self.value!r})")
        return int(self.value)

    def __index__(self):
        self.recorder.stop(f"a recorded number ({self.value!r}) used as an index")
        return operator.index(self.value)

    def __hash__(self):
        return hash(self.value)

    def sqrt(self):
        return self._apply(math.sqrt)


def _binary(fn, reflected=False):
    def method(self, other):
        if isinstance(other, np.ndarray):  # a numpy call: recorded as one, the number inside
            return self.recorder.call(fn, (other, self) if reflected else (self, other), {})
        if reflected:
            return self.recorder.python(fn, (other, self))
        return self.recorder.python(fn, (self, other))

    return method


_OPERATORS = {
    "add": (operator.add, np.add), "sub": (operator.sub, np.subtract),
    "mul": (operator.mul, np.multiply), "truediv": (operator.truediv, np.divide),
    "pow": (operator.pow, np.power), "floordiv": (operator.floordiv, np.floor_divide),
    "mod": (operator.mod, np.remainder),
}  # fmt: skip
for _name, (_python, _ufunc) in _OPERATORS.items():

    def _either(python=_python, ufunc=_ufunc, reflected=False):
        on_arrays = _binary(ufunc, reflected)
        on_numbers = _binary(python, reflected)

        def method(self, other):
            return (on_arrays if isinstance(other, np.ndarray) else on_numbers)(self, other)

        return method

    setattr(Scalar, f"__{_name}__", _either())
    setattr(Scalar, f"__r{_name}__", _either(reflected=True))

for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(Scalar, f"__{_name}__", _binary(getattr(operator, _name)))
Scalar.__neg__ = lambda self: self._apply(operator.neg)
Scalar.__pos__ = lambda self: self._apply(operator.pos)
Scalar.__abs__ = lambda self: self._apply(abs)


def sqrt(x):
    """``math.sqrt(x)``, recorded when ``x`` is a recorded number."""
    return x.sqrt() if type(x) is Scalar else math.sqrt(x)
