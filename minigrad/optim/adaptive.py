"""Adaptive per-coordinate step sizes: Adagrad, RMSprop and Adadelta, as PyTorch implements them.

Each divides the gradient by a running measure of its own size, so coordinates with large
gradients take smaller steps. In every rule ``g`` is the gradient, negated if ``maximize``, plus
``weight_decay * p`` (coupled L2 decay); all arithmetic is elementwise.
"""

from __future__ import annotations

import numpy as np

from .checks import Limits
from .optimizer import Optimizer, coupled_gradient
from .state_checks import array_slot, count_slot


class Adagrad(Optimizer):
    """PyTorch's Adagrad (Duchi et al., 2011). With ``t`` the parameter's step count:

        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g^2                           (sum starts at initial_accumulator_value)
        p   = p - clr * g / (sqrt(sum) + eps)

    State: ``step``, ``sum``.
    """

    limits = {
        **Optimizer.limits,
        "lr_decay": Limits("lr_decay value"),
        "initial_accumulator_value": Limits("initial_accumulator_value value"),
    }
    state_slots = {"step": count_slot, "sum": array_slot}
    required_state = ("step", "sum")

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        g = coupled_gradient(p, grad, group)
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        p.add_(g / (np.sqrt(state["sum"]) + group["eps"]), alpha=-clr)


class RMSprop(Optimizer):
    """PyTorch's RMSprop (Hinton's lecture 6e), optionally centered and with momentum:

        v = alpha * v + (1 - alpha) * g^2                        (square_avg)
        centered:  m = alpha * m + (1 - alpha) * g               (grad_avg)
                   avg = sqrt(v - m^2) + eps
        otherwise: avg = sqrt(v) + eps
        momentum:  b = momentum * b + g / avg;  p = p - lr * b   (momentum_buffer, starts at 0)
        otherwise: p = p - lr * g / avg

    State: ``step``, ``square_avg``, and ``momentum_buffer`` / ``grad_avg`` when used.
    """

    limits = {**Optimizer.limits, "alpha": Limits("alpha value")}
    state_slots = {
        "step": count_slot,
        "square_avg": array_slot,
        "momentum_buffer": array_slot,
        "grad_avg": array_slot,
    }
    required_state = ("step", "square_avg")

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        g = coupled_gradient(p, grad, group)
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            # NOTE: setdefault, as a group may turn `centered` on after the state was made.
            grad_avg = state.setdefault("grad_avg", np.zeros_like(p.data))
            grad_avg *= alpha
            grad_avg += (1 - alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = np.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(p.data))
            buf *= group["momentum"]
            buf += g / avg
            p.add_(buf, alpha=-group["lr"])
        else:
            p.add_(g / avg, alpha=-group["lr"])


class Adadelta(Optimizer):
    """PyTorch's Adadelta (Zeiler, 2012): a step size from the ratio of two running RMS values.

        v     = rho * v + (1 - rho) * g^2                  (square_avg)
        delta = sqrt(u + eps) / sqrt(v + eps) * g          (u = acc_delta)
        u     = rho * u + (1 - rho) * delta^2
        p     = p - lr * delta

    State: ``step``, ``square_avg``, ``acc_delta``.
    """

    limits = {**Optimizer.limits, "rho": Limits("rho value", high=1.0)}
    state_slots = {"step": count_slot, "square_avg": array_slot, "acc_delta": array_slot}
    required_state = ("step", "square_avg", "acc_delta")

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            state["acc_delta"] = np.zeros_like(p.data)
        state["step"] += 1
        g = coupled_gradient(p, grad, group)
        rho, eps = group["rho"], group["eps"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * g * g
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        p.add_(delta, alpha=-group["lr"])
