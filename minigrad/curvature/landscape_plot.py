"""Pictures of a ``Landscape``: a line, a contour map or a surface, with the trajectory on top
(matplotlib, imported when a picture is drawn)."""

from __future__ import annotations

import numpy as np

from ..errors import MinigradError
from .loss_operator import check

__all__ = ["plot_landscape"]

KINDS = {1: ("line",), 2: ("contour", "surface")}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise MinigradError(
            "Landscape.plot needs matplotlib: pip install matplotlib (or "
            "pip install 'minigrad[examples]')"
        ) from None
    return plt


def _levels(values: np.ndarray, count: int = 30) -> np.ndarray:
    """Contour levels spaced geometrically above the minimum, so the basin's shape shows as
    well as its walls; capped where the loss blows up (far walls would take every level)."""
    finite = values[np.isfinite(values)]
    low = finite.min()
    high = min(finite.max(), low + 20 * (np.median(finite) - low) + 1e-12)
    return low + (high - low) * (np.geomspace(1, 101, count) - 1) / 100


def _label(landscape, axis: int) -> str:
    ratio = landscape.info.get("explained_variance_ratio")
    text = f"direction {axis + 1} ({landscape.kind})"
    if ratio is not None:
        text += f", {100 * ratio[axis]:.1f}% of the variance"
    return text


def plot_landscape(landscape, kind: str | None = None, ax=None, cmap: str = "viridis",
                   levels=None):  # fmt: skip
    """Draw ``landscape`` (see ``Landscape.plot``) and return the axes."""
    dims = landscape.dims
    kind = kind or KINDS[dims][0]
    check(
        kind in KINDS[dims],
        f"Landscape.plot: a {dims}-D landscape is drawn as "
        f"{' or '.join(repr(k) for k in KINDS[dims])}; got kind={kind!r}",
    )
    plt = _pyplot()
    values = np.asarray(landscape.values)
    path, path_values = landscape.trajectory, landscape.trajectory_values
    if kind == "line":
        ax = ax or plt.figure().add_subplot()
        ax.plot(landscape.coordinates[0], values, color="tab:blue", label="loss")
        ax.axvline(0.0, color="0.7", lw=0.8)
        if path is not None:
            ax.plot(path[:, 0], path_values, "o-", color="tab:red", ms=3, label="trajectory")
            ax.legend(fontsize="small")
        ax.set_xlabel(_label(landscape, 0))
        ax.set_ylabel("loss")
        return ax
    x, y = np.meshgrid(*landscape.coordinates, indexing="ij")
    levels = _levels(values) if levels is None else levels
    if kind == "contour":
        ax = ax or plt.figure().add_subplot()
        filled = ax.contourf(x, y, np.clip(values, None, levels[-1]), levels=levels, cmap=cmap)
        ax.contour(x, y, values, levels=levels, colors="k", linewidths=0.3, alpha=0.5)
        ax.figure.colorbar(filled, ax=ax, label="loss")
        ax.plot([0], [0], "*", color="white", ms=10, mec="k", label="weights")
        ax.set_aspect("equal")
    else:
        if ax is None:
            ax = plt.figure().add_subplot(projection="3d")
        check(
            hasattr(ax, "plot_surface"),
            "Landscape.plot: kind='surface' needs a 3-D axes "
            "(fig.add_subplot(projection='3d')), or leave ax out",
        )
        clipped = np.clip(values, None, levels[-1])
        ax.plot_surface(x, y, clipped, cmap=cmap, rstride=1, cstride=1, linewidth=0,
                        antialiased=True, alpha=0.85)  # fmt: skip
        ax.set_zlabel("loss")
    if path is not None:
        if kind == "contour":
            ax.plot(path[:, 0], path[:, 1], "o-", color="tab:red", ms=3, lw=1.2,
                    label="trajectory")  # fmt: skip
            ax.plot(path[0, 0], path[0, 1], "s", color="tab:red", ms=6)
        else:
            ax.plot(path[:, 0], path[:, 1], path_values, "o-", color="tab:red", ms=3, lw=1.5,
                    zorder=10)  # fmt: skip
    if kind == "contour":
        ax.legend(fontsize="small", loc="upper right")
    ax.set_xlabel(_label(landscape, 0))
    ax.set_ylabel(_label(landscape, 1))
    return ax
