"""Gradient checking against finite differences, always in float64.

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
3 random directions instead, with a tolerance from the differences' own error (see ``_probe``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import autodiff, autograd, numeric
from .errors import DTypeError, MinigradError
from .tensor import Tensor


@dataclass
class ElementError:
    """One element whose analytic derivative disagrees with finite differences."""

    index: tuple
    analytic: float
    numeric: float

    @property
    def error(self) -> float:
        return abs(self.analytic - self.numeric)


@dataclass
class InputCheck:
    """How the analytic gradient of one input (or one set of directions) compares."""

    name: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    passed: bool
    failures: list[ElementError] = field(default_factory=list)  # the worst first
    kinks: list[tuple] = field(default_factory=list)  # indices where f is not differentiable

    def _where(self, index) -> str:
        return f"{self.name}{list(index)}" if self.shape else self.name

    def __str__(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        line = (
            f"{status} {self.name:<14} shape {str(self.shape):<10} max abs err "
            f"{self.max_abs_error:.2e}  max rel err {self.max_rel_error:.2e}"
        )
        if self.failures:
            line += "".join(
                f"\n       {self._where(e.index)}: analytic {e.analytic:.6g}, numeric "
                f"{e.numeric:.6g}, error {e.error:.2e}"
                for e in self.failures
            )
        else:
            line += f"  worst {self._where(self.worst_index)}: analytic {self.analytic:.6g} "
            line += f"vs numeric {self.numeric:.6g}"
        if self.kinks:
            shown = ", ".join(self._where(k) for k in self.kinks[:5])
            more = f" and {len(self.kinks) - 5} more" if len(self.kinks) > 5 else ""
            line += f"\n       not differentiable at {shown}{more} (subgradient accepted)"
        return line


@dataclass
class GradcheckReport:
    """The result of a gradient check: truthy when every check passed; prints as a table."""

    checks: list[InputCheck]
    atol: float
    rtol: float
    notes: list[str] = field(default_factory=list)
    title: str = "gradcheck"

    @property
    def passed(self) -> bool:
        """Whether every input's check passed (also the report's truth value)."""
        return all(c.passed for c in self.checks)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failures(self) -> list[InputCheck]:
        """The inputs' checks that failed, each with its worst elements."""
        return [c for c in self.checks if not c.passed]

    def __str__(self) -> str:
        head = f"{self.title} {'passed' if self.passed else 'FAILED'}"
        lines = [f"{head} (atol={self.atol:g}, rtol={self.rtol:g})"]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  {c}" for c in self.checks]
        return "\n".join(lines)

    __repr__ = __str__


class GradcheckError(MinigradError, AssertionError):
    """Raised by a check with ``raise_exception=True`` when a derivative is wrong."""


class GradcheckNotice(UserWarning):
    """A one-line notice from a gradient check (e.g. float32 inputs were upcast)."""


# ----- inputs ------------------------------------------------------------------------------------


def as_inputs(inputs: tuple) -> tuple:
    """The inputs of a check, in either convention: ``gradcheck(f, x, y)``, or PyTorch's
    ``gradcheck(f, (x, y))`` (one tuple or list of Tensors or arrays), which would otherwise be
    read as a single stacked input and silently check something else."""
    if len(inputs) == 1 and isinstance(inputs[0], tuple | list) and inputs[0]:
        items = inputs[0]
        if all(isinstance(x, Tensor | np.ndarray) for x in items):
            return tuple(items)
    return inputs


def _float64_inputs(inputs, caller: str, notes=None):
    """float64 copies of the floating-point inputs (complex stays complex), which to
    differentiate, and names for the report. With no floating-point input there is nothing to
    check, and a check that passes on nothing would hide the typo ``np.arange(4)``: an error."""
    arrays, wrt, names = [], [], []
    for i, x in enumerate(inputs):
        data = np.asarray(x.data if isinstance(x, Tensor) else x)
        if data.dtype.kind in "fc":
            if notes is not None and data.dtype in (np.float32, np.float16):
                notes.append(f"input {i} is {data.dtype}: checked in float64 (upcast copy)")
            data = data.astype(np.complex128 if data.dtype.kind == "c" else np.float64)
            wrt.append(i)
        arrays.append(np.array(data))
        names.append(x.name if isinstance(x, Tensor) and x.name else f"input {i}")
    if not wrt:
        dtypes = ", ".join(f"{n} is {a.dtype}" for n, a in zip(names, arrays)) or "none given"
        raise DTypeError(
            f"{caller}: no input is floating point ({dtypes}), so there is nothing to check; "
            f"pass float arrays, e.g. np.arange(4.0) rather than np.arange(4), or "
            f"mg.tensor(x, dtype=np.float64)"
        )
    return arrays, wrt, names


