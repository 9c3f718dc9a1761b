"""Gradients, Hessian-vector products and full Hessians of a logistic loss, against closed forms.

f(w) = mean(log(1 + exp(-y * (X @ w)))), X of shape (256, n), y in {-1, 1}, float64, for
n = 50, 200 and 800. With z = X @ w, p = sigmoid(z) and N = 256 rows:

    gradient  X^T (-y sigmoid(-y z)) / N
    HVP       X^T (p (1 - p) * (X v)) / N
    Hessian   X^T diag(p (1 - p)) X / N

minigrad's ``mg.grad``, ``mg.hvp`` and ``mg.hessian`` of the same loss, written as a user writes
it, are timed against those formulas in numpy, written as fast as we could make them:
- the gradient: two matrix-vector products (``X @ w``, then ``r @ X``, which reads X in its
  row-major order), the elementwise work in place on the N-vector, ``1 / N`` folded into it;
- the HVP, two forms, and the faster one in each round is the baseline: three matrix-vector
  products, or ``X @ [w v]`` as one product with two columns (X read once instead of twice:
  faster from n = 200, slower at n = 50 where the stacking costs more than it saves);
- the Hessian, two forms, the faster one in each round: ``X.T @ (X * c[:, None])`` with
  ``c = p (1 - p) / N``, or ``Xs.T @ Xs`` with ``Xs = X * sqrt(c)[:, None]``, which numpy runs
  as a symmetric rank-k update (``syrk``, half the multiplications: 0.6x the time of the first
  form at n = 800, 0.85x at n = 200, 1.3x at n = 50). ``c >= 0`` for this loss.
Ratios reported: gradient / closed-form gradient; HVP / gradient, for minigrad and for the closed
forms; Hessian / closed-form Hessian. Every result is first checked against the closed form.

    python benchmarks/bench_hessian.py [--repeats N] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import Timings, calls_for, interleaved, warn

import minigrad as mg

ROWS = 256
SIZES = (50, 200, 800)


def problem(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((ROWS, n)) / np.sqrt(n)
    y = rng.choice([-1.0, 1.0], ROWS)
    w = rng.standard_normal(n) * 0.5
    v = rng.standard_normal(n)
    return X, y, w, v


def loss_fn(X, y):
    def loss(w):
        return mg.log(1 + mg.exp(-y * (X @ w))).mean()

    return loss


# ----- closed forms in numpy ---------------------------------------------------------------------


def closed_gradient(X, y, w):
    r = np.exp(y * (X @ w))
    r += 1
    np.divide(y, r, out=r)  # y sigmoid(-y z)
    r *= -1 / len(y)
    return r @ X


def closed_hvp(X, y, w, v):
    """Three matrix-vector products."""
    p = np.exp(-(X @ w))
    p += 1
    np.reciprocal(p, out=p)
    u = X @ v
    u *= p * (1 - p)
    u *= 1 / len(y)
    return u @ X


def closed_hvp_stacked(X, y, w, v):
    """``X @ w`` and ``X @ v`` as one product: X is read once."""
    zu = X @ np.stack((w, v), axis=1)
    p = np.exp(-zu[:, 0])
    p += 1
    np.reciprocal(p, out=p)
    u = p * (1 - p)
    u *= zu[:, 1]
    u *= 1 / len(y)
    return u @ X


def curvature(X, w, rows):
    """p (1 - p) / N, the weights of the Hessian's rows."""
    p = np.exp(-(X @ w))
    p += 1
    np.reciprocal(p, out=p)
    p *= 1 - p
    p *= 1 / rows
    return p


def closed_hessian(X, y, w):
    """``X^T (X * c[:, None])``: one matrix product."""
    return X.T @ (X * curvature(X, w, len(y))[:, None])


def closed_hessian_syrk(X, y, w):
    """``Xs^T Xs``, ``Xs = X * sqrt(c)[:, None]``: numpy sees one operand twice and calls syrk."""
    Xs = X * np.sqrt(curvature(X, w, len(y)))[:, None]
    return Xs.T @ Xs


