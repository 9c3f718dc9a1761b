"""Seven optimizers from ``mg.optim`` on two 2-D problems, trajectories drawn over the contours.

The problems, each from one starting point with a fixed budget of steps:

- Rosenbrock's function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1), from
  (-1.5, 2), 1000 steps: a curved, narrow valley.
- An ill-conditioned quadratic f(p) = p^T A p / 2 with eigenvalues 1 and 50 (condition number 50)
  and eigenvectors rotated by 30 degrees from the axes, minimum 0 at the origin, from (-4.5, -2),
  100 steps. The rotation matters: per-coordinate step sizes (Adagrad, RMSprop, Adam) would
  largely undo a stretch along the axes, and cannot undo this one.

The optimizers: SGD, SGD with momentum, Nesterov momentum, Adagrad, RMSprop, Adadelta and Adam.
Each one's hyperparameters (in ``HYPERPARAMETERS``, printed in the table) are the best final
loss over a small grid (``grid()``) for that problem and budget; ``--tune`` reruns that search.
Defaults are PyTorch's for everything not stated. With the same budget, momentum (either form)
ends at least 100 times lower than plain SGD on both problems; the script checks it.

It prints a table of final losses per problem and writes ``OUT/optimizers-rosenbrock.png`` and
``OUT/optimizers-quadratic.png``.

Run it with ``python examples/optimizers_compared.py [--out FOLDER] [--tune]``.
"""

from __future__ import annotations

import argparse
import io
import itertools
import pathlib
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import optim  # noqa: E402

# ----- the problems ------------------------------------------------------------------------------


def rosenbrock(p):
    """(1 - x)^2 + 100 (y - x^2)^2 for p = (x, y)."""
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


THETA = np.pi / 6
ROTATION = np.array([[np.cos(THETA), -np.sin(THETA)], [np.sin(THETA), np.cos(THETA)]])
A = ROTATION @ np.diag([1.0, 50.0]) @ ROTATION.T


def quadratic(p):
    """p^T A p / 2, A with eigenvalues 1 and 50, eigenvectors at 30 degrees from the axes.

    Written out in x and y so that it also evaluates over a grid of points, p of shape (2, ...).
    """
    x, y = p[0], p[1]
    return 0.5 * (A[0, 0] * x**2 + 2 * A[0, 1] * x * y + A[1, 1] * y**2)


@dataclass
class Problem:
    name: str
    fn: object
    start: tuple
    steps: int
    view: tuple  # (xmin, xmax, ymin, ymax) of the plot
    levels: np.ndarray  # log-spaced contour levels
    title: str


PROBLEMS = {
    "rosenbrock": Problem("rosenbrock", rosenbrock, (-1.5, 2.0), 1000, (-2.0, 2.0, -1.0, 4.5),
                          np.logspace(-3, 3.5, 14),
                          "Rosenbrock $(1-x)^2 + 100(y-x^2)^2$"),
    "quadratic": Problem("quadratic", quadratic, (-4.5, -2.0), 100, (-5.0, 5.0, -3.5, 3.5),
                         np.logspace(-3, 3, 13),
                         r"quadratic $p^T A p / 2$, eigenvalues 1 and 50, rotated 30$^\circ$"),
}  # fmt: skip

# ----- the optimizers ----------------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": (optim.SGD, {}),
    "momentum": (optim.SGD, {}),
    "Nesterov": (optim.SGD, {"nesterov": True}),
    "Adagrad": (optim.Adagrad, {}),
    "RMSprop": (optim.RMSprop, {}),
    "Adadelta": (optim.Adadelta, {}),
    "Adam": (optim.Adam, {}),
}

# The best final loss over grid() for each problem's budget (found with --tune).
HYPERPARAMETERS = {
    "rosenbrock": {
        "SGD": {"lr": 1.5e-3},
        "momentum": {"lr": 5e-4, "momentum": 0.95},
        "Nesterov": {"lr": 5e-4, "momentum": 0.95},
        "Adagrad": {"lr": 2.0},
        "RMSprop": {"lr": 1e-2},
        "Adadelta": {"lr": 1.0, "rho": 0.95},
        "Adam": {"lr": 1.0, "betas": (0.95, 0.999)},
    },
    "quadratic": {
        "SGD": {"lr": 0.039},
        "momentum": {"lr": 0.03, "momentum": 0.7},
        "Nesterov": {"lr": 0.02, "momentum": 0.8},
        "Adagrad": {"lr": 1.0},
        "RMSprop": {"lr": 0.1},
        "Adadelta": {"lr": 30.0, "rho": 0.9},
        "Adam": {"lr": 1.0, "betas": (0.8, 0.999)},
    },
}

