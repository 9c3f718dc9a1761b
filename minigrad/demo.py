"""The demo: learn handwritten digits end to end with minigrad (``python -m minigrad.demo``).

On scikit-learn's digits (1,797 8x8 images, shipped inside scikit-learn: no download), with a
fixed seed, it trains an MLP and a small CNN with progress bars, checks gradients while they
learn (``GradientMonitor``, which also follows update/weight ratios, the gradient noise scale and
the sharpness), computes the top Hessian eigenvalue at the end and the learning rate it
suggests, and writes to the output folder: the graph of one training step (SVG and PNG), the
loss and accuracy curves (PNG), each model's monitor dashboard (PNG) and a short text report.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn

OPTIONAL = {"sklearn": "scikit-learn", "tqdm": "tqdm", "matplotlib": "matplotlib"}


def require_extras() -> None:
    """Stop with a clear message if an optional dependency of the demo is missing."""
    missing = [pip for module, pip in OPTIONAL.items() if importlib.util.find_spec(module) is None]
    if missing:
        sys.exit(
            f"The demo needs {', '.join(missing)}: install them with "
            f"`pip install {' '.join(missing)}` or `pip install 'minigrad[examples]'` "
            f"(`make demo` does this for you)."
        )


# ----- data and models ---------------------------------------------------------------------------


def load_data(seed: int):
    """Digits scaled to [0, 1], split 75/25 with stratification."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)
    return train_test_split(x, digits.target, test_size=0.25, random_state=seed,
                            stratify=digits.target)  # fmt: skip


def make_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )  # fmt: skip


def make_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )  # fmt: skip


def make_optimizer(name: str, model: nn.Module, total_steps: int):
    """Adam for the MLP, SGD with Nesterov momentum for the CNN; cosine-annealed rates."""
    if name == "mlp":
        optimizer = mg.optim.Adam(model.parameters(), lr=2e-3)
    else:
        optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    return optimizer, mg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


def prepare(name: str, x: np.ndarray) -> mg.Tensor:
    """The model's input: (N, 8, 8) images, with a channel axis for the CNN."""
    return mg.tensor(x[:, None] if name == "cnn" else x)


