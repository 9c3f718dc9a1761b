"""Checkpoints: ``mg.save(obj, path)`` and ``mg.load(path)``, as ``.npz`` without pickle.

``path`` is a file name (str or os.PathLike) or a binary file object (``io.BytesIO``, an open
file), as for ``torch.save``. ``obj`` is a state dict, or any nesting of dicts, lists and tuples
of arrays, Tensors, numbers, strings, booleans and None (an optimizer's state dict). The arrays
are the npz's entries; the nesting is a JSON document in one more entry. Loading never unpickles,
so a checkpoint can never run code; anything unexpected in the file is an error, never a guess.

Loading trusts no size the file declares: it reads the structure entry first (at most 16 MiB,
4 Mi characters of JSON), then only the arrays the structure refers to, each checked against
``max_bytes`` before any of it is decompressed and then read in chunks, so a zip bomb or a zip
directory that lies about sizes is refused in a few MB of memory.

Saving to a file name writes a temporary file ``.<name>.<random>.minigrad-tmp`` next to the file
(next to a symlink's target: the link stays a link), gives it the old file's permissions, flushes
it to disk and renames it over the file, so an existing checkpoint is never half overwritten. A
save that is killed leaves that temporary behind; nothing deletes it (another process may be
saving to the same name right now), and once no save is running it is safe to delete.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import struct
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from .atomic_write import write_atomically
from .errors import MinigradError
from .tensor import Tensor

_STRUCTURE = "__minigrad_structure__"
_FORMAT = "minigrad-checkpoint-1"
# The structure is JSON held as numpy's UTF-32, 4 bytes a character. JSON of n bytes can become
# ~24n bytes of Python objects (measured for "[],[],..."), so this bounds a hostile one to ~100 MB.
_MAX_STRUCTURE_BYTES = 16 * 2**20
_MAX_HEADER_BYTES = 10_000  # numpy's own bound on an .npy header (np.load's max_header_size)
_CHUNK_BYTES = 4 * 2**20


class CheckpointError(MinigradError, ValueError):
    """A file that is not a readable minigrad checkpoint, or an object that cannot be saved."""


def _encode(value, arrays: dict):
    """A JSON-able description of ``value``; arrays are moved into ``arrays``."""
    if isinstance(value, Tensor | np.ndarray):
        key = f"a{len(arrays)}"
        data = value.data if isinstance(value, Tensor) else value
        if data.dtype.kind not in "biufc":
            raise CheckpointError(
                f"save: cannot save an array of dtype {data.dtype} (numeric only)"
            )
        arrays[key] = data
        return {"tensor" if isinstance(value, Tensor) else "array": key}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, float) and not np.isfinite(value):
            return {"float": repr(value)}
        return value
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise CheckpointError(f"save: dict keys must be str or int, got {k!r}")
        return {"dict": [[k, _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return {
            "tuple" if isinstance(value, tuple) else "list": [_encode(v, arrays) for v in value]
        }
    raise CheckpointError(
        f"save: cannot save a {type(value).__name__}; a checkpoint holds arrays, Tensors, numbers, "
        f"strings, booleans, None, and dicts, lists and tuples of them"
    )


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
    text = json.dumps({"format": _FORMAT, "object": _encode(obj, arrays)})
    structure = np.array(text)
    if structure.nbytes > _MAX_STRUCTURE_BYTES:
        raise CheckpointError(
            f"save: the object's structure (all but its arrays) takes {len(text):,} "
            f"characters of JSON, more than the {_MAX_STRUCTURE_BYTES // 4:,} that mg.load "
            f"reads; keep long lists of numbers in arrays (np.asarray(values))"
        )
    entries = {**arrays, _STRUCTURE: structure}
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


def _decode(node, array, path):
    """The object ``node`` describes; ``array(kind, key)`` gives what an array entry stands for."""
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((kind, content),) = node.items()
        if kind in ("array", "tensor") and isinstance(content, str):
            return array(kind, content)
        if kind == "float" and content in ("nan", "inf", "-inf"):
            return float(content)
        if kind == "dict" and isinstance(content, list):
            out = {}
            for item in content:
                if (not isinstance(item, list) or len(item) != 2
                        or not isinstance(item[0], str | int)):  # fmt: skip
                    raise CheckpointError(f"load: {path} has a malformed dict entry")
                out[item[0]] = _decode(item[1], array, path)
            return out
        if kind in ("list", "tuple") and isinstance(content, list):
            items = [_decode(v, array, path) for v in content]
            return tuple(items) if kind == "tuple" else items
    raise CheckpointError(f"load: {path} has an entry minigrad does not understand: {node!r:.80}")


def load(path, *, max_bytes: int = 4 * 2**30):
    """Read a checkpoint written by ``save`` from ``path``: a file name (str or os.PathLike) or a
    binary file object with ``read()`` and ``seek()`` (e.g. ``io.BytesIO``, or a file opened
    with ``"rb"``), read from its current position and left open at an unspecified position.
    Never runs code from the file (no pickle); a file that is corrupted, truncated, or not a
    minigrad checkpoint raises ``CheckpointError``, whichever way it is given.

    ``max_bytes`` (default 4 GiB) bounds the arrays' total size as the file declares it (shape
    × itemsize, summed): a checkpoint that needs more is refused before anything is
    decompressed, and the error says how much it needs; for a file you trust, raise the limit
    (``mg.load(path, max_bytes=2**36)``). Each array is read in chunks into memory of its
    declared size, and anything the structure does not refer to is refused unread."""
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
                document, arrays = _read_checkpoint(archive, name, int(max_bytes))
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
    return _decode(document, lambda kind, key: _array(kind, arrays[key]), name)


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


# ----- reading the zip: the structure first, then only what it refers to, in bounded chunks -----


def _read_checkpoint(archive: zipfile.ZipFile, name, max_bytes: int):
    """The structure's object and its arrays by key, each size checked before it is read."""
    members = {}
    for info in archive.infolist():
        if info.filename in members:  # which of the two would be read is zipfile's guess
            raise CheckpointError(f"load: {name} holds two entries named {info.filename!r}")
        members[info.filename] = info
    if f"{_STRUCTURE}.npy" not in members:
        raise CheckpointError(f"load: {name} is an npz file but not a minigrad checkpoint")
    document = _read_structure(archive, members.pop(f"{_STRUCTURE}.npy"), name)

    referenced = {}  # key -> ZipInfo, in the order the structure refers to them

    def note(kind, key):
        if f"{key}.npy" not in members:
            raise CheckpointError(f"load: {name} refers to an array {key!r} it lacks")
        referenced[key] = members[f"{key}.npy"]

    _decode(document, note, name)  # checks the whole structure before any array is opened
    # NOTE: an entry nothing refers to is refused, not skipped: save never writes one, so the
    # file was altered or made by something else, and the rest of it deserves no more trust.
    unreferenced = sorted(set(members) - {f"{key}.npy" for key in referenced})
    if unreferenced:
        more = f" and {len(unreferenced) - 1} more entries" if len(unreferenced) > 1 else ""
        raise CheckpointError(
            f"load: {name} holds {unreferenced[0]!r}{more} that its structure does not refer "
            f"to; mg.save never writes such a file (altered, or not a minigrad checkpoint)"
        )
    headers = {}
    for key, info in referenced.items():
        with _open_member(archive, info, name) as entry:
            headers[key] = header = _read_header(entry, info, name)
        if header.dtype.kind not in "biufc":
            raise CheckpointError(
                f"load: {name}: {info.filename} holds an array of dtype {header.dtype}; "
                f"a checkpoint holds numeric arrays only"
            )
    needed = sum(header.nbytes for header in headers.values())
    if needed > max_bytes:
        raise CheckpointError(
            f"load: {name} needs {needed:,} bytes ({needed / 2**30:.3g} GiB) for its arrays, "
            f"more than max_bytes={max_bytes:,}; if you trust the file, raise the limit: "
            f"mg.load(path, max_bytes={needed})"
        )
    arrays = {}
    for key, info in referenced.items():
        with _open_member(archive, info, name) as entry:
            entry.read(headers[key].length)  # checked above
            arrays[key] = _read_data(entry, info, name, headers[key])
    return document, arrays


