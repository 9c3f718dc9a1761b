"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import math

import numpy as np

from .checks import Limits
from .optimizer import Optimizer, check, coupled_gradient
from .state_checks import array_slot


class SGD(Optimizer):
    """PyTorch's SGD. With ``g`` the gradient (plus ``weight_decay * p``; negated if
    ``maximize``) and momentum ``mu``:

        b = g (first step), else b = mu * b + (1 - dampening) * g
        d = g + mu * b if nesterov else b          (d = g when mu = 0)
        p = p - lr * d

    State: ``momentum_buffer`` (with momentum).
    """

    # PyTorch does not bound dampening; it must be a finite number
    limits = {**Optimizer.limits, "dampening": Limits("dampening value", low=-math.inf)}
    state_slots = {"momentum_buffer": array_slot}

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check(
            not group["nesterov"] or (group["momentum"] > 0 and group["dampening"] == 0),
            f"{type(self).__name__}: Nesterov momentum requires a momentum and zero dampening",
        )

    def update(self, p, grad, state, group) -> None:
        d = coupled_gradient(p, grad, group)
        mu = group["momentum"]
        if mu:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = np.array(d, copy=True)
            else:
                buf = state["momentum_buffer"]
                buf *= mu
                # NOTE: without dampening, d itself: 1.0 * d is the same bits, and a pass over
                # the parameter and a temporary array of its size more
                buf += d if group["dampening"] == 0 else (1 - group["dampening"]) * d
            buf = state["momentum_buffer"]
            d = d + mu * buf if group["nesterov"] else buf
        p.add_(d, alpha=-group["lr"])
