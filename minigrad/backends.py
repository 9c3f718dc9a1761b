"""``mg.backends``: PyTorch's backend switches, as they read on a CPU-only machine.

``mg.backends.mps.is_available()`` is False; ``mg.backends.cudnn.deterministic = True`` and
``mg.backends.cudnn.benchmark = False``, which seeded scripts set, are accepted and change
nothing (numpy on the CPU is deterministic already).
"""

from __future__ import annotations


class _MPS:
    """Apple's Metal backend: not in minigrad."""

    @staticmethod
    def is_available() -> bool:
        """False: minigrad has no MPS."""
        return False

    @staticmethod
    def is_built() -> bool:
        """False: minigrad has no MPS."""
        return False


class _CuDNN:
    """cuDNN's switches: settable, without effect."""

    enabled = True
    deterministic = False
    benchmark = False
    allow_tf32 = False

    @staticmethod
    def is_available() -> bool:
        """False: minigrad has no cuDNN."""
        return False


mps = _MPS()
cudnn = _CuDNN()
