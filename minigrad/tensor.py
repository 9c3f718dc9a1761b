"""``Tensor``: an ndarray with a gradient, a tangent and a place on the tape.

This file holds what a tensor is: its data and attributes, conversions, ``backward`` and the
in-place updates. Its operations (``x.sum()``, ``x + y``) are methods of ``TensorMethods``
(``methods/``), which call the ``mg.*`` functions. ``constant`` is the fast constructor
that ``primitive.apply`` uses for every result.
"""

from __future__ import annotations

import numpy as np

from . import autodiff, dtypes
from .autodiff import mode
from .dtypes import NUMERIC_KINDS
from .errors import BackwardError, BatchingError, DTypeError, IndexingError, OpError
from .hooks import GradientHooks, RemovableHandle, add_hook
from .methods import TensorMethods, mg


def _differentiable(dtype) -> bool:
    return dtype.kind in "fc"


class Tensor(TensorMethods):
    """An n-dimensional array that records the operations applied to it for backpropagation.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "tangent", "name", "_version", "_hooks")
    # NOTE: no __getattr__ (to name a missing PyTorch method, as mg.fft is named): a class that
    # has one loses CPython's fast attribute access, and every operation reads .data and
    # .requires_grad several times (measured: 9% more instructions per operation).
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray + Tensor -> Tensor

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        """``data`` (kept, not copied, when it is an array of ``dtype``) as a tensor. As PyTorch:
        Python floats take the default dtype (``mg.get_default_dtype()``), ints int64."""
        if isinstance(data, Tensor):
            data = data.data
        if type(data) in KEPT_ARRAYS and dtype is None:
            array = data  # a batched stand-in or a recording view: kept as it is
        else:
            array = np.asarray(data, dtype=dtypes.resolve("tensor", dtype))
        data = array if dtype is not None else dtypes.of_python_data(array, data)
        if data.dtype.kind not in NUMERIC_KINDS:
            raise DTypeError(
                f"tensor: cannot hold {data.dtype} data; a tensor holds numbers (bool, int, "
                f"float or complex): convert the values first"
            )
        initialize(self, data)
        self.name = name
        if requires_grad:
            self.requires_grad_(True)

    # ----- attributes ----------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The length of each axis, as numpy's ``shape``."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the data."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded operation (their ``.grad`` is filled)."""
        return self._node is None

    @property
    def node(self):
        """The record of the operation that made this tensor (its primitive ``prim``, its
        ``parents`` and ``params``; see ``autodiff.Node``), or None for a leaf. For tools that
        read the graph, such as ``mg.viz``."""
        return self._node

    @property
    def grad_fn(self) -> str | None:
        """The name of the primitive that made this tensor, if it was recorded."""
        return None if self._node is None else self._node.prim.__name__

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (floating-point tensors only)."""
        if requires_grad and not _differentiable(self.data.dtype):
            raise DTypeError(
                f"requires_grad: only floating-point tensors can require grad, this one is "
                f"{self.data.dtype}{f' ({self.name!r})' if self.name else ''}; create it with a "
                f"float dtype, e.g. mg.tensor(data, dtype='float64', requires_grad=True)"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Also fill ``.grad`` of this non-leaf tensor during backward (after its hooks)."""
        self._gradient_hooks().retain = True
        return self

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        return self._hooks is not None and self._hooks.retain

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is complete during backward; a
        returned tensor replaces the gradient (what flows on to the tensors it was made from, or
        what a leaf accumulates into ``.grad``). Hooks run in the order registered; the handle's
        ``remove()`` takes the hook out. As PyTorch's ``Tensor.register_hook``.

        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> handle = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([20., 40.])
        """
        if not self.requires_grad:
            raise BackwardError(
                f"register_hook: the tensor (shape {self.shape}) does not require grad, so no "
                f"gradient will reach it; hook a tensor that requires grad"
            )
        return add_hook(self._gradient_hooks().fns, hook, "register_hook")

    def _gradient_hooks(self) -> GradientHooks:
        if self._hooks is None:
            self._hooks = GradientHooks()
        return self._hooks

    # ----- conversion ----------------------------------------------------------------------------

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise OpError(
                f"item: the tensor has shape {self.shape} ({self.data.size} elements); item() "
                f"needs exactly one element (index or reduce first)"
            )
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def tolist(self):
        """The values as (nested) Python lists of numbers."""
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the tape: no history, does not require grad."""
        return Tensor(self.data)

    def clone(self) -> Tensor:
        """A copy of the data that stays on the tape (gradients flow back to ``self``)."""
        return mg.mul(self, 1) if _differentiable(self.dtype) else Tensor(self.data.copy())

    def astype(self, dtype) -> Tensor:
        """A copy in another dtype; gradients flow back cast to this tensor's dtype."""
        return mg.astype(self, dtype)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise OpError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use "
                f"(x > 0).any() / .all(), or compare one element"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        return int(self.data.__index__())

    def __repr__(self) -> str:
        if is_batched(self):  # under mg.vmap: no values to show
            body = self.data.describe()
        else:
            body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        dtype = self.data.dtype
        # As PyTorch's: the dtype is shown unless it is the one mg.tensor(data) would give.
        if dtype not in (dtypes.get_default_dtype(), np.int64, np.bool_, dtypes.default_complex()):
            extras.append(f"dtype={dtype}")
        if self.name:
            extras.append(f"name={self.name!r}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.prim.__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    # ----- backpropagation -----------------------------------------------------------------------

    def backward(self, grad=None, retain_graph: bool | None = None, create_graph: bool = False):
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf it depends on.

        ``grad`` is the cotangent (needed unless the tensor has one element). The graph is
        freed as it is walked unless ``retain_graph=True``; ``create_graph=True`` records the
        backward pass itself, so the gradients can be differentiated again (and then keeps the
        graph unless ``retain_graph=False``).
        """
        mg.backward(self, grad, retain_graph, create_graph)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None
        autodiff.grad_set(self)

    # ----- in-place updates (outside the tape; they bump the version counter) -------------------

    def _inplace(self, op: str, update, operand=None, out_of_place=None) -> Tensor:
        # NOTE: minigrad does not record in-place changes, so one that a derivative would have
        # to pass through is refused rather than silently differentiated wrong.
        if carries_derivatives(self):
            raise OpError(
                f"{op}: in-place change of a tensor that requires grad or carries a tangent "
                f"(shape {self.shape}) would make its derivatives wrong; do it under "
                f"`with mg.no_grad():` (as optimizers do) or use the out-of-place op"
            )
        if isinstance(operand, Tensor) and is_batched(operand) and not is_batched(self):
            raise BatchingError(
                f"{op}: the value written in place (shape {operand.shape}) is batched under "
                f"mg.vmap (it differs from example to example), and this tensor (shape "
                f"{self.shape}) is not: one tensor cannot hold every example's values; build "
                f"the result out of place instead (x + y, mg.where), or pass the tensor in as a "
                f"batched argument"
            )
        if isinstance(operand, Tensor) and carries_derivatives(operand):
            raise OpError(
                f"{op}: the value written in place (shape {operand.shape}) requires grad or "
                f"carries a tangent, and minigrad does not record in-place changes, so its "
                f"derivative would be lost; build the result out of place instead (x + y, "
                f"mg.where, mg.concatenate, mg.stack)"
            )
        if is_batched(self):  # under mg.vmap: the stand-in takes the batch of new values
            if out_of_place is None:
                raise BatchingError(
                    f"{op} on a tensor batched under mg.vmap is not supported; build the result "
                    f"out of place (mg.where, mg.scatter) instead"
                )
            new = out_of_place()
            if not is_batched(new):  # (fill_, copy_): the same values for every example
                new = mg.where(self == self, new, new)  # (a batched condition: batched)
            self.data = (new if new.dtype == self.dtype else new.to(self.dtype)).data
            return self
        try:
            update(self.data)
        except IndexError as e:
            raise IndexingError(f"{op}: {e} (tensor of shape {self.shape})") from None
        except (ValueError, TypeError) as e:
            raise OpError(f"{op}: {e} (tensor of shape {self.shape}, {self.dtype})") from None
        self._version = autodiff.tick(self.data)
        return self

    def add_(self, other, alpha=1) -> Tensor:
        """``self += alpha * other`` in place. Refused for a tensor that requires grad while grad
        mode is on (do it under ``mg.no_grad()``, as optimizers do); backward refuses a graph
        that saved this tensor before the change."""
        if type(other) is np.ndarray and not carries_derivatives(self):
            # NOTE: an optimizer's update, once per parameter and step: without _inplace's
            # closure. A failed update changes nothing, and _inplace then names the error.
            data = self.data
            try:
                np.add(data, other if alpha == 1 else alpha * other, out=data)
                self._version = autodiff.tick(data)
                return self
            except (ValueError, TypeError):
                pass
        return self._inplace("add_", lambda d: np.add(d, alpha * np.asarray(other), out=d), other,
                             lambda: self + alpha * other)  # fmt: skip

    def sub_(self, other, alpha=1) -> Tensor:
        """``self -= alpha * other`` in place."""
        return self._inplace(
            "sub_", lambda d: np.subtract(d, alpha * np.asarray(other), out=d), other,
            lambda: self - alpha * other,
        )  # fmt: skip

    def mul_(self, other) -> Tensor:
        """``self *= other`` in place."""
        return self._inplace("mul_", lambda d: np.multiply(d, np.asarray(other), out=d), other,
                             lambda: self * other)  # fmt: skip

    def div_(self, other) -> Tensor:
        """``self /= other`` in place."""
        return self._inplace("div_", lambda d: np.divide(d, np.asarray(other), out=d), other,
                             lambda: self / other)  # fmt: skip

    def copy_(self, src) -> Tensor:
        """Overwrite the values with ``src``'s (broadcast to this shape), in place."""
        return self._inplace("copy_", lambda d: np.copyto(d, np.asarray(src)), src,
                             lambda: mg.broadcast_to(src, self.shape))  # fmt: skip

    def fill_(self, value) -> Tensor:
        """Set every element to ``value``, in place."""
        return self._inplace("fill_", lambda d: d.fill(value), None,
                             lambda: mg.full(self.shape, value, dtype=self.dtype))  # fmt: skip

    def zero_(self) -> Tensor:
        """Set every element to 0, in place."""
        return self.fill_(0)

    # ``x += y`` and friends: in place (as PyTorch's) when nothing is being recorded; while grad
    # mode is on and a gradient is involved, out of place, so the tape stays right (the name is
    # rebound to the new tensor; minigrad does not record in-place operations).
    def __iadd__(self, other):
        return self.add_(other) if self._update_in_place(other) else mg.add(self, other)

    def __isub__(self, other):
        return self.sub_(other) if self._update_in_place(other) else mg.sub(self, other)

    def __imul__(self, other):
        return self.mul_(other) if self._update_in_place(other) else mg.mul(self, other)

    def __itruediv__(self, other):
        return self.div_(other) if self._update_in_place(other) else mg.div(self, other)

    def _update_in_place(self, other) -> bool:
        return not (
            carries_derivatives(self) or (isinstance(other, Tensor) and carries_derivatives(other))
        )

    def __setitem__(self, index, value) -> None:
        index = mg.normalize_index(self, index)
        self._inplace("__setitem__", lambda d: d.__setitem__(index, np.asarray(value)), value,
                      lambda: mg.with_values_at(self, index, value))  # fmt: skip


def is_batched(x) -> bool:
    """Whether ``x`` (a tensor or an array) stands for a batch under ``mg.vmap``: its data
    holds no values (an index, a mask, labels that differ from example to example...)."""
    return getattr(x.data if isinstance(x, Tensor) else x, "stands_for_a_batch", False)


def carries_derivatives(t: Tensor) -> bool:
    """Whether what is done to ``t`` now must be differentiated: it requires grad while grad mode
    is on, or it carries a tangent in forward mode."""
    now = mode()
    return (now.grad_enabled and t.requires_grad) or (
        now.forward_level > 0 and t.tangent is not None
    )


def constant(data) -> Tensor:
    """Wrap an ndarray (or numpy scalar) as a Tensor with no history: the fast constructor,
    without ``Tensor()``'s conversion and checks."""
    t = _new(Tensor)
    initialize(t, data)
    return t


# ndarray subclasses a tensor holds as they are (every other array becomes a plain ndarray):
# mg.vmap's batched stand-ins and mg.compile's recording views register theirs.
KEPT_ARRAYS: set[type] = set()


def initialize(t: Tensor, data) -> None:
    """Every slot of a new tensor holding ``data`` (an ndarray, or a numpy scalar made one): no
    gradient, no history, no name. The one place they are set, for ``Tensor()``, ``constant``
    and the result of every operation (``primitive.apply``)."""
    t.data = data if type(data) is np.ndarray or type(data) in KEPT_ARRAYS else np.asarray(data)
    t.grad = t._node = t.tangent = t.name = None
    t._version = 0
    t._hooks = None
    t.requires_grad = False


_new = object.__new__
