"""The reverse pass: walk the recorded nodes backwards, from a root to the leaves.

``walk`` hands each node's cotangent to its primitive's VJP rule and adds the results to the
parents' cotangents, newest node first (a heap on each node's creation stamp, no recursion).
It is the engine's half of backward: it moves cotangents and never makes a Tensor. What a
cotangent is (an ndarray in a plain backward, a Tensor when the backward pass is recorded) and
what happens to the finished ones (``.grad``, or returned) is decided by its caller,
``autograd.py``. ``toposort`` lists a graph in order, for the tools that inspect it.
"""

from __future__ import annotations

import operator
from heapq import heappop, heappush

import numpy as np

from . import anomaly, autodiff
from .autodiff import changed_at, mode
from .errors import BackwardError


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
        if node.params is None:
            freed(node)
        inner.append(t)
        for p in node.parents:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    inner.sort(key=_creation_order)
    return leaves + inner


_creation_order = operator.attrgetter("_node.seq")


# ----- cotangents known on a slice, and buffers they accumulate into -----------------------------


class Pending:
    """A cotangent that the walk holds in a form of its own, until a rule needs the array:

    - a slice (``index`` given): zero but on ``index``, what ``x[index]`` sends back to ``x``,
      kept as the slice's values. A loop that reads ``x[t]`` step by step would otherwise build
      one array of ``x``'s whole shape per step (quadratic in the steps);
    - a buffer (``index`` None): a dense array that the walk made and nothing else holds, so
      further cotangents are added into it in place.
    """

    __slots__ = ("data", "index", "shape", "basic")

    def __init__(self, data, index: tuple | None = None, shape: tuple = (), basic: bool = True):
        self.data, self.index, self.shape, self.basic = data, index, shape, basic

    def buffer(self) -> Pending:
        """This cotangent as a dense buffer the walk owns (itself, if it is one)."""
        if self.index is None:
            return self
        out = np.zeros(self.shape, self.data.dtype)
        self.add_slice_to(out)
        return Pending(out)

    def add_slice_to(self, out) -> None:
        if self.basic:
            out[self.index] += self.data  # a basic index names each element once
        else:
            np.add.at(out, self.index, self.data)  # repeated positions accumulate


def accumulate(pending, g):
    """``pending + g`` for ndarray cotangents (either may be ``Pending``), adding in place into
    a buffer that the walk owns."""
    if type(pending) is not Pending:
        if type(g) is not Pending:
            # A new array, which the walk now owns (asarray: 0-d sums come back as scalars).
            return Pending(np.asarray(pending + g))
        pending, g = g, pending  # the slice or buffer first; addition commutes
    pending = pending.buffer()
    out = pending.data
    values = g.data if type(g) is Pending else g
    wider = np.result_type(out, values)
    if wider != out.dtype:
        pending.data = out = out.astype(wider)
    if type(g) is Pending and g.index is not None:
        g.add_slice_to(out)
    elif np.shape(values) == out.shape:
        out += values
    else:
        pending.data = np.asarray(out + values)
    return pending


