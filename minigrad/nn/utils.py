"""PyTorch's ``torch.nn.utils``: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``,
and their parts ``get_total_norm`` and ``clip_grads_with_norm_``) and parameters as one vector
(``parameters_to_vector``, ``vector_to_parameters``).

The clipping functions change the ``.grad`` of the given parameters in place (call them between
``backward`` and ``optimizer.step``); parameters without a gradient are skipped. ``foreach`` is
accepted and has nothing to choose (numpy does one array at a time).
"""

from __future__ import annotations

import numpy as np

from ..autodiff import no_grad
from ..batching import values_of
from ..errors import DTypeError, MinigradError, ShapeError, missing_names
from ..functions import concatenate
from ..tensor import Tensor


class NonFiniteNormError(MinigradError, RuntimeError):
    """``clip_grad_norm_(..., error_if_nonfinite=True)`` met a NaN or infinite total norm."""


def _tensors(parameters) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grads(parameters) -> list[Tensor]:
    return [p.grad for p in _tensors(parameters) if p.grad is not None]


def _total_norm(who: str, tensors: list[Tensor], norm_type, error_if_nonfinite: bool) -> Tensor:
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(np.array(0.0))
    norms = [
        np.linalg.norm(t.data.ravel(), ord=norm_type) if t.data.size else np.zeros((), t.dtype)
        for t in tensors
    ]
    total_norm = np.linalg.norm(np.stack(norms), ord=norm_type)
    if error_if_nonfinite and not np.isfinite(total_norm):
        raise NonFiniteNormError(
            f"{who}: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({total_norm}), so they cannot be clipped; find where the NaN/Inf "
            f"comes from (mg.detect_anomaly()), or pass error_if_nonfinite=False to scale by "
            f"it anyway"
        )
    return Tensor(np.asarray(total_norm))


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:  # fmt: skip
    """The ``norm_type``-norm of ``tensors`` (usually gradients) taken together: the norm of
    the vector of each one's norm (``norm_type=inf``: the largest ``|x_i|``), a 0-d Tensor.

    >>> import minigrad as mg
    >>> float(get_total_norm([mg.tensor([3.0]), mg.tensor([4.0])]))
    5.0
    """
    return _total_norm("get_total_norm", _tensors(tensors), norm_type, error_if_nonfinite)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm,
                          foreach: bool | None = None) -> None:  # fmt: skip
    """Multiply every gradient by ``min(1, max_norm / (total_norm + 1e-6))``, in place: the
    second half of ``clip_grad_norm_``, for a ``total_norm`` computed elsewhere
    (``get_total_norm``)."""
    max_norm = float(max_norm)
    total_norm = values_of(total_norm, "clip_grad_norm_")
    # NOTE: always multiply (by 1 when within bounds), as PyTorch does: a NaN norm spreads.
    coef = np.minimum(max_norm / (total_norm + 1e-6), 1.0)
    with no_grad(), np.errstate(invalid="ignore"):  # inf * 0 = nan, asked for
        for g in _grads(parameters):
            g.mul_(coef)


def clip_grad_norm_(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
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
    >>> [round(g, 6) for g in w.grad.tolist()]
    [0.6, 0.8]
    """
    parameters = _tensors(parameters)  # iterated twice: a generator would be spent
    total_norm = _total_norm("clip_grad_norm_", _grads(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total_norm)
    return total_norm


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    >>> import minigrad as mg
    >>> w = mg.tensor([1.0, -2.0, 0.5], requires_grad=True)
    >>> w.grad = mg.tensor([1.0, -2.0, 0.5])
    >>> clip_grad_value_([w], 0.8)
    >>> w.grad
    tensor([ 0.8, -0.8,  0.5])
    """
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.copy_(np.clip(g.data, -clip_value, clip_value))


# ----- parameters as one vector ------------------------------------------------------------------


def parameters_to_vector(parameters) -> Tensor:
    """Every parameter flattened and joined into one 1-D Tensor, in the order given (for a
    model, ``model.parameters()``: ``named_parameters``' order). On the tape, as PyTorch's: a
    loss of the vector sends gradients back to the parameters.

    >>> import minigrad as mg
    >>> parameters_to_vector([mg.tensor([[1.0, 2.0]]), mg.tensor([3.0])]).tolist()
    [1.0, 2.0, 3.0]
    """
    tensors = _tensors(parameters)
    for i, p in enumerate(tensors):
        if not isinstance(p, Tensor):
            raise DTypeError(
                f"parameters_to_vector: parameter {i} is a {type(p).__name__}, not a Tensor"
            )
    if not tensors:
        raise ShapeError("parameters_to_vector: got no parameters to join")
    return concatenate([p.reshape(-1) for p in tensors])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in the order given (the
    inverse of ``parameters_to_vector``), in place and off the tape.

    Unlike PyTorch's, which makes each parameter a view of ``vec`` (taking its dtype), the
    values are copied in the parameters' own dtypes, and a ``vec`` whose length differs from
    the parameters' total size is an error (PyTorch ignores a longer one's rest).
    """
    if not isinstance(vec, Tensor):
        raise DTypeError(
            f"vector_to_parameters: expected a Tensor, but got: {type(vec).__name__}; pass "
            f"mg.tensor(values)"
        )
    if vec.ndim != 1:
        raise ShapeError(
            f"vector_to_parameters: expected a 1-D vector, got shape {vec.shape}; flatten it"
        )
    tensors = _tensors(parameters)
    total = sum(p.data.size for p in tensors)
    if vec.shape[0] != total:
        raise ShapeError(
            f"vector_to_parameters: the vector has {vec.shape[0]} elements, the parameters "
            f"{total} (shapes {[p.shape for p in tensors]}); pass a vector of their total size"
        )
    start = 0
    with no_grad():
        for p in tensors:
            p.copy_(vec.data[start : start + p.data.size].reshape(p.shape))
            start += p.data.size


# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.nn.utils")
