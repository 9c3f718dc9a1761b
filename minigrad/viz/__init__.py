"""Drawing computation graphs with Graphviz: ``mg.viz.draw`` and ``mg.viz.render``.

For a model, the default drawing has one node per layer (``0: Conv2d(1→16, 3×3)``) with its
parameters and the norms of their gradients, repeated blocks folded into one node with a count
(``layers.0–3: TransformerEncoderLayer ×4``), the operations made outside layers as small
nodes, the inputs (``inputs=``; a thumbnail for images) and the loss; ``expand=``/``collapse=``
open or close modules by path. ``detail="ops"`` draws every operation: tensors are boxes (name,
shape, dtype, values or statistics, gradient), operations are ellipses named after their
primitive, grouped in a cluster per module. Past ``max_nodes`` a drawing keeps the part nearest
the outputs and says what it left out. What ``draw`` returns displays itself in Jupyter.

Backward frees the graph it walks: draw before ``backward()``, or pass ``retain_graph=True`` to
it, or take ``snapshot = mg.viz.snapshot(loss)`` before and draw the snapshot after (then the
gradients show).
"""

from .colors import COLORS
from .drawing import draw
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
