"""A network's outputs as products with its Jacobian ``J`` (``NetworkOperator``), and the
per-example gradients of a vector of losses (``per_sample_gradients``).

``J`` is the Jacobian of the outputs ``z`` (``m`` elements in all) in the flattened parameters
(``n``): ``m x n``. Both products are exact, and each takes a batch of ``k`` vectors in one pass:

- ``J @ v`` (``jvp``): forward mode. Each parameter gets a tangent (its slice of the ``k``
  directions) and the network runs once, pushing them; the outputs' tangent is ``J V``.
- ``J^T @ u`` (``vjp``): reverse mode with a batch of cotangents. The network's outputs are
  recorded once, without tangents; the backward pass starts from a cotangent whose *tangent*
  holds the ``k`` vectors ``u``, and runs in forward mode. Every VJP rule is linear in its
  cotangent and written in Tensor ops, and no saved value carries a tangent, so the tangent of
  each parameter's gradient is exactly ``J^T u`` for each ``u``: ``k`` VJPs from one backward
  pass (what ``vmap`` of a VJP would give), where ``mg.jacrev`` runs one pass per vector.

The outputs come in the two forms of ``loss_operator``'s loss: a function of the list of
parameters (evaluated at float64 copies of them) or a closure with no arguments over the
model's own parameters (run in the model's dtype). Every run of the network starts from the
same state of minigrad's random generator, so dropout draws the same masks in each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import autograd
from ..arguments import FlatLayout, identity_rows
from ..autodiff import enable_grad, forward_mode, no_grad
from ..hessians import DEFAULT_MAX_MEMORY, gradient_tangents, rows_per_pass, tangent_bytes_per_row
from ..random import default_generator
from ..tensor import Tensor
from .loss_operator import check, given_form

__all__ = ["NetworkOperator", "per_sample_gradients", "per_sample_network"]


class NetworkOperator:
    """The outputs ``z`` of a network at the parameters' current values, and products with
    their Jacobian ``J`` (``m x n``) on flat float64 vectors.

    ``n``, ``shapes``, ``split(v)`` as ``LossOperator``; ``form``; ``value``: ``z`` (an array,
    shape ``out_shape``, ``m`` elements); ``jvp(V)``: ``(k, n)`` -> ``(k, *out_shape)``;
    ``vjp(U)``: ``(k, *out_shape)`` -> ``(k, n)``; ``jacobian()``: ``J`` itself. ``what``,
    ``example`` and ``closure`` name the function in errors (see ``given_form``).
    """

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
            values = [np.asarray(p.data if isinstance(p, Tensor) else p) for p in params]
            for i, value in enumerate(values):
                check(
                    value.dtype.kind in "fiub",
                    f"{fname}: params[{i}] has dtype {value.dtype}; expected real numbers",
                )
            self.params = [Tensor(v.astype(np.float64), requires_grad=True) for v in values]
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

    def vjp(self, U) -> np.ndarray:
        """``J^T @ u`` for each ``u`` in ``U`` (``(k, *out_shape)``): ``(k, n)``, float64; one
        backward pass over the recorded outputs (see the module docstring)."""
        z = self.recorded
        cotangent = Tensor(np.zeros(z.shape, z.dtype))
        cotangent.tangent = np.asarray(U).astype(z.dtype, copy=False)

        def gradients():
            return autograd.grad(z, self.params, grad_output=cotangent, retain_graph=True)

        blocks = gradient_tangents(gradients, self.params, len(U))
        return self.layout.join(blocks, lead=(len(U),)).astype(np.float64, copy=False)

    def jacobian(self, chunk_size: int | None = None) -> np.ndarray:
        """``J`` (``(m, n)``, float64): ``vjp`` of the rows of the ``m x m`` identity
        (``jacobian_rows``); refused when it needs more than ``max_memory``."""
        check(
            self.m * self.n * 8 <= self.max_memory,
            f"{self.fname}: the Jacobian of the {self.m} outputs in the {self.n} parameters needs "
            f"{self.m * self.n * 8 / 2**20:.3g} MiB, more than max_memory={self.max_memory}; "
            f"use a smaller batch, or the products (method='hutchinson')",
        )
        J = np.empty((self.m, self.n))
        for start, stop, rows in self.jacobian_rows(chunk_size):
            J[start:stop] = rows
        return J

    def jacobian_rows(self, chunk_size: int | None = None):
        """``(start, stop, J[start:stop])`` for each chunk of rows of ``J``, one backward pass
        each, as many rows per pass as fit in memory (or ``chunk_size``)."""
        chunk = self.rows_per_pass(self.m, chunk_size)
        for start in range(0, self.m, chunk):
            stop = min(start + chunk, self.m)
            U = identity_rows(start, stop, self.m).reshape(stop - start, *self.out_shape)
            yield start, stop, self.vjp(U)


def per_sample_gradients(
    per_sample_losses: Callable, params: Sequence, chunk_size: int | None = None
) -> np.ndarray:
    """The gradient of each example's loss: ``G`` of shape ``(N, n)``, row ``i`` the flat
    gradient ``g_i = d l_i / d params`` (float64).

    ``per_sample_losses`` returns the vector ``(N,)`` of the examples' losses (a loss with
    ``reduction="none"``), as a function of the list of parameters or as a closure over the
    model (``lambda: F.cross_entropy(model(x), y, reduction="none")`` with
    ``params=list(model.parameters())``). ``G`` is that vector's Jacobian, from one recorded
    forward pass and one backward pass per ``chunk_size`` examples (by default as many as fit in
    1 GiB of tangents); exact, as ``mg.jacrev`` of the same function, which runs one backward
    pass per example.
    """
    return per_sample_network("per_sample_gradients", per_sample_losses, params).jacobian(
        chunk_size
    )


def per_sample_network(fname: str, per_sample_losses: Callable, params: Sequence):
    """``per_sample_losses`` as a ``NetworkOperator``, checked to return a vector ``(N,)``."""
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
        f"returned shape {net.out_shape}; use reduction='none' (and .reshape(-1))",
    )
    return net
