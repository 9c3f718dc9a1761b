"""Checkpoints: ``mg.save(obj, path)`` and ``mg.load(path)``, as ``.npz`` without pickle.

``obj`` is a state dict, or any nesting of dicts, lists and tuples of arrays, Tensors, numbers,
strings, booleans and None (an optimizer's state dict). The arrays are the npz's entries; the
nesting is a JSON document in one more entry. Loading uses ``allow_pickle=False``, so a
checkpoint can never run code; anything unexpected in the file is an error, never a guess.
Saving writes a temporary file and renames it, so an existing checkpoint is never half
overwritten.
"""

from __future__ import annotations

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
    """Write ``obj`` (a state dict, an optimizer state dict, ...) to ``path`` as ``.npz``."""
    arrays: dict = {}
    structure = json.dumps({"format": _FORMAT, "object": _encode(obj, arrays)})
    folder = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **arrays, **{_STRUCTURE: np.array(structure)})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private; give it the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
    """Read a checkpoint written by ``save``. Never runs code from the file (no pickle); a file
    that is corrupted, truncated, or not a minigrad checkpoint raises ``CheckpointError``."""
    try:
        _check_entries(path)
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CheckpointError(f"load: {path} is a single array, not a minigrad checkpoint")
        with loaded as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (FileNotFoundError, CheckpointError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError,
            NotImplementedError, MemoryError) as e:  # fmt: skip
        raise CheckpointError(
            f"load: {path} is not a readable checkpoint ({type(e).__name__}: {e}); it may be "
            f"truncated or corrupted, or hold pickled objects, which minigrad never loads"
        ) from None
    if _STRUCTURE not in arrays:
        raise CheckpointError(f"load: {path} is an npz file but not a minigrad checkpoint")
    try:
        document = json.loads(str(arrays.pop(_STRUCTURE)))
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise CheckpointError(f"load: {path} is not in the {_FORMAT} format")
        return _decode(document.get("object"), arrays, path)
    except RecursionError:
        raise CheckpointError(f"load: {path} nests its structure too deeply") from None
    except (ValueError, TypeError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"load: {path} has an unreadable structure entry ({e})") from None


def _check_entries(path) -> None:
    """Before numpy allocates anything: every entry is an .npy array whose header declares no
    more data than the entry holds, and no object dtype (which would need pickle)."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise CheckpointError(f"load: {path} holds {info.filename!r}, not an array")
            with archive.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = {(1, 0): np.lib.format.read_array_header_1_0,
                        (2, 0): np.lib.format.read_array_header_2_0}.get(version)  # fmt: skip
                if read is None:
                    raise CheckpointError(f"load: {path}: unknown .npy version {version}")
                shape, _, dtype = read(f)
            if dtype.hasobject:
                raise CheckpointError(
                    f"load: {path} holds an object array ({info.filename}), which only pickle "
                    f"could read; minigrad never unpickles"
                )
            if int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                raise CheckpointError(
                    f"load: {path}: {info.filename} declares shape {shape} but holds only "
                    f"{info.file_size} bytes (corrupted or hostile)"
                )
