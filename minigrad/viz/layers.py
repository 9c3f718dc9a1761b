"""Which node of the layer drawing each operation belongs to: a layer (all its calls), a run of
repeated sibling modules folded into one node, or an operation of its own (made outside every
layer: ``F.relu`` or a reshape in a ``forward``, the loss function).

- A module is drawn as one node when it is a **layer**: a module without children, or one of
  minigrad's own layers whatever it holds (``MultiheadAttention``, ``LSTM``,
  ``TransformerEncoderLayer``), or when ``collapse=`` names it. Containers (``Sequential``,
  ``ModuleList``) and your own modules with children are **open**: their children are drawn,
  and the operations of their own ``forward`` are drawn as operations; ``expand=`` opens a
  module (a layer then shows its operations).
- Consecutive siblings that are **identical in structure** and each feed the next fold into
  one node (``layers.0–3: TransformerEncoderLayer ×4``); see ``folding.signature``.
- A module called several times is one node that says how many times (``×32 calls``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .folding import Structure
from .module_paths import collapsed


@dataclass
class Unit:
    """One node of the layer drawing and the operations it stands for."""

    kind: str  # "layer" (one module), "fold" (repeated siblings) or "op" (one operation)
    paths: tuple  # the module (layer), the siblings (fold), () for an operation
    ops: list  # ids of the tensors its operations made
    container: str | None  # the open module it is drawn in (None: outside every module)
    calls: int = 1  # how many times the layer ran

    @property
    def path(self) -> str | None:
        return self.paths[0] if self.paths else None


@dataclass
class Plan:
    units: list = field(default_factory=list)
    unit_of: dict = field(default_factory=dict)  # id(tensor made by an operation) -> Unit
    opened: list = field(default_factory=list)  # the open modules, outermost first


def plan(snap, tree, collapse, expand) -> Plan:
    """The units of the drawing of ``snap`` (operations of modules in ``tree``), with
    ``collapse``/``expand`` checked names (or a depth) or None."""
    return _Planner(snap, tree, collapse, expand).run()


class _Planner:
    def __init__(self, snap, tree, collapse, expand):
        self.snap, self.tree, self.collapse, self.expand = snap, tree, collapse, expand
        self.structure = Structure(snap, tree)
        self.out = Plan()
        self.expanded = {p for p in tree.module if _names(p, expand)}
        self.on_way = {a for p in self.expanded for a in tree.ancestors(p)[1:]}

    def run(self) -> Plan:
        self.open(None, False)
        return self.out

    def open(self, path, inherited: bool) -> None:
        """Draw ``path`` open: its children, folded where they repeat, and its own operations."""
        tree, structure = self.tree, self.structure
        if path is not None:
            self.out.opened.append(path)
        kids = [c for c in tree.children.get(path, []) if structure.ops_under.get(c)]
        runs = [] if path in self.expanded else structure.repeats(kids, set(kids))
        folded, alone = self.split(runs)
        for child in kids:
            run = folded.get(child)
            if run is not None:
                if child == run[0]:
                    self.add(
                        "fold", tuple(run), path, sum((structure.ops_under[c] for c in run), [])
                    )
            elif child in alone:
                self.add("layer", (child,), path, structure.ops_under[child])
            elif child in self.expanded:
                self.open(child, False)
            elif child in self.on_way:
                self.open(child, inherited or self.collapsed(child))
            elif inherited or self.collapsed(child) or tree.is_layer(child):
                self.add("layer", (child,), path, structure.ops_under[child])
            else:
                self.open(child, False)
        for tid in structure.own_ops.get(path, ()):
            self.add("op", (), path, [tid])

    def split(self, runs: list) -> tuple[dict, set]:
        """The repeated modules of ``runs`` once those to expand are taken out: module -> its
        fold (2 or more left in a row), and the modules left alone, drawn as one node each."""
        folded, alone = {}, set()
        for run in runs:
            segment: list = []
            for kid in [*run, None]:
                if kid is not None and kid not in self.expanded and kid not in self.on_way:
                    segment.append(kid)
                    continue
                if len(segment) == 1:
                    alone.add(segment[0])
                folded.update({m: segment for m in segment if len(segment) > 1})
                segment = []
        return folded, alone

    def collapsed(self, path: str) -> bool:
        """Named by ``collapse=``: a list named collapses its items, not itself."""
        return _names(path, self.collapse) and not any(
            _names(c, self.collapse) for c in self.tree.children.get(path, ())
        )

    def add(self, kind: str, paths: tuple, container, ops: list) -> None:
        calls = self.structure.calls(paths[0]) if kind == "layer" else 1
        unit = Unit(kind, paths, ops, container, calls)
        self.out.units.append(unit)
        for tid in ops:
            self.out.unit_of[tid] = unit


def _names(path: str, rule) -> bool:
    """Whether ``rule`` (``collapse=``/``expand=`` names, or a depth) names ``path`` itself."""
    return rule is not None and bool(path) and collapsed(path, rule) == path
