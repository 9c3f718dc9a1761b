"""Line searches: how far to go along a direction ``d`` from ``x``.

Both look at ``phi(t) = f(x + t d)`` on ``t > 0``, whose slope at 0 is ``phi'(0) = g . d``
(``g`` the gradient at ``x``; negative for a descent direction).

- ``backtracking_armijo``: try ``t = step, step * shrink, step * shrink**2, ...`` and take the
  first ``t`` with *sufficient decrease* (Armijo): ``phi(t) <= phi(0) + c1 t phi'(0)``.
- ``strong_wolfe``: PyTorch's ``_strong_wolfe`` (a port of minFunc's ``lswolfe``), used by
  ``LBFGS(line_search_fn="strong_wolfe")``: bracket, then zoom with cubic interpolation, until
  sufficient decrease *and* ``|phi'(t)| <= c2 |phi'(0)|`` (the strong curvature condition).

``FlatParams`` sees a list of parameters as one flat vector, so a line search (or L-BFGS, or
Newton) can move them all along one direction and re-evaluate a PyTorch-style closure there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..arguments import FlatLayout
from ..autodiff import enable_grad, no_grad
from ..tensor import Tensor
from .checks import check, check_gradient

# ----- parameters as one flat vector -------------------------------------------------------------


class FlatParams:
    """A list of parameters seen as one flat vector ``x`` (their elements, in order).

    ``get``/``set``/``add`` read and write ``x`` (writes are in place under ``no_grad``, so each
    parameter's version clock ticks); ``grad`` gathers the gradients (zeros for a parameter
    without one); ``evaluate(closure)`` runs a PyTorch-style closure (zero grads, loss,
    backward, return loss) with grad mode on and returns the loss as a float. ``owner`` names
    the caller in errors (a ``.grad`` that does not fit its parameter is refused).
    """

    def __init__(self, params: Sequence[Tensor], owner: str = "FlatParams"):
        # Frozen parameters (requires_grad=False) are not part of x: they are left alone.
        self.owner = owner
        self.indices = [i for i, p in enumerate(params) if p.requires_grad]
        self.params = [p for p in params if p.requires_grad]
        self.layout = FlatLayout([p.shape for p in self.params])
        self.n = self.layout.n
        self.dtype = np.result_type(*[p.dtype for p in self.params])

    def split(self, vector: np.ndarray) -> list[np.ndarray]:
        """``vector`` (``(n,)``, or ``(B, n)`` for a batch) cut into the parameters' shapes."""
        return self.layout.split(vector)

    def get(self) -> np.ndarray:
        """A copy of the parameters as one flat vector."""
        return self.layout.join([p.data for p in self.params]).astype(self.dtype, copy=False)

    def set(self, x: np.ndarray) -> None:
        """Write the flat vector ``x`` into the parameters (in place)."""
        with no_grad():
            for p, piece in zip(self.params, self.split(x)):
                p.copy_(piece)

    def add(self, t: float, d: np.ndarray) -> None:
        """``x += t * d`` in place (as PyTorch's ``p.add_(d, alpha=t)``)."""
        with no_grad():
            for p, piece in zip(self.params, self.split(d)):
                p.add_(piece, alpha=t)

    def check_grads(self) -> None:
        """Refuse a ``.grad`` that is not of its parameter's shape and dtype kind: flattened, a
        ``(3, 2)`` gradient of a ``(2, 3)`` parameter would be read in the wrong order."""
        for i, p in zip(self.indices, self.params):
            if p.grad is not None:
                check_gradient(self.owner, p, i)

    def grad(self) -> np.ndarray:
        """The parameters' gradients as one flat vector (zeros where ``.grad`` is None)."""
        self.check_grads()
        grads = [
            np.zeros(p.shape, self.dtype) if p.grad is None else p.grad.data for p in self.params
        ]
        return self.layout.join(grads).astype(self.dtype, copy=False)

    def evaluate(self, closure: Callable) -> float:
        """Run the closure (grad mode on) at the current parameters; the loss as a float."""
        with enable_grad():
            return float(closure())

    def function(self, closure: Callable) -> Callable[[np.ndarray], float]:
        """``x -> loss``: writes ``x`` into the parameters and evaluates the closure there
        (which leaves the parameters at ``x`` and their gradients at ``x``)."""

        def f(x):
            self.set(x)
            return self.evaluate(closure)

        return f


