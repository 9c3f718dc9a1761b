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

from .drawing import COLORS, draw
from .recording import GraphError, Snapshot, snapshot
from .rendering import FORMATS, INSTALL_DOT, SLOW_LAYOUT_NODES, render

__all__ = [
    "COLORS",
    "FORMATS",
    "INSTALL_DOT",
    "SLOW_LAYOUT_NODES",
    "GraphError",
    "Snapshot",
    "draw",
    "render",
    "snapshot",
]