def _read_structure(archive, info, name):
    with _open_member(archive, info, name) as entry:
        header = _read_header(entry, info, name)
        if header.dtype.kind != "U" or header.shape != ():
            raise CheckpointError(
                f"load: {name}: its structure entry holds dtype {header.dtype} and shape "
                f"{header.shape}, not a JSON string"
            )
        if header.nbytes > _MAX_STRUCTURE_BYTES:
            raise CheckpointError(
                f"load: {name}: its structure entry declares {header.nbytes:,} bytes, more than "
                f"the {_MAX_STRUCTURE_BYTES:,} mg.save writes (hostile, or not a checkpoint)"
            )
        text = str(_read_data(entry, info, name, header)[()])
    try:
        document = json.loads(text)
    except ValueError as e:
        raise CheckpointError(f"load: {name} has an unreadable structure entry ({e})") from None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise CheckpointError(f"load: {name} is not in the {_FORMAT} format")
    return document.get("object")


def _open_member(archive, info, name):
    # zipfile inflates deflate in bounded steps, but bzip2 and LZMA whole reads at a time (a few
    # KB of them can expand to GBs); np.savez and np.savez_compressed write neither.
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError(
            f"load: {name}: {info.filename} uses zip compression method {info.compress_type}; "
            f"minigrad reads stored or deflated entries only, as numpy writes them"
        )
    return archive.open(info)