# ----- main --------------------------------------------------------------------------------------


def faster(t: Timings, name: str, first: str, second: str) -> None:
    """A row ``name`` holding, in each round, the faster of ``first`` and ``second``."""
    t[name] = [min(a, b) for a, b in zip(t[first], t[second], strict=True)]


def measure(n: int, repeats: int, seconds: float):
    X, y, w, v = problem(n)
    loss = loss_fn(X, y)
    grad, hessian = mg.grad(loss), mg.hessian(loss)

    def hvp(w, v):
        return mg.hvp(loss, (w,), (v,))

    H = closed_hessian(X, y, w)
    np.testing.assert_allclose(grad(w).data, closed_gradient(X, y, w), rtol=1e-10, atol=1e-14)
    for product in (hvp(w, v).data, closed_hvp(X, y, w, v), closed_hvp_stacked(X, y, w, v)):
        np.testing.assert_allclose(product, H @ v, rtol=1e-9, atol=1e-14)
    for full in (hessian(w).data, closed_hessian_syrk(X, y, w)):
        np.testing.assert_allclose(full, H, rtol=1e-9, atol=1e-14)
    assert np.abs(H).max() > 1e-5 and np.abs(H @ v).max() > 1e-5  # far above the atol

    runs = {
        "closed gradient": (closed_gradient, (X, y, w)),
        "closed HVP (3 products)": (closed_hvp, (X, y, w, v)),
        "closed HVP (stacked)": (closed_hvp_stacked, (X, y, w, v)),
        "closed Hessian (gemm)": (closed_hessian, (X, y, w)),
        "closed Hessian (syrk)": (closed_hessian_syrk, (X, y, w)),
        "mg.grad": (grad, (w,)),
        "mg.hvp": (hvp, (w, v)),
        "mg.hessian": (hessian, (w,)),
    }
    calls = {name: calls_for(fn, args, seconds) for name, (fn, args) in runs.items()}
    t = interleaved(runs, repeats, pause=0.02, calls=calls)
    faster(t, "closed HVP", "closed HVP (3 products)", "closed HVP (stacked)")
    faster(t, "closed Hessian", "closed Hessian (gemm)", "closed Hessian (syrk)")
    return t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a short run: the ratio lines only")
    args = parser.parse_args()
    warn()
    repeats, seconds = (7, 0.004) if args.quick else (args.repeats, 0.02)
    if not args.quick:
        print(f"logistic loss, X of {ROWS} x n, float64; process CPU time per call, median of "
              f"{repeats} interleaved rounds; ratios are medians of per-round ratios "
              "(quartiles over rounds in brackets)")  # fmt: skip
    ratios = (
        ("gradient / closed form", "mg.grad", "closed gradient", "<= 3x at 800, 10x at 50"),
        ("HVP / gradient", "mg.hvp", "mg.grad", "<= 1.5x at 800, 2.0x at 50"),
        ("closed HVP / closed gradient", "closed HVP", "closed gradient", ""),
        ("Hessian / closed form", "mg.hessian", "closed Hessian", "<= 2.5x at 800, 5x at 50"),
    )
    for n in SIZES:
        t = measure(n, repeats, seconds)
        if not args.quick:
            print(f"n = {n}: " + ", ".join(f"{name} {t.median(name) * 1e6:.1f} us" for name in t))
        for label, name, baseline, target in ratios:
            low, high = t.spread(name, baseline)
            print(f"n = {n:3d}: {label:30s} {t.ratio(name, baseline):5.2f}x [{low:.2f}-{high:.2f}]"
                  + (f"   (target {target})" if target else ""))  # fmt: skip
        if not args.quick:
            print(f"         (closed Hessian as X.T @ (X * c[:, None]) only: Hessian / closed form "
                  f"{t.ratio('mg.hessian', 'closed Hessian (gemm)'):.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
