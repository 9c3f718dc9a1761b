"""A tour of a network's curvature during training: its spectrum, its landscape, its sharpness.

The model: an MLP 64 -> 32 (tanh) -> 10 (2,410 parameters, float64) on scikit-learn's 8x8
digits (1,000 images, pixels scaled to [0, 1]), trained by full-batch gradient descent on the
mean-squared error to one-hot targets (the setting of Cohen et al. 2021, "Gradient Descent on
Neural Networks Typically Occurs at the Edge of Stability"; with cross-entropy the curvature
falls as the softmax saturates, and the edge of stability shows only for a while). It writes
three pictures into OUT and asserts what each one shows:

- ``curvature-spectrum-training.png``: every eigenvalue of the Hessian (``eigvalsh`` of the
  full 2,410 x 2,410 matrix, ``exact_hessian_spectrum``) at the start, early, in the middle and
  at the end of training, and, at the end, the generalised Gauss-Newton matrix's beside it.
  The spectrum is a bulk of near-zero eigenvalues and a few outliers: after a few steps,
  exactly as many outliers as classes (10) stand above 10% of ``lambda_max``, the top one
  grows, and the negative eigenvalues (the directions of negative curvature) shrink towards
  0. The GGN (``J^T H_l J``) has no eigenvalue below ``-1e-10`` where the Hessian has
  hundreds of negative ones, and near a good fit their top eigenvalues agree.
- ``curvature-landscape.png``: the loss on the plane of the trajectory's two principal
  directions (``trajectory_directions``, ``loss_landscape(..., trajectory=checkpoints)``), with
  the path the weights took, and a 1-D slice along a random filter-normalised direction (Li et
  al. 2018). The two directions explain most of the trajectory's variance; the path runs
  downhill into the basin; the slice is a valley around the trained weights.
- ``curvature-sharpness.png``: ``lambda_max`` (Lanczos, ``hessian_eigenvalues``) along
  training for two learning rates, against ``2 / lr`` (where a quadratic model says gradient
  descent diverges along the sharpest direction), with the losses. At ``lr = 0.5``
  (``2 / lr = 4``) ``lambda_max`` rises slowly and stays far below the edge, and the loss falls
  at every step. At ``lr = 1.25`` (``2 / lr = 1.6``) ``lambda_max`` starts above the edge, the
  first steps push it below, it rises back to ``2 / lr`` and hovers just above it for the
  rest of training (after the first quarter of the steps: the median within -5%..+15% of
  ``2 / lr``, every measurement within -15%..+25%), while the loss keeps falling, but not at
  every step: the edge of stability.

Run it with ``python examples/curvature_tour.py [--quick] [--out FOLDER]`` (``--quick``: 400
images, 200 steps, two spectra and coarser landscapes, for the tests).
"""

from __future__ import annotations

import argparse
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.curvature import (  # noqa: E402
    exact_hessian_spectrum,
    gauss_newton_matrix,
    hessian_eigenvalues,
    loss_landscape,
    trajectory_directions,
)

F = nn.functional
CLASSES = 10
LR, LR_EDGE = 0.5, 1.25  # 2 / lr = 4 (far above lambda_max) and 1.6 (inside its range)


def digits(samples: int):
    X, y = load_digits(return_X_y=True)
    index = np.random.default_rng(0).permutation(len(X))[:samples]
    return mg.tensor(X[index] / 16.0), mg.tensor(np.eye(CLASSES)[y[index]]), y[index]


def make_model():
    mg.manual_seed(0)
    return nn.Sequential(
        nn.Linear(64, 32, dtype=mg.float64), nn.Tanh(), nn.Linear(32, CLASSES, dtype=mg.float64)
    )


def sharpness(closure, params) -> float:
    """The largest (algebraic) eigenvalue of the Hessian, by Lanczos."""
    return float(hessian_eigenvalues(closure, params, which="LA", tol=1e-6).eigenvalues[0])


