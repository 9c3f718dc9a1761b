"""Per-op overhead of minigrad's tape, against numpy doing the same arithmetic in the same run.

1. A chain of 200 small elementwise ops (mul, add, tanh, sin on 16 floats): minigrad's
   forward+backward time per op, divided by numpy's forward-only time per op.
   Target: at most 10x.
2. A 100,000-op deep chain, forward+backward: minigrad against a hand-written numpy loop that
   does the same forward arithmetic and the same backward arithmetic. Target: at most 8x.

Process CPU time over interleaved rounds, with a short pause between runs; a ratio is the
median of each round's ratio (see timing.py).

The numpy loops are the fastest form we found: on 16 floats a ufunc call costs ~0.3 us whatever
its form, and ``out=`` buffers (preallocated saved values, in-place forward) measured 0-4% slower
than fresh arrays (numpy keeps a cache of small allocations), so the loops allocate and update the
backward's running product in place. Not done: since every op of this chain is elementwise, its
backward could be one vectorised product over all the saved factors; that would time the chain's
special structure, not a reverse pass, which is what minigrad runs for any graph.

    python benchmarks/bench_overhead.py [--repeats N] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import interleaved, warn

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
        g *= cos_t
        g *= 1 - t * t
        g *= a
    return g


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a short run: the ratio lines only")
    args = parser.parse_args()
    warn()
    repeats = 7 if args.quick else args.repeats
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
        repeats,
        pause=0.02,
    )
    per_op_np = t.median("numpy forward") / (50 * steps) * 1e6
    per_op_mg = t.median("minigrad fwd+bwd") / (50 * steps) * 1e6
    pair = ("minigrad fwd+bwd", "numpy forward")
    ratio, (low, high) = t.ratio(*pair), t.spread(*pair)
    if not args.quick:
        print(f"1. chain of {steps} elementwise ops on {N_ELEMENTS} floats, process CPU time "
              f"(median of {repeats} interleaved rounds)")  # fmt: skip
    print(f"per-op chain: minigrad fwd+bwd / numpy fwd {ratio:5.2f}x (rounds {low:.2f}-"
          f"{high:.2f}; numpy {per_op_np:.2f} us/op, minigrad {per_op_mg:.2f} us/op; "
          "target <= 10x)")  # fmt: skip

    depth = 100_000
    deep_repeats = 3 if args.quick else max(3, args.repeats // 3)
    t = interleaved(
        {
            "numpy by hand": (chain_numpy_forward_backward, (x, a, b, depth)),
            "minigrad": (chain_minigrad, (x, a, b, depth)),
        },
        deep_repeats,
        pause=0.02,
    )
    by_hand, ours = t.median("numpy by hand"), t.median("minigrad")
    ratio, (low, high) = t.ratio("minigrad", "numpy by hand"), t.spread("minigrad", "numpy by hand")
    if not args.quick:
        print(f"2. deep chain of {depth:,} ops, forward+backward, process CPU time (median of "
              f"{deep_repeats} interleaved rounds)")  # fmt: skip
    print(f"deep chain: minigrad / numpy {ratio:5.2f}x (rounds {low:.2f}-{high:.2f}; "
          f"numpy {by_hand:.3f} s, minigrad {ours:.3f} s; target <= 6x)")  # fmt: skip


if __name__ == "__main__":
    main()
