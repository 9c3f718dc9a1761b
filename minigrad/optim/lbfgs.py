"""L-BFGS as PyTorch implements it (``torch/optim/lbfgs.py``, itself after minFunc)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autodiff import enable_grad, no_grad
from .checks import Limits, check_closure
from .line_search import FlatParams, strong_wolfe
from .optimizer import Optimizer, check
from .state_checks import (
    array_list_slot,
    array_slot,
    check_required,
    count_slot,
    number_list_slot,
    number_slot,
)

FINITE = Limits(low=-np.inf)


class LBFGS(Optimizer):
    """Limited-memory BFGS: a quasi-Newton method that builds an inverse-Hessian estimate from
    the last ``history_size`` steps ``s_k = x_{k+1} - x_k`` and gradient changes
    ``y_k = g_{k+1} - g_k``. PyTorch's algorithm, step for step.

    One ``step(closure)`` runs up to ``max_iter`` iterations on the flattened parameters ``x``
    (``closure`` zeroes the grads, computes the loss, calls backward and returns the loss; it
    is called with grad mode on, up to ``max_eval`` times). Each iteration:

    1. Direction. The first ever: ``d = -g``. After that, store the pair ``(s, y)`` if
       ``y . s > 1e-10`` (the curvature condition, so the estimate stays positive definite;
       the oldest pair is dropped beyond ``history_size``), set the initial scaling
       ``gamma = (y . s) / (y . y)`` from the newest pair, and compute ``d = -H g`` by the
       two-loop recursion (``rho_i = 1 / (y_i . s_i)``)::

           q = -g
           for i = newest .. oldest:  a_i = rho_i s_i . q;   q -= a_i y_i
           r = gamma q
           for i = oldest .. newest:  b_i = rho_i y_i . r;   r += (a_i - b_i) s_i
           d = r

    2. Step length. ``t = lr`` except on the very first iteration, where the unscaled
       ``-g`` gets ``t = min(1, 1 / ||g||_1) * lr``. If ``g . d > -tolerance_change`` (not a
       descent direction to tolerance) the step ends. With ``line_search_fn="strong_wolfe"``,
       ``t`` is the first trial of a strong Wolfe search (``c1 = 1e-4, c2 = 0.9``, 25
       evaluations, see ``line_search.strong_wolfe``); otherwise ``x += t d`` and the closure
       is re-evaluated (except in the last iteration).
    3. Stop when: ``max_iter`` iterations, ``max_eval`` evaluations, ``max |g| <=
       tolerance_grad``, ``max |t d| <= tolerance_change`` or ``|f - f_prev| <
       tolerance_change``. A step also returns at once if ``max |g| <= tolerance_grad`` at the
       start.

    Returns the loss at the start of the step. The state (as PyTorch's, on the first
    parameter): ``func_evals n_iter d t old_dirs old_stps ro H_diag prev_flat_grad prev_loss
    al``. Only one parameter group (as PyTorch). Memory: about ``(2 history_size + 3) n``.
    """

    limits = {
        **Optimizer.limits,
        "max_iter": Limits(low=1, integer=True),
        "max_eval": Limits(low=1, integer=True),
        "history_size": Limits(low=1, integer=True),
        "tolerance_grad": Limits(),
        "tolerance_change": Limits(),
    }
    global_state = True
    state_slots = {
        "func_evals": count_slot,
        "n_iter": count_slot,
        "d": array_slot,
        "t": number_slot(FINITE),
        "old_dirs": array_list_slot,
        "old_stps": array_list_slot,
        "ro": number_list_slot(FINITE),
        "H_diag": number_slot(FINITE),
        "prev_flat_grad": array_slot,
        "prev_loss": number_slot(Limits(low=-np.inf, finite=False)),
        "al": number_list_slot(Limits(low=-np.inf, optional=True)),
    }
    #: what an iteration leaves for the next one (held once ``n_iter >= 1``)
    required_state = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
                      "prev_loss")  # fmt: skip

    def __init__(
        self,
        params,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        self._params = self.param_groups[0]["params"]
        self._flat = FlatParams(self._params, owner="LBFGS.step")

    def add_param_group(self, group: dict) -> None:
        check(
            not self.param_groups,
            "LBFGS doesn't support per-parameter options (parameter groups)",
        )
        super().add_param_group(group)

    def validate(self, group: dict) -> None:
        super().validate(group)
        check(
            group["line_search_fn"] in (None, "strong_wolfe"),
            f"Invalid line_search_fn: {group['line_search_fn']!r}; only 'strong_wolfe' (or None) "
            f"is supported",
        )

    def _directional_evaluate(self, closure, x, t, d):
        """Loss and flat gradient at ``x + t d``; the parameters are put back to ``x``."""
        self._flat.add(t, d)
        loss = self._flat.evaluate(closure)
        flat_grad = self._flat.grad()
        self._flat.set(x)
        return loss, flat_grad

    def step(self, closure: Callable):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss before them."""
        check(
            closure is not None,
            "LBFGS.step needs a closure that zeroes the grads, computes the loss, calls "
            "backward() and returns the loss",
        )
        check_closure("LBFGS.step", closure)
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr = group["lr"]
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]
        flat = self._flat

        # NOTE: L-BFGS has only global state; PyTorch keeps it on the first parameter.
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = flat.grad()
        opt_cond = np.abs(flat_grad).max() <= tolerance_grad
        if opt_cond:
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ----- direction ---------------------------------------------------------------
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(np.dot(y, s))
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(np.dot(y, y))

                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]

                # the two-loop recursion, in one buffer
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = float(np.dot(old_stps[i], q)) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = float(np.dot(old_dirs[i], r)) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # ----- step length -------------------------------------------------------------
            # (the first direction is the unscaled -g: keep its first step at most lr in l1)
            t = lr if state["n_iter"] != 1 else min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr

            gtd = float(np.dot(flat_grad, d))
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = flat.get()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd
                )
                flat.add(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                flat.add(t, d)
                if n_iter != max_iter:
                    # re-evaluate only when another iteration follows (PyTorch: in a
                    # stochastic setting a last evaluation would be wasted)
                    loss = flat.evaluate(closure)
                    flat_grad = flat.grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ----- termination -------------------------------------------------------------
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss

    def state_layout(self, p):
        """The saved vectors (``d``, the pairs, ``prev_flat_grad``) have the flat size ``n``."""
        return (self._flat.n,), self._flat.dtype

    def check_state(self, entry: dict, group: dict, where: str) -> None:
        """After an iteration, all of ``required_state``; as many pairs as curvatures ``ro``, at
        most ``history_size``; ``al`` one slot per pair of the history."""
        if entry.get("n_iter", 0) >= 1:
            check_required(self, entry, where)
        pairs = [len(entry[k]) for k in ("old_dirs", "old_stps", "ro") if k in entry]
        history = group["history_size"]
        check(
            len(set(pairs)) <= 1 and all(n <= history for n in pairs),
            f"{where}: old_dirs, old_stps and ro hold {pairs} entries; they must be equal in "
            f"number and at most history_size={history}",
        )
        check(
            len(entry.get("al", [None] * history)) == history,
            f"{where}: 'al' has {len(entry.get('al', []))} entries, history_size is {history}",
        )
