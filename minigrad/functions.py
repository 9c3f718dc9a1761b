"""Arithmetic, elementwise functions, reductions and linear algebra on Tensors (``mg.*``).

This is where broadcasting happens: binary primitives see operands of equal shape, except
constants (which need no gradient), which numpy broadcasts inside the primitive.
"""

from __future__ import annotations

import builtins
import functools
import string

import numpy as np

from . import ops
from .autodiff import apply, constant, mode
from .errors import DTypeError, OpError, ShapeError
from .tensor import NUMERIC_KINDS, Tensor

# ----- operands and broadcasting -----------------------------------------------------------------


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor. A Python number takes ``like``'s dtype where numpy's rules allow
    (``float32_tensor * 2.0`` stays float32), as numpy treats Python scalars."""
    if isinstance(value, Tensor):
        return value
    if type(value) is np.ndarray:
        return constant(value)
    if like is not None and type(value) in (float, int, bool, complex):
        return _scalar(value, like.data.dtype)
    return Tensor(value)


# Scalar constants (the 1 in ``1 - y * y``, a learning rate) are made once per value and dtype:
# they never require grad and are never changed in place, so sharing them is safe.
_scalars: dict = {}
_scalar_dtypes: dict = {}


def _scalar(value, dtype: np.dtype) -> Tensor:
    key = (type(value), value, dtype)
    t = _scalars.get(key)
    if t is None:
        dtype_key = (dtype, type(value))
        if dtype_key not in _scalar_dtypes:  # numpy's rule for array-with-Python-scalar
            _scalar_dtypes[dtype_key] = np.result_type(np.empty(0, dtype), type(value)(1))
        t = Tensor(np.asarray(value, dtype=_scalar_dtypes[dtype_key]))
        if len(_scalars) < 4096:
            _scalars[key] = t
    return t


def _differentiated(t: Tensor) -> bool:
    return (t.requires_grad and mode().grad_enabled) or t.tangent is not None


@functools.lru_cache(maxsize=1024)
def broadcast_shape(*shapes: tuple) -> tuple:
    """numpy's broadcast of ``shapes`` (ValueError if they do not broadcast). Memoized: a model
    broadcasts the same few shapes every step, and numpy computes it in Python."""
    return np.broadcast_shapes(*shapes)


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to exactly ``target`` (numpy's rule)."""
    try:
        return broadcast_shape(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False


def broadcast_operands(op: str, *xs: Tensor) -> list[Tensor]:
    """Broadcast the operands that carry derivatives to the common shape; constants keep theirs."""
    try:
        shape = broadcast_shape(*(x.data.shape for x in xs))
    except ValueError:
        shapes = " and ".join(str(x.shape) for x in xs)
        raise ShapeError(
            f"{op}: shapes {shapes} cannot be broadcast together (numpy's rule: trailing axes "
            f"must be equal or 1); reshape or expand_dims one operand so the axes line up"
        ) from None
    return [
        apply(ops.BroadcastTo, x, shape=shape)
        if x.data.shape != shape and _differentiated(x)
        else x
        for x in xs
    ]


def binary(prim, name: str, doc: str):
    """The user-facing function of a binary primitive: converts operands, broadcasts those that
    carry derivatives (constants are left to numpy), applies."""

    def fn(a, b) -> Tensor:
        # NOTE: an ndarray operand is wrapped here, not through as_tensor: it saves a call on
        # one of the commonest operations (a Tensor times an array of constants).
        if type(a) is not Tensor:
            a = constant(a) if type(a) is np.ndarray else as_tensor(a, b)
        if type(b) is not Tensor:
            b = constant(b) if type(b) is np.ndarray else as_tensor(b, a)
        if a.data.shape != b.data.shape and (_differentiated(a) or _differentiated(b)):
            a, b = broadcast_operands(name, a, b)
        try:
            return apply(prim, a, b)
        except OpError:
            broadcast_operands(name, a, b)  # a shape mismatch: raise the clear error
            raise

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def unary(prim, name: str, doc: str):
    """The user-facing function of an elementwise unary primitive."""

    def fn(x) -> Tensor:
        return apply(prim, x if type(x) is Tensor else as_tensor(x))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


# ----- arithmetic --------------------------------------------------------------------------------

add = binary(ops.Add, "add", "a + b, with numpy broadcasting.")
sub = binary(ops.Sub, "sub", "a - b, with numpy broadcasting.")
mul = binary(ops.Mul, "mul", "a * b, with numpy broadcasting.")
div = binary(ops.Div, "div", "a / b (true division), with numpy broadcasting.")
pow = binary(
    ops.Pow,
    "pow",
    "a ** b, with numpy broadcasting; d/db uses log(a). At a = 0, as PyTorch: d/da = 0 where "
    "b = 0, d/db = 0 where b >= 0.",
)
maximum = binary(ops.Maximum, "maximum", "Elementwise max; at ties each side gets half the grad.")
minimum = binary(ops.Minimum, "minimum", "Elementwise min; at ties each side gets half the grad.")


def neg(x) -> Tensor:
    """-x."""
    return apply(ops.Neg, as_tensor(x))


def where(cond, a, b) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (numpy broadcasting over all three)."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool)
    a, b = as_tensor(a, b if isinstance(b, Tensor) else None), as_tensor(b, a)
    a, b, _ = broadcast_operands("where", a, b, Tensor(cond))  # cond's shape counts too
    return apply(ops.Where, a, b, cond=cond)


def clip(x, min=None, max=None) -> Tensor:
    """Limit values to [min, max] (numpy's order: max wins if min > max). The gradient goes to
    ``x`` inside the bounds (bounds included) and to a bound where ``x`` lies beyond it."""
    out = as_tensor(x)
    if min is not None:
        out = where(out < min, min, out)
    if max is not None:
        out = where(out > max, max, out)
    return out


def astype(x, dtype) -> Tensor:
    """``x`` in ``dtype``; the gradient flows back cast to ``x``'s dtype. A cast to an integer
    or bool dtype has no gradient (as in PyTorch): the result is a constant."""
    x = as_tensor(x)
    try:
        dtype = np.dtype(dtype)
    except TypeError as e:
        raise DTypeError(f"astype: {dtype!r} is not a dtype ({e})") from None
    if dtype.kind not in NUMERIC_KINDS:
        raise DTypeError(
            f"astype: cannot cast a tensor ({x.shape} {x.dtype}) to {dtype}; a tensor holds "
            f"numbers: cast to a bool, int, float or complex dtype"
        )
    if dtype == x.dtype:
        return x
    if dtype.kind not in "fc":
        return Tensor(x.data.astype(dtype))
    return apply(ops.Cast, x, dtype=dtype)


def compare(ufunc, a, b) -> Tensor:
    """A boolean Tensor from a numpy comparison (no gradient)."""
    a, b = as_tensor(a, b if isinstance(b, Tensor) else None), as_tensor(b, a)
    try:
        return Tensor(ufunc(a.data, b.data))
    except ValueError:
        broadcast_operands(ufunc.__name__, a, b)  # raises the clear shape error
        raise


# ----- elementwise -------------------------------------------------------------------------------


exp = unary(ops.Exp, "exp", "e ** x.")
log = unary(ops.Log, "log", "Natural logarithm.")
log1p = unary(ops.Log1p, "log1p", "log(1 + x), accurate near 0.")
expm1 = unary(ops.Expm1, "expm1", "exp(x) - 1, accurate near 0.")
sqrt = unary(ops.Sqrt, "sqrt", "Square root.")
abs = unary(ops.Abs, "abs", "|x|; the gradient at 0 is 0.")
sin = unary(ops.Sin, "sin", "Sine.")
cos = unary(ops.Cos, "cos", "Cosine.")
tan = unary(ops.Tan, "tan", "Tangent.")
tanh = unary(ops.Tanh, "tanh", "Hyperbolic tangent.")
sigmoid = unary(ops.Sigmoid, "sigmoid", "1 / (1 + exp(-x)), without overflow.")
relu = unary(ops.Relu, "relu", "max(x, 0); the gradient at 0 is 0.")
erf = unary(ops.Erf, "erf", "The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt.")


def sign(x) -> Tensor:
    """-1, 0 or 1 by the sign of each element (no gradient)."""
    return Tensor(np.sign(as_tensor(x).data))


# ----- reductions --------------------------------------------------------------------------------


def normalize_axes(op: str, axis, shape: tuple, ndim: int | None = None) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of distinct axes of a
    tensor of ``shape`` (or of a result with ``ndim`` dimensions, when given)."""
    ndim = len(shape) if ndim is None else ndim
    what = f"a tensor of shape {shape}" if ndim == len(shape) else (
        f"a result with {ndim} dimensions (input shape {shape})")  # fmt: skip
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | np.integer) else axis
    if not isinstance(axes, tuple | list) or not builtins.all(
        isinstance(a, int | np.integer) and not isinstance(a, bool) for a in axes
    ):
        raise ShapeError(
            f"{op}: axis={axis!r} is not an axis; give an int, a tuple of ints or None (all "
            f"axes), for {what}"
        )
    out = []
    for a in axes:
        if not -ndim <= a < ndim or (ndim == 0 and a not in (0, -1)):
            raise ShapeError(
                f"{op}: axis {a} is out of range for {what}; use an axis in [{-ndim}, {ndim - 1}]"
            )
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: axis {axis} names an axis twice ({what}); name each axis once")
    return tuple(sorted(out)) if ndim else ()


def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (None: all, int, or tuple)."""
    x = as_tensor(x)
    return apply(ops.Sum, x, axis=normalize_axes("sum", axis, x.shape), keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis``."""
    x = as_tensor(x)
    axes = normalize_axes("mean", axis, x.shape)
    return sum(x, axes, keepdims) / _count(x, axes)


def _count(x, axes) -> int:
    return int(np.prod([x.shape[a] for a in axes]))


def var(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Variance over ``axis``: sum((x - mean)^2) / (n - ddof)."""
    x = as_tensor(x)
    axes = normalize_axes("var", axis, x.shape)
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims) / builtins.max(_count(x, axes) - ddof, 0)


def std(x, axis=None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Standard deviation over ``axis``: sqrt(var)."""
    return sqrt(var(x, axis, ddof, keepdims))


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    """Largest element over ``axis``; tied maxima share the gradient evenly."""
    x = as_tensor(x)
    return apply(ops.Max, x, axis=normalize_axes("max", axis, x.shape), keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    """Smallest element over ``axis``; tied minima share the gradient evenly."""
    x = as_tensor(x)
    return apply(ops.Min, x, axis=normalize_axes("min", axis, x.shape), keepdims=keepdims)


def prod(x, axis=None, keepdims: bool = False) -> Tensor:
    """Product over ``axis`` (exact gradients with zeros too)."""
    x = as_tensor(x)
    return apply(ops.Prod, x, axis=normalize_axes("prod", axis, x.shape), keepdims=keepdims)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, without overflow. Its gradient is softmax(x)."""
    x = as_tensor(x)
    axes = normalize_axes("logsumexp", axis, x.shape)
    # NOTE: shifting by the max leaves the value and every derivative unchanged, so the shift is
    # a constant (no gradient through it).
    shift = np.max(x.data, axis=axes, keepdims=True) if x.size else np.zeros(())
    shift = np.where(np.isfinite(shift), shift, 0)
    out = log(sum(exp(x - shift), axes, keepdims=True)) + shift
    return (
        out if keepdims else out.reshape(tuple(d for i, d in enumerate(out.shape) if i not in axes))
    )


def _arg(fn, x, axis, keepdims):
    x = as_tensor(x)
    if x.size == 0:
        raise ShapeError(
            f"{fn.__name__}: the tensor is empty (shape {x.shape}), so it has no "
            f"{fn.__name__[3:]}imum to point at; check the size before asking"
        )
    if axis is not None:
        (axis,) = normalize_axes(fn.__name__, axis, x.shape)
    return Tensor(fn(x.data, axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the largest element (flat when axis is None); no gradient."""
    return _arg(np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the smallest element (flat when axis is None); no gradient."""
    return _arg(np.argmin, x, axis, keepdims)


def all(x, axis=None, keepdims: bool = False) -> Tensor:
    """Whether all elements are true (no gradient)."""
    x = as_tensor(x)
    return Tensor(np.all(x.data, axis=normalize_axes("all", axis, x.shape), keepdims=keepdims))


def any(x, axis=None, keepdims: bool = False) -> Tensor:
    """Whether any element is true (no gradient)."""
    x = as_tensor(x)
    return Tensor(np.any(x.data, axis=normalize_axes("any", axis, x.shape), keepdims=keepdims))


# ----- linear algebra ----------------------------------------------------------------------------


def matmul(a, b) -> Tensor:
    """Matrix product with numpy's rules: 1-D operands are vectors, leading axes broadcast."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: operands of shapes {a.shape} and {b.shape}: matmul needs at least one "
            f"dimension on each side; use * to multiply by a scalar"
        )
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(
            f"matmul: shapes {a.shape} @ {b.shape}: the last axis of the left operand "
            f"({a.shape[-1]}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} axis "
            f"of the right one ({b.shape[-2 if b.ndim > 1 else 0]}); transpose (x.T) or reshape"
        )
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
                if x.shape[:-2] != batch and _differentiated(x)
                else x
                for x in (a, b)
            )
        out = apply(ops.MatMul, a, b)
    return out if out.shape == out_shape else out.reshape(out_shape)


def dot(a, b) -> Tensor:
    """Inner product of two vectors (matmul for other shapes)."""
    return matmul(a, b)


def outer(a, b) -> Tensor:
    """Outer product of two vectors: shape (len(a), len(b))."""
    a, b = as_tensor(a), as_tensor(b)
    return a.reshape((-1, 1)) * b.reshape((1, -1))


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
