"""``NewtonCG``: Hessian-free Newton, conjugate gradient on exact Hessian-vector products of the
closure (``closure_hvp``, forward-over-reverse): memory ``O(n)``, never ``n x n``."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..autodiff import enable_grad, no_grad
from .checks import Limits
from .closure_curvature import closure_hvp
from .flat_second_order import FlatSecondOrder
from .line_search import backtracking_armijo
from .optimizer import check
from .state_checks import count_slot, flag_slot


class NewtonCG(FlatSecondOrder):
    """Hessian-free (truncated) Newton: conjugate gradient on Hessian-vector products.

    The Newton system ``(H + lambda I) d = -g`` (``lambda = damping``) is solved approximately
    by conjugate gradient, which needs ``H`` only through products ``H p`` (each one run of the
    closure by forward-over-reverse, ``closure_hvp``): memory ``O(n)``, never ``n x n``. From
    ``d = 0``, ``r = -g``, ``p = r`` (Nocedal & Wright, Algorithm 7.1)::

        repeat at most cg_iters times:
            kappa = p . (H + lambda I) p
            if kappa <= 0:   negative curvature: stop, keep d (d = -g if it is still 0)
            alpha = (r . r) / kappa;   d += alpha p;   r -= alpha (H + lambda I) p
            if ||r|| <= cg_tol ||g||:  stop
            p = r + (r_new . r_new) / (r_old . r_old) p

    On a positive definite ``H`` this converges in at most ``n`` iterations (exactly, in exact
    arithmetic), and after ``k`` the error shrinks like ``((sqrt(K) - 1) / (sqrt(K) + 1))^k``
    with ``K`` the condition number. Every iterate ``d`` is a descent direction (``g . d < 0``),
    also when CG stops at negative curvature; the steepest-descent fallback ``-g`` is used when
    the very first direction has non-positive curvature.

    Then ``x <- x + lr d``, or with ``line_search_fn="armijo"`` ``x <- x + t d`` with ``t`` from
    ``backtracking_armijo`` starting at ``t = lr`` (advisable away from a minimum, where the
    quadratic model is poor).

    ``step(closure)`` returns the loss before the step. State (on the first parameter):
    ``step``, ``func_evals``, ``hvp_evals``, ``cg_iters`` and ``negative_curvature`` (of the last
    step). A step with ``max |g| <= tolerance_grad`` does nothing.
    """

    limits = {
        **FlatSecondOrder.limits,
        "cg_iters": Limits(low=1, integer=True),
        "cg_tol": Limits(),
    }
    state_slots = {
        "step": count_slot,
        "func_evals": count_slot,
        "hvp_evals": count_slot,
        "cg_iters": count_slot,
        "negative_curvature": flag_slot,
    }

    def __init__(
        self,
        params,
        lr: float = 1.0,
        cg_iters: int = 50,
        cg_tol: float = 1e-5,
        damping: float = 0.0,
        line_search_fn: str | None = None,
        tolerance_grad: float = 1e-10,
    ):
        defaults = dict(
            lr=lr,
            cg_iters=cg_iters,
            cg_tol=cg_tol,
            damping=damping,
            line_search_fn=line_search_fn,
            tolerance_grad=tolerance_grad,
        )
        super().__init__(params, defaults)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check(
            group["line_search_fn"] in (None, "armijo"),
            f"Invalid line_search_fn: {group['line_search_fn']!r}; only 'armijo' (or None) is "
            f"supported",
        )

    def step(self, closure: Callable):
        """One truncated Newton step; returns the loss before it."""
        group, flat, state = self.setup(
            closure,
            {"step": 0, "func_evals": 0, "hvp_evals": 0, "cg_iters": 0,
             "negative_curvature": False},
        )  # fmt: skip
        with enable_grad():
            orig_loss = closure()
        state["func_evals"] += 1
        state["step"] += 1
        g = flat.grad().astype(np.float64)
        if np.abs(g).max() <= group["tolerance_grad"]:
            return orig_loss
        lam = group["damping"]

        def hvp(v):
            state["hvp_evals"] += 1
            state["func_evals"] += 1
            return closure_hvp(closure, flat, v[None])[2][0].astype(np.float64) + lam * v

        d, state["cg_iters"], state["negative_curvature"] = conjugate_gradient(
            hvp, g, group["cg_iters"], group["cg_tol"]
        )
        with no_grad():
            if group["line_search_fn"] == "armijo":
                evals = _Counter(closure)
                backtracking_armijo(
                    evals, flat.params, d.astype(flat.dtype), grad=g, step=group["lr"],
                    f0=float(orig_loss),
                )  # fmt: skip
                state["func_evals"] += evals.calls
            else:
                flat.add(group["lr"], d.astype(flat.dtype))
        return orig_loss


def conjugate_gradient(hvp: Callable, g: np.ndarray, max_iter: int, tol: float):
    """Truncated CG for ``A d = -g`` with ``A`` given by products ``hvp(p) = A p``; stops at
    ``||r|| <= tol ||g||``, after ``max_iter`` products, or at non-positive curvature
    ``p . A p <= 0`` (then returns the last iterate, or ``-g`` if there is none).
    Returns ``(d, iterations, negative_curvature)``."""
    d = np.zeros_like(g)
    r = -g
    p = r.copy()
    rr = float(r @ r)
    g_norm = math.sqrt(rr)
    for k in range(max_iter):
        Ap = hvp(p)
        kappa = float(p @ Ap)
        if kappa <= 0:
            return (-g if k == 0 else d), k + 1, True
        alpha = rr / kappa
        d = d + alpha * p
        r = r - alpha * Ap
        rr_new = float(r @ r)
        if math.sqrt(rr_new) <= tol * g_norm:
            return d, k + 1, False
        p = r + (rr_new / rr) * p
        rr = rr_new
    return d, max_iter, False


class _Counter:
    """A closure that counts its calls."""

    def __init__(self, closure):
        self.closure, self.calls = closure, 0

    def __call__(self):
        self.calls += 1
        return self.closure()
