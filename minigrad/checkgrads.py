"""Checks of forward mode and of second derivatives: ``check_grads`` and ``check_hvp``.

``gradcheck`` (gradcheck.py) checks reverse mode element by element. These add the other
mode and the link between the two, as JAX's ``check_grads`` does, and Hessian-vector products.
"""

from __future__ import annotations

import numpy as np

from . import autodiff, numeric
from .errors import MinigradError
from .gradcheck import (
    GradcheckReport,
    InputCheck,
    _compare,
    _finish,
    _float64_inputs,
    gradcheck,
    gradgradcheck,
)
from .hessians import hvp
from .tensor import Tensor
from .transforms import grad, jvp, vjp


class _Problem:
    """``f`` with its differentiated inputs as the arguments, at float64 copies of ``inputs``."""

    def __init__(self, f, inputs, directions: int, seed: int):
        self.f = f
        self.arrays, self.wrt, _ = _float64_inputs(inputs)
        self.x0 = [self.arrays[i] for i in self.wrt]
        rng = np.random.default_rng(seed)
        self.vs = [rng.standard_normal((directions, *x.shape)) for x in self.x0]
        self.directions = directions

    def on(self, *diff):
        full = [Tensor(a) for a in self.arrays]
        for i, d in zip(self.wrt, diff):
            full[i] = d
        return self.f(*full)

    def direction(self, k):
        return [v[k] for v in self.vs]


def _hvp_checks(problem: _Problem, u, eps, atol, rtol) -> list[InputCheck]:
    """Hessian-vector products of ``<u, f>`` (one batched pass) against central differences of
    its gradient along each direction."""
    n = len(problem.x0)

    def projected(*diff):
        return (problem.on(*diff) * u).sum()

    products = hvp(projected, tuple(problem.x0), tuple(problem.vs))
    products = products if isinstance(products, tuple) else (products,)
    gradient = grad(projected, argnums=tuple(range(n)))

    def flat_gradient(arrays):
        moved = [arrays[i] for i in problem.wrt]
        return np.concatenate([g.data.ravel() for g in gradient(*moved)])

    checks = []
    for k in range(problem.directions):
        fd = _vector_directional(flat_gradient, problem, k, eps)
        hv = np.concatenate([p.data[k].ravel() for p in products])
        checks.append(_compare(f"hvp {k}", hv, fd, atol, rtol))
    return checks


def _vector_directional(fn, problem: _Problem, k: int, eps):
    """Central difference of a vector-valued ``fn(arrays)`` along direction ``k``."""
    scale = max([1.0] + [float(np.max(np.abs(x), initial=0.0)) for x in problem.x0])
    h = numeric.MACHINE_EPS ** (1 / 3) * scale if eps is None else eps

    def moved(sign):
        arrays = list(problem.arrays)
        for i, v in zip(problem.wrt, problem.direction(k)):
            arrays[i] = problem.arrays[i] + sign * h * v
        return fn(arrays)

    return (moved(1) - moved(-1)) / (2 * h)


def check_grads(
    f, *inputs, modes=("fwd", "rev"), order: int = 1, directions: int = 3,
    eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
    raise_exception: bool = False, seed: int = 0,
) -> GradcheckReport:  # fmt: skip
    """Check ``f``'s derivatives in the modes asked for, up to ``order`` (1 or 2), in float64.

    - "rev": every element of the reverse-mode gradient against finite differences
      (``gradcheck``; with ``order=2`` also ``gradgradcheck``).
    - "fwd": ``directions`` random JVPs (one batched forward pass) against finite differences
      of ``f`` along each direction; with ``order=2`` also Hessian-vector products (of
      ``sum(u * f)``) against finite differences of the gradient.
    - both: the inner-product identity ``<u, J v> = <J^T u, v>`` that ties the two modes.
    The report is truthy when everything passes.
    """
    if set(modes) - {"fwd", "rev"} or not modes or order not in (1, 2):
        raise MinigradError(
            f"check_grads: modes must be among 'fwd', 'rev' (got {modes!r}) and order 1 or 2 "
            f"(got {order!r})"
        )
    problem = _Problem(f, inputs, directions, seed)
    checks: list[InputCheck] = []
    if "rev" in modes:
        checks += gradcheck(f, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed).checks
        if order == 2:
            checks += gradgradcheck(f, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed).checks
    if "fwd" in modes:
        out, jv = jvp(problem.on, tuple(problem.x0), tuple(problem.vs))

        def value(arrays):
            with autodiff.no_grad():
                return problem.on(*[Tensor(arrays[i]) for i in problem.wrt]).data

        fd = np.stack([_vector_directional(value, problem, k, eps) for k in range(directions)])
        checks.append(_compare("jvp", jv.data, fd, atol, rtol))
        u = np.random.default_rng(seed).standard_normal(out.shape)
        if "rev" in modes:
            _, vjp_fn = vjp(problem.on, *problem.x0)
            cotangents = vjp_fn(u)
            lhs = np.tensordot(jv.data, u, axes=u.ndim)  # <u, J v_k> for each k
            rhs = sum(np.tensordot(v, c.data, axes=c.ndim) for v, c in zip(problem.vs, cotangents))
            checks.append(_compare("<u,Jv>=<J'u,v>", lhs, rhs, atol, rtol))
        if order == 2:
            checks += _hvp_checks(problem, u, eps, atol, rtol)
    return _finish(GradcheckReport(checks, atol, rtol, title="check_grads"), raise_exception)


def check_hvp(
    f,
    *inputs,
    directions: int = 3,
    eps: float | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
    seed: int = 0,
) -> GradcheckReport:
    """Check Hessian-vector products (``mg.hvp``, forward-over-reverse) of the scalar ``f``
    along ``directions`` random vectors against central differences of its gradient."""
    problem = _Problem(f, inputs, directions, seed)
    checks = _hvp_checks(problem, np.ones(()), eps, atol, rtol)
    return _finish(GradcheckReport(checks, atol, rtol, title="check_hvp"), raise_exception)
