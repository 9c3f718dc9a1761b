"""Checks shared by the optimizers and the learning-rate schedulers.

Each refuses a bad value with an ``OptimizerError`` whose message names the owner (``Adam``,
``StepLR.load_state_dict``), the value, and what is allowed. ``Limits`` describes a numeric
hyperparameter once, so the constructor, ``add_param_group`` and ``load_state_dict`` check it
the same way; ``check_gradient`` is the one place that decides whether a ``.grad`` fits its
parameter.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..arguments import required_positional
from ..errors import ArgumentError, MinigradError
from ..tensor import Tensor


class OptimizerError(MinigradError, ValueError):
    """A bad hyperparameter or parameter list, or a state dict that does not fit."""


def check(condition: bool, message: str) -> None:
    """Refuse a hyperparameter early, with a message that says what is allowed."""
    if not condition:
        raise OptimizerError(message)


def is_real(value) -> bool:
    """A real number (numpy's too), not a bool: ``lr=True`` is a mistake, not ``lr=1``."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_integer(value) -> bool:
    """An integer (numpy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def is_flag(value) -> bool:
    """A bool (numpy's too): ``amsgrad="False"`` would otherwise switch amsgrad on."""
    return isinstance(value, bool | np.bool_)


@dataclass(frozen=True)
class Limits:
    """The values a numeric hyperparameter may take: ``low <= value <= high`` (``<`` where the
    bound is open), finite unless ``finite=False``, an integer if ``integer``, or ``None`` if
    ``optional``. ``label`` is PyTorch's word for it in "Invalid <label>: <value>" (default:
    the hyperparameter's name)."""

    label: str = ""
    low: float = 0.0
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    finite: bool = True
    optional: bool = False

    def describe(self) -> str:
        """What is allowed, in words: ``a finite number >= 0``, ``an integer in [1, 5]``."""
        kind = "an integer" if self.integer else "a finite number" if self.finite else "a number"
        if self.low > -math.inf and self.high < math.inf:
            brackets = ("(" if self.low_open else "[", ")" if self.high_open else "]")
            text = f"{kind} in {brackets[0]}{self.low:g}, {self.high:g}{brackets[1]}"
        elif self.low > -math.inf:
            text = f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        elif self.high < math.inf:
            text = f"{kind} {'<' if self.high_open else '<='} {self.high:g}"
        else:
            text = kind
        return f"{text} (or None)" if self.optional else text

    def allows(self, value) -> bool:
        """Whether ``value`` is of the right kind and within the bounds."""
        if value is None:
            return self.optional
        if not (is_integer(value) if self.integer else is_real(value)):
            return False
        if math.isnan(value) or (self.finite and math.isinf(value)):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def check(self, owner: str, name: str, value):
        """Refuse ``value`` unless allowed; returns it (an ``int`` for an integer)."""
        shown = f"{value}" if is_real(value) else f"{value!r:.80}"  # -1e-08, 'two', tensor(..)
        check(
            self.allows(value),
            f"{owner}: Invalid {self.label or name}: {shown}; {name} must be {self.describe()}",
        )
        return int(value) if self.integer and value is not None else value


def check_gradient(owner: str, p: Tensor, index: int, group: int = 0) -> None:
    """Refuse a ``.grad`` that is not a Tensor of its parameter's shape and dtype kind.

    Numpy would broadcast a ``(4,)`` gradient over a ``(3, 4)`` parameter (every row updated
    alike), and the flat optimizers would read a ``(3, 2)`` gradient of a ``(2, 3)`` parameter in
    the wrong order; PyTorch refuses such a gradient, and so do we. ``index`` and ``group`` say
    which parameter it is, for the message.
    """
    grad = p.grad
    # NOTE: the common case first, and messages only for a refusal: this runs for every
    # parameter at every step, and formatting a dtype costs more than the update of a bias.
    if isinstance(grad, Tensor) and (
        grad.data.shape == p.data.shape and grad.data.dtype.kind == p.data.dtype.kind
    ):
        return
    where = f"parameter {index} of group {group}"
    fix = (
        f"a gradient must be a Tensor of its parameter's shape {p.shape} and dtype kind "
        f"(as backward() makes); if you set .grad yourself, give it that shape, or call "
        f"optimizer.zero_grad()"
    )
    check(
        isinstance(grad, Tensor),
        f"{owner}: {where} (shape {p.shape}) has a .grad of type {type(grad).__name__}; {fix}",
    )
    check(
        grad.shape == p.shape and grad.dtype.kind == p.dtype.kind,
        f"{owner}: {where} has shape {p.shape} and dtype {p.dtype}, but its .grad has shape "
        f"{grad.shape} and dtype {grad.dtype}; {fix}",
    )


# ----- fields of a scheduler's state: (scheduler, where, key, value) -> the checked value -------


def check_field(scheduler, where: str, key: str, spec, value):
    """``value`` checked by ``spec``: a ``Limits``, or a function like those below."""
    if isinstance(spec, Limits):
        return spec.check(where, key, value)
    return spec(scheduler, where, key, value)


def flag_field(scheduler, where: str, key: str, value) -> bool:
    """True or False."""
    check(is_flag(value), f"{where}: {key} must be True or False, got {value!r:.60}")
    return bool(value)


def choice_field(*options: str):
    """One of the strings ``options``."""

    def field(scheduler, where: str, key: str, value) -> str:
        check(
            isinstance(value, str) and value in options,
            f"{where}: {key} must be one of {', '.join(map(repr, options))}, got {value!r:.60}",
        )
        return value

    return field


def per_group_field(limits: Limits):
    """A list of numbers within ``limits``, one per parameter group of the scheduler's
    optimizer."""

    def field(scheduler, where: str, key: str, value) -> list:
        n = len(scheduler.optimizer.param_groups)
        check(
            isinstance(value, list | tuple) and len(value) == n,
            f"{where}: {key} must be a list of {n} numbers (one per parameter group), got "
            f"{value!r:.80}",
        )
        return [limits.check(where, f"{key}[{i}]", v) for i, v in enumerate(value)]

    return field


def milestones_field(scheduler, where: str, key: str, value) -> Counter:
    """Milestones: integers >= 0 (a list, as given to the constructor, a repeat counting twice),
    or a milestone -> count dict (the state dict's form; keys may be decimal strings, as JSON
    writes them). A negative milestone is never reached by ``step`` but counted by the closed
    form, and 2.5 would be cut to 2: both refused."""
    if isinstance(value, dict):
        pairs = [
            (int(m) if isinstance(m, str) and m.isdecimal() else m, n) for m, n in value.items()
        ]
    elif isinstance(value, list | tuple):
        pairs = [(m, 1) for m in value]
    else:
        pairs = None
    check(
        pairs is not None,
        f"{where}: {key} must be a list of integers >= 0, got {type(value).__name__}",
    )
    for m, n in pairs:
        check(
            is_integer(m) and m >= 0 and is_integer(n) and n >= 1,
            f"{where}: {key} must be integers >= 0 (steps at which to decay), got {m!r:.40}"
            + (f" (counted {n!r:.20} times)" if isinstance(value, dict) else ""),
        )
    counts = Counter()
    for m, n in pairs:
        counts[int(m)] += int(n)
    return counts


def check_closure(owner: str, closure) -> None:
    """Refuse a ``closure`` that ``step`` cannot call as ``closure()``: not callable, or a
    function of the parameters (the form ``mg.hessian`` and ``mg.curvature`` take) rather than
    a PyTorch-style closure of none."""
    if closure is None:
        return
    if not callable(closure):
        raise ArgumentError(
            f"{owner}: closure must be a function of no arguments that returns the loss, got a "
            f"{type(closure).__name__}"
        )
    need = required_positional(closure)
    if need:
        raise ArgumentError(
            f"{owner}: the closure needs {need} argument(s) (a function of the parameters?), "
            f"but step calls closure() with none, as PyTorch does; wrap it: def closure(): "
            f"optimizer.zero_grad(); loss = loss_fn(params); loss.backward(); return loss"
        )
