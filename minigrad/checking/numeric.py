"""Finite differences in float64: step sizes, the four methods, and one-sided differences for
telling kinks from wrong gradients.

Every method estimates d value / d x_j for each element j of each differentiated array, where
``value(arrays) -> float`` is a scalar function (gradcheck uses ``sum(u * f(x))``).

Step sizes (when not given) balance truncation against rounding error, per element, scaled by
the element's magnitude: h = eps_mach^p * max(1, |x_j|), rounded so that x + h - x == h exactly.
- central, error O(h^2) + O(eps/h): p = 1/3 (h ~ 6e-6), total error ~ 4e-11 relative;
- forward, error O(h) + O(eps/h): p = 1/2 (h ~ 1.5e-8), total error ~ 1.5e-8 relative;
- richardson (central differences at h and h/2, extrapolated), error O(h^4) + O(eps/h):
  p = 1/5 (h ~ 7e-4);
- complex step, Im f(x + ih) / h: no subtraction, so no rounding error; h = 1e-20. Needs every
  operation in f to be holomorphic (see ``Primitive.holomorphic``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from ..errors import OpError

METHODS = ("central", "forward", "richardson", "complex")
MACHINE_EPS = float(np.finfo(np.float64).eps)
_STEP_POWER = {"central": 1 / 3, "forward": 1 / 2, "richardson": 1 / 5}
COMPLEX_STEP = 1e-20


def check_method(method: str) -> None:
    """An ``OpError`` unless ``method`` is one of ``METHODS``."""
    if method not in METHODS:
        raise OpError(f"gradcheck: method {method!r} is not one of {METHODS}")


def step_sizes(x: np.ndarray, method: str, eps: float | None = None) -> np.ndarray:
    """The step for each element of ``x`` (see the module docstring for the choice)."""
    if method == "complex":
        return np.full(x.shape, COMPLEX_STEP if eps is None else eps)
    h = np.full(x.shape, eps, dtype=float) if eps is not None else (
        MACHINE_EPS ** _STEP_POWER[method] * np.maximum(1.0, np.abs(x)))  # fmt: skip
    return (x + h) - x  # representable: the step actually taken


@dataclass
class Differences:
    """Estimates of the derivative for every element of one input.

    ``left``/``right`` are the one-sided differences (f(x) - f(x - h)) / h and
    (f(x + h) - f(x)) / h when the method evaluates both sides (central and richardson).
    ``kink`` marks elements where ``f`` is not differentiable: their one-sided differences
    disagree, and keep disagreeing as much at half the step (curvature would halve the gap).
    """

    numeric: np.ndarray
    left: np.ndarray | None = None
    right: np.ndarray | None = None
    kink: np.ndarray | None = None


def differentiate(value, arrays: list, wrt: list[int], method: str = "central",
                  eps: float | None = None, doubtful=None) -> list[Differences]:  # fmt: skip
    """Finite-difference derivatives of the scalar ``value(arrays)`` for each array in ``wrt``.

    ``doubtful(i, j, estimate, left, right) -> (uneven, disputed)`` (two-sided methods) picks
    elements to look at again (see ``two_sided``): whether they are kinks, and, when the
    estimate is disputed, a better one from smaller steps, so that a step too large is not
    reported as a wrong gradient.
    """
    check_method(method)
    arrays = [np.array(a, dtype=complex if method == "complex" and i in wrt else None)
              for i, a in enumerate(arrays)]  # fmt: skip
    f0 = value(arrays) if method in ("central", "forward", "richardson") else None
    both_sides = method in ("central", "richardson")
    results = []
    for i in wrt:
        x = arrays[i]
        steps = step_sizes(x.real, method, eps)
        numeric, left, right = (np.zeros(x.shape) for _ in range(3))
        kink = np.zeros(x.shape, dtype=bool)
        for j in np.ndindex(x.shape):
            h = steps[j]

            at = partial(moved, partial(value, arrays), x, j)

            if method == "complex":
                numeric[j] = np.imag(at(1j * h)) / h
            elif method == "forward":
                numeric[j] = right[j] = (at(h) - f0) / h
            else:
                numeric[j], left[j], right[j], kink[j] = two_sided(
                    at, f0, h, richardson=method == "richardson", refine=eps is None,
                    doubtful=None if doubtful is None else partial(doubtful, i, j),
                )  # fmt: skip
        results.append(Differences(numeric, left if both_sides else None,
                                   right if both_sides else None, kink))  # fmt: skip
    return results


def two_sided(at, f0, h, richardson=False, doubtful=None, refine=True):
    """(estimate, left, right, kink) for one element, from ``at(delta) = f(x + delta)``.

    Central difference (Richardson-extrapolated if asked) and the one-sided differences.
    ``doubtful(estimate, left, right) -> (uneven, disputed)`` asks for a second look: if the
    one-sided differences are uneven, is it a kink (``is_kink``)? If the estimate is disputed
    (it disagrees with the analytic value) and this is not a kink, smaller steps may give a
    better one (``refined``), when ``refine``. When ``at`` returns an array (several outputs
    moved along one direction), so does each result, decided output by output.
    """
    plus, minus = at(h), at(-h)
    left, right = (f0 - minus) / h, (plus - f0) / h
    estimate = (plus - minus) / (2 * h)
    if richardson:
        estimate = (4 * (at(h / 2) - at(-h / 2)) / h - estimate) / 3
    uneven, disputed = doubtful(estimate, left, right) if doubtful else (False, False)
    suspect = np.logical_or(uneven, disputed)
    if not suspect.any():  # the common case: nothing to look at again
        return estimate, left, right, suspect
    kink = suspect & is_kink(at, f0, h, left, right)
    retry = np.logical_and(disputed, ~kink)
    if refine and retry.any():
        better = refined(at, h)
        # where the better estimate is disputed too, keep the first, more accurate, one
        estimate = np.where(retry & ~doubtful(better, left, right)[1], better, estimate)
    return estimate, left, right, kink


def is_kink(at, f0, h, left, right):
    """Whether the gap between the one-sided differences is a kink: it keeps its size at half
    the step, where curvature's gap would halve."""
    half = h / 2
    gap = np.abs(right - left)
    gap_half = np.abs((at(half) - f0) / half - (f0 - at(-half)) / half)
    return (gap > 0) & (gap_half > 0.75 * gap)


