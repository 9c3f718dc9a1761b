"""The reverse pass: sort the tape, walk it backwards, deliver the gradients.

``backward`` sorts the graph into a list (iteratively, no recursion: a node's creation stamp is a
topological order), then walks it in reverse, handing each node's cotangent to its primitive's
VJP and freeing nodes as it goes. ``grad`` is the same walk, returning gradients instead of
accumulating them into ``.grad``.
"""

from __future__ import annotations

import operator

import numpy as np

from . import anomaly, autodiff
from .autodiff import _GradMode, changed_at, constant, state
from .errors import BackwardError
from .tensor import Tensor


def toposort(root) -> list:
    """Tensors reachable from ``root`` through nodes, parents before children. Iterative:
    one depth-first sweep finds them, then nodes are sorted by creation order (a parent is
    always made before its children), with the leaves first."""
    leaves, inner = [], []
    seen = {id(root)}
    stack = [root]
    while stack:
        t = stack.pop()
        node = t._node
        if node is None:
            leaves.append(t)
            continue
        if node.parents is None:
            raise BackwardError(
                f"backward through the graph a second time: the graph behind this tensor "
                f"(made by {node.prim.__name__}) was freed by the first backward(); pass "
                f"retain_graph=True to the first backward() to keep it"
            )
        inner.append(t)
        for p in node.parents:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    inner.sort(key=_creation_order)
    return leaves + inner


_creation_order = operator.attrgetter("_node.seq")


def backward(root, grad=None, retain_graph=None, create_graph=False):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``retain_graph`` defaults to ``create_graph``, as in PyTorch: a graph that will be
    differentiated again must be kept.
    """
    grad = _initial_cotangent("backward", root, grad)
    order = toposort(root)
    retain = create_graph if retain_graph is None else retain_graph
    with _GradMode(create_graph):
        _run_backward(order, root, grad, retain, None)


def grad(output, inputs, grad_output=None, retain_graph=None, create_graph=False):
    """The gradients of ``output`` with respect to each of ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: ``.grad`` attributes are left alone, and a tuple comes back
    (``inputs`` may be one Tensor or a sequence). An input that ``output`` does not depend on
    gets zeros. With ``create_graph=True`` the results can be differentiated.
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    grad_output = _initial_cotangent("grad", output, grad_output)
    order = toposort(output)
    captured = {id(x): None for x in inputs}
    retain = create_graph if retain_graph is None else retain_graph
    with _GradMode(create_graph):
        _run_backward(order, output, grad_output, retain, captured)
    return tuple(
        Tensor(np.zeros_like(x.data)) if captured[id(x)] is None else captured[id(x)]
        for x in inputs
    )


def _initial_cotangent(op, root, grad):
    if not root.requires_grad:
        raise BackwardError(
            f"{op}: the tensor (shape {root.shape}) does not require grad: no input it depends "
            f"on has requires_grad=True (create inputs with mg.tensor(..., requires_grad=True), "
            f"and do not compute it under mg.no_grad())"
        )
    if grad is None:
        if root.data.size != 1:
            raise BackwardError(
                f"{op}: the tensor has shape {root.shape}, not a scalar, so pass grad= of that "
                f"shape (e.g. y.backward(mg.ones_like(y))) or reduce first (y.sum().backward())"
            )
        return Tensor(np.ones_like(root.data))
    grad = grad if isinstance(grad, Tensor) else Tensor(np.asarray(grad, dtype=root.dtype))
    if grad.shape != root.shape:
        raise BackwardError(
            f"{op}: grad has shape {grad.shape} but the tensor has shape {root.shape}; "
            f"pass a grad of shape {root.shape}"
        )
    return grad


