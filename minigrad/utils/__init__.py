"""``minigrad.utils``: helpers outside the autodiff core, under PyTorch's names
(``minigrad.utils.data``: datasets and the DataLoader)."""

from ..errors import missing
from . import data

__all__ = ["data"]


def __getattr__(name: str):
    # Only reached for a name minigrad lacks (torch.utils.checkpoint, ...): say so.
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise missing("torch.utils", name)
