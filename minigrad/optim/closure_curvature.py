"""The curvature of a PyTorch-style closure, for ``Newton`` and ``NewtonCG``: Hessian-vector
products (``closure_hvp``) and the Hessian (``closure_hessian``).

How the curvature is computed (exactly, not by differences). ``mg.hessian`` and ``mg.hvp`` take
a function of their inputs that builds the loss from those inputs; a PyTorch-style closure
builds it from the parameter objects the model holds and calls ``backward`` itself. So
``closure_hvp`` does what they do, forward-over-reverse (``hessians.gradient_tangents``), with
the parameters themselves as the inputs: each parameter gets a tangent (a batch of ``B``
directions ``V``, its slice of each), and the closure runs in forward mode. The loss's forward
pass pushes the tangents; so does its ``backward``, because every VJP is made of Tensor ops. The
gradient that lands in ``p.grad`` then carries the tangent ``d/de grad f(x + e v) = H v`` for
each direction: ``B`` Hessian-vector products from one pass, and with ``V`` the rows of the
identity, rows of the Hessian (``closure_hessian``, a chunk of rows per run, as ``mg.hessian``).
The tangents are removed afterwards; the parameters' values never change.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..arguments import FlatLayout
from ..hessians import gradient_tangents, hessian_rows
from ..tensor import Tensor
from .checks import check
from .line_search import FlatParams


def closure_hvp(closure: Callable, params, tangents) -> tuple:
    """Loss, gradient and Hessian-vector products of a PyTorch-style closure.

    ``params`` is a list of parameters (or a ``FlatParams``) with ``n`` elements in all and
    ``tangents`` a ``(B, n)`` array of directions ``v_1 .. v_B`` over the flattened parameters.
    Returns ``(loss, g, HV)``: the closure's loss (a Tensor), the flat gradient ``g`` (``(n,)``)
    and ``HV`` (``(B, n)``) with rows ``H v_b``, where ``H`` is the Hessian of the loss in the
    flattened parameters. One run of the closure, in forward mode (see the module docstring).
    """
    flat = params if isinstance(params, FlatParams) else FlatParams(params, owner="closure_hvp")
    tangents = np.asarray(tangents, dtype=flat.dtype)
    check(
        tangents.ndim == 2 and tangents.shape[1] == flat.n,
        f"closure_hvp: tangents must have shape (B, {flat.n}), got {tangents.shape}",
    )
    loss = None

    def gradients():
        nonlocal loss
        loss = closure()
        flat.check_grads()  # what the closure left in .grad must fit, before it is flattened
        return [p.grad for p in flat.params]

    try:
        for p, t in zip(flat.params, flat.split(tangents)):
            p.tangent = t.astype(p.dtype, copy=False)
        products = gradient_tangents(gradients, flat.params, len(tangents))
        g = flat.grad()
    finally:
        for p in flat.params:
            p.tangent = None
            if isinstance(p.grad, Tensor):  # (a refused .grad may be anything)
                p.grad.tangent = None
    if isinstance(loss, Tensor):
        loss.tangent = None
    return loss, g, flat.layout.join(products, lead=(len(tangents),))


def closure_hessian(closure: Callable, flat: FlatParams, chunk: int) -> tuple:
    """``(loss, g, H)``: the closure's loss (a Tensor), its flat gradient ``(n,)`` in float64
    and its symmetrised Hessian ``(H + H^T) / 2``, ``(n, n)`` in float64, by ``closure_hvp`` on
    ``chunk`` rows of the identity per run of the closure (``hessians.hessian_rows``)."""
    loss = g = None  # from the first run

    def products(tangents):
        nonlocal loss, g
        value, grad, rows = closure_hvp(closure, flat, tangents[0])
        if loss is None:
            loss, g = value, grad.astype(np.float64)
        return [rows]

    rows_as_one_block = FlatLayout([(flat.n,)])  # closure_hvp takes and gives flat rows
    H = hessian_rows(products, rows_as_one_block, chunk, flat.dtype, out=np.empty((flat.n, flat.n)))
    # (H + H.T) / 2 in place: one temporary n x n array (the copy of H.T) instead of two.
    H += H.T
    H *= 0.5
    return loss, g, H