def train(X, Y, lr: float, steps: int, every: int, moments=()) -> dict:
    """Full-batch gradient descent from the same initial weights, measuring ``lambda_max``
    every ``every`` steps, saving a checkpoint every ``every`` steps and the Hessian's whole
    spectrum at the ``moments``. Returns the record and leaves the model trained in it."""
    model = make_model()
    params = list(model.parameters())

    def closure():
        return F.mse_loss(model(X), Y)

    optimizer = mg.optim.SGD(params, lr=lr)
    record = {"model": model, "params": params, "closure": closure, "losses": [],
              "sharpness": [], "checkpoints": [], "spectra": {}}  # fmt: skip
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            record["sharpness"].append((step, sharpness(closure, params)))
            record["checkpoints"].append([p.data.copy() for p in params])
        if step in moments:
            record["spectra"][step] = exact_hessian_spectrum(closure, params, chunk_size=128)
        if step == steps:
            break
        optimizer.zero_grad()
        loss = closure()
        loss.backward()
        optimizer.step()
        record["losses"].append(float(loss))
    record["losses"].append(float(closure()))
    return record


def gauss_newton_spectrum(model, X, Y, params) -> np.ndarray:
    """Every eigenvalue of ``G = J^T H_l J`` (``gauss_newton_matrix``: exactly symmetric)."""
    return np.linalg.eigvalsh(
        gauss_newton_matrix(lambda: model(X), lambda z: F.mse_loss(z, Y), params)
    )


# ----- the pictures ---------------------------------------------------------------------------

LINTHRESH = 1e-4  # |eigenvalue| below this is drawn linearly, above it by decades


def symlog_bins(low: float, high: float, count: int = 120) -> np.ndarray:
    """Bin edges equally spaced on the symmetric-log axis (each bin looks the same width)."""

    def forward(v):
        return np.sign(v) * np.log10(1 + np.abs(v) / LINTHRESH)

    def backward(u):
        return np.sign(u) * LINTHRESH * (10 ** np.abs(u) - 1)

    return backward(np.linspace(forward(low), forward(high), count + 1))


def spectrum_histogram(ax, eigenvalues, bins, label, color, filled=True, headroom=2):
    counts, _ = np.histogram(eigenvalues, bins)
    if filled:
        ax.stairs(counts, bins, fill=True, color=color, alpha=0.6, label=label)
    else:
        ax.stairs(counts, bins, color=color, lw=1.4, label=label)
    ax.set_xscale("symlog", linthresh=LINTHRESH, linscale=0.5)
    ax.set_yscale("log")
    ax.set_ylim(0.7, len(eigenvalues) * headroom)
    ax.grid(True, which="major", alpha=0.3)


