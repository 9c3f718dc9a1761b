"""Argument checks that several layers share, each raising an error that names the layer."""

from __future__ import annotations

import numpy as np

from ..creation import count, floating_dtype
from ..errors import DTypeError
from ..functions import as_tensor
from ..tensor import Tensor


def check_size(who: str, name: str, value) -> int:
    """``value`` as a non-negative int (a layer's feature count), else an OpError naming it."""
    return count(who, name, value)


def parameter_dtype(who: str, dtype) -> np.dtype:
    """A layer's ``dtype=`` for its parameters: the default dtype (``mg.get_default_dtype()``,
    float32 unless set) when None, as PyTorch's layers; a floating-point dtype in any case."""
    why = "parameters are trained by gradients, so their dtype must be floating point"
    return floating_dtype(who, dtype, why)


def same_dtype(who: str, x, weight) -> tuple[Tensor, Tensor]:
    """A layer's input and weight as Tensors. An input Tensor whose dtype would change the
    layer's (a float64 or integer tensor into a float32 layer) is an error, as in PyTorch
    ("mat1 and mat2 must have the same dtype"): minigrad does not silently turn a float32 model's
    computation into float64. A narrower float input (float32 into a float64 layer) is computed
    in the layer's dtype, which is how minigrad's float64 checks (``check_module``,
    ``suggest_lr``) run a float32 script's model. A list or array (which PyTorch would not take)
    is a constant and is converted to the other side's dtype."""
    if isinstance(x, Tensor) and isinstance(weight, Tensor):
        if x.dtype != weight.dtype and np.promote_types(x.dtype, weight.dtype) != weight.dtype:
            raise DTypeError(
                f"{who}: the input is {x.dtype} and the weight {weight.dtype}; they must have the "
                f"same dtype (as in PyTorch: mat1 and mat2 must have the same dtype). Cast the "
                f"input to the model's dtype (x.float() for float32, x.double() for float64) "
                f"or the model to the input's (model.double(), model.float())"
            )
        return x, weight
    if isinstance(weight, Tensor):
        return _constant_as(x, weight.dtype), weight
    if isinstance(x, Tensor):
        return x, _constant_as(weight, x.dtype)
    return as_tensor(x), as_tensor(weight)


def _constant_as(value, dtype: np.dtype) -> Tensor:
    constant = as_tensor(value)
    if constant.dtype.kind in "biuf" and dtype.kind == "f" and constant.dtype != dtype:
        return Tensor(constant.data.astype(dtype))
    return constant
