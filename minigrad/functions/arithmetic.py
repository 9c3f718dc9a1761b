"""Arithmetic and elementwise functions on Tensors (``mg.add``, ``mg.exp``, ...): each is one
primitive applied to operands made Tensors (and broadcast where they carry derivatives)."""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..batching import map_data, values_of
from ..errors import DTypeError, OpError
from ..primitive import apply
from ..tensor import NUMERIC_KINDS, Tensor, carries_derivatives, constant
from .operands import as_tensor, broadcast_operands, promoted, tensor_pair


def binary(prim, name: str, doc: str, true_division: bool = False):
    """The user-facing function of a binary primitive: converts operands, promotes their dtypes
    as PyTorch does (``promotion.py``), broadcasts those that carry derivatives (constants are
    left to numpy), applies."""

    def fn(a, b) -> Tensor:
        # NOTE: the common forms without tensor_pair's call (a Tensor and an array of
        # constants, a Tensor and a Python number): every operation of a model passes here.
        if type(a) is Tensor:
            if type(b) is not Tensor:
                b = constant(b) if type(b) is np.ndarray else as_tensor(b, a)
        elif type(b) is Tensor:
            a = constant(a) if type(a) is np.ndarray else as_tensor(a, b)
        else:
            a, b = tensor_pair(a, b)
        x, y = a.data, b.data
        if x.dtype is not y.dtype or (true_division and x.dtype.kind in "biu"):
            a, b = promoted(a, b, true_division)
            x, y = a.data, b.data
        # NOTE: a constant 0-d operand (``1 + x``, ``x / n``) needs no broadcasting: the other
        # operand has the result's shape. Checked on the slots, without reading the modes.
        if (
            x.shape != y.shape
            and not (
                (y.ndim == 0 and not b.requires_grad and b.tangent is None)
                or (x.ndim == 0 and not a.requires_grad and a.tangent is None)
            )
            and (carries_derivatives(a) or carries_derivatives(b))
        ):
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
div = binary(
    ops.Div,
    "div",
    "a / b (true division; integers give the default floating dtype), broadcasting.",
    true_division=True,
)
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


def where(condition, input=None, other=None):
    """``input`` where ``condition`` is true, else ``other``, broadcast together (PyTorch's
    ``torch.where``): ``condition`` is a bool tensor or array. Each side gets the gradient where
    it was chosen. ``where(condition)`` alone is the indices of the true elements, one int64
    tensor per dim (``nonzero(as_tuple=True)``)."""
    # NOTE: a tensor's own data, not np.asarray of it: under mg.vmap that is a batched
    # stand-in, which np.asarray would turn into its placeholder zeros.
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != bool:
        raise DTypeError(
            f"where: the condition is {cond.dtype} (shape {cond.shape}); it must be a bool "
            f"tensor, as in PyTorch: compare first (e.g. mask != 0)"
        )
    if input is None and other is None:
        return tuple(Tensor(i.astype(np.int64, copy=False)) for i in np.nonzero(cond))
    if input is None or other is None:
        raise OpError("where: give both input and other (or neither, for the indices)")
    a, b = tensor_pair(input, other)
    a, b, _ = broadcast_operands("where", a, b, Tensor(cond))  # cond's shape counts too
    return apply(ops.Where, a, b, cond=cond)


def clamp(input, min=None, max=None) -> Tensor:
    """Values limited to [min, max]; ``min`` and ``max`` may be numbers or tensors (broadcast).
    Where ``min > max`` the result is ``max``, as in PyTorch. The gradient goes to ``input``
    inside the bounds (bounds included) and to a bound where ``input`` lies beyond it.

    >>> import minigrad as mg
    >>> mg.tensor([-2.0, 0.5, 3.0]).clamp(0, 1)
    tensor([0. , 0.5, 1. ])
    """
    if min is None and max is None:
        raise OpError("clamp: at least one of min and max must be given (not None)")
    out = as_tensor(input)
    if min is not None:
        out = where(out < min, min, out)
    if max is not None:
        out = where(out > max, max, out)
    return out