def plot_spectra(spectra: dict, ggn: np.ndarray, losses: list, path: pathlib.Path) -> None:
    everything = np.concatenate([*spectra.values(), ggn])
    bins = symlog_bins(everything.min() * 1.2, everything.max() * 1.2)
    moments = sorted(spectra)
    fig = plt.figure(figsize=(12, 2.0 + 1.7 * len(moments)))
    grid = fig.add_gridspec(len(moments), 2, width_ratios=[1.25, 1])
    for row, step in enumerate(moments):
        ax = fig.add_subplot(grid[row, 0])
        values = spectra[step]
        spectrum_histogram(ax, values, bins, None, "C0", headroom=12)  # room for the text
        top = values[-1]
        ax.axvline(top, color="C3", lw=1.2, ls="--")
        outliers = int(np.sum(values > 0.1 * top))
        ax.text(0.01, 0.93, f"step {step}: loss {losses[step]:.3f}, λ_max = {top:.3f}, "
                f"{outliers} eigenvalues > 0.1 λ_max, most negative {values[0]:.2g}",
                transform=ax.transAxes, va="top", fontsize=8.5,
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})  # fmt: skip
        ax.set_ylabel("count")
        if row == 0:
            ax.set_title("The Hessian's eigenvalues during training (red dashes: λ_max)",
                         fontsize=10)  # fmt: skip
        if row == len(moments) - 1:
            ax.set_xlabel(f"eigenvalue (symmetric log scale, linear within ±{LINTHRESH:g})")
        else:
            ax.tick_params(labelbottom=False)
    ax = fig.add_subplot(grid[:, 1])
    end = spectra[moments[-1]]
    spectrum_histogram(ax, end, bins, f"Hessian H (min {end[0]:.2g}, {np.sum(end < 0)} < 0)",
                       "C0")  # fmt: skip
    spectrum_histogram(ax, ggn, bins, f"Gauss-Newton G = JᵀH_l J (min {ggn[0]:.1g})", "C1",
                       filled=False)  # fmt: skip
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_title(f"At the end (step {moments[-1]}): H is indefinite, G is PSD", fontsize=10)
    ax.set_xlabel(f"eigenvalue (symmetric log scale, linear within ±{LINTHRESH:g})")
    ax.set_ylabel("count (log scale)")
    ax.legend(fontsize=8.5, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_landscapes(plane, line, ratios, path: pathlib.Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.3), width_ratios=[1.2, 1])
    plane.plot(ax=left)
    left.set_title("Loss on the trajectory's PCA plane (■ start, ★ end)", fontsize=10)
    left.set_xlabel(f"principal direction 1 ({100 * ratios[0]:.1f}% of the variance)")
    left.set_ylabel(f"principal direction 2 ({100 * ratios[1]:.1f}% of the variance)")
    line.plot(ax=right)
    right.plot([0], [line.center_loss], "*", color="C3", ms=10, label="trained weights")
    right.legend(fontsize=8.5, loc="upper center")
    right.set_title("1-D slice, random filter-normalised direction", fontsize=10)
    right.set_xlabel("step along the direction (1 = each filter's own norm)")
    right.set_ylabel("loss (mean-squared error)")
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sharpness(runs: dict, path: pathlib.Path) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True)
    for (lr, record), color in zip(runs.items(), ("C0", "C3")):
        steps, values = np.array(record["sharpness"]).T
        top.plot(steps, values, "-", color=color, lw=1.5, label=f"λ_max, lr = {lr}")
        top.axhline(2 / lr, color=color, ls="--", lw=1.2, label=f"2 / lr = {2 / lr:g}")
        bottom.plot(record["losses"], color=color, lw=1.2, label=f"lr = {lr}")
    top.set_ylim(0, 4.3)
    top.set_ylabel("top eigenvalue of the Hessian")
    top.set_title("Sharpness under full-batch gradient descent: at lr = 1.25, λ_max rises to "
                  "2 / lr and hovers just above it", fontsize=10)  # fmt: skip
    top.legend(fontsize=8.5, ncol=2, loc="lower right")
    top.grid(True, alpha=0.3)
    bottom.set_yscale("log")
    bottom.set_xlabel("step (full batch)")
    bottom.set_ylabel("training loss (mean-squared error)")
    bottom.legend(fontsize=8.5, loc="upper right")
    bottom.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ----- the tour -------------------------------------------------------------------------------


