"""Learning-rate schedules with PyTorch's names and semantics (``torch.optim.lr_scheduler``).

A scheduler is built on an optimizer and owns the ``lr`` of its parameter groups. At
construction it records each group's ``initial_lr`` (the ``base_lrs``) and takes step 0; every
``scheduler.step()`` (once per epoch, or per batch for ``OneCycleLR`` and ``CyclicLR``, after
``optimizer.step()``) advances ``last_epoch`` by one and writes the new rates into the groups.

As in PyTorch, ``step()`` uses each schedule's *chainable* form: the new rate is computed from
the group's current ``lr`` (``StepLR`` multiplies by ``gamma`` every ``step_size`` steps), so two
schedulers on one optimizer compose multiplicatively. The *closed* forms in the docstrings give
the same values for a scheduler used alone, ``t = last_epoch`` and ``base_lr`` the group's
``initial_lr``.

>>> import minigrad as mg
>>> w = mg.tensor([1.0], requires_grad=True)
>>> opt = mg.optim.SGD([w], lr=0.1)
>>> sched = StepLR(opt, step_size=2, gamma=0.5)
>>> rates = []
>>> for epoch in range(5):
...     opt.step()
...     sched.step()
...     rates.append(sched.get_last_lr()[0])
>>> rates
[0.1, 0.05, 0.05, 0.025, 0.025]
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

from ..errors import missing_names
from .checks import Limits, check, milestones_field
from .lr_composite import ChainedScheduler, SequentialLR
from .lr_cycles import OneCycleLR, ReduceLROnPlateau
from .lr_periodic import CosineAnnealingWarmRestarts, CyclicLR
from .lr_scheduler_base import (
    FACTOR,
    LRScheduler,
    check_optimizer,
    check_saved_function,
    restore_function,
    saved_function,
)
from .optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "PolynomialLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "ChainedScheduler",
]


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(t)``: one function of the step, or a list (one per group).

    ``state_dict`` cannot save plain functions (it stores ``None`` for them, PyTorch's rule);
    a callable object's attributes (``__dict__``) are saved and restored.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        check_optimizer("LambdaLR", optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, list | tuple):
            check(len(lr_lambda) == n, f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            check(callable(fn), f"LambdaLR: lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["lr_lambdas"] = [saved_function(fn) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        name = "LambdaLR.load_state_dict"
        check(isinstance(state_dict, dict), f"{name}: expected a dict, got {type(state_dict)}")
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        n = len(self.lr_lambdas)
        check(
            isinstance(saved, list | tuple) and len(saved) == n,
            f"{name}: lr_lambdas must be a list of {n} entries (None, or a callable object's "
            f"attributes), got {saved!r:.80}",
        )
        for i, (fn, attributes) in enumerate(zip(self.lr_lambdas, saved)):
            check_saved_function(name, f"lr_lambdas[{i}]", fn, attributes)
        super().load_state_dict(state)  # checks the rest, then sets it
        for fn, attributes in zip(self.lr_lambdas, saved):
            restore_function(fn, attributes)


class StepLR(LRScheduler):
    """Decay by ``gamma`` every ``step_size`` steps:

    lr = base_lr * gamma ** (t // step_size)
    """

    fields = {
        **LRScheduler.fields,
        "step_size": Limits(low=1, integer=True),
        "gamma": FACTOR,
    }
    settings = ("step_size", "gamma")

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Decay by ``gamma`` at each milestone: ``lr = base_lr * gamma ** bisect_right(milestones,
    t)`` (a milestone listed twice decays twice)."""

    fields = {**LRScheduler.fields, "milestones": milestones_field, "gamma": FACTOR}
    settings = ("milestones", "gamma")

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ):
        self.milestones, self.gamma = milestones, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        times = self.milestones.get(self.last_epoch, 0)
        return [lr * self.gamma**times for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [
            base * self.gamma ** bisect_right(milestones, self.last_epoch) for base in self.base_lrs
        ]


class ExponentialLR(LRScheduler):
    """Decay by ``gamma`` every step: ``lr = base_lr * gamma ** t`` (``gamma > 0``)."""

    fields = {**LRScheduler.fields, "gamma": FACTOR}
    settings = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return lrs
        return [lr * self.gamma for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from ``base_lr`` to ``eta_min`` over ``T_max`` steps (SGDR without
    restarts):

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    Past ``T_max`` the cosine goes on (back up to ``base_lr`` at ``2 * T_max``), as PyTorch's.
    ``step`` uses the recursive form, which also follows changes made to ``lr`` from outside.
    """

    fields = {
        **LRScheduler.fields,
        "T_max": Limits(low_open=True),
        "eta_min": Limits(),
    }
    settings = ("T_max", "eta_min")

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if t == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:  # resumed: no previous rate to chain from
            return [
                eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                for base in self.base_lrs
            ]
        if (t - 1 - T) % (2 * T) == 0:  # leaving the minimum, where the ratio below is 0/0
            return [
                group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base, group in zip(self.base_lrs, groups)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        return [
            eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2
            for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Linear warm-up (or decay) of the factor from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then constant:

        lr = base_lr * (a + (b - a) * min(t, total_iters) / total_iters)

    with ``a = start_factor`` and ``b = end_factor``.
    """

    fields = {
        **LRScheduler.fields,
        "start_factor": Limits(low_open=True, high=1.0),
        "end_factor": Limits(high=1.0),
        "total_iters": Limits(low=1, integer=True),
    }
    settings = ("start_factor", "end_factor", "total_iters")

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        t, a, b, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * a for lr in lrs]
        if t > n:
            return lrs
        # factor(t) / factor(t - 1), with factor(t) = a + (b - a) * t / n
        ratio = 1.0 + (b - a) / (n * a + (t - 1) * (b - a))
        return [lr * ratio for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        t, a, b, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        return [base * (a + (b - a) * min(n, t) / n) for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Polynomial decay to 0 over ``total_iters`` steps, then 0:

        lr = base_lr * (1 - min(t, total_iters) / total_iters) ** power

    (``power`` 1: a straight line; 2: quadratic, slowing down near the end.)
    """

    fields = {
        **LRScheduler.fields,
        "total_iters": Limits(low=1, integer=True),
        "power": Limits(),
    }
    settings = ("total_iters", "power")

    def __init__(
        self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1
    ):
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        t, n = self.last_epoch, self.total_iters
        # NOTE: step 0 keeps the rates (also when resuming at last_epoch = k), as PyTorch's.
        if self._step_count == 1 or t > n:
            return lrs
        factor = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [lr * factor for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        t, n = self.last_epoch, self.total_iters
        return [base * (1.0 - min(n, t) / n) ** self.power for base in self.base_lrs]


# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.optim.lr_scheduler")