def walk(root, cotangent, form, retain_graph: bool, wanted: set | None = None) -> list:
    """Walk the graph behind ``root`` from the newest node to the oldest, starting from its
    ``cotangent``; return ``(tensor, cotangent)`` for each tensor whose cotangent is finished
    and asked for: with ``wanted`` (a set of ids), those tensors; without it, every leaf that
    requires grad and every inner tensor marked ``retain_grad``.

    ``form`` says what a cotangent is in this pass (see ``autograd.py``): a built-in primitive's
    rule is called with the namespace ``form.xp`` it computes in; a user's rule goes through
    ``form.user_vjp(prim, g, y, parents, params)``; a tensor's gradient hooks, once its cotangent
    is complete, through ``form.after_hooks(hooks, g)``; a second cotangent for one tensor is
    added by ``form.accumulate``. This loop is backward's hot path: keep it short.

    The order is a max-heap on ``Node.seq``. A tensor enters it when its first cotangent arrives
    (the cotangent waits on its node, ``Node.cotangent``) and leaves it only after every node
    made later, so after every tensor made from it: its cotangent is complete by then. There is
    no separate sort, and nodes that no cotangent reaches are not visited.

    Without ``retain_graph`` the walked nodes are freed at the end (see ``free``).

    Nothing is freed until the walk has finished, and nothing is handed out before: so a walk
    that fails part-way (a user's rule raises) leaves the graph as it was, ready for a retry.
    """
    checking = mode().detect_anomaly
    xp, user_vjp, add = form.xp, form.user_vjp, form.accumulate
    leaf_cotangents = {}  # id -> (leaf, cotangent)
    finished = []  # (inner tensor, cotangent) asked for
    walked = []  # the tensors whose nodes to free once the walk has finished
    heap = []
    if root._node is None:
        leaf_cotangents[id(root)] = (root, cotangent)
    else:
        root._node.cotangent = cotangent
        heap.append((-root._node.seq, root))
    try:
        while heap:
            t = heappop(heap)[1]
            node = t._node
            g = node.cotangent
            if type(g) is Pending:
                g = g.buffer().data
            node.cotangent = None
            params = node.params
            if params is None:
                freed(node)
            parents = node.parents
            hooks = t._hooks
            if hooks is not None:
                g = form.after_hooks(hooks, g)
            if (hooks is not None and hooks.retain) if wanted is None else id(t) in wanted:
                finished.append((t, g))
            if autodiff.last_inplace > node.seq:
                _check_versions(node, t)
            prim = node.prim
            if not prim.builtin:
                parent_grads = user_vjp(prim, g, t, parents, params)
            elif params:
                parent_grads = prim.vjp(g, t, *parents, xp=xp, **params)
            else:
                parent_grads = prim.vjp(g, t, *parents, xp=xp)
            if checking:
                anomaly.check_cotangents(node, parents, parent_grads)
            for p, gp in zip(parents, parent_grads):
                if gp is not None and p.requires_grad:
                    pnode = p._node
                    if pnode is None:
                        prev = leaf_cotangents.get(id(p))
                        leaf_cotangents[id(p)] = (p, gp) if prev is None else (p, add(prev[1], gp))
                    elif pnode.cotangent is None:
                        pnode.cotangent = gp
                        heappush(heap, (-pnode.seq, p))
                    else:
                        pnode.cotangent = add(pnode.cotangent, gp)
            walked.append(t)
    except BaseException:
        for _, t in heap:  # an error part-way: leave no pending cotangent behind
            t._node.cotangent = None
        raise
    if not retain_graph:
        free(walked)
    for key, (leaf, g) in leaf_cotangents.items():
        if wanted is None or key in wanted:
            if type(g) is Pending:
                g = g.buffer().data
            hooks = leaf._hooks
            finished.append((leaf, g if hooks is None else form.after_hooks(hooks, g)))
    return finished


def free(walked: list) -> None:
    """Free the values the nodes of the ``walked`` tensors hold, and keep the graph's shape for
    drawing it afterwards, as PyTorch's graph of nodes survives backward for torchviz. A freed
    node's ``params`` is None (the mark of a freed node) and ``output`` is the shape, dtype and
    name of the tensor it made; among its ``parents``, each tensor a freed node made is replaced
    by that node, so the tensor and its values can go. Leaves stay, and tensors that
    ``retain_grad``, whose owners hold them anyway.

    Measured (callgrind, a chain of operations on 16 numbers): 7.6% more instructions per
    operation, forward and backward, about 0.25 µs per node; too little to see in a small MLP's
    training step. A stand-in tensor made here for each freed tensor cost four times as much:
    drawing makes those (``viz.outlines``).

    NOTE: nodes with the same outline share one tuple. A new tuple per node outlives the walk,
    and on a deep graph those made CPython start a collection over the whole graph here (0.2-0.3
    s of a 100,000-op chain's 1 s, in a full collection); shared, they leave the collector
    nothing new to count."""
    outlines = {}
    for t in reversed(walked):  # oldest first: a node's parents are freed before it
        node = t._node
        node.params = None
        data = t.data
        outline = (data.shape, data.dtype, t.name)
        node.output = outlines.setdefault(outline, outline)
        kept = []
        for p in node.parents:  # a loop, not a comprehension: a third of the cost in 3.11
            made, hooks = p._node, p._hooks  # (p.retains_grad, a property, costs 1.5% more)
            if made is not None and made.params is None and (hooks is None or not hooks.retain):
                p = made
            kept.append(p)
        node.parents = tuple(kept)


def freed(node):
    """Refuse to walk a node whose graph an earlier backward freed, saying how to keep it."""
    raise BackwardError(
        f"backward through the graph a second time: the graph behind this tensor (made by "
        f"{node.prim.__name__}) was freed by the first backward(); pass retain_graph=True to "
        f"the first backward() to keep it"
    )


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
