"""``Newton``: damped Newton's method on the flattened parameters, with the full Hessian
(Levenberg-Marquardt damping). ``NewtonCG`` (newton_cg.py) is its Hessian-free sibling.

The curvature comes from ``closure_hvp`` (``closure_curvature.py``): exact Hessian-vector
products of the closure by forward-over-reverse, not differences. ``Newton`` builds its Hessian
from them as ``mg.hessian`` does (``hessians.hessian_rows``: identity rows a chunk at a time, as
many as ``hessians.rows_per_pass`` lets fit in ``max_memory``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..autodiff import enable_grad, keep_graphs, no_grad
from ..autograd import toposort
from ..hessians import (
    DEFAULT_MAX_MEMORY,
    HessianTooLarge,
    format_bytes,
    rows_per_pass,
    tangent_bytes_per_row,
)
from ..tensor import Tensor
from .checks import Limits, check
from .closure_curvature import closure_hessian
from .flat_second_order import FlatSecondOrder
from .quadratic_models import DenseModel, EigenModel
from .state_checks import array_slot, count_slot, number_slot


class Newton(FlatSecondOrder):
    """Damped Newton's method on the flattened parameters ``x``, with the exact Hessian.

    Near a minimum, ``f(x + s) ~ f(x) + g . s + 1/2 s^T H s`` (``g`` the gradient, ``H`` the
    Hessian); its minimiser is the Newton step ``s = -H^{-1} g``, exact in one step for a
    quadratic. Levenberg-Marquardt damping adds ``lambda I``: solve

        (H + lambda I) d = -g,        x <- x + lr * d.

    Large ``lambda`` turns the step into gradient descent with step ``1 / lambda``; ``lambda = 0``
    is pure Newton. With ``adaptive=True`` (Nielsen's rule), ``lambda`` adapts each step:

    - if ``H + lambda I`` is not positive definite (Cholesky fails; ``H`` is indefinite away from
      a minimum), the step would not be a descent direction: grow ``lambda`` and re-solve;
    - otherwise try ``s = lr d``: if the loss goes down, accept it and shrink ``lambda`` by
      ``max(1/3, 1 - (2 rho - 1)^3)``, where ``rho = (f(x) - f(x + s)) / (f(x) - m(s))`` is the
      actual over the predicted decrease of the model ``m(s) = f + g . s + 1/2 s^T H s`` (so a
      good model shrinks ``lambda`` by 3); if it does not, put ``x`` back, multiply ``lambda`` by
      ``nu`` and double ``nu`` (``nu`` starts at 2, and is reset to 2 after an accepted step),
      and re-try, up to ``max_retries`` times (then the step leaves ``x`` unchanged). Growing
      from ``lambda = 0`` starts at ``1e-8 s``, and ``lambda`` stays below ``1e16 s``
      (``s = max(1, max |H_ii|)``). When the predicted decrease ``f(x) - m(s)`` is below the
      loss's floating-point resolution (``4 eps |f(x)|``) the step stops there: converged.

    With ``adaptive=False`` the step is taken as it is (``np.linalg.solve``; least squares when
    ``H + lambda I`` is singular) and the closure is called only for the Hessian.

    The Hessian comes from ``closure_hvp`` (forward-over-reverse with the identity's rows as
    tangents on the parameters themselves; see the module docstring), a chunk of rows per run
    of the closure, as ``mg.hessian`` computes it. It is symmetrised, ``(H + H^T) / 2``, and
    solved in float64.

    Memory, bounded by ``max_memory`` bytes with ``mg.hessian``'s model: the float64 Hessian
    and two ``n x n`` work arrays to factor and solve with it, and during a run of ``c`` rows
    (``chunk_size``, by default the most that fit: ``rows_per_pass``) the Hessian and ``c``
    tangents of every value on the closure's tape. Each step first runs the closure once with
    its graph kept to measure that tape (``measure_tape``: the parameters and the model's
    intermediate values, as ``mg.hessian``'s probe measures its ``f``), so a model with large
    activations gets smaller chunks. An ``n x n`` Hessian is for small models: more than
    ``max_size`` parameters, or more than ``max_memory`` bytes, raise ``mg.HessianTooLarge``
    (at construction and at each step) with the fix: ``NewtonCG`` or ``LBFGS``.

    ``hessian_every=k`` trusts one quadratic model for ``k`` steps: the Hessian is computed at
    steps ``1, k + 1, 2k + 1, ...`` and factored once, ``H = Q diag(lambda_i) Q^T``
    (``np.linalg.eigh``), and the steps in between reuse that factorisation with the gradient
    (and loss) computed fresh by one plain run of the closure: each damped solve is then two
    products with ``Q`` (``O(n^2)``) instead of a factorisation (``O(n^3)``) and ``n``
    Hessian-vector products. On a quadratic, where ``H`` is constant, the steps are those of
    ``hessian_every=1``; elsewhere the stale ``H`` makes the steps quasi-Newton steps, which
    the adaptive damping guards as it guards any model. ``hessian_every=1`` (the default)
    computes and factors the Hessian at every step, as above. With ``k > 1`` the state holds
    the eigendecomposition (``n`` eigenvalues and the ``n x n`` eigenvectors, float64) between
    steps, within ``max_memory``'s three ``n x n`` arrays.

    ``step(closure)`` returns the loss before the step. State (on the first parameter):
    ``step``, ``func_evals``, ``hessian_evals`` (Hessians computed), ``damping`` (the current
    ``lambda``), ``nu``, ``rejected`` (trial steps refused in the last step); with
    ``hessian_every > 1`` also ``eigenvalues`` and ``eigenvectors`` (the columns) of the
    Hessian in use. A step with ``max |g| <= tolerance_grad`` does nothing.
    """

    limits = {
        **FlatSecondOrder.limits,
        "max_size": Limits(low=1, finite=False),
        "max_memory": Limits(low_open=True, finite=False),
        "max_retries": Limits(integer=True),
        "chunk_size": Limits(low=1, integer=True, optional=True),
        "hessian_every": Limits(low=1, integer=True),
    }
    state_slots = {
        "step": count_slot,
        "func_evals": count_slot,
        "hessian_evals": count_slot,
        "damping": number_slot(Limits()),
        "nu": number_slot(Limits(low_open=True)),
        "rejected": count_slot,
        "eigenvalues": array_slot,
        "eigenvectors": lambda value, where, shape, dtype: array_slot(
            value, where, shape + shape, dtype
        ),
    }

    def __init__(
        self,
        params,
        lr: float = 1.0,
        damping: float = 1e-4,
        adaptive: bool = True,
        max_size: int = 4096,
        max_memory: int = DEFAULT_MAX_MEMORY,
        chunk_size: int | None = None,
        max_retries: int = 20,
        tolerance_grad: float = 1e-10,
        hessian_every: int = 1,
    ):
        defaults = dict(
            lr=lr,
            damping=damping,
            adaptive=adaptive,
            max_size=max_size,
            max_memory=max_memory,
            chunk_size=chunk_size,
            max_retries=max_retries,
            tolerance_grad=tolerance_grad,
            hessian_every=hessian_every,
        )
        super().__init__(params, defaults)
        self.rows_per_pass()

    def state_layout(self, p):
        """The eigendecomposition's arrays: float64, over the flat vector (``(n,)``, ``(n, n)``)."""
        return (self.flat().n,), np.dtype(np.float64)

    def check_state(self, entry: dict, group: dict, where: str) -> None:
        """The eigenvalues and eigenvectors come together, finite."""
        super().check_state(entry, group, where)
        kept = [key for key in ("eigenvalues", "eigenvectors") if key in entry]
        check(
            len(kept) != 1,
            f"{where}: 'eigenvalues' and 'eigenvectors' (the Hessian's eigendecomposition, kept "
            f"with hessian_every > 1) come together; got only {kept}",
        )
        for key in kept:
            check(np.isfinite(entry[key]).all(), f"{where}: '{key}' holds NaN or infinity")

    def rows_per_pass(self, tape_size: int | None = None) -> int:
        """Rows of the Hessian per run of the closure: ``chunk_size``, or the most that fit in
        ``max_memory`` (see the class docstring), after checking that the Hessian fits;
        ``mg.HessianTooLarge`` if it does not. ``tape_size``: the elements on the closure's tape
        (``measure_tape``); without it, the parameters alone."""
        group, flat = self.param_groups[0], self.flat()
        n = flat.n
        fix = "use NewtonCG (Hessian-vector products only) or LBFGS for a model this size"
        if n > group["max_size"]:
            raise HessianTooLarge(
                f"Newton: the parameters have {n} elements, so the Hessian would be {n} x {n} "
                f"({format_bytes(8 * n * n)}), more than max_size={group['max_size']} "
                f"parameters; {fix}, or raise max_size"
            )
        hessian_bytes = 8 * n * n  # float64, whatever the parameters' dtype
        if _SOLVE_ARRAYS * hessian_bytes > group["max_memory"]:
            raise HessianTooLarge(
                f"Newton: a {n} x {n} Hessian and the work arrays to solve with it need "
                f"{format_bytes(_SOLVE_ARRAYS * hessian_bytes)}, more than "
                f"max_memory={format_bytes(group['max_memory'])}; {fix}, or raise max_memory"
            )
        per_row = tangent_bytes_per_row(max(n, tape_size or 0), n, flat.dtype.itemsize)
        return rows_per_pass(
            "Newton", n, hessian_bytes, per_row, group["chunk_size"], group["max_memory"],
            advice=f", or {fix}",
        )  # fmt: skip

    def measure_tape(self, closure: Callable) -> int:
        """The elements on the closure's tape (the parameters and every intermediate value),
        from one plain run with its graph kept (``autodiff.keep_graphs``): what ``mg.hessian``'s
        probe measures for a function, here for a closure that calls ``backward()`` itself."""
        with keep_graphs(), enable_grad():
            loss = closure()
        if not isinstance(loss, Tensor) or not loss.requires_grad:
            return 0
        return sum(t.numel() for t in toposort(loss))

    def hessian(self, closure: Callable, rows: int | None = None):
        """``(loss, g, H)`` at the current parameters: the loss (a Tensor), the flat gradient
        ``(n,)`` and the symmetrised Hessian ``(n, n)`` in float64, ``rows`` rows per run of the
        closure (by default as many as fit, with the tape measured first)."""
        if rows is None:
            rows = self.rows_per_pass(self.measure_tape(closure))
        return closure_hessian(closure, self.flat(), rows)

    def step(self, closure: Callable):
        """One damped Newton step; returns the loss before it."""
        group, flat, state = self.setup(
            closure,
            {"step": 0, "func_evals": 0, "hessian_evals": 0,
             "damping": float(self.param_groups[0]["damping"]), "nu": 2.0, "rejected": 0},
        )  # fmt: skip
        self.rows_per_pass()  # a Hessian that cannot fit is refused before the closure runs
        loss, g, model = self._quadratic_model(closure, flat, state, group["hessian_every"])
        state["step"] += 1
        state["rejected"] = 0
        with no_grad():
            if np.abs(g).max() <= group["tolerance_grad"]:
                return loss
            lr, lam = group["lr"], state["damping"]
            if not group["adaptive"]:
                flat.add(lr, model.solve(g, lam).astype(flat.dtype))
                return loss
            self._levenberg_marquardt(closure, flat, state, float(loss), g, model, lr)
        return loss

    def _quadratic_model(self, closure, flat, state, every: int):
        """``(loss, g, model)``: the loss and flat gradient at the current parameters, and the
        quadratic model's curvature: the Hessian computed now, or (``every > 1``, between
        refreshes) the eigendecomposition kept from the last one."""
        kept = state.get("eigenvalues")
        if every > 1 and kept is not None and len(kept) == flat.n and state["step"] % every:
            with enable_grad():
                loss = closure()
            state["func_evals"] += 1
            model = EigenModel(state["eigenvalues"], state["eigenvectors"])
            return loss, flat.grad().astype(np.float64), model
        state.pop("eigenvalues", None)  # the old factors go before the new Hessian is built
        state.pop("eigenvectors", None)
        chunk = self.rows_per_pass(self.measure_tape(closure))
        loss, g, H = self.hessian(closure, chunk)
        state["func_evals"] += 1 + math.ceil(flat.n / chunk)  # the measuring run, the passes
        state["hessian_evals"] += 1
        if every == 1:
            return loss, g, DenseModel(H)
        state["eigenvalues"], state["eigenvectors"] = np.linalg.eigh(H)
        del H
        return loss, g, EigenModel(state["eigenvalues"], state["eigenvectors"])

    def _levenberg_marquardt(self, closure, flat, state, f0, g, model, lr):
        """Try damped steps until one lowers the loss (see the class docstring)."""
        x = flat.get()
        f = flat.function(closure)
        lam, nu = state["damping"], state["nu"]
        scale = model.scale()
        floor, ceiling = 1e-8 * scale, 1e16 * scale
        for _ in range(self.param_groups[0]["max_retries"] + 1):
            s = model.descent_step(g, lr, lam)
            if s is None:
                lam, nu = min(max(lam * nu, floor), ceiling), 2 * nu
                state["rejected"] += 1
                continue
            predicted = -(g @ s + 0.5 * model.curvature(s))
            if 0 <= predicted <= 4 * np.finfo(flat.dtype).eps * abs(f0):
                flat.set(x)  # converged: no decrease the loss could show in floating point
                break
            f_new = f(x + s.astype(flat.dtype))
            state["func_evals"] += 1
            if math.isfinite(f_new) and f_new < f0:
                rho = (f0 - f_new) / predicted if predicted > 0 else 1.0
                lam *= max(1 / 3, 1 - (2 * rho - 1) ** 3)
                nu = 2.0
                break
            lam, nu = min(max(lam * nu, floor), ceiling), 2 * nu
            state["rejected"] += 1
        else:
            flat.set(x)  # no step lowered the loss: stay
        state["damping"], state["nu"] = float(lam), float(nu)


# The Hessian, and two n x n work arrays that factoring or solving with it needs besides:
# np.linalg.cholesky copies its input into a buffer and writes a new factor, and the in-place
# symmetrisation copies H^T.
_SOLVE_ARRAYS = 3
