"""One SGD training step of an MLP, minigrad against the same step written by hand in numpy.

The network is 784-256-256-10 with ReLU, float32, a batch of 128 random inputs with random
labels (fixed seed), softmax cross-entropy. A step is forward, loss, backward and the SGD update
``p -= lr * grad``. Both implementations start from the same weights; before timing, one step
of each must give the same loss and the same parameter updates (rtol 1e-4).

The numpy step is the fastest we could write (``NumpyMLP`` says why it is fast).

1. Time per step: process CPU time, median over interleaved rounds of the per-round ratio (see
   timing.py). Target: minigrad <= 1.05x numpy.
2. Peak memory of one step (tracemalloc; numpy reports its allocations to it), numpy's
   preallocated buffers counted as part of its step. Target: <= 1.5x.
3. Memory after 100 steps, and after 10,000 steps with --long (a few minutes). Target: no growth.

    python benchmarks/bench_mlp.py [--repeats N] [--long] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
from timing import interleaved, warn

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


class NumpyMLP:
    """Forward, stable softmax cross-entropy, manual backward and SGD, as fast as we could write
    it in numpy. Why it is fast (measured, one BLAS thread):
    - every activation and gradient buffer is allocated once and written with ``out=``: a fresh
      gradient of W1 (784 KiB) comes from ``mmap`` and its pages fault in on every step;
    - the first layer's weight is kept as (in, out): ``x @ W1`` and its gradient ``x.T @ g`` run
      without a transposed weight (13% faster than ``x @ W1.T`` for the largest product), while
      the other layers stay (out, in), the layout their input-gradient products ``g @ W`` want;
    - cross-entropy's backward folds ``1 / n`` and the softmax's normaliser into one scale, the
      ReLU derivatives multiply in place, and the update is ``g *= lr; p -= g`` in place.
    ``parameters()`` gives the weights in minigrad's layouts (views, for the checks)."""

    def __init__(self, params: list[np.ndarray], batch: int = BATCH):
        W1, b1, W2, b2, W3, b3 = params
        self.weights = [np.ascontiguousarray(W1.T), b1, W2, b2, W3, b3]  # updated in place
        self.grads = [np.empty_like(w) for w in self.weights]
        f = W1.dtype
        self.h1, self.a1, self.g1 = (np.empty((batch, len(b1)), f) for _ in range(3))
        self.h2, self.a2, self.g2 = (np.empty((batch, len(b2)), f) for _ in range(3))
        self.logits = np.empty((batch, len(b3)), f)
        self.rows = np.arange(batch)

    def parameters(self) -> list[np.ndarray]:
        return [self.weights[0].T, *self.weights[1:]]

    def buffers(self) -> int:
        """Bytes of the preallocated activations and gradients."""
        arrays = [*self.grads, self.h1, self.a1, self.g1, self.h2, self.a2, self.g2, self.logits]
        return sum(a.nbytes for a in arrays)

    def step(self, x: np.ndarray, labels: np.ndarray) -> float:
        W1, b1, W2, b2, W3, b3 = self.weights
        gW1, gb1, gW2, gb2, gW3, gb3 = self.grads
        n, rows = len(labels), self.rows
        # forward
        h1 = np.matmul(x, W1, out=self.h1)
        h1 += b1
        a1 = np.maximum(h1, 0, out=self.a1)
        h2 = np.matmul(a1, W2.T, out=self.h2)
        h2 += b2
        a2 = np.maximum(h2, 0, out=self.a2)
        logits = np.matmul(a2, W3.T, out=self.logits)
        logits += b3
        logits -= logits.max(axis=1, keepdims=True)
        loss = -np.mean(logits[rows, labels])  # before exp overwrites the logits
        g = np.exp(logits, out=logits)
        total = g.sum(axis=1)
        loss += np.mean(np.log(total))
        # backward: d loss / d logits = (softmax - onehot) / n
        g *= (1 / (n * total))[:, None]
        g[rows, labels] -= 1 / n
        np.matmul(g.T, a2, out=gW3)
        np.sum(g, axis=0, out=gb3)
        g2 = np.matmul(g, W3, out=self.g2)
        g2 *= h2 > 0
        np.matmul(g2.T, a1, out=gW2)
        np.sum(g2, axis=0, out=gb2)
        g1 = np.matmul(g2, W2, out=self.g1)
        g1 *= h1 > 0
        np.matmul(x.T, g1, out=gW1)
        np.sum(g1, axis=0, out=gb1)
        # update
        for w, grad in zip(self.weights, self.grads):
            grad *= LR
            w -= grad
        return float(loss)


