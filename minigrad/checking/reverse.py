"""``gradcheck`` and ``gradgradcheck``: reverse mode against finite differences, in float64.

``gradcheck(f, *inputs)`` differentiates the scalar ``sum(u * f(*inputs))`` (``u`` a fixed
random cotangent, 1 when ``f`` returns a scalar) by backward and by finite differences, and
compares them element by element for every floating-point input. A failing report points at
the worst elements: input, index, analytic value, numeric value, error.

Defaults, and why: central differences with a per-element step (see ``numeric``) are accurate
to ~1e-10 on smooth functions, so ``atol=1e-5, rtol=1e-3`` leaves five orders of magnitude for
ill-conditioned inputs while still catching any real mistake (a wrong rule is off by O(1)).
Where the two one-sided differences disagree, ``f`` has a kink at that point (relu or abs at 0,
max at a tie): the element passes when the analytic value lies between them (a valid
subgradient) and the report lists it as non-differentiable instead of failing. Fast mode checks
3 random directions instead, with a tolerance from the differences' own error (see ``probe``).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import autodiff, autograd
from ..errors import OpError
from ..tensor import Tensor
from . import numeric
from .inputs import as_inputs, constant_notes, float64_inputs, projected
from .report import GradcheckNotice, GradcheckReport, compare, disagreements, finish


def reverse_gradients(scalar, arrays, wrt):
    """The reverse-mode gradient of ``scalar`` for each input in ``wrt``."""
    xs = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    with autodiff.enable_grad():
        loss = scalar(*xs)
    if not loss.requires_grad:
        return [np.zeros_like(a) for i, a in enumerate(arrays) if i in wrt], loss
    return [g.data for g in autograd.grad(loss, [xs[i] for i in wrt])], loss


def _require_holomorphic(scalar, arrays, wrt):
    """The complex step needs every operation of ``f`` to be holomorphic; name the first that
    isn't."""
    # NOTE: the operations are read from a run on the real inputs: one that is not holomorphic
    # may refuse complex inputs outright (erf), and would fail before it could be named.
    xs = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    with autodiff.enable_grad():
        loss = scalar(*xs)
    for t in autograd.toposort(loss) if loss.requires_grad else []:
        prim = t.node.prim if t.node is not None else None
        if prim is not None and not prim.holomorphic:
            raise OpError(
                f"gradcheck: method='complex' needs every operation to extend to complex "
                f"inputs analytically, and {prim.__name__} does not (it is not holomorphic); "
                f"use method='central' (or 'richardson')"
            )


# ----- the checks --------------------------------------------------------------------------------


def gradcheck(
    f, *inputs, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
    method: str = "central", mode: str = "full", raise_exception: bool = False, seed: int = 0,
    max_failures: int = 5,
) -> GradcheckReport:  # fmt: skip
    """Check the reverse-mode gradient of ``f`` at ``inputs`` against finite differences.

    - ``mode="full"``: every element of every floating-point input; an element fails when
      ``|analytic - numeric| > atol + rtol * |numeric|`` and is not at a kink with a valid
      subgradient. The report lists the ``max_failures`` worst elements of each input.
    - ``mode="fast"``: 3 seeded random directions ``v``, comparing ``<J^T u, v>`` with finite
      differences of ``<u, f(x + h v)>`` (1 backward and 13 forward evaluations however many
      elements there are) within a tolerance estimated from the differences themselves, far
      tighter than ``rtol`` on a large input (see ``probe``); if one fails it escalates to the
      full check, which decides with the normal tolerance and finds the elements.
    - ``method``: "central" (default), "forward", "richardson" or "complex" (complex step:
      exact to rounding, needs every operation in ``f`` to be holomorphic; an error names the
      first that is not). ``eps``: a fixed step; by default one per element (see ``numeric``).
    Inputs are copied to float64 (float32 ones with a notice); integer inputs are constants
    (listed in ``notes``), and a ``DTypeError`` says so when no input is floating point.
    PyTorch's form ``gradcheck(f, (x, y))`` (one tuple of Tensors) is the same as
    ``gradcheck(f, x, y)``.

    >>> import minigrad as mg
    >>> bool(gradcheck(lambda x: (x * x).sum(), mg.tensor([1.0, 2.0], dtype=mg.float64)))
    True
    """
    if mode not in ("full", "fast"):
        raise OpError(f"gradcheck: mode {mode!r} is not 'full' or 'fast'")
    numeric.check_method(method)
    inputs = as_inputs(inputs)
    notes: list[str] = []
    arrays, wrt, names = float64_inputs(inputs, "gradcheck", notes)
    for note in notes:
        warnings.warn(note, GradcheckNotice, stacklevel=2)
    notes += constant_notes(arrays, wrt, names)
    scalar = projected(f, seed)
    analytic, loss = reverse_gradients(scalar, arrays, wrt)

    def value(arrays):
        with autodiff.no_grad():
            return scalar(*[Tensor(a) for a in arrays]).item()

    if mode == "fast":
        check = probe(value, arrays, wrt, analytic, abs(loss.item()), eps, atol, rtol, seed,
                      max_failures)  # fmt: skip
        if check.passed:
            return finish(GradcheckReport([check], atol, rtol, notes), raise_exception)
        notes.append("fast check failed along a random direction: escalated to every element")
    if method == "complex":
        _require_holomorphic(scalar, arrays, wrt)
    by_input = dict(zip(wrt, analytic))

    def doubtful(i, j, estimate, left, right):
        return disagreements(by_input[i][j], estimate, left, right, atol, rtol)

    differences = numeric.differentiate(value, arrays, wrt, method, eps, doubtful)
    checks = [
        compare(names[i], a, d.numeric, atol, rtol, max_failures, d.left, d.right, d.kink)
        for i, a, d in zip(wrt, analytic, differences)
    ]
    return finish(GradcheckReport(checks, atol, rtol, notes), raise_exception)


