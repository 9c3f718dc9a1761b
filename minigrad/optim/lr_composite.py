"""Schedules made of schedules: ``SequentialLR`` (one after another, switching at milestones) and
``ChainedScheduler`` (all at every step, their factors multiplying). Re-exported by
``lr_scheduler``; see its docstring for the conventions.

The schedulers they hold are built on the same optimizer first, as in PyTorch; their state
dicts hold those of the schedulers inside (``_schedulers``), and loading one checks all of it
before keeping any.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from .checks import Limits, OptimizerError, check, is_integer, per_group_field
from .lr_cycles import ReduceLROnPlateau
from .lr_scheduler_base import RATE, LRScheduler, check_optimizer
from .optimizer import Optimizer


def _check_schedulers(name: str, schedulers, optimizer: Optimizer, composite_ok: bool) -> None:
    """At least one scheduler; each a schedule of ``optimizer``'s rates that ``step()`` alone
    advances (not ReduceLROnPlateau, which needs a metric)."""
    check(
        isinstance(schedulers, list | tuple) and len(schedulers) > 0,
        f"{name} expects a list of at least one scheduler, got {schedulers!r:.80}",
    )
    for i, scheduler in enumerate(schedulers):
        kind = type(scheduler).__name__
        check(
            isinstance(scheduler, LRScheduler),
            f"{name}: schedulers[{i}] is a {kind}, not a learning-rate scheduler",
        )
        check(
            not isinstance(scheduler, ReduceLROnPlateau),
            f"{name}: schedulers[{i}] is a ReduceLROnPlateau, which needs a metric at each "
            f"step(metric); step it yourself, beside the {name}",
        )
        check(
            scheduler.optimizer is optimizer,
            f"{name}: schedulers[{i}] ({kind}) sets the rates of another optimizer "
            f"({type(scheduler.optimizer).__name__}); all must belong to the same one",
        )
        check(
            composite_ok or not isinstance(scheduler, SequentialLR | ChainedScheduler),
            f"{name}: schedulers[{i}] is a {kind}; {name} restarts each schedule at its "
            f"milestone, which a {kind} cannot do (PyTorch fails there too); put the "
            f"{name} inside a ChainedScheduler instead",
        )


class _Composite(LRScheduler):
    """What the two share: a state dict that holds the inner ones, and its loading."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict:
        """The fields, and ``_schedulers``: the state dict of each scheduler inside."""
        return {**super().state_dict(), "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the fields and each inner scheduler's state: all of it checked first; if an
        inner scheduler refuses its part, those loaded before it are put back as they were."""
        name = f"{type(self).__name__}.load_state_dict"
        check(isinstance(state_dict, dict), f"{name}: expected a dict, got {type(state_dict)}")
        state = dict(state_dict)
        inner = state.pop("_schedulers", None)
        n = len(self._schedulers)
        check(
            inner is None or (isinstance(inner, list | tuple) and len(inner) == n),
            f"{name}: _schedulers must be a list of {n} state dicts (one per scheduler), got "
            f"{inner!r:.80}",
        )
        own = self.checked_state_dict(state)
        if inner is not None:
            before = [s.state_dict() for s in self._schedulers]
            try:
                for i, (scheduler, saved) in enumerate(zip(self._schedulers, inner)):
                    try:
                        scheduler.load_state_dict(saved)
                    except OptimizerError as error:
                        raise OptimizerError(f"{name}: _schedulers[{i}]: {error}") from None
            except OptimizerError:
                for scheduler, saved in zip(self._schedulers, before):
                    scheduler.load_state_dict(saved)
                raise
        self.__dict__.update(own)

    def __repr__(self) -> str:
        inner = ", ".join(type(s).__name__ for s in self._schedulers)
        return f"{type(self).__name__}([{inner}], last_lr={self._last_lr})"


def milestones_list(scheduler, where: str, key: str, value) -> list:
    """SequentialLR's milestones: integers >= 0, in increasing order (each a switch)."""
    ok = isinstance(value, list | tuple) and all(is_integer(m) and m >= 0 for m in value)
    ok = ok and all(a <= b for a, b in zip(value, value[1:]))
    check(ok, f"{where}: {key} must be increasing integers >= 0, got {value!r:.80}")
    return [int(m) for m in value]


class SequentialLR(_Composite):
    """One schedule after another: ``schedulers[i]`` sets the rates from ``milestones[i - 1]``
    to ``milestones[i]``, restarted at step 0 of its own at its milestone (a warm-up, then a
    decay: ``SequentialLR(opt, [LinearLR(opt, ...), CosineAnnealingLR(opt, ...)], [5])``).

    As PyTorch's: building it puts every group's rate back to ``initial_lr`` and takes step 0
    of the first schedule again (each schedule took one when it was built); at a milestone the
    next schedule starts from its closed form at step 0 (a schedule without one: from its
    ``get_lr`` at step 0); ``last_epoch`` counts the steps of the whole.
    """

    fields = {
        "last_epoch": Limits(integer=True),
        "_milestones": milestones_list,
        "_last_lr": per_group_field(RATE),
    }

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ):
        name = "SequentialLR"
        check_optimizer(name, optimizer)
        _check_schedulers(name, schedulers, optimizer, composite_ok=False)
        check(
            isinstance(milestones, list | tuple) and len(milestones) == len(schedulers) - 1,
            f"{name} expects one milestone fewer than schedulers (the steps where each next one "
            f"starts): got {len(schedulers)} schedulers and milestones {milestones!r:.80}",
        )
        LRScheduler.fields["last_epoch"].check(name, "last_epoch", last_epoch)
        self.optimizer = optimizer
        self.__dict__.update(
            self.checked_fields(name, {"_milestones": milestones, "last_epoch": last_epoch + 1})
        )
        self._schedulers = list(schedulers)
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:  # undo the step 0 each took when it was built
            scheduler.last_epoch -= 1
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def check_state(self, state: dict, where: str) -> None:
        """One milestone fewer than schedulers."""
        schedulers = getattr(self, "_schedulers", None)
        if schedulers is not None and "_milestones" in state:
            check(
                len(state["_milestones"]) == len(schedulers) - 1,
                f"{where}: {len(state['_milestones'])} milestones for {len(schedulers)} "
                f"schedulers (there must be one fewer)",
            )

    def step(self) -> None:
        """One step of the schedule in force; at a milestone, step 0 of the next one."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Several schedules at once: each ``step()`` steps every one, in order, and as each
    computes its rate from the group's current one (the chainable forms), their factors
    multiply (``ExponentialLR`` decay under a ``CyclicLR``'s triangle, say). ``optimizer``
    defaults to the schedulers' own; unlike the others it takes no step when built.
    """

    fields = {"_last_lr": per_group_field(RATE)}

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None):
        name = "ChainedScheduler"
        check(
            isinstance(schedulers, list | tuple) and len(schedulers) > 0,
            f"{name} expects a list of at least one scheduler, got {schedulers!r:.80}",
        )
        if optimizer is None:
            first = schedulers[0]
            check(
                isinstance(first, LRScheduler),
                f"{name}: schedulers[0] is a {type(first).__name__}, not a learning-rate scheduler",
            )
            optimizer = first.optimizer
        check_optimizer(name, optimizer)
        _check_schedulers(name, schedulers, optimizer, composite_ok=True)
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        """One step of every schedule, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
