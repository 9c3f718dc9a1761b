"""A convolutional autoencoder that learns to redraw handwritten digits from 16 numbers.

scikit-learn ships 1,797 images of handwritten digits, 8x8 pixels (no download). This script

1. loads them, scales the pixels to [0, 1] and holds out a quarter for testing;
2. builds an autoencoder of PyTorch's layers: an encoder of two strided ``Conv2d`` (8x8 -> 4x4
   -> 2x2) and a ``Linear`` down to a code of 16 numbers, and a decoder that mirrors it: a
   ``Linear``, ``Unflatten`` back to 32 channels of 2x2, and two ``ConvTranspose2d`` with
   stride 2 (2x2 -> 4x4 -> 8x8; ``output_padding=1`` makes each one exactly double the size),
   then a sigmoid for pixels in [0, 1];
3. trains it with Adam to reproduce its input (mean squared error per pixel), reading the images
   through a ``DataLoader``;
4. checks that it learned: the test images' reconstruction error must be well below that of
   the best guess that ignores the input, the mean training image (at most a fifth of it in the
   default run, about 2.5 seconds of training; at most half of it in the quick run);
5. draws held-out digits above their reconstructions, with the loss curve, to
   ``OUT/conv-autoencoder.png``.

Run it with ``python examples/conv_autoencoder.py [--epochs N] [--out FOLDER]``; ``--quick``
is the test suite's reduced run (a few seconds, a looser bar).
"""

from __future__ import annotations

import argparse
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.utils.data import DataLoader, TensorDataset  # noqa: E402

SEED = 0
CODE = 16  # numbers the encoder squeezes each 64-pixel image into
EPOCHS = 20
QUICK_EPOCHS = 6
BATCH_SIZE = 32
LR = 1e-2
# The reconstruction error must fall below this fraction of the mean image's error.
TARGET = {"default": 0.2, "quick": 0.5}


def load_data(seed: int = SEED):
    """Train and test images (N, 1, 8, 8) in [0, 1], float32."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # a channel dim: (N, 1, 8, 8)
    return train_test_split(images, test_size=0.25, random_state=seed, stratify=digits.target)


class AutoEncoder(nn.Module):
    """8x8 image -> ``code`` numbers -> 8x8 image."""

    def __init__(self, code: int = CODE):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),  # (N, 1, 8, 8) -> (N, 16, 4, 4)
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),  # -> (N, 32, 2, 2)
            nn.ReLU(),
            nn.Flatten(),  # -> (N, 128)
            nn.Linear(32 * 2 * 2, code),  # -> (N, code)
        )
        self.decoder = nn.Sequential(
            nn.Linear(code, 32 * 2 * 2),
            nn.ReLU(),
            nn.Unflatten(1, (32, 2, 2)),  # -> (N, 32, 2, 2)
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),  # -> 4x4
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),  # -> 8x8
            nn.Sigmoid(),
        )

    def forward(self, images: mg.Tensor) -> mg.Tensor:
        return self.decoder(self.encoder(images))


def reconstruction_error(model: nn.Module, images: np.ndarray) -> float:
    """Mean squared error per pixel of the model's reconstructions."""
    with mg.no_grad():
        return nn.functional.mse_loss(model(mg.tensor(images)), mg.tensor(images)).item()


def train(model: nn.Module, images: np.ndarray, test: np.ndarray, epochs: int) -> list[float]:
    """Adam on the mean squared error; prints and returns the training loss per epoch."""
    optimizer = mg.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(TensorDataset(mg.tensor(images)), batch_size=BATCH_SIZE, shuffle=True,
                        generator=mg.Generator(SEED))  # fmt: skip
    losses = []
    print("epoch   train loss   test loss   seconds")
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        for (batch,) in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(images))
        seconds = time.perf_counter() - start
        print(f"{epoch:5d}   {losses[-1]:10.4f}   {reconstruction_error(model, test):9.4f}"
              f"   {seconds:7.2f}")  # fmt: skip
    return losses


def draw(model: nn.Module, test: np.ndarray, losses, baseline: float, path: pathlib.Path):
    """Two rows of held-out digits, each above its reconstruction, and the loss curve."""
    shown = test[:12]
    with mg.no_grad():
        redrawn = model(mg.tensor(shown)).numpy()
    fig = plt.figure(figsize=(11, 5.5), dpi=100)
    grid = fig.add_gridspec(4, 12, width_ratios=[1] * 12, hspace=0.25)
    for i in range(12):
        for row, (images, label) in enumerate(((shown, "original"), (redrawn, "redrawn"))):
            ax = fig.add_subplot(grid[row, i])
            ax.imshow(images[i, 0], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label)
    curve = fig.add_subplot(grid[2:, 1:11])
    curve.plot(range(1, len(losses) + 1), losses, marker="o", markersize=3, label="training")
    curve.axhline(baseline, color="gray", linestyle="--", label="the mean image (ignores input)")
    curve.set(xlabel="epoch", ylabel="mean squared error per pixel", yscale="log")
    curve.xaxis.get_major_locator().set_params(integer=True)
    curve.legend()
    fig.suptitle(f"Conv2d / ConvTranspose2d autoencoder, code of {CODE} numbers: held-out "
                 f"digits (top) and reconstructions")  # fmt: skip
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help=f"default {EPOCHS}")
    parser.add_argument("--quick", action="store_true", help="the test suite's reduced run")
    parser.add_argument("--out", default="example-output", help="folder for the picture")
    args = parser.parse_args(argv)
    run = "quick" if args.quick else "default"
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else EPOCHS)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    train_images, test_images = load_data()
    mg.manual_seed(SEED)
    model = AutoEncoder()
    print(f"digits: {len(train_images)} training and {len(test_images)} test images of 8x8")
    print(f"autoencoder: {model.num_parameters():,} parameters\n{model}\n")
    losses = train(model, train_images, test_images, epochs)

    mean_image = train_images.mean(axis=0)
    baseline = float(((test_images - mean_image) ** 2).mean())
    error = reconstruction_error(model, test_images)
    print(f"\ntest reconstruction error {error:.4f} per pixel; the mean image's {baseline:.4f} "
          f"(ratio {error / baseline:.2f}, target at most {TARGET[run]})")  # fmt: skip
    path = out / "conv-autoencoder.png"
    draw(model, test_images, losses, baseline, path)
    print(f"wrote {path}: held-out digits above their reconstructions, and the loss curve")
    if args.epochs is None and error > TARGET[run] * baseline:
        raise SystemExit(f"the autoencoder did not learn: error {error:.4f} is above "
                         f"{TARGET[run]} x the mean image's {baseline:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
