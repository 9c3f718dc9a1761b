"""One SGD training step of an MLP, minigrad against the same step written by hand in numpy.

The network is 784-256-256-10 with ReLU, float32, a batch of 128 random inputs with random
labels (fixed seed), softmax cross-entropy. A step is forward, loss, backward and the SGD update
``p -= lr * grad``. Both implementations start from the same weights; before timing, one step
of each must give the same loss and the same parameter updates (rtol 1e-4).

1. Time per step, median of interleaved runs (pauses between them: OpenBLAS threads spin after
   products on 2-core machines). Target: minigrad <= 1.10x numpy.
2. Peak memory of one step (tracemalloc; numpy reports its allocations to it). Target: <= 1.5x.
3. Memory after 100 steps, and after 10,000 steps with --long (a few minutes). Target: no growth.

    python benchmarks/bench_mlp.py [--repeats N] [--long]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
from timing import interleaved

import minigrad as mg
from minigrad import nn

SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 0.01
STEPS_PER_TIMING = 10


class MLP(nn.Module):
    """784-256-256-10 with ReLU, as a user would write it."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(SIZES[0], SIZES[1])
        self.fc2 = nn.Linear(SIZES[1], SIZES[2])
        self.fc3 = nn.Linear(SIZES[2], SIZES[3])

    def forward(self, x):
        return self.fc3(mg.relu(self.fc2(mg.relu(self.fc1(x)))))


# ----- the two implementations -------------------------------------------------------------------


def minigrad_step(model: MLP, x: mg.Tensor, labels: np.ndarray) -> float:
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    with mg.no_grad():
        for p in model.parameters():
            p.data -= LR * p.grad.data
    model.zero_grad()
    return loss.item()