# ----- backtracking (Armijo) ---------------------------------------------------------------------


def backtracking_armijo(
    f: Callable,
    x,
    direction,
    grad=None,
    step: float = 1.0,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_iter: int = 50,
    f0: float | None = None,
) -> tuple[float, float]:
    """Backtracking line search: the first ``t`` in ``step * shrink**k`` (``k = 0, 1, ...``)
    with sufficient decrease (the Armijo condition)

        f(x + t d) <= f(x) + c1 * t * (g . d).

    Returns ``(t, f(x + t d))``. For a descent direction (``g . d < 0``) and a smooth ``f`` such
    a ``t`` exists, since ``f(x + t d) = f(x) + t g . d + O(t^2)`` and ``c1 < 1``; if none is
    found in ``max_iter`` tries the result is ``(0.0, f(x))``: no step.

    Two ways to call it:

    - on arrays: ``f`` maps a flat array ``x`` to a scalar (float, 0-d array or Tensor), ``x``
      and ``direction`` are arrays. ``grad`` (``g`` at ``x``) may be omitted when ``f`` is
      written in minigrad ops (it is then computed with ``mg.value_and_grad``).
    - via a closure: ``f`` is a PyTorch-style closure (zero grads, loss, backward, return loss)
      and ``x`` the list of parameters; ``direction`` is flat (all parameters, in order). The
      parameters are left at ``x + t d`` (their starting values if ``t = 0``). Without
      ``grad``, the closure is evaluated at ``x`` first and the gradients read from ``.grad``.

    ``f0`` (``f(x)``) saves one evaluation when known. A ``direction`` that is not a descent
    direction (``g . d >= 0``) is refused with an ``OptimizerError``.

    >>> import numpy as np
    >>> f = lambda x: float((x**2).sum())
    >>> x = np.array([1.0, 1.0])
    >>> backtracking_armijo(f, x, -2 * x, grad=2 * x)   # t = 1 overshoots to (-1, -1)
    (0.5, 0.0)
    """
    check(step > 0, f"backtracking_armijo: Invalid initial step: {step}")
    check(0 < c1 < 1, f"backtracking_armijo: Invalid c1: {c1} (need 0 < c1 < 1)")
    check(0 < shrink < 1, f"backtracking_armijo: Invalid shrink: {shrink} (need 0 < shrink < 1)")
    check(max_iter >= 1, f"backtracking_armijo: Invalid max_iter: {max_iter}")
    if isinstance(x, list | tuple) and x and all(isinstance(p, Tensor) for p in x):
        return _armijo_on_params(f, x, direction, grad, step, c1, shrink, max_iter, f0)
    x = np.asarray(x.data if isinstance(x, Tensor) else x)
    d = np.asarray(direction.data if isinstance(direction, Tensor) else direction)
    if grad is None:
        from ..transforms import value_and_grad

        value, g = value_and_grad(f)(Tensor(x))
        f0, grad = (float(value) if f0 is None else f0), g.data
    if f0 is None:
        f0 = float(f(x))
    return _armijo(lambda t: float(f(x + t * d)), f0, _slope(grad, d), step, c1, shrink, max_iter)


def _slope(grad, d) -> float:
    g = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
    check(
        g.size == d.size,
        f"backtracking_armijo: the gradient has {g.size} elements, the direction {d.size}",
    )
    slope = float(np.dot(g.ravel(), d.ravel()))
    check(
        slope < 0,
        f"backtracking_armijo: the direction is not a descent direction (grad . direction = "
        f"{slope:.3g} >= 0), so no step decreases f to first order; use e.g. -grad",
    )
    return slope


