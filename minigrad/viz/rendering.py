"""Rendering: ``render`` writes a drawing's DOT source and, with Graphviz's ``dot``, its image."""

from __future__ import annotations

import os
import shutil
import warnings

from .display import INSTALL_DOT
from .drawing import draw
from .recording import GraphError

FORMATS = ("svg", "png", "pdf")
# NOTE: dot's layout time grows fast with clusters and long (skip) edges: 5,000 operations in
# 25 module clusters ran over 13 minutes, in 1,700 clusters about a minute, while a plain chain
# of 5,000 took 4 seconds. render() warns past this many nodes when there are clusters.
SLOW_LAYOUT_NODES = 1_000


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
