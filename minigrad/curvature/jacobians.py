"""A network's outputs as products with its Jacobian ``J`` (``NetworkOperator``), and the
per-example gradients ``G`` (``per_sample_gradients``), both as ``JacobianRows``: a matrix
computed a chunk of rows at a time.

``J`` is the Jacobian of the outputs ``z`` (``m`` elements in all) in the flattened parameters
(``n``): ``m x n``. Both products are exact, and each takes a batch of ``k`` vectors in one pass:

- ``J @ v`` (``jvp``): forward mode. Each parameter gets a tangent (its slice of the ``k``
  directions) and the network runs once, pushing them; the outputs' tangent is ``J V``.
- ``J^T @ u`` (``vjp``): reverse mode with a batch of cotangents. The network's outputs are
  recorded once, without tangents; the backward pass starts from a cotangent whose *tangent*
  holds the ``k`` vectors ``u``, and runs in forward mode. Every VJP rule is linear in its
  cotangent and written in Tensor ops, and no saved value carries a tangent, so the tangent of
  each parameter's gradient is exactly ``J^T u`` for each ``u``: ``k`` VJPs from one backward
  pass, where ``mg.jacrev`` runs one pass per vector.

The outputs come in the two forms of ``loss_operator``'s loss: a function of the list of
parameters (evaluated at float64 copies of them) or a closure with no arguments over the
model's own parameters (run in the model's dtype). Every run of the network starts from the
same state of minigrad's random generator, so dropout draws the same masks in each.

The per-example gradients come two ways. Given the loss of ONE example and the examples
(``ExampleGradients``), ``mg.vmap`` of its backward pass computes every example's gradient in
one batched pass, each layer's weight gradient one batched matrix product: the fast way. Given
only the vector of the examples' losses, ``G`` is its Jacobian ``J`` (``vjp`` of the identity's
rows), whose backward pass pushes one tangent per example through every VJP rule: the work of
``N`` backward passes, but it needs no function of one example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import autograd
from ..arguments import FlatLayout, identity_rows, required_positional
from ..autodiff import enable_grad, forward_mode, no_grad
from ..batching import BatchingError
from ..hessians import DEFAULT_MAX_MEMORY, gradient_tangents, rows_per_pass, tangent_bytes_per_row
from ..random import default_generator
from ..tensor import Tensor
from ..vectorize import vmap
from .loss_operator import check, check_closure_params, given_form

__all__ = [
    "ExampleGradients",
    "JacobianRows",
    "NetworkOperator",
    "float64_leaves",
    "per_sample_gradients",
    "per_sample_jacobian",
]


class JacobianRows:
    """An ``m x n`` Jacobian computed a chunk of rows at a time. A subclass gives ``fname``,
    ``m``, ``n``, ``layout`` (a ``FlatLayout`` of the parameters), ``max_memory``,
    ``rows_per_pass(rows, chunk_size)``, ``blocks(start, stop)`` (rows ``start:stop`` per
    parameter, ``(k, *shape)`` each), and for the error when ``J`` does not fit, what its rows
    are (``rows_are``) and what to do instead (``too_large``)."""

    rows_are = "rows"
    too_large = "use a smaller batch"

    def chunks(self, chunk_size: int | None = None):
        """``(start, stop)`` of each chunk of rows: as many per pass as fit in ``max_memory``
        (or ``chunk_size``)."""
        chunk = self.rows_per_pass(self.m, chunk_size)
        for start in range(0, self.m, chunk):
            yield start, min(start + chunk, self.m)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of ``J``, flat over the parameters: ``(k, n)``, float64."""
        k = stop - start
        return self.layout.join(self.blocks(start, stop), lead=(k,), out=np.empty((k, self.n)))

    def jacobian_rows(self, chunk_size: int | None = None):
        """``(start, stop, J[start:stop])`` for each chunk of rows of ``J``."""
        for start, stop in self.chunks(chunk_size):
            yield start, stop, self.rows(start, stop)

    def jacobian(self, chunk_size: int | None = None) -> np.ndarray:
        """``J`` itself (``(m, n)``, float64), from its chunks of rows; refused when it needs
        more than ``max_memory``."""
        check(
            self.m * self.n * 8 <= self.max_memory,
            f"{self.fname}: the {self.m} x {self.n} Jacobian ({self.m} {self.rows_are}, {self.n} "
            f"parameters) needs {self.m * self.n * 8 / 2**20:.3g} MiB, more than "
            f"max_memory={self.max_memory}; {self.too_large}",
        )
        J = np.empty((self.m, self.n))
        for start, stop in self.chunks(chunk_size):
            self.layout.join(self.blocks(start, stop), lead=(stop - start,), out=J[start:stop])
        return J


