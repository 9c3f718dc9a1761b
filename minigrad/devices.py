"""Devices: minigrad computes with numpy on the CPU, so ``"cpu"`` is the one device.

``mg.device("cpu")``, ``"cpu"`` and ``"cpu:0"`` are accepted wherever a PyTorch script passes a
device (``device=`` of the factories, ``x.to("cpu")``, ``model.to(device)``); ``"cuda"`` and
``"mps"`` are a ``DeviceError`` that says so, and ``mg.cuda.is_available()`` is False, so the
usual ``device = "cuda" if torch.cuda.is_available() else "cpu"`` picks the CPU.

>>> import minigrad as mg
>>> mg.zeros(2).device
device(type='cpu')
>>> str(mg.device("cpu")), mg.device("cpu") == "cpu"
('cpu', True)
"""

from __future__ import annotations

from .errors import DeviceError

# PyTorch's device types: the ones a string may name (any other is a typo).
KNOWN_TYPES = (
    "cpu", "cuda", "mps", "xpu", "ipu", "hip", "xla", "meta", "mkldnn", "opengl", "opencl",
    "ideep", "ve", "fpga", "maia", "lazy", "vulkan", "hpu", "mtia", "privateuseone",
)  # fmt: skip


class device:  # noqa: N801  (PyTorch's name)
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cpu:0")``,
    ``device("cpu", 0)``. Its ``str`` is ``"cpu"`` (or ``"cpu:0"``), and it compares equal to
    that string as well as to an equal device. Only the CPU can hold tensors."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):
            # PyTorch 2.x reads device(0) as the first accelerator, and has none on a CPU
            raise DeviceError(
                f"device({type}): a bare index names an accelerator (GPU), and minigrad "
                f"computes with numpy on the CPU; use 'cpu'"
            )
        elif not isinstance(type, str):
            raise DeviceError(
                f"device: expected a string such as 'cpu' or a device, got {type!r} "
                f"({builtin_type(type).__name__})"
            )
        elif ":" in type:
            if index is not None:
                raise DeviceError(f"device: {type!r} names an index, so give no index= too")
            text = type
            type, _, number = text.partition(":")
            if not number.isdigit():
                raise DeviceError(
                    f"device: invalid device string {text!r}; expected 'cpu' or 'cpu:0'"
                )
            index = int(number)
        if type not in KNOWN_TYPES:
            raise DeviceError(
                f"device: expected one of {', '.join(KNOWN_TYPES)} device type at start of "
                f"device string: {type!r}; minigrad runs on the CPU: use 'cpu'"
            )
        if index is not None and index < 0:
            raise DeviceError(f"device: the index must be >= 0, got {index}")
        self.type, self.index = type, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except DeviceError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    # ``with torch.device("cpu"):`` makes the CPU the default device: it is the only one.
    def __enter__(self) -> device:
        check("device", self)
        return self

    def __exit__(self, *exc) -> None:
        return None


builtin_type = type

CPU = device("cpu")


def check(op: str, where) -> device:
    """``where`` (None, a string or a ``device``) as a CPU device, or a DeviceError naming
    ``op``: minigrad has no GPU."""
    if where is None or where is CPU or where == "cpu":
        return CPU
    where = device(where)
    if where.type != "cpu":
        raise DeviceError(
            f"{op}: device {str(where)!r} is not available: minigrad computes with numpy on the "
            f"CPU and has no {where.type.upper()} support; use device='cpu' (or leave device "
            f"out), e.g. device = 'cuda' if mg.cuda.is_available() else 'cpu'"
        )
    return where


def is_device(value) -> bool:
    """Whether ``value`` names a device (a ``device``, or a string such as ``"cpu"``,
    ``"cuda:0"``), as ``.to(value)`` decides between a device and a dtype."""
    if isinstance(value, device):
        return True
    if not isinstance(value, str):
        return False
    return value.partition(":")[0] in KNOWN_TYPES
