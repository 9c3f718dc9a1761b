"""Conversions between dtypes and devices: what ``x.to(...)``, ``x.float()``, ``x.type(...)``
and ``x.type_as(y)`` do, with PyTorch's rules (a conversion that changes nothing returns the
tensor itself; a cast between floating dtypes is differentiable, see ``astype``)."""

from __future__ import annotations

from .. import autodiff, devices, dtypes
from ..errors import DTypeError, OpError
from ..tensor import Tensor
from .arithmetic import astype


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a minigrad Tensor (a Parameter is one too)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input``'s dtype is a floating-point one (float16, float32, float64)."""
    return _tensor("is_floating_point", input).dtype.kind == "f"


def is_complex(input: Tensor) -> bool:
    """Whether ``input``'s dtype is a complex one."""
    return _tensor("is_complex", input).dtype.kind == "c"


def _tensor(op: str, value) -> Tensor:
    if not isinstance(value, Tensor):
        raise DTypeError(f"{op}: expected a Tensor, got {type(value).__name__}")
    return value


def cast(x: Tensor, dtype, copy: bool = False) -> Tensor:
    """``x`` in ``dtype``: ``x`` itself when it already is (unless ``copy``), else a cast
    (differentiable between floating dtypes, as ``astype``)."""
    dtype = dtypes.resolve("to", dtype)
    if dtype is None or dtype == x.dtype:
        return x.clone() if copy else x
    return astype(x, dtype)


def parse_to(op: str, args: tuple, kwargs: dict) -> tuple:
    """(device, dtype, copy) from the forms of PyTorch's ``to``: ``to(dtype)``,
    ``to(device)``, ``to(device, dtype)``, ``to(other)``, ``to(device=, dtype=)``, each with
    ``non_blocking=`` and ``copy=`` (positional after the target, as PyTorch's)."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)  # nothing is asynchronous on the CPU
    kwargs.pop("memory_format", None)  # numpy arrays have no memory formats to choose
    if kwargs:
        raise OpError(f"{op}: unexpected keyword arguments {sorted(kwargs)}")
    flags = []
    for arg in args:
        if isinstance(arg, bool):
            flags.append(arg)
        elif isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif devices.is_device(arg):
            device = arg
        elif arg is not None:
            try:
                dtype = dtypes.resolve(op, arg)
            except DTypeError:
                raise DTypeError(
                    f"{op}: {arg!r} is neither a device (such as 'cpu') nor a dtype (such as "
                    f"mg.float32); to(other) takes a Tensor"
                ) from None
    if len(flags) > 2:
        raise OpError(f"{op}: expected at most non_blocking and copy after the target")
    if len(flags) == 2:
        copy = flags[1]
    return devices.check(op, device), dtypes.resolve(op, dtype), copy


def to(x: Tensor, *args, **kwargs) -> Tensor:
    """``x`` on ``device`` and in ``dtype`` (see ``Tensor.to``): ``x`` itself when nothing
    changes and ``copy`` is False, as PyTorch's."""
    _, dtype, copy = parse_to("to", args, kwargs)
    return cast(x, dtype, copy)


def type_as(x: Tensor, other: Tensor) -> Tensor:
    """``x`` in ``other``'s dtype (``x`` itself if it already is)."""
    return cast(x, _tensor("type_as", other).dtype)


# Legacy type names, both ``"minigrad.FloatTensor"`` and PyTorch's ``"torch.FloatTensor"``.
_BY_NAME = {
    f"{prefix}.{name}": dtype
    for dtype, name in dtypes.TYPE_NAMES.items()
    for prefix in ("minigrad", "torch")
}


def tensor_type(x: Tensor, dtype=None, non_blocking: bool = False):
    """Without ``dtype``: the type's name (``"minigrad.FloatTensor"``, PyTorch's legacy names);
    with one (a dtype or such a name): ``x`` cast to it (``x`` itself if it already is)."""
    if dtype is None:
        return f"minigrad.{dtypes.TYPE_NAMES.get(x.dtype, x.dtype.name)}"
    if isinstance(dtype, str) and dtype in _BY_NAME:
        dtype = _BY_NAME[dtype]
    elif isinstance(dtype, str) and dtype.endswith("Tensor"):
        raise DTypeError(
            f"type: unknown tensor type {dtype!r}; use a dtype (mg.float64) or one of "
            f"{', '.join(sorted(n for n in _BY_NAME if n.startswith('minigrad')))}"
        )
    return cast(x, dtype)


def cast_in_place(t: Tensor, dtype) -> None:
    """Change ``t``'s dtype in place: its data (and its ``.grad``) are replaced by cast copies
    while the Tensor object (a Parameter, say) stays the same, as ``Module.to`` does it. A graph
    that saved ``t`` before refuses to use it in backward (its version moves on)."""
    dtype = dtypes.resolve("to", dtype)
    if t.dtype == dtype:
        return
    t.data = t.data.astype(dtype)
    t._version = autodiff.tick(t.data)
    if t.grad is not None:
        t.grad = Tensor(t.grad.data.astype(dtype))
