"""``loss_operator``: a loss, however it is given, as the operators the curvature tools use.

Users have a loss in one of two forms, and every curvature tool takes both:

- a **function of the parameters**, ``loss_fn(params) -> scalar Tensor``, called with a list
  of Tensors (one per parameter) and computing the loss *from them* (for a Module, a functional
  forward pass, e.g. ``nn.functional_call``); ``params`` gives their current values;
- a **PyTorch-style closure** over a model, ``closure() -> scalar Tensor`` with no arguments
  (``lambda: loss_fn(model(x), y)``), computing the loss from the model's own parameters
  ``params`` (``list(model.parameters())``); it may zero the grads and call ``backward`` itself,
  as the closures of ``LBFGS`` and ``Newton`` do, or not.

Vectors over the parameters are their flattened values concatenated in order (the layout of
``mg.hessian(..., flat=True)``), of length ``n``; ``split`` cuts one back into the parameters'
shapes. A function of the parameters is evaluated in float64 whatever the parameters' dtype;
a closure runs on the model as it is, in its dtype (a float32 model gives float32 products,
returned as float64).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..arguments import FlatLayout, required_positional, scalar_output
from ..autodiff import enable_grad
from ..hessians import hvp, probe
from ..optim.checks import OptimizerError
from ..optim.closure_curvature import closure_hvp
from ..optim.line_search import FlatParams
from ..tensor import Tensor

__all__ = ["CurvatureError", "LossOperator", "given_form", "loss_operator"]


class CurvatureError(OptimizerError):
    """A curvature tool was given something it cannot use (the message says what and how)."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CurvatureError(message)


