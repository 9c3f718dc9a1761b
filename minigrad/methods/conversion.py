"""Tensor's conversions as methods: dtypes and devices (``x.float()``, ``x.to("cpu")``, ...)."""

from __future__ import annotations

from ..devices import CPU
from .namespace import mg


class ConversionMethods:
    """``x.float()``, ``x.to(dtype)``, ``x.device``, ... (a mixin of ``Tensor``).

    As PyTorch's: a conversion that changes nothing returns the tensor itself; a cast between
    floating dtypes is differentiable (the gradient flows back cast), one to an integer or bool
    dtype is a constant. minigrad runs on the CPU only: ``x.device`` is ``device(type='cpu')``,
    ``x.to("cuda")`` is an error that says so.
    """

    __slots__ = ()

    # ----- dtypes and devices --------------------------------------------------------------------

    @property
    def device(self):
        """Where the data lives: always the CPU (``device(type='cpu')``, equal to ``"cpu"``)."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        """False: minigrad has no GPU."""
        return False

    @property
    def is_cpu(self) -> bool:
        """True: minigrad's tensors are numpy arrays in main memory."""
        return True

    def get_device(self) -> int:
        """-1, PyTorch's number for the CPU."""
        return -1

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating-point one (float16, float32, float64)."""
        return mg.is_floating_point(self)

    def is_complex(self) -> bool:
        """Whether the dtype is a complex one."""
        return mg.is_complex(self)

    def element_size(self) -> int:
        """Bytes per element (4 for float32)."""
        return self.data.itemsize

    def to(self, *args, **kwargs):
        """``mg.to``: this tensor in another dtype and/or on a device: ``x.to(mg.float64)``,
        ``x.to("cpu")``, ``x.to("cpu", mg.float32)``, ``x.to(other)`` (other's dtype),
        ``x.to(device=..., dtype=..., copy=False, non_blocking=False)``. The tensor itself
        when nothing changes (unless ``copy=True``)."""
        return mg.to(self, *args, **kwargs)

    def cpu(self):
        """This tensor (it is on the CPU already)."""
        return self

    def cuda(self, device=None, non_blocking: bool = False):
        """Always a DeviceError: minigrad computes with numpy on the CPU."""
        return mg.to(self, "cuda" if device is None else device)

    def type(self, dtype=None, non_blocking: bool = False):
        """``mg.tensor_type``: without ``dtype``, the legacy type name
        (``"minigrad.FloatTensor"``); with a dtype (or such a name), the tensor cast to it."""
        return mg.tensor_type(self, dtype, non_blocking)

    def type_as(self, other):
        """``mg.type_as``: this tensor in ``other``'s dtype."""
        return mg.type_as(self, other)

    # ----- casts by name -------------------------------------------------------------------------

    def float(self):
        """This tensor as float32 (itself if it is already)."""
        return mg.cast(self, "float32")

    def double(self):
        """This tensor as float64."""
        return mg.cast(self, "float64")

    def half(self):
        """This tensor as float16."""
        return mg.cast(self, "float16")

    def long(self):
        """This tensor as int64 (a constant: no gradient)."""
        return mg.cast(self, "int64")

    def int(self):
        """This tensor as int32 (a constant: no gradient)."""
        return mg.cast(self, "int32")

    def short(self):
        """This tensor as int16."""
        return mg.cast(self, "int16")

    def char(self):
        """This tensor as int8."""
        return mg.cast(self, "int8")

    def byte(self):
        """This tensor as uint8."""
        return mg.cast(self, "uint8")

    def bool(self):
        """This tensor as bool (nonzero is True)."""
        return mg.cast(self, "bool")

    def cfloat(self):
        """This tensor as complex64."""
        return mg.cast(self, "complex64")

    def cdouble(self):
        """This tensor as complex128."""
        return mg.cast(self, "complex128")

    # ----- new tensors with this one's dtype -----------------------------------------------------

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False):
        """``mg.zeros`` of this tensor's dtype (unless ``dtype`` is given)."""
        dtype = self.dtype if dtype is None else dtype
        return mg.zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False):
        """``mg.ones`` of this tensor's dtype (unless ``dtype`` is given)."""
        dtype = self.dtype if dtype is None else dtype
        return mg.ones(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False):
        """``mg.empty`` of this tensor's dtype (unless ``dtype`` is given)."""
        dtype = self.dtype if dtype is None else dtype
        return mg.empty(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """``mg.full`` of this tensor's dtype (unless ``dtype`` is given)."""
        dtype = self.dtype if dtype is None else dtype
        return mg.full(size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False):
        """``mg.tensor(data)`` of this tensor's dtype (unless ``dtype`` is given)."""
        dtype = self.dtype if dtype is None else dtype
        return mg.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
