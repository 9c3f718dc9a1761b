"""Schedules that repeat: ``CosineAnnealingWarmRestarts`` (SGDR) and ``CyclicLR`` (Smith's
cyclical learning rates, per batch). Re-exported by ``lr_scheduler``; see its docstring for the
conventions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .checks import Limits, check, choice_field, flag_field, per_group_field
from .lr_cycles import check_cycled_momentum, cycled_momenta, set_momentum
from .lr_scheduler_base import (
    FACTOR,
    RATE,
    LRScheduler,
    check_optimizer,
    check_saved_function,
    per_group,
    restore_function,
    saved_function,
)
from .optimizer import Optimizer

COUNT = Limits(low=1, integer=True)
EPOCH = Limits("epoch")  # a step(epoch) argument: finite, >= 0, fractions allowed


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov & Hutter, 2017): cosine annealing from ``base_lr`` to ``eta_min`` over a
    period of ``T_i`` steps, then a warm restart at ``base_lr``; the first period is ``T_0``
    steps, each next one ``T_mult`` times longer. With ``T_cur`` the steps since the restart:

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    ``step()`` adds one to ``T_cur``. ``step(epoch)`` sets the position from a (fractional)
    epoch, as PyTorch's, for stepping per batch: ``scheduler.step(epoch + i / batches)``.
    """

    fields = {
        **LRScheduler.fields,
        "T_0": COUNT,
        "T_i": COUNT,
        "T_mult": COUNT,
        "eta_min": Limits(),
        "T_cur": Limits(low=-1),  # -1 before step 0; fractional after step(epoch)
    }
    settings = ("T_0", "T_mult", "eta_min")

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,
        T_mult: int = 1,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ):
        self.T_0 = self.T_i = COUNT.check("CosineAnnealingWarmRestarts", "T_0", T_0)
        self.T_mult, self.eta_min, self.T_cur = T_mult, eta_min, last_epoch
        super().__init__(optimizer, last_epoch)

    def check_state(self, state: dict, where: str) -> None:
        """The period ``T_i`` is ``T_0`` times a power of ``T_mult``."""
        if {"T_0", "T_i", "T_mult"} <= set(state):
            period = state["T_0"]
            while period < state["T_i"] and state["T_mult"] > 1:
                period *= state["T_mult"]
            check(
                period == state["T_i"],
                f"{where}: T_i={state['T_i']} is not T_0={state['T_0']} times a power of "
                f"T_mult={state['T_mult']}",
            )

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """One step, or (``epoch`` given) a jump to ``epoch``, possibly fractional: then the
        period it falls in and the position in it are computed from it."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            epoch = EPOCH.check(f"{type(self).__name__}.step", "epoch", epoch)
            T_0, T_mult = self.T_0, self.T_mult
            if epoch < T_0:
                self.T_i, self.T_cur = T_0, epoch
            elif T_mult == 1:
                self.T_cur = epoch % T_0
            else:  # n restarts before epoch: T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch
                n = int(math.log(epoch / T_0 * (T_mult - 1) + 1, T_mult))
                self.T_cur = epoch - T_0 * (T_mult**n - 1) / (T_mult - 1)
                self.T_i = T_0 * T_mult**n
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017), stepped once per *batch*: the rate goes from
    ``base_lr`` up to ``max_lr`` in ``step_size_up`` steps and back down in ``step_size_down``
    (default: the same), over and over. With ``t = last_epoch``, ``size = up + down``:

        cycle = floor(1 + t / size),   x = 1 + t / size - cycle   (the fraction of the cycle done)
        h = x / (up / size) if x <= up / size, else (x - 1) / (up / size - 1)   (0 to 1 to 0)
        lr = base_lr + (max_lr - base_lr) * h * scale

    ``mode`` sets ``scale``: "triangular" 1; "triangular2" ``1 / 2^(cycle - 1)``, halving each
    cycle; "exp_range" ``gamma^t``. A ``scale_fn`` of one argument replaces it, called with
    ``cycle`` or with ``t`` (``scale_mode`` "cycle" or "iterations").

    With ``cycle_momentum`` (the default) the momentum moves the opposite way, ``max_momentum -
    (max_momentum - base_momentum) * h * scale``: the group's ``momentum`` (SGD, RMSprop) or
    the first of its ``betas`` (Adam and its relatives). As PyTorch's, the rates start at
    ``base_lr`` and the momenta at ``max_momentum`` (SGD's ``momentum=0`` too).
    """

    fields = {
        **LRScheduler.fields,
        "max_lrs": per_group_field(RATE),
        "total_size": Limits(low_open=True),
        "step_ratio": Limits(low_open=True, high=1.0),
        "mode": choice_field("triangular", "triangular2", "exp_range"),
        "gamma": FACTOR,
        "scale_mode": choice_field("cycle", "iterations"),
        "cycle_momentum": flag_field,
        "use_beta1": flag_field,
        "base_momentums": per_group_field(RATE),
        "max_momentums": per_group_field(RATE),
    }

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | Sequence[float],
        max_lr: float | Sequence[float],
        step_size_up: float = 2000,
        step_size_down: float | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.8,
        max_momentum: float | Sequence[float] = 0.9,
        last_epoch: int = -1,
    ):
        name = "CyclicLR"
        check_optimizer(name, optimizer)
        self.optimizer = optimizer
        # NOTE: everything is checked before the groups are changed.
        LRScheduler.fields["last_epoch"].check(name, "last_epoch", last_epoch)
        base_lrs = [
            RATE.check(name, "base_lr", v) for v in per_group("base_lr", optimizer, base_lr)
        ]
        max_lrs = [RATE.check(name, "max_lr", v) for v in per_group("max_lr", optimizer, max_lr)]
        up = Limits(low_open=True).check(name, "step_size_up", step_size_up)
        down = Limits().check(
            name, "step_size_down", up if step_size_down is None else step_size_down
        )
        check(
            scale_fn is None or callable(scale_fn),
            f"{name}: scale_fn must be a function of one number (or None), got {scale_fn!r:.60}",
        )
        settings = dict(
            max_lrs=max_lrs, total_size=float(up + down), step_ratio=float(up / (up + down)),
            mode=mode, gamma=gamma, scale_mode=scale_mode,
            cycle_momentum=flag_field(self, name, "cycle_momentum", cycle_momentum),
        )  # fmt: skip
        if settings["cycle_momentum"]:
            use_beta1, tops, bases = cycled_momenta(name, optimizer, max_momentum, base_momentum)
            settings.update(use_beta1=use_beta1, max_momentums=tops, base_momentums=bases)
        self.__dict__.update(self.checked_fields(name, settings))
        self._scale_fn_custom = scale_fn
        self._default_scale_mode()
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
            if self.cycle_momentum:
                for group, top, base in zip(optimizer.param_groups, tops, bases):
                    set_momentum(group, top, use_beta1)
                    group["max_momentum"], group["base_momentum"] = top, base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _default_scale_mode(self) -> None:
        """Without a ``scale_fn`` the mode decides what the scale is called with, as PyTorch's:
        the step for "exp_range", the cycle otherwise."""
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def check_state(self, state: dict, where: str) -> None:
        """Momentum cycles only on an optimizer that has it (a beta1 stays below 1), with the
        momenta saved."""
        check_cycled_momentum(self.optimizer, state, where)
        if state.get("cycle_momentum"):
            momenta = [*state.get("base_momentums", ()), *state.get("max_momentums", ())]
            check(
                "base_momentums" in state and "max_momentums" in state,
                f"{where}: cycle_momentum=True needs base_momentums and max_momentums",
            )
            check(
                not state.get("use_beta1") or all(m < 1 for m in momenta),
                f"{where}: the momenta become Adam's beta1, which must be below 1; got {momenta}",
            )

    def scale_fn(self, x: float) -> float:
        """The amplitude's scale at cycle (or step) ``x``: ``scale_fn``'s, or the mode's."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x if self.mode == "exp_range" else 1.0

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        ratio = self.step_ratio
        height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)  # 0 up to 1, down to 0
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base + (top - base) * height * scale
               for base, top in zip(self.base_lrs, self.max_lrs)]  # fmt: skip
        if self.cycle_momentum:
            for group, base, top in zip(
                self.optimizer.param_groups, self.base_momentums, self.max_momentums
            ):
                set_momentum(group, top - (top - base) * height * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict:
        """The fields, and ``_scale_fn_custom``: ``None``, or a callable object's attributes
        (a function's code cannot be saved, as in PyTorch)."""
        return {**super().state_dict(), "_scale_fn_custom": saved_function(self._scale_fn_custom)}

    def load_state_dict(self, state_dict: dict) -> None:
        name = "CyclicLR.load_state_dict"
        check(isinstance(state_dict, dict), f"{name}: expected a dict, got {type(state_dict)}")
        state = dict(state_dict)
        saved = state.pop("_scale_fn_custom", None)
        check_saved_function(name, "_scale_fn_custom", self._scale_fn_custom, saved)
        super().load_state_dict(state)  # checks the rest, then sets it
        restore_function(self._scale_fn_custom, saved)
        self._default_scale_mode()
