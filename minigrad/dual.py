"""``Dual`` and ``DualMath``: the cotangents of a forward-over-reverse pass, as pairs of arrays.

In forward-over-reverse (``mg.hvp``, ``mg.hessian``) the backward pass runs while the inputs
carry tangents and nothing is recorded: every cotangent needs its value and its tangents (a
batch ``(B, *shape)``), nothing more. Carried as Tensors, each step of the pass went through the
functions layer and ``apply`` (a Tensor, its tangent, the mode read twice): about two thirds of
an HVP's time at n = 50. A ``Dual`` is the pair itself; the built-in rules compute on it with
``DualMath`` (the namespace ``ops.math.ArrayMath`` and ``autograd.TensorMath`` mirror), and
each operation runs the primitive's own ``forward`` and ``jvp``, exactly what ``apply`` would
run, so the results are the same, bit for bit.

The common operations (``+ - * /``, negation, ``@``, ``xp.apply``, ``xp.broadcast_to``,
``reshape``) run here directly on the arrays; every other one, and any operand whose dtype or
kind differs (where PyTorch's promotion applies), goes through the Tensor path: the pair made a
Tensor carrying its tangent, the Tensor operation in forward mode, the result a pair again. So a
rule may use any Tensor method on its cotangent.
"""

from __future__ import annotations

import numpy as np

from . import functions, ops
from .ops.shape import broadcast_view
from .tensor import Tensor, constant

_SCALARS = (float, int)


class Dual:
    """A cotangent's value ``data`` (an ndarray) and its tangents ``tangent`` (``(B, *shape)``,
    or None: none)."""

    __slots__ = ("data", "tangent")
    __array_ufunc__ = None  # ndarray (op) Dual -> the Dual's reflected operator

    def __init__(self, data, tangent):
        self.data = data
        self.tangent = tangent

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)

    def __len__(self):
        return len(self.data)

    def __neg__(self):
        return dual_apply(ops.Neg, self)

    def __add__(self, other):
        return _binary(ops.Add, "__add__", self, other)

    def __radd__(self, other):
        return _binary(ops.Add, "__radd__", other, self)

    def __sub__(self, other):
        return _binary(ops.Sub, "__sub__", self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub, "__rsub__", other, self)

    def __mul__(self, other):
        return _binary(ops.Mul, "__mul__", self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, "__rmul__", other, self)

    def __truediv__(self, other):
        return _binary(ops.Div, "__truediv__", self, other)

    def __rtruediv__(self, other):
        return _binary(ops.Div, "__rtruediv__", other, self)

    def __matmul__(self, other):
        return _matmul("__matmul__", self, other)

    def __rmatmul__(self, other):
        return _matmul("__rmatmul__", other, self)

    def reshape(self, *shape):
        if len(shape) == 1 and type(shape[0]) is tuple:
            shape = shape[0]
        data = self.data
        if shape == data.shape:
            return self
        if -1 not in shape and all(type(d) is int for d in shape) and _size(shape) == data.size:
            return dual_apply(ops.Reshape, self, shape=shape)
        return _via_tensor(self, "reshape", shape)

    def __getattr__(self, name):
        """Any other Tensor method or property, through the Tensor path."""
        attr = getattr(as_tensor(self), name)
        if not callable(attr):
            return as_dual(attr)
        return lambda *args, **kwargs: as_dual(
            attr(*[as_tensor(a) for a in args], **{k: as_tensor(v) for k, v in kwargs.items()})
        )

    __hash__ = object.__hash__


def _size(shape) -> int:
    size = 1
    for d in shape:
        size *= d
    return size


def _reflected(name):
    def method(self, *args):
        return _via_tensor(self, name, *args)

    method.__name__ = name
    return method


for _name in (
    "__pow__", "__rpow__", "__rmatmul__", "__getitem__", "__abs__", "__eq__", "__ne__", "__lt__",
    "__le__", "__gt__", "__ge__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__",
    "__and__", "__or__", "__xor__", "__invert__", "__pos__",
):  # fmt: skip
    if _name not in Dual.__dict__:
        setattr(Dual, _name, _reflected(_name))
Dual.__hash__ = object.__hash__  # defining __eq__ would otherwise make it unhashable


def as_tensor(x):
    """A Dual as a Tensor carrying its tangent (anything else as it is)."""
    if type(x) is not Dual:
        return x
    t = constant(x.data)
    t.tangent = x.tangent
    return t


def as_dual(x):
    """A Tensor (or a tuple or list of them) as Duals (anything else as it is)."""
    if isinstance(x, Tensor):
        return Dual(x.data, x.tangent)
    if type(x) is tuple or type(x) is list:
        return type(x)(as_dual(v) for v in x)
    return x


def _via_tensor(x, name, *args):
    """``x.name(*args)`` on Tensors (forward mode is on: the result carries its tangent)."""
    return as_dual(getattr(as_tensor(x), name)(*[as_tensor(a) for a in args]))


