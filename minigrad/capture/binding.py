"""``Outside``: what a recording reads from outside the function and what it changes there.

Part of ``recorder.Recorder``. During the run:
- every tensor an operation reads (``primitive.apply`` calls ``bind``) sees a recording view of
  its array, and of its ``.grad``'s; a replay reads both again (``sources.read_data``,
  ``read_grad``), so a parameter updated in place or given a new array is seen;
- an optimizer's update of one parameter (``Optimizer.step`` calls ``update``) sees its
  hyperparameters and its state's numbers as recorded numbers (``scalars.Scalar``: a scheduler's
  new learning rate, Adam's step count) and its state's arrays as recording views;
- a module's ``training`` flag, its plain attributes and which tensors and layers it holds
  are guarded where its forward runs (``autodiff.in_scope``), an optimizer's parameters where
  it steps;
- each random draw (``random.rng`` while recording) is a step that draws again, from the
  generator's stream as it is then.
What the run changes outside its arrays becomes steps of the recording where it happens: a
``.grad`` set (``backward`` and the ``zero_grad`` methods call ``autodiff.grad_set``), a state
entry made or replaced. Afterwards (``release``) every tensor gets its own arrays back; a change
the recording did not see stops the capture.
"""

from __future__ import annotations

from operator import getitem

import numpy as np

from ..tensor import Tensor
from . import sources
from .scalars import Scalar
from .sources import draw, read_data, read_grad, read_item, set_grad
from .steps import Slot, Step
from .traced import Traced, plain, plain_tree

_NUMBERS = (int, float)


class Outside:
    """The outside-the-function half of ``Recorder`` (see the module's doc)."""

    def bind(self, tensors) -> None:
        """Give tensors from outside the run recording views of their data and gradient."""
        for t in tensors:
            data = t.data
            if type(data) is Traced and data.recorder is self:
                continue
            array = plain(data)
            if t._node is None:  # a leaf (a parameter, a constant): read again on replay
                slot = self.external(array, read_data, (t, array, t.requires_grad))
            else:  # NOTE: a tensor with a graph is not kept: its array is, by reference
                slot = self.external(array)
            t.data = self._view(array, slot)
            grad = t.grad
            grad_view = None
            if grad is None:  # where the run saw no gradient, a replay must see none
                self.steps.append(Step(sources.check_no_grad, (t,), {}, None, True, "check"))
            elif t._node is None and not (type(grad.data) is Traced and grad.data.recorder is self):
                g = plain(grad.data)
                grad_view = self._view(g, self.external(g, read_grad, (t, g)))
                grad.data = grad_view
            self.bound[id(t)] = (t, data, t.data, grad, grad_view)

    def _view(self, array, slot) -> Traced:
        traced = np.ndarray.view(array, Traced)
        traced.slot, traced.recorder = slot, self
        return traced

    def grad_set(self, t) -> None:
        """``t.grad`` was just set (backward, zero_grad): the same happens there on replay."""
        new = t.grad
        if new is None:
            self.steps.append(Step(set_grad, (t, None), {}, None, True, "effect"))
        elif type(new.data) is Traced and new.data.recorder is self:
            slot = Slot(self.slot_of(new.data))
            self.steps.append(Step(set_grad, (t, slot), {}, None, True, "effect"))
        else:
            self.stop("a tensor's .grad is set to a tensor made outside the function")
        self.grads[id(t)] = (t, new)

    def release(self) -> None:
        """Every bound tensor gets its arrays back; a change the recording missed stops it."""
        for t, data, view, grad, grad_view in reversed(self.bound.values()):
            if t.data is view:
                t.data = plain(data)  # NOTE: plain even if it was left recorded by an old run
            else:
                self.stop("a tensor's .data is rebound inside the function")
            if grad is not None and grad_view is not None and grad.data is grad_view:
                grad.data = plain(grad_view)
            expected = self.grads[id(t)][1] if id(t) in self.grads else grad
            if t.grad is not expected:
                self.stop("a tensor's .grad is set without backward() or zero_grad()")
        for _, new in self.grads.values():
            if new is not None:
                new.data = plain(new.data)
        self.bound.clear()

    # ----- optimizers ------------------------------------------------------------------------

    def update(self, rule, p, state: dict, group: dict) -> None:
        """``rule(p, grad, state, group)`` (an optimizer's update of one parameter), recorded
        with its numbers and state read again on every replay."""
        self.steps.append(Step(sources.check_keys, (state, tuple(state)), {}, None, True, "guard"))
        group_view = {k: self._hyperparameter(group, k, v) for k, v in group.items()}
        state_view = {k: self._state_entry(state, k, v) for k, v in state.items()}
        seen = dict(state_view)
        rule(p, p.grad.data, state_view, group_view)
        for key, value in state_view.items():
            if seen.get(key) is value:
                continue  # the same entry (arrays changed in place are recorded steps)
            written = (state, key, self.template(value))
            self.steps.append(Step(sources.set_item, written, {}, None, True, "effect"))
            state[key] = value.value if type(value) is Scalar else plain(value)

    def _hyperparameter(self, group, key, value):
        # NOTE: one recorded number per group and key, shared by the group's parameters: read
        # once per replay, and its guards written once.
        known = self.numbers.get((id(group), key))
        if known is not None and known[0] is value:
            return known[1]
        if type(value) in _NUMBERS:
            number = self._number(getitem, (group, key), value)
        elif type(value) is tuple and all(type(v) in _NUMBERS for v in value):
            number = tuple(
                self._number(_read_element, (group, key, i), v) for i, v in enumerate(value)
            )
        else:
            number = None
        if number is not None:
            self.numbers[(id(group), key)] = (value, number)
            return number
        if key != "params":  # bools, strings, None: what the rule may branch on
            self.guards[("group", id(group), key)] = lambda: group.get(key) == value
        return value

    def _state_entry(self, state, key, value):
        if type(value) in _NUMBERS:
            return self._number(getitem, (state, key), value)
        if isinstance(value, np.ndarray):
            array = plain(value)
            return self._view(array, self.external(array, read_item, (state, key, array)))
        return value

    def _number(self, reader, args, value) -> Scalar:
        scalar = Scalar(value, self.slots, self)
        self.slots += 1
        self.externals[scalar.slot] = (reader, args)
        return scalar

    # ----- modules ---------------------------------------------------------------------------

    def entered(self, module) -> None:
        """A module's forward runs: what it reads from itself is guarded, its ``training``
        flag, its numbers and strings, and which tensors and modules it holds (a parameter
        replaced or a layer added is seen)."""
        key = ("module", id(module))
        if key not in self.guards:
            self.guards[key] = _holds_the_same(module)

    def draws(self, generator):
        """What ``random.rng`` hands out while recording: numpy's generator behind
        ``generator``, each of whose draws is a step (replayed from the same stream)."""
        return _Draws(self, generator)

    def optimizer(self, optimizer) -> None:
        """An optimizer steps: which parameters its groups hold is guarded."""
        key = ("optimizer", id(optimizer))
        if key not in self.guards:
            held = _held(optimizer)
            self.guards[key] = lambda: _held(optimizer) == held


