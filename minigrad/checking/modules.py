"""``check_module``: a model's gradients against finite differences, once, in float64.

It works on the model's float64 twin (``twin``), so the model, its gradients and minigrad's
random generator are exactly as they were afterwards: checking never changes a training run.
``mg.nn`` exports it, and ``GradientMonitor`` (``monitor``) runs it while a model trains.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..errors import OpError
from . import numeric
from .directional import check_direction
from .report import GradcheckReport, compare, disagreements
from .twin import Model, Twin


def _sample(size: int, n: int, rng) -> np.ndarray:
    return np.arange(size) if size <= n else np.sort(rng.choice(size, n, replace=False))


def check_module(
    module: Model, loss_fn, *batch, n_coords: int = 8, eps: float | None = None,
    atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0, max_failures: int = 5,
    mode: str = "sampled",
) -> GradcheckReport:  # fmt: skip
    """Check the gradient of the loss with respect to every named parameter, at ``n_coords``
    sampled coordinates each, against central differences, in float64.

    ``mode="directional"`` checks every coordinate at once instead: the derivative along one
    random direction over all the parameters' elements, and when it is wrong, finds the
    parameters and the operations whose rules are wrong (see ``check_direction``).

    The loss is ``loss_fn(module(batch[0]), *batch[1:])`` (or ``module(*batch)`` when
    ``loss_fn`` is None). Sampling keeps the cost at ``2 * n_coords`` loss evaluations per
    parameter however large the model is. The module is not modified (a float64 copy is
    checked) and minigrad's random generator is restored, so dropout draws the same masks in
    every evaluation and training continues as if nothing happened. Failures are named
    ``"layers.0.weight"[3, 7]``.
    """
    if mode not in ("sampled", "directional"):
        raise OpError(f"check_module: mode {mode!r} is not 'sampled' or 'directional'")
    if mode == "directional":
        return check_direction(module, loss_fn, *batch, atol=atol, rtol=rtol, seed=seed,
                               max_failures=max_failures)  # fmt: skip
    with Twin(module, loss_fn, batch) as twin:
        _, gradients = twin.gradients()
        rng = np.random.default_rng(seed)
        checks = []
        for name, p, analytic in zip(twin.names, twin.params, gradients):
            picks = _sample(p.numel(), n_coords, rng)
            flat = p.data.reshape(-1)  # a view: moving it moves the parameter
            steps = numeric.step_sizes(flat[picks], "central", eps)
            base = twin.value()
            central, left, right = (np.zeros(len(picks)) for _ in range(3))
            kink = np.zeros(len(picks), dtype=bool)
            for k, (j, h) in enumerate(zip(picks, steps)):
                central[k], left[k], right[k], kink[k] = numeric.two_sided(
                    partial(numeric.moved, twin.value, flat, j), base, h,
                    doubtful=partial(disagreements, analytic.reshape(-1)[j], atol=atol, rtol=rtol),
                    refine=eps is None,
                )  # fmt: skip
            check = compare(f'"{name}"', analytic.reshape(-1)[picks], central, atol, rtol,
                            max_failures, left, right, kink)  # fmt: skip
            checks.append(_in_parameter_indices(check, picks, p.shape))
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
