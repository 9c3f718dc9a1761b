"""Learning rates read off the Hessian, tried by training.

The ideal gradient step is ``-H^{-1} g``: a learning rate per eigen-direction, ``1 / lambda_i``.
``mg.curvature.suggest_lr`` summarises it three ways, and this script trains the same model
(softmax regression on scikit-learn's 8x8 digits, 1,000 images, with an L2 penalty so the
Hessian is positive definite; 650 parameters, full batch, float64) with each, measured once at
the initial weights:

- ``method="max"``: ``1 / lambda_max``, safe along the sharpest direction (and ``2.5 /
  lambda_max``, past the ``2 / lambda_max`` edge of the quadratic model, for comparison);
- ``method="geometric"``: ``det(H)^(-1/n)``, the inverse geometric mean of the eigenvalues;
- ``method="diagonal"``: one rate per weight, ``clip(1 / |H_ii|, 0, lr_max)``;

and with Adam and Sophia-H (``optim.Sophia``, whose preconditioner is a running Hutchinson
estimate of the same diagonal). It writes ``OUT/curvature-learning-rates.png`` (the loss per
step of each run) and asserts what the measurements show:

- ``1 / lambda_max`` lowers the loss at every step, but slowly: the flat directions (the
  eigenvalues span five decades) get a rate far below their ``1 / lambda_i``;
- the geometric mean's rate is about 50 times larger: it overshoots along the sharp directions,
  and the loss goes up and down instead of down (a gradient step is one scalar for all
  directions, and no scalar suits a spectrum this wide);
- ``2.5 / lambda_max``, past the quadratic model's edge ``2 / lambda_max``, does NOT diverge
  here: the cross-entropy's curvature falls as the model fits (the softmax saturates), and
  ``lambda_max`` at the end of that run is below ``2 / lr``. The rate read at the start is a
  local measurement;
- the per-weight rates of the diagonal train fastest of the plain gradient steps (on this
  model the Hessian is close to block-diagonal per input pixel), and Adam and Sophia, which
  adapt their steps per weight, are in the same league.

Run it with ``python examples/curvature_learning_rates.py [--quick] [--out FOLDER]``
(``--quick``: fewer steps, for the tests).
"""

from __future__ import annotations

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.curvature import suggest_lr  # noqa: E402

PENALTY = 1e-3  # L2: keeps the Hessian positive definite, as the geometric mean needs


def digits(samples: int = 1000):
    X, y = load_digits(return_X_y=True)
    X = X[:, X.std(axis=0) > 0]  # (a constant pixel would only see the penalty's curvature)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    index = np.random.default_rng(0).permutation(len(X))[:samples]
    return mg.tensor(X[index]), mg.tensor(y[index])


def setup(X, y):
    """The model (the same initial weights every time) and a PyTorch-style closure."""
    mg.manual_seed(0)
    model = nn.Linear(X.shape[1], 10, dtype=mg.float64)
    params = list(model.parameters())

    def closure():
        for p in params:
            p.grad = None
        loss = nn.functional.cross_entropy(model(X), y)
        loss = loss + PENALTY / 2 * sum((p * p).sum() for p in params)
        loss.backward()
        return loss

    return params, closure


def gradient_descent(X, y, rates, steps: int, end: list | None = None) -> list[float]:
    """``p -= rate * p.grad`` with a scalar rate, or one array of rates per parameter; the
    parameters and closure at the end go into ``end``, when given."""
    params, closure = setup(X, y)
    if end is not None:
        end.extend([params, closure])
    rates = rates if isinstance(rates, list) else [rates] * len(params)
    losses = []
    for _ in range(steps):
        losses.append(float(closure()))
        with mg.no_grad():
            for p, rate in zip(params, rates):
                p.data -= rate * p.grad.data
    return losses


def with_optimizer(X, y, make, steps: int) -> list[float]:
    params, closure = setup(X, y)
    optimizer = make(params)
    return [float(optimizer.step(closure)) for _ in range(steps)]