LRS = {
    "rosenbrock": {
        "SGD": (1e-4, 2e-4, 5e-4, 1e-3, 1.5e-3),
        "momentum": (5e-5, 1e-4, 2e-4, 5e-4),
        "Adagrad": (0.3, 1.0, 2.0, 3.0, 5.0),
        "RMSprop": (1e-3, 3e-3, 1e-2, 3e-2),
        "Adadelta": (1.0, 3.0, 10.0, 30.0),
        "Adam": (0.03, 0.1, 0.3, 1.0),
    },
    "quadratic": {
        "SGD": (0.01, 0.02, 0.03, 0.035, 0.039),  # 2 / 50 = 0.04 diverges
        "momentum": (0.005, 0.01, 0.02, 0.03),
        "Adagrad": (0.3, 1.0, 2.0, 3.0, 5.0, 10.0),
        "RMSprop": (0.01, 0.03, 0.1, 0.3, 1.0),
        "Adadelta": (1.0, 10.0, 30.0, 100.0, 300.0),
        "Adam": (0.03, 0.1, 0.3, 1.0),
    },
}


def grid(problem: str, name: str) -> list[dict]:
    """The hyperparameters --tune tries for one optimizer on one problem."""
    lrs = LRS[problem]["momentum" if name == "Nesterov" else name]
    if name in ("momentum", "Nesterov"):
        momenta = (0.8, 0.9, 0.95) if problem == "rosenbrock" else (0.5, 0.7, 0.8, 0.9)
        return [{"lr": lr, "momentum": mu} for lr, mu in itertools.product(lrs, momenta)]
    if name == "Adadelta":
        return [{"lr": lr, "rho": rho} for lr, rho in itertools.product(lrs, (0.9, 0.95))]
    if name == "Adam":
        beta1s = (0.9, 0.95) if problem == "rosenbrock" else (0.8, 0.9)
        return [{"lr": lr, "betas": (b, 0.999)} for lr, b in itertools.product(lrs, beta1s)]
    return [{"lr": lr} for lr in lrs]


def run(problem: Problem, name: str, hyperparameters: dict) -> np.ndarray:
    """The points visited, (steps + 1, 2); stops early (and pads with NaN) if it diverges."""
    cls, fixed = OPTIMIZERS[name]
    p = mg.nn.Parameter(np.array(problem.start, dtype=np.float64))
    optimizer = cls([p], **fixed, **hyperparameters)
    path = np.full((problem.steps + 1, 2), np.nan)
    path[0] = p.numpy()
    for step in range(1, problem.steps + 1):
        optimizer.zero_grad()
        problem.fn(p).backward()
        optimizer.step()
        if not np.all(np.abs(p.data) < 1e6):
            break
        path[step] = p.numpy()
    return path


def value(problem: Problem, point) -> float:
    with mg.no_grad():
        return problem.fn(mg.tensor(point)).item() if np.all(np.isfinite(point)) else np.inf


def tune(problem: Problem) -> None:
    print(f"\n--tune: best final loss over the grid, {problem.name}, {problem.steps} steps")
    for name in OPTIMIZERS:
        scores = [(value(problem, run(problem, name, h)[-1]), h) for h in grid(problem.name, name)]
        loss, best = min(scores, key=lambda s: s[0])
        print(f"  {name:<9} {loss:10.3e}  {best}")


# ----- the pictures ------------------------------------------------------------------------------


