"""dtypes: ``mg.float32``, ``mg.int64``, ... and the default dtype (``mg.set_default_dtype``).

minigrad's dtypes are numpy's (``mg.float32`` is ``np.dtype("float32")``), so ``x.dtype ==
mg.float32`` holds and numpy dtypes, scalar types and strings are accepted wherever a dtype is.
PyTorch's short names come too: ``mg.float`` is float32, ``mg.double`` float64, ``mg.half``
float16, ``mg.long`` int64, ``mg.int`` int32, ``mg.short`` int16, ``mg.cfloat`` complex64.
(numpy's strings keep numpy's meaning: ``"float"`` is float64, as ``np.dtype("float")``.)

As in PyTorch, Python floats (and lists of them) become the default dtype, float32 unless
``set_default_dtype`` says otherwise; Python ints become int64, bools bool, complex numbers the
complex dtype that pairs with the default (complex64 for float32); numpy arrays keep theirs.

>>> import minigrad as mg
>>> mg.tensor([1.5, 2.0]).dtype == mg.get_default_dtype()
True
>>> mg.tensor([1, 2]).dtype == mg.int64
True
"""

from __future__ import annotations

import builtins

import numpy as np

from .errors import DTypeError

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int16 = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)

NUMERIC_KINDS = "biufc"  # numpy's kinds of bool, int, unsigned, float, complex

# The one piece of global dtype state, as PyTorch's (process-wide, not per thread).
_default = float32


def get_default_dtype() -> np.dtype:
    """The dtype of new floating-point tensors made from Python numbers and by the factories
    (``mg.zeros``, ``mg.randn``, ...) and of layers' parameters: float32 unless changed."""
    return _default


def set_default_dtype(dtype) -> None:
    """Make ``dtype`` (a floating-point dtype: float32, float64 or float16) the default, as
    ``torch.set_default_dtype``. PyTorch's test suite sets float64 for gradient checks."""
    global _default
    resolved = resolve("set_default_dtype", dtype)
    if resolved is None or resolved.kind != "f":
        raise DTypeError(
            f"set_default_dtype: only floating-point types can be the default, got {dtype!r}; "
            f"use mg.float32, mg.float64 or mg.float16 (integer tensors are int64 already)"
        )
    _default = resolved


def default_complex() -> np.dtype:
    """The complex dtype that pairs with the default: complex128 for float64, else complex64."""
    return complex128 if _default == float64 else complex64


def resolve(op: str, dtype) -> np.dtype | None:
    """``dtype`` (an mg/numpy dtype, a numpy scalar type, Python's ``float``/``int``/``bool``/
    ``complex``, or a numpy string) as a numeric numpy dtype; None stays None. Anything else is
    a DTypeError that names ``op``."""
    if dtype is None or isinstance(dtype, np.dtype) and dtype.kind in NUMERIC_KINDS:
        return dtype
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in NUMERIC_KINDS:
        raise DTypeError(
            f"{op}: {dtype!r} is not a dtype a tensor can hold; use one of mg.float32, "
            f"mg.float64, mg.float16, mg.int64, mg.int32, mg.int16, mg.int8, mg.uint8, mg.bool, "
            f"mg.complex64, mg.complex128 (or a numpy dtype)"
        )
    return resolved


def of_python_data(array: np.ndarray, data) -> np.ndarray:
    """``array`` (numpy's reading of ``data``) in PyTorch's dtype for ``data``: when ``data`` is
    Python numbers (not arrays or tensors), floats take the default dtype and complex numbers
    the paired complex one; ints (int64) and bools are numpy's already."""
    kind = array.dtype.kind
    if kind not in "fc" or isinstance(data, np.ndarray | np.generic) or _holds_arrays(data):
        return array
    wanted = _default if kind == "f" else default_complex()
    return array if array.dtype == wanted else array.astype(wanted)


def _holds_arrays(data) -> bool:
    """Whether (nested) sequence ``data`` holds arrays or tensors, which keep their own dtype
    (as PyTorch's ``torch.tensor([t1, t2])``): its first element, all the way down, decides."""
    while isinstance(data, list | tuple):
        if not data:
            return False
        data = data[0]
    return not isinstance(data, builtins.float | builtins.int | builtins.complex)


def scalar_dtype(value) -> np.dtype:
    """PyTorch's dtype for a Python number (``full``'s ``fill_value``): bool -> bool,
    int -> int64, float -> the default, complex -> the paired complex dtype; numpy scalars and
    0-d arrays keep theirs."""
    if isinstance(value, builtins.bool | np.bool_):
        return bool_
    if isinstance(value, np.generic | np.ndarray):
        return value.dtype
    if isinstance(value, builtins.int):
        return int64
    if isinstance(value, builtins.float):
        return _default
    if isinstance(value, builtins.complex):
        return default_complex()
    return np.asarray(value).dtype


def is_floating(dtype: np.dtype) -> bool:
    """Whether ``dtype`` is a floating-point dtype (float16, float32, float64)."""
    return dtype.kind == "f"


def finfo(dtype=None) -> np.finfo:
    """Machine limits of a floating-point dtype (the default when none is given): ``eps``,
    ``max``, ``min``, ``tiny``, ``resolution``, as ``torch.finfo`` (numpy's ``finfo``)."""
    return np.finfo(_default if dtype is None else resolve("finfo", dtype))


def iinfo(dtype) -> np.iinfo:
    """Limits of an integer dtype: ``min``, ``max``, ``bits``, as ``torch.iinfo``."""
    return np.iinfo(resolve("iinfo", dtype))


# Legacy type names, as PyTorch's ``x.type()`` gives them: ``minigrad.FloatTensor``, ...
TYPE_NAMES = {
    float32: "FloatTensor",
    float64: "DoubleTensor",
    float16: "HalfTensor",
    int64: "LongTensor",
    int32: "IntTensor",
    int16: "ShortTensor",
    int8: "CharTensor",
    uint8: "ByteTensor",
    bool_: "BoolTensor",
    complex64: "ComplexFloatTensor",
    complex128: "ComplexDoubleTensor",
}

# PyTorch's short names. NOTE: they shadow Python's float, int and bool in this module from here
# on, which is why the functions above say ``builtins.float``.
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
bool = bool_  # noqa: A001
cfloat = complex64
cdouble = complex128