class _Header(NamedTuple):
    shape: tuple
    fortran_order: bool
    dtype: np.dtype
    length: int  # of the header itself: magic, version, length field, dict
    nbytes: int  # of the data that follows


def _read_header(entry, info, name) -> _Header:
    """An .npy entry's header, read from at most ~10 kB of it and checked against the size the
    zip directory gives the entry."""
    version = np.lib.format.read_magic(io.BytesIO(entry.read(np.lib.format.MAGIC_LEN)))
    length_format = {(1, 0): "<H", (2, 0): "<I"}.get(version)
    if length_format is None:
        raise CheckpointError(f"load: {name}: unknown .npy version {version}")
    # numpy reads a header as long as its length field says before checking that length, so
    # the length is checked here and numpy parses only bytes already read
    length_field = entry.read(struct.calcsize(length_format))
    (length,) = struct.unpack(length_format, length_field)
    if length > _MAX_HEADER_BYTES:
        raise CheckpointError(
            f"load: {name}: {info.filename} declares an .npy header of {length:,} bytes "
            f"(numpy's limit: {_MAX_HEADER_BYTES:,})"
        )
    read = {(1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0}[version]  # fmt: skip
    shape, fortran_order, dtype = read(io.BytesIO(length_field + entry.read(length)))
    if dtype.hasobject:
        raise CheckpointError(
            f"load: {name} holds an object array ({info.filename}), which only pickle could "
            f"read; minigrad never unpickles"
        )
    if any(n < 0 for n in shape):
        raise CheckpointError(f"load: {name}: {info.filename} declares shape {shape}")
    header = _Header(shape, fortran_order, dtype, np.lib.format.MAGIC_LEN + len(length_field)
                     + length, math.prod(shape) * dtype.itemsize)  # fmt: skip
    if header.length + header.nbytes != info.file_size:
        raise CheckpointError(
            f"load: {name}: {info.filename} declares shape {shape} and dtype {dtype} "
            f"({header.nbytes:,} bytes) but the zip directory says the entry holds "
            f"{info.file_size:,} bytes, {header.length} of them header (corrupted or hostile)"
        )
    return header


def _read_data(entry, info, name, header: _Header) -> np.ndarray:
    """The entry's array, read in chunks into memory of its declared size: the stream may hold
    less than its directory says (and zipfile stops at that size and checks the CRC there)."""
    try:
        array = np.empty(math.prod(header.shape), header.dtype)
    except MemoryError:
        raise CheckpointError(
            f"load: {name}: not enough memory for {info.filename} ({header.nbytes:,} bytes)"
        ) from None
    buffer = memoryview(array.view(np.uint8))
    filled = 0
    while filled < len(buffer):
        chunk = entry.read(min(_CHUNK_BYTES, len(buffer) - filled))
        if not chunk:
            raise CheckpointError(
                f"load: {name}: {info.filename} ends after {filled:,} of the {len(buffer):,} "
                f"bytes of data it declares (truncated, or its zip directory lies)"
            )
        buffer[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    if header.fortran_order:
        return array.reshape(header.shape[::-1]).transpose()
    return array.reshape(header.shape)
