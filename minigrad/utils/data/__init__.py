"""``minigrad.utils.data``: datasets, samplers and the ``DataLoader``, as ``torch.utils.data``.

>>> import minigrad as mg
>>> from minigrad.utils.data import DataLoader, TensorDataset
>>> data = TensorDataset(mg.arange(10.0).reshape(5, 2), mg.arange(5))
>>> [y.tolist() for x, y in DataLoader(data, batch_size=2)]
[[0, 1], [2, 3], [4]]
"""

from ...errors import missing_names
from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]

# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.utils.data")
