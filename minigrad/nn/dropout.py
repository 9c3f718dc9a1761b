"""Dropout: ``dropout`` and the ``Dropout`` layer (inverted dropout, as PyTorch's)."""

from __future__ import annotations

import numpy as np

from ..creation import Generator, default_generator
from ..errors import DTypeError, OpError
from ..functions import as_tensor
from ..tensor import Tensor
from .module import Module


def _check_probability(p: float, who: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise OpError(f"{who}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            generator: Generator | None = None) -> Tensor:  # fmt: skip
    """Zero each element of ``x`` with probability ``p`` and scale the rest by ``1 / (1 - p)``,
    so the expectation is unchanged; ``x`` itself when not ``training`` or ``p == 0``.

    The mask is drawn from minigrad's default generator (``mg.manual_seed``) or ``generator``;
    the gradient is the same mask times ``1 / (1 - p)``.
    """
    p = _check_probability(p, "dropout")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if x.dtype.kind not in "fc":
        raise DTypeError(f"dropout: needs a floating-point tensor, got {x.dtype}")
    keep = (generator or default_generator).rng.random(x.shape) >= p
    scale = keep.astype(x.dtype) * (1 / (1 - p)) if p < 1 else np.zeros(x.shape, x.dtype)
    return x * scale.astype(x.dtype, copy=False)


class Dropout(Module):
    """Dropout in training mode (``train()``), the identity in evaluation mode (``eval()``)."""

    def __init__(self, p: float = 0.5, generator: Generator | None = None):
        super().__init__()
        self.p = _check_probability(p, "Dropout")
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
