"""Products on Tensors: ``mg.matmul`` (broadcasting, as PyTorch and numpy), ``dot``, ``outer``,
``mm``, ``bmm`` (PyTorch's, without broadcasting) and ``einsum``."""

from __future__ import annotations

import builtins
import string

from .. import ops
from ..errors import ShapeError
from ..primitive import apply
from ..tensor import Tensor, carries_derivatives
from .operands import as_tensor, broadcast_shape


def matmul(a, b) -> Tensor:
    """Matrix product with numpy's rules: 1-D operands are vectors, leading axes broadcast."""
    a = a if type(a) is Tensor else as_tensor(a)
    b = b if type(b) is Tensor else as_tensor(b)
    a_ndim, b_ndim = a.data.ndim, b.data.ndim
    if a_ndim == 0 or b_ndim == 0:
        raise ShapeError(
            f"matmul: operands of shapes {a.shape} and {b.shape}: matmul needs at least one "
            f"dimension on each side; use * to multiply by a scalar"
        )
    if a.data.shape[-1] != b.data.shape[-2 if b_ndim > 1 else 0]:
        raise ShapeError(
            f"matmul: shapes {a.shape} @ {b.shape}: the last axis of the left operand "
            f"({a.shape[-1]}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} axis "
            f"of the right one ({b.shape[-2 if b.ndim > 1 else 0]}); transpose (x.T) or reshape"
        )
    if a_ndim + b_ndim == 3 or a_ndim == b_ndim == 2:  # MatMul takes them as they are
        return apply(ops.MatMul, a, b)
    try:
        out_shape = broadcast_shape(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"matmul: shapes {a.shape} @ {b.shape}: the batch axes {a.shape[:-2]} and "
            f"{b.shape[:-2]} (all but the last two) cannot be broadcast together (each pair "
            f"must be equal or 1); reshape one operand so the batch axes line up"
        ) from None
    out_shape += a.shape[-2:-1] + b.shape[-1:] if b.ndim > 1 else a.shape[-2:-1]
    if a.ndim == 1:
        a = a.reshape((1, a.shape[0]))
    if b.ndim == 1:
        b = b.reshape((b.shape[0], 1))
    if a.ndim > 2 and b.ndim == 2:
        # A stack of matrices times one matrix is one product of a tall matrix.
        out = apply(ops.MatMul, a.reshape((-1, a.shape[-1])), b)
    else:
        if a.shape[:-2] != b.shape[:-2]:
            batch = broadcast_shape(a.shape[:-2], b.shape[:-2])
            a, b = (
                apply(ops.BroadcastTo, x, shape=batch + x.shape[-2:])
                if x.shape[:-2] != batch and carries_derivatives(x)
                else x
                for x in (a, b)
            )
        out = apply(ops.MatMul, a, b)
    return out if out.shape == out_shape else out.reshape(out_shape)


def dot(input, other) -> Tensor:
    """The inner product of two 1-D tensors of the same length (PyTorch's ``dot``; ``matmul``
    takes other shapes)."""
    needs = "dot takes two 1-D tensors of the same length; use matmul (or @) for matrices"
    a, b = _checked("dot", input, other, 1, lambda s, t: s == t, needs)
    return matmul(a, b)


def outer(input, vec2) -> Tensor:
    """The outer product of two 1-D tensors: shape (len(input), len(vec2))."""
    needs = "outer takes two 1-D tensors; flatten them first (x.reshape(-1))"
    a, b = _checked("outer", input, vec2, 1, lambda s, t: True, needs)
    return a.reshape((-1, 1)) * b.reshape((1, -1))


def mm(input, mat2) -> Tensor:
    """The product of two matrices (2-D tensors), without broadcasting (PyTorch's ``mm``)."""
    needs = "mm multiplies two 2-D tensors; use bmm for batches or matmul (@) to broadcast"
    a, b = _checked("mm", input, mat2, 2, lambda s, t: True, needs)
    return matmul(a, b)


def bmm(input, mat2) -> Tensor:
    """Batched matrix product of two 3-D tensors ``(b, n, m) @ (b, m, p) -> (b, n, p)``, without
    broadcasting (PyTorch's ``bmm``; ``matmul`` broadcasts)."""
    needs = (
        "bmm multiplies 3-D tensors (b, n, m) and (b, m, p) with the same batch size b; use "
        "matmul (@) to broadcast"
    )
    a, b = _checked("bmm", input, mat2, 3, lambda s, t: s[0] == t[0] and s[2] == t[1], needs)
    return matmul(a, b)


def _checked(op: str, input, other, ndim: int, fits, needs: str) -> tuple[Tensor, Tensor]:
    """The operands of ``op`` as Tensors, checked to have ``ndim`` dims and shapes that ``fits``;
    else the error that says what ``op`` ``needs``."""
    a, b = as_tensor(input), as_tensor(other)
    if a.ndim != ndim or b.ndim != ndim or not fits(a.shape, b.shape):
        raise ShapeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)}: {needs}")
    return a, b


def einsum(subscripts: str, *operands) -> Tensor:
    """numpy's einsum (explicit or implicit output, ellipses) with gradients of every operand.

    >>> import minigrad as mg
    >>> mg.einsum("ij,j->i", mg.eye(2), mg.tensor([3.0, 4.0]))
    tensor([3., 4.])
    """
    xs = [as_tensor(x) for x in operands]
    ins, out = _parse_einsum(subscripts, xs)
    return apply(ops.Einsum, *xs, ins=ins, out=out)


def _parse_einsum(subscripts: str, xs):
    spec = subscripts.replace(" ", "")
    lhs, arrow, rhs = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(xs):
        raise ShapeError(
            f"einsum: '{subscripts}' names {len(ins)} operands but {len(xs)} were given"
        )
    used = set(spec) - set(".,->")
    spare = (c for c in string.ascii_letters if c not in used)
    ell_dims = builtins.max(
        [x.ndim - len(s.replace("...", "")) for s, x in zip(ins, xs) if "..." in s], default=0
    )
    ell = "".join(next(spare) for _ in range(ell_dims))
    expanded = []
    for s, x in zip(ins, xs):
        if "..." in s:
            s = s.replace("...", ell[ell_dims - (x.ndim - len(s) + 3) :])
        if len(s) != x.ndim:
            raise ShapeError(
                f"einsum: subscripts '{s}' have {len(s)} letters but the operand has shape "
                f"{x.shape}; give one letter per axis (or use '...')"
            )
        expanded.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = "".join(expanded)
        out = ell + "".join(sorted(c for c in set(counts) - set(ell) if counts.count(c) == 1))
    return tuple(expanded), out
