"""Recording a graph: the nodes behind some tensors and the values their boxes show, now
(``snapshot``) or when drawn; ``GraphError`` when there is no graph to record."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import MinigradError
from ..tensor import Tensor
from .outlines import Outline, Outliner


class GraphError(MinigradError, RuntimeError):
    """The graph cannot be drawn or rendered: no Graphviz ``dot``, or an argument that does not
    fit (the message names it and the fix)."""


@dataclass
class Snapshot:
    """The graph behind some tensors and the values its boxes show, as they were when it was
    taken: draw it after backward frees the graph or an optimizer step changes the values. A
    gradient that did not exist yet (a snapshot taken before backward) is read when drawn."""

    roots: list
    ops: dict = field(default_factory=dict)  # id(output tensor) -> (prim name, parents, scope)
    tensors: dict = field(default_factory=dict)  # id -> Tensor
    values: dict = field(default_factory=dict)  # id -> Values (empty: read when drawn)
    seq: dict = field(default_factory=dict)  # id(output tensor) -> when its node was made
    params: dict = field(default_factory=dict)  # id(output tensor) -> its operation's params


def snapshot(*tensors: Tensor) -> Snapshot:
    """Record the graph behind ``tensors`` and their values (before backward), to draw it
    afterwards."""
    snap = record("snapshot", tensors)
    snap.values = {tid: _read(t) for tid, t in snap.tensors.items()}
    return snap


def record(who: str, tensors) -> Snapshot:
    """The graph behind ``tensors`` (Tensors, or lists of them), values left to read later."""
    roots = _check_tensors(who, tensors)
    snap = Snapshot(roots)
    outline = Outliner()  # stand-ins for the tensors of a graph backward freed
    stack = list(roots)
    while stack:
        t = stack.pop()
        if id(t) in snap.tensors:
            continue
        snap.tensors[id(t)] = t
        node = t.node
        if node is None:
            continue
        snap.seq[id(t)] = node.seq  # the order operations ran in, for the layer drawing
        snap.params[id(t)] = node.params  # indices and labels given as arrays (None once freed)
        parents = [outline(p) for p in node.parents]
        snap.ops[id(t)] = (node.prim.__name__, parents, node.scope)
        stack.extend(parents)
    return snap


def _check_tensors(who: str, tensors) -> list:
    flat = [t for item in tensors for t in (item if isinstance(item, list | tuple) else [item])]
    if not flat:
        raise GraphError(f"viz.{who}: no tensors given; pass the tensors to draw ({who}(loss))")
    for i, t in enumerate(flat):
        if not isinstance(t, Tensor):
            kind = type(t).__qualname__
            kind = kind if type(t).__module__ == "builtins" else f"{type(t).__module__}.{kind}"
            alone = (
                " (a Snapshot is drawn alone: draw(snapshot))" if isinstance(t, Snapshot) else ""
            )
            raise GraphError(
                f"viz.{who}: argument {i + 1} is a {kind}, not a minigrad Tensor{alone}; pass the "
                f"Tensors a computation made ({who}(loss), {who}(a, b)), or a mg.viz.snapshot"
            )
    return flat


# ----- what a box shows --------------------------------------------------------------------------


@dataclass(frozen=True)
class Values:
    """What a tensor's box shows, read from the tensor at one moment."""

    heading: str  # shape and dtype
    size: int
    data: str
    grad: str | None
    tangent: str | None
    bad: bool  # NaN/Inf in the data or the tangent
    bad_grad: bool
    grad_norm: float | None = None  # the L2 norm of the gradient (of its finite entries)


def shown_values(snap: Snapshot, tid: int) -> Values:
    """What tensor ``tid``'s box shows: the snapshot's values, else the tensor's own now."""
    t, kept = snap.tensors[tid], snap.values.get(tid)
    if kept is None:
        return _read(t)
    if kept.grad is None and t.grad is not None:  # backward ran after the snapshot
        grad, bad_grad, grad_norm = _read_grad(t)
        return replace(kept, grad=grad, bad_grad=bad_grad, grad_norm=grad_norm)
    return kept


def values_of(t: Tensor) -> Values:
    """What ``t``'s box shows now (for a tensor that is not in a snapshot)."""
    return _read(t)


def _read(t: Tensor) -> Values:
    tangent = t.tangent
    grad, bad_grad, grad_norm = _read_grad(t)
    return Values(
        heading=f"{tuple(t.shape)} {t.dtype}",
        size=t.numel(),
        data="freed by backward" if isinstance(t, Outline) else _summary(t.data, True),
        grad=grad,
        tangent=None if tangent is None else _summary(tangent, False),
        bad=_bad(t.data) or (tangent is not None and _bad(tangent)),
        bad_grad=bad_grad,
        grad_norm=grad_norm,
    )


def _read_grad(t: Tensor) -> tuple[str | None, bool, float | None]:
    if t.grad is None:
        return None, False, None
    data = t.grad.data
    finite = data[np.isfinite(data)] if data.dtype.kind in "fc" else data
    return _summary(data, True), _bad(data), float(np.linalg.norm(finite.ravel()))


def _summary(data: np.ndarray, show_data: bool) -> str:
    if data.size == 0:
        return "empty"
    if data.dtype.kind not in "fciub":
        return ""
    if show_data and data.size <= 6:
        return np.array2string(data, precision=4, separator=", ", threshold=6).replace("\n", "")
    values = data.astype(float) if data.dtype.kind in "biu" else np.real(data)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "all NaN/Inf"
    return (f"mean {finite.mean():.3g} min {finite.min():.3g} max {finite.max():.3g} "
            f"|.| {np.linalg.norm(finite):.3g}")  # fmt: skip


def _bad(data: np.ndarray) -> bool:
    return data.dtype.kind in "fc" and not np.isfinite(data).all()