# ----- setup and checks --------------------------------------------------------------------------


def setup(seed: int = 0):
    """The model, the numpy step from a copy of its parameters, and the data."""
    mg.manual_seed(seed)
    model = MLP()
    by_hand = NumpyMLP([p.data.copy() for p in model.parameters()])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], BATCH)
    return model, by_hand, x, labels


def check_same_step(quiet: bool = False) -> None:
    """One step each from the same weights: same loss, same updates, float32 throughout."""
    model, by_hand, x, labels = setup()
    before = [p.copy() for p in by_hand.parameters()]
    loss_mg = minigrad_step(model, mg.tensor(x), labels)
    loss_np = by_hand.step(x, labels)
    np.testing.assert_allclose(loss_mg, loss_np, rtol=1e-4)
    for (name, p), p_np, p0 in zip(model.named_parameters(), by_hand.parameters(), before):
        assert p.dtype == np.float32, f"{name} became {p.dtype}"
        update_mg = p.data.astype(np.float64) - p0
        update_np = p_np.astype(np.float64) - p0
        # Updates are differences of float32 numbers near |p| ~ 0.05: allow for their rounding.
        atol = 4 * np.finfo(np.float32).eps * np.abs(p0).max()
        np.testing.assert_allclose(update_mg, update_np, rtol=1e-4, atol=atol, err_msg=name)
        assert np.abs(update_np).max() > 100 * atol, f"{name}: the update is too small to check"
    if quiet:
        return
    print(f"check: one step from the same weights gives the same loss ({loss_np:.6f}) and the")
    print("       same updates in minigrad and numpy (rtol 1e-4), float32 throughout")


# ----- measurements ------------------------------------------------------------------------------


def time_steps(repeats: int, quick: bool = False) -> None:
    model, by_hand, x, labels = setup()
    x_mg = mg.tensor(x)

    def run_minigrad():
        for _ in range(STEPS_PER_TIMING):
            minigrad_step(model, x_mg, labels)

    def run_numpy():
        for _ in range(STEPS_PER_TIMING):
            by_hand.step(x, labels)

    run_minigrad(), run_numpy()  # warm up
    t = interleaved({"numpy": (run_numpy, ()), "minigrad": (run_minigrad, ())}, repeats)
    ms = {name: t.median(name) / STEPS_PER_TIMING * 1e3 for name in t}
    ratio, (low, high) = t.ratio("minigrad", "numpy"), t.spread("minigrad", "numpy")
    if not quick:
        print(f"1. time per training step, process CPU time (median of {repeats} interleaved "
              f"rounds of {STEPS_PER_TIMING} steps)")  # fmt: skip
    print(f"MLP step: minigrad / numpy {ratio:5.2f}x (rounds {low:.2f}-{high:.2f}; numpy "
          f"{ms['numpy']:.2f} ms, minigrad {ms['minigrad']:.2f} ms; target <= 1.05x)")  # fmt: skip


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
    model, by_hand, x, labels = setup()
    x_mg = mg.tensor(x)
    peak_np = peak_of_one_step(by_hand.step, x, labels) + by_hand.buffers()
    peak_mg = peak_of_one_step(minigrad_step, model, x_mg, labels)
    weights = sum(p.nbytes for p in by_hand.parameters())
    print("2. peak memory of one step above the resting state (tracemalloc; numpy's buffers")
    print("   for activations and gradients, allocated once, are counted in its step)")
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
    parser.add_argument("--quick", action="store_true", help="a short run: the ratio line only")
    args = parser.parse_args()
    warn()
    if args.quick:
        check_same_step(quiet=True)
        time_steps(10, quick=True)
        return
    print(f"MLP {'-'.join(map(str, SIZES))}, ReLU, float32, batch {BATCH}, SGD lr {LR}")
    check_same_step()
    time_steps(args.repeats)
    measure_peak()
    measure_growth(args.long)


if __name__ == "__main__":
    main()
