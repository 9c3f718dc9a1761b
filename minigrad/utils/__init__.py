"""``minigrad.utils``: helpers outside the autodiff core, under PyTorch's names
(``minigrad.utils.data``: datasets and the DataLoader)."""

from ..errors import missing_names
from . import data

__all__ = ["data"]

# A name minigrad lacks is named by PyTorch's.
__getattr__ = missing_names(__name__, "torch.utils")
