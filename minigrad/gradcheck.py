"""Finite-difference gradient checking, always in float64.

``gradcheck(f, *inputs)`` compares, for every floating-point input, the gradient that backward
computes for ``sum(u * f(*inputs))`` (``u`` a fixed random cotangent, 1 when ``f`` returns a
scalar) with central finite
differences of the same scalar, and reports the worst element of each input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import autodiff
from .errors import MinigradError
from .tensor import Tensor


@dataclass
class InputCheck:
    """How the analytic gradient of one input compares with finite differences."""

    name: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    passed: bool

    def __str__(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        where = f"{self.name}{list(self.worst_index)}" if self.shape else self.name
        return (
            f"{status} {self.name:<12} shape {str(self.shape):<12} max abs err "
            f"{self.max_abs_error:.3e}  max rel err {self.max_rel_error:.3e}  worst {where}: "
            f"analytic {self.analytic:.6g} vs numeric {self.numeric:.6g}"
        )


@dataclass
class GradcheckReport:
    """The result of a gradient check: truthy when every input passed; prints as a table."""

    checks: list[InputCheck]
    atol: float
    rtol: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failures(self) -> list[InputCheck]:
        return [c for c in self.checks if not c.passed]

    def __str__(self) -> str:
        head = "gradcheck " + ("passed" if self.passed else "FAILED")
        return "\n".join([f"{head} (atol={self.atol:g}, rtol={self.rtol:g})"] + [
            f"  {c}" for c in self.checks
        ])  # fmt: skip


class GradcheckError(MinigradError, AssertionError):
    """Raised by ``gradcheck(..., raise_exception=True)`` when a gradient is wrong."""


def numerical_grad(f, arrays: list[np.ndarray], wrt: list[int], eps: float) -> list[np.ndarray]:
    """Central differences of the scalar function ``f(*arrays)`` for the arrays ``wrt``."""
    grads = []
    for i in wrt:
        x = arrays[i]
        g = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            saved = x[j]
            x[j] = saved + eps
            plus = f(*arrays)
            x[j] = saved - eps
            minus = f(*arrays)
            x[j] = saved
            g[j] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def _float64_inputs(inputs):
    arrays, wrt, names = [], [], []
    for i, x in enumerate(inputs):
        data = np.asarray(x.data if isinstance(x, Tensor) else x)
        if data.dtype.kind in "fc":
            data = data.astype(np.complex128 if data.dtype.kind == "c" else np.float64)
            wrt.append(i)
        arrays.append(np.array(data))
        name = x.name if isinstance(x, Tensor) and x.name else f"input {i}"
        names.append(name)
    return arrays, wrt, names


def _projected(f, cotangent_seed: int):
    """``sum(u * f(*xs))`` with one fixed random ``u`` drawn for the output's shape (1 for a
    scalar output)."""
    cache = {}

    def scalar(*xs):
        out = f(*xs)
        if not isinstance(out, Tensor):
            raise MinigradError(
                f"gradcheck: the function must return a Tensor, it returned {type(out).__name__}"
            )
        if "u" not in cache:  # u = 1 for a scalar output, so the report shows its gradient
            rng = np.random.default_rng(cotangent_seed)
            cache["u"] = np.ones(out.shape) if out.size == 1 else rng.standard_normal(out.shape)
        return (out * cache["u"]).sum()

    return scalar


def gradcheck(
    f, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
    raise_exception: bool = False, seed: int = 0,
) -> GradcheckReport:  # fmt: skip
    """Check the reverse-mode gradient of ``f`` at ``inputs`` against central differences.

    Every floating-point input is checked, in float64, elementwise: an element fails when
    ``|analytic - numeric| > atol + rtol * |numeric|``. Integer inputs are passed through.
    The report is truthy when all pass and prints the worst element of each input.

    >>> import minigrad as mg
    >>> bool(gradcheck(lambda x: (x * x).sum(), mg.tensor([1.0, 2.0])))
    True
    """
    scalar = _projected(f, seed)
    arrays, wrt, names = _float64_inputs(inputs)
    xs = [Tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    loss = scalar(*xs)
    differentiable = [xs[i] for i in wrt]
    if loss.requires_grad:
        analytic = [g.data for g in autodiff.grad(loss, differentiable)]
    else:
        analytic = [np.zeros_like(x.data) for x in differentiable]

    def value(*arrays):
        with autodiff.no_grad():
            return scalar(*[Tensor(a) for a in arrays]).item()

    numeric = numerical_grad(value, [a.copy() for a in arrays], wrt, eps)
    checks = [_compare(names[i], a, n, atol, rtol) for i, a, n in zip(wrt, analytic, numeric)]
    report = GradcheckReport(checks, atol, rtol)
    if raise_exception and not report:
        raise GradcheckError(str(report))
    return report


def _compare(name, analytic, numeric, atol, rtol) -> InputCheck:
    err = np.abs(analytic - numeric)
    excess = err - (atol + rtol * np.abs(numeric))
    if err.size == 0:
        return InputCheck(name, analytic.shape, 0.0, 0.0, (), np.nan, np.nan, True)
    worst = np.unravel_index(np.argmax(excess), err.shape) if err.ndim else ()
    rel = err / np.maximum(np.abs(numeric), 1e-12)
    return InputCheck(
        name=name,
        shape=analytic.shape,
        max_abs_error=float(err.max()),
        max_rel_error=float(rel.max()),
        worst_index=tuple(int(i) for i in worst),
        analytic=complex(analytic[worst]).real
        if analytic.dtype.kind == "c"
        else float(analytic[worst]),
        numeric=float(np.real(numeric[worst])),
        passed=bool((excess <= 0).all()),
    )


def gradgradcheck(f, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = False, seed: int = 0) -> GradcheckReport:  # fmt: skip
    """Check second derivatives: the gradient of ``<v, grad(sum(u * f))>`` against finite
    differences, where the inner gradient is computed with ``create_graph=True``."""
    scalar = _projected(f, seed)
    arrays, wrt, _ = _float64_inputs(inputs)
    rng = np.random.default_rng(seed + 1)
    directions = {i: rng.standard_normal(arrays[i].shape) for i in wrt}

    def directional_grad(*xs):
        xs = [x if x.requires_grad or i not in wrt else Tensor(x.data, requires_grad=True)
              for i, x in enumerate(xs)]  # fmt: skip
        with autodiff.enable_grad():
            loss = scalar(*xs)
            if not loss.requires_grad:
                return Tensor(0.0)
            grads = autodiff.grad(loss, [xs[i] for i in wrt], create_graph=True)
        total = Tensor(0.0)
        for i, g in zip(wrt, grads):
            total = total + (g * directions[i]).sum()
        return total

    return gradcheck(directional_grad, *inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed)  # fmt: skip


# ----- forward mode and higher orders ------------------------------------------------------------


def _directional_check(name, analytic, numeric, atol, rtol) -> InputCheck:
    """Compare a batch of directional derivatives (directions on the first axis)."""
    return _compare(name, np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float),
                    atol, rtol)  # fmt: skip


def check_grads(
    f, *inputs, modes=("fwd", "rev"), order: int = 1, directions: int = 3,
    eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = False,
    seed: int = 0,
) -> GradcheckReport:  # fmt: skip
    """Check ``f``'s derivatives in the modes asked for, up to ``order`` (1 or 2), in float64.

    - "rev": every element of the reverse-mode gradient against finite differences
      (``gradcheck``; with ``order=2`` also ``gradgradcheck``).
    - "fwd": ``directions`` random JVPs (one batched forward pass) against finite differences
      of ``f`` along each direction; with ``order=2`` also Hessian-vector products (of
      ``sum(u * f)``) against finite differences of the gradient.
    - both: the inner-product identity ``<u, J v> = <J^T u, v>`` that ties the two modes.
    Integer inputs are passed through as constants. The report is truthy when all pass.
    """
    from . import transforms
    from .hessians import hvp

    unknown = set(modes) - {"fwd", "rev"}
    if unknown or order not in (1, 2):
        raise MinigradError(
            f"check_grads: modes must be among 'fwd', 'rev' (got {modes!r}) and order 1 or 2 "
            f"(got {order!r})"
        )
    arrays, wrt, names = _float64_inputs(inputs)
    rng = np.random.default_rng(seed)
    checks: list[InputCheck] = []

    def on(*diff):  # f with the differentiated inputs replaced
        full = [Tensor(a) for a in arrays]
        for i, d in zip(wrt, diff):
            full[i] = d
        return f(*full)

    def value(*diff_arrays):
        with autodiff.no_grad():
            return on(*[Tensor(a) for a in diff_arrays]).data

    x0 = [arrays[i] for i in wrt]
    vs = [rng.standard_normal((directions, *x.shape)) for x in x0]
    if "rev" in modes:
        checks += gradcheck(f, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed).checks
        if order == 2:
            checks += gradgradcheck(f, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed).checks
    if "fwd" in modes:
        out, jv = transforms.jvp(on, tuple(x0), tuple(vs))
        numeric = np.stack([
            (value(*[x + eps * v[k] for x, v in zip(x0, vs)])
             - value(*[x - eps * v[k] for x, v in zip(x0, vs)])) / (2 * eps)
            for k in range(directions)
        ])  # fmt: skip
        checks.append(_directional_check("jvp vs fd", jv.data, numeric, atol, rtol))
        u = np.random.default_rng(seed).standard_normal(out.shape)
        if "rev" in modes:
            _, vjp_fn = transforms.vjp(on, *x0)
            cotangents = vjp_fn(u)
            lhs = np.tensordot(jv.data, u, axes=u.ndim)  # <u, J v_k> for each k
            rhs = sum(np.tensordot(v, c.data, axes=c.ndim) for v, c in zip(vs, cotangents))
            checks.append(_directional_check("<u,Jv>=<J'u,v>", lhs, rhs, atol, rtol))
        if order == 2:

            def projected(*diff):
                return (on(*diff) * u).sum()

            products = hvp(projected, tuple(x0), tuple(vs))
            products = products if isinstance(products, tuple) else (products,)
            gradient = transforms.grad(projected, argnums=tuple(range(len(x0))))

            def grad_at(shift):
                return np.concatenate([g.data.ravel() for g in gradient(*shift)])

            for k in range(directions):
                fd = (grad_at([x + eps * v[k] for x, v in zip(x0, vs)])
                      - grad_at([x - eps * v[k] for x, v in zip(x0, vs)])) / (2 * eps)  # fmt: skip
                hv = np.concatenate([p.data[k].ravel() for p in products])
                checks.append(_directional_check(f"hvp {k} vs fd", hv, fd, atol, rtol))
    report = GradcheckReport(checks, atol, rtol)
    if raise_exception and not report:
        raise GradcheckError(str(report))
    return report
