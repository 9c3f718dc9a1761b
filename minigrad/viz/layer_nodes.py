"""How the nodes of the layer drawing look: their labels (a layer's heading, shapes and
parameters with their gradients' norms; inputs, outputs, operations) and whether they hold NaN
or Inf. Mixed into the drawing's builder, whose attributes it reads."""

from __future__ import annotations

import numpy as np

from ..nn.labels import layer_label
from . import layer_labels as labels
from .recording import shown_values, values_of


class NodeLooks:
    """Labels and bad values of the nodes of ``_Builder`` (see layer_drawing)."""

    def label(self, node: str, count: int) -> str:
        kind, what = self.kind[node], self.what[node]
        flow = labels.flow(self.shapes_in.get(node, []), self.shapes_out.get(node, []))
        if kind in ("layer", "fold"):
            rows = ([flow] if flow else []) + labels.parameter_rows(self.parameters(what))
            return labels.table(self.heading(what), rows)
        if kind == "op":
            tid = what.ops[0]
            return labels.operation_label(
                self.snap.ops[tid][0], count, self.snap.tensors[tid].shape
            )
        t, name = what
        if isinstance(t, np.ndarray):  # indices or labels given as an array
            return labels.table(name if count == 1 else f"{name} ×{count}",
                                [[f"{labels.shape_text(t.shape)} {t.dtype}"]])  # fmt: skip
        values = shown_values(self.snap, id(t)) if id(t) in self.snap.tensors else values_of(t)
        if kind == "output":
            return labels.output_label(t, values, name)
        if kind == "param":
            norm = labels.grad_text([values.grad_norm] if self.options["show_grad"] else [])
            rows = [[labels.shape_text(t.shape)]] + ([[norm]] if norm else [])
            return labels.table(name or "requires grad", rows)
        return labels.input_label(t, values, count, self.options["show_data"], name)

    def heading(self, unit) -> str:
        tree = self.tree
        if unit.kind == "layer":
            calls = f" ×{unit.calls} calls" if unit.calls > 1 else ""
            return tree.label(unit.path) + calls
        first, last = unit.paths[0], unit.paths[-1]
        kind = f"{layer_label(tree.module[first])} ×{len(unit.paths)}"
        if tree.is_top(first):  # found without model=: named by class alone
            return kind
        head, _, start = first.rpartition(".")
        end = last.rpartition(".")[2]
        same = last.rpartition(".")[0] == head and start.isdigit() and end.isdigit()
        span = f"{head + '.' if head else ''}{start}–{end}" if same else f"{first}–{last}"
        return f"{span}: {kind}"

    def parameters(self, unit) -> list:
        """(name, shape, gradient norms) of the unit's parameters, one per copy when folded."""
        rows: dict = {}
        for path in unit.paths:
            for name, p in self.tree.parameters(path):
                norm = None
                if self.options["show_grad"]:
                    norm = (shown_values(self.snap, id(p)).grad_norm if id(p) in self.snap.tensors
                            else _norm(p.grad))  # fmt: skip
                rows.setdefault(name, (tuple(p.shape), []))[1].append(norm)
        return [(name, shape, norms) for name, (shape, norms) in rows.items()]

    def bad(self, node: str) -> bool:
        """Whether what ``node`` stands for holds NaN or Inf (its gradients too, if shown): a
        layer in what it passes on or in its parameters (inside, attention scores may hold
        -inf where masked); an input, NaN (a mask holds -inf)."""
        what, show_grad = self.what[node], self.options["show_grad"]
        if self.kind[node] == "input":
            data = data_of(what[0])
            return data.dtype.kind in "fc" and bool(np.isnan(data).any())
        if isinstance(what, tuple):
            tensors = [what[0]]
        else:
            tensors = [self.snap.tensors[tid] for tid in what.ops if tid in self.leaving]
            tensors += [p for path in what.paths for _, p in self.tree.parameters(path)]
        for t in tensors:
            kept = self.snap.values.get(id(t))
            if kept is not None:
                if kept.bad or (show_grad and kept.bad_grad):
                    return True
            elif _holds_bad(t.data) or (
                show_grad and t.grad is not None and _holds_bad(t.grad.data)
            ):
                return True
        return False


def data_of(t) -> np.ndarray:
    """The array of a Tensor, or the array itself."""
    return t if isinstance(t, np.ndarray) else t.data


def _norm(grad) -> float | None:
    return None if grad is None else float(np.linalg.norm(grad.data.ravel()))


def _holds_bad(data: np.ndarray) -> bool:
    return data.dtype.kind in "fc" and not np.isfinite(data).all()
