"""Learning-rate schedules from ``mg.optim.lr_scheduler`` and their effect on training.

The same model (the two-moons MLP of ``moons_mlp.py``, 2-16-16-2 with tanh, same initial
weights) is trained six times with mini-batch SGD (momentum 0.9, batches of 25, 40 epochs of 16
steps: 640 steps, the same batches in the same order each time). Only the learning rate's
schedule changes, stepped once per batch (``ReduceLROnPlateau`` once per epoch, on the epoch's
mean loss):

- constant, lr 0.2;
- ``StepLR``: 0.2, times 0.3 every 160 steps;
- ``CosineAnnealingLR``: 0.2 down to 0 over the 640 steps;
- ``OneCycleLR``: up from 0.02 to 0.5 over the first 30% of the steps, then down to 2e-6 (and
  the momentum the other way, 0.95 -> 0.85 -> 0.95);
- ``LinearLR`` warm-up (x0.05 -> x1 over 64 steps) chained with ``CosineAnnealingLR``: two
  schedulers on one optimizer multiply, as in PyTorch;
- ``ReduceLROnPlateau``: 0.2, halved after 3 epochs without a 1% improvement.

With a constant rate the mini-batch noise keeps the loss from settling; a rate that decays to
zero lets it: over the last epoch, the loss on the whole training set moves by a few hundredths
with the constant rate and at least 100 times less with the three schedules that end near zero
(the script checks it). The script also checks the rates it recorded against the closed forms
of StepLR, the cosine and warm-up x cosine, prints each run's final loss, and draws the rate and
the loss on the whole training set per step in ``OUT/lr-schedules.png``.

Run it with ``python examples/lr_schedules.py [--out FOLDER]`` (default: ``example-output``).
"""

from __future__ import annotations

import argparse
import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# The data and the model of examples/moons_mlp.py (a script's folder is on sys.path).
from moons_mlp import make_model, make_moons  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.optim import lr_scheduler as sched  # noqa: E402

LR = 0.2
MOMENTUM = 0.9
BATCH = 25
EPOCHS = 40
POINTS = 400
STEPS_PER_EPOCH = POINTS // BATCH
STEPS = EPOCHS * STEPS_PER_EPOCH
WARMUP = 64
DECAY_TO_ZERO = ("CosineAnnealingLR", "OneCycleLR", "warm-up x cosine")


