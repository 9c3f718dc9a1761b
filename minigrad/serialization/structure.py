"""A checkpoint's structure: how an object becomes numeric arrays plus one JSON document that
describes its nesting (``encode``), and back (``decode``)."""

from __future__ import annotations

import numpy as np

from ..errors import MinigradError
from ..tensor import Tensor

STRUCTURE = "__minigrad_structure__"
FORMAT = "minigrad-checkpoint-1"
# The structure is JSON held as numpy's UTF-32, 4 bytes a character. JSON of n bytes can become
# ~24n bytes of Python objects (measured for "[],[],..."), so this bounds a hostile one to ~100 MB.
MAX_STRUCTURE_BYTES = 16 * 2**20


class CheckpointError(MinigradError, ValueError):
    """A file that is not a readable minigrad checkpoint, or an object that cannot be saved."""


def encode(value, arrays: dict):
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
        return {"dict": [[k, encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return {"tuple" if isinstance(value, tuple) else "list": [encode(v, arrays) for v in value]}
    if callable(getattr(value, "state_dict", None)):  # a model, an optimizer, a scheduler
        raise CheckpointError(
            f"save: cannot save a {type(value).__name__} object itself: torch.save pickles whole "
            f"objects, and minigrad never pickles (loading could run code); save its "
            f"state_dict() and restore it with load_state_dict(mg.load(path)) into a new one"
        )
    raise CheckpointError(
        f"save: cannot save a {type(value).__name__}; a checkpoint holds arrays, Tensors, numbers, "
        f"strings, booleans, None, and dicts, lists and tuples of them"
    )


def decode(node, array, path):
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
                out[item[0]] = decode(item[1], array, path)
            return out
        if kind in ("list", "tuple") and isinstance(content, list):
            items = [decode(v, array, path) for v in content]
            return tuple(items) if kind == "tuple" else items
    raise CheckpointError(f"load: {path} has an entry minigrad does not understand: {node!r:.80}")