def main(steps: int, out: pathlib.Path) -> None:
    X, y = digits()
    params, closure = setup(X, y)
    print(f"softmax regression on digits: {sum(p.numel() for p in params)} parameters")
    sharpest = suggest_lr(closure, params, method="max", tol=1e-8, max_iter=500)
    geometric = suggest_lr(closure, params, method="geometric")
    diagonal = suggest_lr(closure, params, method="diagonal", lr_max=100.0)
    rates = np.concatenate([r.ravel() for r in diagonal.lr])
    print(f"1 / lambda_max      = {sharpest.lr:.4g}   (lambda_max = {sharpest.eigenvalue:.4g})")
    print(f"det(H)^(-1/n)       = {geometric.lr:.4g}   (lambda_min = {geometric.smallest:.3g})")
    print(f"1 / |H_ii|, clipped : {rates.min():.3g} .. {rates.max():.3g} (median "
          f"{np.median(rates):.3g}; {diagonal.clipped} clipped at lr_max)")  # fmt: skip

    end = []
    runs = {
        "SGD, lr = 1/λ_max": gradient_descent(X, y, sharpest.lr, steps),
        "SGD, lr = 2.5/λ_max": gradient_descent(X, y, 2.5 * sharpest.lr, steps, end),
        "SGD, lr = det(H)^(-1/n)": gradient_descent(X, y, geometric.lr, steps),
        "SGD, lr = 1/|diag H| (a tensor)": gradient_descent(X, y, diagonal.lr, steps),
        "Adam, lr = 0.1": with_optimizer(X, y, lambda ps: mg.optim.Adam(ps, lr=0.1), steps),
        "Sophia-H, lr = 0.01": with_optimizer(
            X, y, lambda ps: mg.optim.Sophia(ps, lr=0.01, weight_decay=0.0), steps
        ),
    }
    for name, losses in runs.items():
        rises = sum(b > a for a, b in zip(losses, losses[1:]))
        print(f"{name:34s} loss {losses[0]:.3f} -> {losses[-1]:.4f} ({rises} steps went up)")

    safe, past_edge = runs["SGD, lr = 1/λ_max"], runs["SGD, lr = 2.5/λ_max"]
    geometric_run, per_weight = (
        runs["SGD, lr = det(H)^(-1/n)"],
        runs["SGD, lr = 1/|diag H| (a tensor)"],
    )
    assert all(b < a for a, b in zip(safe, safe[1:])), "1/lambda_max should lower the loss"
    assert geometric.lr > 20 * sharpest.lr
    assert sum(b > a for a, b in zip(geometric_run, geometric_run[1:])) >= 3
    assert geometric_run[-1] > safe[-1]
    final = suggest_lr(end[1], end[0], tol=1e-8, max_iter=500).eigenvalue
    print(f"lambda_max after the 2.5/lambda_max run: {final:.4g} (2 / lr = "
          f"{2 / (2.5 * sharpest.lr):.4g})")  # fmt: skip
    assert all(b < a for a, b in zip(past_edge, past_edge[1:])) and past_edge[-1] < safe[-1]
    assert final < 2 / (2.5 * sharpest.lr) < sharpest.eigenvalue
    assert per_weight[-1] < safe[-1]
    for name in ("Adam, lr = 0.1", "Sophia-H, lr = 0.01"):
        assert runs[name][-1] < 0.5 * runs[name][0], f"{name} should learn"

    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 5))
    styles = ["-", "--", ":", "-", "-.", "-."]
    for (name, losses), style in zip(runs.items(), styles):
        ax.plot(np.arange(1, len(losses) + 1), losses, style, label=name, linewidth=1.6)
    ax.set_yscale("log")
    ax.set_xlabel("step (full batch)")
    ax.set_ylabel("training loss (cross-entropy + L2)")
    ax.set_title(
        f"Learning rates from the Hessian at the start: 1/λ_max = {sharpest.lr:.2g}, "
        f"det(H)^(-1/n) = {geometric.lr:.2g}",
        fontsize=10,
    )
    ax.set_ylim(top=ax.get_ylim()[1] * 8)  # a decade above the spikes, for the legend
    ax.legend(fontsize=8, ncol=3, loc="upper center")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "curvature-learning-rates.png", dpi=120)
    print(f"wrote {out / 'curvature-learning-rates.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (the tests' run)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("example-output"))
    args = parser.parse_args()
    main(steps=40 if args.quick else 300, out=args.out)
