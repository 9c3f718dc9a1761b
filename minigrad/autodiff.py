"""The engine: grad mode and the other modes, nodes, and the in-place clock.

It knows nothing of Tensors. Whatever builds Tensors sits above it: ``primitive.apply`` runs an
operation and records a ``Node`` here; ``backward.walk`` (the other engine module) walks the
nodes back. See DESIGN.md, "Layers".
"""

from __future__ import annotations

import functools
import itertools
import weakref
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from .errors import BackwardError

# ----- modes ------------------------------------------------------------------------------------


class Mode:
    """What is switched on where an operation runs. Never changed once made: switching a mode
    installs a new one (``_switch``), so the default can be shared by every thread."""

    __slots__ = (
        "grad_enabled", "forward_level", "detect_anomaly", "scope", "keep_graphs", "recording",
        "vmap_level", "watching",
    )  # fmt: skip

    def __init__(self, grad_enabled=True, forward_level=0, detect_anomaly=False, scope=None,
                 keep_graphs=False, recording=None, vmap_level=0):  # fmt: skip
        self.grad_enabled = grad_enabled
        self.forward_level = forward_level  # > 0 while forward-mode tangents are pushed
        self.detect_anomaly = detect_anomaly
        self.scope = scope  # the innermost Module whose forward is running (see ``in_scope``)
        self.keep_graphs = keep_graphs  # every backward keeps its graph (see ``keep_graphs``)
        # What records the numpy work of this thread for capture and replay (``mg.compile``),
        # or None.
        self.recording = recording
        # How many ``mg.vmap`` are active around here: batched values of levels up to this one
        # are batched by the operations (see ``batching.py``).
        self.vmap_level = vmap_level
        # Whether some mode that inspects every operation is on (forward mode, anomaly
        # detection, recording, vmap): the one flag the hot path reads for all of them.
        self.watching = bool(forward_level or detect_anomaly or recording is not None or vmap_level)


# NOTE: a ContextVar rather than threading.local: each thread still starts from the defaults,
# and reading it costs a third as much, which counts on every operation. An asyncio task's
# ``no_grad`` also stays inside that task.
_mode: ContextVar[Mode] = ContextVar("minigrad_mode", default=Mode())  # noqa: B039 (never changed)
_KEEP = object()


# ``mode()``: the modes in force on this thread (or asyncio task). NOTE: the ContextVar's own
# ``get``, not a function around it: every operation reads it.
mode = _mode.get


def _switch(grad_enabled=_KEEP, forward_level=_KEEP, detect_anomaly=_KEEP, scope=_KEEP,
            keep_graphs=_KEEP, recording=_KEEP, vmap_level=_KEEP) -> Mode:  # fmt: skip
    """Install the current mode with the given changes; return the one it replaces."""
    old = _mode.get()
    _mode.set(
        Mode(
            old.grad_enabled if grad_enabled is _KEEP else grad_enabled,
            old.forward_level if forward_level is _KEEP else forward_level,
            old.detect_anomaly if detect_anomaly is _KEEP else detect_anomaly,
            old.scope if scope is _KEEP else scope,
            old.keep_graphs if keep_graphs is _KEEP else keep_graphs,
            old.recording if recording is _KEEP else recording,
            old.vmap_level if vmap_level is _KEEP else vmap_level,
        )
    )
    return old