def refined(at, h):
    """Central differences at h/10, h/100, ...: the estimate where two successive ones agree
    best. A step too large for a fast-changing function gives a wrong estimate that smaller
    steps correct; rounding error limits how small they usefully go."""
    estimates = np.array(
        [(at(step) - at(-step)) / (2 * step) for step in h / 10.0 ** np.arange(1, 5)]
    )
    best = np.argmin(np.abs(np.diff(estimates, axis=0)), axis=0)
    return np.take_along_axis(estimates[1:], best[None], axis=0)[0]


def moved(value, x: np.ndarray, j, delta):
    """``value()`` with element ``j`` of the array ``x`` moved by ``delta`` (then put back)."""
    saved = x[j]
    x[j] = saved + delta
    try:
        return value()
    finally:
        x[j] = saved


def directional_step(arrays: list, wrt: list[int], eps: float | None = None) -> float:
    """The step along a direction, one for every element: ``eps`` if given, else the central
    difference's ``eps_mach^(1/3)`` times the largest magnitude among the inputs (at least 1)."""
    scale = max([1.0] + [float(np.max(np.abs(arrays[i]), initial=0.0)) for i in wrt])
    return MACHINE_EPS ** (1 / 3) * scale if eps is None else eps


def directional(
    value, arrays: list, wrt: list[int], directions: list, eps: float | None = None,
    doubtful=None, richardson: bool = False, refine: bool = True,
) -> Differences:  # fmt: skip
    """Derivatives of ``value(arrays)`` (a number or an array) along each direction (one array
    per input in ``wrt``), by ``two_sided`` with the step ``directional_step``: ``Differences``
    with a leading axis for the direction. ``doubtful(k, estimate, left, right)`` is
    ``two_sided``'s for direction ``k``.
    """
    h = directional_step(arrays, wrt, eps)
    f0 = value(arrays)

    def along(direction, delta):
        moved = list(arrays)
        for i, d in zip(wrt, direction):
            moved[i] = arrays[i] + delta * d
        return value(moved)

    rows = [
        two_sided(partial(along, direction), f0, h, richardson, refine=refine and eps is None,
                  doubtful=None if doubtful is None else partial(doubtful, k))
        for k, direction in enumerate(directions)
    ]  # fmt: skip
    return Differences(*(np.array(part) for part in zip(*rows)))