def dual_apply(prim, *args, **params) -> Dual:
    """``prim`` on Duals and constants: its ``forward`` on the values and its ``jvp`` on the
    tangents, as ``primitive.apply`` runs them in forward mode (constants that are not arrays
    become arrays as ``Primitive.apply`` makes them)."""
    xs, ts, carried = [], [], False
    for a in args:
        if type(a) is Dual:
            xs.append(a.data)
            ts.append(a.tangent)
            carried = carried or a.tangent is not None
        else:
            xs.append(a if type(a) is np.ndarray else Tensor(a).data)
            ts.append(None)
    if carried and prim.forward_and_jvp is not None:
        both = prim.forward_and_jvp(ts, *xs, **params)
        if both is not None:
            return Dual(*both)
    y = _array(prim.forward(*xs, **params))  # a numpy scalar (a full sum) as ``apply`` makes it
    return Dual(y, prim.jvp(ts, y, *xs, **params) if carried else None)


def _operand(x, dtype):
    """``(value, tangent)`` of an operand of a binary operation in ``dtype``; None if it needs
    the Tensor path (another dtype: PyTorch's promotion decides)."""
    if type(x) is Dual:
        return (x.data, x.tangent) if x.data.dtype == dtype else None
    if type(x) is np.ndarray:
        return (x, None) if x.dtype == dtype else None
    if type(x) in _SCALARS and dtype.kind in "fc":
        return np.asarray(x, dtype), None  # a Python number is weak: it takes the dtype
    return None


def _binary(prim, name, a, b):
    """``prim`` on two operands, one of them a Dual; as ``mg.add`` etc. on Tensors."""
    if type(a) is Dual and type(b) is Dual and a.data.dtype == b.data.dtype:
        (xa, ta), (xb, tb) = (a.data, a.tangent), (b.data, b.tangent)  # the common case
    else:
        dual = a if type(a) is Dual else b
        dtype = dual.data.dtype
        pa, pb = _operand(a, dtype), _operand(b, dtype)
        if pa is None or pb is None:
            return _via_tensor(dual, name, b if dual is a else a)
        (xa, ta), (xb, tb) = pa, pb
    if ta is None and tb is None:
        return Dual(_array(prim.forward(xa, xb)), None)
    if xa.shape != xb.shape:  # an operand that carries tangents is broadcast with them
        shape = functions.broadcast_shape(xa.shape, xb.shape)
        if ta is not None and xa.shape != shape:
            ta, xa = ops.BroadcastTo.jvp([ta], None, xa, shape), broadcast_view(xa, shape)
        if tb is not None and xb.shape != shape:
            tb, xb = ops.BroadcastTo.jvp([tb], None, xb, shape), broadcast_view(xb, shape)
    y = _array(prim.forward(xa, xb))
    return Dual(y, prim.jvp([ta, tb], y, xa, xb))


def _array(y):
    """A forward's result as an ndarray (a numpy scalar, from 0-d operands, made 0-d)."""
    return y if type(y) is np.ndarray else np.asarray(y)


def _matmul(name, a, b):
    """``a @ b`` with a Dual: ``MatMul`` directly for a matrix and a matrix or a vector of one
    dtype (which ``mg.matmul`` hands to it as they are)."""
    dual = a if type(a) is Dual else b
    dtype = dual.data.dtype
    pa, pb = _operand(a, dtype), _operand(b, dtype)
    if pa is None or pb is None or (pa[0].ndim, pb[0].ndim) not in ((2, 2), (2, 1), (1, 2)):
        return _via_tensor(dual, name, b if dual is a else a)
    return dual_apply(ops.MatMul, Dual(*pa), Dual(*pb))


class DualMath:
    """What built-in rules compute with in a forward-over-reverse pass: ``Dual`` cotangents.
    The names mirror ``ops.math.ArrayMath``."""

    @staticmethod
    def value(t: Tensor) -> Dual:
        return Dual(t.data, t.tangent)

    apply = staticmethod(dual_apply)

    @staticmethod
    def scatter(g, index: tuple, shape: tuple) -> Dual:
        return dual_apply(ops.ScatterAdd, g, index=index, shape=shape)

    @staticmethod
    def broadcast_to(g, shape):
        shape = tuple(shape)
        if type(g) is Dual:
            data, t = g.data, g.tangent
            if data.shape == shape:
                return g
            try:  # NOTE: dual_apply(ops.BroadcastTo, g, shape=shape), without its generality
                y = ops.BroadcastTo.forward(data, shape)
            except (ValueError, TypeError):
                pass  # a size of -1 (PyTorch's "keep"), or an error that mg.broadcast_to words
            else:
                return Dual(y, None if t is None else ops.BroadcastTo.jvp([t], y, data, shape))
        return as_dual(functions.broadcast_to(as_tensor(g), shape))


def _lifted(fn):
    """``fn`` (an mg.* function) on Duals, through the Tensor path."""

    def on_duals(*args, **kwargs):
        return as_dual(fn(*[as_tensor(a) for a in args], **kwargs))

    on_duals.__name__ = fn.__name__
    return on_duals


for _name in ("where", "exp", "log", "sign", "sin", "cos", "tanh"):
    setattr(DualMath, _name, staticmethod(_lifted(getattr(functions, _name))))
