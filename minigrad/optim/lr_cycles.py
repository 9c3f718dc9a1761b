"""Schedules that follow the run: ``OneCycleLR`` (Smith's 1cycle, per batch) and
``ReduceLROnPlateau`` (lower the rate when a metric stops improving). Re-exported by
``lr_scheduler``; see its docstring for the conventions."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer, OptimizerError, check


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
        check(
            isinstance(optimizer, Optimizer),
            f"OneCycleLR: {type(optimizer).__name__} is not an Optimizer",
        )
        if total_steps is not None:
            check(
                isinstance(total_steps, int) and total_steps > 0,
                f"Expected positive integer total_steps, but got {total_steps}",
            )
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            check(
                isinstance(epochs, int) and epochs > 0,
                f"Expected positive integer epochs, but got {epochs}",
            )
            check(
                isinstance(steps_per_epoch, int) and steps_per_epoch > 0,
                f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}",
            )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise OptimizerError(
                "You must define either total_steps OR (epochs AND steps_per_epoch)"
            )
        check(
            isinstance(pct_start, int | float) and 0 <= pct_start <= 1,
            f"Expected float between 0 and 1 pct_start, but got {pct_start}",
        )
        check(
            anneal_strategy in ("cos", "linear"),
            f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}",
        )
        self.anneal_strategy = anneal_strategy
        up = float(pct_start * self.total_steps) - 1
        if three_phase:
            down = float(2 * pct_start * self.total_steps) - 2
            self._schedule_phases = [
                _phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(down, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                _phase(
                    self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"
                ),
            ]
        else:
            self._schedule_phases = [
                _phase(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            defaults = optimizer.defaults
            check(
                "momentum" in defaults or "betas" in defaults,
                f"OneCycleLR: {type(optimizer).__name__} has neither momentum nor betas to "
                f"cycle; pass cycle_momentum=False",
            )
            self.use_beta1 = "betas" in defaults
            tops = _per_group("max_momentum", optimizer, max_momentum)
            bases = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for group, top, base in zip(optimizer.param_groups, tops, bases):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, base
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

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
                self._set_momentum(group, momentum)
        return lrs


def _phase(end_step, start_lr, end_lr, start_momentum, end_momentum) -> dict:
    """One phase of the 1cycle schedule: where it ends, and the group keys it goes between."""
    return {
        "end_step": end_step,
        "start_lr": start_lr,
        "end_lr": end_lr,
        "start_momentum": start_momentum,
        "end_momentum": end_momentum,
    }


class ReduceLROnPlateau(LRScheduler):
    """Divide the rate by ``1 / factor`` when a metric stops improving: ``step(metric)``.

    A metric *improves* on the best so far when (``mode="min"``) it is below ``best * (1 -
    threshold)`` (``threshold_mode="rel"``) or ``best - threshold`` (``"abs"``); for
    ``mode="max"``, above ``best * (1 + threshold)`` or ``best + threshold``. After more than
    ``patience`` steps in a row without improvement, every group's rate becomes ``max(lr *
    factor, min_lr)`` (skipped if that changes it by no more than ``eps``), and the next
    ``cooldown`` steps count no bad steps.
    """

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
        check(
            isinstance(optimizer, Optimizer),
            f"ReduceLROnPlateau: {type(optimizer).__name__} is not an Optimizer",
        )
        check(factor < 1.0, f"Factor should be < 1.0, got {factor}")
        check(patience >= 0, f"ReduceLROnPlateau: patience must be >= 0, got {patience}")
        check(cooldown >= 0, f"ReduceLROnPlateau: cooldown must be >= 0, got {cooldown}")
        self.optimizer = optimizer
        self.factor = factor
        if isinstance(min_lr, list | tuple):
            n = len(optimizer.param_groups)
            check(len(min_lr) == n, f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self._check_mode()
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _check_mode(self) -> None:
        check(self.mode in ("min", "max"), f"mode {self.mode} is unknown! Use 'min' or 'max'")
        check(
            self.threshold_mode in ("rel", "abs"),
            f"threshold mode {self.threshold_mode} is unknown! Use 'rel' or 'abs'",
        )
        self.mode_worse = math.inf if self.mode == "min" else -math.inf

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

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._check_mode()
