"""Loss modules with PyTorch's names and arguments, ``MSELoss`` to ``PoissonNLLLoss``.

Each calls its function (in ``loss_functions.py``, ``loss_probabilities.py``,
``loss_regression.py`` and ``loss_ranking.py``; also here and in ``nn.functional``) with the
reduction and settings it was built with; the settings are checked when the module is built.

>>> import minigrad as mg
>>> CrossEntropyLoss()(mg.tensor([[1000.0, -1000.0]]), mg.tensor([1]))
tensor(2000.)
"""

from __future__ import annotations

import numpy as np

from ..errors import OpError
from ..tensor import Tensor
from .loss_functions import (
    check_reduction,
    cross_entropy,
    nll_loss,
)
from .loss_probabilities import binary_cross_entropy, binary_cross_entropy_with_logits, kl_div
from .loss_ranking import cosine_embedding_loss, margin_ranking_loss
from .loss_regression import (
    check_number,
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    mse_loss,
    poisson_nll_loss,
    smooth_l1_loss,
)
from .module import Module

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "gaussian_nll_loss",
    "poisson_nll_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss", "margin_ranking_loss",
    "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "GaussianNLLLoss", "PoissonNLLLoss",
    "NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
    "CosineEmbeddingLoss", "MarginRankingLoss",
]  # fmt: skip


class _Loss(Module):
    #: the reductions the loss takes (KLDivLoss adds "batchmean")
    reductions = ("mean", "sum", "none")

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_reduction(type(self).__name__, reduction, self.reductions)
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


# ----- regression --------------------------------------------------------------------------------


class HuberLoss(_Loss):
    """``huber_loss(input, target, reduction, delta)``: quadratic within ``delta`` (> 0)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = check_number("HuberLoss", "delta", delta, low_open=True)

    def forward(self, input: Tensor, target) -> Tensor:
        return huber_loss(input, target, self.reduction, self.delta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"delta={self.delta}"]))


class SmoothL1Loss(_Loss):
    """``smooth_l1_loss(input, target, reduction, beta)``: ``HuberLoss / beta``; L1 at beta 0."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = check_number("SmoothL1Loss", "beta", beta)

    def forward(self, input: Tensor, target) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, self.beta)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [super().extra_repr(), f"beta={self.beta}"]))


class GaussianNLLLoss(_Loss):
    """``gaussian_nll_loss(input, target, var, full, eps, reduction)``; called as
    ``loss(input, target, var)``. Keyword-only settings, as PyTorch's."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction)
        self.full, self.eps = bool(full), check_number("GaussianNLLLoss", "eps", eps)

    def forward(self, input: Tensor, target, var) -> Tensor:
        return gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class PoissonNLLLoss(_Loss):
    """``poisson_nll_loss(input, target, log_input, full, eps, reduction)``."""

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                 reduction: str = "mean"):  # fmt: skip
        super().__init__(reduction)
        self.log_input, self.full = bool(log_input), bool(full)
        self.eps = check_number("PoissonNLLLoss", "eps", eps)

    def forward(self, input: Tensor, target) -> Tensor:
        return poisson_nll_loss(input, target, self.log_input, self.full, self.eps,
                                self.reduction)  # fmt: skip


# ----- distributions and pairs -------------------------------------------------------------------


class KLDivLoss(_Loss):
    """``kl_div(log_q, target, reduction, log_target)``; ``reduction="batchmean"`` gives the KL
    divergence per sample (PyTorch's default "mean" divides by every element, and warns)."""

    reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = bool(log_target)

    def forward(self, input: Tensor, target) -> Tensor:
        return kl_div(input, target, self.reduction, self.log_target)


class CosineEmbeddingLoss(_Loss):
    """``cosine_embedding_loss(input1, input2, target, margin, reduction)``."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = check_number("CosineEmbeddingLoss", "margin", margin, low=-np.inf)

    def forward(self, input1: Tensor, input2, target) -> Tensor:
        return cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class MarginRankingLoss(_Loss):
    """``margin_ranking_loss(input1, input2, target, margin, reduction)``."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = check_number("MarginRankingLoss", "margin", margin, low=-np.inf)

    def forward(self, input1: Tensor, input2, target) -> Tensor:
        return margin_ranking_loss(input1, input2, target, self.margin, self.reduction)