def schedules(optimizer) -> dict:
    """The schedules by name, each a list of schedulers stepped after every batch."""
    return {
        "constant": lambda: [],
        "StepLR": lambda: [sched.StepLR(optimizer, step_size=STEPS // 4, gamma=0.3)],
        "CosineAnnealingLR": lambda: [sched.CosineAnnealingLR(optimizer, T_max=STEPS)],
        "OneCycleLR": lambda: [sched.OneCycleLR(optimizer, max_lr=0.5, total_steps=STEPS)],
        "warm-up x cosine": lambda: [
            sched.LinearLR(optimizer, start_factor=0.05, total_iters=WARMUP),
            sched.CosineAnnealingLR(optimizer, T_max=STEPS),
        ],
        "ReduceLROnPlateau": lambda: [
            sched.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, threshold=0.01)
        ],  # fmt: skip
    }


NAMES = list(schedules(None))


def closed_form(name: str, t: int) -> float | None:
    """The rate at step t, from the formulas in the schedulers' docstrings (None: not checked)."""
    cosine = (1 + math.cos(math.pi * t / STEPS)) / 2
    if name == "constant":
        return LR
    if name == "StepLR":
        return LR * 0.3 ** (t // (STEPS // 4))
    if name == "CosineAnnealingLR":
        return LR * cosine
    if name == "warm-up x cosine":
        return LR * (0.05 + 0.95 * min(t, WARMUP) / WARMUP) * cosine
    return None


def train(name: str, x: np.ndarray, y: np.ndarray, batches: list) -> tuple[list, list]:
    """The rate used at each step and the training-set loss after it."""
    model = make_model()
    optimizer = mg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    schedulers = schedules(optimizer)[name]()
    inputs = mg.tensor(x)
    rates, losses = [], []
    for epoch in range(EPOCHS):
        epoch_loss = 0.0
        for batch in batches[epoch]:
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(mg.tensor(x[batch])), y[batch])
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item() / STEPS_PER_EPOCH
            for scheduler in schedulers:
                if not isinstance(scheduler, sched.ReduceLROnPlateau):
                    scheduler.step()
            with mg.no_grad():
                losses.append(nn.functional.cross_entropy(model(inputs), y).item())
        for scheduler in schedulers:
            if isinstance(scheduler, sched.ReduceLROnPlateau):
                scheduler.step(epoch_loss)
    return rates, losses


def last_epoch_spread(losses: list) -> float:
    """How much the training-set loss moved over the last epoch: max - min."""
    last = losses[-STEPS_PER_EPOCH:]
    return max(last) - min(last)


def plot(runs: dict, path: pathlib.Path) -> None:
    fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.8), dpi=100)
    steps = np.arange(1, STEPS + 1)
    for name, (rates, losses) in runs.items():
        ax_lr.plot(steps, rates, lw=1.6, label=name)
        ax_loss.semilogy(steps, losses, lw=1.2, label=f"{name}: {losses[-1]:.4f}")
    for epoch in range(0, EPOCHS + 1, 10):
        ax_lr.axvline(epoch * STEPS_PER_EPOCH, color="0.85", lw=0.8, zorder=0)
    ax_lr.set(xlabel="step (16 per epoch)", ylabel="learning rate",
              title="the learning rate at each step")  # fmt: skip
    ax_loss.set(xlabel="step", ylabel="loss on the whole training set (log scale)",
                title="training loss after each step")  # fmt: skip
    ax_lr.legend(fontsize=9)
    ax_loss.legend(fontsize=9, title="schedule: final loss", title_fontsize=9)
    for ax in (ax_lr, ax_loss):
        ax.grid(True, alpha=0.3)
        ax.set_xlim(0, STEPS)
    fig.suptitle(f"The moons MLP, SGD with momentum {MOMENTUM}, batches of {BATCH}, "
                 f"{EPOCHS} epochs: six learning-rate schedules", fontsize=12)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the picture")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    x, y = make_moons(POINTS, noise=0.2)
    rng = np.random.default_rng(1)
    batches = [np.split(rng.permutation(POINTS), STEPS_PER_EPOCH) for _ in range(EPOCHS)]
    print(f"two moons, {POINTS} points; SGD(momentum={MOMENTUM}), batches of {BATCH}, "
          f"{EPOCHS} epochs = {STEPS} steps\n")  # fmt: skip
    print(f"{'schedule':<19} {'final loss':>10}  {'lowest':>8}  {'last lr':>9}  "
          f"{'last epoch: max - min':>21}")  # fmt: skip
    runs = {}
    for name in NAMES:
        rates, losses = train(name, x, y, batches)
        runs[name] = rates, losses
        print(f"{name:<19} {losses[-1]:10.4f}  {min(losses):8.4f}  {rates[-1]:9.2e}  "
              f"{last_epoch_spread(losses):21.1e}")  # fmt: skip
        for t, rate in enumerate(rates):
            expected = closed_form(name, t)
            if expected is not None and not math.isclose(rate, expected, rel_tol=1e-9,
                                                          abs_tol=1e-15):  # fmt: skip
                raise SystemExit(f"{name}: lr {rate} at step {t}, the closed form says {expected}")
    print(
        "\nthe rates of constant, StepLR, CosineAnnealingLR and warm-up x cosine match their "
        "closed forms at every step"
    )
    noise = last_epoch_spread(runs["constant"][1])
    for name in DECAY_TO_ZERO:
        if not last_epoch_spread(runs[name][1]) < noise / 100:
            raise SystemExit(f"{name}: a rate decayed to zero should let the loss settle")
    print(f"with a rate that ends near 0 ({', '.join(DECAY_TO_ZERO)}) the loss settles: over "
          f"the last epoch it moves less than 1% as much as with the constant rate")  # fmt: skip

    path = out / "lr-schedules.png"
    plot(runs, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
