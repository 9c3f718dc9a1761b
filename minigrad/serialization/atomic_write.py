"""Replace a file atomically, as if it had been rewritten in place: ``write_atomically``.

The new contents go to a temporary file ``.<name>.<random>.minigrad-tmp`` in the target's folder,
which is flushed to disk, given the old file's permissions (and owner, where the OS allows) and
renamed over the target. A reader sees the old file or the new one, never half of one; a crash
leaves the old file. A process killed mid-write leaves its temporary behind: nothing deletes it,
since another process may be writing one at that moment.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from typing import BinaryIO

TEMPORARY_SUFFIX = ".minigrad-tmp"


def write_atomically(path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file next to ``path``'s target, then rename it over
    the target. A symlink is written through (its target is replaced, the link stays); the old
    file's permission bits are kept; a new file gets 0o666 minus the umask, as ``open`` gives."""
    target = os.path.realpath(path)  # os.replace on the link itself would replace the link
    folder, base = os.path.split(target)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    # An old file's replacement stays private until it gets the old bits (a private checkpoint
    # is never readable by others mid-write); a new file gets its final mode from the kernel.
    handle, tmp = _create_temporary(folder, base, 0o600 if old else 0o666)
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
            f.flush()
            if old is not None:
                _copy_owner_and_permissions(tmp, old)
            os.fsync(f.fileno())  # else a crash soon after the rename can leave an empty file
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_directory(folder)  # the rename itself is durable only once the folder is


def _create_temporary(folder: str, base: str, mode: int) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        # 50 characters of the name keep it recognisable and under 255 bytes (NAME_MAX)
        tmp = os.path.join(folder, f".{base[:50]}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")
        with contextlib.suppress(FileExistsError):
            return os.open(tmp, flags, mode), tmp


def _copy_owner_and_permissions(tmp: str, old: os.stat_result) -> None:
    mode = old.st_mode & 0o777
    new = os.stat(tmp)
    if hasattr(os, "chown") and (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
        with contextlib.suppress(OSError):  # only root may give a file to another user
            os.chown(tmp, old.st_uid, -1)
        with contextlib.suppress(OSError):  # a user may pick only a group they belong to
            os.chown(tmp, -1, old.st_gid)
        if os.stat(tmp).st_gid != old.st_gid:
            mode &= ~0o070  # what the old group could read, a different group must not
    os.chmod(tmp, mode)


def _fsync_directory(folder: str) -> None:
    # Windows cannot open a directory and some file systems refuse to fsync one: the file is in
    # place either way, and only its durability across a power cut is left to the OS.
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
