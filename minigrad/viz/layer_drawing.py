"""The layer drawing (``draw``'s default for models): one node per layer, listing its
parameters and their gradients' norms; repeated blocks folded; the operations made outside any
layer as small nodes; inputs (with a thumbnail for images) and the loss at the end."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import layer_labels as labels
from .colors import COLORS
from .display import new_drawing
from .folding import merge_copies
from .layer_nodes import NodeLooks, data_of
from .module_paths import emit_clusters

GRAPH = {"rankdir": "TB", "nodesep": "0.25", "ranksep": "0.3", "fontname": "Helvetica",
         "fontsize": "10"}  # fmt: skip
NODE = {"fontname": "Helvetica", "fontsize": "10", "style": "filled", "margin": "0.08,0.04"}
EDGE = {"arrowsize": "0.6", "color": "#495057"}
STYLE = {  # node kind -> shape and colour
    "layer": {"shape": "box", "style": "rounded,filled", "fillcolor": COLORS["layer"]},
    "fold": {"shape": "box3d", "fillcolor": COLORS["collapsed"], "margin": "0.15,0.06"},
    "op": {"shape": "ellipse", "fillcolor": COLORS["op"], "margin": "0.03,0.01"},
    "input": {"shape": "box", "fillcolor": COLORS["input"]},
    "param": {"shape": "box", "fillcolor": COLORS["param"]},
    "output": {"shape": "box", "fillcolor": COLORS["output"]},
}


def draw_layers(snap, tree, plan, names: dict, options: dict, inputs: list):
    """The ``Drawing`` of ``plan`` (see ``layers.plan``); ``options``: show_data, show_grad,
    rankdir, max_nodes; ``inputs``: the model's inputs (Tensors or arrays) to draw."""
    return _Builder(snap, tree, plan, names, options, inputs).build()


