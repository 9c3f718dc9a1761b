"""A small grayscale picture of an image-like input, inside a node of a drawing.

NOTE: the picture is a Graphviz HTML-like label, a table whose cells are coloured with
``BGCOLOR``: it needs no image file (``<IMG>`` would need one on disk, next to the DOT source,
and SVG output would only link to it), and dot draws it the same in SVG, PNG and PDF.
"""

from __future__ import annotations

import math

import numpy as np

MOST_CELLS = 28  # a side of more pixels than this is averaged down to this many cells
SIDE = 56  # points (75 pixels at 96 DPI) on the longer side of the picture


def is_image(shape: tuple) -> bool:
    """Image-like: at least 3 axes (a batch of images) and the last two 8 or more long."""
    return len(shape) >= 3 and shape[-1] >= 8 and shape[-2] >= 8


def thumbnail(data: np.ndarray) -> str:
    """An HTML-like table (for a label) picturing the first sample of ``data`` (N, ..., H, W),
    its other axes (channels) averaged, dark for the smallest value, white for the largest."""
    image = np.real(np.asarray(data[0], dtype=complex if data.dtype.kind == "c" else float))
    while image.ndim > 2:
        image = image.mean(axis=0)
    down, across = (math.ceil(n / MOST_CELLS) for n in image.shape)  # pixels per cell
    rows, cols = image.shape[0] // down, image.shape[1] // across
    image = image[: rows * down, : cols * across].reshape(rows, down, cols, across)
    image = image.mean(axis=(1, 3))
    finite = image[np.isfinite(image)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    scale = 255 / (high - low) if high > low else 0.0
    cell = max(2, SIDE // max(rows, cols))
    # FIXEDSIZE on the table too: in a wider cell dot would otherwise spread the cells apart.
    html = [f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" FIXEDSIZE="TRUE" '
            f'WIDTH="{cell * cols}" HEIGHT="{cell * rows}">']  # fmt: skip
    for row in image:
        html.append("<TR>")
        for value in row:
            if not np.isfinite(value):
                color = "#dc3545"  # NaN or Inf: red
            else:
                level = int(round((value - low) * scale)) if scale else 128
                color = f"#{level:02x}{level:02x}{level:02x}"
            html.append(f'<TD BGCOLOR="{color}" WIDTH="{cell}" HEIGHT="{cell}" FIXEDSIZE="TRUE">'
                        "</TD>")  # fmt: skip
        html.append("</TR>")
    html.append("</TABLE>")
    return "".join(html)
