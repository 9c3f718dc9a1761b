"""``draw``: a drawing of a recorded graph, by layers (``layers``, ``layer_drawing``) or every
operation (``ops_drawing``), its options checked."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .layer_drawing import draw_layers
from .layers import plan
from .module_paths import module_names
from .module_tree import ModuleTree
from .ops_drawing import draw_ops
from .recording import GraphError, Snapshot, record

UNSET = object()  # collapse= not given
DETAILS = ("layers", "ops")


def draw(
    *tensors,
    params=None,
    model=None,
    show_data: bool = False,
    show_grad: bool = True,
    rankdir: str | None = None,
    max_nodes: int = 400,
    detail: str | None = None,
    collapse=UNSET,
    expand=None,
    inputs=None,
):
    """A drawing (a ``graphviz.Digraph`` that Jupyter displays) of the computation behind
    ``tensors`` (or a ``Snapshot``).

    ``detail="layers"``, the default when some operation was made inside a Module's forward:
    one node per layer (``0: Conv2d(1→16, 3×3)``, its parameters and their gradients' norms),
    repeated blocks folded into one node (``layers.0–3: TransformerEncoderLayer ×4``), the
    operations made outside layers as small nodes, the inputs and the loss; top to bottom.
    ``detail="ops"`` (the default for a graph made outside modules, and what ``collapse=None``
    asks for): every operation and tensor, left to right, modules as clusters.

    ``params``: ``model.named_parameters()`` (or a dict) to label parameters by name; ``model``
    also names the modules by their path. ``collapse``: module paths or names to draw as one
    node each (``("layers",)`` collapses ``layers.0``, ``layers.1``, ...), or an int depth;
    ``expand`` (layers only): module paths or names to draw open (a layer then shows its
    operations, a folded block each of its copies), with the modules around them. Names that
    match no module are errors that list the modules there are.
    ``inputs`` (layers only): the model's inputs (Tensors or arrays), drawn where the data
    enters, with a thumbnail of the first image of a batch of images. NOTE: a graph holds what
    needs gradients: data that does not enters it only as what the first layer made of it (a
    convolution's windows), so pass the input to see it.
    ``max_nodes``: the most nodes to draw, counted after collapsing; beyond it the nodes
    nearest the outputs are kept and a note says how many were left out.
    """
    one_snapshot = len(tensors) == 1 and isinstance(tensors[0], Snapshot)
    snap = tensors[0] if one_snapshot else record("draw", tensors)
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise GraphError(
            f"viz.draw: max_nodes={max_nodes!r}: give the most nodes to draw, an int >= 1"
        )
    _check_model(model)
    names = _parameter_names(params, model)
    detail = _detail(detail, collapse, expand, inputs, snap)
    collapse = None if collapse is UNSET else collapse
    if detail == "ops":
        return draw_ops(snap, names, model, show_data, show_grad, rankdir or "LR", max_nodes,
                        collapse)  # fmt: skip
    in_order = sorted(snap.ops, key=lambda tid: snap.seq.get(tid, 0))  # number as they ran
    tree = ModuleTree(model, [snap.ops[tid][2] for tid in in_order])
    collapse = module_names("collapse", collapse, tree.known(), model is not None)
    expand = module_names("expand", expand, tree.known(), model is not None)
    options = {"show_data": show_data, "show_grad": show_grad, "rankdir": rankdir,
               "max_nodes": max_nodes}  # fmt: skip
    units = plan(snap, tree, collapse, expand)
    return draw_layers(snap, tree, units, names, options, _inputs(inputs))


def _detail(detail, collapse, expand, inputs, snap) -> str:
    """The detail to draw at: given, or implied by ``collapse=None`` (everything open), or
    layers when some operation was made inside a module (or ``expand=``/``inputs=`` ask for
    layers)."""
    if detail is not None and detail not in DETAILS:
        raise GraphError(
            f"viz.draw: detail={detail!r}: give 'layers' (one node per layer) or 'ops' (every "
            f"operation)"
        )
    if collapse is None:
        if detail == "layers":
            raise GraphError(
                "viz.draw: collapse=None draws every operation, detail='layers' draws layers: "
                "give one of them (detail='ops' is the same as collapse=None)"
            )
        detail = "ops"
    if expand is not None and detail == "ops":
        raise GraphError(
            "viz.draw: expand= opens modules of the layer drawing, but detail='ops' (or "
            "collapse=None) draws every operation already: drop expand=, or draw layers"
        )
    if inputs is not None and detail == "ops":
        raise GraphError(
            "viz.draw: inputs= draws the model's inputs in the layer drawing; detail='ops' "
            "draws the tensors of the graph only: drop inputs=, or draw layers"
        )
    if detail is None:
        made_in_modules = any(scope is not None for *_, scope in snap.ops.values())
        asked = expand is not None or inputs is not None
        detail = "layers" if made_in_modules or asked else "ops"
    return detail


def _inputs(inputs) -> list:
    """``inputs=`` as a list of Tensors and arrays."""
    if inputs is None:
        return []
    items = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    for item in items:
        if not isinstance(item, Tensor | np.ndarray):
            raise GraphError(
                f"viz.draw: inputs= takes the model's inputs (Tensors or numpy arrays), got a "
                f"{type(item).__name__}"
            )
    return items


def _check_model(model) -> None:
    if model is not None and not hasattr(model, "named_modules"):
        raise GraphError(
            f"viz.draw: model= takes the nn.Module whose forward made the graph, got a "
            f"{type(model).__name__}"
        )


def _parameter_names(params, model) -> dict:
    if params is None and model is not None:
        params = model.named_parameters()
    try:
        pairs = params.items() if isinstance(params, dict) else params or []
        return {id(p): name for name, p in pairs}
    except (TypeError, ValueError):
        raise GraphError(
            f"viz.draw: params= takes model.named_parameters() or a dict name -> parameter, "
            f"got a {type(params).__name__}"
        ) from None
