"""A 51x51 loss landscape of a digits MLP (mg.curvature.loss_landscape), against numpy.

500 samples of scikit-learn's digits, cross-entropy, filter-normalised directions, float32
models as users train them. Two MLPs: 64-32-10 and the demo's 64-256-128-10
(minigrad.demo.make_mlp). Target: under 30 s for the 51x51 surface. The baseline evaluates the
same 2,601 grid points with a hand-written numpy forward pass (matmuls, ReLU, log-sum-exp) on
the same directions.

    python benchmarks/bench_landscape.py [--repeats N] [--steps S]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from timing import interleaved, warn

import minigrad as mg
from minigrad import nn
from minigrad.curvature import loss_landscape
from minigrad.demo import make_mlp

SAMPLES = 500


def numpy_landscape(weights, directions, x, y, steps, span=1.0):
    """The same grid by hand: layers are (W, b) pairs of a Linear/ReLU stack."""
    grid = np.linspace(-span, span, steps)
    values = np.empty((steps, steps))
    rows = np.arange(len(y))
    for i, a in enumerate(grid):
        row = [w + a * d for w, d in zip(weights, directions[0])]
        for j, b in enumerate(grid):
            ws = [(r + b * d).astype(np.float32) for r, d in zip(row, directions[1])]
            h = x
            for k in range(0, len(ws), 2):
                h = h @ ws[k].T + ws[k + 1]
                if k + 2 < len(ws):
                    h = np.maximum(h, 0)
            h = h - h.max(axis=1, keepdims=True)
            logp = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
            values[i, j] = -logp[rows, y].mean()
    return values


def surface(model, x, y, steps):
    return loss_landscape(model, nn.functional.cross_entropy, (x, y), dims=2, steps=steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=51)
    args = parser.parse_args()
    warn()
    digits = load_digits()
    x = (digits.data[:SAMPLES] / 16.0).astype(np.float32)
    y = digits.target[:SAMPLES]
    models = {
        "64-32-10": lambda: nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)),
        "demo 64-256-128-10": lambda: nn.Sequential(*list(make_mlp())[1:]),  # x is flat
    }
    print(f"{args.steps}x{args.steps} landscape, {SAMPLES} digits, median of {args.repeats}")
    for name, make in models.items():
        mg.manual_seed(0)
        model = make()
        weights = [p.data.astype(np.float64) for p in model.parameters()]
        land = loss_landscape(model, nn.functional.cross_entropy, (x, y), dims=2, steps=3)
        expected = numpy_landscape(weights, land.directions, x, y, 3)
        np.testing.assert_allclose(land.values, expected, rtol=1e-4)  # the same numbers
        times = interleaved(
            {
                "minigrad": (surface, (model, x, y, args.steps)),
                "numpy": (numpy_landscape, (weights, land.directions, x, y, args.steps)),
            },
            repeats=args.repeats,
        )
        seconds, baseline = times.median("minigrad"), times.median("numpy")
        ratio = times.ratio("minigrad", "numpy")
        print(f"  {name:>20}: {seconds:6.2f} s (target < 30 s), numpy {baseline:6.2f} s, "
              f"ratio {ratio:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
