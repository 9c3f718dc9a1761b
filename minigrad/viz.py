"""Drawing computation graphs with Graphviz: ``mg.viz.draw`` and ``mg.viz.render``.

Tensors are boxes (name, shape, dtype, values or statistics, gradient), operations are ellipses
named after their primitive, and arrows go from inputs to outputs. Operations made inside a
Module's forward are grouped in a cluster labelled with the module's path (``encoder.layers.0``),
and clusters can be collapsed to one node. Past ``max_nodes`` the drawing keeps the part nearest
the outputs and says what it left out.

Backward frees the graph it walks: draw before ``backward()``, or pass ``retain_graph=True`` to
it, or take ``snapshot = mg.viz.snapshot(loss)`` before and draw the snapshot after (then the
gradients show).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

import numpy as np

from .errors import MinigradError
from .tensor import Tensor

COLORS = {
    "param": "#cfe2ff",  # parameters (and leaves that require grad)
    "input": "#e9ecef",  # constants: data, targets
    "output": "#d1e7dd",  # what was asked to be drawn
    "bad": "#f8d7da",  # holds NaN or Inf
    "op": "#fff3cd",
    "collapsed": "#e2d9f3",
}
INSTALL_DOT = (
    "Graphviz's `dot` program is needed to render (the Python package only writes DOT "
    "source): install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install "
    "graphviz` (macOS) or `conda install -c conda-forge graphviz`"
)


class GraphError(MinigradError, RuntimeError):
    """The graph cannot be drawn (freed by backward) or rendered (no Graphviz ``dot``)."""


@dataclass
class Snapshot:
    """The structure of a graph, kept so it can be drawn after backward frees the graph."""

    roots: list
    ops: dict = field(default_factory=dict)  # id(output tensor) -> (prim name, parents, scope)
    tensors: dict = field(default_factory=dict)  # id -> Tensor


def snapshot(*tensors: Tensor) -> Snapshot:
    """Record the graph behind ``tensors`` (before backward), to draw it afterwards."""
    snap = Snapshot(list(tensors))
    stack = list(tensors)
    while stack:
        t = stack.pop()
        if id(t) in snap.tensors:
            continue
        snap.tensors[id(t)] = t
        node = t._node
        if node is None:
            continue
        if node.parents is None:
            raise GraphError(
                f"viz: the graph behind this tensor (made by {node.prim.__name__}) was freed by "
                f"backward(); draw before backward, pass retain_graph=True to backward, or take "
                f"mg.viz.snapshot(tensor) before backward and draw that"
            )
        snap.ops[id(t)] = (node.prim.__name__, list(node.parents), node.scope)
        stack.extend(node.parents)
    return snap


# ----- labels ------------------------------------------------------------------------------------


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


def _tensor_label(t: Tensor, name: str | None, show_data: bool, show_grad: bool) -> str:
    rows = [name] if name else []
    rows.append(f"{tuple(t.shape)} {t.dtype}")
    if show_data or t.size <= 6:
        rows.append(f"data {_summary(t.data, True)}")
    if show_grad and t.grad is not None:
        rows.append(f"grad {_summary(t.grad.data, True)}")
    if t.tangent is not None:
        rows.append(f"tangent {_summary(t.tangent, False)}")
    return "\\n".join(r.replace('"', "'") for r in rows)


# ----- the drawing -------------------------------------------------------------------------------


def _scope_paths(model) -> dict:
    return {} if model is None else {id(m): path for path, m in model.named_modules()}


def _path(scope, paths: dict) -> str | None:
    """The module's path in ``model`` (when given), else its class name numbered by order of
    appearance (``Linear``, ``Linear#2``), so that two instances never share a cluster."""
    if scope is None:
        return None
    if id(scope) not in paths:
        name = type(scope).__name__
        count = sum(1 for label in paths.values() if label.split("#")[0] == name)
        paths[id(scope)] = name if count == 0 else f"{name}#{count + 1}"
    return paths[id(scope)]


def _collapsed(path: str | None, collapse) -> str | None:
    """The module path that ``path`` is drawn inside as a single node, if any.

    An int keeps that many components (depth). Names collapse the module of that name, or,
    when it is a list (``layers.0``, ``layers.1``), each of its items.
    """
    if path is None or collapse is None:
        return None
    parts = path.split(".")
    if isinstance(collapse, int):
        return ".".join(parts[:collapse]) if 0 < collapse <= len(parts) else None
    for i, part in enumerate(parts):
        if part in collapse or ".".join(parts[: i + 1]) in collapse:
            end = i + 2 if i + 1 < len(parts) and parts[i + 1].isdigit() else i + 1
            return ".".join(parts[:end])
    return None


def draw(
    *tensors,
    params=None,
    model=None,
    show_data: bool = False,
    show_grad: bool = True,
    rankdir: str = "LR",
    max_nodes: int = 400,
    collapse=None,
):
    """A ``graphviz.Digraph`` of the computation behind ``tensors`` (or a ``Snapshot``).

    ``params``: ``model.named_parameters()`` (or a dict) to label parameters by name; ``model``
    also names the module clusters by their path. ``collapse``: module paths or names to draw
    as one node each (``("layers",)`` collapses ``layers.0``, ``layers.1``, ...), or an int
    depth. ``max_nodes``: the most tensor and operation nodes to draw; beyond it the nodes
    nearest the outputs are kept and a note says how many were left out.
    """
    import graphviz

    snap = (
        tensors[0] if len(tensors) == 1 and isinstance(tensors[0], Snapshot) else snapshot(*tensors)
    )
    if model is not None and params is None:
        params = model.named_parameters()
    names = {id(p): n for n, p in (params.items() if isinstance(params, dict) else params or [])}
    paths = _scope_paths(model)
    outputs = {id(t) for t in snap.roots}

    # Keep the nodes nearest the outputs, breadth first, up to max_nodes.
    if isinstance(collapse, str):
        collapse = (collapse,)
    # Keep the tensors nearest the outputs, breadth first, while the drawn nodes (a tensor, and
    # its operation if it has one) fit in max_nodes.
    keep, order, frontier, drawn = set(), [], [id(t) for t in snap.roots], 0
    while frontier and drawn < max_nodes:
        nxt = []
        for tid in frontier:
            cost = 2 if tid in snap.ops else 1
            if tid in keep or drawn + cost > max_nodes:
                continue
            keep.add(tid)
            order.append(tid)
            drawn += cost
            if tid in snap.ops:
                nxt.extend(id(p) for p in snap.ops[tid][1])
        frontier = nxt
    left_out = len(snap.tensors) - len(keep)

    graph = graphviz.Digraph("minigrad", graph_attr={"rankdir": rankdir, "fontsize": "10"},
                             node_attr={"fontsize": "10", "style": "filled"})  # fmt: skip
    clusters: dict[str, list] = {}  # path -> lines of nodes inside
    collapsed_nodes: dict[str, int] = {}  # collapsed path -> number of ops in it

    def place(path, node_id, **attrs):
        if path is None:
            graph.node(node_id, **attrs)
        else:
            clusters.setdefault(path, []).append((node_id, attrs))

    def tensor_node(tid) -> str:
        return f"t{tid}"

    for tid in order:
        t = snap.tensors[tid]
        kind = ("bad" if _bad(t.data) else "output" if tid in outputs
                else "param" if tid not in snap.ops and t.requires_grad
                else "input" if tid not in snap.ops else None)  # fmt: skip
        path = _path(snap.ops[tid][2], paths) if tid in snap.ops else None
        group = _collapsed(path, collapse)
        if group and tid not in outputs and kind != "bad":
            # Inside a collapsed module: drawn as the module's node, which takes its inputs.
            collapsed_nodes[group] = collapsed_nodes.get(group, 0) + 1
            for p in snap.ops[tid][1]:
                if id(p) in keep:
                    _edge_from(graph, snap, p, paths, collapse, f"c{group}", tensor_node, once=True)
            continue
        label = _tensor_label(t, names.get(tid) or t.name, show_data, show_grad)
        attrs = {"label": label, "shape": "box", "fillcolor": COLORS.get(kind or "", "white")}
        place(path if kind not in ("param", "input") else None, tensor_node(tid), **attrs)
        if tid in snap.ops:
            prim, parents, scope = snap.ops[tid]
            op_path = _path(scope, paths)
            if group:
                target = f"c{group}"
            else:
                target = f"o{tid}"
                place(op_path, target, label=prim, shape="ellipse", fillcolor=COLORS["op"])
            graph.edge(target, tensor_node(tid))
            for p in parents:
                if id(p) in keep:
                    _edge_from(graph, snap, p, paths, collapse, target, tensor_node)

    for group, count in collapsed_nodes.items():
        ops_text = f"{count} operation{'s' if count != 1 else ''}"
        graph.node(f"c{group}", label=f"{group}\\n({ops_text})", shape="box3d",
                   fillcolor=COLORS["collapsed"])  # fmt: skip
    _emit_clusters(graph, clusters)
    if left_out > 0:
        graph.node("more", label=f"... {left_out} more tensors not drawn (max_nodes={max_nodes})",
                   shape="note", fillcolor="white")  # fmt: skip
    return graph


def _edge_from(graph, snap, p, paths, collapse, target, tensor_node, once=False):
    """Edge from tensor ``p`` (or the collapsed module that made it) into ``target``; with
    ``once``, not if that edge is drawn already (many tensors inside one collapsed module)."""
    source = tensor_node(id(p))
    if id(p) in snap.ops:
        group = _collapsed(_path(snap.ops[id(p)][2], paths), collapse)
        if group and id(p) not in {id(r) for r in snap.roots} and not _bad(p.data):
            source = f"c{group}"
    drawn = graph.__dict__.setdefault("_minigrad_edges", set())
    if source != target and not (once and (source, target) in drawn):
        drawn.add((source, target))
        graph.edge(source, target)


def _emit_clusters(graph, clusters: dict) -> None:
    """Nested subgraphs, one per module path (a.b.c inside a.b inside a)."""
    import graphviz

    def build(path: str) -> graphviz.Digraph:
        sub = graphviz.Digraph(name=f"cluster_{path}")
        sub.attr(label=path, style="rounded", color="#6c757d", fontsize="10")
        for node_id, attrs in clusters.get(path, []):
            sub.node(node_id, **attrs)
        for child in sorted(p for p in all_paths if p.rsplit(".", 1)[0] == path and p != path):
            sub.subgraph(build(child))
        return sub

    all_paths = set()
    for path in clusters:
        parts = path.split(".")
        all_paths.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    for top in sorted(p for p in all_paths if "." not in p):
        graph.subgraph(build(top))


def render(tensor, path: str, format: str | None = None, **options) -> str:
    """Draw ``tensor``'s graph and write it to ``path`` (format from the suffix, or ``format``:
    "svg", "png", "pdf"). Returns the path. Without Graphviz's ``dot`` the DOT source is still
    written to ``path`` with suffix ``.dot`` and a ``GraphError`` says how to install ``dot``."""
    import graphviz

    base, suffix = os.path.splitext(path)
    format = format or suffix.lstrip(".") or "svg"
    if format not in ("svg", "png", "pdf"):
        raise GraphError(f"viz.render: format {format!r} is not one of 'svg', 'png', 'pdf'")
    graph = tensor if isinstance(tensor, graphviz.Digraph) else draw(tensor, **options)
    source_path = base + ".dot"
    with open(source_path, "w") as f:
        f.write(graph.source)
    if shutil.which("dot") is None:
        raise GraphError(f"viz.render: {INSTALL_DOT}. The DOT source was written to {source_path}.")
    try:
        out = graph.render(outfile=base + "." + format, format=format, cleanup=False)
    except graphviz.ExecutableNotFound:
        raise GraphError(
            f"viz.render: {INSTALL_DOT}. The DOT source was written to {source_path}."
        ) from None
    if os.path.exists(base + ".gv") and base + ".gv" != source_path:
        os.remove(base + ".gv")
    return out
