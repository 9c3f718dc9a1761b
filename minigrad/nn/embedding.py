"""Embeddings: ``embedding`` (a row lookup) and the ``Embedding`` layer, as PyTorch's."""

from __future__ import annotations

import numpy as np

from ..autodiff import no_grad
from ..batching import all_values, values_of
from ..errors import DTypeError, IndexingError, ShapeError
from ..functions import as_tensor, where
from ..tensor import Tensor, is_batched
from . import init
from .checks import parameter_dtype
from .module import Module, Parameter


def _indices(indices, num_embeddings: int, who: str):
    """``indices`` as an integer array, every entry in [0, num_embeddings); under ``mg.vmap``,
    token ids that differ from example to example stay a batched tensor (checked all at once)."""
    batched = is_batched(indices)
    idx = as_tensor(indices) if batched else values_of(indices, "embedding")
    if idx.dtype.kind not in "iu":
        if batched or idx.size or idx.dtype.kind != "f":  # ``[]`` comes in as float64: allow it
            raise DTypeError(
                f"{who}: indices must be integers, got {idx.dtype}; convert them with "
                f".astype('int64')"
            )
        idx = idx.astype(np.int64)
    values = all_values(idx)  # (under mg.vmap, every example's)
    if values.size and (values.min() < 0 or values.max() >= num_embeddings):
        bad = values.min() if values.min() < 0 else values.max()
        raise IndexingError(
            f"{who}: index {bad} is out of range; indices must lie in [0, {num_embeddings})"
        )
    return idx


def _padding_index(padding_idx: int | None, num_embeddings: int, who: str) -> int | None:
    """``padding_idx`` in [0, num_embeddings) (a negative one counts from the end)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise IndexingError(
            f"{who}: padding_idx {padding_idx} must lie in [-{num_embeddings}, {num_embeddings})"
        )
    return padding_idx % num_embeddings


def _lookup(idx, weight: Tensor, padding_idx: int | None) -> Tensor:
    out = weight[idx]
    if padding_idx is not None:
        padded = idx == padding_idx  # (batched as idx is, under mg.vmap)
        if all_values(padded).any():
            # NOTE: the padding row's value is a constant here, so it gets no gradient (PyTorch's
            # rule) while its value (zero unless the user changed it) is still what is looked up.
            out = where(padded[..., None], weight.detach()[padding_idx], out)
    return out


def embedding(indices, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) at integer ``indices`` of any shape:
    the result has shape ``indices.shape + (embedding_dim,)``.

    Repeated indices accumulate their gradients in the row; the row ``padding_idx`` gets no
    gradient.
    """
    if weight.ndim != 2:
        raise ShapeError(
            f"embedding: weight must have shape (num_embeddings, embedding_dim), got {weight.shape}"
        )
    n = weight.shape[0]
    return _lookup(
        _indices(indices, n, "embedding"), weight, _padding_index(padding_idx, n, "embedding")
    )


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by index.

    ``weight`` is drawn from N(0, 1) (PyTorch's default), with the ``padding_idx`` row zeroed;
    that row gets no gradient, so it stays zero under training.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype=None, generator=None):  # fmt: skip
        super().__init__()
        dtype = parameter_dtype("Embedding", dtype)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "Embedding")
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    def forward(self, indices) -> Tensor:
        who = f"{type(self).__name__}({self.extra_repr()})"
        return _lookup(_indices(indices, self.num_embeddings, who), self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"
