"""Hessians and Hessian-vector products of logistic regression, against the closed form.

f(w) = sum(log(1 + exp(-y * (X @ w)))) + 0.5 * ||w||^2, X of shape (256, n), float64.
Its Hessian is X^T diag(s(1-s)) X + I with s = sigmoid(X @ w), which numpy computes directly.

1. Full Hessian (mg.hessian, forward-over-reverse) / closed form, n = 800 (target <= 3x) and
   n = 50 (target <= 15x).
2. One HVP (mg.hvp) / one gradient (mg.grad) of f, n = 800 (target <= 1.8x).

    python benchmarks/bench_hessian.py [--repeats N]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import interleaved

import minigrad as mg

ROWS = 256


def problem(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((ROWS, n)) / np.sqrt(n)
    y = rng.choice([-1.0, 1.0], ROWS)
    w = rng.standard_normal(n) * 0.5
    return X, y, w


def loss_fn(X, y):
    def loss(w):
        return mg.log(1 + mg.exp(-y * (X @ w))).sum() + 0.5 * (w * w).sum()

    return loss


def closed_form_hessian(X, y, w):
    s = 1 / (1 + np.exp(-(X @ w)))
    return (X * (s * (1 - s))[:, None]).T @ X + np.eye(X.shape[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    for n, target in ((800, 3), (50, 15)):
        X, y, w = problem(n)
        hessian = mg.hessian(loss_fn(X, y))
        np.testing.assert_allclose(hessian(w).data, closed_form_hessian(X, y, w), atol=1e-10)
        t = interleaved(
            {"closed form": (closed_form_hessian, (X, y, w)), "minigrad": (hessian, (w,))},
            args.repeats,
        )
        ratio = t.ratio("minigrad", "closed form")
        closed, ours = t.median("closed form") * 1e3, t.median("minigrad") * 1e3
        print(f"1. Hessian, n = {n}: closed form {closed:7.2f} ms, minigrad {ours:7.2f} ms   "
              f"ratio {ratio:5.2f}x (target <= {target}x)")  # fmt: skip

    n = 800
    X, y, w = problem(n)
    v = np.random.default_rng(1).standard_normal(n)
    loss = loss_fn(X, y)
    grad, hvp = mg.grad(loss), (lambda w, v: mg.hvp(loss, (w,), (v,)))
    np.testing.assert_allclose(hvp(w, v).data, closed_form_hessian(X, y, w) @ v, atol=1e-10)
    repeats = 20 * args.repeats
    t = interleaved({"grad": (grad, (w,)), "hvp": (hvp, (w, v))}, repeats, pause=0.02)
    ratio, us_grad, us_hvp = t.ratio("hvp", "grad"), t.median("grad") * 1e6, t.median("hvp") * 1e6
    print(f"2. n = {n}: gradient {us_grad:7.1f} us, HVP {us_hvp:7.1f} us   "
          f"ratio {ratio:5.2f}x (target <= 1.8x)")  # fmt: skip


if __name__ == "__main__":
    main()
