"""How much freed memory the C allocator keeps for the next training step.

An eager step allocates its activations and gradients fresh and frees them by the end: arrays of
a few hundred KiB to tens of MiB. glibc's ``malloc`` returns freed memory at the top of its heap
to the kernel once more than a little (128 KiB) is free there, so every step gets its memory back
as new pages, and the kernel faults each page in and zeroes it again: in the CNN step of
``benchmarks/bench_cnn.py`` that was 1,290 page faults and 60% of the step's time. Telling
``malloc`` to keep up to ``nbytes`` of freed memory (``M_TOP_PAD``) and to serve arrays of up
to 32 MiB from its heap (``M_MMAP_THRESHOLD``, the most glibc's own adaptive threshold reaches)
makes the second step reuse the first one's pages, as a numpy program reuses the buffers it
allocated once.

minigrad does this when it is imported (``keep_freed(DEFAULT)``). It is process-wide: the
process keeps up to ``nbytes`` of freed memory resident instead of returning it, so its resident
size falls back more slowly after a peak, never above that peak. ``keep_freed(0)`` gives the
memory back promptly again; the environment variable ``MINIGRAD_KEEP_FREED_MEMORY`` sets the
amount before the import, in MiB (``0``: the allocator is left as it is). On C libraries other
than glibc nothing changes (``keep_freed`` returns False).
"""

from __future__ import annotations

import ctypes
import os
import platform

DEFAULT = 64 << 20  # bytes: covers the transient memory of the steps minigrad is for
ENVIRONMENT = "MINIGRAD_KEEP_FREED_MEMORY"

# mallopt's parameter numbers (glibc's malloc.h) and its defaults, restored by keep_freed(0).
M_TOP_PAD, M_MMAP_THRESHOLD = -2, -3
GLIBC_TOP_PAD, GLIBC_MMAP_THRESHOLD = 128 << 10, 128 << 10
LARGEST_FROM_HEAP = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit machines

kept: int = 0  # bytes, as last set by keep_freed


def _mallopt():
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None


def keep_freed(nbytes: int) -> bool:
    """Keep up to ``nbytes`` of freed memory for reuse (0: return it to the kernel promptly).

    Returns whether the C library took the setting (glibc only). See the module's docstring.
    """
    global kept
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"keep_freed(nbytes) takes a number of bytes >= 0, got {nbytes!r}")
    mallopt = _mallopt()
    if mallopt is None:
        return False
    threshold = LARGEST_FROM_HEAP if nbytes else GLIBC_MMAP_THRESHOLD
    pad = nbytes or GLIBC_TOP_PAD
    if not (mallopt(M_MMAP_THRESHOLD, threshold) and mallopt(M_TOP_PAD, pad)):
        return False
    kept = nbytes
    return True


def keep_freed_from_environment() -> bool:
    """``keep_freed`` with the amount ``MINIGRAD_KEEP_FREED_MEMORY`` names in MiB, or DEFAULT."""
    value = os.environ.get(ENVIRONMENT, "").strip()
    if not value:
        return keep_freed(DEFAULT)
    try:
        nbytes = int(float(value) * (1 << 20))
    except ValueError:
        raise ValueError(
            f"{ENVIRONMENT}={value!r}: give a number of MiB of freed memory to keep "
            f"(0 leaves the C allocator as it is)"
        ) from None
    return keep_freed(nbytes) if nbytes > 0 else False  # 0: glibc untouched