def _armijo(phi, f0, slope, step, c1, shrink, max_iter):
    """The backtracking loop on ``phi(t) = f(x + t d)``."""
    t = float(step)
    for _ in range(max_iter):
        f_new = phi(t)
        if math.isfinite(f_new) and f_new <= f0 + c1 * t * slope:
            return t, f_new
        t *= shrink
    return 0.0, f0


def _armijo_on_params(closure, params, direction, grad, step, c1, shrink, max_iter, f0):
    flat = FlatParams(params, owner="backtracking_armijo")
    x0 = flat.get()
    d = np.asarray(direction.data if isinstance(direction, Tensor) else direction).ravel()
    check(
        d.size == flat.n,
        f"backtracking_armijo: the direction has {d.size} elements, the parameters {flat.n}",
    )
    f = flat.function(closure)
    if grad is None:
        f0 = f(x0)
        grad = flat.grad()
    elif f0 is None:
        f0 = f(x0)
    t, f_new = _armijo(lambda t: f(x0 + t * d), f0, _slope(grad, d), step, c1, shrink, max_iter)
    flat.set(x0 + t * d)
    return t, f_new


# ----- strong Wolfe (PyTorch's _strong_wolfe) ----------------------------------------------------


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through ``(x1, f1)`` and ``(x2, f2)`` with slopes ``g1``,
    ``g2``, clamped to ``bounds`` (default: between ``x1`` and ``x2``):

        d1 = g1 + g2 - 3 (f1 - f2) / (x1 - x2),   d2 = sqrt(d1^2 - g1 g2)
        t  = x2 - (x2 - x1) (g2 + d2 - d1) / (g2 - g1 + 2 d2)      (for x1 <= x2)

    When ``d1^2 < g1 g2`` the cubic has no minimiser: the midpoint of the bounds.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    # NOTE: numpy scalars, so that a degenerate bracket gives inf/nan (as in PyTorch), not an
    # exception.
    x1, f1, g1, x2, f2, g2 = (np.float64(v) for v in (x1, f1, g1, x2, f2, g2))
    with np.errstate(all="ignore"):
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        d2_square = d1**2 - g1 * g2
        if d2_square >= 0:
            d2 = np.sqrt(d2_square)
            if x1 <= x2:
                min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
            else:
                min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
            return float(min(max(min_pos, xmin_bound), xmax_bound))
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(
    obj_func: Callable,
    x,
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
):
    """A step ``t`` along ``d`` satisfying the strong Wolfe conditions

        f(x + t d) <= f(x) + c1 t (g . d)           (sufficient decrease)
        |g(x + t d) . d| <= c2 |g . d|              (strong curvature)

    PyTorch's ``_strong_wolfe`` step for step. ``obj_func(x, t, d) -> (f_new, g_new)``
    evaluates the function and gradient at ``x + t d``; ``f``, ``g``, ``gtd = g . d`` are their
    values at ``t = 0`` and ``t`` the first trial step. Phase 1 (bracketing) moves right
    (``t`` up to 10x, by cubic extrapolation) until an interval holds a Wolfe point; phase 2
    (zoom) shrinks it by cubic interpolation, moving a trial that lands within 10% of an end
    back to 10% when progress stalls. At most ``max_ls`` evaluations; it stops early when the
    interval is shorter than ``tolerance_change / max|d|``.

    Returns ``(f_new, g_new, t, evaluations)``: the best point found (the Wolfe point if found).
    """
    d_norm = np.abs(d).max()
    g = np.array(g, copy=True)
    gtd = float(gtd)
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = float(np.dot(g_new, d))

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: a step between 1.01 t - 0.01 t_prev and 10 t
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(np.dot(g_new, d))
        ls_iter += 1

    if ls_iter == max_ls:  # no bracket in max_ls tries: the last point and the start
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: refine the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]
        )
        # A trial within 10% of an end of the bracket makes little progress: the second time
        # in a row (or when it is at/outside an end), move it to 10% from the nearer end.
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(np.dot(g_new, d))
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # not a sufficient decrease, or not below the low end: t is the new high end
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # strong Wolfe conditions hold
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the low end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            # t is the new low end
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals
