"""``save`` and ``load``: a checkpoint to and from a file name (written atomically) or a binary
file object, with the checks that say what to pass instead."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import zipfile
import zlib

import numpy as np

from .. import devices
from ..tensor import Tensor
from .atomic_write import write_atomically
from .structure import FORMAT, MAX_STRUCTURE_BYTES, STRUCTURE, CheckpointError, decode, encode
from .zip_reading import read_checkpoint


def save(obj, path) -> None:
    """Write ``obj`` (a state dict, an optimizer state dict, ...) as ``.npz`` to ``path``: a file
    name (str or os.PathLike), written atomically, or a binary file object with ``write()``
    (e.g. ``io.BytesIO``, or a file opened with ``"wb"``), written from its current position
    (not atomically) and left open. An object that cannot be saved raises ``CheckpointError``
    before anything is written.

    A file name is written as ``.<name>.<random>.minigrad-tmp`` in the same folder, flushed to
    disk (fsync), given the old file's permissions (a new file: 0o666 minus the umask), then
    renamed over ``path``. A symlink is written through: its target is replaced and the link
    stays. A save that is killed leaves the temporary file behind; delete it once no save is
    running."""
    if not _is_path(path):
        _check_writable(path)
    arrays: dict = {}
    text = json.dumps({"format": FORMAT, "object": encode(obj, arrays)})
    structure = np.array(text)
    if structure.nbytes > MAX_STRUCTURE_BYTES:
        raise CheckpointError(
            f"save: the object's structure (all but its arrays) takes {len(text):,} "
            f"characters of JSON, more than the {MAX_STRUCTURE_BYTES // 4:,} that mg.load "
            f"reads; keep long lists of numbers in arrays (np.asarray(values))"
        )
    entries = {**arrays, STRUCTURE: structure}
    if _is_path(path):
        write_atomically(path, lambda f: np.savez(f, **entries))
    else:  # the caller owns this file: minigrad cannot write elsewhere and rename, as for a name
        np.savez(path, **entries)


def _is_path(target) -> bool:
    return isinstance(target, str | os.PathLike)


def _not_a_file(action: str, target, methods: str, bytes_hint: str) -> TypeError:
    # bytes are most likely a checkpoint's contents, not a file name: say how to use them
    hint = f"; {bytes_hint}" if isinstance(target, bytes | bytearray | memoryview) else ""
    return TypeError(
        f"{action}: expected a file name (str or os.PathLike) or a binary file object with "
        f"{methods}, got {type(target).__name__}{hint}"
    )


def _check_writable(f) -> None:
    if not callable(getattr(f, "write", None)):
        raise _not_a_file(
            "save",
            f,
            "write()",
            "to get a checkpoint's bytes, save to an io.BytesIO and call its getvalue()",
        )
    try:
        f.write(b"")  # writes nothing to a binary file; a text file refuses bytes
    except TypeError:
        raise TypeError(
            f"save: {_name(f)} is open in text mode; a checkpoint is binary, so open it with "
            f"open(name, 'wb') or pass an io.BytesIO"
        ) from None


def load(path, map_location=None, *, weights_only: bool | None = None, mmap: bool | None = None,
         max_bytes: int = 4 * 2**30):  # fmt: skip
    """Read a checkpoint written by ``save`` from ``path``: a file name (str or os.PathLike) or a
    binary file object with ``read()`` and ``seek()`` (e.g. ``io.BytesIO``, or a file opened
    with ``"rb"``), read from its current position and left open at an unspecified position.
    Never runs code from the file (no pickle); a file that is corrupted, truncated, or not a
    minigrad checkpoint raises ``CheckpointError``, whichever way it is given. Saved Tensors come
    back as Tensors (a model's ``state_dict``), saved numpy arrays as arrays.

    ``map_location``, ``weights_only`` and ``mmap`` are ``torch.load``'s, accepted so that a
    ported script runs: everything loads onto the CPU (a device given as ``map_location``, or
    the targets of a dict of them, must be the CPU: ``"cuda"`` is an error; a function is
    accepted and not called), and loading is always weights-only, whatever ``weights_only``
    says, since minigrad never unpickles.

    ``max_bytes`` (default 4 GiB) bounds the arrays' total size as the file declares it (shape
    × itemsize, summed): a checkpoint that needs more is refused before anything is
    decompressed, and the error says how much it needs; for a file you trust, raise the limit
    (``mg.load(path, max_bytes=2**36)``). Each array is read in chunks into memory of its
    declared size, and anything the structure does not refer to is refused unread."""
    _check_map_location(map_location)
    if not isinstance(max_bytes, int | np.integer) or isinstance(max_bytes, bool):
        raise TypeError(
            f"load: max_bytes must be an int (a number of bytes, e.g. 2**34), "
            f"got {type(max_bytes).__name__}"
        )
    if max_bytes < 0:
        raise ValueError(f"load: max_bytes must be at least 0, got {max_bytes}")
    name = path
    if not _is_path(path):
        _check_readable(path)
        name = _name(path)
    try:
        with _opened(path) as f:
            _refuse_a_single_array(f, name)
            with zipfile.ZipFile(f) as archive:
                document, arrays = read_checkpoint(archive, name, int(max_bytes))
    except (FileNotFoundError, CheckpointError):
        raise
    except RecursionError:
        raise CheckpointError(f"load: {name} nests its structure too deeply") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError,
            NotImplementedError, MemoryError, struct.error, zlib.error) as e:  # fmt: skip
        raise CheckpointError(
            f"load: {name} is not a readable checkpoint ({type(e).__name__}: {e}); it may be "
            f"truncated or corrupted, or hold pickled objects, which minigrad never loads"
        ) from None
    # the same walk as the one that checked the structure above, so it cannot fail
    return decode(document, lambda kind, key: _array(kind, arrays[key]), name)


def _check_map_location(map_location) -> None:
    """A device (or a dict whose targets are devices) must be the CPU; a function is kept out
    of it (it moves storages between devices, and there is only the CPU)."""
    if isinstance(map_location, dict):
        for target in map_location.values():
            devices.check("load: map_location", target)
    elif not callable(map_location) or isinstance(map_location, devices.device):
        devices.check("load: map_location", map_location)


def _array(kind: str, data: np.ndarray):
    return Tensor(data) if kind == "tensor" else data


def _name(f) -> str:
    """What messages call a file object: its file name if it has one (as ``open`` gives it)."""
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else f"the {type(f).__name__} object"


def _check_readable(f) -> None:
    if not (callable(getattr(f, "read", None)) and callable(getattr(f, "seek", None))):
        raise _not_a_file(
            "load",
            f,
            "read() and seek()",
            "for a checkpoint's bytes held in memory, pass io.BytesIO(data)",
        )
    if isinstance(f.read(0), str):  # reads nothing; a binary file answers with b""
        raise TypeError(
            f"load: {_name(f)} is open in text mode; a checkpoint is binary, so open it with "
            f"open(name, 'rb')"
        )
    seekable = getattr(f, "seekable", None)
    if callable(seekable) and not seekable():
        # A zip archive is read from its end (the directory of entries is there), then each
        # entry from where the directory says it starts.
        raise CheckpointError(
            f"load: {_name(f)} is not seekable (a pipe or socket?); a checkpoint must be read "
            f"from a seekable file, so read it into memory first: mg.load(io.BytesIO(f.read()))"
        )


def _opened(source):
    """A binary file for ``source``; a caller's file object is used as is and left open."""
    return open(source, "rb") if _is_path(source) else contextlib.nullcontext(source)


def _refuse_a_single_array(f, name) -> None:
    start = f.tell()
    if f.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX:
        raise CheckpointError(f"load: {name} is a single array (.npy), not a minigrad checkpoint")
    f.seek(start)
