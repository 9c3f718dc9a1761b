"""How a ``Summary`` (``summarize.py``) is shown: an aligned text table as torchinfo prints it, an
HTML table for Jupyter, and the input a layer takes (for the error of a forward that failed)."""

from __future__ import annotations

import html

MB = 1e6  # bytes in torchinfo's "(MB)"
RIGHT = {"Param #", "Calls"}  # the columns of numbers, aligned right


def shape_text(shape) -> str:
    """``(64, 16, 8, 8)``; an output made of several tensors: their shapes after one another,
    ``(4, 32, 64), ((2, 4, 64), (2, 4, 64))`` for an LSTM's (output, (h, c)); ``--`` for none."""
    if shape is None:
        return "--"
    if all(isinstance(n, int) for n in shape):
        return str(shape)
    return ", ".join(_nested(s) for s in shape)


def _nested(shape) -> str:
    if shape is None:
        return "None"
    if all(isinstance(n, int) for n in shape):
        return str(shape)
    return "(" + ", ".join(_nested(s) for s in shape) + ")"


# ----- what a layer takes ------------------------------------------------------------------------


def expected_input(module, example: bool = False) -> str | None:
    """The input ``module`` takes, as ``(N, 1, H, W)`` (None for a module this does not know);
    with ``example``, an ``input_shape=`` for a model whose first layer it is."""
    kind = type(module).__name__
    dims, note = None, ""
    if hasattr(module, "in_channels") and hasattr(module, "kernel_size"):
        spatial = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[len(module.kernel_size)]
        dims = ("N", module.in_channels, *spatial)
    elif hasattr(module, "in_features"):
        dims = ("N", module.in_features)
    elif hasattr(module, "num_embeddings"):
        dims, note = ("N", "L"), ", integer indices: dtypes=[mg.int64]"
    elif hasattr(module, "input_size") and hasattr(module, "num_layers"):
        first = ("N", "L") if module.batch_first else ("L", "N")
        dims = (*first, module.input_size)
    elif hasattr(module, "input_size"):  # a cell
        dims = ("N", module.input_size)
    elif hasattr(module, "embed_dim") or hasattr(module, "self_attn"):
        attention = getattr(module, "self_attn", module)
        first = ("N", "S") if attention.batch_first else ("S", "N")
        dims = (*first, attention.embed_dim)
    elif kind.startswith("BatchNorm") and hasattr(module, "num_features"):
        spatial = {"1d": ("L",), "2d": ("H", "W"), "3d": ("D", "H", "W")}.get(kind[-2:], ())
        dims = ("N", module.num_features, *spatial)
    elif hasattr(module, "normalized_shape"):
        dims = ("*", *module.normalized_shape)
    if dims is None:
        return None
    if not example:
        return "(" + ", ".join(str(d) for d in dims) + ")" + note
    sizes = ["1" if d in ("N", "*") else str(d) for d in dims]
    return f"input_shape=({', '.join(sizes)})" + note.replace(", integer indices:", " with")


# ----- tables ------------------------------------------------------------------------------------


def _columns(summary) -> tuple[list[str], list[list[str]]]:
    """The header and the cells of each row, as text."""
    header = ["Layer (path: type)"]
    if summary.forward_pass:
        header.append("Output Shape")
    header += ["Param #", "Trainable"]
    calls = summary.forward_pass and any(r.calls > 1 for r in summary.rows)
    if calls:
        header.append("Calls")
    names = _tree_names(summary.rows)
    cells = []
    for name, row in zip(names, summary.rows):
        line = [name]
        if summary.forward_pass:
            line.append(shape_text(row.output_shape))
        params = f"{row.params:,}" if row.params else "--"
        if row.shared_params:
            params += f" (+{row.shared_params:,} shared)"
        trainable = row.trainable
        line += [params, "--" if trainable is None else str(trainable).capitalize()]
        if calls:
            line.append(str(row.calls))
        cells.append(line)
    return header, cells


def _tree_names(rows) -> list[str]:
    """Each row's name (its path under its caller's, and its label) behind tree lines."""
    last = {}  # a row's index -> whether it is its parent's last shown child
    for i, row in enumerate(rows):
        last[i] = True
        if row.parent is not None:
            for j in range(i - 1, -1, -1):
                if rows[j].parent == row.parent:
                    last[j] = False
                    break
    names = []
    for i, row in enumerate(rows):
        if row.parent is None:
            names.append(row.label)
            continue
        parent = rows[row.parent]
        path = row.path
        if parent.path and path.startswith(parent.path + "."):
            path = path[len(parent.path) + 1 :]
        lines, above = [], row.parent
        while rows[above].parent is not None:
            lines.append("   " if last[above] else "│  ")
            above = rows[above].parent
        branch = "└─" if last[i] else "├─"
        names.append("".join(reversed(lines)) + branch + f"{path}: {row.label}")
    return names


def _totals(summary) -> list[list[str]]:
    """The footer's blocks of lines: parameter counts, then memory."""
    counts = [
        f"Total params: {summary.total_params:,}",
        f"Trainable params: {summary.trainable_params:,}",
        f"Non-trainable params: {summary.non_trainable_params:,}",
    ]
    memory = []
    if summary.forward_pass:
        memory.append(f"Input size (MB): {summary.input_bytes / MB:.2f}")
        memory.append(f"Output size (MB): {summary.output_bytes / MB:.2f}")
    memory.append(f"Params size (MB): {summary.param_bytes / MB:.2f}")
    if summary.buffer_bytes:
        memory.append(f"Buffers size (MB): {summary.buffer_bytes / MB:.2f}")
    return [counts, memory]


def table_text(summary) -> str:
    """The table as torchinfo prints it: one line per row, columns aligned, totals below."""
    header, cells = _columns(summary)
    widths = [max(len(line[k]) for line in [header, *cells]) for k in range(len(header))]

    def line(values):
        return "  ".join(v.rjust(w) if h in RIGHT else v.ljust(w)
                         for h, v, w in zip(header, values, widths)).rstrip()  # fmt: skip

    rule = "=" * (sum(widths) + 2 * (len(widths) - 1))
    out = [rule, line(header), rule, *(line(c) for c in cells), rule]
    for block in _totals(summary):
        out += [*block, rule]
    return "\n".join(out)


def table_html(summary) -> str:
    """The same table in HTML, for Jupyter: the names indented by depth instead of tree lines."""
    header, cells = _columns(summary)
    head = "".join(f"<th style='text-align:{'left' if k == 0 else 'right'}'>{html.escape(h)}</th>"
                   for k, h in enumerate(header))  # fmt: skip
    body = []
    for row, line in zip(summary.rows, cells):
        name = row.label if row.parent is None else f"{row.path}: {row.label}"
        tds = [f"<td style='text-align:left;padding-left:{0.3 + 1.5 * row.depth:.1f}em'>"
               f"{html.escape(name)}</td>"]  # fmt: skip
        tds += [f"<td style='text-align:right'>{html.escape(v)}</td>" for v in line[1:]]
        body.append("<tr>" + "".join(tds) + "</tr>")
    foot = "<br>".join(html.escape(text) for block in _totals(summary) for text in block)
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p style='font-family:monospace'>{foot}</p>")  # fmt: skip