def in_scope(module, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with ``module`` as the scope of the nodes it makes (each node
    records the innermost module whose forward made it, so drawings can group them)."""
    # NOTE: the mode around ``fn`` comes back by the ContextVar's token (``fn`` returns before
    # this does, so whatever it switched is switched back by then): one Mode made per call, not
    # two, on every module call.
    old = _mode.get()
    if old.recording is not None:  # mg.compile: what the module branches on is guarded
        old.recording.entered(module)
    token = _mode.set(
        Mode(
            old.grad_enabled,
            old.forward_level,
            old.detect_anomaly,
            module,
            old.keep_graphs,
            old.recording,
            old.vmap_level,
        )
    )
    try:
        return fn(*args, **kwargs)
    finally:
        _mode.reset(token)


def switch_grad(enabled: bool):
    """Set grad mode; return what ``restore`` takes to put the mode back (None: it was already
    so, and nothing changed). The engine's own short sections use it: cheaper than
    ``GradMode``, and free when the mode is already the one asked for."""
    old = _mode.get()
    if old.grad_enabled == enabled:
        return None
    return _mode.set(
        Mode(
            enabled,
            old.forward_level,
            old.detect_anomaly,
            old.scope,
            old.keep_graphs,
            old.recording,
            old.vmap_level,
        )
    )


def restore(token) -> None:
    """Undo a ``switch_grad`` (given what it returned)."""
    if token is not None:
        _mode.reset(token)


class GradMode:
    """Context manager and decorator that sets grad mode for the current thread."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(_switch(grad_enabled=self.enabled).grad_enabled)

    def __exit__(self, *exc):
        _switch(grad_enabled=self._saved.pop())

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad() -> GradMode:
    """Disable recording on this thread: ``with mg.no_grad(): ...`` or ``@mg.no_grad()``."""
    return GradMode(False)


def enable_grad() -> GradMode:
    """Enable recording on this thread (inside ``no_grad``, for instance)."""
    return GradMode(True)


def set_grad_enabled(enabled: bool) -> GradMode:
    """Recording on or off, as a context manager or decorator (``torch.set_grad_enabled``)."""
    return GradMode(bool(enabled))


def inference_mode(mode: bool = True) -> GradMode:
    """PyTorch's ``inference_mode``: nothing is recorded, as under ``no_grad`` (minigrad has no
    separate inference tensors, so this is ``no_grad`` under PyTorch's other name). A context
    manager or decorator; ``inference_mode(False)`` records."""
    return GradMode(not mode)


def is_grad_enabled() -> bool:
    """Whether operations on this thread are recorded for backward."""
    return _mode.get().grad_enabled


class forward_mode:  # noqa: N801 (used as a function: ``with forward_mode(): ...``)
    """Propagate ``Tensor.tangent`` through every operation in this block (forward mode);
    ``forward_mode(grad_enabled=True)`` also records, as forward-over-reverse needs.

    Forward mode has one level: tangents are not nested.

    NOTE: a class, not a ``@contextmanager`` generator, and one mode installed for both
    switches: every ``mg.hvp`` and ``mg.jvp`` enters it.
    """

    __slots__ = ("grad_enabled", "token")

    def __init__(self, grad_enabled=None):
        self.grad_enabled = grad_enabled

    def __enter__(self):
        old = _mode.get()
        if old.forward_level:
            raise BackwardError(
                "forward mode is already active on this thread: minigrad's forward mode has one "
                "level; compute the inner derivative first, or use forward-over-reverse (mg.hvp)"
            )
        grad = old.grad_enabled if self.grad_enabled is None else self.grad_enabled
        self.token = _mode.set(
            Mode(
                grad,
                1,
                old.detect_anomaly,
                old.scope,
                old.keep_graphs,
                old.recording,
                old.vmap_level,
            )
        )

    def __exit__(self, *exc):
        _mode.reset(self.token)


@contextmanager
def keep_graphs():
    """Every backward in this block keeps its graph, as with ``retain_graph=True``: so a tool
    can read the graph of a PyTorch-style closure that calls ``backward()`` itself (``Newton``
    measures its size so)."""
    saved = _switch(keep_graphs=True).keep_graphs
    try:
        yield
    finally:
        _switch(keep_graphs=saved)


def grad_set(t) -> None:
    """``t.grad`` was just set (by backward or a zero_grad): a recording writes it down where it
    happened (``mg.compile``)."""
    recording = _mode.get().recording
    if recording is not None:
        recording.grad_set(t)


@contextmanager
def batching_level(level: int):
    """Operations in this block batch the values of vmap levels up to ``level`` (0: none)."""
    saved = _switch(vmap_level=level).vmap_level
    try:
        yield
    finally:
        _switch(vmap_level=saved)


@contextmanager
def recording_into(recorder):
    """Every operation in this block tells ``recorder`` the tensors it reads (``mg.compile``'s
    recording: see ``capture/recorder.py``)."""
    saved = _switch(recording=recorder).recording
    try:
        yield
    finally:
        _switch(recording=saved)


@contextmanager
def detect_anomaly():
    """Raise at the first operation whose result holds NaN or Inf, forward or backward.

    The error names the operation, its inputs' shapes and statistics, and the line of your code
    that created it (for a backward operation: the line of the forward operation it belongs to).
    Every result is inspected, so this is slower: use it to find the source of a NaN.
    """
    saved = _switch(detect_anomaly=True).detect_anomaly
    try:
        yield
    finally:
        _switch(detect_anomaly=saved)


# ----- the in-place clock ---------------------------------------------------------------------

# One clock orders both events that backward cares about: making a node (``Node.seq``) and
# changing a tensor in place (``Tensor._version`` is the clock at its last change). A node's
# saved values are stale exactly when one was changed after the node was made, and backward
# looks at parents only if some in-place change happened after the node (``last_inplace``).
_clock = itertools.count(1)
last_inplace = 0


def tick(data: np.ndarray) -> int:
    """Record an in-place change of ``data`` (called by every in-place Tensor method); return
    its time. The time is also kept for the memory ``data`` belongs to, so that a change
    through one view is seen by every other view of it (as PyTorch's shared version counter)."""
    global last_inplace
    last_inplace = now = next(_clock)
    root = _root(data)
    stamp = _memory_stamps.get(id(root))
    if stamp is not None and stamp() is root:
        stamp.time = now
    else:
        _memory_stamps[id(root)] = _MemoryStamp(root, now)
    return now


class _MemoryStamp(weakref.ref):
    """The clock time of the last in-place change to an array's memory. It removes itself from
    ``_memory_stamps`` when the array is freed, so the table holds only live arrays and every
    operation on it is O(1), however many arrays an optimizer changes."""

    __slots__ = ("key", "time")

    def __new__(cls, root, time):
        return super().__new__(cls, root, _forget)

    def __init__(self, root, time):
        super().__init__(root, _forget)
        self.key = id(root)
        self.time = time


def _forget(stamp: _MemoryStamp) -> None:
    # Called as the array is freed, before its id can be reused; a newer stamp under the same
    # id (the array was stamped again) is a different object and stays.
    if _memory_stamps.get(stamp.key) is stamp:
        _memory_stamps.pop(stamp.key, None)


# id(array owning some memory) -> its _MemoryStamp
_memory_stamps: dict = {}


def _root(data: np.ndarray) -> np.ndarray:
    """The array that owns ``data``'s memory (following views back to their base)."""
    while isinstance(data.base, np.ndarray):
        data = data.base
    return data


def changed_at(t) -> int:
    """The clock time of the last in-place change to ``t`` or to any view of its memory."""
    root = _root(t.data)
    stamp = _memory_stamps.get(id(root))
    shared = stamp.time if stamp is not None and stamp() is root else 0
    return max(t._version, shared)


class Node:
    """What backward needs to know about how a tensor was made. ``params`` is None once
    backward has freed it (retain_graph=False); then ``parents`` names the freed nodes in place
    of the tensors they made, and ``output`` is the shape, dtype and name of the tensor this
    node made (see ``backward.free``): the graph's shape, without its values, for drawing it.
    ``seq`` (creation time) orders nodes topologically: a parent is always made before its
    children."""

    __slots__ = ("prim", "parents", "params", "seq", "origin", "scope", "cotangent", "output")

    def __init__(self, prim, parents, params, scope):
        self.prim = prim
        self.parents = parents
        self.params = params
        self.seq = next(_clock)
        self.origin = None  # the user's line that made it, under detect_anomaly
        self.scope = scope  # the innermost Module whose forward made it (see ``in_scope``)
        self.cotangent = None  # accumulated during backward (a leaf's goes in a dict)
        # ``output`` is set only when backward frees the node: not one more store per operation
