"""Repeats in a recorded graph, for the layer drawing: which modules ran which operations (and
how many times), which sibling modules are identical in structure, and which nodes of a drawing
are copies of one another.

**Identical in structure**: two modules of the same class, with the same parameters (names and
shapes), called the same number of times, whose operations are the same sequence of primitives
(in the order they ran), each made by the same submodule (by relative path), with the same
output shape and dtype, taking its inputs from the same places: the same earlier operation of
the sequence, the same parameter (by relative name), or a tensor from outside of the same shape.

**Calls**: minigrad records the innermost module of each operation, not which call of it ran
the operation, so the calls of a module are counted from what its operations show: the runs of
its operations not interrupted by an operation of the graph made outside it, or, when that is
more, the fewest uses of one of its parameters (each call uses each of its parameters; an
LSTMCell looped over 32 inputs uses its weights 32 times). A module whose every parameter is
used several times in one call is counted as called that many times.
"""

from __future__ import annotations

from collections import Counter


class Structure:
    """The operations of ``snap`` by module path of ``tree``: ``ops_under[path]`` (the module
    and every module inside it, in the order they ran) and ``own_ops[path]`` (made by the
    module's own ``forward``; ``own_ops[None]``: outside every module)."""

    def __init__(self, snap, tree):
        self.snap, self.tree = snap, tree
        self.order = sorted(snap.ops, key=lambda tid: snap.seq.get(tid, 0))
        self.rank = {tid: i for i, tid in enumerate(self.order)}
        self.op_path = {tid: tree.of(snap.ops[tid][2]) for tid in self.order}
        self.owners = tree.direct_parameters()  # id(parameter) -> (module path, name)
        self.ops_under: dict = {}
        self.own_ops: dict = {}
        self.runs: Counter = Counter()
        self.uses: Counter = Counter()  # (path, id(parameter)) -> its operations using it
        self._around: dict = {}
        self._signatures: dict = {}
        last: dict = {}
        for i, tid in enumerate(self.order):
            path = self.op_path[tid]
            self.own_ops.setdefault(path, []).append(tid)
            chain = self.around(path)
            for a in chain:
                self.ops_under.setdefault(a, []).append(tid)
                if last.get(a) != i - 1:
                    self.runs[a] += 1
                last[a] = i
            for pid in {id(p) for p in snap.ops[tid][1] if id(p) in self.owners}:
                holders = self.around(self.owners[pid][0])
                for a in chain:
                    if a in holders:
                        self.uses[a, pid] += 1

    def around(self, path) -> tuple:
        """``path`` and the modules around it (cached)."""
        found = self._around.get(path)
        if found is None:
            found = self._around[path] = tuple(self.tree.ancestors(path))
        return found

    def calls(self, path: str) -> int:
        """How many times module ``path`` ran (see the module's docstring)."""
        used = [n for p in self.tree.module[path].parameters() if (n := self.uses[path, id(p)])]
        return max(self.runs[path], min(used, default=0))

    def signature(self, path: str) -> tuple:
        """What two modules identical in structure have in common (see the module docstring)."""
        found = self._signatures.get(path)
        if found is not None:
            return found
        snap, module = self.snap, self.tree.module[path]
        ops = self.ops_under[path]
        index = {tid: i for i, tid in enumerate(ops)}
        start = len(path) + 1 if path else 0
        entries = []
        for tid in ops:
            name, parents, _ = snap.ops[tid]
            t = snap.tensors[tid]
            inputs = tuple(self._source(p, index, path, start) for p in parents)
            scope = (self.op_path[tid] or "")[start:]
            entries.append((name, scope, tuple(t.shape), str(t.dtype), inputs))
        params = tuple((n, tuple(p.shape)) for n, p in module.named_parameters())
        found = (type(module), params, self.calls(path), tuple(entries))
        self._signatures[path] = found
        return found

    def _source(self, p, index: dict, path: str, start: int):
        if id(p) in index:
            return index[id(p)]
        owner = self.owners.get(id(p))
        if owner is not None and path in self.around(owner[0]):
            inside = owner[0][start:]
            return ("param", f"{inside}.{owner[1]}" if inside else owner[1])
        return ("outside", tuple(p.shape), str(p.dtype))

    def feeds(self, first: str, second: str) -> bool:
        """Whether an operation of module ``second`` uses (through any path) a tensor that an
        operation of module ``first`` made."""
        ops = self.snap.ops
        made = set(self.ops_under[first])
        start = min(self.rank[t] for t in made)
        inside = set(self.ops_under[second])
        stack = [id(p) for t in inside for p in ops[t][1] if id(p) in ops and id(p) not in inside]
        seen: set = set()
        while stack:
            tid = stack.pop()
            if tid in made:
                return True
            if tid in seen or self.rank[tid] < start:
                continue
            seen.add(tid)
            stack.extend(id(p) for p in ops[tid][1] if id(p) in ops)
        return False

    def repeats(self, kids: list, free: set) -> list:
        """Runs (of 2 or more) of consecutive ``kids`` in ``free`` that are identical in
        structure and each feed the next."""
        runs, current = [], []
        for kid in kids:
            if (kid in free and current and self.signature(kid) == self.signature(current[-1])
                    and self.feeds(current[-1], kid)):  # fmt: skip
                current.append(kid)
                continue
            if len(current) >= 2:
                runs.append(current)
            current = [kid] if kid in free else []
        if len(current) >= 2:
            runs.append(current)
        return runs


def merge_copies(keys: dict, edges: set) -> dict:
    """Nodes that are copies of one another: the same ``keys[node]`` (None: never merged) and
    the same nodes before and after them. Returns node -> the node it is merged into (the first
    of its copies); merging can make more copies, so it repeats until nothing changes."""
    into = {node: node for node in keys}

    def find(node):
        while into[node] != node:
            into[node] = into[into[node]]
            node = into[node]
        return node

    while True:
        ins: dict = {}
        outs: dict = {}
        for a, b in edges:
            a, b = find(a), find(b)
            if a != b:
                outs.setdefault(a, set()).add(b)
                ins.setdefault(b, set()).add(a)
        groups: dict = {}
        for node in keys:
            if find(node) == node and keys[node] is not None:
                sides = (keys[node], frozenset(ins.get(node, ())), frozenset(outs.get(node, ())))
                groups.setdefault(sides, []).append(node)
        changed = False
        for copies in groups.values():
            for node in copies[1:]:
                into[node] = copies[0]
                changed = True
        if not changed:
            return {node: find(node) for node in keys}
