"""The modules behind a recorded graph, as a tree of paths, for the layer drawing: which module
holds which, which ones are layers (drawn as one node) and what each is called in a drawing."""

from __future__ import annotations

from ..nn.labels import layer_label

# Modules that only hold others: drawn open (their items), never as one node of their own.
CONTAINERS = "minigrad.nn.containers"


class ModuleTree:
    """Every module of ``model`` by path ("" for the model), plus the modules that made some of
    ``scopes``' operations outside it (or all of them without ``model``), named by class and
    numbered by order of appearance (``Linear``, ``Linear#2``), with their own children below.
    ``None`` is the root of the tree: its children are the model ("") and those others."""

    def __init__(self, model, scopes):
        self.model = model
        self.module: dict = {}  # path -> module
        self.path: dict = {}  # id(module) -> path
        self.children: dict = {None: []}  # path -> child paths, in attribute order
        self.parent: dict = {}  # path -> enclosing path (None at the top)
        if model is not None:
            self._add_tree("", model)
        scopes = [s for s in dict.fromkeys(scopes, None) if s is not None]
        outside = [s for s in scopes if id(s) not in self.path]
        inner = {id(m) for s in outside for m in s.modules() if m is not s}
        seen: dict = {}
        for scope in outside:
            if id(scope) in inner or id(scope) in self.path:
                continue
            name = type(scope).__name__
            seen[name] = seen.get(name, 0) + 1
            self._add_tree(name if seen[name] == 1 else f"{name}#{seen[name]}", scope)

    def _add_tree(self, top: str, module) -> None:
        self.children[None].append(top)
        self.parent[top] = None
        for path, m in module.named_modules():
            full = top if not path else f"{top}.{path}" if top else path
            if id(m) in self.path:  # shared: the first path names it
                continue
            self.module[full], self.path[id(m)] = m, full
            self.children.setdefault(full, [])
            if full != top:
                parent = full.rsplit(".", 1)[0] if "." in full else ""
                while parent not in self.module:  # a plain list attribute: blocks.0 in ""
                    parent = parent.rsplit(".", 1)[0] if "." in parent else ""
                self.parent[full] = parent
                self.children[parent].append(full)

    def of(self, scope) -> str | None:
        """The path of the module ``scope`` (None: made outside every module)."""
        return None if scope is None else self.path[id(scope)]

    def ancestors(self, path: str | None) -> list:
        """``path`` and the paths around it, innermost first (not the root None)."""
        chain = []
        while path is not None:
            chain.append(path)
            path = self.parent[path]
        return chain

    def is_top(self, path: str) -> bool:
        return self.parent.get(path, None) is None

    def is_layer(self, path: str) -> bool:
        """A layer, drawn as one node unless expanded: a module without children, or one of
        minigrad's own layers (``MultiheadAttention``, ``LSTM``, ``TransformerEncoderLayer``)
        whatever it holds, unless it holds a list of layers (``TransformerEncoder``). Containers
        and your own modules with children are drawn open."""
        m = self.module[path]
        own = type(m).__module__
        if own == CONTAINERS:
            return False
        if not self.children.get(path):
            return True
        return own.startswith("minigrad.nn.") and not any(
            type(inside).__module__ == CONTAINERS for inside in m.modules()
        )

    def label(self, path: str) -> str:
        """``layers.0: Linear(3→4)``; the model itself, or a top module found without
        ``model=``, by its layer label alone."""
        text = layer_label(self.module[path])
        return text if self.is_top(path) else f"{path}: {text}"

    def known(self) -> set:
        """Every path a ``collapse=``/``expand=`` name may match."""
        return {p for p in self.module if p}

    def parameters(self, path: str) -> list:
        """``(name relative to the module, parameter)`` for every parameter of ``path``."""
        return list(self.module[path].named_parameters())

    def direct_parameters(self) -> dict:
        """id(parameter) -> (path of the module holding it, its name there)."""
        owners = {}
        for path, m in self.module.items():
            for name, p in m.named_parameters(recurse=False):
                owners.setdefault(id(p), (path, name))
        return owners
