"""How large is each example's gradient, and how does that change as a model learns?

A batch gradient is the mean of the examples' own gradients; ``nn.per_sample_grads`` gives
them all, in one batched computation (``vmap(grad(...))``). This script trains a small MLP
(64-64-10, tanh) on scikit-learn's 8x8 digits with plain SGD and, after every epoch, takes the
gradient of each of the 1,347 training examples' losses. It writes
``OUT/per-sample-gradient-norms.png`` (the picture in docs/vmap.md):

- left, the distribution of the per-sample gradient norms at a few epochs (log scale);
- middle, its quantiles over training (5-95%, 25-75% bands and the median), with the norm of
  the mean gradient, the batch gradient of the whole training set;
- right, the gradient noise scale ``B_simple = tr(Sigma) / |G|^2`` from the same per-sample
  gradients (McCandlish et al. 2018): the batch size at which the noise of a mini-batch
  gradient matches the signal.

It asserts what the picture shows: at the start every example pulls about equally hard (the
95% quantile within 1.5x the 5% one) and far harder than the mean gradient (the examples
disagree); as the model fits, most examples' gradients shrink (the median by more than 10x)
while a tail of hard examples keeps pulling (the 95% quantile stays within 2x of where it
started), so the distribution spreads over decades; and ``B_simple`` grows by more than 10x
(the median of the last 10 epochs against the first 3; it is a noisy ratio from one epoch to
the next): the better the fit, the larger the batch that is worth its cost. It also checks
that the mean of the per-sample gradients is the batch's gradient (the loss is a mean over
examples).

Run it with ``python examples/per_sample_norms.py [--out FOLDER]`` (a few seconds).
"""

from __future__ import annotations

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402

EPOCHS, BATCH, LR = 40, 32, 0.1
SHOWN = (0, 2, 5, 10, 20, 40)  # the epochs whose histograms are drawn
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def per_sample(model, X, Y) -> tuple[np.ndarray, np.ndarray]:
    """Every example's gradient, all parameters flattened into one row: (N, P); and the
    batch gradient of the mean loss over all N examples (P,), by one backward pass."""
    grads = nn.per_sample_grads(model, nn.functional.cross_entropy, X, Y)
    rows = np.concatenate([g.numpy().reshape(len(X), -1) for g in grads.values()], axis=1)
    model.zero_grad()
    nn.functional.cross_entropy(model(X), Y).backward()
    batch = np.concatenate([p.grad.numpy().reshape(-1) for p in model.parameters()])
    return rows, batch


def noise_scale(rows: np.ndarray) -> float:
    """``B_simple`` from the per-sample gradients of the whole training set, the population
    that SGD draws its batches from: ``G`` is their mean and ``Sigma`` their covariance, exactly
    (over a sample of the data, estimate both without bias instead, as ``mg.checking``'s
    ``noise_scale(method="per_sample")`` does)."""
    mean = rows.mean(axis=0)
    return ((rows - mean) ** 2).sum() / len(rows) / (mean @ mean)


def train() -> dict:
    digits = load_digits()
    pixels = (digits.data / 16.0).astype(np.float32)
    x, _, y, _ = train_test_split(
        pixels, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    X, Y = mg.tensor(x), mg.tensor(y)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
    optimizer = mg.optim.SGD(model.parameters(), lr=LR)
    rng = np.random.default_rng(0)
    run = {"norms": [], "mean_norm": [], "b_simple": []}
    for epoch in range(EPOCHS + 1):
        rows, batch = per_sample(model, X, Y)
        assert np.allclose(rows.mean(axis=0), batch, atol=1e-6), "mean of per-sample != batch"
        run["norms"].append(np.linalg.norm(rows, axis=1))
        run["mean_norm"].append(np.linalg.norm(rows.mean(axis=0)))
        run["b_simple"].append(noise_scale(rows))
        if epoch in SHOWN:
            q = np.quantile(run["norms"][-1], QUANTILES)
            mean, noise = run["mean_norm"][-1], run["b_simple"][-1]
            print(f"epoch {epoch:2d}: per-sample norms 5/50/95% {q[0]:.3f} {q[2]:.3f} {q[4]:.3f}, "
                  f"mean gradient {mean:.3f}, B_simple {noise:.0f}")  # fmt: skip
        for index in np.array_split(rng.permutation(len(x)), len(x) // BATCH):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X[index]), Y[index]).backward()
            optimizer.step()
    return run


def plot(run: dict, path: pathlib.Path) -> None:
    fig, (hist, bands, noise) = plt.subplots(1, 3, figsize=(15, 4.4))
    bins = np.geomspace(1e-4, 30, 60)
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(SHOWN)))
    for epoch, color in zip(SHOWN, colors, strict=True):
        hist.hist(run["norms"][epoch], bins=bins, histtype="step", lw=1.6, color=color,
                  label=f"epoch {epoch}")  # fmt: skip
    hist.set(xscale="log", xlabel="per-sample gradient norm", ylabel="examples",
             title="Per-sample gradient norms (1,347 digits)")  # fmt: skip
    hist.legend(fontsize=8)
    epochs = np.arange(EPOCHS + 1)
    q = np.array([np.quantile(n, QUANTILES) for n in run["norms"]])
    bands.fill_between(epochs, q[:, 0], q[:, 4], alpha=0.25, color="C0", label="5-95%")
    bands.fill_between(epochs, q[:, 1], q[:, 3], alpha=0.45, color="C0", label="25-75%")
    bands.plot(epochs, q[:, 2], color="C0", lw=2, label="median")
    bands.plot(epochs, run["mean_norm"], color="C3", lw=2, label="|mean gradient|")
    bands.set(yscale="log", xlabel="epoch", ylabel="gradient norm",
              title="Quantiles over training")  # fmt: skip
    bands.legend(fontsize=8, loc="lower left")
    noise.plot(epochs, run["b_simple"], color="C2", lw=2)
    noise.set(yscale="log", xlabel="epoch", ylabel="B_simple = tr(Σ) / |G|²",
              title="Gradient noise scale")  # fmt: skip
    for axes in (hist, bands, noise):
        axes.grid(alpha=0.3, which="both" if axes is not hist else "major")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check(run: dict) -> None:
    first, last = (np.quantile(run["norms"][i], QUANTILES) for i in (0, -1))
    assert first[4] < 1.5 * first[0], f"at the start the norms already spread: {first}"
    assert run["mean_norm"][0] < 0.5 * first[2], "the examples should disagree at the start"
    assert last[2] < first[2] / 10, f"the median norm fell only from {first[2]} to {last[2]}"
    assert last[4] > first[4] / 2, f"the hard examples' tail fell from {first[4]} to {last[4]}"
    start, end = np.median(run["b_simple"][:3]), np.median(run["b_simple"][-10:])
    assert end > 10 * start, f"B_simple went only from {start:.0f} to {end:.0f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("example-output"))
    out = parser.parse_args().out
    run = train()
    check(run)
    out.mkdir(parents=True, exist_ok=True)
    plot(run, out / "per-sample-gradient-norms.png")
    print(f"wrote {out / 'per-sample-gradient-norms.png'}")
