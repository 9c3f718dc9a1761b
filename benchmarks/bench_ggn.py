"""Gauss-Newton-vector products of an MLP, against a hand-written numpy GGN-vector product.

A tanh MLP (64 -> 32 -> 10) under the mean softmax cross-entropy, 256 examples, float64.
``G v = J^T H_l J v``: numpy pushes ``v`` forward through the layers by hand (``J v``), applies
the cross-entropy's Hessian in the logits row by row (``(diag(p) - p p^T) / N``) and pulls the
result back by hand (``J^T u``). minigrad's ``GaussNewtonOperator`` (the network recorded once,
then one forward-mode run, one loss HVP and one backward pass per batch of vectors) is timed
against it, and against minigrad's own Hessian-vector product (``LossOperator.hvp``) and
gradient of the same loss. ``ggn_vector_product`` adds the recorded run and its checks.

    python benchmarks/bench_ggn.py [--repeats N]
"""

from __future__ import annotations

import argparse

import numpy as np
from timing import interleaved, warn

import minigrad as mg
from minigrad import nn
from minigrad.curvature import GaussNewtonOperator, ggn_vector_product, loss_operator

N, D, HIDDEN, K = 256, 64, 32, 10


def numpy_ggn(X, labels, W1, b1, W2, b2):
    """``V -> G V`` for ``V`` of shape ``(k, n)``, in numpy (the layout of the parameters)."""
    a = np.tanh(X @ W1.T + b1)
    z = a @ W2.T + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    shapes = [W1.shape, b1.shape, W2.shape, b2.shape]
    cuts = np.cumsum([np.prod(s) for s in shapes])[:-1]
    slope = 1 - a**2

    # NOTE: one vector at a time: numpy's stacked products were slower here (2.3 ms against
    # 1.5 ms for 10 vectors), the 2-D ones go straight to BLAS.
    def products(V):
        out = np.empty_like(V)
        for row, v in enumerate(V):
            dW1, db1, dW2, db2 = (x.reshape(s) for x, s in zip(np.split(v, cuts), shapes))
            da = slope * (X @ dW1.T + db1)
            dz = da @ W2.T + a @ dW2.T + db2  # J v
            u = p * (dz - (p * dz).sum(axis=1, keepdims=True)) / len(X)  # H_l J v
            ga = (u @ W2) * slope  # J^T u, layer by layer
            out[row] = np.concatenate([(ga.T @ X).ravel(), ga.sum(0), (u.T @ a).ravel(), u.sum(0)])
        return out

    return products


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    warn()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    labels = rng.integers(0, K, N)
    model = nn.Sequential(nn.Linear(D, HIDDEN, dtype=mg.float64), nn.Tanh(),
                          nn.Linear(HIDDEN, K, dtype=mg.float64))  # fmt: skip
    params = list(model.parameters())
    inputs, targets = mg.tensor(X), mg.tensor(labels)

    def outputs():
        return model(inputs)

    def loss_of_outputs(out):
        return nn.functional.cross_entropy(out, targets)

    def gradient():
        model.zero_grad()
        loss_of_outputs(model(inputs)).backward()

    G = GaussNewtonOperator("bench", outputs, loss_of_outputs, params)
    H = loss_operator("bench", lambda: loss_of_outputs(outputs()), params)
    reference = numpy_ggn(X, labels, *(p.numpy() for p in params))
    print(f"tanh MLP {D}-{HIDDEN}-{K}, {N} examples, n = {G.n} parameters, float64")
    for k in (1, 10):
        V = rng.standard_normal((k, G.n))
        assert np.allclose(G(V), reference(V), rtol=1e-10, atol=1e-14)
        times = interleaved(
            {
                "numpy GGN": (reference, (V,)),
                "GGN (operator)": (G, (V,)),
                "ggn_vector_product": (
                    ggn_vector_product,
                    (outputs, loss_of_outputs, params, V),
                ),  # fmt: skip
                "HVP": (H.hvp, (V,)),
                "gradient": (gradient, ()),
            },
            args.repeats,
        )
        print(f"k = {k} vectors:")
        for name in times:
            print(f"  {name:20s} {times.median(name) * 1e3:7.2f} ms   "
                  f"{times.ratio(name, 'numpy GGN'):5.2f}x numpy GGN   "
                  f"{times.ratio(name, 'HVP'):5.2f}x HVP")  # fmt: skip


if __name__ == "__main__":
    main()