class NetworkOperator(JacobianRows):
    """The outputs ``z`` of a network at the parameters' current values, and products with
    their Jacobian ``J`` (``m x n``) on flat float64 vectors.

    ``n``, ``shapes``, ``split(v)`` as ``LossOperator``; ``form``; ``value``: ``z`` (an array,
    shape ``out_shape``, ``m`` elements); ``jvp(V)``: ``(k, n)`` -> ``(k, *out_shape)``;
    ``vjp(U)``: ``(k, *out_shape)`` -> ``(k, n)``; ``jacobian()``: ``J`` itself, and
    ``jacobian_rows()`` its chunks of rows, one backward pass each (``JacobianRows``). ``what``,
    ``example`` and ``closure`` name the function in errors (see ``given_form``).
    """

    rows_are = "outputs"
    too_large = "use a smaller batch, or the products (method='hutchinson')"

    def __init__(
        self,
        fname: str,
        outputs: Callable,
        params: Sequence,
        what: str = "outputs",
        example: str = "outputs(params) -> Tensor",
        closure: str = "lambda: model(x)",
        max_memory: int = DEFAULT_MAX_MEMORY,
    ):
        self.fname, self.what, self.max_memory = fname, what, max_memory
        self.form = given_form(fname, outputs, params, what, example, closure)
        if self.form == "function":
            self.params = float64_leaves(fname, params)
            self.run = lambda: outputs(self.params)
        else:
            self.params, self.run = list(params), outputs
        self.layout = FlatLayout([p.shape for p in self.params])
        self.shapes, self.n = list(self.layout.shapes), self.layout.n
        self.random_state = default_generator.rng.bit_generator.state
        self.recorded, self.tape_size = self._record()
        self.value = self.recorded.numpy()
        self.out_shape, self.m = self.recorded.shape, self.recorded.numel()

    def split(self, vector) -> list[np.ndarray]:
        return self.layout.split(vector)

    def _record(self) -> tuple[Tensor, int]:
        """One recorded run, kept for every ``vjp`` (its graph is retained), and its tape size."""
        with enable_grad():
            z = self.run()
        check(
            isinstance(z, Tensor),
            f"{self.fname}: {self.what} must return a Tensor, it returned {type(z).__name__}",
        )
        tape = autograd.toposort(z) if z.requires_grad else []
        reached = {id(t) for t in tape}
        check(
            z.dtype.kind == "f" and any(id(p) in reached for p in self.params),
            f"{self.fname}: {self.what} ({z.dtype}, shape {z.shape}) does not depend on the "
            f"parameters; "
            + (
                "compute it from the Tensors the function is given (a functional forward pass, "
                "nn.functional_call), or pass a closure with no arguments (lambda: model(x)) "
                "with params=list(model.parameters())"
                if self.form == "function"
                else "the closure must use the Tensors in params (list(model.parameters()))"
            ),
        )
        return z, sum(t.numel() for t in tape)

    def rows_per_pass(self, rows: int, chunk_size: int | None = None) -> int:
        """How many vectors one pass can take within ``max_memory`` (``hessians``' model)."""
        per_row = tangent_bytes_per_row(self.tape_size, max(self.n, self.m), 8)
        return min(rows, rows_per_pass(self.fname, rows, 0, per_row, chunk_size, self.max_memory))

    def jvp(self, V) -> np.ndarray:
        """``J @ v`` for each row of ``V`` (``(k, n)``): ``(k, *out_shape)``, float64."""
        V = np.asarray(V, dtype=np.float64)
        default_generator.rng.bit_generator.state = self.random_state
        try:
            for p, t in zip(self.params, self.layout.split(V)):
                p.tangent = t.astype(p.dtype, copy=False)
            with no_grad(), forward_mode():
                z = self.run()
        finally:
            for p in self.params:
                p.tangent = None
        JV = np.zeros((len(V), *z.shape)) if z.tangent is None else z.tangent
        z.tangent = None
        return np.asarray(JV, dtype=np.float64)

    def vjp_blocks(self, U) -> list[np.ndarray]:
        """``J^T @ u`` for each ``u`` in ``U`` (``(k, *out_shape)``), per parameter: ``(k,
        *shape)`` each; one backward pass over the recorded outputs (see the module docstring)."""
        z = self.recorded
        cotangent = Tensor(np.zeros(z.shape, z.dtype))
        cotangent.tangent = np.asarray(U).astype(z.dtype, copy=False)

        def gradients():
            return autograd.grad(z, self.params, grad_output=cotangent, retain_graph=True)

        return [np.asarray(b) for b in gradient_tangents(gradients, self.params, len(U))]

    def vjp(self, U) -> np.ndarray:
        """``J^T @ u`` for each ``u`` in ``U`` (``(k, *out_shape)``): ``(k, n)``, float64."""
        return self.layout.join(self.vjp_blocks(U), lead=(len(U),), out=np.empty((len(U), self.n)))

    def blocks(self, start: int, stop: int) -> list[np.ndarray]:
        """Rows ``start:stop`` of ``J`` per parameter: ``vjp`` of the identity's rows."""
        U = identity_rows(start, stop, self.m).reshape(stop - start, *self.out_shape)
        return self.vjp_blocks(U)