class _Builder(NodeLooks):
    def __init__(self, snap, tree, plan, names, options, inputs):
        self.snap, self.tree, self.plan, self.names = snap, tree, plan, names
        self.options = options
        self.inputs = {id(x): x for x in inputs}
        self.unseen = dict(self.inputs)  # the inputs the graph does not hold (yet found)
        self.kind: dict = {}  # node id -> kind (a key of STYLE)
        self.copy_key: dict = {}  # node id -> what copies of it share (None: never merged)
        self.what: dict = {}  # node id -> its unit, or the tensor (and name) of a box
        self.edges: set = set()
        self.shapes_in: dict = {}  # node id -> shapes of the tensors coming in
        self.shapes_out: dict = {}
        self.listed: dict = {}  # id(parameter) -> the node listing it
        self.leaving: set = {id(t) for t in snap.roots}  # tensors used outside their node
        self.node_of_unit: dict = {}
        self.boxes: dict = {}  # id(tensor), or a key -> its box

    def build(self):
        snap = self.snap
        for i, unit in enumerate(self.plan.units):
            node = self.node_of_unit[id(unit)] = f"u{i}"
            self.kind[node], self.what[node] = unit.kind, unit
            if unit.kind == "op":
                name, _, _ = snap.ops[unit.ops[0]]
                self.copy_key[node] = ("op", name, tuple(snap.tensors[unit.ops[0]].shape),
                                       unit.container)  # fmt: skip
            else:
                self.copy_key[node] = None
                for path in unit.paths:
                    for _, p in self.tree.parameters(path):
                        self.listed.setdefault(id(p), node)
        for unit in self.plan.units:
            node = self.node_of_unit[id(unit)]
            for tid in unit.ops:
                self.link(tid, node)
        self.link_unseen()
        for root in snap.roots:
            box = self.box("output", root, root.name)
            made_in = self.plan.unit_of.get(id(root))
            if made_in is not None:
                self.connect(self.node_of_unit[id(made_in)], box, root)
        into = merge_copies(self.copy_key, self.edges)
        return self.emit(into)

    # ----- nodes and edges -----------------------------------------------------------------

    def link(self, tid: int, node: str) -> None:
        """The edges into ``node`` from the tensors operation ``tid`` took."""
        snap = self.snap
        _, parents, _ = snap.ops[tid]
        inside = self.kind[node] != "op"  # a layer's (or folded layers') own operation
        for p in parents:
            source = self.source(p, inside)
            if source == "fed":
                self.edges.add((source, node))
            elif source is not None and source != node:
                self.connect(source, node, p)
                self.leaving.add(id(p))
        params = snap.params.get(tid) or {}  # None once backward freed them
        for key, value in params.items():
            for array in value if isinstance(value, tuple) else (value,):
                if isinstance(array, np.ndarray) and array.dtype.kind in "iu" and array.size > 1:
                    self.connect(self.index_box(key, array, tid), node, array)

    def source(self, p, inside: bool) -> str | None:
        """The node ``p`` comes from, made now if it is a box; "fed" for data made from an
        input; None for a constant that says nothing: a number, or the zeros and masks a layer
        makes for itself."""
        pid = id(p)
        if pid in self.snap.ops:
            return self.node_of_unit[id(self.plan.unit_of[pid])]
        if pid in self.listed:
            return self.listed[pid]
        if pid in self.inputs:
            self.unseen.pop(pid, None)
            return self.box("input", p, p.name or "input")
        if p.requires_grad:
            return self.box("param", p, self.names.get(pid) or p.name)
        if p.numel() <= 1:
            return None  # a number in a formula: the operation says enough
        kind = labels.constant_kind(p.data)
        if inside and kind in ("zeros", "mask") and p.name is None:
            return None  # dropout's masks, an initial state of zeros: the layer's own
        if p.name is None and not kind:
            # NOTE: data that does not require grad enters the graph only as what the first
            # layer made of it (a convolution's windows): the model's input stands for it.
            if any(isinstance(x, Tensor) for x in self.unseen.values()):
                return "fed"
            return self.box("input", p, "data")
        return self.box("input", p, p.name)

    def index_box(self, key: str, array: np.ndarray, tid: int) -> str:
        """Indices (an embedding's) or labels (a loss's) given as an integer array."""
        for xid, x in self.inputs.items():
            if isinstance(x, np.ndarray) and x.shape == array.shape and np.array_equal(x, array):
                self.unseen.pop(xid, None)
                return self.box("input", x, "input")
        which = "labels" if key in ("labels", "target") else "indices"
        return self.box("input", array, which, key=f"{which}{tid}")

    def link_unseen(self) -> None:
        """The inputs the graph does not hold, into the nodes that took data made from them
        (or, if none did, the node that ran first)."""
        fed = [b for a, b in self.edges if a == "fed"]
        self.edges = {(a, b) for a, b in self.edges if a != "fed"}
        if not fed and self.plan.units:
            first = min(self.plan.units, key=lambda u: min(self.snap.seq.get(t, 0) for t in u.ops))
            fed = [self.node_of_unit[id(first)]]
        for x in self.unseen.values():
            name = x.name if isinstance(x, Tensor) and x.name else "input"
            box = self.box("input", x, name)
            for node in dict.fromkeys(fed):
                self.connect(box, node, x)

    def box(self, kind: str, t, name, key=None) -> str:
        """The node of a box for ``t`` (one per tensor, or per ``key``), numbered in order."""
        node = self.boxes.setdefault(key or id(t), f"b{len(self.boxes)}")
        if node not in self.kind:
            self.kind[node], self.what[node] = kind, (t, name)
            self.copy_key[node] = None
            if kind == "input":  # inputs alike into the same nodes are drawn once, counted
                constant = labels.constant_kind(data_of(t))
                self.copy_key[node] = (tuple(t.shape), str(t.dtype), name, constant)
        return node

    def connect(self, source: str, target: str, t) -> None:
        self.edges.add((source, target))
        self.shapes_out.setdefault(source, []).append(tuple(t.shape))
        self.shapes_in.setdefault(target, []).append(tuple(t.shape))

    # ----- the picture ---------------------------------------------------------------------

    def emit(self, into: dict):
        counts: dict = {}
        for kept in into.values():
            counts[kept] = counts.get(kept, 0) + 1
        edges = sorted({(into[a], into[b]) for a, b in self.edges if into[a] != into[b]})
        drawn = [n for n in self.kind if into[n] == n]
        outputs = [n for n in drawn if self.kind[n] == "output"]
        kept = _nearest(drawn, outputs, edges, self.options["max_nodes"])
        graph_attr = dict(GRAPH, rankdir=self.options["rankdir"] or "TB")
        graph = new_drawing(graph_attr=graph_attr, node_attr=NODE, edge_attr=EDGE)
        inside = self.clusters(kept)
        subgraphs: dict = {}
        for node in kept:
            attrs = dict(STYLE[self.kind[node]], label=self.label(node, counts[node]))
            if self.bad(node):
                attrs["fillcolor"] = COLORS["bad"]
            cluster = inside.get(node)
            if cluster:
                subgraphs.setdefault(cluster, []).append((node, attrs))
            else:
                graph.node(node, **attrs)
        self.emit_clusters(graph, subgraphs)
        for a, b in edges:
            if a in kept and b in kept:
                graph.edge(a, b)
        left = len(drawn) - len(kept)
        if left:
            graph.node("more", label=f"... {left} more nodes not drawn "
                       f"(max_nodes={self.options['max_nodes']})", shape="note",
                       fillcolor="white")  # fmt: skip
        return graph

    def clusters(self, kept: list) -> dict:
        """node -> the open module whose cluster it is drawn in (modules that are not the
        model, holding 2 nodes or more)."""
        tree, opened = self.tree, set(self.plan.opened)
        home = {}
        for node in kept:
            unit = self.what[node]
            if not isinstance(unit, tuple):
                home[node] = [p for p in tree.ancestors(unit.container) if p in opened]
        held: dict = {}
        for chain in home.values():
            for path in chain:
                held[path] = held.get(path, 0) + 1
        self.framed = {p for p, n in held.items() if n >= 2 and not tree.is_top(p)}
        return {node: next((p for p in chain if p in self.framed), None)
                for node, chain in home.items()}  # fmt: skip

    def emit_clusters(self, graph, members: dict) -> None:
        tree = self.tree
        children: dict = {}
        for path in self.framed:
            up = next((p for p in tree.ancestors(path)[1:] if p in self.framed), None)
            children.setdefault(up, []).append(path)
        emit_clusters(graph, members, children, tree.label, style="rounded,dashed",
                      fontname="Helvetica")  # fmt: skip


def _nearest(nodes: list, outputs: list, edges: list, max_nodes: int) -> list:
    """All ``nodes`` when they fit in ``max_nodes``, else those nearest the outputs, breadth
    first."""
    if len(nodes) <= max_nodes:
        return nodes
    inputs: dict = {}
    for a, b in edges:
        inputs.setdefault(b, []).append(a)
    keep: dict = {}
    frontier = list(outputs)
    while frontier and len(keep) < max_nodes:
        nxt = []
        for node in frontier:
            if node not in keep and len(keep) < max_nodes:
                keep[node] = None
                nxt.extend(inputs.get(node, ()))
        frontier = nxt
    return list(keep)
