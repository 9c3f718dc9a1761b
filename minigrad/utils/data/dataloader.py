"""``DataLoader``: batches of a dataset, as ``torch.utils.data.DataLoader``, in the main process.

Iterating a loader fetches each batch's samples and collates them (``default_collate`` unless a
``collate_fn`` is given). A ``TensorDataset`` (or a ``Subset`` of one) with the default collate
is batched by indexing each of its tensors with the batch's indices (one gather per tensor per
batch), which gives the same batches as fetching and stacking sample by sample.

``num_workers`` is accepted and the loading stays in the main process: minigrad's datasets are
numpy arrays in memory, and a loader over them costs little next to a training step
(``benchmarks/bench_dataloader.py``); batches and their order are those of PyTorch's
``num_workers=0`` (``worker_init_fn`` is not called, as there). ``pin_memory``, ``timeout``,
``multiprocessing_context``, ``prefetch_factor``, ``persistent_workers``, ``pin_memory_device``
and ``in_order`` are accepted, checked as PyTorch checks them, and have nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, batch_gatherer
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, index_batches


def get_worker_info():
    """Information about the loading worker process: always None, as in PyTorch's main process
    (minigrad loads in the main process)."""
    return None


T_co = TypeVar("T_co", covariant=True)


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches of ``batch_size`` samples, each batch collated into
    Tensors (a ``TensorDataset`` gives a list ``[inputs, targets]``).

    ``shuffle=True`` draws a new order every epoch from ``generator`` (minigrad's default
    generator unless given, so ``mg.manual_seed`` makes it reproducible); ``sampler`` gives the
    order instead, ``batch_sampler`` the batches themselves; ``drop_last`` drops a last batch
    shorter than ``batch_size``; ``batch_size=None`` yields the samples one by one, without a
    batch dimension. ``len(loader)`` is the number of batches.

    >>> import minigrad as mg
    >>> from minigrad.utils.data import TensorDataset
    >>> data = TensorDataset(mg.arange(10).reshape(5, 2))
    >>> loader = DataLoader(data, batch_size=2, drop_last=True)
    >>> len(loader), [batch[0].shape for batch in loader]
    (2, [(2, 2), (2, 2)])
    """

    _frozen = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
               "persistent_workers")  # fmt: skip

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | None = None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True):  # fmt: skip
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                "DataLoader: num_workers option should be non-negative; use num_workers=0 to "
                "disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("DataLoader: timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("DataLoader: prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if isinstance(dataset, IterableDataset):
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):  # fmt: skip
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, "
                        f"but got {name}={value!r} (a stream has no indices to order)"
                    )
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )
        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            if isinstance(dataset, IterableDataset):
                BatchSampler([], batch_size, drop_last)  # checks batch_size and drop_last
            else:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = num_workers
        batching = batch_size is not None or batch_sampler is not None
        self.collate_fn = collate_fn or (default_collate if batching else default_convert)
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._initialized = True

    def __setattr__(self, name: str, value) -> None:
        # NOTE: as PyTorch's; changing these after construction would not change the batches
        # (the samplers were built from them), so it is refused rather than silently ignored.
        if self.__dict__.get("_initialized") and name in self._frozen:
            raise ValueError(
                f"DataLoader: {name} attribute should not be set after DataLoader is "
                f"initialized; make a new DataLoader"
            )
        super().__setattr__(name, value)

    def __iter__(self) -> Iterator:
        if isinstance(self.dataset, IterableDataset):
            return self._stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        gather = batch_gatherer(self.dataset) if self.collate_fn is default_collate else None
        if gather is not None:
            return (gather(indices) for indices in index_batches(self.batch_sampler))
        return (self.collate_fn(self._fetch(indices)) for indices in self.batch_sampler)

    def _fetch(self, indices) -> list:
        fetch_many = getattr(self.dataset, "__getitems__", None)
        if callable(fetch_many):  # PyTorch's protocol for datasets that fetch a batch at once
            return fetch_many(indices)
        return [self.dataset[i] for i in indices]

    def _stream(self) -> Iterator:
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # a stream without __len__ has no length: TypeError, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
