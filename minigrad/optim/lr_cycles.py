"""Schedules that follow the run: ``OneCycleLR`` (Smith's 1cycle, per batch) and
``ReduceLROnPlateau`` (lower the rate when a metric stops improving). Re-exported by
``lr_scheduler``; see its docstring for the conventions."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .checks import Limits, check, choice_field, flag_field, per_group_field
from .lr_scheduler_base import RATE, LRScheduler, check_optimizer, per_group
from .optimizer import Optimizer, OptimizerError

POSITIVE = Limits(low_open=True)  # max_lr, div_factor, final_div_factor: finite > 0
COUNT = Limits(low=1, integer=True)
ANNEAL = choice_field("cos", "linear")


def _phase(end_step, start_lr, end_lr, start_momentum, end_momentum) -> dict:
    """One phase of the 1cycle schedule: where it ends, and the group keys it goes between."""
    return {
        "end_step": end_step,
        "start_lr": start_lr,
        "end_lr": end_lr,
        "start_momentum": start_momentum,
        "end_momentum": end_momentum,
    }


LR_KEYS, MOMENTUM_KEYS = ("initial_lr", "max_lr", "min_lr"), ("max_momentum", "base_momentum")


def phases_field(scheduler, where: str, key: str, value) -> list:
    """The saved phases: two or three, each ending at a finite step and going between the
    groups' rate keys and momentum keys (``get_lr`` reads them from the groups)."""
    names = {"start_lr": LR_KEYS, "end_lr": LR_KEYS,
             "start_momentum": MOMENTUM_KEYS, "end_momentum": MOMENTUM_KEYS}  # fmt: skip
    ok = isinstance(value, list | tuple) and len(value) in (2, 3)
    ok = ok and all(isinstance(p, dict) and set(p) == {"end_step", *names} for p in value)
    ok = ok and all(p[k] in options for p in value for k, options in names.items())
    ok = ok and all(Limits(low=-math.inf).allows(p["end_step"]) for p in value)
    check(
        ok,
        f"{where}: {key} must be 2 or 3 phases (dicts of end_step and the group keys "
        f"{LR_KEYS} / {MOMENTUM_KEYS} they go between), ending at finite steps; got {value!r:.100}",
    )
    return [dict(p) for p in value]


# ----- cycling the momentum (OneCycleLR, CyclicLR) ------------------------------------------------


def cycled_momenta(name: str, optimizer: Optimizer, max_momentum, base_momentum):
    """``(use_beta1, max_momenta, base_momenta)``, one momentum per group, checked: the momenta
    become each group's ``momentum`` (>= 0: SGD, RMSprop) or the first of its ``betas`` (in
    [0, 1): Adam and its relatives). An optimizer with neither is refused."""
    defaults = optimizer.defaults
    check(
        "momentum" in defaults or "betas" in defaults,
        f"{name}: {type(optimizer).__name__} has neither momentum nor betas to cycle; pass "
        f"cycle_momentum=False",
    )
    use_beta1 = "betas" in defaults
    momentum = Limits(high=1.0, high_open=True) if use_beta1 else RATE
    tops = [momentum.check(name, "max_momentum", v)
            for v in per_group("max_momentum", optimizer, max_momentum)]  # fmt: skip
    bases = [momentum.check(name, "base_momentum", v)
             for v in per_group("base_momentum", optimizer, base_momentum)]  # fmt: skip
    return use_beta1, tops, bases


def set_momentum(group: dict, value: float, use_beta1: bool) -> None:
    """Set a group's momentum: its ``momentum``, or the first of its ``betas``."""
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def check_cycled_momentum(optimizer: Optimizer, state: dict, where: str) -> None:
    """A state that cycles the momentum needs an optimizer that has it, as the one it was
    saved from (``use_beta1``: Adam's beta1 or a group's momentum)."""
    if not state.get("cycle_momentum"):
        return
    defaults = optimizer.defaults
    check(
        "momentum" in defaults or "betas" in defaults,
        f"{where}: cycle_momentum=True, but {type(optimizer).__name__} has neither momentum nor "
        f"betas",
    )
    check(
        state.get("use_beta1") == ("betas" in defaults),
        f"{where}: use_beta1={state.get('use_beta1')}, but the optimizer "
        f"{'has' if 'betas' in defaults else 'has no'} betas",
    )


