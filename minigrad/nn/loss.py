"""Loss modules with PyTorch's names and arguments, ``MSELoss`` to ``BCEWithLogitsLoss``.

Each calls its function (in ``loss_functions.py``; also here and in ``nn.functional``) with the
reduction and weights it was built with.

>>> import minigrad as mg
>>> CrossEntropyLoss()(mg.tensor([[1000.0, -1000.0]]), mg.tensor([1]))
tensor(2000.)
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..tensor import Tensor
from .loss_functions import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    check_reduction,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .module import Module

__all__ = [
    "mse_loss", "l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "MSELoss", "L1Loss", "NLLLoss", "CrossEntropyLoss",
    "BCELoss", "BCEWithLogitsLoss",
]  # fmt: skip


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with per-class ``weight``, kept as a buffer (in the state dict, as PyTorch's)."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        if weight is not None and not isinstance(weight, Tensor):
            weight = Tensor(np.asarray(weight))
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """``mse_loss(input, target, reduction)``."""

    def forward(self, input: Tensor, target) -> Tensor:
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """``l1_loss(input, target, reduction)``."""

    def forward(self, input: Tensor, target) -> Tensor:
        return l1_loss(input, target, self.reduction)


class NLLLoss(_WeightedLoss):
    """``nll_loss(log_probs, target, weight, ignore_index, reduction)``."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target) -> Tensor:
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """``cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)``."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):  # fmt: skip
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise OpError(f"CrossEntropyLoss: label_smoothing={label_smoothing} must be in [0, 1]")
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target) -> Tensor:
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)  # fmt: skip

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if self.reduction != "mean" else []
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)


class BCELoss(_WeightedLoss):
    """``binary_cross_entropy(probs, target, weight, reduction)``."""

    def forward(self, input: Tensor, target) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """``binary_cross_entropy_with_logits(logits, target, weight, pos_weight, reduction)``."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction)
        if pos_weight is not None and not isinstance(pos_weight, Tensor):
            pos_weight = Tensor(np.asarray(pos_weight))
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight, self.pos_weight,
                                                self.reduction)  # fmt: skip