def main(quick: bool, out: pathlib.Path) -> None:
    start = time.perf_counter()
    samples, steps = (400, 200) if quick else (1000, 600)
    moments = (0, steps) if quick else (0, 20, 100, steps)
    X, Y, labels = digits(samples)
    run = train(X, Y, LR, steps, every=10, moments=moments)
    model, params = run["model"], run["params"]
    accuracy = float(np.mean(model(X).numpy().argmax(axis=1) == labels))
    print(f"MLP 64-32-10 on {samples} digits: {sum(p.numel() for p in params)} parameters; "
          f"lr {LR}, {steps} steps: loss {run['losses'][0]:.4f} -> {run['losses'][-1]:.4f}, "
          f"training accuracy {accuracy:.3f}")  # fmt: skip
    assert accuracy > 0.9, "the model should learn the digits"

    # ----- (1) the spectrum during training, and the Gauss-Newton matrix's at the end -----
    spectra = run["spectra"]
    for step, values in spectra.items():
        print(f"step {step:4d}: lambda_max {values[-1]:.4f}, "
              f"{np.sum(values > 0.1 * values[-1]):3d} eigenvalues > 0.1 lambda_max, "
              f"{np.sum(values < 0):4d} negative (most negative {values[0]:.4g}), "
              f"90% of |eigenvalues| below {np.quantile(np.abs(values), 0.9):.3g}")  # fmt: skip
    ggn = gauss_newton_spectrum(model, X, Y, params)
    first, end = spectra[0], spectra[steps]
    print(f"Gauss-Newton at the end: min {ggn[0]:.3g}, max {ggn[-1]:.4f} "
          f"(Hessian: min {end[0]:.4g}, max {end[-1]:.4f})")  # fmt: skip
    assert end[-1] > first[-1], "the top eigenvalue should grow during training"
    assert np.sum(end > 0.1 * end[-1]) == CLASSES < np.sum(first > 0.1 * first[-1])
    assert abs(end[0]) < 0.1 * abs(first[0]), "negative curvature should shrink towards 0"
    assert np.quantile(np.abs(end), 0.9) < 0.5 * np.quantile(np.abs(first), 0.9)
    assert ggn[0] >= -1e-10 and end[0] < 0, "G is positive semi-definite, H is not"
    assert abs(ggn[-1] - end[-1]) < 0.01 * end[-1]
    lanczos = run["sharpness"][-1][1]
    assert abs(lanczos - end[-1]) < 1e-6 * end[-1], "Lanczos should find the exact top"

    # ----- (2) the landscape: the trajectory's plane and a filter-normalised slice -----
    checkpoints = run["checkpoints"]
    directions = trajectory_directions(checkpoints)
    explained = float(directions.explained_variance_ratio.sum())
    span = 1.25 * float(np.abs(directions.coordinates).max())
    data = (X, Y)
    plane = loss_landscape(
        model, F.mse_loss, data, directions, steps=21 if quick else 41, span=span,
        trajectory=checkpoints,
    )  # fmt: skip
    line = loss_landscape(
        model, F.mse_loss, data, "filter", steps=41 if quick else 81, span=1.0, dims=1, seed=0
    )
    path = plane.trajectory_values
    print(f"trajectory plane: {100 * explained:.1f}% of the variance "
          f"({100 * directions.explained_variance_ratio[0]:.1f}% + "
          f"{100 * directions.explained_variance_ratio[1]:.1f}%); loss along the projected path "
          f"{path[0]:.4f} -> {path[-1]:.4f}; 1-D slice: {line.values.min():.4f} at "
          f"{line.coordinates[0][line.values.argmin()]:+.3f}, {line.values[0]:.3f} and "
          f"{line.values[-1]:.3f} at -1 and +1")  # fmt: skip
    assert explained > 0.9, "two directions should hold most of the trajectory"
    assert path[-1] < 0.5 * path[0] and path[-1] == plane.center_loss
    middle = len(line.values) // 2
    assert abs(line.values.argmin() - middle) <= 1, "the slice's lowest point is the weights"
    assert min(line.values[0], line.values[-1]) > 2 * line.center_loss

    # ----- (3) the sharpness against 2 / lr -----
    edge = train(X, Y, LR_EDGE, steps, every=5 if not quick else 10)
    runs = {LR: run, LR_EDGE: edge}
    for lr, record in runs.items():
        values = np.array(record["sharpness"])[:, 1]
        losses = record["losses"]
        rises = sum(b > a for a, b in zip(losses, losses[1:]))
        later = values[len(values) // 4 :]
        print(f"lr {lr} (2 / lr = {2 / lr:.3g}): lambda_max {values[0]:.3f} -> min "
              f"{values.min():.3f} -> {values[-1]:.3f}; after the first quarter "
              f"{later.min():.3f}..{later.max():.3f} (median {np.median(later):.3f}); loss "
              f"{losses[0]:.4f} -> {losses[-1]:.4f}, {rises} steps went up")  # fmt: skip
    calm = np.array(run["sharpness"])[:, 1]
    assert calm.max() < 0.75 * 2 / LR and calm[-1] > calm[0], "lr 0.5: sharpening, far below"
    assert all(b < a for a, b in zip(run["losses"], run["losses"][1:]))
    hovering = np.array(edge["sharpness"])[:, 1]
    later = hovering[len(hovering) // 4 :]
    assert hovering[0] > 2 / LR_EDGE > hovering.min(), "lr 1.25: starts above, pushed below"
    assert 0.95 * 2 / LR_EDGE < np.median(later) < 1.15 * 2 / LR_EDGE, "then hovers at 2 / lr"
    assert later.max() < 1.25 * 2 / LR_EDGE and later.min() > 0.85 * 2 / LR_EDGE
    assert sum(b > a for a, b in zip(edge["losses"], edge["losses"][1:])) >= 3
    assert edge["losses"][-1] < 0.3 * edge["losses"][0], "and the loss still falls"

    out.mkdir(parents=True, exist_ok=True)
    plot_spectra(spectra, ggn, run["losses"], out / "curvature-spectrum-training.png")
    plot_landscapes(
        plane, line, directions.explained_variance_ratio, out / "curvature-landscape.png"
    )
    plot_sharpness(runs, out / "curvature-sharpness.png")
    for name in ("spectrum-training", "landscape", "sharpness"):
        print(f"wrote {out / f'curvature-{name}.png'}")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (the tests')")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("example-output"))
    args = parser.parse_args()
    main(quick=args.quick, out=args.out)
