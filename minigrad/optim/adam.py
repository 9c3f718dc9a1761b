"""Adam and AdamW, as PyTorch implements them (its default for-loop rule), and the pieces the
other Adam-type rules (``adam_variants.py``) share with them."""

from __future__ import annotations

import numpy as np

from ..capture.scalars import sqrt
from .checks import Limits
from .optimizer import Optimizer, coupled_gradient
from .state_checks import array_slot, count_slot


class BetasOptimizer(Optimizer):
    """Base of the optimizers with Adam's ``betas = (beta1, beta2)``: each checked to be in
    [0, 1), with PyTorch's message ("Invalid beta parameter at index 0: 1.0")."""

    tuple_kinds = {"betas": "a pair (beta1, beta2) of numbers in [0, 1)"}

    def validate(self, group: dict) -> None:
        super().validate(group)  # lr, eps, weight_decay; betas' kind and length are checked
        for i, beta in enumerate(group["betas"]):
            beta_range = Limits(f"beta parameter at index {i}", high=1.0, high_open=True)
            beta_range.check(type(self).__name__, f"betas[{i}]", beta)


def betas_pair(betas):
    """``betas`` as given, a list made a tuple (as the groups and state dicts keep it)."""
    return tuple(betas) if isinstance(betas, list) else betas


def decayed_gradient(p, grad: np.ndarray, group: dict, decoupled: bool) -> np.ndarray:
    """The gradient an Adam-type rule uses: with coupled decay, ``±grad + weight_decay * p``;
    with decoupled decay (AdamW's), ``±grad``, after shrinking the parameter itself:
    ``p = p * (1 - lr * weight_decay)``."""
    if not decoupled:
        return coupled_gradient(p, grad, group)
    if group["weight_decay"]:
        p.mul_(1 - group["lr"] * group["weight_decay"])
    return -grad if group["maximize"] else grad


def update_moments(state: dict, g: np.ndarray, beta1: float, beta2: float) -> None:
    """The running moments, in place: ``exp_avg = beta1 * exp_avg + (1 - beta1) * g`` and
    ``exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g^2``."""
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg *= beta1
    exp_avg += (1 - beta1) * g
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g


class Adam(BetasOptimizer):
    """PyTorch's Adam (Kingma & Ba, 2015). With ``g`` the gradient (negated if ``maximize``,
    plus ``weight_decay * p``: coupled L2 decay) and ``t`` the parameter's step count:

        m = beta1 * m + (1 - beta1) * g                     (exp_avg)
        v = beta2 * v + (1 - beta2) * g^2                   (exp_avg_sq)
        amsgrad: v_max = max(v_max, v), used for v below    (max_exp_avg_sq)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)

    State: ``step``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` with amsgrad).
    """

    state_slots = {
        "step": count_slot,
        "exp_avg": array_slot,
        "exp_avg_sq": array_slot,
        "max_exp_avg_sq": array_slot,
    }
    required_state = ("step", "exp_avg", "exp_avg_sq")

    #: AdamW decays the parameter itself (``p *= 1 - lr * weight_decay``) instead of the gradient.
    decoupled_weight_decay = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=betas_pair(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        step = state["step"]
        lr, (beta1, beta2) = group["lr"], group["betas"]
        g = decayed_gradient(p, grad, group, self.decoupled_weight_decay)
        update_moments(state, g, beta1, beta2)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if group["amsgrad"]:
            # NOTE: setdefault, as a group may turn `amsgrad` on after the state was made.
            max_sq = state.setdefault("max_exp_avg_sq", np.zeros_like(p.data))
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            second_moment = max_sq
        else:
            second_moment = exp_avg_sq
        step_size = lr / (1 - beta1**step)
        denom = np.sqrt(second_moment) / sqrt(1 - beta2**step) + group["eps"]
        p.add_(exp_avg / denom, alpha=-step_size)


class AdamW(Adam):
    """PyTorch's AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay. Before
    the Adam step, ``p = p * (1 - lr * weight_decay)``; the gradient itself is not decayed."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
