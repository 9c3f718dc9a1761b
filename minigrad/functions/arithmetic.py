"""Arithmetic and elementwise functions on Tensors (``mg.add``, ``mg.exp``, ...): each is one
primitive applied to operands made Tensors (and broadcast where they carry derivatives)."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import DTypeError, OpError
from ..primitive import apply
from ..tensor import NUMERIC_KINDS, Tensor, carries_derivatives, constant
from .operands import as_tensor, broadcast_operands


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
        if a.data.shape != b.data.shape and (carries_derivatives(a) or carries_derivatives(b)):
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
