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

from .save_load import load, save
from .structure import CheckpointError

__all__ = ["CheckpointError", "load", "save"]