class LossOperator:
    """The loss at the parameters' current values, as operators on flat float64 vectors.

    ``n``: the number of parameters' elements; ``shapes``; ``form``: ``"function"`` or
    ``"closure"``; ``products``: Hessian-vector products spent so far. ``value_and_grad()``:
    the loss (a float) and its flat gradient; ``hvp(V)``: ``H @ v`` for each row of ``V``
    (``(k, n)``, or ``(n,)``), ``k`` products in one forward-over-reverse pass; ``split(v)``:
    ``v`` in the parameters' shapes."""

    form = ""

    def __init__(self, fname: str, params: Sequence):
        self.fname = fname
        self.layout = FlatLayout([tuple(np.shape(p.data if isinstance(p, Tensor) else p))
                                  for p in params])  # fmt: skip
        self.shapes = list(self.layout.shapes)
        self.n = self.layout.n
        self.products = 0

    def split(self, vector) -> list[np.ndarray]:
        return self.layout.split(vector)

    def __call__(self, V) -> np.ndarray:
        return self.hvp(V)

    def hvp(self, V) -> np.ndarray:
        V = np.atleast_2d(np.asarray(V, dtype=np.float64))
        check(
            V.ndim == 2 and V.shape[1] == self.n,
            f"{self.fname}: directions must have shape (k, {self.n}) or ({self.n},), got {V.shape}",
        )
        self.products += len(V)
        HV = self._products(V)
        check(
            np.isfinite(HV).all(),
            f"{self.fname}: the Hessian-vector products are not finite (NaN or Inf): the loss or "
            f"its gradient is not finite at these parameters (a run that diverged?); check the "
            f"loss first (mg.autograd.detect_anomaly() finds the first NaN)",
        )
        return HV

    def value_and_grad(self) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def _products(self, V: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _OfParams(LossOperator):
    """``loss_fn(list_of_params)``, evaluated at float64 copies of the parameters."""

    form = "function"

    def __init__(self, fname: str, loss_fn: Callable, params: Sequence):
        super().__init__(fname, params)
        values = [np.asarray(p.data if isinstance(p, Tensor) else p) for p in params]
        for i, value in enumerate(values):
            check(
                value.dtype.kind in "fiub",
                f"{fname}: params[{i}] has dtype {value.dtype}; expected real numbers",
            )
        self.primals = tuple(Tensor(v.astype(np.float64)) for v in values)
        self.f = lambda *xs: loss_fn(list(xs))
        self._check_connected()

    def _check_connected(self) -> None:
        """Refuse a loss that ignores its arguments: its Hessian would silently read as zero."""
        leaves, out, tape = probe(self.f, self.primals)
        scalar_output(self.fname, out, function="loss_fn", error=CurvatureError)
        reached = {id(t) for t in tape}
        check(
            any(id(leaf) in reached for leaf in leaves),
            f"{self.fname}: the loss does not depend on the Tensors loss_fn is given; compute it "
            f"from them (a functional forward pass), or pass a closure with no arguments "
            f"(lambda: loss_fn(model(x), y)) with params=list(model.parameters())",
        )

    def value_and_grad(self) -> tuple[float, np.ndarray]:
        leaves = [Tensor(p.data, requires_grad=True) for p in self.primals]
        with enable_grad():
            loss = self.f(*leaves)
            loss.backward()
        grads = [np.zeros(p.shape) if p.grad is None else p.grad.numpy() for p in leaves]
        return float(loss.item()), self.layout.join(grads)

    def _products(self, V: np.ndarray) -> np.ndarray:
        tangents = tuple(Tensor(t) for t in self.layout.split(V))
        out = hvp(self.f, self.primals, tangents)
        blocks = out if isinstance(out, tuple) else (out,)
        return self.layout.join([b.numpy() for b in blocks], lead=(len(V),))


class _Closure(LossOperator):
    """A PyTorch-style closure over the parameters ``params`` themselves."""

    form = "closure"

    def __init__(self, fname: str, closure: Callable, params: Sequence):
        super().__init__(fname, params)
        self.flat = FlatParams(list(params), owner=fname)
        self.closure = closure

    def _run(self, V: np.ndarray):
        with enable_grad():
            for p in self.flat.params:
                p.grad = None
            loss, g, HV = closure_hvp(self._scalar_closure, self.flat, V)
            for p in self.flat.params:
                p.grad = None
        return loss, g, HV

    def _scalar_closure(self):
        loss = self.closure()
        scalar_output(self.fname, loss, function="the closure", error=CurvatureError)
        if all(p.grad is None for p in self.flat.params):  # a closure that does not backward
            loss.backward(create_graph=False)
        return loss

    def value_and_grad(self) -> tuple[float, np.ndarray]:
        loss, g, _ = self._run(np.zeros((1, self.n), self.flat.dtype))
        return float(loss.item()), np.asarray(g, dtype=np.float64)

    def _products(self, V: np.ndarray) -> np.ndarray:
        return np.asarray(self._run(V)[2], dtype=np.float64)


def loss_operator(fname: str, loss, params: Sequence) -> LossOperator:
    """``loss`` (a function of the list of parameters, or a closure with no arguments) at
    ``params`` as a ``LossOperator``; a clear error, naming ``fname``, when it is neither."""
    if given_form(fname, loss, params) == "closure":
        return _Closure(fname, loss, params)
    return _OfParams(fname, loss, params)


def given_form(
    fname: str,
    fn,
    params,
    what: str = "the loss",
    example: str = "loss_fn(params) -> scalar",
    closure: str = "lambda: loss_fn(model(x), y)",
) -> str:
    """Which of the two forms ``fn`` is: ``"function"`` (of one argument, the list of
    parameters) or ``"closure"`` (of none, over the model's own ``params``, which must then be
    Tensors that require grad); a ``CurvatureError`` naming ``fname``, ``what`` was given and
    both forms (``example``, ``closure``) otherwise. Shared by every tool that takes a function
    of the parameters: the loss here, a network's outputs in ``jacobians``."""
    check(
        isinstance(params, list | tuple) and len(params) > 0,
        f"{fname}: params must be a non-empty list of Tensors (e.g. list(model.parameters())), "
        f"got {type(params).__name__}",
    )
    name = example.split("(")[0]
    check(
        callable(fn),
        f"{fname}: {what} must be a function of the parameters ({name}(params)) or a closure "
        f"({closure}), got a {type(fn).__name__}",
    )
    arity = required_positional(fn)
    if arity == 0:
        check_closure_params(fname, params)
        return "closure"
    check(
        arity in (1, None),
        f"{fname}: {what} takes {arity} arguments; give a function of ONE argument, the list "
        f"of parameters ({example}), or a closure of none ({closure}). For f(*params), as "
        f"mg.hessian takes, pass lambda ps: f(*ps)",
    )
    return "function"


def check_closure_params(fname: str, params) -> None:
    """A closure differentiates the Tensors it uses: ``params`` must be those, requiring grad."""
    for i, p in enumerate(params):
        check(
            isinstance(p, Tensor) and p.requires_grad,
            f"{fname}: with a closure, params must be the Tensors the closure uses, which "
            f"require grad (list(model.parameters())); params[{i}] is "
            f"{type(p).__name__ if not isinstance(p, Tensor) else 'a Tensor without grad'}",
        )
