"""Gradient clipping, as PyTorch's ``torch.nn.utils``: ``clip_grad_norm_`` and ``clip_grad_value_``.

Both change the ``.grad`` of the given parameters in place (call them between ``backward`` and
``optimizer.step``); parameters without a gradient are skipped.
"""

from __future__ import annotations

import numpy as np

from ..autodiff import no_grad
from ..errors import MinigradError
from ..tensor import Tensor


class NonFiniteNormError(MinigradError, RuntimeError):
    """``clip_grad_norm_(..., error_if_nonfinite=True)`` met a NaN or infinite total norm."""


def _grads(parameters) -> list[Tensor]:
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of every gradient's norm (the same as
    the norm of all gradients concatenated; ``norm_type=inf`` is the largest ``|g_i|``). Each
    gradient is multiplied by ``min(1, max_norm / (total_norm + 1e-6))``. Returns the total
    norm before clipping, as a 0-d Tensor (0 when no parameter has a gradient).

    >>> import minigrad as mg
    >>> w = mg.tensor([3.0, 4.0], requires_grad=True)
    >>> w.grad = mg.tensor([3.0, 4.0])
    >>> float(clip_grad_norm_([w], max_norm=1.0))
    5.0
    >>> w.grad.numpy().round(6).tolist()
    [0.6, 0.8]
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor(np.array(0.0))
    norms = [
        np.linalg.norm(g.data.ravel(), ord=norm_type) if g.size else np.zeros((), g.dtype)
        for g in grads
    ]
    total_norm = np.linalg.norm(np.stack(norms), ord=norm_type)
    if error_if_nonfinite and not np.isfinite(total_norm):
        raise NonFiniteNormError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({total_norm}), so they cannot be clipped; find where the NaN/Inf "
            f"comes from (mg.detect_anomaly()), or pass error_if_nonfinite=False to scale by "
            f"it anyway"
        )
    # NOTE: always multiply (by 1 when within bounds), as PyTorch does: a NaN norm spreads.
    coef = np.minimum(max_norm / (total_norm + 1e-6), 1.0)
    with no_grad(), np.errstate(invalid="ignore"):  # inf * 0 = nan, asked for
        for g in grads:
            g.mul_(coef)
    return Tensor(np.asarray(total_norm))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    >>> import minigrad as mg
    >>> w = mg.tensor([1.0, -2.0, 0.5], requires_grad=True)
    >>> w.grad = mg.tensor([1.0, -2.0, 0.5])
    >>> clip_grad_value_([w], 0.8)
    >>> w.grad.tolist()
    [0.8, -0.8, 0.5]
    """
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.copy_(np.clip(g.data, -clip_value, clip_value))