# NOTE: how many times its error estimate the fast check allows a directional derivative. The
# estimate is the gap between the central differences at h and h/2, which overstates the
# extrapolated estimate's truncation error (O(h^2) against O(h^4)), plus the rounding error of
# differencing values of f's magnitude; the factor covers rounding that a gap happens to hide.
PROBE_MARGIN = 10


def probe(value, arrays, wrt, analytic, magnitude, eps, atol, rtol, seed, max_failures,
          n_directions=3):  # fmt: skip
    """Fast mode: ``<J^T u, v>`` against finite differences of the scalar ``value`` (``|value|
    = magnitude`` at ``arrays``) along ``n_directions`` seeded random directions ``v`` (each
    over every element of the inputs in ``wrt``): an ``InputCheck``.

    The estimate is Richardson-extrapolated from central differences at h and h/2 and allowed
    ``atol + PROBE_MARGIN * (|D(h) - D(h/2)| + eps_mach * magnitude / h)``, never more than
    ``atol + rtol * |D|``. A relative tolerance alone grows with the derivative along ``v``,
    like sqrt(number of elements), and a wrong element of a large input hides under it; this
    one stays near ``atol`` for a smooth ``f``. A probe that fails only costs work: the full
    check that follows decides with the normal tolerance. Where ``v`` crosses a kink, a value
    between the one-sided differences passes, as an element at a kink does.
    """
    rng = np.random.default_rng(seed + 2)
    directions = [[rng.standard_normal(arrays[i].shape) for i in wrt] for _ in range(n_directions)]
    along = np.array([sum(float(np.sum(a * v)) for a, v in zip(analytic, d))
                      for d in directions])  # fmt: skip
    rounding = numeric.MACHINE_EPS * magnitude / numeric.directional_step(arrays, wrt, eps)

    def tolerance(estimate, left, right):
        gap = 0.75 * np.abs(estimate - (left + right) / 2)  # (left + right) / 2 is D(h)
        return atol + np.minimum(rtol * np.abs(estimate), PROBE_MARGIN * (gap + rounding))

    def doubtful(k, estimate, left, right):
        return False, abs(along[k] - estimate) > tolerance(estimate, left, right)

    d = numeric.directional(value, arrays, wrt, directions, eps, doubtful, richardson=True,
                            refine=False)  # fmt: skip
    return compare("directions", along, d.numeric, atol, rtol, max_failures, d.left, d.right,
                   d.kink, tol=tolerance(d.numeric, d.left, d.right))  # fmt: skip


def gradgradcheck(
    f, *inputs, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
    raise_exception: bool = False, seed: int = 0, **options,
) -> GradcheckReport:  # fmt: skip
    """Check second derivatives: ``gradcheck`` of ``<v, grad(sum(u * f))>`` (a fixed random
    ``v``), where the inner gradient is computed with ``create_graph=True``."""
    inputs = as_inputs(inputs)
    scalar = projected(f, seed)
    arrays, wrt, _ = float64_inputs(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed + 1)
    directions = {i: rng.standard_normal(arrays[i].shape) for i in wrt}

    def directional_grad(*xs):
        xs = [x if x.requires_grad or i not in wrt else Tensor(x.data, requires_grad=True)
              for i, x in enumerate(xs)]  # fmt: skip
        with autodiff.enable_grad():
            loss = scalar(*xs)
            if not loss.requires_grad:
                return Tensor(0.0)
            grads = autograd.grad(loss, [xs[i] for i in wrt], create_graph=True)
        total = Tensor(0.0)
        for i, g in zip(wrt, grads):
            total = total + (g * directions[i]).sum()
        return total

    report = gradcheck(directional_grad, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed,
                       **options)  # fmt: skip
    report.title = "gradgradcheck"
    for check in report.checks:
        check.name += " (2nd order)"
    return finish(report, raise_exception)
