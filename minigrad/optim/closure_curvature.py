"""``closure_hvp``: Hessian-vector products of a PyTorch-style closure, for ``Newton`` and
``NewtonCG``.

How the curvature is computed (exactly, not by differences). ``mg.hessian`` and ``mg.hvp`` take
a function of their inputs that builds the loss from those inputs; a PyTorch-style closure
builds it from the parameter objects the model holds and calls ``backward`` itself. So
``closure_hvp`` does what they do, forward-over-reverse, with the parameters themselves as the
inputs: each parameter gets a tangent (a batch of ``B`` directions ``V``, its slice of each),
and the closure runs in forward mode. The loss's forward pass pushes the tangents; so does its
``backward``, because every VJP is made of Tensor ops. The gradient that lands in ``p.grad`` then
carries the tangent ``d/de grad f(x + e v) = H v`` for each direction: ``B`` Hessian-vector
products from one pass, and with ``V`` the rows of the identity, rows of the Hessian. The
tangents are removed afterwards; the parameters' values never change.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autodiff import enable_grad, forward_mode
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
    B = tangents.shape[0]
    try:
        for p, t in zip(flat.params, flat.split(tangents)):
            p.tangent = t.astype(p.dtype, copy=False)
        with forward_mode(), enable_grad():
            loss = closure()
        flat.check_grads()  # what the closure left in .grad must fit, before it is flattened
        grads, products = [], []
        for p in flat.params:
            g = p.grad
            grads.append(np.zeros(p.size, flat.dtype) if g is None else g.data.ravel())
            if g is None or g.tangent is None:  # the gradient does not depend on p: H v = 0
                products.append(np.zeros((B, p.size), flat.dtype))
            else:
                products.append(g.tangent.reshape(B, p.size))
    finally:
        for p in flat.params:
            p.tangent = None
            if isinstance(p.grad, Tensor):  # (a refused .grad may be anything)
                p.grad.tangent = None
    if isinstance(loss, Tensor):
        loss.tangent = None
    return loss, np.concatenate(grads).astype(flat.dtype), np.concatenate(products, axis=1)
