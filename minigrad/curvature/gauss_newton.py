"""The generalised Gauss-Newton matrix and the empirical Fisher: ``ggn_vector_product``,
``gauss_newton_matrix``, ``empirical_fisher``.

A loss that is a function of a network's outputs, ``L(w) = l(z(w))``, has the Hessian

    H = J^T H_l J + sum_a (dl/dz_a) d^2 z_a/dw^2

with ``J = dz/dw`` (``m x n``) and ``H_l = d^2 l/dz^2`` (``m x m``) the loss's own Hessian in the
outputs. The generalised Gauss-Newton matrix (GGN) keeps the first term, ``G = J^T H_l J``: it
drops the network's own curvature, which vanishes where the residuals ``dl/dz`` do (a perfect
fit) and for a linear model. For a loss convex in the outputs (mean-squared error, softmax
cross-entropy, every negative log-likelihood of an exponential family in its natural
parameters) ``H_l`` is positive semi-definite, and so is ``G``, even where ``H`` is not: the
curvature model that Gauss-Newton, K-FAC and natural-gradient methods trust. For those losses it
is also the Fisher information of the model's predictive distribution (Martens 2020).

``G v`` is computed exactly, never by building ``J``: one forward-mode run of the network gives
``J v``; one Hessian-vector product of ``l`` at ``z`` (forward-over-reverse on the small loss
alone) gives ``H_l (J v)``; one backward pass of the network gives ``J^T H_l J v``. A batch of
``k`` vectors takes one of each (``jacobians.NetworkOperator``).

The *empirical* Fisher ``(1/N) sum_i g_i g_i^T``, from the gradients ``g_i`` of the examples'
own losses, is a different matrix (it uses the observed labels, not the model's): it equals the
GGN of a negative log-likelihood only at a perfect model, and is a poor curvature model away
from it (Kunstner, Balles & Hennig 2019). It is here because optimisers (Adam's second moment
is its diagonal, over a mini-batch) and diagnostics (gradient noise) use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..arguments import identity_rows
from ..hessians import DEFAULT_MAX_MEMORY, hvp
from ..tensor import Tensor
from .jacobians import NetworkOperator, per_sample_jacobian
from .loss_operator import check

__all__ = ["GaussNewtonOperator", "empirical_fisher", "gauss_newton_matrix", "ggn_vector_product"]


class GaussNewtonOperator:
    """``G = J^T H_l J`` at the parameters' current values, as products on flat float64 vectors.

    ``n``, ``shapes``, ``split(v)`` and ``form`` as ``LossOperator``; ``products``: GGN-vector
    products spent so far; ``ggn_vector_products(V)`` (also ``G(V)``): ``(k, n)`` -> ``(k, n)``;
    ``factors()``: ``J`` (``(m, n)``) and ``H_l J`` (``(m, n)``), from which ``G`` and its
    diagonal are exact. ``network``: the ``NetworkOperator`` of the outputs.
    """

    def __init__(
        self,
        fname: str,
        outputs: Callable,
        loss_of_outputs: Callable,
        params: Sequence,
        max_memory: int = DEFAULT_MAX_MEMORY,
    ):
        self.fname = fname
        self.network = NetworkOperator(fname, outputs, params, max_memory=max_memory)
        self.n, self.shapes, self.form = self.network.n, self.network.shapes, self.network.form
        self.split = self.network.split
        self.products = 0
        check(
            callable(loss_of_outputs),
            f"{fname}: loss_of_outputs must be a function of the outputs "
            f"(lambda out: F.cross_entropy(out, y)), got a {type(loss_of_outputs).__name__}",
        )
        self.loss_of_outputs = loss_of_outputs
        self.z = Tensor(self.network.value.astype(np.float64))
        self._check_loss()

    def _check_loss(self) -> None:
        """The loss of the outputs must be a scalar computed from them (else ``G`` reads 0)."""
        z = Tensor(self.z.data, requires_grad=True)
        loss = self.loss_of_outputs(z)
        check(
            isinstance(loss, Tensor) and loss.numel() == 1,
            f"{self.fname}: loss_of_outputs must return a scalar Tensor, it returned "
            + (f"shape {loss.shape}" if isinstance(loss, Tensor) else type(loss).__name__)
            + "; reduce it (reduction='mean' or 'sum')",
        )
        check(
            loss.requires_grad,
            f"{self.fname}: loss_of_outputs does not depend on the outputs it is given; compute "
            f"the loss from its argument (lambda out: F.cross_entropy(out, y)), not from the "
            f"model's outputs computed elsewhere",
        )

    def __call__(self, V) -> np.ndarray:
        return self.ggn_vector_products(V)

    def loss_hessian_products(self, U: np.ndarray) -> np.ndarray:
        """``H_l u`` for each ``u`` in ``U`` (``(k, *out_shape)``), at the outputs, float64."""
        products = hvp(self.loss_of_outputs, (self.z,), (Tensor(U),))
        return np.asarray(products.numpy(), dtype=np.float64).reshape(U.shape)

    def ggn_vector_products(self, V) -> np.ndarray:
        given = np.asarray(V, dtype=np.float64)
        check(
            given.ndim in (1, 2) and given.shape[-1] == self.n,
            f"{self.fname}: v must have shape ({self.n},) or (k, {self.n}) (flat over the "
            f"parameters, in order), got {given.shape}",
        )
        V = np.atleast_2d(given)
        self.products += len(V)
        if len(V) == 0:
            return np.zeros((0, self.n))
        return self.network.vjp(self.loss_hessian_products(self.network.jvp(V)))

    def factors(self, chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(J, H_l J)``, both ``(m, n)``: ``J`` by ``NetworkOperator.jacobian``, and ``H_l``
        applied to the columns of ``J`` (``n`` loss-Hessian products on the outputs alone)."""
        J = self.network.jacobian(chunk_size)
        columns = J.T.reshape(self.n, *self.network.out_shape)
        # NOTE: a loss's tape holds a few copies of the outputs; each tangent adds ~3 of each.
        chunk = max(1, min(self.n, self.network.max_memory // (24 * 8 * self.network.m + 1)))
        HJ = np.concatenate(
            [
                self.loss_hessian_products(columns[i : i + chunk]).reshape(-1, self.network.m)
                for i in range(0, self.n, chunk)
            ]
        ).T
        return J, HJ


def ggn_vector_product(
    outputs: Callable, loss_of_outputs: Callable, params: Sequence, v
) -> np.ndarray:
    """``G v = J^T H_l J v``: the generalised Gauss-Newton matrix of ``l(z(params))`` times
    ``v``, exactly, without forming ``G`` (see the module docstring).

    ``outputs``: the network's outputs ``z`` (a Tensor of any shape), as a function of the list
    of parameters (``lambda ps: nn.functional_call(model, ps, x)``) or as a closure over the
    model (``lambda: model(x)``, with ``params=list(model.parameters())``). ``loss_of_outputs``:
    ``z -> scalar`` (``lambda out: F.cross_entropy(out, y)``). ``v``: ``(n,)``, flat over the
    parameters in order (the layout of ``mg.hessian(..., flat=True)``), or ``(k, n)`` for ``k``
    vectors at once; the result has ``v``'s shape, float64.

    Cost: one recorded forward pass, one forward-mode pass with ``k`` tangents, ``k``
    Hessian-vector products of the loss on the outputs (cheap), and one backward pass with ``k``
    tangents: for ``k = 1``, about an HVP's cost.

    >>> import minigrad as mg
    >>> from minigrad.curvature import ggn_vector_product
    >>> x = mg.tensor([[1.0, 2.0]])
    >>> w = mg.tensor([[0.5], [-1.0]])
    >>> ggn_vector_product(lambda ps: x @ ps[0], lambda z: (z**2).sum(), [w], [1.0, 0.0])
    array([2., 4.])
    """
    G = GaussNewtonOperator("ggn_vector_product", outputs, loss_of_outputs, params)
    v = np.asarray(v.numpy() if isinstance(v, Tensor) else v, dtype=np.float64)
    return G(v).reshape(v.shape)


def _check_square_fits(fname: str, n: int, max_memory: int, advice: str) -> None:
    check(
        n * n * 8 <= max_memory,
        f"{fname}: {n} parameters give a {n} x {n} matrix of {n * n * 8 / 2**20:.3g} MiB, more "
        f"than max_memory={max_memory} bytes; raise max_memory, or {advice}",
    )


def gauss_newton_matrix(
    outputs: Callable,
    loss_of_outputs: Callable,
    params: Sequence,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> np.ndarray:
    """The generalised Gauss-Newton matrix ``G = J^T H_l J`` (``(n, n)``, float64, symmetric)
    for small models; arguments as ``ggn_vector_product``.

    With no more outputs than parameters (``m <= n``), built from ``J`` (``m x n``, one backward
    pass per chunk of the outputs) and ``H_l J`` (``n`` loss-Hessian products on the outputs) as
    ``(H_l J)^T J``; with more (a large batch), from GGN-vector products on the rows of the
    identity, a chunk at a time, without ``J`` (measured: 1,000 digits through a 2,410-parameter
    MLP, ``m = 10,000``: 1.8 s against 6.7 s). Refused (a ``CurvatureError``) when ``G`` or
    ``J`` would need more than ``max_memory`` bytes (1 GiB): use ``ggn_vector_product``.
    """
    G = GaussNewtonOperator("gauss_newton_matrix", outputs, loss_of_outputs, params, max_memory)
    _check_square_fits("gauss_newton_matrix", G.n, max_memory, "use ggn_vector_product")
    if G.network.m > G.n:
        chunk = 64
        matrix = np.concatenate([G(identity_rows(a, min(a + chunk, G.n), G.n))
                                 for a in range(0, G.n, chunk)])  # fmt: skip
    else:
        J, HJ = G.factors()
        matrix = HJ.T @ J
    matrix += matrix.T  # exactly symmetric: rounding in the two products is not
    matrix *= 0.5
    return matrix


def empirical_fisher(
    per_sample_losses: Callable,
    params: Sequence,
    max_memory: int = DEFAULT_MAX_MEMORY,
    *,
    examples=None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """The empirical Fisher ``F = (1/N) sum_i g_i g_i^T`` (``(n, n)``, float64), with ``g_i``
    the gradient of example ``i``'s loss (``per_sample_gradients``).

    Normalisation: the *mean* over the ``N`` examples, so that ``F`` belongs to the mean loss
    ``(1/N) sum_i l_i`` (PyTorch's default reduction) as its Hessian does; multiply by ``N`` for
    the sum (BackPACK's convention for a sum loss). Not the GGN: see the module docstring.

    The fast way: ``examples=(inputs, targets)`` and ``per_sample_losses`` the loss of one
    example, ``lambda x, y: F.cross_entropy(model(x.unsqueeze(0)), y.unsqueeze(0))`` with
    ``params=list(model.parameters())`` (or a function ``(params, x, y)``): the ``g_i`` by
    ``mg.vmap``, ``chunk_size`` examples at a time. Without ``examples``, ``per_sample_losses``
    is the vector ``(N,)`` of the examples' losses (``reduction="none"``), as a function of the
    list of parameters or a closure, and the ``g_i`` take the work of ``N`` backward passes.
    Refused when ``F`` would need more than ``max_memory`` bytes (``fisher_diagonal`` gives its
    diagonal for any size).
    """
    rows = per_sample_jacobian("empirical_fisher", per_sample_losses, params, examples)
    _check_square_fits("empirical_fisher", rows.n, max_memory, "use fisher_diagonal")
    fisher = np.zeros((rows.n, rows.n))
    for _, _, G in rows.jacobian_rows(chunk_size):
        fisher += G.T @ G
    return fisher / rows.m