# ----- the schedules -----------------------------------------------------------------------------


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), stepped once per *batch*.

    The rate rises from ``initial_lr = max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of the ``total_steps`` (``epochs * steps_per_epoch`` if not given), then anneals
    to ``min_lr = initial_lr / final_div_factor``. With ``three_phase=True`` it comes back down to
    ``initial_lr`` symmetrically first, then anneals to ``min_lr``. Each phase interpolates
    between its end points with ``anneal_strategy``: ``"cos"``, ``end + (start - end) * (1 +
    cos(pi * pct)) / 2``, or ``"linear"``, ``start + (end - start) * pct``, where ``pct`` is the
    fraction of the phase done. Phase ends (in steps): ``pct_start * total_steps - 1``, then
    ``2 * pct_start * total_steps - 2`` (three-phase), then ``total_steps - 1``.

    With ``cycle_momentum`` (the default) the momentum moves the opposite way, between
    ``max_momentum`` and ``base_momentum``: the group's ``momentum`` (SGD, RMSprop), or the first
    of its ``betas`` (Adam). An optimizer with neither needs ``cycle_momentum=False``. Stepping
    more than ``total_steps`` times is an error.
    """

    fields = {
        **LRScheduler.fields,
        "total_steps": Limits(low=1, integer=True),
        "anneal_strategy": ANNEAL,
        "_schedule_phases": phases_field,
        "cycle_momentum": flag_field,
        "use_beta1": flag_field,
    }

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ):
        name = "OneCycleLR"
        check_optimizer(name, optimizer)
        # NOTE: everything is checked before the groups are changed: a refused schedule leaves
        # the optimizer as it was.
        if total_steps is not None:
            total_steps = COUNT.check(name, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            total_steps = COUNT.check(name, "epochs", epochs) * COUNT.check(
                name, "steps_per_epoch", steps_per_epoch
            )
        else:
            raise OptimizerError(
                f"{name}: You must define either total_steps OR (epochs AND steps_per_epoch)"
            )
        LRScheduler.fields["last_epoch"].check(name, "last_epoch", last_epoch)
        Limits(high=1.0).check(name, "pct_start", pct_start)
        POSITIVE.check(name, "div_factor", div_factor)
        POSITIVE.check(name, "final_div_factor", final_div_factor)
        max_lrs = [
            POSITIVE.check(name, "max_lr", v) for v in per_group("max_lr", optimizer, max_lr)
        ]
        self.optimizer = optimizer
        self.anneal_strategy = ANNEAL(self, name, "anneal_strategy", anneal_strategy)
        self.cycle_momentum = flag_field(self, name, "cycle_momentum", cycle_momentum)
        three_phase = flag_field(self, name, "three_phase", three_phase)
        if cycle_momentum:
            self.use_beta1, tops, bases = cycled_momenta(
                name, optimizer, max_momentum, base_momentum
            )

        self.total_steps = total_steps
        up = float(pct_start * total_steps) - 1
        if three_phase:
            down = float(2 * pct_start * total_steps) - 2
            self._schedule_phases = [
                _phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(down, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                _phase(total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                _phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
            if cycle_momentum:
                for group, top, base in zip(optimizer.param_groups, tops, bases):
                    set_momentum(group, top, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = top, base
        super().__init__(optimizer, last_epoch)

    def check_state(self, state: dict, where: str) -> None:
        """Momentum cycles only on an optimizer that has it, as the one it was saved from; the
        last phase ends at the last step."""
        check_cycled_momentum(self.optimizer, state, where)
        phases, total = state.get("_schedule_phases"), state.get("total_steps")
        if phases and total is not None:
            check(
                phases[-1]["end_step"] == total - 1,
                f"{where}: the last phase ends at step {phases[-1]['end_step']}, but "
                f"total_steps={total} (it must end at {total - 1})",
            )

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise OptimizerError(
                f"OneCycleLR: tried to step {t} times; the specified number of total steps is "
                f"{self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if t <= end or i == len(self._schedule_phases) - 1:
                    # NOTE: a phase of zero length (tiny total_steps) is already at its end.
                    pct = (t - start) / (end - start) if end > start else 1.0
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                        )
                    break
                start = end
            lrs.append(lr)
            if self.cycle_momentum:
                set_momentum(group, momentum, self.use_beta1)
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Divide the rate by ``1 / factor`` when a metric stops improving: ``step(metric)``.

    A metric *improves* on the best so far when (``mode="min"``) it is below ``best * (1 -
    threshold)`` (``threshold_mode="rel"``) or ``best - threshold`` (``"abs"``); for
    ``mode="max"``, above ``best * (1 + threshold)`` or ``best + threshold``. After more than
    ``patience`` steps in a row without improvement, every group's rate becomes ``max(lr *
    factor, min_lr)`` (skipped if that changes it by no more than ``eps``), and the next
    ``cooldown`` steps count no bad steps.
    """

    fields = {
        "mode": choice_field("min", "max"),
        "factor": Limits(low_open=True, high=1.0, high_open=True),
        "patience": Limits(integer=True),
        "threshold": Limits(),
        "threshold_mode": choice_field("rel", "abs"),
        "cooldown": Limits(integer=True),
        "eps": Limits(),
        "min_lrs": per_group_field(Limits("min_lr")),
        "default_min_lr": Limits("min_lr", optional=True),
        "last_epoch": Limits(integer=True),
        "_last_lr": per_group_field(RATE),
        "best": Limits(low=-math.inf, finite=False),  # inf before the first metric
        "cooldown_counter": Limits(integer=True),
        "num_bad_epochs": Limits(integer=True),
        "mode_worse": Limits(low=-math.inf, finite=False),
    }

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ):
        name = "ReduceLROnPlateau"
        check_optimizer(name, optimizer)
        self.optimizer = optimizer
        several = isinstance(min_lr, list | tuple)
        settings = dict(
            mode=mode, factor=factor, patience=patience, threshold=threshold,
            threshold_mode=threshold_mode, cooldown=cooldown, eps=eps,
            min_lrs=list(min_lr) if several else [min_lr] * len(optimizer.param_groups),
            default_min_lr=None if several else min_lr,
        )  # fmt: skip
        self.__dict__.update(self.checked_fields(name, settings))
        self.mode_worse = math.inf if self.mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def check_state(self, state: dict, where: str) -> None:
        """``mode_worse`` is the worst value in ``mode``; a cooldown counts down from
        ``cooldown``."""
        if "mode_worse" in state:
            worse = math.inf if state["mode"] == "min" else -math.inf
            check(
                state["mode_worse"] == worse,
                f"{where}: mode_worse={state['mode_worse']} does not fit mode={state['mode']!r} "
                f"(it must be {worse})",
            )
        if "cooldown_counter" in state:
            check(
                state["cooldown_counter"] <= state["cooldown"],
                f"{where}: cooldown_counter={state['cooldown_counter']} is more than "
                f"cooldown={state['cooldown']}",
            )

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether the metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            limit = (
                best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else best - self.threshold
            )
            return a < limit
        limit = (
            best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        )
        return a > limit

    def step(self, metrics) -> None:
        """Record one epoch's metric (a number or a 0-d Tensor/array) and maybe reduce."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups) and self.default_min_lr is not None:
            self.min_lrs = [self.default_min_lr] * len(groups)  # groups added since
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
