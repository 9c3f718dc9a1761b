"""Checking a model's gradients: ``check_module`` (once) and ``GradientMonitor`` (while it trains).

Both work on a float64 copy of the model, so the model, its gradients and minigrad's random
generator are exactly as they were afterwards: checking never changes a training run.
``mg.nn`` exports both. A model is anything with ``nn.Module``'s parameter and buffer walks
(``Model``), so this module does not import ``nn``, which imports it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from functools import partial
from typing import Protocol

import numpy as np

from ..autodiff import enable_grad, no_grad
from ..errors import DTypeError, MinigradError, OpError, ShapeError
from ..random import default_generator
from ..tensor import Tensor
from . import numeric
from .report import GradcheckReport, compare, disagreements


class Model(Protocol):
    """What the checks use of a model (an ``nn.Module``): calling it, and walking its named
    parameters and buffers. It is deep-copied, never changed."""

    def __call__(self, *inputs): ...

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]: ...

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]: ...


def _float64_copy(module: Model) -> Model:
    """A deep copy of ``module`` whose parameters and buffers are float64 leaves."""
    twin = copy.deepcopy(module)
    for _, t in list(twin.named_parameters()) + list(twin.named_buffers()):
        if t.dtype.kind == "f":
            t.data = t.data.astype(np.float64)
        t.grad = None
    return twin


def _float64_batch(batch):
    out = []
    for b in batch:
        data = b.data if isinstance(b, Tensor) else b
        data = np.asarray(data)
        out.append(Tensor(data.astype(np.float64) if data.dtype.kind == "f" else data))
    return out


_SCALAR_LOSS = (
    "the loss must be a scalar Tensor (loss_fn(module(batch[0]), *batch[1:]), or module(*batch) "
    "when loss_fn is None)"
)


def _loss(module, loss_fn, batch):
    out = module(batch[0]) if loss_fn is not None else module(*batch)
    loss = loss_fn(out, *batch[1:]) if loss_fn is not None else out
    if not isinstance(loss, Tensor):
        raise DTypeError(f"check_module: {_SCALAR_LOSS}, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ShapeError(f"check_module: {_SCALAR_LOSS}, got shape {loss.shape}")
    return loss


def _sample(size: int, n: int, rng) -> np.ndarray:
    return np.arange(size) if size <= n else np.sort(rng.choice(size, n, replace=False))


def check_module(
    module: Model, loss_fn, *batch, n_coords: int = 8, eps: float | None = None,
    atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0, max_failures: int = 5,
) -> GradcheckReport:  # fmt: skip
    """Check the gradient of the loss with respect to every named parameter, at ``n_coords``
    sampled coordinates each, against central differences, in float64.

    The loss is ``loss_fn(module(batch[0]), *batch[1:])`` (or ``module(*batch)`` when
    ``loss_fn`` is None). Sampling keeps the cost at ``2 * n_coords`` loss evaluations per
    parameter however large the model is. The module is not modified (a float64 copy is
    checked) and minigrad's random generator is restored, so dropout draws the same masks in
    every evaluation and training continues as if nothing happened. Failures are named
    ``"layers.0.weight"[3, 7]``.
    """
    saved_rng = copy.deepcopy(default_generator.rng.bit_generator.state)
    twin = _float64_copy(module)
    data = _float64_batch(batch)
    try:

        def loss_value():
            default_generator.rng.bit_generator.state = copy.deepcopy(saved_rng)
            with no_grad():
                return _loss(twin, loss_fn, data).item()

        default_generator.rng.bit_generator.state = copy.deepcopy(saved_rng)
        with enable_grad():
            _loss(twin, loss_fn, data).backward()
        rng = np.random.default_rng(seed)
        checks = []
        for name, p in twin.named_parameters():
            analytic = np.zeros(p.shape) if p.grad is None else p.grad.data
            picks = _sample(p.numel(), n_coords, rng)
            flat = p.data.reshape(-1)  # a view: moving it moves the parameter
            steps = numeric.step_sizes(flat[picks], "central", eps)
            base = loss_value()
            central, left, right = (np.zeros(len(picks)) for _ in range(3))
            kink = np.zeros(len(picks), dtype=bool)
            for k, (j, h) in enumerate(zip(picks, steps)):
                central[k], left[k], right[k], kink[k] = numeric.two_sided(
                    partial(numeric.moved, loss_value, flat, j), base, h,
                    doubtful=partial(disagreements, analytic.reshape(-1)[j], atol=atol, rtol=rtol),
                    refine=eps is None,
                )  # fmt: skip
            check = compare(f'"{name}"', analytic.reshape(-1)[picks], central, atol, rtol,
                            max_failures, left, right, kink)  # fmt: skip
            checks.append(_in_parameter_indices(check, picks, p.shape))
    finally:
        default_generator.rng.bit_generator.state = saved_rng
    notes = [f"{n_coords} sampled coordinates per parameter, float64 copy of the model"]
    return GradcheckReport(checks, atol, rtol, notes, title="check_module")


def _in_parameter_indices(check, picks, shape):
    """Rewrite indices into the sample as indices into the parameter."""

    def index(sample_index):
        return tuple(int(i) for i in np.unravel_index(picks[sample_index[0]], shape))

    check.shape = tuple(shape)
    check.worst_index = index(check.worst_index) if check.worst_index else ()
    for failure in check.failures:
        failure.index = index(failure.index)
    check.kinks = [index(k) for k in check.kinks]
    return check


class GradientMonitor:
    """Watches gradients while a model trains.

    Call ``monitor.step(*batch)`` after ``loss.backward()`` each step. It records every
    parameter's gradient norm, flags NaN/Inf gradients and norms above ``explode`` or below
    ``vanish``, and every ``every`` steps runs ``check_module`` on the current batch. Nothing
    it does changes the model, its gradients or the random generator.

    ``history`` holds one dict per step (``step``, ``norms``, ``flags``, and ``check`` when a
    check ran); ``print(monitor)`` gives a summary and ``plot()`` draws the norms.
    """

    def __init__(self, model: Model, loss_fn, every: int = 100, n_coords: int = 4,
                 explode: float = 1e3, vanish: float = 1e-8, atol: float = 1e-5,
                 rtol: float = 1e-3):  # fmt: skip
        if every < 1:
            raise OpError(f"GradientMonitor: every must be at least 1, got {every}")
        self.model, self.loss_fn, self.every, self.n_coords = model, loss_fn, every, n_coords
        self.explode, self.vanish, self.atol, self.rtol = explode, vanish, atol, rtol
        self.history: list[dict] = []
        self.steps = 0

    def step(self, *batch) -> dict:
        """Record this step's gradients (and check them, every ``every`` steps)."""
        norms, flags = {}, []
        for name, p in self.model.named_parameters():
            if p.grad is None:
                continue
            g = p.grad.data
            norm = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
            norms[name] = norm
            if not np.isfinite(g).all():
                flags.append(f"{name}: gradient has NaN or Inf")
            elif norm > self.explode:
                flags.append(f"{name}: exploding gradient norm {norm:.3g} > {self.explode:g}")
            elif norm < self.vanish:
                flags.append(f"{name}: vanishing gradient norm {norm:.3g} < {self.vanish:g}")
        record = {"step": self.steps, "norms": norms, "flags": flags}
        if self.steps % self.every == 0:
            record["check"] = check_module(self.model, self.loss_fn, *batch,
                                           n_coords=self.n_coords, atol=self.atol,
                                           rtol=self.rtol, seed=self.steps)  # fmt: skip
        self.history.append(record)
        self.steps += 1
        return record

    @property
    def checks(self) -> list[tuple[int, GradcheckReport]]:
        """(step, report) of every gradient check made so far."""
        return [(r["step"], r["check"]) for r in self.history if "check" in r]

    @property
    def flags(self) -> list[tuple[int, str]]:
        """(step, message) of every flag so far: NaN/Inf, exploding or vanishing norms."""
        return [(r["step"], f) for r in self.history for f in r["flags"]]

    def __str__(self) -> str:
        checks, flags = self.checks, self.flags
        failed = [s for s, report in checks if not report]
        outcome = f"{len(checks) - len(failed)} passed"
        if failed:
            outcome += f", failed at steps {failed}"
        lines = [
            f"GradientMonitor: {self.steps} steps, {len(checks)} gradient checks ({outcome}), "
            f"{len(flags)} flags"
        ]
        if self.history:
            last = self.history[-1]["norms"]
            lines += [f"  |grad {name}| = {norm:.3g} (last step)" for name, norm in last.items()]
        lines += [f"  step {s}: {f}" for s, f in flags[:10]]
        if len(flags) > 10:
            lines.append(f"  ... {len(flags) - 10} more flags")
        for s, report in checks:
            if not report:
                lines.append(f"  check at step {s}:\n" + "\n".join(
                    "    " + line for line in str(report).splitlines()))  # fmt: skip
        return "\n".join(lines)

    def plot(self, ax=None):
        """Gradient norm per parameter against step (log scale); needs matplotlib."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise MinigradError(
                "GradientMonitor.plot needs matplotlib: pip install matplotlib (or "
                "pip install 'minigrad[examples]')"
            ) from None
        ax = ax or plt.gca()
        names = sorted({n for r in self.history for n in r["norms"]})
        for name in names:
            steps = [r["step"] for r in self.history if name in r["norms"]]
            values = [
                max(r["norms"][name], math.ulp(0.0)) for r in self.history if name in r["norms"]
            ]
            ax.plot(steps, values, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("gradient norm")
        ax.legend(fontsize="small")
        return ax
