"""The labels of the layer drawing: Graphviz HTML-like tables (a bold heading, then small rows),
each on one line of DOT."""

from __future__ import annotations

from html import escape

import numpy as np

from .thumbnail import is_image, thumbnail

MOST_PARAMETERS = 12  # rows of parameters in a node; more are counted in one row
SMALL = 9  # points, the rows under a heading
GREY = "#495057"


def table(heading: str, rows: list, extra: str = "") -> str:
    """A label: ``heading`` in bold, then ``rows`` (each a list of cells: text, or None for
    an empty cell), then ``extra`` (raw HTML, e.g. a thumbnail)."""
    width = max((len(r) for r in rows), default=1)
    html = ['<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">']
    html.append(f'<TR><TD COLSPAN="{width}"><B>{escape(heading)}</B></TD></TR>')
    for row in rows:
        cells = []
        for i, text in enumerate(row):
            last = i == len(row) - 1 and len(row) < width
            span = f' COLSPAN="{width - len(row) + 1}"' if last else ""
            align = "CENTER" if len(row) == 1 else "LEFT"
            body = "" if text is None else f'<FONT POINT-SIZE="{SMALL}">{escape(text)}</FONT>'
            cells.append(f'<TD ALIGN="{align}"{span}>{body}</TD>')
        html.append(f"<TR>{''.join(cells)}</TR>")
    if extra:
        html.append(f'<TR><TD COLSPAN="{width}">{extra}</TD></TR>')
    html.append("</TABLE>>")
    return "".join(html)


def shape_text(shape) -> str:
    return str(tuple(int(n) for n in shape))


def flow(inputs: list, outputs: list) -> list:
    """The row ``(4, 8) → (4, 16)``: distinct shapes in, distinct shapes out."""
    shown = [", ".join(_first(inputs)), ", ".join(_first(outputs))]
    return [f"{shown[0]} → {shown[1]}".strip()] if shown[1] or shown[0] else []


def _first(shapes: list, most: int = 2) -> list:
    distinct = list(dict.fromkeys(shape_text(s) for s in shapes))
    return distinct[:most] + (["…"] if len(distinct) > most else [])


def grad_text(norms: list) -> str | None:
    """``|grad| 0.123`` (3 significant digits), one norm per copy of a folded parameter (the
    smallest and largest when there are more than 4); None before backward."""
    norms = [n for n in norms if n is not None]
    if not norms:
        return None
    if len(norms) > 4:
        return f"|grad| {min(norms):.3g} … {max(norms):.3g}"
    return "|grad| " + " · ".join(f"{n:.3g}" for n in norms)


def parameter_rows(params: list) -> list:
    """``[name, shape, |grad|]`` rows for ``(name, shape, norms)``, at most MOST_PARAMETERS."""
    rows = [[name, shape_text(shape), grad_text(norms)] for name, shape, norms in params]
    if len(rows) > MOST_PARAMETERS:
        more = len(rows) - MOST_PARAMETERS + 1
        rows = rows[: MOST_PARAMETERS - 1] + [[f"… {more} more parameters"]]
    return [[c for c in r if c is not None] if r[-1] is None else r for r in rows]


def data_rows(t, values, show_data: bool) -> list:
    rows = [[f"{shape_text(t.shape)} {t.dtype}"]]
    if show_data or values.size <= 6:
        rows.append([values.data])
    return rows


def constant_kind(data: np.ndarray) -> str | None:
    """Whether a constant is "zeros" or "ones" (an initial state), or a "mask":
    booleans, 0 and -inf (an attention mask), or 0 and one number above 1 (dropout's kept
    values, scaled): what a layer makes for itself rather than data. None otherwise."""
    if data.size == 0 or data.dtype.kind not in "biuf":
        return None
    if data.dtype.kind == "b":
        return "mask"
    first = data.flat[0]
    if first in (0, 1) and (data == first).all():
        return "zeros" if first == 0 else "ones"
    if data.dtype.kind != "f" or not (data == 0).any():
        return None
    other = data[data != 0]
    if np.isneginf(other).all() or (other[0] > 1 and (other == other[0]).all()):
        return "mask"
    return None


def input_label(t, values, count: int, show_data: bool, name: str | None) -> str:
    """A constant input: its name (or "input", "zeros"), how many, shape, a thumbnail."""
    heading = name or constant_kind(t.data) or "input"
    if count > 1:
        heading = f"{heading} ×{count}"
    picture = "" if constant_kind(t.data) or not is_image(tuple(t.shape)) else thumbnail(t.data)
    return table(heading, data_rows(t, values, show_data), picture)


def output_label(t, values, name: str | None) -> str:
    """What was drawn: its name (a scalar without one is the loss), value or shape."""
    scalar = values.size == 1
    heading = name or ("loss" if scalar else "output")
    if scalar and t.dtype.kind in "fiucb":
        return table(heading, [[f"{float(np.real(t.data.reshape(-1)[0])):.4g}"]])
    return table(heading, [[f"{shape_text(t.shape)} {t.dtype}"]])


def operation_label(name: str, count: int, shape) -> str:
    return table(name if count == 1 else f"{name} ×{count}", [[f"→ {shape_text(shape)}"]])
