"""Drawing computation graphs with Graphviz: ``mg.viz.draw`` and ``mg.viz.render``.

Tensors are boxes (name, shape, dtype, values or statistics, gradient), operations are ellipses
named after their primitive, and arrows go from inputs to outputs. Operations made inside a
Module's forward are grouped in a cluster labelled with the module's path (``encoder.layers.0``),
all inside the model's own cluster (labelled with its class name); modules can be collapsed to
one node each. Past ``max_nodes`` the drawing keeps the part nearest the outputs and says what it
left out.

Backward frees the graph it walks: draw before ``backward()``, or pass ``retain_graph=True`` to
it, or take ``snapshot = mg.viz.snapshot(loss)`` before and draw the snapshot after (then the
gradients show).
"""

from __future__ import annotations

import difflib
import os
import shutil
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import MinigradError
from .tensor import Tensor

COLORS = {
    "param": "#cfe2ff",  # parameters (and leaves that require grad)
    "input": "#e9ecef",  # constants: data, targets
    "output": "#d1e7dd",  # what was asked to be drawn
    "bad": "#f8d7da",  # holds NaN or Inf (in its data, gradient or tangent)
    "op": "#fff3cd",
    "collapsed": "#e2d9f3",
}
INSTALL_DOT = (
    "Graphviz's `dot` program is needed to render (the Python package only writes DOT "
    "source): install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install "
    "graphviz` (macOS) or `conda install -c conda-forge graphviz`"
)
FORMATS = ("svg", "png", "pdf")
# NOTE: dot's layout time grows fast with clusters and long (skip) edges: 5,000 operations in
# 25 module clusters ran over 13 minutes, in 1,700 clusters about a minute, while a plain chain
# of 5,000 took 4 seconds. render() warns past this many nodes when there are clusters.
SLOW_LAYOUT_NODES = 1_000


class GraphError(MinigradError, RuntimeError):
    """The graph cannot be drawn or rendered: freed by backward, no Graphviz ``dot``, or an
    argument that does not fit (the message names it and the fix)."""


# ----- recording the graph and its values --------------------------------------------------------


@dataclass(frozen=True)
class _Values:
    """What a tensor's box shows, read from the tensor at one moment."""

    heading: str  # shape and dtype
    size: int
    data: str
    grad: str | None
    tangent: str | None
    bad: bool  # NaN/Inf in the data or the tangent
    bad_grad: bool


@dataclass
class Snapshot:
    """The graph behind some tensors and the values its boxes show, as they were when it was
    taken: draw it after backward frees the graph or an optimizer step changes the values. A
    gradient that did not exist yet (a snapshot taken before backward) is read when drawn."""

    roots: list
    ops: dict = field(default_factory=dict)  # id(output tensor) -> (prim name, parents, scope)
    tensors: dict = field(default_factory=dict)  # id -> Tensor
    values: dict = field(default_factory=dict)  # id -> _Values (empty: read when drawn)


def snapshot(*tensors: Tensor) -> Snapshot:
    """Record the graph behind ``tensors`` and their values (before backward), to draw it
    afterwards."""
    snap = _record("snapshot", tensors)
    snap.values = {tid: _read(t) for tid, t in snap.tensors.items()}
    return snap


def _record(who: str, tensors) -> Snapshot:
    """The graph behind ``tensors`` (Tensors, or lists of them), values left to read later."""
    roots = _check_tensors(who, tensors)
    snap = Snapshot(roots)
    stack = list(roots)
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
                f"viz.{who}: the graph behind this tensor (made by {node.prim.__name__}) was "
                f"freed by backward(); draw before backward, pass retain_graph=True to backward, "
                f"or take mg.viz.snapshot(tensor) before backward and draw that"
            )
        snap.ops[id(t)] = (node.prim.__name__, list(node.parents), node.scope)
        stack.extend(node.parents)
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


def _read(t: Tensor) -> _Values:
    tangent = t.tangent
    grad, bad_grad = _read_grad(t)
    return _Values(
        heading=f"{tuple(t.shape)} {t.dtype}",
        size=t.size,
        data=_summary(t.data, True),
        grad=grad,
        tangent=None if tangent is None else _summary(tangent, False),
        bad=_bad(t.data) or (tangent is not None and _bad(tangent)),
        bad_grad=bad_grad,
    )


def _read_grad(t: Tensor) -> tuple[str | None, bool]:
    return (None, False) if t.grad is None else (_summary(t.grad.data, True), _bad(t.grad.data))