def plot(problem: Problem, paths: dict, hyperparameters: dict, path: pathlib.Path) -> None:
    """One panel per optimizer (its path over the contours of f), and f per step for all."""
    xmin, xmax, ymin, ymax = problem.view
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, 300), np.linspace(ymin, ymax, 300))
    with mg.no_grad():
        surface = problem.fn(mg.tensor(np.stack([gx, gy]))).numpy()  # f over a (300, 300) grid
    levels = problem.levels
    minimum = (1.0, 1.0) if problem.name == "rosenbrock" else (0.0, 0.0)
    colors = plt.get_cmap("tab10").colors

    fig, axes = plt.subplots(2, 4, figsize=(15, 7.4), dpi=100)
    for ax, (name, points), color in zip(axes.flat, paths.items(), colors):
        ax.contourf(gx, gy, np.clip(surface, levels[0], None), levels=levels, norm=LogNorm(),
                    cmap="Greys_r", alpha=0.45)  # fmt: skip
        ax.contour(gx, gy, surface, levels=levels, colors="0.6", linewidths=0.5)
        style = ".-" if problem.steps <= 200 else "-"  # a dot per step, when they can be told apart
        ax.plot(points[:, 0], points[:, 1], style, color=color, lw=1.2, ms=3)
        last = points[~np.isnan(points[:, 0])][-1]
        ax.plot(*minimum, "*", color="gold", ms=14, mec="k", zorder=5)
        ax.plot(*problem.start, "s", color="white", ms=7, mec="k", zorder=5)
        ax.plot(*last, "o", color=color, ms=7, mec="k", zorder=6)
        label = describe(hyperparameters[name]).replace(", betas=(0.9, 0.999)", "")
        ax.set_title(f"{name} ({label})\nfinal f = {value(problem, last):.1e}", fontsize=10)
        ax.set(xlim=(xmin, xmax), ylim=(ymin, ymax))
        ax.tick_params(labelsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("y")
    for ax in axes[1, :3]:
        ax.set_xlabel("x")

    ax = axes[1, 3]
    for (name, points), color in zip(paths.items(), colors):
        losses = [value(problem, point) for point in points]
        ax.semilogy(losses, color=color, lw=1.3, label=name)
    ax.set(xlabel="step", ylabel="f (log scale)", title="f per step")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=2, loc="lower left")
    ax.tick_params(labelsize=8)
    fig.suptitle(f"{problem.title}: {problem.steps} steps from {problem.start} (square) "
                 f"to the minimum (star); contours at log-spaced levels", fontsize=12)  # fmt: skip
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def save_png(fig, path: pathlib.Path) -> None:
    """Save with a 256-colour palette: a third of the size of matplotlib's RGBA PNG.

    The palette holds the image's 192 most frequent colours exactly (background, fills, line
    colours) and 64 more for the antialiased edges in between; each pixel takes the nearest.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    image = Image.open(buffer).convert("RGB")
    pixels = np.asarray(image).astype(np.int64)
    codes = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    colors, inverse, counts = np.unique(codes.ravel(), return_inverse=True, return_counts=True)
    rgb = np.stack([colors >> 16, (colors >> 8) & 255, colors & 255], axis=1)
    edges = image.quantize(64, method=Image.Quantize.FASTOCTREE).getpalette()[: 64 * 3]
    palette = np.concatenate([rgb[np.argsort(-counts)[:192]], np.reshape(edges, (-1, 3))])
    nearest = ((rgb[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    indexed = Image.fromarray(nearest[inverse].reshape(codes.shape).astype(np.uint8), mode="P")
    indexed.putpalette(palette.astype(np.uint8).ravel().tolist())
    indexed.save(path, optimize=True)


def describe(hyperparameters: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in hyperparameters.items())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the pictures")
    parser.add_argument("--tune", action="store_true", help="rerun the hyperparameter search")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # The gradients minigrad computes, against the closed forms at the starting points.
    x, y = PROBLEMS["rosenbrock"].start
    exact = np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])
    if not np.allclose(mg.grad(rosenbrock)(np.array([x, y])).numpy(), exact, rtol=1e-12):
        raise SystemExit("mg.grad(rosenbrock) disagrees with the closed-form gradient")
    start = np.array(PROBLEMS["quadratic"].start)
    if not np.allclose(mg.grad(quadratic)(start).numpy(), A @ start, rtol=1e-12):
        raise SystemExit("mg.grad(quadratic) disagrees with the closed-form gradient A p")

    for problem in PROBLEMS.values():
        if args.tune:
            tune(problem)
        start_loss = value(problem, problem.start)
        print(f"\n{problem.name}: {problem.steps} steps from {problem.start}, "
              f"f = {start_loss:.4g} there")  # fmt: skip
        print(f"  {'optimizer':<10} {'final loss':>11}   hyperparameters")
        paths, final = {}, {}
        for name in OPTIMIZERS:
            hyperparameters = HYPERPARAMETERS[problem.name][name]
            paths[name] = run(problem, name, hyperparameters)
            final[name] = value(problem, paths[name][-1])
            nesterov = ", nesterov=True" if name == "Nesterov" else ""
            print(f"  {name:<10} {final[name]:11.3e}   {describe(hyperparameters)}{nesterov}")
            if not final[name] < start_loss:
                raise SystemExit(f"{name} made no progress on {problem.name}")
        for name in ("momentum", "Nesterov"):
            if not final[name] < final["SGD"] / 100:
                raise SystemExit(f"{name} should end far below plain SGD on {problem.name}")
        path = out / f"optimizers-{problem.name}.png"
        plot(problem, paths, HYPERPARAMETERS[problem.name], path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
