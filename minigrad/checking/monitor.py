"""``GradientMonitor``: what happens to a model while it trains, at a stated cost.

Each measurement has its own interval, because their costs differ by orders of magnitude (the
demo's MLP, 51k parameters, batch 64, 0.65 ms a training step: norms ~0.2 ms, a directional
gradient check ~4.5 ms, a noise scale from two batch sizes ~3 ms, from per-example gradients
(``mg.vmap``) ~9 ms, a sharpness (20 Hessian-vector products) ~45 ms). Measured on that MLP,
norms every 10 steps cost 3% of the training time, with a check every 100 and a noise scale
every 100 steps 14% in all; a sharpness every 220 steps adds about 30% more.

- ``every``: per-parameter norms of the gradient, the weights and the update, and the ratios
  ``|grad| / |w|`` and ``|update| / |w|`` (the update a step makes is the change of the
  parameters from this call of ``step`` to the next, so it includes momentum, weight decay and
  whatever else the optimizer does); NaN/Inf, exploding and vanishing gradients are flagged;
- ``check_every``: a directional gradient check (``check_module(..., mode="directional")``),
  which names the operation whose rule is wrong;
- ``noise_every``: the gradient noise scale ``B_simple`` (``dynamics.noise_scale``);
- ``curvature_every``: the sharpness ``lambda_max`` against the optimizer's edge of stability.

The monitor times itself: ``overhead`` is its time as a fraction of the rest of the training
loop's, by measurement (``seconds`` per kind).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import OpError
from ..tensor import Tensor
from .dynamics import NOISE_METHODS, noise_scale, sharpness
from .modules import check_module
from .report import GradcheckReport
from .twin import Model, Twin

KINDS = ("norms", "check", "noise", "curvature")
# NOTE: one batch's estimates of tr(Sigma) and |G|^2 are noisy (from two batch sizes, often
# negative), so, as McCandlish et al. do, the monitor divides their moving averages: each
# measurement weighs NOISE_MEMORY times the one after it (about 5 measurements' memory).
NOISE_MEMORY = 0.8


def _norm(a: np.ndarray) -> float:
    """The 2-norm, by one BLAS dot product in the array's dtype (a fifth of the time of a sum of
    squares in float64, and as accurate in practice: 1e-8 relative on a float32 32,768-element
    weight); in float64 when that overflows."""
    v = a.reshape(-1)
    norm = math.sqrt(float(np.dot(v, v)))
    if math.isinf(norm):
        norm = float(np.sqrt(np.sum(np.square(v, dtype=np.float64))))
    return norm


class GradientMonitor:
    """Watches a model while it trains: gradients, updates, noise, curvature, correctness.

    Call ``monitor.step(*batch, loss=loss)`` after ``loss.backward()`` and before
    ``optimizer.step()``, every step. ``batch`` is what the loss is computed from,
    ``loss_fn(model(batch[0]), *batch[1:])`` (or ``model(*batch)`` when ``loss_fn`` is None);
    ``loss`` (optional) is recorded for the dashboard.

    - every ``every`` steps: each parameter's gradient, weight and update norms and their
      ratios; flags for NaN/Inf gradients and norms above ``explode`` or below ``vanish``;
    - every ``check_every`` steps: the gradient along a random direction, and on failure the
      parameters and the operation whose rule is wrong (``check_module``, "directional");
    - every ``noise_every`` steps (None: never): the gradient noise scale, by ``noise``
      ("two_batch" or "per_sample");
    - every ``curvature_every`` steps (None: never): the top Hessian eigenvalue, to
      ``curvature_tol`` in ``curvature_iters`` Lanczos steps (Hessian-vector products) at most,
      against the edge of stability of ``optimizer`` (its learning rate read when measured).

    Everything is measured on a float64 copy of the model: nothing the monitor does changes
    the model, its gradients or the random generator.

    ``history`` holds a dict for each step where something was measured (``step``, ``flags``;
    ``norms``, ``weights``, ``grad_ratios``, then ``updates`` and ``update_ratios`` once the
    next step has shown the update; ``check``; ``noise``, one batch's estimate, and
    ``noise_scale``, the ratio of the estimates' moving averages; ``sharpness``); ``losses``
    the ``(step, loss)`` pairs. ``print(monitor)`` summarises, ``plot()`` draws the gradient
    norms and ``dashboard(path)`` everything.
    """

    def __init__(
        self, model: Model, loss_fn, every: int = 1, check_every: int | None = 100,
        noise_every: int | None = None, curvature_every: int | None = None, optimizer=None,
        noise: str = "two_batch", curvature_iters: int = 12, curvature_tol: float = 1e-2,
        explode: float = 1e3,
        vanish: float = 1e-8, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
    ):  # fmt: skip
        intervals = {"every": every, "check_every": check_every, "noise_every": noise_every,
                     "curvature_every": curvature_every}  # fmt: skip
        for name, value in intervals.items():
            if value is not None and (not isinstance(value, int) or value < 1):
                raise OpError(f"GradientMonitor: {name} must be a positive integer or None, "
                              f"got {value!r}")  # fmt: skip
        if noise not in NOISE_METHODS:
            raise OpError(f"GradientMonitor: noise must be one of {NOISE_METHODS}, got {noise!r}")
        if optimizer is not None and not hasattr(optimizer, "param_groups"):
            raise OpError(f"GradientMonitor: optimizer must be an optimizer (with param_groups), "
                          f"got {type(optimizer).__name__}")  # fmt: skip
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.every, self.check_every = every, check_every
        self.noise_every, self.curvature_every = noise_every, curvature_every
        self.noise, self.seed = noise, seed
        self.curvature_iters, self.curvature_tol = curvature_iters, curvature_tol
        self.explode, self.vanish, self.atol, self.rtol = explode, vanish, atol, rtol
        self.history: list[dict] = []
        self.losses: list[tuple[int, float]] = []
        self.steps = 0
        self.seconds = dict.fromkeys(KINDS, 0.0)
        self._before = None  # (record, parameter values) waiting for the next step's update
        self._noise_sums = [0.0, 0.0]  # moving sums of the tr(Sigma) and |G|^2 estimates
        self._first = self._last = None  # the wall clock at the first call, and the last return

    # ----- recording -----------------------------------------------------------------------------

    def step(self, *batch, loss=None) -> dict:
        """Record this step (after ``loss.backward()``, before ``optimizer.step()``); returns
        this step's record (``step`` and ``flags`` at least)."""
        start = time.perf_counter()
        self._first = start if self._first is None else self._first
        accounted = sum(self.seconds.values())
        s = self.steps
        if loss is not None:
            self.losses.append((s, loss.item() if isinstance(loss, Tensor) else float(loss)))
        record = {"step": s, "flags": []}
        self._see_update()
        due = {kind: bool(n) and s % n == 0 for kind, n in zip(KINDS, (
            self.every, self.check_every, self.noise_every, self.curvature_every))}  # fmt: skip
        clock = time.perf_counter()
        if due["norms"]:
            self._norms(record)
            clock = self._spent("norms", clock)
        if due["check"]:
            record["check"] = check_module(self.model, self.loss_fn, *batch, atol=self.atol,
                                           rtol=self.rtol, seed=self.seed + s,
                                           mode="directional")  # fmt: skip
            clock = self._spent("check", clock)
        if due["noise"] or due["curvature"]:
            with Twin(self.model, self.loss_fn, batch, "GradientMonitor") as twin:
                if due["noise"]:
                    self._noise_scale(record, twin)
                    clock = self._spent("noise", clock)
                if due["curvature"]:
                    record["sharpness"] = sharpness(twin, self.optimizer, self.curvature_iters,
                                                    self.curvature_tol, self.seed + s)  # fmt: skip
                    clock = self._spent("curvature", clock)
        if any(due.values()):
            self.history.append(record)
        self.steps += 1
        self._last = time.perf_counter()
        # the rest of this call (the loss, the update, bookkeeping) counts with the norms
        self.seconds["norms"] += (self._last - start) - (sum(self.seconds.values()) - accounted)
        return record

    def _spent(self, kind: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[kind] += now - since
        return now

    def _norms(self, record: dict) -> None:
        grads, weights, ratios, flags, values = {}, {}, {}, record["flags"], {}
        for name, p in self.model.named_parameters():
            values[name] = p.data.copy()
            weights[name] = _norm(p.data)
            if p.grad is None:
                continue
            g = p.grad.data
            norm = grads[name] = _norm(g)
            ratios[name] = norm / weights[name] if weights[name] > 0 else float("inf")
            if not math.isfinite(norm) and not np.isfinite(g).all():
                flags.append(f"{name}: gradient has NaN or Inf")
            elif norm > self.explode:
                flags.append(f"{name}: exploding gradient norm {norm:.3g} > {self.explode:g}")
            elif norm < self.vanish:
                flags.append(f"{name}: vanishing gradient norm {norm:.3g} < {self.vanish:g}")
        record.update(norms=grads, weights=weights, grad_ratios=ratios)
        self._before = (record, values)

    def _see_update(self) -> None:
        """The update made since the last norms were recorded, added to their record."""
        if self._before is None:
            return
        record, before = self._before
        self._before = None
        updates, ratios = {}, {}
        for name, p in self.model.named_parameters():
            if name in before and before[name].shape == p.data.shape:
                updates[name] = _norm(p.data - before[name])
                w = record["weights"][name]
                ratios[name] = updates[name] / w if w > 0 else float("inf")
        record.update(updates=updates, update_ratios=ratios)

    def _noise_scale(self, record: dict, twin: Twin) -> None:
        estimate = noise_scale(twin, self.noise)
        trace = self._noise_sums[0] = NOISE_MEMORY * self._noise_sums[0] + estimate.trace
        grad_sq = self._noise_sums[1] = NOISE_MEMORY * self._noise_sums[1] + estimate.grad_sq
        record["noise"] = estimate
        record["noise_scale"] = trace / grad_sq if grad_sq > 0 else float("nan")

    # ----- reading -------------------------------------------------------------------------------

    @property
    def checks(self) -> list[tuple[int, GradcheckReport]]:
        """(step, report) of every gradient check made so far."""
        return [(r["step"], r["check"]) for r in self.history if "check" in r]

    @property
    def flags(self) -> list[tuple[int, str]]:
        """(step, message) of every flag so far: NaN/Inf, exploding or vanishing norms."""
        return [(r["step"], f) for r in self.history for f in r["flags"]]

    @property
    def overhead(self) -> float | None:
        """The monitor's time as a fraction of the rest of the training loop's (measured from
        the first call of ``step`` to the end of the last); None before two steps."""
        if self._first is None or self.steps < 2:
            return None
        spent = sum(self.seconds.values())
        rest = (self._last - self._first) - spent
        return spent / rest if rest > 0 else None

    def series(self, key: str, name: str | None = None) -> tuple[list[int], list[float]]:
        """(steps, values) of ``record[key]`` (``record[key][name]`` for a per-parameter key such
        as ``"norms"`` or ``"update_ratios"``) over the records that have it."""
        steps, values = [], []
        for r in self.history:
            value = r.get(key)
            if name is not None:
                value = None if value is None else value.get(name)
            if value is not None:
                steps.append(r["step"])
                values.append(value)
        return steps, values

    def __str__(self) -> str:
        from .dashboard import summary

        return summary(self)

    def plot(self, ax=None):
        """Gradient norm per parameter against step (log scale); needs matplotlib."""
        from .dashboard import plot_norms

        return plot_norms(self, "norms", "gradient norm", ax)

    def dashboard(self, path: str | None = None, dpi: int = 110):
        """One figure with six panels: the loss, the gradient norms, the update/weight ratios,
        the gradient noise scale, the sharpness against the edge of stability, and the checks
        and flags; saved to ``path`` (PNG) when given. Returns the figure; needs matplotlib."""
        from .dashboard import draw_dashboard

        return draw_dashboard(self, path, dpi)