def _run_backward(order, root, grad, retain_graph, captured):
    """Walk ``order`` backwards from ``root``, taking each cotangent when it is used. With
    ``captured`` (id -> None), store the cotangents of those tensors there instead of
    accumulating into ``.grad``. This loop is backward's hot path: keep it short.

    A pending cotangent waits on its tensor's node (``Node.cotangent``), a leaf's in a dict.
    """
    leaf_grads = {}
    if root._node is None:
        leaf_grads[id(root)] = grad
    else:
        root._node.cotangent = grad
    checking = state.detect_anomaly
    delivered: set = set()
    try:
        for t in reversed(order):
            node = t._node
            if node is None:  # a leaf
                g = leaf_grads.pop(id(t), None)
                if g is not None:
                    _deliver(t, g, captured, delivered)
                continue
            g = node.cotangent
            node.cotangent = None
            if g is None:  # not on a path from root that needs a gradient
                if not retain_graph:
                    node.parents = node.params = None
                continue
            if captured or t._retain:
                _deliver(t, g, captured, delivered)
            if autodiff.last_inplace > node.seq:
                _check_versions(node, t)
            parents = node.parents
            prim = node.prim
            if node.params:
                parent_grads = prim.vjp(g, t, *parents, **node.params)
            else:
                parent_grads = prim.vjp(g, t, *parents)
            if checking:
                anomaly.check_cotangents(node, parents, parent_grads)
            check_shapes = not prim.builtin  # a user's rules are checked, ours are tested
            for p, gp in zip(parents, parent_grads):
                if gp is not None and p.requires_grad:
                    if check_shapes and gp.data.shape != p.data.shape:
                        _wrong_cotangent(prim, p, gp)
                    pnode = p._node
                    if pnode is None:
                        prev = leaf_grads.get(id(p))
                        leaf_grads[id(p)] = gp if prev is None else prev + gp
                    else:
                        prev = pnode.cotangent
                        pnode.cotangent = gp if prev is None else prev + gp
            if not retain_graph:
                node.parents = node.params = None
    except BaseException:
        for t in order:  # an error part-way: leave no pending cotangent behind
            if t._node is not None:
                t._node.cotangent = None
        raise


def _wrong_cotangent(prim, x, g):
    raise BackwardError(
        f"{prim.__name__}.vjp returned a cotangent of shape {g.shape} for an input of shape "
        f"{x.shape}; a vjp must return one cotangent per input, each of that input's shape"
    )


def _deliver(t, g, captured, delivered):
    """Hand a finished cotangent to its tensor: captured (``grad()``) or into ``.grad``."""
    if captured is not None:
        if id(t) in captured:
            captured[id(t)] = _owned(g, delivered)
    else:
        t.grad = _owned(g, delivered) if t.grad is None else t.grad + g


def _owned(g, delivered: set):
    """``g``, or a copy if it is not safe to hand out: a gradient is the user's to change in
    place (clipping does), so it must be a writable array of its own, not a read-only
    broadcast view or a cotangent already handed to another tensor (``Add`` passes one
    cotangent to both inputs)."""
    data = g.data
    if not g.requires_grad and (
        id(g) in delivered or not data.flags.writeable or not data.flags.owndata
    ):
        copy = constant(np.array(data))
        copy.tangent = g.tangent  # forward-over-reverse: the tangent of the gradient is H v
        g = copy
    delivered.add(id(g))
    return g


def _check_versions(node, out):
    """Refuse to use a value that the node's rules read if it changed in place since."""
    uses = node.prim.uses
    if "y" in uses and changed_at(out) > node.seq:
        raise BackwardError(
            f"backward through {node.prim.__name__}: its output (shape {out.shape}) was "
            f"modified in place after it was computed, and {node.prim.__name__}'s gradient "
            f"needs it; use an out-of-place op instead"
        )
    if "x" not in uses:
        return
    for p in node.parents:
        if changed_at(p) > node.seq:
            raise BackwardError(
                f"backward through {node.prim.__name__}: one of its inputs (shape {p.shape}"
                f"{', name ' + repr(p.name) if p.name else ''}) was modified in place after it "
                f"was used, and {node.prim.__name__}'s gradient needs it; use an out-of-place "
                f"op instead, or clone() the tensor before modifying it"
            )
