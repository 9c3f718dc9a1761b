"""The tape: primitives, nodes, grad mode, forward mode, and the in-place clock.

A primitive is applied with ``Prim.apply(*tensors, **params)``. When grad mode is on and an input
requires grad, the output gets a ``Node`` that remembers the primitive, its parents and params.
The reverse pass that walks the nodes is in ``backward.py`` (re-exported here).
"""

from __future__ import annotations

import functools
import itertools
import weakref
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from .errors import BackwardError, DTypeError, IndexingError, MinigradError, OpError

# ----- modes ------------------------------------------------------------------------------------


class Mode:
    """What is switched on where an operation runs. Never changed once made: switching a mode
    installs a new one (``_switch``), so the default can be shared by every thread."""

    __slots__ = ("grad_enabled", "forward_level", "detect_anomaly", "scope", "watching")

    def __init__(self, grad_enabled=True, forward_level=0, detect_anomaly=False, scope=None):
        self.grad_enabled = grad_enabled
        self.forward_level = forward_level  # > 0 while forward-mode tangents are pushed
        self.detect_anomaly = detect_anomaly
        self.scope = scope  # the innermost Module whose forward is running (see ``in_scope``)
        # Whether some mode that inspects every result is on (forward mode, anomaly detection):
        # the one flag the hot path reads for both.
        self.watching = bool(forward_level or detect_anomaly)


# NOTE: a ContextVar rather than threading.local: each thread still starts from the defaults,
# and reading it costs a third as much, which counts on every operation. An asyncio task's
# ``no_grad`` also stays inside that task.
_mode: ContextVar[Mode] = ContextVar("minigrad_mode", default=Mode())  # noqa: B039 (never changed)
_KEEP = object()


def mode() -> Mode:
    """The modes in force on this thread (or asyncio task)."""
    return _mode.get()


def _switch(grad_enabled=_KEEP, forward_level=_KEEP, detect_anomaly=_KEEP, scope=_KEEP) -> Mode:
    """Install the current mode with the given changes; return the one it replaces."""
    old = _mode.get()
    _mode.set(
        Mode(
            old.grad_enabled if grad_enabled is _KEEP else grad_enabled,
            old.forward_level if forward_level is _KEEP else forward_level,
            old.detect_anomaly if detect_anomaly is _KEEP else detect_anomaly,
            old.scope if scope is _KEEP else scope,
        )
    )
    return old