def numpy_step(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    """Forward, stable softmax cross-entropy, manual backward and SGD, as a numpy user writes it.
    ``params`` = [W1, b1, W2, b2, W3, b3], weights (out, in), updated in place."""
    W1, b1, W2, b2, W3, b3 = params
    n = len(labels)
    rows = np.arange(n)
    # forward
    h1 = x @ W1.T + b1
    a1 = np.maximum(h1, 0)
    h2 = a1 @ W2.T + b2
    a2 = np.maximum(h2, 0)
    logits = a2 @ W3.T + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    loss = -(shifted[rows, labels] - np.log(total[:, 0])).mean()
    # backward: d loss / d logits = (softmax - onehot) / n
    g = exp / total
    g[rows, labels] -= 1
    g /= n
    gW3, gb3 = g.T @ a2, g.sum(axis=0)
    g = g @ W3
    g *= h2 > 0
    gW2, gb2 = g.T @ a1, g.sum(axis=0)
    g = g @ W2
    g *= h1 > 0
    gW1, gb1 = g.T @ x, g.sum(axis=0)
    # update
    for p, grad in zip(params, (gW1, gb1, gW2, gb2, gW3, gb3)):
        p -= LR * grad
    return float(loss)


# ----- setup and checks --------------------------------------------------------------------------


def setup(seed: int = 0):
    """The model, a copy of its parameters for numpy (same order), and the data."""
    mg.manual_seed(seed)
    model = MLP()
    params = [p.data.copy() for p in model.parameters()]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    return model, params, x, labels


def check_same_step() -> None:
    """One step each from the same weights: same loss, same updates, float32 throughout."""
    model, params, x, labels = setup()
    before = [p.copy() for p in params]
    loss_mg = minigrad_step(model, mg.tensor(x), labels)
    loss_np = numpy_step(params, x, labels)
    np.testing.assert_allclose(loss_mg, loss_np, rtol=1e-4)
    for (name, p), p_np, p0 in zip(model.named_parameters(), params, before):
        assert p.dtype == np.float32, f"{name} became {p.dtype}"
        update_mg = p.data.astype(np.float64) - p0
        update_np = p_np.astype(np.float64) - p0
        # Updates are differences of float32 numbers near |p| ~ 0.05: allow for their rounding.
        atol = 4 * np.finfo(np.float32).eps * np.abs(p0).max()
        np.testing.assert_allclose(update_mg, update_np, rtol=1e-4, atol=atol, err_msg=name)
        assert np.abs(update_np).max() > 100 * atol, f"{name}: the update is too small to check"
    print(f"check: one step from the same weights gives the same loss ({loss_np:.6f}) and the")
    print("       same updates in minigrad and numpy (rtol 1e-4), float32 throughout")


# ----- measurements ------------------------------------------------------------------------------


def time_steps(repeats: int) -> None:
    model, params, x, labels = setup()
    x_mg = mg.tensor(x)

    def run_minigrad():
        for _ in range(STEPS_PER_TIMING):
            minigrad_step(model, x_mg, labels)

    def run_numpy():
        for _ in range(STEPS_PER_TIMING):
            numpy_step(params, x, labels)

    run_minigrad(), run_numpy()  # warm up
    t = interleaved({"numpy": (run_numpy, ()), "minigrad": (run_minigrad, ())}, repeats)
    ms = {name: t.median(name) / STEPS_PER_TIMING * 1e3 for name in t}
    print(f"1. time per training step (median of {repeats} runs of {STEPS_PER_TIMING} steps)")
    print(f"   numpy by hand {ms['numpy']:7.2f} ms   minigrad {ms['minigrad']:7.2f} ms")
    print(f"   ratio {t.ratio('minigrad', 'numpy'):5.2f}x   (target <= 1.10x)")


def peak_of_one_step(step, *args) -> int:
    """Bytes allocated at the peak of one call, above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        step(*args)  # warm up under tracing (lazily created state is then in place)
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step(*args)
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def measure_peak() -> None:
    model, params, x, labels = setup()
    x_mg = mg.tensor(x)
    peak_np = peak_of_one_step(numpy_step, params, x, labels)
    peak_mg = peak_of_one_step(minigrad_step, model, x_mg, labels)
    weights = sum(p.nbytes for p in params)
    print("2. peak memory of one step above the resting state (tracemalloc)")
    print(f"   numpy by hand {peak_np / 2**20:6.2f} MiB   minigrad {peak_mg / 2**20:6.2f} MiB   "
          f"(the weights are {weights / 2**20:.2f} MiB)")  # fmt: skip
    print(f"   ratio {peak_mg / peak_np:5.2f}x   (target <= 1.5x)")


def measure_growth(long: bool) -> None:
    """Memory held after 100 steps and after 10,000 steps: a leak shows as growth."""
    model, _, x, labels = setup()
    x_mg = mg.tensor(x)
    minigrad_step(model, x_mg, labels)  # warm up before tracing
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        held = {}
        checkpoints = (100, 10_000) if long else (100,)
        done, start = 0, time.perf_counter()
        for target in checkpoints:
            while done < target:
                minigrad_step(model, x_mg, labels)
                done += 1
            gc.collect()
            held[target] = tracemalloc.get_traced_memory()[0] - base
        elapsed = time.perf_counter() - start
    finally:
        tracemalloc.stop()
    print("3. memory held after training steps, above the state after one step (tracemalloc)")
    for steps, size in held.items():
        print(f"   after {steps:6,} steps: {size / 2**10:8.1f} KiB")
    if long:
        growth = held[10_000] - held[100]
        print(f"   growth from 100 to 10,000 steps: {growth / 2**10:.1f} KiB = "
              f"{growth / 9_900:.2f} bytes/step   (target: none)   [{elapsed:.0f} s]")  # fmt: skip
    else:
        print("   note: the 10,000-step comparison is skipped by default (it takes a few minutes);")
        print("         run with --long to measure growth from 100 to 10,000 steps")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--long", action="store_true", help="also run 10,000 steps (slow)")
    args = parser.parse_args()
    print(f"MLP {'-'.join(map(str, SIZES))}, ReLU, float32, batch {BATCH}, SGD lr {LR}")
    check_same_step()
    time_steps(args.repeats)
    measure_peak()
    measure_growth(args.long)


if __name__ == "__main__":
    main()