class ExampleGradients(JacobianRows):
    """The gradients of a loss of one example over a batch of examples: ``G`` (``N x n``), row
    ``i`` the flat gradient of example ``i``'s loss (float64), by ``mg.vmap`` of a backward
    pass: one batched computation per chunk of examples.

    ``loss_of_one``: a closure over the model's own ``params`` called with one example's
    tensors, ``loss_of_one(*example)`` (a function of ``*args`` counts as one), or a function
    ``loss_of_one(params, *example)`` of the list of parameters and them (evaluated at float64
    copies of the parameters). ``examples``: tensors (or a tensor) with the ``N`` examples on
    their first axis. The interface of ``JacobianRows``; ``m`` is ``N``.
    """

    rows_are = "examples"
    too_large = "use a smaller batch (fisher_diagonal never holds all the rows)"

    def __init__(self, fname: str, loss_of_one: Callable, params: Sequence, examples,
                 max_memory: int = DEFAULT_MAX_MEMORY):  # fmt: skip
        self.fname, self.max_memory = fname, max_memory
        self.examples = _checked_examples(fname, examples)
        self.m = self.examples[0].shape[0]
        if _example_form(fname, loss_of_one, params, len(self.examples)) == "function":
            self.params = float64_leaves(fname, params)
            self.loss_of_one = lambda *example: loss_of_one(self.params, *example)
        else:
            self.params, self.loss_of_one = list(params), loss_of_one
        self.layout = FlatLayout([p.shape for p in self.params])
        self.shapes, self.n = list(self.layout.shapes), self.layout.n

    def gradients_of_one(self, *example) -> tuple:
        """The gradient of one example's loss in each parameter (``vmap`` batches it)."""
        with enable_grad():
            loss = self.loss_of_one(*example)
        check(
            isinstance(loss, Tensor) and loss.numel() == 1,
            f"{self.fname}: the loss of one example must be a scalar Tensor, it is "
            + (f"of shape {loss.shape}" if isinstance(loss, Tensor) else type(loss).__name__)
            + "; give the example to the model as a batch of one (x.unsqueeze(0)) and reduce",
        )
        check(
            loss.requires_grad,
            f"{self.fname}: the loss of one example does not depend on the parameters; compute "
            f"it from the model whose parameters are params (a closure), or from the list of "
            f"parameters it is given (a function)",
        )
        return autograd.grad(loss, self.params)

    def rows_per_pass(self, rows: int, chunk_size: int | None = None) -> int:
        """Examples per batched pass within ``max_memory``: each holds its gradient (``n``
        numbers), its cotangents (about as many) and its row of ``G``."""
        return rows_per_pass(self.fname, rows, 0, 3 * 8 * self.n, chunk_size, self.max_memory)

    def blocks(self, start: int, stop: int) -> list[np.ndarray]:
        """Rows ``start:stop`` of ``G`` per parameter, ``(k, *shape)`` each (the parameters'
        dtype): one ``vmap`` over those examples."""
        part = [e if (start, stop) == (0, self.m) else e[start:stop] for e in self.examples]
        try:
            grads = vmap(self.gradients_of_one)(*part)
        except BatchingError as error:
            raise BatchingError(
                f"{self.fname}: the loss of one example cannot be batched by mg.vmap: {error}. A "
                f"per-example loss must not mix the examples (BatchNorm) nor draw random numbers "
                f"(Dropout): call model.eval() first"
            ) from error
        return [g.data for g in grads]


def float64_leaves(fname: str, params: Sequence) -> list[Tensor]:
    """Float64 copies of ``params`` (Tensors or arrays of real numbers) that require grad: where
    a function of the parameters is evaluated."""
    values = [np.asarray(p.data if isinstance(p, Tensor) else p) for p in params]
    for i, value in enumerate(values):
        check(
            value.dtype.kind in "fiub",
            f"{fname}: params[{i}] has dtype {value.dtype}; expected real numbers",
        )
    return [Tensor(v.astype(np.float64), requires_grad=True) for v in values]


def _checked_examples(fname: str, examples) -> list[Tensor]:
    """``examples`` as a list of tensors sharing the size of their first axis (one example per
    index), or a ``CurvatureError`` naming ``fname`` and their shapes."""
    given = [examples] if isinstance(examples, Tensor | np.ndarray) else examples
    check(
        isinstance(given, list | tuple) and len(given) > 0,
        f"{fname}: examples must be a tensor or a tuple of tensors with the examples on their "
        f"first axis (examples=(inputs, targets)), got {type(examples).__name__}",
    )
    tensors = [e if isinstance(e, Tensor) else Tensor(np.asarray(e)) for e in given]
    shapes = [tuple(e.shape) for e in tensors]
    check(
        all(len(shape) > 0 for shape in shapes) and len({shape[0] for shape in shapes}) == 1
        and shapes[0][0] > 0,
        f"{fname}: the examples must have the same number of examples (> 0) along their first "
        f"axis, got shapes {shapes}; pass the inputs and targets of the same batch",
    )  # fmt: skip
    return tensors


