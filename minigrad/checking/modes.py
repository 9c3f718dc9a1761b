"""Checks of forward mode and of second derivatives: ``check_grads`` and ``check_hvp``.

``gradcheck`` (reverse.py) checks reverse mode element by element. These add the other
mode and the link between the two, as JAX's ``check_grads`` does, and Hessian-vector products.
"""

from __future__ import annotations

import numpy as np

from .. import autodiff
from ..errors import OpError
from ..hessians import hvp
from ..tensor import Tensor
from ..transforms import grad, jvp, vjp
from . import numeric
from .inputs import as_inputs, constant_notes, float64_inputs
from .report import GradcheckReport, InputCheck, compare, disagreements, finish
from .reverse import gradcheck, gradgradcheck


class _Problem:
    """``f`` with its differentiated inputs as the arguments, at float64 copies of ``inputs``."""

    def __init__(self, f, inputs, directions: int, seed: int, caller: str):
        self.f = f
        self.inputs = inputs = as_inputs(inputs)
        self.notes: list[str] = []
        self.arrays, self.wrt, names = float64_inputs(inputs, caller, self.notes)
        self.notes += constant_notes(self.arrays, self.wrt, names)
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

    def differences(self, value, analytic, eps, atol, rtol) -> numeric.Differences:
        """Central and one-sided differences of the array ``value(arrays)`` along each
        direction, and where it has a kink, to check ``analytic[k]``, the derivative along
        direction ``k``, as ``gradcheck`` checks an element (a value between the one-sided
        differences at a kink passes)."""
        return numeric.directional(
            value, self.arrays, self.wrt, [self.direction(k) for k in range(self.directions)],
            eps, doubtful=lambda k, *fd: disagreements(analytic[k], *fd, atol, rtol),
        )  # fmt: skip


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

    hv = np.concatenate([p.data.reshape(problem.directions, -1) for p in products], axis=1)
    d = problem.differences(flat_gradient, hv, eps, atol, rtol)
    return [compare(f"hvp {k}", hv[k], d.numeric[k], atol, rtol, left=d.left[k],
                    right=d.right[k], kink=d.kink[k])
            for k in range(problem.directions)]  # fmt: skip


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
    Where ``f`` has a kink along a direction (relu at 0), a JVP or HVP between the one-sided
    differences passes and is listed, as an element does in ``gradcheck``. The report is truthy
    when everything passes.
    """
    if set(modes) - {"fwd", "rev"} or not modes:
        raise OpError(f"check_grads: modes must be among 'fwd', 'rev' (got {modes!r})")
    if order not in (1, 2):
        raise OpError(f"check_grads: order selects derivatives of order 1 or 2 (got {order!r})")
    problem = _Problem(f, inputs, directions, seed, "check_grads")
    checks: list[InputCheck] = []
    if "rev" in modes:
        checks += gradcheck(f, *problem.inputs, eps=eps, atol=atol, rtol=rtol, seed=seed).checks
        if order == 2:
            checks += gradgradcheck(
                f, *problem.inputs, eps=eps, atol=atol, rtol=rtol, seed=seed
            ).checks
    if "fwd" in modes:
        out, jv = jvp(problem.on, tuple(problem.x0), tuple(problem.vs))

        def value(arrays):
            with autodiff.no_grad():
                return problem.on(*[Tensor(arrays[i]) for i in problem.wrt]).data

        d = problem.differences(value, jv.data, eps, atol, rtol)
        checks.append(compare("jvp", jv.data, d.numeric, atol, rtol, left=d.left,
                              right=d.right, kink=d.kink))  # fmt: skip
        u = np.random.default_rng(seed).standard_normal(out.shape)
        if "rev" in modes:
            _, vjp_fn = vjp(problem.on, *problem.x0)
            cotangents = vjp_fn(u)
            lhs = np.tensordot(jv.data, u, axes=u.ndim)  # <u, J v_k> for each k
            rhs = sum(np.tensordot(v, c.data, axes=c.ndim) for v, c in zip(problem.vs, cotangents))
            checks.append(compare("<u,Jv>=<J'u,v>", lhs, rhs, atol, rtol))
        if order == 2:
            checks += _hvp_checks(problem, u, eps, atol, rtol)
    report = GradcheckReport(checks, atol, rtol, problem.notes, title="check_grads")
    return finish(report, raise_exception)


def check_hvp(
    f, *inputs, directions: int = 3, eps: float | None = None, atol: float = 1e-5,
    rtol: float = 1e-3, raise_exception: bool = False, seed: int = 0,
) -> GradcheckReport:  # fmt: skip
    """Check Hessian-vector products (``mg.hvp``, forward-over-reverse) of the scalar ``f``
    along ``directions`` random vectors against central differences of its gradient (at a kink
    of the gradient, against the one-sided differences, as ``gradcheck`` does)."""
    problem = _Problem(f, inputs, directions, seed, "check_hvp")
    checks = _hvp_checks(problem, np.ones(()), eps, atol, rtol)
    report = GradcheckReport(checks, atol, rtol, problem.notes, title="check_hvp")
    return finish(report, raise_exception)
