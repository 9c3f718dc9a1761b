"""``mg.cuda``: there is no GPU in minigrad (it computes with numpy on the CPU).

What a PyTorch script asks before choosing a device answers as on a machine without CUDA:
``is_available()`` is False and ``device_count()`` is 0, so ``"cuda" if
mg.cuda.is_available() else "cpu"`` picks the CPU; seeding the GPUs does nothing (as PyTorch's
without CUDA). Anything that needs a GPU is a ``DeviceError``.

>>> import minigrad as mg
>>> mg.cuda.is_available(), mg.cuda.device_count()
(False, 0)
"""

from __future__ import annotations

from .devices import check


def is_available() -> bool:
    """False: minigrad has no CUDA."""
    return False


def device_count() -> int:
    """0 GPUs."""
    return 0


def is_initialized() -> bool:
    """False: there is no CUDA to initialise."""
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed (PyTorch ignores it too when CUDA is not there)."""


def manual_seed_all(seed: int) -> None:
    """Nothing to seed."""


def empty_cache() -> None:
    """Nothing to free (a no-op, as PyTorch's when CUDA was never used)."""


def current_device() -> int:
    """Always a DeviceError: there is no GPU."""
    check("cuda.current_device", "cuda")
    return 0  # not reached


def synchronize(device=None) -> None:
    """Always a DeviceError: there is no GPU."""
    check("cuda.synchronize", "cuda")
