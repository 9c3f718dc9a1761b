"""``Sophia``: Sophia-H, a second-order clipped stochastic optimizer (Liu, Li, Hall, Liang and
Ma, "Sophia: A Scalable Stochastic Second-order Optimizer for Language Model Pre-training",
ICLR 2024, arXiv:2305.14342), with Hutchinson's estimate of the Hessian's diagonal from
Hessian-vector products of the closure (``closure_hvp``: forward-over-reverse, exact products).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autodiff import enable_grad, no_grad
from .adam import BetasOptimizer, betas_pair
from .checks import Limits, check, check_closure
from .closure_curvature import closure_hvp
from .line_search import FlatParams
from .optimizer import Optimizer
from .state_checks import array_slot, count_slot


class Sophia(BetasOptimizer):
    """Sophia-H: momentum preconditioned by a running estimate of the Hessian's diagonal, and
    clipped per coordinate (Liu et al., 2023, Algorithm 3 with the Hutchinson estimator of
    Algorithm 1). With ``g_t`` the gradient at step ``t`` (1-based, per parameter), ``k =
    hessian_every``, ``lr = eta``, ``weight_decay = lambda``, and ``m_0 = h_{1-k} = 0``:

        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        if t mod k == 1 (t = 1, k + 1, 2k + 1, ...):
            u ~ N(0, I);  h_hat_t = u * (H u)            (Hutchinson, Algorithm 1: E = diag H)
            h_t = beta2 * h_{t-k} + (1 - beta2) * h_hat_t
        else:
            h_t = h_{t-1}
        p = p - lr * weight_decay * p                    (decoupled weight decay)
        p = p - lr * clip(m_t / max(gamma * h_t, eps), 1)

    ``clip(z, 1) = max(min(z, 1), -1)`` elementwise, so no coordinate moves more than ``lr``
    in a step: where the curvature is small, negative (a non-convex direction: ``max`` with
    ``eps`` floors it) or not yet estimated, the step is ``lr * sign(m)``, and elsewhere it is
    the Newton-like ``lr * m / (gamma * h)``. Neither ``m`` nor ``h`` is bias-corrected (as in
    the paper). Defaults are those of the authors' implementation (``lr=1e-4, betas=(0.965,
    0.99), weight_decay=0.1``) and of Sophia-H in the paper (``gamma=0.01, eps=1e-12, k=10``).

    ``H u`` is the Hessian of the closure's loss times ``u``, over all trainable parameters as
    one flat vector (their elements in order): one run of the closure in forward mode gives the
    gradient and ``H u`` together (``closure_hvp``), so a step with a Hessian estimate costs
    about two gradients. The probe ``u`` of the step numbered ``t`` (the largest step count of
    the parameters, plus 1) is ``np.random.default_rng([seed, t]).standard_normal(n)``:
    reproducible, and the same after a state dict round trip. A step that estimates the
    Hessian needs the ``closure`` (zero the grads, compute the loss, ``backward()``, return
    it); the others, as any optimizer, use the ``.grad`` already there or the closure's.

    State per parameter: ``step``, ``exp_avg`` (``m``), ``hessian`` (``h``).
    """

    limits = {
        **Optimizer.limits,
        "eps": Limits("epsilon value", low_open=True),
        "gamma": Limits("gamma value", low_open=True),
        "hessian_every": Limits(low=1, integer=True),
        "seed": Limits(integer=True),
    }
    state_slots = {"step": count_slot, "exp_avg": array_slot, "hessian": array_slot}
    required_state = ("step", "exp_avg", "hessian")

    def __init__(
        self,
        params,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.965, 0.99),
        gamma: float = 0.01,
        eps: float = 1e-12,
        weight_decay: float = 0.1,
        hessian_every: int = 10,
        seed: int = 0,
    ):
        defaults = dict(
            lr=lr,
            betas=betas_pair(betas),
            gamma=gamma,
            eps=eps,
            weight_decay=weight_decay,
            hessian_every=hessian_every,
            seed=seed,
        )
        super().__init__(params, defaults)

    def _due(self) -> list:
        """The trainable parameters whose next step estimates the Hessian (``t mod k == 1``)."""
        return [
            p
            for group in self.param_groups
            for p in group["params"]
            if p.requires_grad
            and self.state.get(p, {}).get("step", 0) % group["hessian_every"] == 0
        ]

    def hutchinson(self, closure: Callable):
        """``(loss, {parameter: u * (H u)})``: the closure's loss and gradients (left in
        ``.grad``) and Hutchinson's estimate of the Hessian's diagonal from one Gaussian probe,
        in each trainable parameter's shape."""
        params = [p for group in self.param_groups for p in group["params"]]
        flat = FlatParams(params, owner="Sophia.step")
        t = 1 + max((self.state.get(p, {}).get("step", 0) for p in flat.params), default=0)
        seed = self.param_groups[0]["seed"]
        u = np.random.default_rng([seed, t]).standard_normal(flat.n).astype(flat.dtype)
        with enable_grad():
            loss, _, Hu = closure_hvp(closure, flat, u[None])
        return loss, dict(zip(flat.params, flat.split(u * Hu[0])))

    def step(self, closure: Callable | None = None):
        """One Sophia update of every parameter with a gradient; returns the closure's loss.
        The steps ``1, k + 1, ...`` estimate the Hessian and need the closure."""
        check_closure("Sophia.step", closure)
        estimates = {}
        if self._due():
            check(
                closure is not None,
                f"Sophia.step: this step estimates the Hessian's diagonal (every "
                f"hessian_every={self.param_groups[0]['hessian_every']} steps, the first at step "
                f"1), which needs Hessian-vector products of the loss: pass a closure that zeroes "
                f"the grads, computes the loss, calls backward() and returns the loss",
            )
            loss, estimates = self.hutchinson(closure)
        else:
            loss = None
            if closure is not None:
                with enable_grad():
                    loss = closure()
        with no_grad():
            self.check_gradients()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        state = self.state.setdefault(p, {})
                        self.update(p, p.grad.data, state, group, estimates.get(p))
        return loss

    def update(self, p, grad, state, group, estimate=None) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["hessian"] = np.zeros_like(p.data)
        due = state["step"] % group["hessian_every"] == 0
        state["step"] += 1
        lr, (beta1, beta2) = group["lr"], group["betas"]
        exp_avg, hessian = state["exp_avg"], state["hessian"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        if due and estimate is not None:
            hessian *= beta2
            hessian += (1 - beta2) * estimate
        if group["weight_decay"]:
            p.mul_(1 - lr * group["weight_decay"])
        ratio = np.clip(exp_avg / np.maximum(group["gamma"] * hessian, group["eps"]), -1.0, 1.0)
        p.add_(ratio, alpha=-lr)
