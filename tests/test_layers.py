"""The layers of DESIGN.md, read from the import statements of minigrad's source (``ast``).

Each module belongs to a layer and imports only from its own layer and the ones below; no import
cycle anywhere; the engine knows no Tensor; ``ops/`` reaches Tensor only through ``primitive``.
An import inside a function counts like one at the top: deferring an import does not change
what depends on what.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "minigrad"

# Bottom up. A module belongs to the layer of the longest prefix that names it.
LAYERS = [
    ("errors", ["minigrad.errors", "minigrad.trees"]),
    ("engine", ["minigrad.autodiff", "minigrad.anomaly", "minigrad.backward"]),
    (
        "tensor",
        [
            "minigrad.tensor",
            "minigrad.methods",
            "minigrad.hooks",
            "minigrad.dtypes",
            "minigrad.devices",
        ],
    ),  # fmt: skip
    (
        "primitives",
        ["minigrad.batching", "minigrad.batched_tangents", "minigrad.primitive", "minigrad.ops"],
    ),  # fmt: skip
    (
        "functions",
        ["minigrad.functions", "minigrad.creation", "minigrad.random", "minigrad.linalg"],
    ),  # fmt: skip
    ("autograd", ["minigrad.autograd", "minigrad.autograd_function", "minigrad.dual"]),
    (
        "tools",
        [
            "minigrad.arguments",
            "minigrad.tangents",
            "minigrad.transforms",
            "minigrad.hessians",
            "minigrad.checking",
            "minigrad.nn",
            "minigrad.optim",
            "minigrad.curvature",
            "minigrad.viz",
            "minigrad.serialization",
            "minigrad.utils",
            "minigrad.cuda",
            "minigrad.backends",
            "minigrad.memory",
            "minigrad.capture",
            "minigrad.vectorize",
            "minigrad.func",
        ],
    ),  # fmt: skip
    ("top", ["minigrad", "minigrad.demo"]),
]

# Imports that the layer order allows but the design does not.
FORBIDDEN = {
    # ops/ reaches Tensor through one import: primitive.py (DESIGN.md, "Layers").
    "minigrad.ops": {"minigrad.tensor", "minigrad.methods"},
}


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: pathlib.Path) -> set[str]:
    """The minigrad modules ``path`` imports (``from .x import y`` names module ``x``, or
    ``x.y`` when that is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "minigrad"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "minigrad":
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return {m for m in found if m != name}


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: imported_modules(path) for name, path in MODULES.items()}


def layer_of(module: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    if best is None:
        raise AssertionError(f"{module} is in no layer of tests/test_layers.py: place it there")
    return best[0]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_layer_and_the_ones_below(module):
    mine = layer_of(module)
    upward = sorted(m for m in GRAPH[module] if layer_of(m) > mine)
    assert not upward, f"{module} ({LAYERS[mine][0]}) imports from layers above it: {upward}"
    for prefix, banned in FORBIDDEN.items():
        if module == prefix or module.startswith(prefix + "."):
            assert not GRAPH[module] & banned, f"{module} imports {GRAPH[module] & banned}"


def test_no_import_cycle():
    """Depth-first search for a cycle, a package's __init__ counting as the package."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for nxt in sorted(GRAPH.get(module, ())):
            if nxt == "minigrad":  # the package's face imports everything; nothing leans on it
                continue
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(GRAPH):
        if module not in state and (cycle := visit(module)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def test_the_checks_would_catch_a_violation():
    """The reader of imports sees relative, absolute and in-function imports."""
    source = "from ..tensor import Tensor\ndef f():\n    from .. import functions\n"
    probe = PACKAGE / "ops" / "_layers_probe.py"
    probe.write_text(source)
    try:
        assert imported_modules(probe) == {"minigrad.tensor", "minigrad.functions"}
    finally:
        probe.unlink()
