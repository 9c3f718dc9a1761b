"""Dropout: ``dropout`` and the ``Dropout`` layer (inverted dropout, as PyTorch's)."""

from __future__ import annotations

import numbers

import numpy as np

from ..errors import DTypeError, OpError
from ..functions import as_tensor
from ..random import Generator, rng
from ..tensor import Tensor
from .activation import inplace_repr
from .module import Module


def check_probability(p: float, who: str) -> float:
    if not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise OpError(f"{who}: dropout probability p must be a real number, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise OpError(f"{who}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _check_inplace(inplace, who: str, before: str) -> bool:
    """``inplace`` took ``generator``'s old place: refuse a Generator there, with the fix."""
    if isinstance(inplace, Generator):
        raise OpError(
            f"{who}: got a Generator as the inplace argument; as PyTorch's, the argument after "
            f"{before} is inplace. Pass the generator by keyword: generator=..."
        )
    return inplace


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator: Generator | None = None) -> Tensor:  # fmt: skip
    """Zero each element of ``x`` with probability ``p`` and scale the rest by ``1 / (1 - p)``,
    so the expectation is unchanged; ``x`` itself when not ``training`` or ``p == 0``.

    The mask is drawn from minigrad's default generator (``mg.manual_seed``) or ``generator``;
    the gradient is the same mask times ``1 / (1 - p)``. ``inplace`` is accepted so PyTorch
    code runs unchanged; minigrad computes out of place (same values, the tape stays valid).
    """
    p = check_probability(p, "dropout")
    _check_inplace(inplace, "dropout", "training")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if x.dtype.kind not in "fc":
        raise DTypeError(f"dropout: needs a floating-point tensor, got {x.dtype}")
    if p == 1:
        return x * np.zeros(x.shape, x.dtype)
    # NOTE: the mask as tensors (a comparison and a cast): under mg.vmap with
    # randomness="different" the draw is a batch of masks, one per example
    keep = Tensor(rng(generator).random(x.shape)) >= p
    return x * (keep.astype(x.dtype) * (1 / (1 - p)))


# NOTE: as for the activation modules, PyTorch's ``inplace=True`` only saves memory. minigrad
# computes out of place (the values are the same, and the tape stays valid) and accepts the flag
# so PyTorch code runs unchanged.


class Dropout(Module):
    """Dropout in training mode (``train()``), the identity in evaluation mode (``eval()``).

    ``inplace`` is accepted for PyTorch's signature and ignored; ``generator`` (keyword only)
    draws the masks instead of minigrad's default generator."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *,
                 generator: Generator | None = None):  # fmt: skip
        super().__init__()
        self.p = check_probability(p, "Dropout")
        self.inplace = _check_inplace(inplace, "Dropout", "p")
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}{inplace_repr(self.inplace)}"
