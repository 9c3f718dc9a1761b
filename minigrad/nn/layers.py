"""Layers: Linear, Flatten, Unflatten, Identity."""

from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..functions import as_tensor
from ..primitive import apply
from ..tensor import Tensor
from . import functional as F
from . import init
from .checks import check_size, parameter_dtype, same_dtype
from .module import Module, Parameter


def check_input(layer: Module, x: Tensor, axis: int, size: int, what: str) -> None:
    """Raise a ShapeError naming the layer when ``x.shape[axis]`` is not ``size``."""
    if x.ndim < (axis + 1 if axis >= 0 else -axis) or x.shape[axis] != size:
        raise ShapeError(
            f"{type(layer).__name__}({layer.extra_repr()}): got input of shape {x.shape}; "
            f"{what} must have size {size}"
        )


class Linear(Module):
    """``y = x @ weight.T + bias``; weight (out_features, in_features), PyTorch's init."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=None, generator=None):  # fmt: skip
        super().__init__()
        dtype = parameter_dtype("Linear", dtype)
        in_features = check_size("Linear", "in_features", in_features)
        out_features = check_size("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        # PyTorch's default: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(in_features) if in_features else 0.0
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, x: Tensor) -> Tensor:
        w, b = self.weight, self.bias
        if (type(x) is Tensor and x.data.ndim == 2 and x.data.dtype is w.data.dtype
                and w.data.ndim == 2 and x.data.shape[1] == w.data.shape[1] == self.in_features
                and (b is None or b.data.shape == w.data.shape[:1])):  # fmt: skip
            # NOTE: the common case (a batch of rows in the layer's dtype), in which F.linear's
            # conversions and checks would all pass: one operation, as F.linear makes.
            return apply(ops.Affine, x, w) if b is None else apply(ops.Affine, x, w, b)
        x, _ = same_dtype("Linear", x, self.weight)  # an array or list takes the layer's dtype
        check_input(self, x, -1, self.in_features, "the last axis")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")  # fmt: skip


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` (by default all but the batch axis) of a Tensor, an
    array or a list."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one size may be -1): the inverse of
    ``Flatten``, as PyTorch's.

    >>> import minigrad as mg
    >>> Unflatten(1, (32, 4, 4))(mg.zeros((8, 512))).shape
    (8, 32, 4, 4)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return as_tensor(input).unflatten(self.dim, tuple(self.unflattened_size))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """Returns its input."""

    def forward(self, x: Tensor) -> Tensor:
        return x
