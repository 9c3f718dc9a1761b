"""The MLP whose Hessian spectrum tests/test_curvature_spectrum.py checks and
benchmarks/bench_spectrum.py measures on."""

import numpy as np

import minigrad as mg

SHAPES = [(10, 30), (30,), (30, 30), (30,), (30, 2), (2,)]


def tanh_mlp():
    """Mean squared error of a float64 10-30-30-2 tanh MLP (1,322 parameters) on 64 random
    samples, at weights large enough that the Hessian has large negative eigenvalues (so "LM"
    and "LA" differ). Returns (loss(params), params, exact Hessian by mg.hessian, its
    eigenvalues ascending)."""
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((64, 10)), dtype=mg.float64)
    rng = np.random.default_rng(1)
    y = mg.tensor(5 * rng.standard_normal((64, 2)), dtype=mg.float64)
    params = [3 * rng.standard_normal(s) / np.sqrt(s[0]) if len(s) == 2
              else 0.1 * rng.standard_normal(s) for s in SHAPES]  # fmt: skip

    def loss(ps):
        W1, b1, W2, b2, W3, b3 = ps
        h = mg.tanh(mg.tanh(X @ W1 + b1) @ W2 + b2)
        return ((h @ W3 + b3 - y) ** 2).mean()

    hessian = mg.hessian(lambda *ps: loss(list(ps)), argnums=tuple(range(6)), flat=True)
    H = hessian(*params).numpy()
    return loss, params, H, np.linalg.eigvalsh(H)