def accuracy(model: nn.Module, name: str, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with mg.no_grad():
        predicted = model(prepare(name, x)).data.argmax(axis=1)
    model.train()
    return float((predicted == y).mean())


# ----- training ----------------------------------------------------------------------------------


COMPILED = ("cnn",)  # the models whose training steps mg.compile replays


def train(name: str, data, epochs: int, seed: int, batch_size: int = 64):
    """Train one model; returns (model, history, monitor, seconds)."""
    from tqdm import tqdm

    x_train, x_test, y_train, y_test = data
    mg.manual_seed(seed)
    model = make_mlp() if name == "mlp" else make_cnn()
    steps_per_epoch = -(-len(x_train) // batch_size)
    optimizer, schedule = make_optimizer(name, model, epochs * steps_per_epoch)
    monitor = nn.GradientMonitor(
        model, nn.functional.cross_entropy, every=10, check_every=100, noise_every=100,
        curvature_every=10 * steps_per_epoch, optimizer=optimizer,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "test_acc": []}

    def forward_backward(xb, yb):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        return loss

    # The CNN's forward and backward are replayed by mg.compile (about 0.75x the eager time
    # here); the MLP's are a few large matrix products, where it saves about 5%, so the MLP
    # shows the eager engine. The monitor and the optimizer run between them, eagerly.
    step = mg.compile(forward_backward) if name in COMPILED else forward_backward
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=f"{name.upper():>3}", unit="epoch", leave=True)
    for _ in bar:
        order = rng.permutation(len(x_train))
        losses = []
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            xb, yb = prepare(name, x_train[idx]), y_train[idx]
            loss = step(xb, yb)
            monitor.step(xb, yb, loss=loss)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        history["loss"].append(float(np.mean(losses)))
        history["train_acc"].append(accuracy(model, name, x_train, y_train))
        history["test_acc"].append(accuracy(model, name, x_test, y_test))
        bar.set_postfix(
            loss=f"{history['loss'][-1]:.4f}", test_acc=f"{history['test_acc'][-1]:.3f}"
        )
    return model, history, monitor, time.perf_counter() - start


def curvature(model: nn.Module, name: str, data, seed: int):
    """Top Hessian eigenvalue of the training loss (on a fixed batch of 256) and the learning
    rate 1/lambda_max it suggests, by power iteration on Hessian-vector products."""
    from minigrad.curvature import suggest_lr

    x_train, _, y_train, _ = data
    idx = np.random.default_rng(seed).choice(len(x_train), 256, replace=False)
    xb, yb = prepare(name, x_train[idx]), y_train[idx]
    model.eval()
    try:
        return suggest_lr(
            lambda params: nn.functional.cross_entropy(nn.functional_call(model, params, xb), yb),
            [p.detach() for p in model.parameters()],
            max_iter=200,
            tol=1e-4,
            seed=seed,
        )
    finally:
        model.train()


# ----- outputs -----------------------------------------------------------------------------------


def save_graph(model: nn.Module, name: str, data, out: str) -> list[str]:
    """The computation graph of one training step, SVG and PNG: one node per layer with its
    parameters and their gradients' norms, the input images (a thumbnail of the first) and
    the loss."""
    x_train, _, y_train, _ = data
    model.zero_grad()
    images = prepare(name, x_train[:4])
    loss = nn.functional.cross_entropy(model(images), y_train[:4])
    loss.backward()  # the graph's outline survives: drawn with this step's gradients
    graph = mg.viz.draw(loss, model=model, inputs=images)
    model.zero_grad()
    paths = []
    for fmt in ("svg", "png"):
        path = os.path.join(out, f"graph-{name}.{fmt}")
        try:
            paths.append(mg.viz.render(graph, path))
        except mg.viz.GraphError as e:
            print(f"  (graph not rendered: {e})")
            break
    return paths


def axis_limits(values, margin: float = 0.05) -> tuple[float, float]:
    """Limits of an axis that shows every value: the values' range widened on each side by
    ``margin`` of it (0.01 at least, for a flat curve), so no point lies on or past an edge."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = max(margin * (high - low), 0.01)
    return low - pad, high + pad


def save_curves(histories: dict, out: str) -> str:
    """Training loss (log scale) and train/test accuracy per epoch, one colour per model; the
    accuracy axis spans the accuracies there are (a first epoch at 0.16 included), the legend
    gives each model's final test accuracy, and an inset the second half of training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for color, (name, h) in zip(("C0", "C1"), histories.items()):
        epochs = np.arange(1, len(h["loss"]) + 1)
        style = dict(color=color, marker="o" if len(epochs) == 1 else None)  # one epoch: a dot
        ax_loss.plot(epochs, h["loss"], label=name.upper(), **style)
        final = f"{name.upper()} test (final {h['test_acc'][-1]:.3f})"
        ax_acc.plot(epochs, h["test_acc"], label=final, **style)
        ax_acc.plot(epochs, h["train_acc"], "--", label=f"{name.upper()} train", **style)
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="Loss")
    accuracies = [a for h in histories.values() for a in (*h["train_acc"], *h["test_acc"])]
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=axis_limits(accuracies))
    # NOTE: early epochs far below the rest squeeze the end of training into a thin band at the
    # top; then an inset shows the second half of training on its own scale.
    half = {name: len(h["test_acc"]) // 2 for name, h in histories.items()}
    late = [a for name, h in histories.items() for key in ("train_acc", "test_acc")
            for a in h[key][half[name] :]]  # fmt: skip
    full, end = axis_limits(accuracies), axis_limits(late)
    if min(half.values()) >= 2 and full[1] - full[0] > 3 * (end[1] - end[0]):
        zoom = ax_acc.inset_axes([0.4, 0.42, 0.56, 0.36])
        for color, (name, h) in zip(("C0", "C1"), histories.items()):
            epochs = np.arange(half[name] + 1, len(h["test_acc"]) + 1)
            zoom.plot(epochs, h["test_acc"][half[name] :], color=color)
            zoom.plot(epochs, h["train_acc"][half[name] :], "--", color=color)
        zoom.set_ylim(end)
        zoom.set_title("second half of training", fontsize=8)
        zoom.tick_params(labelsize=7)
    if max(len(h["loss"]) for h in histories.values()) == 1:
        for ax in (ax_loss, ax_acc):
            ax.set_xticks([1])  # whole epochs, not 0.96, 0.98, ...
    ax_loss.legend()
    ax_acc.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "curves.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def save_dashboard(monitor, name: str, out: str) -> str:
    """The monitor's dashboard: loss, gradient norms, update/weight ratios, noise scale,
    sharpness against the edge of stability, checks and the monitor's cost."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = os.path.join(out, f"dashboard-{name}.png")
    plt.close(monitor.dashboard(path))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minigrad.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs per model (default: 40 MLP, 20 CNN)"
    )
    parser.add_argument("--out", default="demo-output", help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    require_extras()
    os.makedirs(args.out, exist_ok=True)
    data = load_data(args.seed)
    names = ("mlp", "cnn") if args.model == "both" else (args.model,)
    report, histories = [], {}
    for name in names:
        epochs = args.epochs or {"mlp": 40, "cnn": 20}[name]
        model, history, monitor, seconds = train(name, data, epochs, args.seed)
        histories[name] = history
        print(monitor)
        how = "forward and backward replayed by mg.compile" if name in COMPILED else "eager"
        report.append(f"{name.upper()}: test accuracy {history['test_acc'][-1]:.4f} after {epochs} "
                      f"epochs ({seconds:.1f} s, {how}), {model.num_parameters()} "
                      f"parameters")  # fmt: skip
        report.append(str(monitor))
        report.append(save_dashboard(monitor, name, args.out))
        suggestion = curvature(model, name, data, args.seed)
        line = (
            f"{name.upper()}: top Hessian eigenvalue {suggestion.eigenvalue:.4g}, suggested "
            f"learning rate 1/lambda_max = {suggestion.lr:.4g} (+/- {suggestion.uncertainty:.2g})"
        )
        print(line)
        report.append(line)
        report += save_graph(model, name, data, args.out)
    report.append(save_curves(histories, args.out))
    path = os.path.join(args.out, "report.txt")
    with open(path, "w") as f:
        f.write("\n".join(report) + "\n")
    print(
        f"\nWrote {args.out}/: report.txt, curves.png, the dashboards and the graphs. Report:\n"
        + "\n".join(report)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
