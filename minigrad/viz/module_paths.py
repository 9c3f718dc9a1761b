"""Module paths for drawings: the clusters that operations made inside a Module's forward are
grouped in, and which of them ``collapse=`` draws as one node."""

from __future__ import annotations

import difflib
from collections import Counter

from .recording import GraphError


class ModulePaths:
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


def collapsed(path: str | None, rule) -> str | None:
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


def collapse_rule(collapse, modules: ModulePaths, drawn_paths) -> int | tuple | None:
    """``collapse`` checked: a depth >= 1, or names that each match a module."""
    known = (modules.in_model - {""}) | {p for p in drawn_paths if p}
    return module_names("collapse", collapse, known, modules.model is not None)


def module_names(option: str, value, known: set, with_model: bool) -> int | tuple | None:
    """``collapse=``/``expand=`` checked against the module paths ``known``: None, a depth
    >= 1 (collapse only), or names that each match a module (one name may be a string)."""
    if value is None:
        return None
    depth = option == "collapse"
    if depth and isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, list | tuple | set | frozenset) or not all(
        isinstance(n, str) for n in names
    ):
        what = ("a depth (an int >= 1: collapse=1 draws each of the model's children as one "
                "node) or module names (collapse=('layers',))") if depth else (
                "module names or paths (expand=('layers.1',))")  # fmt: skip
        raise GraphError(f"viz.draw: {option}={value!r}: give {what}")
    for name in names:
        if not any(collapsed(path, (name,)) for path in known):
            raise GraphError(_unknown_module(option, value, name, known, with_model))
    return tuple(names)


def _unknown_module(option: str, value, name: str, known: set, with_model: bool) -> str:
    start = f"viz.draw: {option}={value!r}: {name!r} is not a module of this drawing"
    if not known:
        return f"{start}: no operation in it was made inside a Module's forward; drop {option}="
    words = sorted(known | {part.split("#")[0] for p in known for part in p.split(".")})
    close = difflib.get_close_matches(name, words, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = sorted(known, key=path_order)
    listing = ", ".join(listed[:12]) + (f", ... ({len(listed)} in all)" if len(listed) > 12 else "")
    if with_model:
        return (f"{start}{hint}. {option.capitalize()} takes module paths or attribute names: "
                f"{listing}")  # fmt: skip
    return (f"{start}{hint}. Without model= the modules are named by class ({listing}): "
            f"use one of those, or pass model=model to name them by path ('layers')")  # fmt: skip


def path_order(path: str) -> list:
    """``layers.2`` before ``layers.10``."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split(".")]


def emit_clusters(graph, members: dict, children: dict, label, **style) -> None:
    """Nested subgraphs ``cluster_<path>`` into ``graph``: ``members[path]``, (node id,
    attributes) of the nodes inside; ``children[path]``, the paths of the clusters directly
    inside (``children[None]``, those at the top); ``label(path)``, the cluster's label."""
    import graphviz

    def build(path: str) -> graphviz.Digraph:
        sub = graphviz.Digraph(name=f"cluster_{path}")
        sub.attr(label=label(path), color="#6c757d", fontsize="10", **style)
        for node_id, attrs in members.get(path, []):
            sub.node(node_id, **attrs)
        for child in sorted(children.get(path, ()), key=path_order):
            sub.subgraph(build(child))
        return sub

    for top in sorted(children.get(None, ()), key=path_order):
        graph.subgraph(build(top))
