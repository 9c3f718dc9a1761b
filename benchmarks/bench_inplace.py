"""In-place bookkeeping: an optimizer step costs the same per tensor at 100 or 10,000 tensors.

Every in-place change stamps the memory it changes (so backward can refuse a stale saved
value). That table once was swept in full on each change past 4,096 arrays, which made one
``SGD.step()`` over 4,200 parameters take ~4 s instead of ~15 ms. Here ``SGD(lr).step()``
(no momentum: one ``p -= lr * g`` per tensor) runs over 100 and over 10,000 parameter tensors
of 8 floats, against the fastest numpy loop for the same update (``np.subtract(p, lr * g,
out=p)`` per array), measured in the same run.

Target: the time per tensor at 10,000 tensors is within noise of the time at 100 (ratio ~1).

    python benchmarks/bench_inplace.py [--repeats N]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import interleaved, warn

import minigrad as mg

SIZES = (100, 10_000)
STEPS = 10
LR = 1e-3


def numpy_steps(params, grads):
    for _ in range(STEPS):
        for p, g in zip(params, grads):
            np.subtract(p, LR * g, out=p)


def minigrad_steps(optimizer):
    for _ in range(STEPS):
        optimizer.step()


def setup(n: int, rng):
    params = [mg.tensor(rng.standard_normal(8), requires_grad=True) for _ in range(n)]
    for p in params:
        p.grad = mg.tensor(rng.standard_normal(8))
    arrays = [p.data.copy() for p in params]
    grads = [p.grad.data.copy() for p in params]
    return mg.optim.SGD(params, lr=LR), arrays, grads


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    warn()
    rng = np.random.default_rng(0)
    per_tensor = {}
    print(f"SGD step, {STEPS} steps (median of {args.repeats} interleaved repeats)")
    for n in SIZES:
        optimizer, arrays, grads = setup(n, rng)
        t = interleaved(
            {
                "numpy": (numpy_steps, (arrays, grads)),
                "minigrad": (minigrad_steps, (optimizer,)),
            },
            args.repeats,
            pause=0.02,
        )
        per_tensor[n] = t.median("minigrad") / (STEPS * n) * 1e6
        numpy_us = t.median("numpy") / (STEPS * n) * 1e6
        print(
            f"  {n:>6,} tensors: minigrad {per_tensor[n]:5.2f} us/tensor, numpy "
            f"{numpy_us:5.2f} us/tensor, ratio {t.ratio('minigrad', 'numpy'):4.1f}x"
        )
    small, large = SIZES
    print(
        f"  per-tensor time at {large:,} over at {small:,}: "
        f"{per_tensor[large] / per_tensor[small]:4.2f}   (target ~1: O(1) per change)"
    )


if __name__ == "__main__":
    main()