def in_scope(module, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with ``module`` as the scope of the nodes it makes (each node
    records the innermost module whose forward made it, so drawings can group them)."""
    outer = _switch(scope=module).scope
    try:
        return fn(*args, **kwargs)
    finally:
        _switch(scope=outer)


class _GradMode:
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
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad() -> _GradMode:
    """Disable recording on this thread: ``with mg.no_grad(): ...`` or ``@mg.no_grad()``."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Enable recording on this thread (inside ``no_grad``, for instance)."""
    return _GradMode(True)


def is_grad_enabled() -> bool:
    """Whether operations on this thread are recorded for backward."""
    return _mode.get().grad_enabled


@contextmanager
def forward_mode():
    """Propagate ``Tensor.tangent`` through every operation in this block (forward mode).

    Forward mode has one level: tangents are not nested.
    """
    if _mode.get().forward_level:
        raise BackwardError(
            "forward mode is already active on this thread: minigrad's forward mode has one "
            "level; compute the inner derivative first, or use forward-over-reverse (mg.hvp)"
        )
    _switch(forward_level=1)
    try:
        yield
    finally:
        _switch(forward_level=0)


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


# ----- primitives --------------------------------------------------------------------------------

registry: dict[str, type[Primitive]] = {}


class Primitive:
    """An operation with its own derivative rules. Subclass it to define a custom op.

    - ``forward(*arrays, **params) -> ndarray``: numpy in, numpy out.
    - ``vjp(g, y, *xs, **params) -> tuple``: reverse mode, written in Tensor ops. ``g`` is the
      cotangent of the output, ``y`` the output Tensor and ``xs`` the input Tensors; return one
      cotangent (Tensor, or None for "no gradient") per input.
    - ``jvp(ts, y, *xs, **params) -> ndarray``: forward mode in numpy. ``ts[i]`` is the tangent of
      input ``i`` with a leading batch axis, shape ``(B, *xs[i].shape)``, or None when that input
      carries none; ``y`` and ``xs`` are ndarrays. Return the output tangent, ``(B, *y.shape)``.

    ``uses = ("x",)`` lists which saved values the rules read ("x": the inputs, "y": the output);
    backward refuses to run if one of those was modified in place after the forward pass.
    ``holomorphic = True`` declares that ``forward`` extends analytically to complex inputs, which
    gradient checking by complex step needs.
    Apply with ``MyOp.apply(x1, x2, ..., param=value)``.

    ``array_cotangents = True`` (minigrad's own primitives) declares that ``vjp`` also takes
    ``g`` as an ndarray or numpy scalar and then returns arrays. Backward passes arrays when the
    cotangents need no derivatives of their own (no ``create_graph``, no forward mode), which
    saves a Tensor per cotangent. A rule that only applies ``-``, ``*`` or ndarray methods to
    ``g`` works on both as it is; others branch on ``isinstance(g, Tensor)``.
    """

    uses: tuple[str, ...] = ("x",)
    holomorphic: bool = False
    array_cotangents: bool = False
    builtin: bool = False  # set for minigrad's own primitives (see __init_subclass__)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.forward is Primitive.forward:
            return  # an abstract family (like ops.Elementwise), not an operation
        # Built-ins by name; a user's primitive by its full name, so it never shadows one.
        cls.builtin = cls.__module__.startswith("minigrad.ops")
        registry[cls.__name__ if cls.builtin else f"{cls.__module__}.{cls.__qualname__}"] = cls

    @staticmethod
    def forward(*xs, **params):
        raise NotImplementedError

    @classmethod
    def vjp(cls, g, y, *xs, **params):
        raise BackwardError(
            f"{cls.__name__} has no vjp rule, so reverse mode (backward) cannot pass through "
            f"it; define vjp(g, y, *xs) returning one cotangent per input"
        )

    @classmethod
    def jvp(cls, ts, y, *xs, **params):
        raise BackwardError(
            f"{cls.__name__} has no jvp rule, so forward mode cannot pass through it; define "
            f"jvp(ts, y, *xs) returning the output tangent with the leading batch axis"
        )

    @classmethod
    def apply(cls, *inputs, **params):
        """Apply this primitive to Tensors (arrays and numbers become constants)."""
        return apply(cls, *[x if isinstance(x, Tensor) else Tensor(x) for x in inputs], **params)


def apply(prim, *xs, **params):
    """Run ``prim.forward`` on the data of Tensors ``xs``, wrap the result, and when needed put
    a node on the tape and push tangents. This is every operation's hot path: keep it short."""
    try:
        n = len(xs)
        if n == 1 and not params:
            y = prim.forward(xs[0].data)
        elif n == 2 and not params:
            y = prim.forward(xs[0].data, xs[1].data)
        else:
            y = prim.forward(*[x.data for x in xs], **params)
    except MinigradError:
        raise
    except (ValueError, IndexError, TypeError) as e:
        shapes = ", ".join(f"{x.shape} {x.dtype}" for x in xs)
        error = {IndexError: IndexingError, TypeError: DTypeError}.get(type(e), OpError)
        raise error(f"{prim.__name__}: {e} (inputs: {shapes})") from e
    # NOTE: ``constant(y)``, inlined: a function call is a tenth of an operation's overhead.
    out = _new(Tensor)
    out.data = y if type(y) is np.ndarray else np.asarray(y)
    out.grad = out._node = out.tangent = out.name = None
    out._version = 0
    out._retain = out.requires_grad = False
    mode = _mode.get()
    if mode.grad_enabled:
        for x in xs:
            if x.requires_grad:
                out.requires_grad = True
                out._node = Node(prim, xs, params, mode.scope)
                break
    if mode.watching:
        _inspect(prim, xs, out, params)
    return out


def _inspect(prim, xs, out, params):
    """What the watching modes do with each result: push tangents, look for NaN and Inf."""
    mode = _mode.get()
    if mode.forward_level:
        ts = [x.tangent for x in xs]
        if any(t is not None for t in ts):
            out.tangent = prim.jvp(ts, out.data, *[x.data for x in xs], **params)
    if mode.detect_anomaly:
        origin = anomaly.user_line()
        if out._node is not None:
            out._node.origin = origin
        for what in (out.data, out.tangent):
            if what is not None and not anomaly.finite(what):
                raise anomaly.AnomalyError(anomaly.describe(prim.__name__, xs, what, origin))


def on_cotangent(prim, *args, **params):
    """``prim`` applied to a cotangent (and constants), as the VJP of a linear primitive
    applies its transpose: recorded when the cotangent is a Tensor, straight through
    ``forward`` when it is an array (see ``Primitive.array_cotangents``)."""
    if any(isinstance(a, Tensor) for a in args):
        return prim.apply(*args, **params)
    return prim.forward(*args, **params)


def constant(data) -> Tensor:
    """Wrap an ndarray (or numpy scalar) as a Tensor with no history: the fast constructor."""
    t = _new(Tensor)
    t.data = data if type(data) is np.ndarray else np.asarray(data)
    t.grad = t._node = t.tangent = t.name = None
    t._version = 0
    t._retain = t.requires_grad = False
    return t


_new = object.__new__

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
    """What backward needs to know about how a tensor was made. ``parents`` is None once
    backward has freed it (retain_graph=False). ``seq`` (creation time) orders nodes
    topologically: a parent is always made before its children."""

    __slots__ = ("prim", "parents", "params", "seq", "origin", "scope", "cotangent")

    def __init__(self, prim, parents, params, scope):
        self.prim = prim
        self.parents = parents
        self.params = params
        self.seq = next(_clock)
        self.origin = None  # the user's line that made it, under detect_anomaly
        self.scope = scope  # the innermost Module whose forward made it (see ``in_scope``)
        self.cotangent = None  # accumulated during backward (a leaf's goes in a dict)


from . import anomaly  # noqa: E402

# NOTE: the reverse pass lives in backward.py; its functions are part of this module's API
# (``mg.autograd.grad``, ``autodiff.toposort``), so they are re-exported here.
from .backward import backward, grad, toposort  # noqa: E402, F401
from .tensor import Tensor  # noqa: E402  (tensor.py builds on this module; one import back)
