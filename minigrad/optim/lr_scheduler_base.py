"""``LRScheduler``, the base class of the learning-rate schedules, and the checks they share.

The schedules themselves are in ``lr_scheduler.py`` (those that are a function of the step),
``lr_cycles.py`` (those that follow the run), ``lr_periodic.py`` (those that repeat) and
``lr_composite.py`` (those made of others); ``lr_scheduler`` is where users import them from.
"""

from __future__ import annotations

import copy
import types

from .checks import Limits, check, check_field, per_group_field
from .optimizer import Optimizer


def per_group(name: str, optimizer: Optimizer, value) -> list:
    """One value per parameter group: a list/tuple of that length, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, list | tuple):
        check(len(value) == n, f"expected {n} values for {name}, got {len(value)}")
        return list(value)
    return [value] * n


def check_optimizer(name: str, optimizer) -> None:
    """Refuse anything but an ``Optimizer`` (a list of parameters is the usual slip)."""
    check(
        isinstance(optimizer, Optimizer),
        f"{name}: {type(optimizer).__name__} is not an Optimizer; build the scheduler on the "
        f"optimizer whose rates it sets",
    )


def saved_function(fn) -> dict | None:
    """What a state dict keeps of a schedule's function (``LambdaLR``'s ``lr_lambda``,
    ``CyclicLR``'s ``scale_fn``): ``None`` for a plain function or lambda, whose code cannot be
    saved (PyTorch's rule), or a copy of a callable object's attributes."""
    if fn is None or isinstance(fn, types.FunctionType):
        return None
    return copy.deepcopy(fn.__dict__)


def check_saved_function(where: str, key: str, fn, attributes) -> None:
    """Refuse saved ``attributes`` that are not ``None`` or a dict of names, or that ``fn`` (the
    function they would be restored into) has no ``__dict__`` to hold."""
    check(
        attributes is None
        or (isinstance(attributes, dict) and all(isinstance(k, str) for k in attributes)),
        f"{where}: {key} must be None or a dict of attributes, got {attributes!r:.80}",
    )
    check(
        attributes is None or hasattr(fn, "__dict__"),
        f"{where}: {key} has attributes to restore, but this scheduler's function {fn!r:.60} "
        f"has no __dict__ to hold them",
    )


def restore_function(fn, attributes: dict | None) -> None:
    """Put saved attributes (checked by ``check_saved_function``) back into ``fn``."""
    if attributes is not None:
        fn.__dict__.update(copy.deepcopy(attributes))


#: a learning rate, and a multiplicative factor of one (PyTorch's gamma): finite, rates >= 0
RATE = Limits()
FACTOR = Limits(low_open=True)


class LRScheduler:
    """Base class: subclasses implement ``get_lr()`` (the chainable rule, one rate per group).

    ``last_epoch=-1`` starts a new schedule: every group gets ``initial_lr = lr`` (unless it
    already has one). Another value resumes one: the groups must already hold ``initial_lr``.

    ``fields`` declares the attributes a state dict holds and how each is checked (a ``Limits``
    or a field function from ``checks``); ``settings`` names the constructor's hyperparameters
    among them, checked the same way before the schedule starts.
    """

    fields: dict = {
        "last_epoch": Limits(low=-1, integer=True),
        "_step_count": Limits(integer=True),
        "base_lrs": per_group_field(RATE),
        "_last_lr": per_group_field(RATE),
    }
    settings: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        check_optimizer(name, optimizer)
        self.optimizer = optimizer
        settings = {key: getattr(self, key) for key in self.settings}
        self.__dict__.update(self.checked_fields(name, {**settings, "last_epoch": last_epoch}))
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                check(
                    "initial_lr" in group,
                    f"{name}: param 'initial_lr' is not specified in "
                    f"param_groups[{i}] when resuming a schedule (last_epoch={last_epoch}); "
                    f"load the optimizer's state dict first, or use last_epoch=-1",
                )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self._initial_step()

    def _initial_step(self) -> None:
        """Step 0, which sets the first rates (``SequentialLR`` retakes it for its first
        schedule). ``get_lr`` sees ``_step_count == 1`` in it."""
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The rates for the current ``last_epoch`` (chainable form); used by ``step``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance the schedule by one step and write the new rates into the groups."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        """Write the rates of the next step (``epoch=None``) or of step ``epoch`` (by the closed
        form where the schedule has one: ``SequentialLR`` restarts a schedule at 0 this way)."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", self.get_lr)
            values = closed_form()
        self._set_lrs(values)

    def _set_lrs(self, values) -> None:
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = float(lr)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Copies of the attributes in ``fields`` (PyTorch's layout, without the optimizer);
        saves with ``mg.save``."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k in self.fields}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what a ``state_dict()`` of this class saved (also through ``mg.save`` /
        ``mg.load``; a dict with some of the keys restores those). Only the scheduler's own
        ``fields`` are loaded, each checked, then the whole; a key it does not keep (the
        optimizer, a method, another scheduler's setting) or a bad value raises an
        ``OptimizerError`` and nothing changes. The optimizer is not touched."""
        self.__dict__.update(self.checked_state_dict(state_dict))

    def checked_state_dict(self, state_dict: dict) -> dict:
        """The fields that loading ``state_dict`` sets, each checked, then the whole; raises
        ``OptimizerError`` (and changes nothing) on the first problem."""
        name = f"{type(self).__name__}.load_state_dict"
        check(
            isinstance(state_dict, dict),
            f"{name}: expected a dict (from state_dict()), got {type(state_dict).__name__}",
        )
        unknown = sorted(str(k) for k in state_dict if k not in self.fields)
        check(
            not unknown,
            f"{name}: unknown keys {unknown}; a {type(self).__name__} state dict holds only "
            f"{sorted(self.fields)} (never the optimizer or methods); was it saved from another "
            f"scheduler?",
        )
        return self.checked_fields(name, state_dict)

    def checked_fields(self, where: str, values: dict) -> dict:
        """``values`` (some of ``fields``), each checked by its field, then together with the
        attributes they would join (``check_state``); returns the checked values."""
        checked = {k: check_field(self, where, k, self.fields[k], v) for k, v in values.items()}
        current = {k: v for k, v in self.__dict__.items() if k in self.fields}
        self.check_state({**current, **checked}, where)
        return checked

    def check_state(self, state: dict, where: str) -> None:
        """Check the attributes as a whole (subclasses whose fields depend on each other)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"
