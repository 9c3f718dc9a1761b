"""Reading a checkpoint's zip in bounded memory: the structure first, then only the arrays it
refers to, each size checked before anything is decompressed and then read in chunks."""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
from typing import NamedTuple

import numpy as np

from .structure import FORMAT, MAX_STRUCTURE_BYTES, STRUCTURE, CheckpointError, decode

_MAX_HEADER_BYTES = 10_000  # numpy's own bound on an .npy header (np.load's max_header_size)
_CHUNK_BYTES = 4 * 2**20


def read_checkpoint(archive: zipfile.ZipFile, name, max_bytes: int):
    """The structure's object and its arrays by key, each size checked before it is read."""
    members = {}
    for info in archive.infolist():
        if info.filename in members:  # which of the two would be read is zipfile's guess
            raise CheckpointError(f"load: {name} holds two entries named {info.filename!r}")
        members[info.filename] = info
    if f"{STRUCTURE}.npy" not in members:
        raise CheckpointError(f"load: {name} is an npz file but not a minigrad checkpoint")
    document = _read_structure(archive, members.pop(f"{STRUCTURE}.npy"), name)

    referenced = {}  # key -> ZipInfo, in the order the structure refers to them

    def note(kind, key):
        if f"{key}.npy" not in members:
            raise CheckpointError(f"load: {name} refers to an array {key!r} it lacks")
        referenced[key] = members[f"{key}.npy"]

    decode(document, note, name)  # checks the whole structure before any array is opened
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
        if header.nbytes > MAX_STRUCTURE_BYTES:
            raise CheckpointError(
                f"load: {name}: its structure entry declares {header.nbytes:,} bytes, more than "
                f"the {MAX_STRUCTURE_BYTES:,} mg.save writes (hostile, or not a checkpoint)"
            )
        text = str(_read_data(entry, info, name, header)[()])
    try:
        document = json.loads(text)
    except ValueError as e:
        raise CheckpointError(f"load: {name} has an unreadable structure entry ({e})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"load: {name} is not in the {FORMAT} format")
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
