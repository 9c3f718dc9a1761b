"""The picture of a Hessian's spectral density: ``plot_spectral_density`` (needs matplotlib)."""

from __future__ import annotations

import numpy as np

from .loss_operator import CurvatureError

__all__ = ["plot_spectral_density"]


def plot_spectral_density(density, ax=None, exact=None, log: bool = True):
    """Draw a ``SpectralDensity`` on ``ax`` (default: the current axes) and return ``ax``.

    The density is a line (log scale by default: a Hessian's few outliers carry mass ``1 / n``
    each next to a bulk near zero, invisible on a linear scale). ``exact`` (all eigenvalues,
    e.g. ``exact_hessian_spectrum``): drawn as a density histogram (so its area is 1, as the
    density's) and a rug of ticks at the eigenvalues, to compare shapes and outliers.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise CurvatureError(
            "SpectralDensity.plot needs matplotlib: pip install matplotlib (or "
            "pip install 'minigrad[examples]')"
        ) from None
    ax = ax or plt.gca()
    grid, values = density.grid, density.density
    if exact is not None:
        exact = np.sort(np.asarray(exact, dtype=np.float64).ravel())
        bins = np.linspace(min(grid[0], exact[0]), max(grid[-1], exact[-1]), 101)
        ax.hist(
            exact, bins=bins, density=True, color="0.8", label=f"exact ({len(exact)} eigenvalues)"
        )
    ax.plot(grid, values, color="C0", lw=1.5,
            label=f"Lanczos quadrature ({len(density.nodes)} runs x "
                  f"{density.nodes.shape[1]} steps, sigma={density.sigma:.2g})")  # fmt: skip
    if log:
        ax.set_yscale("log")
        ax.set_ylim(max(values.max(), 1e-300) * 1e-7, values.max() * 30)  # room for the legend
    if exact is not None:
        ax.plot(exact, np.zeros_like(exact) if not log else np.full_like(exact, ax.get_ylim()[0]),
                "|", color="C3", ms=12, alpha=0.6, label="exact eigenvalues (rug)")  # fmt: skip
    ax.set_xlabel("eigenvalue of the Hessian")
    ax.set_ylabel("density" + (" (log scale)" if log else ""))
    ax.legend(fontsize="small", loc="upper right")
    return ax
