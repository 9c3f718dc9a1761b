"""The reverse pass: walk the tape backwards, deliver the gradients.

``backward`` walks the graph from the newest node to the oldest (a heap on each node's creation
stamp, no recursion), handing each node's cotangent to its primitive's VJP and freeing nodes as
it goes. ``grad`` is the same walk, returning gradients instead of accumulating them into
``.grad``. ``toposort`` lists the graph in order, for the tools that inspect it.
"""

from __future__ import annotations

import operator
import threading
from heapq import heappop, heappush

import numpy as np

from . import anomaly, autodiff
from .autodiff import _GradMode, changed_at, constant, mode
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
            _freed(node)
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
    retain = create_graph if retain_graph is None else retain_graph
    with _GradMode(create_graph):
        _run_backward(root, grad, retain, None)


def grad(output, inputs, grad_output=None, retain_graph=None, create_graph=False):
    """The gradients of ``output`` with respect to each of ``inputs``, returned, not accumulated.

    Like ``torch.autograd.grad``: ``.grad`` attributes are left alone, and a tuple comes back
    (``inputs`` may be one Tensor or a sequence). An input that ``output`` does not depend on
    gets zeros. With ``create_graph=True`` the results can be differentiated.
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    grad_output = _initial_cotangent("grad", output, grad_output)
    captured = {id(x): None for x in inputs}
    retain = create_graph if retain_graph is None else retain_graph
    with _GradMode(create_graph):
        _run_backward(output, grad_output, retain, captured)
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
    if not isinstance(grad, Tensor):
        try:
            grad = Tensor(np.asarray(grad, dtype=root.dtype))
        except (TypeError, ValueError):
            raise BackwardError(
                f"{op}: grad={grad!r:.60} is not a cotangent; pass a Tensor or array of numbers "
                f"of the tensor's shape {root.shape} (e.g. mg.ones_like(y))"
            ) from None
    if grad.shape != root.shape:
        raise BackwardError(
            f"{op}: grad has shape {grad.shape} but the tensor has shape {root.shape}; "
            f"pass a grad of shape {root.shape}"
        )
    return grad


def _run_backward(root, grad, retain_graph, captured):
    """Walk the graph behind ``root`` from the newest node to the oldest, handing each node's
    cotangent to its primitive's VJP and adding the results to its parents' cotangents. With
    ``captured`` (id -> None), store the cotangents of those tensors there instead of
    accumulating into ``.grad``. This loop is backward's hot path: keep it short.

    The order is a max-heap on ``Node.seq``. A tensor enters it when its first cotangent arrives
    (the cotangent waits on its node, ``Node.cotangent``) and leaves it only after every node
    made later, so after every tensor made from it: its cotangent is complete by then. There is
    no separate sort, and nodes that no cotangent reaches are not visited.

    Nothing is delivered and nothing is freed until the walk has finished: leaves' cotangents
    wait in a dict and retained ones in a list, and the nodes walked are freed at the end. So a
    backward that fails part-way (a user's rule raises) changes no ``.grad`` and leaves the graph
    as it was, ready for a retry. Delivery holds a lock, so that backward passes on several
    threads into one leaf add up exactly (``t.grad + g`` is a read, an add and a write).

    In a plain backward (no ``create_graph``, no forward mode) the cotangents are ndarrays (see
    ``Primitive.array_cotangents``), wrapped as Tensors only when delivered.
    """
    now = mode()
    plain = not (now.grad_enabled or now.forward_level)
    if plain:
        grad = grad.data
    checking = now.detect_anomaly
    leaf_grads = {}  # id -> (leaf, cotangent)
    retained = []  # (tensor, cotangent) of the inner tensors whose cotangent is asked for
    walked = []  # the nodes to free once the walk has finished
    heap = []
    if root._node is None:
        leaf_grads[id(root)] = (root, grad)
    else:
        root._node.cotangent = grad
        heap.append((-root._node.seq, root))
    # The first cotangent is the caller's array: a gradient that is that very array (``Add``
    # passes it on unchanged) must be a copy, or changing one would change the other.
    delivered: set = {id(grad)}
    try:
        while heap:
            t = heappop(heap)[1]
            node = t._node
            g = node.cotangent
            node.cotangent = None
            parents = node.parents
            if parents is None:
                _freed(node)
            if captured or t._retain:
                retained.append((t, g))
            if autodiff.last_inplace > node.seq:
                _check_versions(node, t)
            prim = node.prim
            if not prim.builtin or (plain and not prim.array_cotangents):
                parent_grads = _tensor_vjp(prim, g, t, parents, node.params, plain)
            elif node.params:
                parent_grads = prim.vjp(g, t, *parents, **node.params)
            else:
                parent_grads = prim.vjp(g, t, *parents)
            if checking:
                anomaly.check_cotangents(node, parents, parent_grads)
            for p, gp in zip(parents, parent_grads):
                if gp is not None and p.requires_grad:
                    pnode = p._node
                    if pnode is None:
                        prev = leaf_grads.get(id(p))
                        leaf_grads[id(p)] = (p, gp) if prev is None else (p, prev[1] + gp)
                    elif pnode.cotangent is None:
                        pnode.cotangent = gp
                        heappush(heap, (-pnode.seq, p))
                    else:
                        pnode.cotangent = pnode.cotangent + gp
            walked.append(node)
    except BaseException:
        for _, t in heap:  # an error part-way: leave no pending cotangent behind
            t._node.cotangent = None
        raise
    if not retain_graph:
        for node in walked:
            node.parents = node.params = None
    with _delivery:
        for t, g in retained:
            _deliver(t, g, captured, delivered)
        for leaf, g in leaf_grads.values():
            _deliver(leaf, g, captured, delivered)


# NOTE: one lock for every delivery, as PyTorch locks a leaf's accumulation: backward on two
# threads into one shared parameter lost about 5% of the additions without it.
_delivery = threading.Lock()


def _freed(node):
    raise BackwardError(
        f"backward through the graph a second time: the graph behind this tensor (made by "
        f"{node.prim.__name__}) was freed by the first backward(); pass retain_graph=True to "
        f"the first backward() to keep it"
    )


def _tensor_vjp(prim, g, y, parents, params, plain):
    """Call a VJP that takes Tensors (a user's rule, or one without ``array_cotangents``),
    checking what a user's rule returns; in a plain backward, arrays in and arrays out."""
    grads = prim.vjp(constant(g) if plain else g, y, *parents, **params)
    if not prim.builtin:
        if not isinstance(grads, tuple | list) or len(grads) != len(parents):
            _wrong_count(prim, grads, parents)
        for p, gp in zip(parents, grads):
            if gp is not None and np.shape(gp) != p.data.shape:
                _wrong_cotangent(prim, p, gp)
    if plain:
        return tuple(gp.data if isinstance(gp, Tensor) else gp for gp in grads)
    return grads


def _wrong_count(prim, grads, parents):
    got = f"{len(grads)} values" if isinstance(grads, tuple | list) else type(grads).__name__
    raise BackwardError(
        f"{prim.__name__}.vjp returned {got} for {len(parents)} inputs; a vjp must return a "
        f"tuple with one cotangent (or None) per input, e.g. ``return (g * 2,)`` for one input"
    )


def _wrong_cotangent(prim, x, g):
    raise BackwardError(
        f"{prim.__name__}.vjp returned a cotangent of shape {np.shape(g)} for an input of shape "
        f"{x.shape}; a vjp must return one cotangent per input, each of that input's shape"
    )


def _deliver(t, g, captured, delivered):
    """Hand a finished cotangent to its tensor: captured (``grad()``) or into ``.grad``, in the
    tensor's own dtype (as PyTorch: a float32 parameter used with float64 data gets a float32
    gradient, and a real one the real part of a complex cotangent)."""
    if g.dtype != t.data.dtype:
        g = _cast(g, t.data.dtype)
    if captured is not None:
        if id(t) in captured:
            captured[id(t)] = _owned(g, delivered)
    else:
        t.grad = _owned(g, delivered) if t.grad is None else t.grad + g


def _owned(g, delivered: set) -> Tensor:
    """``g`` as a Tensor, copied if it is not safe to hand out: a gradient is the user's to
    change in place (clipping does), so it must be a writable array of its own, not a read-only
    broadcast view or a cotangent already handed to another tensor (``Add`` passes one
    cotangent to both inputs). ``g`` is an array in a plain backward, else a Tensor."""
    if not isinstance(g, Tensor):
        if id(g) in delivered or not _own_writable(g):
            g = np.array(g)
        delivered.add(id(g))
        return constant(g)
    if not g.requires_grad and (id(g) in delivered or not _own_writable(g.data)):
        copy = constant(np.array(g.data))
        copy.tangent = g.tangent  # forward-over-reverse: the tangent of the gradient is H v
        g = copy
    delivered.add(id(g))
    return g


def _cast(g, dtype):
    if isinstance(g, Tensor):
        return g.astype(dtype)  # recorded, so that create_graph differentiates through it
    if g.dtype.kind == "c" and dtype.kind != "c":
        g = g.real
    return np.asarray(g, dtype=dtype)


def _own_writable(data) -> bool:
    return type(data) is np.ndarray and data.flags.writeable and data.flags.owndata


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