def _example_form(fname: str, loss_of_one, params, count: int) -> str:
    """``"closure"`` (``loss_of_one(*example)``, over the model's own ``params``) or
    ``"function"`` (``loss_of_one(params, *example)``), by how many arguments it takes."""
    check(
        isinstance(params, list | tuple) and len(params) > 0,
        f"{fname}: params must be a non-empty list of Tensors (e.g. list(model.parameters())), "
        f"got {type(params).__name__}",
    )
    arity = required_positional(loss_of_one) if callable(loss_of_one) else -1
    check(
        arity in (None, count, count + 1),
        f"{fname}: with examples= ({count} tensors), the loss of one example is a closure over "
        f"the model taking the example's {count} tensors (lambda x, y: "
        f"F.cross_entropy(model(x.unsqueeze(0)), y.unsqueeze(0))) or a function of the list of "
        f"parameters and them (lambda params, x, y: ...); got "
        + (f"a function of {arity} arguments" if arity != -1 else type(loss_of_one).__name__),
    )
    if arity == count + 1:
        return "function"
    check_closure_params(fname, params)
    return "closure"


def per_sample_gradients(
    per_sample_losses: Callable,
    params: Sequence,
    chunk_size: int | None = None,
    *,
    examples=None,
) -> np.ndarray:
    """The gradient of each example's loss: ``G`` of shape ``(N, n)``, row ``i`` the flat
    gradient ``g_i = d l_i / d params`` (float64, the parameters in order).

    The fast way: ``examples=(inputs, targets)`` (tensors, the ``N`` examples on their first
    axis) and ``per_sample_losses`` the loss of ONE example, a closure over the model,
    ``lambda x, y: F.cross_entropy(model(x.unsqueeze(0)), y.unsqueeze(0))`` with
    ``params=list(model.parameters())``, or a function ``(params, x, y) -> scalar`` of the list
    of parameters. The rows are ``mg.vmap(grad)`` of that loss: one batched forward and
    backward pass per ``chunk_size`` examples (by default as many as fit in 1 GiB), as
    ``nn.per_sample_grads`` computes them. The loss of one example must not mix examples
    (BatchNorm in training mode: call ``model.eval()``) nor draw random numbers (dropout).

    Without ``examples``: ``per_sample_losses`` returns the vector ``(N,)`` of the examples'
    losses (``reduction="none"``), as a function of the list of parameters or a closure
    (``lambda: F.cross_entropy(model(x), y, reduction="none")``). ``G`` is that vector's
    Jacobian, from one recorded forward pass and a backward pass carrying one tangent per
    example (``chunk_size`` at a time): about the work of ``N`` backward passes, as
    ``mg.jacrev`` of the same function does. Slower; for a loss that mixes the examples.

    >>> import minigrad as mg
    >>> from minigrad.curvature import per_sample_gradients
    >>> w = mg.tensor([2.0], requires_grad=True)
    >>> x = mg.tensor([1.0, 3.0])
    >>> per_sample_gradients(lambda xi: (w * xi).sum() ** 2, [w], examples=x)  # 2 (w x_i) x_i
    array([[ 4.],
           [36.]])
    """
    source = per_sample_jacobian("per_sample_gradients", per_sample_losses, params, examples)
    return source.jacobian(chunk_size)


def per_sample_jacobian(fname: str, per_sample_losses: Callable, params: Sequence,
                       examples=None) -> JacobianRows:  # fmt: skip
    """The rows ``g_i`` of the examples' gradients: ``ExampleGradients`` of the loss of one
    example with ``examples``, else the Jacobian of ``per_sample_losses`` (a
    ``NetworkOperator``, checked to return a vector ``(N,)``)."""
    if examples is not None:
        return ExampleGradients(fname, per_sample_losses, params, examples)
    net = NetworkOperator(
        fname,
        per_sample_losses,
        params,
        what="per_sample_losses",
        example="per_sample_losses(params) -> (N,) Tensor",
        closure="lambda: F.cross_entropy(model(x), y, reduction='none')",
    )
    check(
        len(net.out_shape) == 1,
        f"{fname}: per_sample_losses must return one loss per example, shape (N,), it "
        f"returned shape {net.out_shape}; use reduction='none' (and .reshape(-1)), or give "
        f"examples= and the loss of one example",
    )
    return net