class _Draws:
    """numpy's ``Generator`` seen through a recording: ``draws.random(shape)`` draws as the
    generator does, and the recording replays the same call on the generator's stream."""

    def __init__(self, recorder, generator):
        self._recorder, self._generator = recorder, generator

    def __getattr__(self, method: str):
        recorder, generator = self._recorder, self._generator

        def drawn(*args, **kwargs):
            result = draw(generator, method, *plain_tree(args), **plain_tree(kwargs))
            traced = recorder.adopt(np.asarray(result))
            args_t = (generator, method, *recorder.template(args))
            step = Step(draw, args_t, recorder.template(kwargs), traced.slot, True, "outside")
            recorder.steps.append(step)
            return traced

        return drawn


def _holds_the_same(module):
    """A check that ``module`` still holds what it holds now: the same attributes, each the
    same object (numbers and strings are compared by identity too: one assigned again may make
    a recording again, never a stale one), and containers of layers (``ModuleList``, iterated by
    their owner's forward, never called) and helper objects (its hooks) the same contents."""
    held = vars(module)
    names, ids = tuple(held), tuple(map(id, held.values()))
    deep = [(name, _contents(value)) for name, value in held.items() if _is_container(value)]

    def check() -> bool:
        now = vars(module)
        if tuple(map(id, now.values())) != ids or tuple(now) != names:
            return False
        for name, contents in deep:  # noqa: SIM110 (as Entry.still_true)
            if _contents(now[name]) != contents:
                return False
        return True

    return check


def _is_container(value) -> bool:
    if type(value) in (list, dict, set):
        return True
    if isinstance(value, Tensor):
        return False
    return hasattr(value, "__slots__") or (
        hasattr(value, "parameters") and hasattr(value, "__iter__")
    )


def _contents(value):
    """What a container holds, by identity (one level down for a helper object's slots)."""
    if type(value) in (list, tuple, set):
        return tuple(map(id, value))
    if type(value) is dict:
        return tuple(value), tuple(map(id, value.values()))
    if hasattr(value, "parameters") and hasattr(value, "__iter__"):
        return tuple(map(id, value))
    return tuple(_contents(getattr(value, n)) for n in value.__slots__ if hasattr(value, n))


def _held(optimizer) -> tuple:
    return tuple(tuple(id(p) for p in group["params"]) for group in optimizer.param_groups)


def _read_element(container, key, index):
    return container[key][index]
