"""Datasets, as ``torch.utils.data``'s: ``Dataset`` (samples by index), ``IterableDataset``
(samples as a stream), ``TensorDataset``, ``Subset``, ``ConcatDataset``, ``ChainDataset`` and
``random_split``.

A ``TensorDataset`` (or a ``Subset`` of one) can also hand the ``DataLoader`` a whole batch at
once, one indexing per tensor (``batch_gatherer``): the same batches as sample by sample, without
a Python loop over the samples.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from ...errors import DTypeError, ShapeError
from ...random import Generator, default_generator, rng
from ...tensor import Tensor, constant

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A collection of samples by index: subclass it and define ``__getitem__(index)`` (and
    ``__len__``, which the samplers need). ``a + b`` concatenates two datasets. Generic, as
    PyTorch's: ``class Pairs(Dataset[tuple[Tensor, Tensor]])``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A stream of samples: subclass it and define ``__iter__``. The ``DataLoader`` batches the
    stream in order (no sampler, no shuffling). ``a + b`` chains two streams."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples that are rows of tensors: item ``i`` is ``(t[i] for t in tensors)``, as a tuple.

    Every tensor needs the same first dimension (one row per sample). numpy arrays are taken
    as Tensors (sharing their memory), as ``mg.from_numpy``.

    >>> import minigrad as mg
    >>> data = TensorDataset(mg.zeros(3, 2), mg.tensor([0, 1, 2]))
    >>> len(data), data[1][1].item()
    (3, 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ShapeError("TensorDataset: give at least one tensor, e.g. TensorDataset(x, y)")
        converted = []
        for i, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = Tensor(t)
            if not isinstance(t, Tensor):
                raise DTypeError(
                    f"TensorDataset: argument {i} is a {type(t).__name__}; pass Tensors (or numpy "
                    f"arrays), e.g. TensorDataset(mg.tensor(x), mg.tensor(y))"
                )
            if t.ndim == 0:
                raise ShapeError(
                    f"TensorDataset: argument {i} is a 0-d tensor; each tensor needs a first "
                    f"dimension with one row per sample"
                )
            converted.append(t)
        lengths = [t.shape[0] for t in converted]
        if len(set(lengths)) > 1:
            shapes = ", ".join(str(t.shape) for t in converted)
            raise ShapeError(
                f"TensorDataset: the tensors' first dimensions differ (shapes {shapes}); each "
                f"needs one row per sample (PyTorch: 'Size mismatch between tensors')"
            )
        self.tensors = tuple(converted)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _gather(self, indices: np.ndarray) -> list[Tensor]:
        """The batch ``default_collate`` makes of the samples at ``indices``: one indexing per
        tensor (a tensor that requires grad is indexed on the tape, as stacking its rows is)."""
        return [t[indices] if t.requires_grad else constant(t.data[indices]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list[int]) -> list:
        # as PyTorch's: a dataset that fetches many samples at once gets them all in one call
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other: index ``len(a)`` is ``b[0]``."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise DTypeError(
                    "ConcatDataset does not support IterableDataset (it has no length or "
                    "indices); chain streams with ChainDataset"
                )
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise IndexError(
                    f"ConcatDataset: index {idx} is out of range for {len(self)} samples"
                )
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for {len(self)} samples")
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Several streams (``IterableDataset``\\ s) one after the other."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise DTypeError(
                    f"ChainDataset: only IterableDatasets can be chained, got {type(d).__name__}"
                )
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = default_generator) -> list[Subset]:  # fmt: skip
    """Split ``dataset`` at random into non-overlapping ``Subset``\\ s of the given lengths.

    ``lengths`` are sizes that add up to ``len(dataset)``, or fractions that add up to 1: then
    each size is ``floor(fraction * n)`` and the samples left over go one each to the splits in
    turn, from the first (PyTorch's rule: 10 samples split ``[0.33, 0.33, 0.34]`` give sizes
    4, 3, 3). The permutation comes from ``generator`` (minigrad's default one unless given).

    >>> import minigrad as mg
    >>> [len(s) for s in random_split(range(7), [0.3, 0.3, 0.4])]
    [3, 2, 2]
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            sizes.append(math.floor(n * fraction))
        for i in range(n - sum(sizes)):  # what floor left over, round-robin
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0; this might result in an "
                    f"empty dataset",
                    stacklevel=2,
                )
        lengths = sizes
    if not all(isinstance(k, numbers.Integral) and k >= 0 for k in lengths):
        raise ValueError(
            f"random_split: lengths {lengths} must be sizes (ints >= 0) that add up to "
            f"len(dataset) = {n}, or fractions that add up to 1"
        )
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: the lengths {lengths} add up to {sum(lengths)}, but the dataset has "
            f"{n} samples; give sizes that add up to {n}, or fractions that add up to 1"
        )
    order = rng(generator).permutation(n).tolist()
    ends = np.cumsum(lengths).tolist()
    return [Subset(dataset, order[end - size : end]) for size, end in zip(lengths, ends)]


def batch_gatherer(dataset) -> Callable[[np.ndarray], list[Tensor]] | None:
    """A function from a batch's indices to ``default_collate``'s result for that batch, for a
    dataset that can index all its samples at once (a ``TensorDataset``, a ``Subset`` of one);
    None for any other dataset, or one whose class changes how samples are fetched."""
    kind = type(dataset)
    if isinstance(dataset, TensorDataset):
        plain = kind.__getitem__ is TensorDataset.__getitem__ and not hasattr(kind, "__getitems__")
        return dataset._gather if plain else None
    if not isinstance(dataset, Subset) or (
        kind.__getitem__ is not Subset.__getitem__ or kind.__getitems__ is not Subset.__getitems__
    ):
        return None
    inner = batch_gatherer(dataset.dataset)
    if inner is None:
        return None
    positions = np.asarray(dataset.indices, dtype=np.int64)  # once per epoch, not per batch
    return lambda indices: inner(positions[indices])
