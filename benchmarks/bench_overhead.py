"""Per-op overhead of minigrad's tape, against numpy doing the same arithmetic in the same run.

1. A chain of 200 small elementwise ops (mul, add, tanh, sin on 16 floats): minigrad's
   forward+backward time per op, divided by numpy's forward-only time per op.
   Target: at most 10x.
2. A 100,000-op deep chain, forward+backward: minigrad against a hand-written numpy loop that
   does the same forward arithmetic and the same backward arithmetic. Target: at most 8x.

Implementations are interleaved, with a short pause between them, and the ratio is the median
of each repeat's ratio (see timing.py).

    python benchmarks/bench_overhead.py [--repeats N]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import interleaved

import minigrad as mg

N_ELEMENTS = 16


def chain_numpy_forward(x, a, b, steps):
    """The chain's forward arithmetic in numpy: what the ratio's denominator measures."""
    for _ in range(steps // 4):
        x = np.sin(np.tanh(x * a + b))
    return x


def chain_minigrad(x, a, b, steps):
    """Forward and backward of the same chain in minigrad."""
    x = mg.Tensor(x, requires_grad=True)
    y = x
    for _ in range(steps // 4):
        y = (y * a + b).tanh().sin()
    y.sum().backward()
    return x.grad


def chain_numpy_forward_backward(x, a, b, steps):
    """The deep chain by hand: forward saving what backward needs, then backward."""
    saved = []
    for _ in range(steps // 4):
        u = x * a + b
        t = np.tanh(u)
        saved.append((t, np.cos(t)))
        x = np.sin(t)
    g = np.ones_like(x)
    for t, cos_t in reversed(saved):
        g = g * cos_t
        g = g * (1 - t * t)
        g = g * a
    return g


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x, a, b = (rng.standard_normal(N_ELEMENTS) * 0.5 for _ in range(3))

    # Check the two deep-chain implementations agree before timing them.
    np.testing.assert_allclose(
        chain_minigrad(x, a, b, 400).data, chain_numpy_forward_backward(x, a, b, 400), rtol=1e-10
    )

    steps = 200
    # NOTE: no matrix products here, so no OpenBLAS threads to wait for: a short pause keeps
    # each pair of runs close in time.
    t = interleaved(
        {
            "numpy forward": (lambda: [chain_numpy_forward(x, a, b, steps) for _ in range(50)], ()),
            "minigrad fwd+bwd": (lambda: [chain_minigrad(x, a, b, steps) for _ in range(50)], ()),
        },
        args.repeats,
        pause=0.02,
    )
    per_op_np = t.median("numpy forward") / (50 * steps) * 1e6
    per_op_mg = t.median("minigrad fwd+bwd") / (50 * steps) * 1e6
    ratio = t.ratio("minigrad fwd+bwd", "numpy forward")
    print(f"1. chain of {steps} elementwise ops on {N_ELEMENTS} floats (median of {args.repeats})")
    print(f"   numpy forward only      {per_op_np:6.2f} us/op")
    print(f"   minigrad forward+backward {per_op_mg:6.2f} us/op")
    print(f"   ratio {ratio:5.1f}x   (target <= 10x)")

    depth = 100_000
    deep_repeats = max(3, args.repeats // 3)
    t = interleaved(
        {
            "numpy by hand": (chain_numpy_forward_backward, (x, a, b, depth)),
            "minigrad": (chain_minigrad, (x, a, b, depth)),
        },
        deep_repeats,
        pause=0.02,
    )
    by_hand, ours = t.median("numpy by hand"), t.median("minigrad")
    print(f"2. deep chain of {depth:,} ops, forward+backward (median of {deep_repeats})")
    print(f"   numpy by hand {by_hand:6.3f} s   minigrad {ours:6.3f} s")
    print(f"   ratio {t.ratio('minigrad', 'numpy by hand'):5.1f}x   (target <= 8x)")


if __name__ == "__main__":
    main()
