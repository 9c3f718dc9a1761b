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
        if node.parents is None:
            freed(node)
        inner.append(t)
        for p in node.parents:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    inner.sort(key=_creation_order)
    return leaves + inner


_creation_order = operator.attrgetter("_node.seq")


def walk(root, cotangent, form, retain_graph: bool, wanted: set | None = None) -> list:
    """Walk the graph behind ``root`` from the newest node to the oldest, starting from its
    ``cotangent``; return ``(tensor, cotangent)`` for each tensor whose cotangent is finished
    and asked for: with ``wanted`` (a set of ids), those tensors; without it, every leaf that
    requires grad and every inner tensor marked ``retain_grad``.

    ``form`` says what a cotangent is in this pass (see ``autograd.py``): a built-in primitive's
    rule is called with the namespace ``form.xp`` it computes in; a user's rule goes through
    ``form.user_vjp(prim, g, y, parents, params)``; a tensor's gradient hooks, once its cotangent
    is complete, through ``form.after_hooks(hooks, g)``. This loop is backward's hot path: keep
    it short.

    The order is a max-heap on ``Node.seq``. A tensor enters it when its first cotangent arrives
    (the cotangent waits on its node, ``Node.cotangent``) and leaves it only after every node
    made later, so after every tensor made from it: its cotangent is complete by then. There is
    no separate sort, and nodes that no cotangent reaches are not visited.

    Nothing is freed until the walk has finished, and nothing is handed out before: so a walk
    that fails part-way (a user's rule raises) leaves the graph as it was, ready for a retry.
    """
    checking = mode().detect_anomaly
    xp, user_vjp = form.xp, form.user_vjp
    leaf_cotangents = {}  # id -> (leaf, cotangent)
    finished = []  # (inner tensor, cotangent) asked for
    walked = []  # the nodes to free once the walk has finished
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
            node.cotangent = None
            parents = node.parents
            if parents is None:
                freed(node)
            hooks = t._hooks
            if hooks is not None:
                g = form.after_hooks(hooks, g)
            if (hooks is not None and hooks.retain) if wanted is None else id(t) in wanted:
                finished.append((t, g))
            if autodiff.last_inplace > node.seq:
                _check_versions(node, t)
            prim = node.prim
            if not prim.builtin:
                parent_grads = user_vjp(prim, g, t, parents, node.params)
            elif node.params:
                parent_grads = prim.vjp(g, t, *parents, xp=xp, **node.params)
            else:
                parent_grads = prim.vjp(g, t, *parents, xp=xp)
            if checking:
                anomaly.check_cotangents(node, parents, parent_grads)
            for p, gp in zip(parents, parent_grads):
                if gp is not None and p.requires_grad:
                    pnode = p._node
                    if pnode is None:
                        prev = leaf_cotangents.get(id(p))
                        leaf_cotangents[id(p)] = (p, gp) if prev is None else (p, prev[1] + gp)
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
    for key, (leaf, g) in leaf_cotangents.items():
        if wanted is None or key in wanted:
            hooks = leaf._hooks
            finished.append((leaf, g if hooks is None else form.after_hooks(hooks, g)))
    return finished


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
