"""Train a small MLP on two interleaved half-moons and draw its decision boundary.

1. Data: 400 points on two noisy half-circles (generated with numpy, like scikit-learn's
   ``make_moons``), 300 to train on and 100 held out.
2. Model: ``mg.nn.Sequential`` of ``Linear(2, 16)``, ``Tanh``, ``Linear(16, 16)``, ``Tanh``,
   ``Linear(16, 2)``: two logits, trained with ``nn.functional.cross_entropy`` and
   ``mg.optim.Adam`` (lr 0.02) on the full training set for 300 steps.
3. It prints the loss and the accuracies every 50 steps, checks that both accuracies reach 97%,
   and draws the model's probability of the upper moon over a grid, with its 0.5 contour (the
   decision boundary) and the points, to ``OUT/moons-boundary.png``.

Run it with ``python examples/moons_mlp.py [--out FOLDER]`` (default: ``example-output``).
"""

from __future__ import annotations

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402

SEED = 0
STEPS = 300
LR = 0.02
TARGET_ACCURACY = 0.97


def make_moons(n: int = 400, noise: float = 0.12, seed: int = SEED):
    """Points on two interleaved half-circles plus Gaussian noise, labels 0 (upper) and 1.

    The upper moon is (cos t, sin t), the lower one (1 - cos t, 1/2 - sin t), t in [0, pi].
    Returns x (n, 2) float32 and y (n,) int64, shuffled.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, np.pi, n // 2)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n // 2, dtype=np.int64), np.ones(n // 2, dtype=np.int64)])
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order]


def make_model(seed: int = SEED) -> nn.Module:
    """A 2-16-16-2 MLP with tanh activations, initialised from ``seed``."""
    generator = mg.Generator(seed)
    return nn.Sequential(
        nn.Linear(2, 16, generator=generator),
        nn.Tanh(),
        nn.Linear(16, 16, generator=generator),
        nn.Tanh(),
        nn.Linear(16, 2, generator=generator),
    )


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with mg.no_grad():
        return float((model(mg.tensor(x)).numpy().argmax(axis=1) == y).mean())


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, x_test, y_test, steps: int = STEPS):
    """Full-batch Adam on the cross-entropy; prints progress every 50 steps."""
    optimizer = mg.optim.Adam(model.parameters(), lr=LR)
    inputs = mg.tensor(x)
    print(" step    loss     train acc   test acc")
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(inputs), y)
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == 1:
            train_acc, test_acc = accuracy(model, x, y), accuracy(model, x_test, y_test)
            print(f"{step:5d}   {loss.item():.4f}    {train_acc:6.1%}     {test_acc:6.1%}")
    return loss.item()


def plot_boundary(model: nn.Module, x, y, x_test, y_test, path: pathlib.Path, title: str):
    """contourf of P(lower moon | point) on a grid, the 0.5 contour, and the data."""
    lo, hi = np.minimum(x.min(0), x_test.min(0)) - 0.5, np.maximum(x.max(0), x_test.max(0)) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with mg.no_grad():
        probability = nn.functional.softmax(model(mg.tensor(grid)), axis=1).numpy()[:, 1]
    probability = probability.reshape(gx.shape)

    fig, ax = plt.subplots(figsize=(7, 5), dpi=100)
    filled = ax.contourf(gx, gy, probability, levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                         alpha=0.45)  # fmt: skip
    ax.contour(gx, gy, probability, levels=[0.5], colors="k", linewidths=1.5)
    for label, color, name in ((0, "#2166ac", "upper moon"), (1, "#b2182b", "lower moon")):
        ax.scatter(*x[y == label].T, color=color, s=14, edgecolors="white", linewidths=0.4,
                   label=f"{name} (train)")  # fmt: skip
        ax.scatter(*x_test[y_test == label].T, color=color, s=34, marker="^", edgecolors="k",
                   linewidths=0.6, label=f"{name} (held out)")  # fmt: skip
    ax.plot([], [], color="k", label="boundary P = 0.5")
    fig.colorbar(filled, ax=ax, label="model's P(lower moon)")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title=title)
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the picture")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    x, y = make_moons()
    x_train, y_train, x_test, y_test = x[:300], y[:300], x[300:], y[300:]
    model = make_model()
    print(f"two moons: {len(x_train)} training points, {len(x_test)} held out")
    print(f"model: {model.num_parameters()} parameters\n{model}\n")
    print(f"Adam, lr {LR}, {STEPS} full-batch steps of cross-entropy:")
    train(model, x_train, y_train, x_test, y_test)

    train_acc, test_acc = accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)
    print(f"\nfinal accuracy: train {train_acc:.1%}, held out {test_acc:.1%} "
          f"(target {TARGET_ACCURACY:.0%})")  # fmt: skip
    if train_acc < TARGET_ACCURACY or test_acc < TARGET_ACCURACY:
        raise SystemExit(f"the MLP did not reach {TARGET_ACCURACY:.0%} accuracy")

    path = out / "moons-boundary.png"
    title = (f"2-16-16-2 tanh MLP, Adam, {STEPS} steps: "
             f"train {train_acc:.1%}, held out {test_acc:.1%}")  # fmt: skip
    plot_boundary(model, x_train, y_train, x_test, y_test, path, title)
    print(f"wrote {path}: the model's probability over the plane, the boundary P = 0.5 in black")


if __name__ == "__main__":
    main()
