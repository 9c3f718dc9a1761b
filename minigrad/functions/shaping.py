"""Shape operations with PyTorch's meanings (``mg.reshape``, ``mg.permute``, ``mg.transpose``,
``mg.squeeze``, ``mg.expand``, ...): composites of the shape primitives of ``ops/shape.py``.

numpy arrays have no strides contract a user can see, so ``view`` is ``reshape`` (it never fails
for a non-contiguous tensor, and the result may or may not share memory) and ``contiguous()``
is the tensor itself.
"""

from __future__ import annotations

import builtins
import operator

import numpy as np

from .. import ops
from ..errors import OpError, ShapeError
from ..primitive import apply
from ..tensor import Tensor
from .operands import alias, as_tensor, broadcasts_to
from .reductions import normalize_axes


def shape_arg(op: str, shape) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` (a ``Size`` too) as the tuple ``(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    try:  # ints, and what stands for one (a numpy integer, an integer 0-d Tensor)
        if builtins.any(isinstance(d, bool) for d in shape):
            raise TypeError
        return tuple(operator.index(d) for d in shape)
    except TypeError:
        raise ShapeError(
            f"{op}: {shape!r} is not a shape; give ints, as f(2, 3) or f((2, 3))"
        ) from None


def dim_arg(op: str, dim, shape: tuple, ndim: int | None = None) -> int:
    """One dimension ``dim`` (negatives count from the end) of a tensor of ``shape`` (or of a
    result with ``ndim`` dimensions), checked. A 0-d tensor has dims 0 and -1, as in PyTorch."""
    if not isinstance(dim, int | np.integer) or isinstance(dim, bool):
        raise ShapeError(f"{op}: dim={dim!r} is not a dimension; give one int")
    axes = normalize_axes(op, dim, shape, ndim)
    return axes[0] if axes else 0


# ----- reshaping ---------------------------------------------------------------------------------


def _reshape(op: str, x: Tensor, shape: tuple) -> Tensor:
    known = int(np.prod([d for d in shape if d != -1]))
    if shape.count(-1) == 1 and known and x.data.size % known == 0:
        shape = tuple(x.data.size // known if d == -1 else d for d in shape)
    if shape.count(-1) or int(np.prod(shape)) != x.data.size or builtins.any(d < 0 for d in shape):
        raise ShapeError(
            f"{op}: shape {shape} is invalid for a tensor of shape {x.shape} "
            f"({x.data.size} elements); the new shape must have the same number of elements "
            f"(one dim may be -1)"
        )
    return x if shape == x.shape else apply(ops.Reshape, x, shape=shape)


def reshape(x, *shape) -> Tensor:
    """The same elements in a new shape (one dim may be -1: inferred). ``reshape(x, 2, 3)`` or
    ``reshape(x, (2, 3))``."""
    return _reshape("reshape", as_tensor(x), shape_arg("reshape", shape))


def view(x, *shape) -> Tensor:
    """PyTorch's ``view``: here the same as ``reshape``. numpy has no strides contract, so a
    view never fails for a non-contiguous tensor, and the result is not promised to share
    memory with ``x`` (write through it with in-place ops on ``x`` itself)."""
    if len(shape) == 1 and isinstance(shape[0], np.dtype | type | str):
        raise OpError(
            "view: view(dtype) reinterprets the bytes, which minigrad does not do (a tensor's "
            "numpy data has no aliasing contract); give a shape, or convert with .to(dtype)"
        )
    return _reshape("view", as_tensor(x), shape_arg("view", shape))


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the dims ``start_dim..end_dim`` (all, by default) into one; a 0-d tensor becomes
    shape (1,)."""
    x = as_tensor(x)
    if x.ndim == 0:
        return _reshape("flatten", x, (1,))
    start, end = (dim_arg("flatten", d, x.shape) for d in (start_dim, end_dim))
    if start > end:
        raise ShapeError(
            f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for a tensor of "
            f"shape {x.shape}; give start_dim <= end_dim"
        )
    merged = int(np.prod(x.shape[start : end + 1]))
    return _reshape("flatten", x, x.shape[:start] + (merged,) + x.shape[end + 1 :])


def unflatten(x, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1): the inverse of ``flatten``."""
    x = as_tensor(x)
    d = dim_arg("unflatten", dim, x.shape)
    sizes = shape_arg("unflatten", (sizes,))
    n, known = x.shape[d], int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) == 1 and known and n % known == 0:
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    if -1 in sizes or int(np.prod(sizes)) != n:
        raise ShapeError(
            f"unflatten: sizes {list(sizes)} do not multiply to {n}, the size of dim {dim} of a "
            f"tensor of shape {x.shape} (one size may be -1)"
        )
    return _reshape("unflatten", x, x.shape[:d] + sizes + x.shape[d + 1 :])


# ----- reordering dims ---------------------------------------------------------------------------


def permute(x, *dims) -> Tensor:
    """The dims in the order ``dims`` (a permutation of all of them): ``y.shape[i] ==
    x.shape[dims[i]]``. ``permute(x, 2, 0, 1)`` or ``permute(x, (2, 0, 1))``."""
    x = as_tensor(x)
    dims = shape_arg("permute", dims)
    n = x.ndim
    in_range = builtins.all(-n <= d < builtins.max(n, 1) for d in dims)
    if len(dims) != n or not in_range or len({d % builtins.max(n, 1) for d in dims}) != n:
        raise ShapeError(
            f"permute: dims {dims} are not a permutation of the {n} dims of a tensor of shape "
            f"{x.shape}; name each dim once"
        )
    dims = tuple(d % x.ndim for d in dims)
    return x if dims == tuple(range(x.ndim)) else apply(ops.Transpose, x, axes=dims)


def transpose(x, dim0: int, dim1: int | None = None, *more) -> Tensor:
    """PyTorch's ``transpose``: dims ``dim0`` and ``dim1`` swapped (any number of dims; a 2-D
    ``transpose(0, 1)`` is the matrix transpose). To reorder every dim, use ``permute``."""
    x = as_tensor(x)
    if dim1 is None or more or not isinstance(dim0, int | np.integer):
        given = ", ".join(repr(d) for d in (dim0, dim1, *more) if d is not None)
        raise ShapeError(
            f"transpose: takes two dims to swap, got ({given}) for a tensor of shape {x.shape}; "
            f"to reorder all dims use permute({given}), to reverse them .T"
        )
    a, b = (dim_arg("transpose", d, x.shape) for d in (dim0, dim1))
    perm = list(range(x.ndim))
    perm[a], perm[b] = b, a
    return permute(x, perm)


def swapaxes(x, dim0: int, dim1: int) -> Tensor:
    """PyTorch's (and numpy's) other name for ``transpose``: dims ``dim0`` and ``dim1`` swapped."""
    return transpose(x, dim0, dim1)


def swapdims(x, dim0: int, dim1: int) -> Tensor:
    """PyTorch's other name for ``transpose``: dims ``dim0`` and ``dim1`` swapped."""
    return transpose(x, dim0, dim1)


def t(x) -> Tensor:
    """The transpose of a matrix; a tensor of 0 or 1 dims is returned as it is."""
    x = as_tensor(x)
    if x.ndim > 2:
        raise ShapeError(
            f"t: expects a tensor with at most 2 dims, got shape {x.shape}; use transpose(d0, "
            f"d1) or .mT (the last two dims) for more"
        )
    return permute(x, tuple(reversed(range(x.ndim))))


def movedim(x, source, destination) -> Tensor:
    """Move dims ``source`` (int or tuple) to positions ``destination``, keeping the order of
    the others."""
    x = as_tensor(x)
    one = isinstance(source, int | np.integer)
    src = [dim_arg("movedim", d, x.shape) for d in ((source,) if one else source)]
    dst = [dim_arg("movedim", d, x.shape) for d in ((destination,) if one else destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ShapeError(
            f"movedim: source {source!r} and destination {destination!r} must name as many "
            f"distinct dims (tensor of shape {x.shape})"
        )
    rest = iter(d for d in range(x.ndim) if d not in src)
    placed = dict(zip(dst, src))
    return permute(x, [placed[i] if i in placed else next(rest) for i in range(x.ndim)])


def moveaxis(x, source, destination) -> Tensor:
    """PyTorch's (and numpy's) other name for ``movedim``."""
    return movedim(x, source, destination)


# ----- adding and removing dims of size 1 --------------------------------------------------------


def unsqueeze(x, dim: int) -> Tensor:
    """A dim of size 1 inserted at position ``dim`` of the result (in [-ndim - 1, ndim])."""
    x = as_tensor(x)
    d = dim_arg("unsqueeze", dim, x.shape, x.ndim + 1)
    return _reshape("unsqueeze", x, x.shape[:d] + (1,) + x.shape[d:])


def expand_dims(x, axis) -> Tensor:
    """numpy's ``expand_dims``: size-1 dims inserted at ``axis`` (int or tuple) of the result.
    PyTorch's name for one dim is ``unsqueeze``."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    ndim = x.ndim + len(axes)
    axes = normalize_axes("expand_dims", axes, x.shape, ndim)
    dims = iter(x.shape)
    return _reshape("expand_dims", x, tuple(1 if i in axes else next(dims) for i in range(ndim)))


def squeeze(x, dim=None, *, axis=None) -> Tensor:
    """The dims of size 1 removed: all of them, or those among ``dim`` (int or tuple). As in
    PyTorch, naming a dim whose size is not 1 is not an error: it stays."""
    x = as_tensor(x)
    dim = alias("squeeze", "dim", dim, "axis", axis)
    axes = normalize_axes("squeeze", dim, x.shape)
    return _reshape("squeeze", x, tuple(d for i, d in enumerate(x.shape)
                                        if not (i in axes and d == 1)))  # fmt: skip


# ----- broadcasting ------------------------------------------------------------------------------


def _expand(op: str, x: Tensor, shape: tuple) -> Tensor:
    lead = len(shape) - x.ndim
    bad = lead < 0 or builtins.any(d < 0 for d in shape[:lead])
    bad = bad or builtins.any(d < -1 for d in shape)
    if not bad:
        shape = shape[:lead] + tuple(n if d == -1 else d for d, n in zip(shape[lead:], x.shape))
    if bad or not broadcasts_to(x.shape, shape):
        raise ShapeError(
            f"{op}: a tensor of shape {x.shape} cannot be expanded to {shape}; each dim "
            f"must equal the tensor's or be -1 (keep it), a dim of size 1 may grow, and new "
            f"dims go in front (not -1)"
        )
    return x if x.shape == shape else apply(ops.BroadcastTo, x, shape=shape)


def expand(x, *sizes) -> Tensor:
    """``x`` repeated along its dims of size 1 and new leading dims to ``sizes`` (-1 keeps a
    dim's size), without copying. ``expand(x, 3, -1)`` or ``expand(x, (3, -1))``."""
    return _expand("expand", as_tensor(x), shape_arg("expand", sizes))


def broadcast_to(x, shape) -> Tensor:
    """``expand`` with the shape as one argument (PyTorch's and numpy's ``broadcast_to``)."""
    shape = shape_arg("broadcast_to", (shape,) if isinstance(shape, int | np.integer) else shape)
    return _expand("broadcast_to", as_tensor(x), shape)


def numel(x) -> int:
    """The number of elements."""
    return as_tensor(x).data.size
