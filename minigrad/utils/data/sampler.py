"""Samplers, as ``torch.utils.data``'s: the order in which a ``DataLoader`` visits a dataset's
indices (``SequentialSampler``, ``RandomSampler``, ``SubsetRandomSampler``,
``WeightedRandomSampler``) and how it groups them into batches (``BatchSampler``).

Random samplers draw from a minigrad ``Generator`` (``generator=``) or, without one, from
minigrad's default generator, so ``mg.manual_seed`` makes an epoch's order reproducible, and each
epoch draws a new order from where the stream is.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sized
from typing import Generic, TypeVar

import numpy as np

from ...errors import ShapeError
from ...random import Generator, rng


def _is_positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: an iterable of dataset indices (subclasses define ``__iter__``, and
    ``__len__`` where the length is known); generic, as PyTorch's (``Sampler[int]``)."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, in order."""

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices in a random order: a new permutation each epoch (or, with
    ``replacement=True``, ``num_samples`` indices drawn independently). Without
    replacement, ``num_samples`` larger than the dataset takes further permutations."""

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None):  # fmt: skip
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(
                f"RandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        if not _is_positive_int(self.num_samples):
            raise ValueError(
                f"RandomSampler: num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples!r}"
            )

    @property
    def num_samples(self) -> int:
        """How many indices an epoch gives (the dataset's length unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self) -> np.ndarray:
        """One epoch's indices, drawn now (what ``__iter__`` yields)."""
        n, source = len(self.data_source), rng(self.generator)
        if self.replacement:
            return source.integers(0, n, size=self.num_samples)
        rounds = [source.permutation(n) for _ in range(-(-self.num_samples // n))]
        return np.concatenate(rounds)[: self.num_samples]

    def __iter__(self) -> Iterator[int]:
        yield from self._order().tolist()  # drawn when the epoch starts, not at iter()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices``, in a new random order each epoch."""

    def __init__(self, indices, generator: Generator | None = None):
        self.indices = indices
        self.generator = generator

    def _order(self) -> np.ndarray:
        positions = rng(self.generator).permutation(len(self.indices))
        return np.asarray(self.indices, dtype=np.int64)[positions]

    def __iter__(self) -> Iterator[int]:
        yield from self._order().tolist()

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with
    replacement unless ``replacement=False``), as ``torch.multinomial``."""

    def __init__(self, weights, num_samples: int, replacement: bool = True,
                 generator: Generator | None = None):  # fmt: skip
        if not _is_positive_int(num_samples):
            raise ValueError(
                f"WeightedRandomSampler: num_samples should be a positive integer value, but got "
                f"num_samples={num_samples!r}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"WeightedRandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ShapeError(
                f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                f"shape {weights.shape}"
            )
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.sum() > 0):
            raise ValueError(
                "WeightedRandomSampler: weights must be finite, >= 0 and not all 0 (they are "
                "made probabilities by dividing by their sum)"
            )
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(
                f"WeightedRandomSampler: {num_samples} samples without replacement, but only "
                f"{np.count_nonzero(weights)} weights are non-zero; draw fewer, or pass "
                f"replacement=True"
            )
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _order(self) -> np.ndarray:
        p = self.weights / self.weights.sum()
        return rng(self.generator).choice(
            len(p), size=self.num_samples, replace=self.replacement, p=p
        )

    def __iter__(self) -> Iterator[int]:
        yield from self._order().tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter,
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not _is_positive_int(batch_size):
            raise ValueError(
                f"BatchSampler: batch_size should be a positive integer value, but got "
                f"batch_size={batch_size!r}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"BatchSampler: drop_last should be a boolean value, but got "
                f"drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# the samplers whose epoch is one array (``_order``): their batches can be slices of it
_ORDERED = (SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler)


def index_batches(batch_sampler) -> Iterator[np.ndarray]:
    """The batches of ``batch_sampler`` as int64 arrays: slices of one epoch's order when it is
    a plain ``BatchSampler`` over one of minigrad's samplers (the same indices, drawn the same
    way, as iterating it), else each batch it yields, converted."""
    if type(batch_sampler) is BatchSampler and type(batch_sampler.sampler) in _ORDERED:
        order = batch_sampler.sampler._order()
        size = batch_sampler.batch_size
        end = len(order) - len(order) % size if batch_sampler.drop_last else len(order)
        for start in range(0, end, size):
            yield order[start : start + size]
        return
    for batch in batch_sampler:
        yield np.asarray(batch, dtype=np.int64)
