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
        if not any(collapsed(path, (name,)) for path in known):
            raise GraphError(_unknown_module(collapse, name, known, modules.model is not None))
    return tuple(names)


def _unknown_module(collapse, name: str, known: set, with_model: bool) -> str:
    start = f"viz.draw: collapse={collapse!r}: {name!r} is not a module of this drawing"
    if not known:
        return f"{start}: no operation in it was made inside a Module's forward; drop collapse="
    words = sorted(known | {part.split("#")[0] for p in known for part in p.split(".")})
    close = difflib.get_close_matches(name, words, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = sorted(known, key=path_order)
    listing = ", ".join(listed[:12]) + (f", ... ({len(listed)} in all)" if len(listed) > 12 else "")
    if with_model:
        return f"{start}{hint}. Collapse takes module paths or attribute names: {listing}"
    return (f"{start}{hint}. Without model= the clusters are named by class ({listing}): "
            f"use one of those, or pass model=model to collapse by path ('layers')")  # fmt: skip


def path_order(path: str) -> list:
    """``layers.2`` before ``layers.10``."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split(".")]
