"""NAdam, RAdam and Adamax: Adam's relatives, as PyTorch implements them (its default for-loop
rule), with PyTorch's hyperparameters, defaults and state.

In every rule ``g`` is the gradient (negated if ``maximize``), plus ``weight_decay * p`` (coupled
L2 decay) unless ``decoupled_weight_decay`` (NAdam, RAdam), which instead shrinks the parameter,
``p = p * (1 - lr * weight_decay)``, before the step, as AdamW. ``t`` is the parameter's step
count; all arithmetic is elementwise.
"""

from __future__ import annotations

import numpy as np

from ..capture.scalars import sqrt
from .adam import BetasOptimizer, betas_pair, decayed_gradient, update_moments
from .checks import Limits
from .optimizer import Optimizer, coupled_gradient
from .state_checks import array_slot, count_slot, number_slot


def _new_moments(state: dict, p) -> None:
    state["step"] = 0
    state["exp_avg"] = np.zeros_like(p.data)
    state["exp_avg_sq"] = np.zeros_like(p.data)


class NAdam(BetasOptimizer):
    """PyTorch's NAdam (Dozat, 2016): Adam with Nesterov momentum, whose momentum coefficient
    warms up with ``momentum_decay`` (psi):

        mu_t = beta1 * (1 - 0.96^(t * psi) / 2),   prod_t = mu_1 * ... * mu_t   (mu_product)
        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
        denom = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - prod_t) * g / denom
              - lr * mu_(t+1) / (1 - prod_t * mu_(t+1)) * m / denom

    State: ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``. (PyTorch keeps ``mu_product``
    in a tensor of its default dtype, float32 unless changed; here it is a Python float.)
    """

    limits = {**Optimizer.limits, "momentum_decay": Limits("momentum_decay value")}
    state_slots = {
        "step": count_slot,
        "mu_product": number_slot(Limits(high=1.0)),
        "exp_avg": array_slot,
        "exp_avg_sq": array_slot,
    }
    required_state = ("step", "mu_product", "exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=betas_pair(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, p, grad, state, group) -> None:
        if not state:
            _new_moments(state, p)
            state["mu_product"] = 1.0
        state["step"] += 1
        t = state["step"]
        lr, (beta1, beta2), psi = group["lr"], group["betas"], group["momentum_decay"]
        g = decayed_gradient(p, grad, group, group["decoupled_weight_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        update_moments(state, g, beta1, beta2)
        denom = np.sqrt(state["exp_avg_sq"] / (1 - beta2**t)) + group["eps"]
        p.add_(g / denom, alpha=-lr * (1.0 - mu) / (1.0 - mu_product))
        p.add_(state["exp_avg"] / denom, alpha=-lr * mu_next / (1.0 - mu_product * mu_next))


class RAdam(BetasOptimizer):
    """PyTorch's RAdam (Liu et al., 2020): Adam whose adaptive step is switched on only once the
    variance of ``v``'s estimate is bounded, and then rectified. With ``rho_inf = 2 / (1 -
    beta2) - 1`` and ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``:

        m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)
        rho_t > 5:  r = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
                    p = p - lr * m_hat * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        otherwise:  p = p - lr * m_hat      (SGD with momentum, for the first steps)

    State: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    state_slots = {"step": count_slot, "exp_avg": array_slot, "exp_avg_sq": array_slot}
    required_state = ("step", "exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=betas_pair(betas),
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def update(self, p, grad, state, group) -> None:
        if not state:
            _new_moments(state, p)
        state["step"] += 1
        t = state["step"]
        lr, (beta1, beta2) = group["lr"], group["betas"]
        g = decayed_gradient(p, grad, group, group["decoupled_weight_decay"])
        update_moments(state, g, beta1, beta2)
        m_hat = state["exp_avg"] / (1 - beta1**t)
        bias_correction2 = 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bias_correction2
        if rho_t > 5.0:
            rect = sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            adaptive = sqrt(bias_correction2) / (np.sqrt(state["exp_avg_sq"]) + group["eps"])
            p.add_(m_hat * lr * adaptive * rect, alpha=-1.0)
        else:
            p.add_(m_hat * lr, alpha=-1.0)


class Adamax(BetasOptimizer):
    """PyTorch's Adamax (Kingma & Ba, 2015, section 7.1): Adam with the infinity norm in place
    of the root mean square, so no bias correction of the denominator is needed:

        m = beta1 * m + (1 - beta1) * g                     (exp_avg)
        u = max(beta2 * u, |g| + eps)                       (exp_inf)
        p = p - lr / (1 - beta1^t) * m / u

    State: ``step``, ``exp_avg``, ``exp_inf``.
    """

    state_slots = {"step": count_slot, "exp_avg": array_slot, "exp_inf": array_slot}
    required_state = ("step", "exp_avg", "exp_inf")

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr, betas=betas_pair(betas), eps=eps, weight_decay=weight_decay, maximize=maximize
        )
        super().__init__(params, defaults)

    def update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_inf"] = np.zeros_like(p.data)
        state["step"] += 1
        (beta1, beta2), exp_avg, exp_inf = group["betas"], state["exp_avg"], state["exp_inf"]
        g = coupled_gradient(p, grad, group)
        exp_avg *= beta1
        exp_avg += (1 - beta1) * g
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(g) + group["eps"], out=exp_inf)
        p.add_(exp_avg / exp_inf, alpha=-group["lr"] / (1 - beta1 ** state["step"]))
