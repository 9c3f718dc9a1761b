"""Making tensors: from data, filled, and ranges (``mg.tensor``, ``mg.zeros``, ``mg.arange``, ...).

PyTorch's signatures and dtypes: a factory makes the default dtype (``mg.get_default_dtype()``,
float32 unless set) unless told otherwise, except where PyTorch infers one from the values:
``full((2, 2), 7)`` is int64, ``arange(5)`` is int64, ``arange(0.5, 2)`` is the default float.
Sizes are varargs or one tuple/list (``zeros(2, 3)``, ``zeros((2, 3))``). ``device=`` takes
``"cpu"`` (the only device; see ``devices.py``). Random tensors are in ``random.py``.
"""

from __future__ import annotations

import operator

import numpy as np

from . import devices, dtypes
from .errors import DTypeError, OpError, ShapeError
from .functions.operands import alias
from .methods import provide
from .tensor import Tensor


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory=False,
           name: str | None = None) -> Tensor:  # fmt: skip
    """A new tensor holding a copy of ``data``, with PyTorch's dtypes: Python floats (and lists
    of them) -> the default dtype, ints -> int64, bools -> bool; a numpy array or a tensor keeps
    its dtype. The copy has no history (as ``torch.tensor(t)``, which is ``t.detach().clone()``).

    >>> tensor([1.0, 2.0], dtype=float, requires_grad=True)
    tensor([1., 2.], dtype=float64, requires_grad=True)
    """
    devices.check("tensor", device)
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, dtype=dtypes.resolve("tensor", dtype))
    if dtype is None:
        array = dtypes.of_python_data(array, data)
    return Tensor(array, requires_grad=requires_grad, name=name)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor without copying when it can: a tensor of ``dtype`` is returned as it
    is, a numpy array of ``dtype`` is shared (as ``torch.as_tensor``); otherwise converted."""
    devices.check("as_tensor", device)
    dtype = dtypes.resolve("as_tensor", dtype)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == dtype else data.to(dtype)
    if isinstance(data, np.ndarray):
        return Tensor(data if dtype is None else data.astype(dtype, copy=False))
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (a change to one shows in the other) and dtype,
    as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise DTypeError(
            f"from_numpy: expected np.ndarray (got {type(array).__name__}); for other data use "
            f"mg.tensor(data) or mg.as_tensor(data)"
        )
    return Tensor(array)


# ----- sizes and dtypes --------------------------------------------------------------------------


def checked_shape(op: str, shape) -> tuple[int, ...]:
    """``shape`` (``(2, 3)``, ``[2, 3]``, or ``2``) as a tuple of sizes >= 0, or a clear error."""
    sizes = (shape,) if isinstance(shape, int | np.integer) else shape
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
        isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 0 for n in sizes
    ):
        raise ShapeError(
            f"{op}: {shape!r} is not a shape; give sizes >= 0 as ints: {op}(2, 3) or {op}((2, 3))"
        )
    return tuple(int(n) for n in sizes)


def size_of(op: str, size: tuple, keywords: dict | None = None) -> tuple[int, ...]:
    """The shape of a factory given as varargs (``zeros(2, 3)``), one sequence
    (``zeros((2, 3))``) or PyTorch's ``size=`` keyword (in ``keywords``, the factory's other
    keyword arguments, which must be none)."""
    keywords = dict(keywords or {})
    size_keyword = keywords.pop("size", None)
    if keywords:
        raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(keywords))!r}")
    if size_keyword is not None:
        if size:
            raise ShapeError(f"{op}: the size is given twice, as {size} and as size=")
        size = size_keyword
    elif len(size) == 1 and not isinstance(size[0], int | np.integer):
        size = size[0]
    return checked_shape(op, size)


def factory_dtype(op: str, dtype) -> np.dtype:
    """``dtype`` resolved, or the default dtype when it is None."""
    return dtypes.get_default_dtype() if dtype is None else dtypes.resolve(op, dtype)


def floating_dtype(op: str, dtype, why: str) -> np.dtype:
    """``factory_dtype``, which must be a floating-point (or complex) one: a DTypeError that
    says ``why`` otherwise."""
    resolved = factory_dtype(op, dtype)
    if resolved.kind not in "fc":
        raise DTypeError(f"{op}: {why}, got {resolved}; use mg.float32 or mg.float64")
    return resolved


def count(op: str, name: str, value) -> int:
    """``value`` as an int >= 0 (a number of elements), or an OpError naming ``op``."""
    try:
        number = operator.index(value)
    except TypeError:
        number = -1
    if number < 0:
        raise OpError(f"{op}: {name} must be a non-negative int, got {value!r}")
    return number


def made(op: str, data: np.ndarray, device, requires_grad: bool) -> Tensor:
    """The tensor a factory returns: ``data`` on the CPU, requiring grad if asked."""
    devices.check(op, device)
    return Tensor(data, requires_grad=requires_grad)


# ----- filled ------------------------------------------------------------------------------------


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``, of the default dtype unless
    ``dtype`` is given."""
    shape = size_of("zeros", size, kw)
    return made("zeros", np.zeros(shape, factory_dtype("zeros", dtype)), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    """A tensor of ones (``ones(2, 3)`` or ``ones((2, 3))``)."""
    shape = size_of("ones", size, kw)
    return made("ones", np.ones(shape, factory_dtype("ones", dtype)), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    """A tensor whose values are whatever the memory held (fill it before reading)."""
    shape = size_of("empty", size, kw)
    return made("empty", np.empty(shape, factory_dtype("empty", dtype)), device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``, whose dtype it takes unless ``dtype`` is
    given (as PyTorch: ``full((2, 2), 7)`` is int64, ``full((2,), 7.0)`` the default float,
    ``full((2,), True)`` bool)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.data
    dtype = dtypes.scalar_dtype(fill_value) if dtype is None else dtypes.resolve("full", dtype)
    data = np.full(checked_shape("full", size), fill_value, dtype=dtype)
    return made("full", data, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:  # fmt: skip
    """The identity matrix, ``n`` x ``m`` (square unless ``m`` is given)."""
    data = np.eye(n, m, dtype=factory_dtype("eye", dtype))
    return made("eye", data, device, requires_grad)


# ----- ranges ------------------------------------------------------------------------------------


def _number(op: str, name: str, value):
    """A range's bound as a Python number (a 0-d tensor or numpy scalar gives its value)."""
    if isinstance(value, Tensor | np.ndarray | np.generic):
        if np.ndim(value) != 0:
            raise ShapeError(f"{op}: {name} must be a number, got an array of shape "
                             f"{np.shape(value)}")  # fmt: skip
        value = np.asarray(value).item()
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise DTypeError(f"{op}: {name} must be a real number, got {value!r}")
    return value


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False,
           stop=None) -> Tensor:  # fmt: skip
    """Values from ``start`` (0) up to, not including, ``end``, ``step`` apart: ``arange(5)``,
    ``arange(2, 8, 2)``. int64 when every bound is an int, the default float dtype otherwise
    (as PyTorch; numpy's ``stop=`` is accepted for ``end``)."""
    end = alias("arange", "end", end, "stop", stop)
    if end is None:
        start, end = 0, start
    bounds = [_number("arange", n, v) for n, v in (("start", start), ("end", end), ("step", step))]
    if bounds[2] == 0:
        raise OpError("arange: step must be nonzero")
    if (bounds[1] - bounds[0]) * bounds[2] < 0:
        raise OpError(
            f"arange: upper bound and lower bound inconsistent with step sign: start={start}, "
            f"end={end}, step={step}"
        )
    inferred = np.int64 if all(isinstance(b, int) for b in bounds) else np.float64
    data = np.arange(*bounds, dtype=inferred)
    wanted = dtypes.get_default_dtype() if inferred is np.float64 else dtypes.int64
    wanted = wanted if dtype is None else dtypes.resolve("arange", dtype)
    return made("arange", data.astype(wanted, copy=False), device, requires_grad)


def linspace(start, end=None, steps=None, *, dtype=None, device=None,
             requires_grad: bool = False, stop=None, num=None) -> Tensor:  # fmt: skip
    """``steps`` evenly spaced values from ``start`` to ``end``, both included, in the default
    dtype (numpy's ``stop=`` and ``num=`` are accepted for ``end`` and ``steps``)."""
    end = alias("linspace", "end", end, "stop", stop)
    steps = alias("linspace", "steps", steps, "num", num)
    if end is None or steps is None:
        raise OpError(
            "linspace: give start, end and steps, e.g. linspace(0, 1, 5) (PyTorch's linspace "
            "has no default number of points)"
        )
    steps = count("linspace", "steps", steps)
    start, end = _number("linspace", "start", start), _number("linspace", "end", end)
    data = np.linspace(start, end, steps).astype(factory_dtype("linspace", dtype), copy=False)
    return made("linspace", data, device, requires_grad)


def logspace(start, end, steps, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``base ** linspace(start, end, steps)``: ``steps`` values evenly spaced in log scale."""
    steps = count("logspace", "steps", steps)
    start, end = _number("logspace", "start", start), _number("logspace", "end", end)
    data = np.logspace(start, end, steps, base=base)
    return made("logspace", data.astype(factory_dtype("logspace", dtype)), device, requires_grad)


# ----- like another tensor -----------------------------------------------------------------------


def like_data(input) -> np.ndarray:
    """The array whose shape (and dtype) a ``*_like`` factory copies."""
    return input.data if isinstance(input, Tensor) else as_tensor(input).data


def like_dtype(op: str, input: np.ndarray, dtype) -> np.dtype:
    """``dtype`` resolved, or the dtype of ``input`` when it is None."""
    return input.dtype if dtype is None else dtypes.resolve(op, dtype)


def _like(op: str, fill, input, dtype, device, requires_grad: bool) -> Tensor:
    x = like_data(input)
    return made(op, fill(x.shape, like_dtype(op, x, dtype)), device, requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of ``input``."""
    return _like("zeros_like", np.zeros, input, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype, unless given) of ``input``."""
    return _like("ones_like", np.ones, input, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An unfilled tensor with the shape (and dtype, unless given) of ``input``."""
    return _like("empty_like", np.empty, input, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``fill_value`` in the shape and dtype (unless given) of ``input``: ``full_like`` of an
    int64 tensor with 2.7 holds 2, as PyTorch's."""
    fill = lambda shape, dtype: np.full(shape, fill_value, dtype)  # noqa: E731
    return _like("full_like", fill, input, dtype, device, requires_grad)


provide(empty, full, ones, tensor, zeros)  # for x.new_zeros(...) and friends
