"""mg.save / mg.load: pickle-free npz checkpoints.

Round trips preserve every value and type exactly; hostile and broken files are refused with
``mg.CheckpointError`` and a clear message, without ever unpickling and without touching the
model, in bounded memory whatever sizes the file declares; saving is atomic, durable, and keeps
the old file's permissions and symlinks.
"""

import functools
import inspect
import io
import json
import math
import os
import pickle
import re
import signal
import stat
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

STRUCTURE = "__minigrad_structure__"  # the npz entry holding the JSON document (the format)
FORMAT = "minigrad-checkpoint-1"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def no_pickle(monkeypatch):
    """Make any unpickling during the test an immediate failure."""

    def refuse(*args, **kwargs):
        raise AssertionError("mg.load must never unpickle")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)


def make_model():
    return nn.Sequential(nn.Linear(4, 8, dtype=np.float32), nn.Linear(8, 3, dtype=np.float32))


def snapshot(model):
    return {name: p.data.copy() for name, p in model.named_parameters()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def npy_bytes(array, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def savez(path, allow_pickle=False, **arrays) -> None:
    """np.savez to exactly ``path`` (given a file name, np.savez would append ".npz")."""
    with open(path, "wb") as file:
        np.savez(file, allow_pickle=allow_pickle, **arrays)


def write_checkpoint(path, arrays: dict, document) -> None:
    """An npz laid out like a checkpoint: the arrays plus a structure entry holding ``document``
    (a JSON-able object, or a raw string written as is)."""
    text = document if isinstance(document, str) else json.dumps(document)
    savez(path, **arrays, **{STRUCTURE: np.array(text)})


# ----- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("as_path", [str, lambda p: p], ids=["str", "Path"])
def test_model_state_dict_round_trip(tmp_path, rng, no_pickle, as_path):
    source, target = make_model(), make_model()
    path = tmp_path / "model.pt"  # any name: nothing is appended
    mg.save(source.state_dict(), as_path(path))
    assert path.exists() and not (tmp_path / "model.pt.npz").exists()
    state = mg.load(as_path(path))
    assert list(state) == list(source.state_dict())
    for key, value in source.state_dict().items():
        assert type(state[key]) is mg.Tensor and state[key].dtype == value.dtype  # as saved
        np.testing.assert_array_equal(state[key].numpy(), value.numpy())
    target.load_state_dict(state)
    x = mg.tensor(rng.standard_normal((5, 4)), dtype=source[0].weight.dtype)
    np.testing.assert_array_equal(target(x).data, source(x).data)


def test_pathlib_path(tmp_path):
    mg.save({"w": np.arange(3.0)}, tmp_path / "ck")
    np.testing.assert_array_equal(mg.load(tmp_path / "ck")["w"], [0.0, 1.0, 2.0])


def test_optimizer_state_dict_round_trip_exactly(tmp_path, rng, no_pickle):
    exp_avg = rng.standard_normal((3, 2))
    obj = {
        "state": {0: {"step": 3, "exp_avg": exp_avg}, 1: {"step": 0, "momentum_buffer": None}},
        "param_groups": [
            {
                "lr": 0.1,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0.0,
                "amsgrad": False,
                "nesterov": True,
                "name": "default",
                "params": [0, 1],
                "max_grad": math.inf,
                "min_loss": -math.inf,
                "last": math.nan,
            }
        ],
    }
    path = tmp_path / "optim.ckpt"
    mg.save(obj, path)
    back = mg.load(path)

    assert list(back) == ["state", "param_groups"]
    assert list(back["state"]) == [0, 1]  # int keys stay ints
    assert all(type(k) is int for k in back["state"])
    state0 = back["state"][0]
    assert state0["step"] == 3 and type(state0["step"]) is int
    assert type(state0["exp_avg"]) is np.ndarray and state0["exp_avg"].dtype == np.float64
    np.testing.assert_array_equal(state0["exp_avg"], exp_avg)
    assert back["state"][1] == {"step": 0, "momentum_buffer": None}

    group = back["param_groups"][0]
    assert isinstance(back["param_groups"], list)
    assert group["betas"] == (0.9, 0.999) and type(group["betas"]) is tuple
    assert group["params"] == [0, 1] and type(group["params"]) is list
    assert group["lr"] == 0.1 and group["eps"] == 1e-8 and type(group["weight_decay"]) is float
    assert group["amsgrad"] is False and group["nesterov"] is True
    assert group["name"] == "default"
    assert group["max_grad"] == math.inf and group["min_loss"] == -math.inf
    assert type(group["last"]) is float and math.isnan(group["last"])


def test_scalars_are_preserved_exactly(tmp_path):
    values = [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, 2**70, -7, "", "ünïcode ✓", "nan"]
    mg.save(values, tmp_path / "s")
    back = mg.load(tmp_path / "s")
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]
    assert math.copysign(1.0, back[2]) == -1.0  # -0.0 keeps its sign
    assert back[-1] == "nan"  # a string that spells nan stays a string


def test_string_and_int_keys_are_distinct(tmp_path):
    obj = {0: "int", "0": "str", "tensor": "a plain string", "dict": [1, 2]}
    mg.save(obj, tmp_path / "k")
    assert mg.load(tmp_path / "k") == obj


def test_tensors_come_back_as_tensors_and_arrays_as_arrays(tmp_path, rng):
    t = mg.tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    a = rng.integers(0, 10, (4,))
    mg.save({"t": t, "a": a, "both": [t, a]}, tmp_path / "ta")
    back = mg.load(tmp_path / "ta")
    assert isinstance(back["t"], mg.Tensor) and back["t"].dtype == np.float32
    np.testing.assert_array_equal(back["t"].data, t.data)
    assert type(back["a"]) is np.ndarray and back["a"].dtype == a.dtype
    np.testing.assert_array_equal(back["a"], a)
    assert isinstance(back["both"][0], mg.Tensor) and type(back["both"][1]) is np.ndarray


@pytest.mark.parametrize(
    "array",
    [
        np.array(2.5),
        np.zeros((0, 3)),
        np.arange(6, dtype=np.int8).reshape(2, 3),
        np.array([True, False]),
        np.array([1 + 2j, -1j], dtype=np.complex64),
        np.array([np.nan, np.inf, -np.inf, -0.0]),
        np.arange(12.0).reshape(3, 4).T,  # not C-contiguous
        np.array([1.5, 2.5], dtype=np.float16),
        np.arange(3, dtype=">i4"),  # byte order kept, as np.load keeps it
        np.arange(24, dtype=">f8").reshape(2, 3, 4).transpose(2, 0, 1).copy(order="F"),
    ],
    ids=lambda a: f"{a.dtype}{a.shape}",
)
def test_array_dtypes_shapes_and_values(tmp_path, array):
    mg.save({"x": array}, tmp_path / "a")
    back = mg.load(tmp_path / "a")["x"]
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_a_compressed_checkpoint_loads_in_chunks(tmp_path, rng):
    """An npz that numpy compressed (deflate) loads too, its arrays larger than one read."""
    big = rng.standard_normal(1_300_000)  # 10.4 MB: three reads of 4 MiB
    document = json.dumps(
        {"format": FORMAT, "object": {"list": [{"array": "a0"}, {"tensor": "a1"}]}}
    )
    with open(tmp_path / "z", "wb") as file:
        np.savez_compressed(file, a0=big, a1=np.eye(3), **{STRUCTURE: np.array(document)})
    back = mg.load(tmp_path / "z")
    np.testing.assert_array_equal(back[0], big)
    np.testing.assert_array_equal(back[1].data, np.eye(3))


def test_top_level_array_and_empty_containers(tmp_path):
    mg.save(np.ones(2), tmp_path / "one")
    np.testing.assert_array_equal(mg.load(tmp_path / "one"), np.ones(2))
    mg.save({"d": {}, "l": [], "t": ()}, tmp_path / "empty")
    assert mg.load(tmp_path / "empty") == {"d": {}, "l": [], "t": ()}


def test_numpy_scalars_become_python_numbers(tmp_path):
    mg.save({"f": np.float32(0.5), "i": np.int64(3), "b": np.bool_(True)}, tmp_path / "n")
    back = mg.load(tmp_path / "n")
    assert back == {"f": 0.5, "i": 3, "b": True}
    assert [type(v) for v in back.values()] == [float, int, bool]


def test_saved_arrays_are_copies(tmp_path):
    model = make_model()
    state = model.state_dict()
    saved = state["0.weight"].numpy().copy()
    mg.save(state, tmp_path / "c")
    with mg.no_grad():
        model[0].weight.add_(1.0)  # the state dict's Tensors follow (they share memory)...
    assert not np.array_equal(state["0.weight"].numpy(), saved)
    loaded = mg.load(tmp_path / "c")["0.weight"].numpy()
    np.testing.assert_array_equal(loaded, saved)  # ...the file keeps what was saved


def test_file_is_a_plain_npz_without_pickles(tmp_path):
    """Other tools can read a checkpoint with numpy alone, allow_pickle=False."""
    mg.save({"w": np.arange(3.0), "n": 1}, tmp_path / "plain")
    with np.load(tmp_path / "plain", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert STRUCTURE in arrays
    assert all(a.dtype.kind != "O" for a in arrays.values())


# ----- unsaveable objects and atomic writes ------------------------------------------------------

UNSAVEABLE = {
    "lambda": lambda: {"fn": lambda x: x},
    "object array": lambda: {"a": np.array([{"x": 1}, None], dtype=object)},
    "string array": lambda: {"a": np.array(["a", "b"])},
    "set": lambda: {"s": {1, 2}},
    "a module": lambda: {"m": nn.Linear(2, 2)},
    "tuple key": lambda: {(1, 2): 3},
    "float key": lambda: {0.5: 1},
}


@pytest.mark.parametrize("name", list(UNSAVEABLE))
def test_unsaveable_objects_raise_and_leave_old_file_intact(tmp_path, name):
    path = tmp_path / "model.ckpt"
    mg.save(make_model().state_dict(), path)
    old = path.read_bytes()
    with pytest.raises(mg.CheckpointError):
        mg.save(UNSAVEABLE[name](), path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.ckpt"]  # no temporary files left behind


def test_failure_while_writing_leaves_old_file_intact(tmp_path, monkeypatch):
    """The write dies half way (disk full): the old checkpoint survives, no temp file remains."""
    path = tmp_path / "model.ckpt"
    mg.save(make_model().state_dict(), path)
    old = path.read_bytes()

    def dies_half_way(file, *args, **kwargs):
        file.write(b"PK\x03\x04 partial bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", dies_half_way)
    with pytest.raises(OSError):
        mg.save(make_model().state_dict(), path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.ckpt"]
    assert mg.load(path).keys() == make_model().state_dict().keys()


def test_interrupted_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    mg.save({"x": np.zeros(2)}, path)
    old = path.read_bytes()

    def interrupted(file, *args, **kwargs):
        file.write(b"PK")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mg.save({"x": np.ones(2)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["model.ckpt"]


def test_overwriting_replaces_the_checkpoint(tmp_path):
    path = tmp_path / "ck"
    mg.save({"x": np.zeros(2)}, path)
    mg.save({"x": np.ones(3)}, path)
    np.testing.assert_array_equal(mg.load(path)["x"], np.ones(3))
    assert os.listdir(tmp_path) == ["ck"]


def test_saved_file_has_the_usual_permissions(tmp_path):
    """A checkpoint is readable like any file the user writes (umask), not private like a
    temporary file."""
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    mg.save({"x": np.zeros(2)}, tmp_path / "ck")
    assert (tmp_path / "ck").stat().st_mode & 0o777 == reference.stat().st_mode & 0o777


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444], ids=oct)
def test_saving_over_a_file_keeps_its_permissions(tmp_path, mode):
    """A private checkpoint stays private (and a read-only one read-only), as when a file is
    rewritten in place."""
    path = tmp_path / "ck"
    mg.save({"x": np.zeros(2)}, path)
    path.chmod(mode)
    mg.save({"x": np.ones(2)}, path)
    assert path.stat().st_mode & 0o777 == mode
    np.testing.assert_array_equal(mg.load(path)["x"], [1.0, 1.0])
    assert os.listdir(tmp_path) == ["ck"]


def test_saving_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    runs, latest = tmp_path / "runs", tmp_path / "latest"
    runs.mkdir()
    latest.mkdir()
    target, link = runs / "model.ckpt", latest / "model.ckpt"
    mg.save({"x": np.zeros(2)}, target)
    target.chmod(0o600)
    link.symlink_to(os.path.join("..", "runs", "model.ckpt"))
    mg.save({"x": np.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "runs", "model.ckpt")
    np.testing.assert_array_equal(mg.load(target)["x"], [1.0, 1.0])
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(runs) == ["model.ckpt"] and os.listdir(latest) == ["model.ckpt"]


def test_saving_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link"
    link.symlink_to("new.ckpt")
    mg.save({"x": np.ones(2)}, link)
    assert link.is_symlink() and (tmp_path / "new.ckpt").is_file()
    np.testing.assert_array_equal(mg.load(tmp_path / "new.ckpt")["x"], [1.0, 1.0])


def test_save_fsyncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    """Without the first fsync a crash soon after the rename can leave an empty checkpoint;
    without the second the rename itself can be lost."""
    events = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd):
        info = os.fstat(fd)
        events.append(("fsync", "folder" if stat.S_ISDIR(info.st_mode) else "file", info.st_ino))
        fsync(fd)

    def spy_replace(source, destination):
        events.append(("replace", os.fspath(source), os.fspath(destination)))
        replace(source, destination)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    path = tmp_path / "ck"
    mg.save({"x": np.ones(2)}, path)
    monkeypatch.undo()
    temporary = events[1][1]
    assert events == [
        ("fsync", "file", path.stat().st_ino),  # the file that became the checkpoint
        ("replace", temporary, os.path.realpath(path)),
        ("fsync", "folder", tmp_path.stat().st_ino),
    ]
    assert re.fullmatch(r"\.ck\.[0-9a-f]+\.minigrad-tmp", os.path.basename(temporary))
    assert os.path.dirname(temporary) == os.path.realpath(tmp_path)


KILLED_SAVE = """
import os, signal, sys
import numpy as np
import minigrad as mg

def killed_half_way(file, *args, **kwargs):
    file.write(b"PK\\x03\\x04 partial bytes")
    file.flush()
    os.kill(os.getpid(), signal.SIGKILL)

np.savez = killed_half_way
mg.save({"x": np.ones(2)}, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_save_leaves_the_old_file_and_a_recognisable_temporary(tmp_path):
    """Nothing can clean up after a killed process: what it leaves is named after the
    checkpoint, hidden, and ends in .minigrad-tmp, as save's docstring says."""
    path = tmp_path / "model.ckpt"
    mg.save({"x": np.zeros(2)}, path)
    child = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], timeout=60)
    assert child.returncode == -signal.SIGKILL
    np.testing.assert_array_equal(mg.load(path)["x"], [0.0, 0.0])
    (orphan,) = set(os.listdir(tmp_path)) - {"model.ckpt"}
    assert re.fullmatch(r"\.model\.ckpt\.[0-9a-f]+\.minigrad-tmp", orphan)
    assert ".<name>.<random>.minigrad-tmp" in mg.save.__doc__


def test_save_refuses_a_structure_that_load_would_refuse(tmp_path):
    """The structure (all but the arrays) is bounded on load, so save refuses to write a bigger
    one rather than a file that cannot be read back; the largest one round-trips."""
    overhead = len(json.dumps({"format": FORMAT, "object": ""}))
    largest = "x" * (4 * 2**20 - overhead)
    mg.save(largest, tmp_path / "big")
    assert mg.load(tmp_path / "big") == largest
    with pytest.raises(mg.CheckpointError, match=r"save: .*4,194,305 characters.*np\.asarray"):
        mg.save(largest + "x", tmp_path / "big")
    assert mg.load(tmp_path / "big") == largest


# ----- hostile and broken files ------------------------------------------------------------------


def good_bytes() -> bytes:
    buffer = io.BytesIO()
    state = make_model().state_dict()
    document = {"format": FORMAT, "object": {"dict": [[k, {"array": f"a{i}"}] for i, k in
                                                      enumerate(state)]}}  # fmt: skip
    np.savez(buffer, **{f"a{i}": v for i, v in enumerate(state.values())},
             **{STRUCTURE: np.array(json.dumps(document))})  # fmt: skip
    return buffer.getvalue()


def pickled_object_array(path):
    """A checkpoint-shaped npz whose array entry is a pickled object array."""
    evil = np.array([{"payload": "os.system"}, None], dtype=object)
    document = json.dumps({"format": FORMAT, "object": {"array": "a0"}})
    savez(path, allow_pickle=True, a0=evil, **{STRUCTURE: np.array(document)})


def pickled_structure(path):
    """The structure entry itself is a pickled object."""
    document = np.array([{"format": FORMAT, "object": None}], dtype=object)
    savez(path, allow_pickle=True, **{STRUCTURE: document})


def plain_pickle(path):
    path.write_bytes(pickle.dumps({"weight": np.zeros(3)}))


def truncated(path):
    data = good_bytes()
    path.write_bytes(data[: len(data) // 2])


def truncated_by_one_byte(path):
    path.write_bytes(good_bytes()[:-1])


def random_bytes(path):
    path.write_bytes(np.random.default_rng(0).bytes(2000))


def random_bytes_after_zip_magic(path):
    path.write_bytes(b"PK\x03\x04" + np.random.default_rng(1).bytes(2000))


def empty(path):
    path.write_bytes(b"")


def plain_npy(path):
    np.save(path, np.zeros(3))
    os.replace(f"{path}.npy", path)


def npz_without_structure(path):
    savez(path, **{"0.weight": np.zeros((8, 4))})


def malformed_json(path):
    write_checkpoint(path, {"a0": np.zeros(3)}, '{"format": "minigrad-checkpoint-1", "object": {')


def structure_not_a_string(path):
    savez(path, **{STRUCTURE: np.arange(3.0)})


def wrong_format_tag(path):
    write_checkpoint(path, {}, {"format": "something-else-7", "object": None})


def document_not_a_dict(path):
    write_checkpoint(path, {}, [FORMAT, None])


def missing_array(path):
    write_checkpoint(path, {"a0": np.zeros(3)}, {"format": FORMAT, "object": {"array": "a1"}})


def structure_refers_to_itself(path):
    write_checkpoint(path, {}, {"format": FORMAT, "object": {"tensor": STRUCTURE}})


def unknown_node(path):
    write_checkpoint(path, {}, {"format": FORMAT, "object": {"pickle": "gASV..."}})


def malformed_dict_entry(path):
    write_checkpoint(path, {}, {"format": FORMAT, "object": {"dict": [["a", 1, 2]]}})


def dict_key_not_hashable(path):
    write_checkpoint(path, {}, {"format": FORMAT, "object": {"dict": [[["a"], 1]]}})


def bad_float(path):
    write_checkpoint(path, {}, {"format": FORMAT, "object": {"float": "__import__('os')"}})


def deeply_nested(path):
    """A small file whose structure nests 100,000 levels deep: must not crash the loader."""
    depth = 100_000
    text = '{"format": "minigrad-checkpoint-1", "object": ' + '{"list": [' * depth
    write_checkpoint(path, {}, text + "]}" * depth + "}")


def npy_header(shape, descr="<f8") -> bytes:
    """The .npy header (magic, version 1.0, length, dict) of an array of ``shape``, without data."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def structure_npy(node) -> bytes:
    """The structure entry of a checkpoint whose object is described by ``node``."""
    return npy_bytes(np.array(json.dumps({"format": FORMAT, "object": node})))


def stored(name, data, declared=None):
    """A member for ``raw_zip``: ``data`` stored uncompressed, which the zip directory says is
    ``declared`` bytes long (by default, truthfully)."""
    return (
        name,
        data,
        zipfile.ZIP_STORED,
        zlib.crc32(data),
        len(data) if declared is None else declared,
    )


def raw_zip(members) -> bytes:
    """A zip written byte by byte, so that its directory says whatever a test needs. Each member
    is (name, bytes as stored, compression method, CRC-32, size the central directory declares);
    sizes go in a zip64 field, so they may exceed 4 GiB."""
    local, central = bytearray(), bytearray()
    for name, data, method, crc, declared in members:
        offset, encoded = len(local), name.encode()
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0, method, 0, 33, crc,
                             len(data), len(data), len(encoded), 0)  # fmt: skip
        local += encoded + data
        zip64 = struct.pack("<2H2Q", 1, 16, declared, len(data))
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0, method, 0, 33, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(zip64), 0, 0, 0, 0,
                               offset)  # fmt: skip
        central += encoded + zip64
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(local), 0)  # fmt: skip
    return bytes(local + central + end)


def huge_declared_shape(path):
    """An array header claiming 10^13 float64s (80 TB) over 24 bytes of data: must be refused,
    not allocated."""
    document = json.dumps({"format": FORMAT, "object": {"array": "a0"}})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a0.npy", npy_header((10**13,)) + np.zeros(3).tobytes())
        archive.writestr(f"{STRUCTURE}.npy", npy_bytes(np.array(document)))


def unreferenced_entry(path):
    """A well-formed array that nothing in the structure refers to."""
    document = {"format": FORMAT, "object": {"array": "a0"}}
    write_checkpoint(path, {"a0": np.zeros(3), "a1": np.zeros(3)}, document)


def entry_longer_than_its_array(path):
    """Eight bytes after the array's data: the header and the zip directory disagree."""
    a0 = npy_bytes(np.zeros(3)) + bytes(8)
    path.write_bytes(
        raw_zip([stored("a0.npy", a0), stored(f"{STRUCTURE}.npy", structure_npy({"array": "a0"}))])
    )


def entry_shorter_than_its_directory_says(path):
    """The header and the zip directory agree on six float64s; the entry holds three."""
    a0 = npy_bytes(np.zeros(6))
    members = [
        stored("a0.npy", a0[:-24], declared=len(a0)),
        stored(f"{STRUCTURE}.npy", structure_npy({"array": "a0"})),
    ]
    path.write_bytes(raw_zip(members))


def duplicate_entry(path):
    """Two entries named a0.npy: which one is read would be a guess."""
    members = [stored("a0.npy", npy_bytes(np.zeros(3))), stored("a0.npy", npy_bytes(np.ones(3))),
               stored(f"{STRUCTURE}.npy", structure_npy({"array": "a0"}))]  # fmt: skip
    path.write_bytes(raw_zip(members))


def bzip2_entries(path):
    """bzip2 can expand a few KB into GBs in one step of zipfile's reader; numpy never writes it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("a0.npy", npy_bytes(np.zeros(3)))
        archive.writestr(f"{STRUCTURE}.npy", structure_npy({"array": "a0"}))


def string_array(path):
    """save writes numeric arrays only."""
    write_checkpoint(
        path, {"a0": np.array(["a", "b"])}, {"format": FORMAT, "object": {"array": "a0"}}
    )


def unsupported_compression(path):
    """A zip entry whose compression method is not one zipfile knows."""
    data = bytearray(good_bytes())
    for signature, offset in ((b"PK\x01\x02", 10), (b"PK\x03\x04", 8)):  # central, local
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset : start + offset + 2] = (99).to_bytes(2, "little")
            start += 4
    path.write_bytes(bytes(data))


def encrypted_entry(path):
    """Zip entries flagged as encrypted (general-purpose flag bit 0)."""
    data = bytearray(good_bytes())
    for signature, offset in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):  # central, local
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset] |= 1
            start += 4
    path.write_bytes(bytes(data))


def directory(path):
    path.mkdir()


BROKEN = [
    pickled_object_array,
    pickled_structure,
    plain_pickle,
    truncated,
    truncated_by_one_byte,
    random_bytes,
    random_bytes_after_zip_magic,
    empty,
    plain_npy,
    npz_without_structure,
    malformed_json,
    structure_not_a_string,
    wrong_format_tag,
    document_not_a_dict,
    missing_array,
    structure_refers_to_itself,
    unknown_node,
    malformed_dict_entry,
    dict_key_not_hashable,
    bad_float,
    deeply_nested,
    huge_declared_shape,
    unsupported_compression,
    encrypted_entry,
    unreferenced_entry,
    entry_longer_than_its_array,
    entry_shorter_than_its_directory_says,
    duplicate_entry,
    bzip2_entries,
    string_array,
    directory,
]


@pytest.mark.parametrize("make", BROKEN, ids=lambda f: f.__name__)
def test_broken_files_are_refused_and_the_model_is_unchanged(tmp_path, no_pickle, make):
    model = make_model()
    before = snapshot(model)
    path = tmp_path / "bad.ckpt"
    make(path)
    with pytest.raises(mg.CheckpointError) as info:
        model.load_state_dict(mg.load(path))
    message = str(info.value)
    assert message.startswith("load: ") and str(path) in message
    assert_unchanged(model, before)


def test_pickled_object_array_message_says_why(tmp_path, no_pickle):
    pickled_object_array(tmp_path / "evil")
    with pytest.raises(mg.CheckpointError, match="pickle"):
        mg.load(tmp_path / "evil")


def test_missing_array_message_names_it(tmp_path, no_pickle):
    missing_array(tmp_path / "m")
    with pytest.raises(mg.CheckpointError, match="'a1'"):
        mg.load(tmp_path / "m")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nothing-here")


def test_every_truncation_is_refused(tmp_path, no_pickle):
    data = good_bytes()
    path = tmp_path / "cut"
    for length in range(0, len(data), 7):
        path.write_bytes(data[:length])
        with pytest.raises(mg.CheckpointError):
            mg.load(path)


def test_every_single_byte_corruption_is_refused_or_harmless(tmp_path, no_pickle):
    """Flip each byte in turn: the load either raises CheckpointError or (the byte was a
    timestamp or padding) returns exactly the original state dict."""
    data = good_bytes()
    path = tmp_path / "flipped"
    path.write_bytes(data)
    original = mg.load(path)
    escaped = []
    for i in range(len(data)):
        corrupted = bytearray(data)
        corrupted[i] ^= 0xFF
        path.write_bytes(bytes(corrupted))
        try:
            back = mg.load(path)
        except mg.CheckpointError:
            continue
        except Exception as e:  # noqa: BLE001 - collected and reported below
            escaped.append((i, repr(e)[:80]))
            continue
        assert back.keys() == original.keys(), i
        for key in original:
            np.testing.assert_array_equal(back[key], original[key], err_msg=f"byte {i}")
    assert escaped == [], f"{len(escaped)} corruptions raised something else, e.g. {escaped[:3]}"


# ----- bounded memory: zip bombs, lying zip directories, max_bytes ------------------------------

GiB = 2**30
# What a refused load may add to a process's peak memory: a few chunks of a few MB each, far
# below the GiBs the hostile files below declare.
MEMORY_BOUND = 64 * 2**20


@functools.cache
def deflated(prefix: bytes, zeros: int) -> tuple[bytes, int]:
    """``prefix`` then ``zeros`` zero bytes (a whole number of MiB), deflated, and their CRC-32.
    After a full flush a deflate stream refers to nothing before it, so one MiB of zeros is
    compressed once (~1 KB) and its block repeated: 1 GiB takes ~1 MB, and no time."""
    mib = bytes(2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(zeros // 2**20):
        crc = zlib.crc32(mib, crc)
    return head + block * (zeros // 2**20) + compressor.flush(), crc


def bomb(name, prefix: bytes, zeros: int):
    """A member for ``raw_zip``: ``prefix`` and ``zeros`` zero bytes, deflated, sizes honest."""
    data, crc = deflated(prefix, zeros)
    return name, data, zipfile.ZIP_DEFLATED, crc, len(prefix) + zeros


def bomb_nothing_refers_to(path):
    """A good checkpoint plus 1 GiB of float64 zeros in an entry its structure never names."""
    members = [stored("a0.npy", npy_bytes(np.zeros(3))),
               stored(f"{STRUCTURE}.npy", structure_npy({"array": "a0"})),
               bomb("a1.npy", npy_header((GiB // 8,)), GiB)]  # fmt: skip
    path.write_bytes(raw_zip(members))


def bomb_in_the_structure(path):
    """A structure entry declaring a string of 2^28 characters (1 GiB), all NUL."""
    path.write_bytes(raw_zip([bomb(f"{STRUCTURE}.npy", npy_header((), f"<U{GiB // 4}"), GiB)]))


def bomb_in_an_npy_header(path):
    """A version 2.0 .npy header whose length field says 1 GiB, and 1 GiB of zeros after it:
    numpy's header reader reads a header as long as it says before checking its length."""
    prefix = np.lib.format.MAGIC_PREFIX + b"\x02\x00" + struct.pack("<I", GiB)
    members = [
        bomb("a0.npy", prefix, GiB),
        stored(f"{STRUCTURE}.npy", structure_npy({"array": "a0"})),
    ]
    path.write_bytes(raw_zip(members))


def lying_directory(path, declared: int):
    """The zip directory and the array's header agree on ``declared`` bytes of float64 data;
    the entry holds 24."""
    header = npy_header((declared // 8,))
    members = [stored("a0.npy", header + np.zeros(3).tobytes(), declared=len(header) + declared),
               stored(f"{STRUCTURE}.npy", structure_npy({"array": "a0"}))]  # fmt: skip
    path.write_bytes(raw_zip(members))


LOAD_IN_A_CHILD = """
import json, sys
import minigrad as mg

def peak(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) * 1024

before = peak("VmHWM:"), peak("VmPeak:")
try:
    mg.load(sys.argv[1])
    outcome = "loaded"
except Exception as e:
    outcome = f"{type(e).__name__}: {e}"
print(json.dumps({"outcome": outcome, "resident": peak("VmHWM:") - before[0],
                  "virtual": peak("VmPeak:") - before[1]}))
"""

needs_proc = pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="reads peak memory from /proc/self/status"
)


def load_in_a_child(path) -> dict:
    """``mg.load(path)`` in a fresh process: how it ended, and by how many bytes its peak
    resident (VmHWM) and virtual (VmPeak) memory grew beyond what importing minigrad took."""
    child = subprocess.run([sys.executable, "-c", LOAD_IN_A_CHILD, str(path)],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


@needs_proc
@pytest.mark.parametrize(
    "make", [bomb_nothing_refers_to, bomb_in_the_structure, bomb_in_an_npy_header],
    ids=lambda f: f.__name__,
)  # fmt: skip
def test_a_deflate_bomb_is_refused_in_bounded_memory(tmp_path, make):
    path = tmp_path / "bomb.ckpt"
    make(path)
    with zipfile.ZipFile(path) as archive:  # the bomb is real: a ~1 MB file that inflates to GiBs
        (info,) = [info for info in archive.infolist() if info.file_size > GiB]
        with archive.open(info) as entry:
            assert len(entry.read(2**20)) == 2**20
    assert path.stat().st_size < 2 * 2**20
    result = load_in_a_child(path)
    assert result["outcome"].startswith(f"CheckpointError: load: {path}")
    assert result["resident"] < MEMORY_BOUND, result


@needs_proc
@pytest.mark.parametrize("declared", [5 * GiB, 50 * 10**9], ids=["5GiB", "50GB"])
def test_a_zip_directory_that_lies_about_sizes_is_refused_before_allocating(tmp_path, declared):
    """The issue's 4.6 KB file that declared 50 GB made numpy try a 46 GiB allocation: now what
    the file declares is checked against max_bytes before anything is allocated."""
    path = tmp_path / "liar.ckpt"
    lying_directory(path, declared)
    assert path.stat().st_size < 5000
    result = load_in_a_child(path)
    assert result["outcome"].startswith(f"CheckpointError: load: {path} needs {declared:,} bytes")
    assert f"mg.load(path, max_bytes={declared})" in result["outcome"]
    assert result["resident"] < MEMORY_BOUND and result["virtual"] < MEMORY_BOUND, result


def test_the_bomb_makers_write_valid_zips():
    """The hostile files are refused for what they declare, not for being broken zips: the
    deflate trick inflates to exactly the bytes it claims, with the right CRC."""
    data, crc = deflated(b"prefix", 3 * 2**20)
    inflated = zlib.decompress(data, -15)
    assert inflated == b"prefix" + bytes(3 * 2**20) and zlib.crc32(inflated) == crc
    members = [stored("a0.npy", npy_bytes(np.arange(3.0))),
               stored(f"{STRUCTURE}.npy", structure_npy({"tensor": "a0"}))]  # fmt: skip
    back = mg.load(io.BytesIO(raw_zip(members)))
    assert isinstance(back, mg.Tensor)
    np.testing.assert_array_equal(back.data, [0.0, 1.0, 2.0])


def test_max_bytes_bounds_the_arrays_total_size(tmp_path):
    path = tmp_path / "ck"
    mg.save({"w": np.zeros((10, 100)), "b": np.zeros(100), "n": 3}, path)  # 8,000 + 800 bytes
    with pytest.raises(mg.CheckpointError) as info:
        mg.load(path, max_bytes=8_799)
    message = str(info.value)
    assert message.startswith(f"load: {path} needs 8,800 bytes")
    assert "max_bytes=8,799" in message and "mg.load(path, max_bytes=8800)" in message
    assert mg.load(path, max_bytes=8_800)["n"] == 3
    assert inspect.signature(mg.load).parameters["max_bytes"].default == 4 * GiB


@pytest.mark.parametrize(
    "bad, error", [(-1, ValueError), (1.5e9, TypeError), (True, TypeError), ("4G", TypeError)]
)
def test_max_bytes_must_be_a_number_of_bytes(tmp_path, bad, error):
    mg.save({"x": np.zeros(2)}, tmp_path / "ck")
    with pytest.raises(error, match="load: max_bytes must be"):
        mg.load(tmp_path / "ck", max_bytes=bad)


# ----- state dicts that load but do not fit ------------------------------------------------------


def test_checkpoint_with_wrong_shapes_raises_state_dict_error(tmp_path, no_pickle):
    mg.save(nn.Sequential(nn.Linear(4, 9), nn.Linear(9, 3)).state_dict(), tmp_path / "other")
    model = make_model()
    before = snapshot(model)
    state = mg.load(tmp_path / "other")
    with pytest.raises(nn.StateDictError, match="0.weight"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_checkpoint_with_missing_keys_raises_state_dict_error(tmp_path, no_pickle):
    state = make_model().state_dict()
    del state["1.bias"]
    mg.save(state, tmp_path / "partial")
    model = make_model()
    before = snapshot(model)
    with pytest.raises(nn.StateDictError, match="1.bias"):
        model.load_state_dict(mg.load(tmp_path / "partial"))
    assert_unchanged(model, before)


def test_checkpoint_of_tensors_loads_into_a_model(tmp_path, no_pickle):
    source = make_model()
    mg.save({name: p for name, p in source.named_parameters()}, tmp_path / "tensors")
    target = make_model()
    target.load_state_dict(mg.load(tmp_path / "tensors"))
    for name, value in snapshot(source).items():
        np.testing.assert_array_equal(snapshot(target)[name], value)


# ----- file objects (as torch.save / torch.load take them) ---------------------------------------


def test_model_state_dict_round_trip_through_bytesio(rng, no_pickle):
    source, target = make_model(), make_model()
    buffer = io.BytesIO()
    mg.save(source.state_dict(), buffer)
    assert not buffer.closed and buffer.getvalue().startswith(b"PK\x03\x04")  # an npz (a zip)
    state = mg.load(io.BytesIO(buffer.getvalue()))  # a fresh buffer, at its start
    assert list(state) == list(source.state_dict())
    target.load_state_dict(state)
    x = mg.tensor(rng.standard_normal((5, 4)), dtype=source[0].weight.dtype)
    np.testing.assert_array_equal(target(x).data, source(x).data)
    buffer.seek(0)  # the buffer just written, rewound
    assert mg.load(buffer).keys() == state.keys() and not buffer.closed


def test_nested_dict_round_trip_through_bytesio(rng, no_pickle):
    t = mg.tensor(rng.standard_normal((2, 3)).astype(np.float32))
    obj = {
        "model": {"w": rng.standard_normal((3, 2)), "b": np.arange(4, dtype=np.int16)},
        "optimizer": {"state": {0: {"step": 7, "exp_avg": t}}, "betas": (0.9, 0.999)},
        "history": [np.zeros(0), {"loss": math.inf}],
    }
    buffer = io.BytesIO()
    mg.save(obj, buffer)
    back = mg.load(io.BytesIO(buffer.getvalue()))
    assert back["model"]["b"].dtype == np.int16
    np.testing.assert_array_equal(back["model"]["w"], obj["model"]["w"])
    np.testing.assert_array_equal(back["model"]["b"], obj["model"]["b"])
    state0 = back["optimizer"]["state"][0]
    assert state0["step"] == 7 and isinstance(state0["exp_avg"], mg.Tensor)
    np.testing.assert_array_equal(state0["exp_avg"].data, t.data)
    assert back["optimizer"]["betas"] == (0.9, 0.999)
    assert back["history"][0].shape == (0,) and back["history"][1] == {"loss": math.inf}


def test_a_checkpoint_loads_alike_from_a_path_or_a_buffer(tmp_path):
    """A file's bytes in a buffer load as the file does, and so does a checkpoint saved into a
    buffer: both ways share one writer and one reader."""
    obj = {"w": np.arange(6.0).reshape(2, 3), "n": 1}
    mg.save(obj, tmp_path / "ck")
    buffer = io.BytesIO()
    mg.save(obj, buffer)
    loaded = mg.load(tmp_path / "ck"), mg.load(io.BytesIO((tmp_path / "ck").read_bytes()))
    for back in (*loaded, mg.load(io.BytesIO(buffer.getvalue()))):
        assert back["n"] == 1
        np.testing.assert_array_equal(back["w"], obj["w"])


def test_open_files_are_read_and_written_from_their_current_position(tmp_path):
    """A checkpoint written after other data in a file loads from where it starts; the files
    stay open, as the caller opened them."""
    path = tmp_path / "stream"
    with open(path, "wb") as f:
        f.write(b"PREFIX")
        mg.save({"x": np.arange(3)}, f)
        assert not f.closed
    with open(path, "rb") as f:
        f.seek(len(b"PREFIX"))
        back = mg.load(f)
        assert not f.closed
    np.testing.assert_array_equal(back["x"], [0, 1, 2])


class Unseekable(io.RawIOBase):
    """A pipe-like stream: reads and writes, but cannot seek or tell."""

    def __init__(self, data=b""):
        self.buffer = io.BytesIO(data)

    def readable(self):
        return True

    def writable(self):
        return True

    def readinto(self, memory):
        data = self.buffer.read(len(memory))
        memory[: len(data)] = data
        return len(data)

    def write(self, data):
        return self.buffer.write(data)


def test_save_streams_to_an_unseekable_file_but_load_refuses_one(no_pickle):
    stream = Unseekable()
    mg.save({"x": np.ones(2)}, stream)  # a zip can be written front to back
    data = stream.buffer.getvalue()
    np.testing.assert_array_equal(mg.load(io.BytesIO(data))["x"], [1.0, 1.0])
    with pytest.raises(mg.CheckpointError, match=r"not seekable.*io\.BytesIO"):
        mg.load(Unseekable(data))  # but it is read from its end


FILE_OBJECTS = {
    "BytesIO": lambda path: io.BytesIO(path.read_bytes()),
    "open file": lambda path: open(path, "rb"),  # noqa: SIM115 - the test closes it
}


@pytest.mark.parametrize("kind", list(FILE_OBJECTS))
@pytest.mark.parametrize(
    "make", [m for m in BROKEN if m is not directory], ids=lambda f: f.__name__
)
def test_broken_file_objects_are_refused_like_paths(tmp_path, no_pickle, make, kind):
    """Same header checks, same refusal, same message (but for how the file is named), and the
    model is unchanged; where a refused load leaves the caller's file is not part of it."""
    model = make_model()
    before = snapshot(model)
    path = tmp_path / "bad.ckpt"
    make(path)
    with pytest.raises(mg.CheckpointError) as by_path:
        mg.load(path)
    file = FILE_OBJECTS[kind](path)
    with file, pytest.raises(mg.CheckpointError) as by_file:
        model.load_state_dict(mg.load(file))
    name = str(path) if kind == "open file" else "the BytesIO object"
    message = str(by_file.value)
    assert message.startswith(f"load: {name}")
    assert message.replace(name, "<file>") == str(by_path.value).replace(str(path), "<file>")
    assert_unchanged(model, before)


def test_text_mode_files_are_refused(tmp_path):
    mg.save({"x": np.zeros(2)}, tmp_path / "ck")
    with open(tmp_path / "ck", encoding="latin-1") as f, pytest.raises(TypeError, match="'rb'"):
        mg.load(f)
    with pytest.raises(TypeError, match="StringIO object is open in text mode"):
        mg.load(io.StringIO("PK"))
    with open(tmp_path / "out", "w") as f, pytest.raises(TypeError, match="text mode.*'wb'"):
        mg.save({"x": np.zeros(2)}, f)
    assert (tmp_path / "out").read_bytes() == b""  # nothing was written
    text = io.StringIO()
    with pytest.raises(TypeError, match="text mode"):
        mg.save({"x": np.zeros(2)}, text)
    assert text.getvalue() == ""


def test_unsaveable_object_writes_nothing_to_a_file_object():
    buffer = io.BytesIO(b"old")
    buffer.seek(0, io.SEEK_END)
    with pytest.raises(mg.CheckpointError, match="cannot save a set"):
        mg.save({"s": {1, 2}}, buffer)
    assert buffer.getvalue() == b"old"


def test_neither_a_path_nor_a_file_is_a_type_error():
    data = io.BytesIO()
    mg.save({"x": np.zeros(2)}, data)
    with pytest.raises(TypeError, match=r"got bytes; .*pass io\.BytesIO\(data\)"):
        mg.load(data.getvalue())
    with pytest.raises(TypeError, match="read\\(\\) and seek\\(\\), got int"):
        mg.load(3)
    with pytest.raises(TypeError, match=r"write\(\), got NoneType"):
        mg.save({"x": np.zeros(2)}, None)
    with pytest.raises(TypeError, match="getvalue"):
        mg.save({"x": np.zeros(2)}, b"")


# ----- what torch.save / torch.load users pass ---------------------------------------------------


def test_a_training_checkpoint_round_trips_at_exactly_the_given_path(tmp_path, no_pickle):
    """The usual ``torch.save({"model": ..., "optim": ..., "epoch": 3, "loss": 0.25},
    "checkpoint.pt")``: written at that name (nothing appended), restored into fresh objects,
    and training resumes exactly."""
    generator = mg.Generator(0)
    model = nn.Sequential(nn.Linear(4, 8, dtype=np.float64, generator=generator), nn.ReLU(),
                          nn.Linear(8, 3, dtype=np.float64, generator=generator))  # fmt: skip
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 4)))

    def step(model, optimizer):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    step(model, optimizer)
    path = tmp_path / "checkpoint.pt"
    mg.save({"model": model.state_dict(), "optim": optimizer.state_dict(), "epoch": 3,
             "loss": 0.25}, str(path))  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt"]

    checkpoint = mg.load(str(path), map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 3 and checkpoint["loss"] == 0.25
    assert all(type(v) is mg.Tensor for v in checkpoint["model"].values())
    assert type(checkpoint["optim"]["state"][0]["exp_avg"]) is mg.Tensor
    restored = nn.Sequential(nn.Linear(4, 8, dtype=np.float64), nn.ReLU(),
                             nn.Linear(8, 3, dtype=np.float64))  # fmt: skip
    restored.load_state_dict(checkpoint["model"])
    restored_optimizer = mg.optim.Adam(restored.parameters(), lr=0.5)
    restored_optimizer.load_state_dict(checkpoint["optim"])
    assert [step(model, optimizer) for _ in range(3)] == [
        step(restored, restored_optimizer) for _ in range(3)
    ]


@pytest.mark.parametrize("map_location", [None, "cpu", mg.device("cpu"), {"cuda:0": "cpu"},
                                          lambda storage, location: storage])  # fmt: skip
def test_load_accepts_torch_loads_map_locations_for_the_cpu(tmp_path, map_location):
    mg.save({"w": mg.tensor([1.0, 2.0])}, tmp_path / "ck.pt")
    assert mg.load(tmp_path / "ck.pt", map_location).keys() == {"w"}


@pytest.mark.parametrize("map_location", ["cuda", "cuda:0", {"cpu": "cuda:1"}])
def test_load_onto_a_gpu_is_refused(tmp_path, map_location):
    mg.save({"w": mg.tensor([1.0, 2.0])}, tmp_path / "ck.pt")
    with pytest.raises(mg.errors.DeviceError, match="minigrad computes with numpy on the CPU"):
        mg.load(tmp_path / "ck.pt", map_location=map_location)


@pytest.mark.parametrize("obj", [nn.Linear(2, 2), mg.optim.SGD([mg.zeros(1, requires_grad=True)],
                                                                 lr=0.1)], ids=["module", "optim"])  # fmt: skip
def test_saving_a_whole_module_or_optimizer_says_to_save_its_state_dict(tmp_path, obj):
    with pytest.raises(mg.CheckpointError, match=r"itself: torch.save pickles.*state_dict\(\)"):
        mg.save({"model": obj}, tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists()
