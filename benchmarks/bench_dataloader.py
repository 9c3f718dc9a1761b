"""One epoch of a shuffled DataLoader over digits-sized data, against the numpy loop a careful
person writes, and against the training step it feeds.

Data: 1,797 x 64 float32 inputs and int64 labels (the size of scikit-learn's digits), batches
of 64, shuffled every epoch (29 batches, the last of 5).

1. Time per epoch, median of interleaved runs (pauses between them, see timing.py):
   - numpy: ``perm = rng.permutation(n)``, then ``X[idx], y[idx]`` for each slice ``idx`` of it;
   - minigrad: ``for x, y in DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)``;
   - minigrad, sample by sample: the same loader over a ``Dataset`` whose ``__getitem__``
     returns one row (the general path: fetch 64 samples, then ``default_collate``).
   Target: the TensorDataset loader at most 2x numpy.
2. The loader's cost per batch next to one training step of a 64-128-10 MLP on that batch
   (forward, cross-entropy, backward, SGD). Target: at most 5% of a step.

    python benchmarks/bench_dataloader.py [--repeats N]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import interleaved, warn

import minigrad as mg
from minigrad import nn
from minigrad.utils.data import DataLoader, Dataset, TensorDataset

N, FEATURES, CLASSES, BATCH = 1797, 64, 10, 64
EPOCHS_PER_TIMING = 20
STEPS_PER_TIMING = 200


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, N).astype(np.int64)
    return x, y


def numpy_epochs(x, y, rng):
    """The fastest plain loop: one permutation, then one fancy index per array per batch."""
    for _ in range(EPOCHS_PER_TIMING):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start : start + BATCH]
            xb, yb = x[idx], y[idx]
    return xb, yb


def loader_epochs(loader):
    for _ in range(EPOCHS_PER_TIMING):
        batches = list(loader)
    return batches[-1]


class Rows(Dataset):
    """One sample per ``__getitem__``, as most hand-written datasets are."""

    def __init__(self, x, y):
        self.x, self.y = mg.tensor(x), mg.tensor(y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return len(self.y)


def training_steps(model, optimizer, xb, yb):
    for _ in range(STEPS_PER_TIMING):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    warn()
    x, y = data()
    generator = mg.Generator(0)
    fast = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)), batch_size=BATCH, shuffle=True,
                      generator=generator)  # fmt: skip
    slow = DataLoader(Rows(x, y), batch_size=BATCH, shuffle=True, generator=generator)
    batches = len(fast)
    xb, yb = next(iter(fast))
    assert xb.shape == (BATCH, FEATURES) and xb.dtype == np.float32 and yb.dtype == np.int64

    t = interleaved(
        {
            "numpy": (numpy_epochs, (x, y, np.random.default_rng(0))),
            "minigrad": (loader_epochs, (fast,)),
            "sample by sample": (loader_epochs, (slow,)),
        },
        args.repeats,
    )
    per_epoch = {name: 1e3 * t.median(name) / EPOCHS_PER_TIMING for name in t}
    print(f"1. one shuffled epoch, {N} x {FEATURES} float32, batches of {BATCH} ({batches} "
          f"batches), median of {args.repeats} runs of {EPOCHS_PER_TIMING} epochs")  # fmt: skip
    for name, ms in per_epoch.items():
        print(f"   {name:18s} {ms:8.3f} ms   ({1e3 * ms / batches:6.1f} us per batch)")
    print(f"   minigrad / numpy          {t.ratio('minigrad', 'numpy'):6.2f}x   (target <= 2x)")
    print(f"   sample by sample / numpy  {t.ratio('sample by sample', 'numpy'):6.2f}x")

    generator = mg.Generator(1)
    model = nn.Sequential(nn.Linear(FEATURES, 128, generator=generator), nn.ReLU(),
                          nn.Linear(128, CLASSES, generator=generator))  # fmt: skip
    optimizer = mg.optim.SGD(model.parameters(), lr=0.01)
    steps = interleaved({"step": (training_steps, (model, optimizer, xb, yb))}, args.repeats)
    step_ms = 1e3 * steps.median("step") / STEPS_PER_TIMING
    print(f"2. one training step of a {FEATURES}-128-{CLASSES} MLP on a batch of {BATCH}: "
          f"{step_ms:.3f} ms")  # fmt: skip
    for name in ("minigrad", "sample by sample"):
        share = per_epoch[name] / batches / step_ms
        print(f"   {name:18s} loading one batch costs {100 * share:5.1f}% of a step"
              + ("   (target <= 5%)" if name == "minigrad" else ""))  # fmt: skip


if __name__ == "__main__":
    main()
