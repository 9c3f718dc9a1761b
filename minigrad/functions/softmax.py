"""``mg.softmax`` and ``mg.log_softmax`` along a dim, as ``torch.softmax`` and
``x.softmax(dim)`` (``nn.functional`` has the same functions)."""

from __future__ import annotations

from .. import ops
from ..primitive import apply
from ..tensor import Tensor
from .arithmetic import astype
from .operands import alias, as_tensor
from .reductions import one_dim


def log_softmax(input, dim: int | None = None, dtype=None, *, axis=None) -> Tensor:
    """``x - logsumexp(x, dim)``: log-probabilities along ``dim``, without overflow; ``dtype``
    casts the input first.

    >>> import minigrad as mg
    >>> mg.log_softmax(mg.tensor([1000.0, 1000.0]), dim=0)
    tensor([-0.6931472, -0.6931472])
    """
    x, d = _operand("log_softmax", input, dim, dtype, axis)
    return apply(ops.LogSoftmax, x, axis=(d,) if x.ndim else ())


def softmax(input, dim: int | None = None, dtype=None, *, axis=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, without overflow; ``dtype`` casts the input first.

    >>> import minigrad as mg
    >>> mg.softmax(mg.tensor([[-1000.0, 1000.0]]), dim=1)
    tensor([[0., 1.]])
    """
    x, d = _operand("softmax", input, dim, dtype, axis)
    return apply(ops.Softmax, x, axis=(d,) if x.ndim else ())


def _operand(op: str, input, dim, dtype, axis) -> tuple[Tensor, int]:
    x = as_tensor(input)
    if dtype is not None:
        x = astype(x, dtype)
    return x, one_dim(op, x, alias(op, "dim", dim, "axis", axis), None)
