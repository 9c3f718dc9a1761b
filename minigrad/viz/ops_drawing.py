"""The drawing of every operation (``draw(..., detail="ops")``): a box per tensor, an
ellipse per operation, module clusters, collapsed modules and at most ``max_nodes`` nodes."""

from __future__ import annotations

from collections import Counter

from .colors import COLORS
from .display import new_drawing
from .module_paths import ModulePaths, collapse_rule, collapsed, emit_clusters
from .recording import Snapshot, Values, shown_values


def draw_ops(snap, names, model, show_data, show_grad, rankdir, max_nodes, collapse):
    """Every operation and tensor (``detail="ops"``), modules as clusters or collapsed."""
    modules = ModulePaths(model)
    paths = {tid: modules.path(scope) for tid, (_, _, scope) in snap.ops.items()}
    rule = collapse_rule(collapse, modules, paths.values())
    groups = {tid: group for tid, path in paths.items() if (group := collapsed(path, rule))}
    edges, producer, hidden = _layout(snap, groups)
    roots = [f"t{id(t)}" for t in snap.roots]
    keep = _nearest(roots, edges, producer, max_nodes)

    picture = _Picture(snap, modules, paths, groups, hidden, names, show_data, show_grad)
    # NOTE: nslimit bounds dot's network-simplex passes for x coordinates; without it a few
    # hundred nodes with skip connections (x + f(x) repeated) took minutes instead of 2 s, and
    # small graphs, which converge sooner, come out the same.
    graph_attr = {"rankdir": rankdir, "fontsize": "10", "nslimit": "5"}
    graph = new_drawing(graph_attr=graph_attr, node_attr={"fontsize": "10", "style": "filled"})
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
        bad = any(_shows_bad(shown_values(self.snap, tid), self.show_grad) for tid in members)
        rows = [path, f"({count} operation{'s' if count != 1 else ''})"]
        if bad:
            rows.append("holds NaN/Inf")
        attrs = {"label": "\\n".join(rows), "shape": "box3d",
                 "fillcolor": COLORS["bad" if bad else "collapsed"]}  # fmt: skip
        return self.modules.parent(path), attrs, len(members)

    def tensor(self, tid: int) -> tuple[str | None, dict, int]:
        t, v, leaf = self.snap.tensors[tid], shown_values(self.snap, tid), tid not in self.snap.ops
        kind = ("bad" if _shows_bad(v, self.show_grad) else "output" if tid in self.outputs
                else ("param" if t.requires_grad else "input") if leaf else None)  # fmt: skip
        label = _tensor_label(v, self.names.get(tid) or t.name, self.show_data, self.show_grad)
        attrs = {"label": label, "shape": "box", "fillcolor": COLORS.get(kind or "", "white")}
        group = self.groups.get(tid)  # a drawn output made inside a collapsed module
        path = None if leaf else self.modules.parent(group) if group else self.paths[tid]
        return path, attrs, 1


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


def _emit_clusters(graph, clusters: dict, modules: ModulePaths) -> None:
    """Nested subgraphs, one per module path (a.b.c inside a.b inside a inside the model)."""
    children: dict = {}  # path -> the paths of the clusters directly inside
    seen: set = set()
    for path in clusters:
        while path is not None and path not in seen:  # up to the top, adding missing levels
            seen.add(path)
            children.setdefault(modules.parent(path), []).append(path)
            path = modules.parent(path)
    emit_clusters(graph, clusters, children, modules.label, style="rounded")


# ----- labels ------------------------------------------------------------------------------------


def _shows_bad(v: Values, show_grad: bool) -> bool:
    return v.bad or (show_grad and v.bad_grad)


def _tensor_label(v: Values, name: str | None, show_data: bool, show_grad: bool) -> str:
    rows = [name] if name else []
    rows.append(v.heading)
    if show_data or v.size <= 6:
        rows.append(f"data {v.data}")
    if show_grad and v.grad is not None:
        rows.append(f"grad {v.grad}")
    if v.tangent is not None:
        rows.append(f"tangent {v.tangent}")
    return "\\n".join(r.replace('"', "'") for r in rows)
