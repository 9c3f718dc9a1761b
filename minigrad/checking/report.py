"""What every check returns, and how an analytic derivative is compared with a numeric one.

``compare`` turns the analytic values and finite differences of one input (or one set of
directions) into an ``InputCheck``; a ``GradcheckReport`` holds one per input, is truthy when all
passed and prints as a table. ``disagreements`` is the same test for one element, used while
the differences are taken to decide which elements deserve a second look.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import MinigradError


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
        return f"{self.name}{list(index)}" if self.shape and index != () else self.name

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
class WrongRule:
    """An operation whose derivative rule disagrees with finite differences of its forward, at
    the inputs it had in a model's graph: ``op`` (its primitive's name), ``module`` (the dotted
    path of the module whose forward made it, "" for the model itself, None when unknown),
    ``nodes`` (how many of its nodes failed) and ``check`` (the worst one)."""

    op: str
    module: str | None
    nodes: int
    check: InputCheck

    def __str__(self) -> str:
        if self.module is None:
            where = ""
        else:
            where = f' in module "{self.module}"' if self.module else " in the model's forward"
        times = f" ({self.nodes} nodes)" if self.nodes > 1 else ""
        return (
            f"wrong rule: {self.op}{where}{times}: vjp vs finite differences of forward: "
            f"{self.check.analytic:.6g} vs {self.check.numeric:.6g}"
        )


@dataclass
class GradcheckReport:
    """The result of a gradient check: truthy when every check passed; prints as a table.
    ``wrong_rules``: the operations found to have wrong rules (a model's directional check)."""

    checks: list[InputCheck]
    atol: float
    rtol: float
    notes: list[str] = field(default_factory=list)
    title: str = "gradcheck"
    wrong_rules: list[WrongRule] = field(default_factory=list)

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
        lines += [f"  {rule}" for rule in self.wrong_rules]
        return "\n".join(lines)

    __repr__ = __str__


class GradcheckError(MinigradError, AssertionError):
    """Raised by a check with ``raise_exception=True`` when a derivative is wrong."""


class GradcheckNotice(UserWarning):
    """A one-line notice from a gradient check (e.g. float32 inputs were upcast)."""


def finish(report: GradcheckReport, raise_exception: bool) -> GradcheckReport:
    """The report, or a ``GradcheckError`` holding it when it failed and ``raise_exception``."""
    if raise_exception and not report:
        raise GradcheckError(str(report))
    return report


# ----- comparing ---------------------------------------------------------------------------------


def disagreements(analytic, estimate, left, right, atol, rtol):
    """(the one-sided differences disagree, the estimate disagrees with the analytic value),
    for one element or elementwise for arrays."""
    tol = atol + rtol * np.maximum(np.maximum(abs(left), abs(right)), abs(estimate))
    return abs(right - left) > tol, abs(analytic - estimate) > tol


def compare(name, analytic, numeric, atol, rtol, max_failures=5, left=None,
            right=None, kink=None, tol=None) -> InputCheck:  # fmt: skip
    """Elementwise comparison. At a kink (``kink``, from ``numeric``) an analytic value between
    the one-sided differences is a valid subgradient and passes. ``tol``: the error allowed
    each element, there and elsewhere (default ``atol + rtol * |numeric|``, and ``atol + rtol *
    max(|left|, |right|)`` outside the one-sided differences at a kink)."""
    analytic = np.real(np.asarray(analytic, dtype=complex if np.iscomplexobj(analytic) else float))
    err = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric) if tol is None else tol
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
        ElementError(idx, float(analytic[idx]), float(numeric[idx]))
        for idx in (tuple(int(i) for i in np.unravel_index(k, err.shape)) for k in order)
    ]
    passing_kink = kinks & ~bad
    rel = np.where(passing_kink, 0.0, err / np.maximum(np.abs(numeric), 1e-12))
    return InputCheck(
        name=name,
        shape=analytic.shape,
        max_abs_error=float(np.where(passing_kink, 0.0, err).max()),
        max_rel_error=float(rel.max()),
        worst_index=tuple(int(i) for i in worst),
        analytic=float(analytic[worst]),
        numeric=float(numeric[worst]),
        passed=not bool(bad.any()),
        failures=failures,
        kinks=[tuple(int(i) for i in idx) for idx in zip(*np.nonzero(passing_kink))]
        if err.ndim
        else ([()] if passing_kink.any() else []),
    )
