"""Newton's method against gradient descent, with mg.grad and mg.hessian.

1. One dimension: gradient descent with step size lr moves x - x* by the factor (1 - lr f''),
   so the ideal step is 1/f'': one step to the minimum of a quadratic, and Newton's method in
   general.
2. Logistic regression on 200 points with features on different scales: gradient descent with
   the largest safe step crawls along the flat direction; Newton's method, w <- w - H^-1 g,
   converges in a few steps. The Hessian from mg.hessian is checked against the closed form
   X^T diag(s(1 - s)) X / m + lam I.

Run it with ``python examples/hessians.py``.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg

LAM = 1e-3  # L2 penalty: keeps the minimum unique and the Hessian positive definite


def section(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}")


# ----- 1. one dimension --------------------------------------------------------------------------


def parabola(x):
    """f(x) = 2.5 (x - 1)^2 + 3: f'' = 5, minimum at x = 1."""
    return 2.5 * (x - 1.0) ** 2 + 3.0


def cosh_bowl(x):
    """f(x) = cosh(x - 1): not quadratic, f'' = cosh(x - 1) changes with x, minimum at x = 1."""
    return 0.5 * (mg.exp(x - 1.0) + mg.exp(1.0 - x))


def one_dimension() -> None:
    section("1. One dimension: the ideal step size is 1/f''")
    df, d2f = mg.grad(parabola), mg.hessian(parabola)
    curvature = d2f(4.0).item()
    print(f"f(x) = 2.5 (x - 1)^2 + 3, f'' = {curvature:g}; x - x* after 5 steps from x = 4:")
    for factor in (0.5, 1.0, 1.5, 2.0, 2.5):
        lr, x = factor / curvature, 4.0
        for _ in range(5):
            x = x - lr * df(x).item()
        print(f"  lr = {factor:3.1f}/f'' : x - x* = {x - 1.0: 9.4g}   (factor 1 - lr f'' = "
              f"{1 - factor:+.1f} per step)")  # fmt: skip
    x = 4.0 - df(4.0).item() / curvature
    if x != 1.0:
        raise SystemExit(f"one step of size 1/f'' should land on the minimum, got {x}")

    # Not quadratic: f'' changes with x, so take 1/f''(x) at each step: Newton's method.
    df, d2f = mg.grad(cosh_bowl), mg.hessian(cosh_bowl)
    print("\nf(x) = cosh(x - 1), step 1/f''(x) at each x (Newton's method):")
    x = 4.0
    for step in range(7):
        g = df(x).item()
        print(f"  step {step}: x = {x: .12f}   f'(x) = {g: .3e}")
        x = x - g / d2f(x).item()
    if not abs(x - 1.0) < 1e-12:
        raise SystemExit("Newton's method did not converge in one dimension")


# ----- 2. logistic regression --------------------------------------------------------------------


def make_data(m: int = 200, seed: int = 0):
    """Points with features on scales 1, 3 and 0.3 (an ill-conditioned Hessian), labels +-1."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 3)) * np.array([1.0, 3.0, 0.3])
    X = np.hstack([X, np.ones((m, 1))])  # a bias column
    w_true = np.array([1.5, -0.5, 2.0, 0.3])
    p = 1 / (1 + np.exp(-(X @ w_true)))
    y = np.where(rng.random(m) < p, 1.0, -1.0)  # noisy labels: no separating plane
    return X, y


def logistic_loss(X, y):
    def loss(w):
        margins = y * (X @ w)
        return mg.log1p(mg.exp(-margins)).mean() + 0.5 * LAM * (w * w).sum()

    return loss


def closed_form_hessian(X, w):
    s = 1 / (1 + np.exp(-(X @ w)))
    return (X * (s * (1 - s))[:, None]).T @ X / len(X) + LAM * np.eye(X.shape[1])


def logistic_regression() -> None:
    section("2. Logistic regression: Newton's method vs gradient descent")
    X, y = make_data()
    loss = logistic_loss(X, y)
    grad, hessian = mg.grad(loss), mg.hessian(loss)
    w0 = np.zeros(X.shape[1])

    H0 = hessian(w0).numpy()
    if not np.allclose(H0, closed_form_hessian(X, w0), rtol=1e-12, atol=1e-14):
        raise SystemExit("mg.hessian disagrees with the closed-form Hessian")
    # The Hessian of the logistic loss is at most X^T X / 4m + lam I, so 1/L with L its largest
    # eigenvalue is a step that can never overshoot.
    L = np.linalg.eigvalsh(X.T @ X / (4 * len(X)) + LAM * np.eye(X.shape[1]))[-1]
    eigenvalues = np.linalg.eigvalsh(H0)
    print(f"{len(X)} points, {X.shape[1]} weights; Hessian at w = 0 checked against the closed "
          f"form; its eigenvalues {eigenvalues.min():.3g} .. {eigenvalues.max():.3g}")  # fmt: skip
    print(f"gradient descent step 1/L = {1 / L:.3g}, Newton step H^-1 g\n")

    w_gd, w_newton = w0.copy(), w0.copy()
    print("iter   gradient descent      Newton                |grad| (Newton)")
    for it in range(9):
        g_newton = grad(w_newton).numpy()
        print(f"{it:4d}   {loss(w_gd).item():.15f}   {loss(w_newton).item():.15f}   "
              f"{np.linalg.norm(g_newton):.3e}")  # fmt: skip
        w_gd = w_gd - grad(w_gd).numpy() / L
        w_newton = w_newton - np.linalg.solve(hessian(w_newton).numpy(), g_newton)
    best = loss(w_newton).item()

    for _ in range(9, 1000):
        w_gd = w_gd - grad(w_gd).numpy() / L
    print(f"...\n1000   {loss(w_gd).item():.15f}   (gradient descent after 1000 steps)")
    print(f"\nNewton's weights:             {np.array2string(w_newton, precision=4)}")
    print(f"gradient descent's (1000 it): {np.array2string(w_gd, precision=4)}")
    if np.linalg.norm(grad(w_newton).numpy()) > 1e-10:
        raise SystemExit("Newton's method did not converge in 9 steps")
    if not loss(w_gd).item() >= best - 1e-12:
        raise SystemExit("gradient descent went below Newton's minimum: something is wrong")


def main() -> None:
    one_dimension()
    logistic_regression()


if __name__ == "__main__":
    main()
