"""Checkpoints: ``mg.save(obj, path)`` and ``mg.load(path)``, as ``.npz`` without pickle.

``path`` is a file name (str or os.PathLike) or a binary file object (``io.BytesIO``, an open
file), as for ``torch.save``. ``obj`` is a state dict, or any nesting of dicts, lists and tuples
of arrays, Tensors, numbers, strings, booleans and None (an optimizer's state dict). The arrays
are the npz's entries; the nesting is a JSON document in one more entry. Loading uses
``allow_pickle=False``, so a checkpoint can never run code; anything unexpected in the file is an
error, never a guess. Saving to a file name writes a temporary file and renames it, so an
existing checkpoint is never half overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile

import numpy as np

from .errors import MinigradError
from .tensor import Tensor

_STRUCTURE = "__minigrad_structure__"
_FORMAT = "minigrad-checkpoint-1"


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
    before anything is written."""
    if not _is_path(path):
        _check_writable(path)
    arrays: dict = {}
    structure = json.dumps({"format": _FORMAT, "object": _encode(obj, arrays)})
    entries = {**arrays, _STRUCTURE: np.array(structure)}
    if _is_path(path):
        _write_atomically(path, entries)
    else:  # the caller owns this file: minigrad cannot write elsewhere and rename, as for a name
        np.savez(path, **entries)


def _write_atomically(path, entries: dict) -> None:
    """Write a temporary file next to ``path``, then rename it over ``path``: a full disk or an
    interrupt never leaves a half-written checkpoint, and an existing one survives."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **entries)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; give it the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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


def _decode(node, arrays, path):
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((kind, content),) = node.items()
        if kind in ("array", "tensor") and isinstance(content, str):
            if content not in arrays:
                raise CheckpointError(f"load: {path} refers to an array {content!r} it lacks")
            return Tensor(arrays[content]) if kind == "tensor" else arrays[content]
        if kind == "float" and content in ("nan", "inf", "-inf"):
            return float(content)
        if kind == "dict" and isinstance(content, list):
            out = {}
            for item in content:
                if (not isinstance(item, list) or len(item) != 2
                        or not isinstance(item[0], str | int)):  # fmt: skip
                    raise CheckpointError(f"load: {path} has a malformed dict entry")
                out[item[0]] = _decode(item[1], arrays, path)
            return out
        if kind in ("list", "tuple") and isinstance(content, list):
            items = [_decode(v, arrays, path) for v in content]
            return tuple(items) if kind == "tuple" else items
    raise CheckpointError(f"load: {path} has an entry minigrad does not understand: {node!r:.80}")


def load(path):
    """Read a checkpoint written by ``save`` from ``path``: a file name (str or os.PathLike) or a
    binary file object with ``read()`` and ``seek()`` (e.g. ``io.BytesIO``, or a file opened
    with ``"rb"``), read from its current position and left open at an unspecified position.
    Never runs code from the file (no pickle); a file that is corrupted, truncated, or not a
    minigrad checkpoint raises ``CheckpointError``, whichever way it is given."""
    name = path
    if not _is_path(path):
        _check_readable(path)
        name = _name(path)
    arrays = _read_arrays(path, name)
    if _STRUCTURE not in arrays:
        raise CheckpointError(f"load: {name} is an npz file but not a minigrad checkpoint")
    try:
        document = json.loads(str(arrays.pop(_STRUCTURE)))
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise CheckpointError(f"load: {name} is not in the {_FORMAT} format")
        return _decode(document.get("object"), arrays, name)
    except RecursionError:
        raise CheckpointError(f"load: {name} nests its structure too deeply") from None
    except (ValueError, TypeError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"load: {name} has an unreadable structure entry ({e})") from None


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
        # A zip archive is read from its end (the directory of entries is there), and it is
        # read twice: once to check every header, then by numpy.
        raise CheckpointError(
            f"load: {_name(f)} is not seekable (a pipe or socket?); a checkpoint must be read "
            f"from a seekable file, so read it into memory first: mg.load(io.BytesIO(f.read()))"
        )


def _opened(source):
    """A binary file for ``source``; a caller's file object is used as is and left open."""
    return open(source, "rb") if _is_path(source) else contextlib.nullcontext(source)


def _read_arrays(source, name) -> dict:
    """Every array of the checkpoint, each header checked before numpy reads the entry. A file
    name is opened once, so the bytes numpy reads are the bytes that were checked."""
    try:
        with _opened(source) as f:
            start = f.tell()
            _check_entries(f, name)
            f.seek(start)  # the check left f anywhere; numpy must begin where the checkpoint does
            loaded = np.load(f, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise CheckpointError(f"load: {name} is a single array, not a minigrad checkpoint")
            with loaded as npz:
                return {key: npz[key] for key in npz.files}
    except (FileNotFoundError, CheckpointError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError,
            NotImplementedError, MemoryError) as e:  # fmt: skip
        raise CheckpointError(
            f"load: {name} is not a readable checkpoint ({type(e).__name__}: {e}); it may be "
            f"truncated or corrupted, or hold pickled objects, which minigrad never loads"
        ) from None


def _check_entries(f, name) -> None:
    """Before numpy allocates anything: every entry is an .npy array whose header declares no
    more data than the entry holds, and no object dtype (which would need pickle)."""
    with zipfile.ZipFile(f) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise CheckpointError(f"load: {name} holds {info.filename!r}, not an array")
            with archive.open(info) as entry:
                version = np.lib.format.read_magic(entry)
                read = {(1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0}.get(version)  # fmt: skip
                if read is None:
                    raise CheckpointError(f"load: {name}: unknown .npy version {version}")
                shape, _, dtype = read(entry)
            if dtype.hasobject:
                raise CheckpointError(
                    f"load: {name} holds an object array ({info.filename}), which only pickle "
                    f"could read; minigrad never unpickles"
                )
            if int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                raise CheckpointError(
                    f"load: {name}: {info.filename} declares shape {shape} but holds only "
                    f"{info.file_size} bytes (corrupted or hostile)"
                )