def clip(input, min=None, max=None) -> Tensor:
    """``clamp`` (PyTorch's alias, and numpy's name)."""
    return clamp(input, min, max)


def clamp_(input: Tensor, min=None, max=None) -> Tensor:
    """``clamp`` in place, for a tensor that is not being differentiated (as ``add_``)."""
    if min is None and max is None:
        raise OpError("clamp_: at least one of min and max must be given (not None)")
    bounds = [values_of(b, "clamp") for b in (min, max)]
    lo, hi = (None if b is None else bound for b, bound in zip((min, max), bounds))
    tensors = [b for b in (min, max) if isinstance(b, Tensor)]
    return input._inplace(
        "clamp_", lambda d: np.clip(d, lo, hi, out=d), tensors[0] if tensors else None
    )


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
        return map_data(lambda data: data.astype(dtype), x)  # no gradient (batched: mg.vmap)
    return apply(ops.Cast, x, dtype=dtype)


def compare(ufunc, a, b) -> Tensor:
    """A boolean Tensor from a numpy comparison (no gradient)."""
    a, b = tensor_pair(a, b)
    try:
        return map_data(ufunc, a, b)  # (batched under mg.vmap)
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


def rsqrt(input) -> Tensor:
    """1 / sqrt(x)."""
    return 1 / sqrt(input)


def square(input) -> Tensor:
    """x * x."""
    x = as_tensor(input)
    return x * x


def reciprocal(input) -> Tensor:
    """1 / x (a float tensor for integer ``x``, as in PyTorch)."""
    return 1 / as_tensor(input)


def log2(input) -> Tensor:
    """The base-2 logarithm."""
    return log(input) / math.log(2.0)


def log10(input) -> Tensor:
    """The base-10 logarithm."""
    return log(input) / math.log(10.0)


# ----- piecewise constant: the derivative is 0 (PyTorch's too, at the jumps) ---------------------


def _step(input, fn: str, decimals: int = 0) -> Tensor:
    x = as_tensor(input)
    if x.dtype.kind not in "fc" and (fn != "sign" or x.dtype.kind == "b"):
        return Tensor(x.data.copy())  # integers are whole already (and a bool's sign is itself)
    return apply(ops.Step, x, fn=fn, decimals=decimals)


def floor(input) -> Tensor:
    """The largest integer <= x, elementwise (in x's dtype); its gradient is 0."""
    return _step(input, "floor")


def ceil(input) -> Tensor:
    """The smallest integer >= x, elementwise; its gradient is 0."""
    return _step(input, "ceil")


def trunc(input) -> Tensor:
    """x rounded toward 0, elementwise; its gradient is 0."""
    return _step(input, "trunc")


def round(input, *, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (``round(2.5) == 2``, as PyTorch and
    numpy); its gradient is 0."""
    return _step(input, "round", decimals)


def sign(input) -> Tensor:
    """-1, 0 or 1 by the sign of each element; its gradient is 0."""
    return _step(input, "sign")


# ----- integer division --------------------------------------------------------------------------


def floor_divide(input, other) -> Tensor:
    """``input // other``: the quotient rounded toward -inf (PyTorch's ``floor_divide``). Integers
    give integers; for floats it is ``floor(input / other)``, whose gradient is 0 (PyTorch has
    none at all)."""
    a, b = _operands(input, other)
    if a.dtype.kind in "biu":  # (no gradient: numpy's, batched under mg.vmap)
        return map_data(np.floor_divide, a, b)
    return floor(a / b)


def remainder(input, other) -> Tensor:
    """``input % other`` with the sign of ``other`` (Python's and PyTorch's ``remainder``):
    ``input - other * floor(input / other)``, so its gradient is 1 for ``input`` and
    ``-floor(input / other)`` for ``other``, as PyTorch's."""
    a, b = _operands(input, other)
    if a.dtype.kind in "biu":
        return map_data(np.remainder, a, b)
    return a - b * floor(a / b)


def _operands(a, b) -> tuple[Tensor, Tensor]:
    """Two operands as Tensors in the dtype PyTorch computes them in."""
    return promoted(*tensor_pair(a, b))