def _values(snap: Snapshot, tid: int) -> _Values:
    """What tensor ``tid``'s box shows: the snapshot's values, else the tensor's own now."""
    t, kept = snap.tensors[tid], snap.values.get(tid)
    if kept is None:
        return _read(t)
    if kept.grad is None and t.grad is not None:  # backward ran after the snapshot
        grad, bad_grad = _read_grad(t)
        return replace(kept, grad=grad, bad_grad=bad_grad)
    return kept


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


def _shows_bad(v: _Values, show_grad: bool) -> bool:
    return v.bad or (show_grad and v.bad_grad)


def _tensor_label(v: _Values, name: str | None, show_data: bool, show_grad: bool) -> str:
    rows = [name] if name else []
    rows.append(v.heading)
    if show_data or v.size <= 6:
        rows.append(f"data {v.data}")
    if show_grad and v.grad is not None:
        rows.append(f"grad {v.grad}")
    if v.tangent is not None:
        rows.append(f"tangent {v.tangent}")
    return "\\n".join(r.replace('"', "'") for r in rows)


# ----- modules: paths, clusters, collapsing ------------------------------------------------------


class _Modules:
    """Names of the modules that made operations: the path in ``model`` ("" for the model
    itself), or, without ``model`` (or outside it), the class name numbered by order of
    appearance (``Linear``, ``Linear#2``), so that two instances never share a cluster."""

    def __init__(self, model):
        if model is not None and not hasattr(model, "named_modules"):
            raise GraphError(
                f"viz.draw: model= takes the nn.Module whose forward made the graph, got a "
                f"{type(model).__name__}"
            )
        self.model = model
        self.paths = {} if model is None else {id(m): p for p, m in model.named_modules()}
        # Every prefix is a cluster: a plain list attribute `blocks` holds blocks.0, blocks.1.
        self.in_model = {".".join(p.split(".")[:i]) for p in self.paths.values()
                         for i in range(p.count(".") + 2)}  # fmt: skip
        self.seen = Counter()

    def path(self, scope) -> str | None:
        if scope is None:
            return None
        if id(scope) not in self.paths:
            name = type(scope).__name__
            self.seen[name] += 1
            self.paths[id(scope)] = name if self.seen[name] == 1 else f"{name}#{self.seen[name]}"
        return self.paths[id(scope)]

    def parent(self, path: str | None) -> str | None:
        """The cluster around ``path``'s: the enclosing path, the model's ("") for its
        children, None at the top of the drawing."""
        if not path or path not in self.in_model:
            return None
        return path.rsplit(".", 1)[0] if "." in path else ""

    def label(self, path: str) -> str:
        return type(self.model).__name__ if path == "" else path


def _collapsed(path: str | None, rule) -> str | None:
    """The module path that ``path`` is drawn inside as a single node, if any.

    An int keeps that many components (depth; the model itself is never collapsed). Names
    collapse the module of that path or attribute (or class, for ``Linear#2``), or, when it is a
    list (``layers.0``, ``layers.1``), each of its items.
    """
    if not path or rule is None:
        return None
    parts = path.split(".")
    if isinstance(rule, int):
        return ".".join(parts[:rule]) if rule <= len(parts) else None
    for i, part in enumerate(parts):
        if part in rule or part.split("#")[0] in rule or ".".join(parts[: i + 1]) in rule:
            end = i + 2 if i + 1 < len(parts) and parts[i + 1].isdigit() else i + 1
            return ".".join(parts[:end])
    return None


def _collapse_rule(collapse, modules: _Modules, drawn_paths) -> int | tuple | None:
    """``collapse`` checked: a depth >= 1, or names that each match a module."""
    if collapse is None:
        return None
    if isinstance(collapse, int) and not isinstance(collapse, bool) and collapse >= 1:
        return collapse
    names = (collapse,) if isinstance(collapse, str) else collapse
    if not isinstance(names, list | tuple | set | frozenset) or not all(
        isinstance(n, str) for n in names
    ):
        raise GraphError(
            f"viz.draw: collapse={collapse!r}: give a depth (an int >= 1: collapse=1 draws each "
            f"of the model's children as one node) or module names (collapse=('layers',))"
        )
    known = (modules.in_model - {""}) | {p for p in drawn_paths if p}
    for name in names:
        if not any(_collapsed(path, (name,)) for path in known):
            raise GraphError(_unknown_module(collapse, name, known, modules.model is not None))
    return tuple(names)