def _constant_notes(arrays, wrt, names) -> list[str]:
    """Report notes naming the inputs that are not checked (integer inputs are constants)."""
    return [f"{names[i]} is {a.dtype}: a constant, not checked"
            for i, a in enumerate(arrays) if i not in wrt]  # fmt: skip


def _projected(f, cotangent_seed: int):
    """``sum(u * f(*xs))`` with one fixed random ``u`` drawn for the output's shape (1 for a
    scalar output, so the report shows the gradient itself)."""
    cache = {}

    def scalar(*xs):
        out = f(*xs)
        if not isinstance(out, Tensor):
            raise MinigradError(
                f"gradcheck: the function must return a Tensor, it returned {type(out).__name__}"
            )
        if "u" not in cache:
            # NOTE: each output weighted by 1 / its size, so a small output's change is not lost
            # in the rounding of a large one's (exp([30, 0]) would be).
            rng = np.random.default_rng(cotangent_seed)
            u = np.ones(out.shape) if out.size == 1 else rng.standard_normal(out.shape)
            if out.size > 1:
                u = u / np.maximum(1.0, np.abs(np.real(out.data)))
            cache["u"] = u
        return (out * cache["u"]).sum()

    return scalar


def _analytic(scalar, arrays, wrt):
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
        prim = t._node.prim if t._node is not None else None
        if prim is not None and not prim.holomorphic:
            raise MinigradError(
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
      tighter than ``rtol`` on a large input (see ``_probe``); if one fails it escalates to the
      full check, which decides with the normal tolerance and finds the elements.
    - ``method``: "central" (default), "forward", "richardson" or "complex" (complex step:
      exact to rounding, needs every operation in ``f`` to be holomorphic; an error names the
      first that is not). ``eps``: a fixed step; by default one per element (see ``numeric``).
    Inputs are copied to float64 (float32 ones with a notice); integer inputs are constants
    (listed in ``notes``), and a ``DTypeError`` says so when no input is floating point.
    PyTorch's form ``gradcheck(f, (x, y))`` (one tuple of Tensors) is the same as
    ``gradcheck(f, x, y)``.

    >>> import minigrad as mg
    >>> bool(gradcheck(lambda x: (x * x).sum(), mg.tensor([1.0, 2.0])))
    True
    """
    if mode not in ("full", "fast"):
        raise MinigradError(f"gradcheck: mode {mode!r} is not 'full' or 'fast'")
    if method not in numeric.METHODS:
        raise MinigradError(f"gradcheck: method {method!r} is not one of {numeric.METHODS}")
    inputs = as_inputs(inputs)
    notes: list[str] = []
    arrays, wrt, names = _float64_inputs(inputs, "gradcheck", notes)
    for note in notes:
        warnings.warn(note, GradcheckNotice, stacklevel=2)
    notes += _constant_notes(arrays, wrt, names)
    scalar = _projected(f, seed)
    analytic, loss = _analytic(scalar, arrays, wrt)

    def value(arrays):
        with autodiff.no_grad():
            return scalar(*[Tensor(a) for a in arrays]).item()

    if mode == "fast":
        check = _probe(value, arrays, wrt, analytic, abs(loss.item()), eps, atol, rtol, seed,
                       max_failures)  # fmt: skip
        if check.passed:
            return _finish(GradcheckReport([check], atol, rtol, notes), raise_exception)
        notes.append("fast check failed along a random direction: escalated to every element")
    if method == "complex":
        _require_holomorphic(scalar, arrays, wrt)
    by_input = dict(zip(wrt, analytic))

    def doubtful(i, j, estimate, left, right):
        return disagreements(by_input[i][j], estimate, left, right, atol, rtol)

    differences = numeric.differentiate(value, arrays, wrt, method, eps, doubtful)
    checks = [
        _compare(names[i], a, d.numeric, atol, rtol, max_failures, d.left, d.right, d.kink)
        for i, a, d in zip(wrt, analytic, differences)
    ]
    return _finish(GradcheckReport(checks, atol, rtol, notes), raise_exception)


# NOTE: how many times its error estimate the fast check allows a directional derivative. The
# estimate is the gap between the central differences at h and h/2, which overstates the
# extrapolated estimate's truncation error (O(h^2) against O(h^4)), plus the rounding error of
# differencing values of f's magnitude; the factor covers rounding that a gap happens to hide.
PROBE_MARGIN = 10


def _probe(value, arrays, wrt, analytic, magnitude, eps, atol, rtol, seed, max_failures):
    """Fast mode: ``<J^T u, v>`` against finite differences of the scalar ``value`` (``|value|
    = magnitude`` at ``arrays``) along 3 seeded random directions ``v``: an ``InputCheck``.

    The estimate is Richardson-extrapolated from central differences at h and h/2 and allowed
    ``atol + PROBE_MARGIN * (|D(h) - D(h/2)| + eps_mach * magnitude / h)``, never more than
    ``atol + rtol * |D|``. A relative tolerance alone grows with the derivative along ``v``,
    like sqrt(number of elements), and a wrong element of a large input hides under it; this
    one stays near ``atol`` for a smooth ``f``. A probe that fails only costs work: the full
    check that follows decides with the normal tolerance. Where ``v`` crosses a kink, a value
    between the one-sided differences passes, as an element at a kink does.
    """
    rng = np.random.default_rng(seed + 2)
    directions = [[rng.standard_normal(arrays[i].shape) for i in wrt] for _ in range(3)]
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
    return _compare("directions", along, d.numeric, atol, rtol, max_failures, d.left, d.right,
                    d.kink, tol=tolerance(d.numeric, d.left, d.right))  # fmt: skip


def disagreements(analytic, estimate, left, right, atol, rtol):
    """(the one-sided differences disagree, the estimate disagrees with the analytic value),
    for one element or elementwise for arrays."""
    tol = atol + rtol * np.maximum(np.maximum(abs(left), abs(right)), abs(estimate))
    return abs(right - left) > tol, abs(analytic - estimate) > tol


def _finish(report: GradcheckReport, raise_exception: bool) -> GradcheckReport:
    if raise_exception and not report:
        raise GradcheckError(str(report))
    return report


def _compare(name, analytic, numeric_, atol, rtol, max_failures=5, left=None,
             right=None, kink=None, tol=None) -> InputCheck:  # fmt: skip
    """Elementwise comparison. At a kink (``kink``, from ``numeric``) an analytic value between
    the one-sided differences is a valid subgradient and passes. ``tol``: the error allowed
    each element, there and elsewhere (default ``atol + rtol * |numeric|``, and ``atol + rtol *
    max(|left|, |right|)`` outside the one-sided differences at a kink)."""
    analytic = np.real(np.asarray(analytic, dtype=complex if np.iscomplexobj(analytic) else float))
    err = np.abs(analytic - numeric_)
    allowed = atol + rtol * np.abs(numeric_) if tol is None else tol
    bad = err > allowed
    kinks = np.zeros(err.shape, dtype=bool) if kink is None else kink
    if kinks.any():
        margin = atol + rtol * np.maximum(np.abs(left), np.abs(right)) if tol is None else tol
        low, high = np.minimum(left, right) - margin, np.maximum(left, right) + margin
        bad = np.where(kinks, (analytic < low) | (analytic > high), bad)
    if err.size == 0:
        return InputCheck(name, analytic.shape, 0.0, 0.0, (), np.nan, np.nan, True)
    ranked = np.where(kinks & ~bad, -np.inf, err - allowed)
    worst = np.unravel_index(np.argmax(ranked), err.shape) if err.ndim else ()
    order = np.argsort(-np.where(bad, err, -np.inf), axis=None)[: int(bad.sum())][:max_failures]
    failures = [
        ElementError(idx, float(analytic[idx]), float(numeric_[idx]))
        for idx in (tuple(int(i) for i in np.unravel_index(k, err.shape)) for k in order)
    ]
    passing_kink = kinks & ~bad
    rel = np.where(passing_kink, 0.0, err / np.maximum(np.abs(numeric_), 1e-12))
    return InputCheck(
        name=name,
        shape=analytic.shape,
        max_abs_error=float(np.where(passing_kink, 0.0, err).max()),
        max_rel_error=float(rel.max()),
        worst_index=tuple(int(i) for i in worst),
        analytic=float(analytic[worst]),
        numeric=float(numeric_[worst]),
        passed=not bool(bad.any()),
        failures=failures,
        kinks=[tuple(int(i) for i in idx) for idx in zip(*np.nonzero(passing_kink))]
        if err.ndim
        else ([()] if passing_kink.any() else []),
    )


def gradgradcheck(
    f,
    *inputs,
    eps: float | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
    seed: int = 0,
    **options,
) -> GradcheckReport:
    """Check second derivatives: ``gradcheck`` of ``<v, grad(sum(u * f))>`` (a fixed random
    ``v``), where the inner gradient is computed with ``create_graph=True``."""
    inputs = as_inputs(inputs)
    scalar = _projected(f, seed)
    arrays, wrt, _ = _float64_inputs(inputs, "gradgradcheck")
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
    return _finish(report, raise_exception)
