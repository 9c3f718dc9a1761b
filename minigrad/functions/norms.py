"""Norms with PyTorch's meanings: ``mg.norm`` (``torch.norm``) and ``mg.linalg.norm``,
``vector_norm`` and ``matrix_norm`` (``torch.linalg``), as composites of reductions.

Where a norm is 0 its gradient is 0, as PyTorch's (the formulas would give 0/0 there). The
matrix norms that need singular values (ord 2, -2 and 'nuc') are not here: minigrad has no SVD.
"""

from __future__ import annotations

import math

from ..batching import level_of
from ..errors import DTypeError, OpError, ShapeError
from ..tensor import Tensor
from .arithmetic import abs, astype, sqrt, where
from .operands import as_tensor
from .reductions import amax, amin, normalize_axes, reduced_dims, sum


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``(sum |x|^ord) ^ (1/ord)`` over ``dim`` (None: every element, as one vector): ``ord``
    2 (the Euclidean norm), 1, inf (max |x|), -inf (min |x|), 0 (the number of nonzeros), or
    any other number.

    >>> import minigrad as mg
    >>> mg.linalg.vector_norm(mg.tensor([3.0, -4.0]))
    tensor(5.)
    """
    x = _float_operand("linalg.vector_norm", x, dtype)
    axes = reduced_dims("linalg.vector_norm", x, dim, None)
    if isinstance(ord, str) or not isinstance(ord, int | float):
        raise OpError(
            f"linalg.vector_norm: ord={ord!r} is not a vector norm; give a number (2, 1, inf, "
            f"-inf, 0, ...); 'fro' and 'nuc' are matrix norms (mg.linalg.matrix_norm)"
        )
    if ord == math.inf:
        return amax(abs(x), axes, keepdim)
    if ord == -math.inf:
        return amin(abs(x), axes, keepdim)
    if ord == 0:
        return astype(sum(x != 0, axes, keepdim), x.dtype)  # piecewise constant: no gradient
    if ord == 1:
        return sum(abs(x), axes, keepdim)
    if ord == 2:
        # NOTE: x * x, not abs(x) ** 2, for real x: abs' kink at 0 would zero the second
        # derivative of an element that is 0.
        squares = x * x if x.dtype.kind == "f" else abs(x) * abs(x)
        return _root(sum(squares, axes, keepdim), sqrt)
    return _root(sum(abs(x) ** ord, axes, keepdim), lambda s: s ** (1 / ord))


def _root(s: Tensor, root) -> Tensor:
    """``root(s)``, with gradient 0 where ``s`` is 0 (the norm of a zero vector), as PyTorch."""
    zero = s == 0  # (batched under mg.vmap: then both branches, no Python test)
    if level_of(zero) == 0 and not zero.data.any():
        return root(s)
    # NOTE: the root is taken of 1 where s is 0, so that no 0/0 reaches the gradient; the
    # outer where then gives 0 there, and no gradient to either branch at those places.
    return where(zero, 0.0, root(where(zero, 1.0, s)))


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """The norm of the matrices over the two dims ``dim``: ``ord`` 'fro' (Frobenius), 1 (max
    column sum of |A|), inf (max row sum), -1 and -inf (the min ones).

    >>> import minigrad as mg
    >>> mg.linalg.matrix_norm(mg.tensor([[1.0, -2.0], [3.0, 4.0]]), 1)
    tensor(6.)
    """
    A = _float_operand("linalg.matrix_norm", A, dtype)
    if A.ndim < 2:
        raise ShapeError(
            f"linalg.matrix_norm: the tensor has shape {tuple(A.shape)}; a matrix norm needs at "
            f"least 2 dimensions (use mg.linalg.vector_norm for vectors)"
        )
    if not isinstance(dim, tuple | list) or len(dim) != 2:
        raise ShapeError(f"linalg.matrix_norm: dim must be a pair of dims, got {dim!r}")
    row, col = (normalize_axes("linalg.matrix_norm", d, A.shape)[0] for d in dim)
    if row == col:
        raise ShapeError(f"linalg.matrix_norm: dim {tuple(dim)} names one dimension twice")
    if ord in ("nuc", 2, -2):
        raise OpError(
            f"linalg.matrix_norm: ord={ord!r} needs the singular values (an SVD), which minigrad "
            f"does not have; 'fro', 1, -1, inf and -inf are available"
        )
    if ord == "fro":
        return vector_norm(A, 2, (row, col), keepdim)
    sums_over, extreme_over = {1: (row, col), -1: (row, col), math.inf: (col, row),
                               -math.inf: (col, row)}.get(ord, (None, None))  # fmt: skip
    if sums_over is None:
        raise OpError(
            f"linalg.matrix_norm: ord={ord!r} is not a matrix norm; give 'fro', 1, -1, inf or "
            f"-inf ('nuc', 2 and -2 need an SVD, which minigrad does not have)"
        )
    extreme = amax if ord > 0 else amin
    out = extreme(sum(abs(A), sums_over, keepdim=True), extreme_over, keepdim=True)
    return out if keepdim else out.reshape(tuple(
        n for i, n in enumerate(A.shape) if i not in (row, col)))  # fmt: skip


def linalg_norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector norm over one dim (``dim`` an int), a matrix norm over
    two (``dim`` a pair); with no ``dim``, the vector 2-norm of every element when ``ord`` is
    None, else the vector norm of a 1-D tensor or the matrix norm of a 2-D one.

    >>> import minigrad as mg
    >>> mg.linalg.norm(mg.tensor([[1.0, -2.0], [3.0, 4.0]]))
    tensor(5.477226)
    """
    A = as_tensor(A)
    if isinstance(dim, tuple | list) and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is not None:
        if isinstance(ord, str):
            raise ShapeError(
                f"linalg.norm: ord={ord!r} is a matrix norm, so dim must be a pair of dims, "
                f"got {dim!r}"
            )
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise ShapeError(
        f"linalg.norm: ord={ord!r} without dim needs a 1-D or 2-D tensor, got shape "
        f"{tuple(A.shape)}; give dim (an int for vectors, a pair for matrices)"
    )


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """``torch.norm``: the vector ``p``-norm over ``dim`` (None: every element, as one vector);
    ``p='fro'`` (the default) is the 2-norm, over any dims. For matrix norms see
    ``mg.linalg.matrix_norm``.

    >>> import minigrad as mg
    >>> mg.tensor([3.0, 4.0]).norm()
    tensor(5.)
    """
    if p == "nuc":
        raise OpError(
            "norm: p='nuc' (the nuclear norm) needs the singular values (an SVD), which "
            "minigrad does not have"
        )
    return vector_norm(input, 2 if p in ("fro", None) else p, dim, keepdim, dtype=dtype)


def _float_operand(op: str, x, dtype) -> Tensor:
    x = as_tensor(x)
    if dtype is not None:
        x = astype(x, dtype)
    if x.dtype.kind not in "fc":
        raise DTypeError(
            f"{op}: the tensor is {x.dtype} (shape {tuple(x.shape)}); norms need a floating "
            f"point or complex tensor, as in PyTorch: call .float() first"
        )
    return x