def _unknown_module(collapse, name: str, known: set, with_model: bool) -> str:
    start = f"viz.draw: collapse={collapse!r}: {name!r} is not a module of this drawing"
    if not known:
        return f"{start}: no operation in it was made inside a Module's forward; drop collapse="
    words = sorted(known | {part.split("#")[0] for p in known for part in p.split(".")})
    close = difflib.get_close_matches(name, words, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = sorted(known, key=_path_order)
    listing = ", ".join(listed[:12]) + (f", ... ({len(listed)} in all)" if len(listed) > 12 else "")
    if with_model:
        return f"{start}{hint}. Collapse takes module paths or attribute names: {listing}"
    return (f"{start}{hint}. Without model= the clusters are named by class ({listing}): "
            f"use one of those, or pass model=model to collapse by path ('layers')")  # fmt: skip


def _path_order(path: str) -> list:
    """``layers.2`` before ``layers.10``."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split(".")]


# ----- the drawing -------------------------------------------------------------------------------


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
    also names the module clusters by their path, inside a cluster for the model itself.
    ``collapse``: module paths or names to draw as one node each (``("layers",)`` collapses
    ``layers.0``, ``layers.1``, ...), or an int depth; a drawn output made inside a collapsed
    module is drawn next to its node, and a module holding NaN/Inf is coloured as bad.
    ``max_nodes``: the most nodes to draw, counted after collapsing; beyond it the nodes
    nearest the outputs are kept and a note says how many tensors were left out.
    """
    import graphviz

    one_snapshot = len(tensors) == 1 and isinstance(tensors[0], Snapshot)
    snap = tensors[0] if one_snapshot else _record("draw", tensors)
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise GraphError(
            f"viz.draw: max_nodes={max_nodes!r}: give the most nodes to draw, an int >= 1"
        )
    modules = _Modules(model)
    names = _parameter_names(params, model)
    paths = {tid: modules.path(scope) for tid, (_, _, scope) in snap.ops.items()}
    rule = _collapse_rule(collapse, modules, paths.values())
    groups = {tid: group for tid, path in paths.items() if (group := _collapsed(path, rule))}
    edges, producer, hidden = _layout(snap, groups)
    roots = [f"t{id(t)}" for t in snap.roots]
    keep = _nearest(roots, edges, producer, max_nodes)

    picture = _Picture(snap, modules, paths, groups, hidden, names, show_data, show_grad)
    # NOTE: nslimit bounds dot's network-simplex passes for x coordinates; without it a few
    # hundred nodes with skip connections (x + f(x) repeated) took minutes instead of 2 s, and
    # small graphs, which converge sooner, come out the same.
    graph_attr = {"rankdir": rankdir, "fontsize": "10", "nslimit": "5"}
    graph = graphviz.Digraph("minigrad", graph_attr=graph_attr,
                             node_attr={"fontsize": "10", "style": "filled"})  # fmt: skip
    clusters: dict[str, list] = {}  # path -> (node id, attributes) of the nodes inside
    drawn = 0  # tensors drawn, as boxes or inside collapsed modules
    for node in keep:
        path, attrs, tensors_inside = picture.node(node)
        drawn += tensors_inside
        if path is None:
            graph.node(node, **attrs)
        else:
            clusters.setdefault(path, []).append((node, attrs))
    kept = set(keep)
    for source, target in edges:
        if source in kept and target in kept:
            graph.edge(source, target)
    _emit_clusters(graph, clusters, modules)
    if len(snap.tensors) > drawn:
        graph.node("more", label=f"... {len(snap.tensors) - drawn} more tensors not drawn "
                   f"(max_nodes={max_nodes})", shape="note", fillcolor="white")  # fmt: skip
    return graph


class _Picture:
    """How draw shows each node it keeps: its cluster, its attributes, the tensors it stands for."""

    def __init__(self, snap, modules, paths, groups, hidden, names, show_data, show_grad):
        self.snap, self.modules, self.paths, self.groups = snap, modules, paths, groups
        self.names, self.show_data, self.show_grad = names, show_data, show_grad
        self.outputs = {id(t) for t in snap.roots}
        self.operations = Counter(groups.values())  # collapsed path -> operations inside
        self.members: dict[str, list] = {}  # collapsed path -> the tensors drawn as its node
        for tid, group in hidden.items():
            self.members.setdefault(group, []).append(tid)

    def node(self, node: str) -> tuple[str | None, dict, int]:
        kind, key = node[0], node[1:]
        if kind == "c":
            return self.collapsed(key)
        if kind == "o":
            label = self.snap.ops[int(key)][0]
            return self.paths[int(key)], {"label": label, "shape": "ellipse",
                                          "fillcolor": COLORS["op"]}, 0  # fmt: skip
        return self.tensor(int(key))

    def collapsed(self, path: str) -> tuple[str | None, dict, int]:
        members, count = self.members.get(path, ()), self.operations[path]
        bad = any(_shows_bad(_values(self.snap, tid), self.show_grad) for tid in members)
        rows = [path, f"({count} operation{'s' if count != 1 else ''})"]
        if bad:
            rows.append("holds NaN/Inf")
        attrs = {"label": "\\n".join(rows), "shape": "box3d",
                 "fillcolor": COLORS["bad" if bad else "collapsed"]}  # fmt: skip
        return self.modules.parent(path), attrs, len(members)

    def tensor(self, tid: int) -> tuple[str | None, dict, int]:
        t, v, leaf = self.snap.tensors[tid], _values(self.snap, tid), tid not in self.snap.ops
        kind = ("bad" if _shows_bad(v, self.show_grad) else "output" if tid in self.outputs
                else ("param" if t.requires_grad else "input") if leaf else None)  # fmt: skip
        label = _tensor_label(v, self.names.get(tid) or t.name, self.show_data, self.show_grad)
        attrs = {"label": label, "shape": "box", "fillcolor": COLORS.get(kind or "", "white")}
        group = self.groups.get(tid)  # a drawn output made inside a collapsed module
        path = None if leaf else self.modules.parent(group) if group else self.paths[tid]
        return path, attrs, 1


def _parameter_names(params, model) -> dict:
    if params is None and model is not None:
        params = model.named_parameters()
    try:
        pairs = params.items() if isinstance(params, dict) else params or []
        return {id(p): name for name, p in pairs}
    except (TypeError, ValueError):
        raise GraphError(
            f"viz.draw: params= takes model.named_parameters() or a dict name -> parameter, "
            f"got a {type(params).__name__}"
        ) from None


def _layout(snap: Snapshot, groups: dict) -> tuple[list, dict, dict]:
    """The drawing once modules are collapsed: its edges, in order, between node ids
    (``t``/``o`` + tensor id for a tensor and the op that made it, ``c`` + path for a collapsed
    module); ``producer``: tensor node -> the node that made it; ``hidden``: tensor id -> the
    collapsed module drawn in its place (every tensor made inside one, except drawn outputs)."""
    outputs = {id(t) for t in snap.roots}
    hidden = {tid: group for tid, group in groups.items() if tid not in outputs}
    edges, producer, once = [], {}, set()
    for tid, (_, parents, _) in snap.ops.items():
        group = groups.get(tid)
        op = f"c{group}" if group else f"o{tid}"
        if tid not in hidden:
            edges.append((op, f"t{tid}"))
            producer[f"t{tid}"] = op
        for p in parents:
            if group and groups.get(id(p)) == group:
                continue  # inside the collapsed module
            edge = (f"c{hidden[id(p)]}" if id(p) in hidden else f"t{id(p)}", op)
            if not group or edge not in once:  # into a collapsed module: one edge per source
                once.add(edge)
                edges.append(edge)
    return edges, producer, hidden


def _nearest(roots: list, edges: list, producer: dict, max_nodes: int) -> list:
    """The nodes nearest the outputs, breadth first, while they fit in ``max_nodes``; a tensor
    comes with the node that made it, so that no result is drawn as if it were an input."""
    inputs: dict[str, list] = {}
    for source, target in edges:
        inputs.setdefault(target, []).append(source)
    keep: dict[str, None] = {}  # an ordered set
    frontier = roots
    while frontier and len(keep) < max_nodes:
        nxt = []
        for node in frontier:
            unit = [n for n in (node, producer.get(node)) if n is not None and n not in keep]
            if not unit or len(keep) + len(unit) > max_nodes:
                continue
            for n in unit:
                keep[n] = None
                nxt.extend(inputs.get(n, ()))
        frontier = nxt
    return list(keep)


def _emit_clusters(graph, clusters: dict, modules: _Modules) -> None:
    """Nested subgraphs, one per module path (a.b.c inside a.b inside a inside the model)."""
    import graphviz

    children: dict = {}  # path -> the paths of the clusters directly inside
    seen: set = set()
    for path in clusters:
        while path is not None and path not in seen:  # up to the top, adding missing levels
            seen.add(path)
            children.setdefault(modules.parent(path), []).append(path)
            path = modules.parent(path)

    def build(path: str) -> graphviz.Digraph:
        sub = graphviz.Digraph(name=f"cluster_{path}")
        sub.attr(label=modules.label(path), style="rounded", color="#6c757d", fontsize="10")
        for node_id, attrs in clusters.get(path, []):
            sub.node(node_id, **attrs)
        for child in sorted(children.get(path, ()), key=_path_order):
            sub.subgraph(build(child))
        return sub

    for top in sorted(children.get(None, ()), key=_path_order):
        graph.subgraph(build(top))


# ----- rendering ---------------------------------------------------------------------------------


def render(tensor, path: str | os.PathLike, format: str | None = None, **options) -> str:
    """Draw ``tensor``'s graph (a Tensor, a list of them, a Snapshot, or a Digraph from
    ``draw``) and write it to ``path``; returns the path written. The format is the suffix
    (.svg, .png, .pdf, in any case), or for a path without one ``format`` (default "svg",
    appended); missing folders are created. The DOT source is written next to it with suffix
    ``.dot``; without Graphviz's ``dot`` that is all, and a ``GraphError`` says how to install
    ``dot``. Laying out thousands of nodes in module clusters can take minutes: it warns."""
    import graphviz

    target, format = _target(os.fspath(path), format)
    if isinstance(tensor, graphviz.Digraph) and options:
        raise GraphError(
            f"viz.render: {', '.join(options)}= would be ignored: the Digraph is drawn already; "
            f"pass the options to draw(), or pass render the tensor or snapshot instead"
        )
    graph = tensor if isinstance(tensor, graphviz.Digraph) else draw(tensor, **options)
    source_path = os.path.splitext(target)[0] + ".dot"
    _write(source_path, graph.source)
    no_dot = GraphError(f"viz.render: {INSTALL_DOT}. The DOT source was written to {source_path}.")
    if shutil.which("dot") is None:
        raise no_dot
    _warn_if_slow(graph.source)
    try:
        image = graph.pipe(format=format)
    except graphviz.ExecutableNotFound:
        raise no_dot from None
    except graphviz.CalledProcessError as e:
        stderr = (e.stderr or b"").decode(errors="replace").strip()
        raise GraphError(f"viz.render: dot failed on {source_path}: {stderr}") from None
    _write(target, image)
    return target


def _target(path: str, format: str | None) -> tuple[str, str]:
    """The file to write and its format, from ``path``'s suffix or ``format``."""
    given = None if format is None else str(format).lower()
    if given is not None and given not in FORMATS:
        raise GraphError(f"viz.render: format {format!r} is not one of 'svg', 'png', 'pdf'")
    base, suffix = os.path.splitext(path)
    if not suffix:
        return f"{path}.{given or 'svg'}", given or "svg"
    if suffix[1:].lower() not in FORMATS:
        raise GraphError(
            f"viz.render: {path!r} ends in {suffix!r}, not a format render writes ('svg', "
            f"'png', 'pdf'); name the file {base}.svg (or .png, .pdf)"
        )
    if given is not None and given != suffix[1:].lower():
        raise GraphError(
            f"viz.render: {path!r} ends in {suffix!r} but format={format!r}; drop format= "
            f"(the suffix decides) or write to {base}.{given}"
        )
    return path, suffix[1:].lower()


def _write(path: str, content: str | bytes) -> None:
    """Write ``content`` to ``path``, creating missing folders as a plotting call does."""
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
    except OSError as e:
        raise GraphError(
            f"viz.render: cannot write {path} ({e.strerror or e}); choose a path you can write to"
        ) from None


def _warn_if_slow(source: str) -> None:
    nodes = source.count("[label=")
    clusters = source.count("subgraph cluster_") + source.count('subgraph "cluster_')
    if clusters and nodes > SLOW_LAYOUT_NODES:
        warnings.warn(
            f"viz.render: dot may take minutes to lay out {nodes} nodes in {clusters} module "
            f"clusters; collapse modules (collapse=1 or collapse=('layers',)) or lower max_nodes",
            RuntimeWarning,
            stacklevel=3,
        )
