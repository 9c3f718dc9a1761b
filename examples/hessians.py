"""Newton's method against gradient descent, with mg.grad and mg.hessian.

1. One dimension: gradient descent with step size lr moves x - x* by the factor (1 - lr f''),
   so the ideal step is 1/f'': one step to the minimum of a quadratic, and Newton's method in
   general.
2. Logistic regression on 200 points with features on different scales: gradient descent with
   the largest safe step crawls along the flat direction; Newton's method, w <- w - H^-1 g,
   converges in a few steps. The Hessian from mg.hessian is checked against the closed form
   X^T diag(s(1 - s)) X / m + lam I.
3. Two dimensions: on an ill-conditioned quadratic, gradient descent with the best fixed step
   2 / (lambda_min + lambda_max) zig-zags for dozens of steps; the Newton step H^-1 grad f lands
   on the minimum in one.

It draws all three in ``OUT/hessian-steps.png``: (a) gradient descent on the parabola with step
sizes 0.5/f'', 1/f'', 1.9/f'' and 2.1/f''; (b) the 2-D quadratic's contours with the
gradient-descent path and the Newton step; (c) the logistic regression's loss per iteration for
both methods.

Run it with ``python examples/hessians.py [--out FOLDER]`` (default: ``example-output``).
"""

from __future__ import annotations

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402

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
        if not np.isclose(x - 1.0, 3.0 * (1 - factor) ** 5, rtol=1e-12, atol=1e-12):
            raise SystemExit(f"x - x* should be 3 (1 - lr f'')^5 after 5 steps, got {x - 1.0}")
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
    losses_gd, losses_newton = [], []
    print("iter   gradient descent      Newton                |grad| (Newton)")
    for it in range(9):
        g_newton = grad(w_newton).numpy()
        losses_gd.append(loss(w_gd).item())
        losses_newton.append(loss(w_newton).item())
        print(f"{it:4d}   {losses_gd[-1]:.15f}   {losses_newton[-1]:.15f}   "
              f"{np.linalg.norm(g_newton):.3e}")  # fmt: skip
        w_gd = w_gd - grad(w_gd).numpy() / L
        w_newton = w_newton - np.linalg.solve(hessian(w_newton).numpy(), g_newton)
    best = loss(w_newton).item()

    for _ in range(9, 1000):
        losses_gd.append(loss(w_gd).item())
        w_gd = w_gd - grad(w_gd).numpy() / L
    print(f"...\n1000   {loss(w_gd).item():.15f}   (gradient descent after 1000 steps)")
    print(f"\nNewton's weights:             {np.array2string(w_newton, precision=4)}")
    print(f"gradient descent's (1000 it): {np.array2string(w_gd, precision=4)}")
    if np.linalg.norm(grad(w_newton).numpy()) > 1e-10:
        raise SystemExit("Newton's method did not converge in 9 steps")
    # Gradient descent crawls: far above Newton's minimum after 9 steps, still above it after 1000.
    if not (losses_gd[8] - best > 1e-2 and loss(w_gd).item() - best > 1e-8):
        raise SystemExit("gradient descent should lag far behind Newton's method here")
    return np.array(losses_gd), np.array(losses_newton), best


# ----- 3. two dimensions -------------------------------------------------------------------------

THETA = np.pi / 6  # the quadratic's axes, rotated from x and y
ROTATION = np.array([[np.cos(THETA), -np.sin(THETA)], [np.sin(THETA), np.cos(THETA)]])
H = ROTATION @ np.diag([1.0, 20.0]) @ ROTATION.T  # eigenvalues 1 and 20
W_STAR = np.array([1.0, 0.5])


def bowl(w):
    """f(w) = (w - w*)^T H (w - w*) / 2 + 1, H with eigenvalues 1 and 20 (condition number 20).

    Written out in the two coordinates so that it also evaluates over a grid, w of shape (2, ...).
    """
    dx, dy = w[0] - W_STAR[0], w[1] - W_STAR[1]
    return 0.5 * (H[0, 0] * dx**2 + 2 * H[0, 1] * dx * dy + H[1, 1] * dy**2) + 1.0


def two_dimensions(start=(-2.8, -1.0), tol: float = 1e-6):
    section("3. Two dimensions: the step H^-1 grad f")
    grad, hessian = mg.grad(bowl), mg.hessian(bowl)
    w0 = np.array(start)
    H_computed = hessian(w0).numpy()
    if not np.allclose(H_computed, H, rtol=1e-12, atol=1e-12):
        raise SystemExit("mg.hessian disagrees with the quadratic's H")
    eigenvalues = np.linalg.eigvalsh(H_computed)
    lr = 2 / (eigenvalues[0] + eigenvalues[-1])  # the fixed step that contracts fastest
    rate = (eigenvalues[-1] - eigenvalues[0]) / (eigenvalues[-1] + eigenvalues[0])
    print(f"f(w) = (w - w*)^T H (w - w*) / 2 + 1, w* = {W_STAR}, H's eigenvalues "
          f"{eigenvalues[0]:g} and {eigenvalues[-1]:g}; start at {tuple(start)}")  # fmt: skip

    newton = w0 - np.linalg.solve(H_computed, grad(w0).numpy())
    print(f"Newton:           w0 - H^-1 grad f(w0) = {np.array2string(newton, precision=12)} "
          f"(one step)")  # fmt: skip
    if not np.allclose(newton, W_STAR, rtol=0, atol=1e-12):
        raise SystemExit("the Newton step should land on the minimum of a quadratic")

    path = [w0]
    while np.linalg.norm(path[-1] - W_STAR) > tol * np.linalg.norm(w0 - W_STAR):
        path.append(path[-1] - lr * grad(path[-1]).numpy())
    steps = len(path) - 1
    print(f"gradient descent: step 2 / (lambda_min + lambda_max) = {lr:.4f}, the distance to "
          f"w* shrinks by {rate:.4f} per step: {steps} steps to shrink it by {tol:g}")  # fmt: skip
    if not steps == int(np.ceil(np.log(tol) / np.log(rate))):
        raise SystemExit("gradient descent did not contract at the predicted rate")
    return np.array(path), newton


# ----- the picture -------------------------------------------------------------------------------


def draw(logistic: tuple, bowl_path: np.ndarray, newton: np.ndarray, path: pathlib.Path) -> None:
    fig = plt.figure(figsize=(13, 8), dpi=90)
    grid = fig.add_gridspec(2, 4, height_ratios=[1, 1.25])

    # (a) the parabola, gradient descent with step sizes around 1/f''
    df, curvature = mg.grad(parabola), mg.hessian(parabola)(4.0).item()
    xs = np.linspace(-4.5, 6.5, 200)
    print("the picture: (a) 6 steps from x = 4 on f(x) = 2.5 (x - 1)^2 + 3, x - x* at the end:")
    verdicts = {0.5: "slow", 1.0: "one step", 1.9: "oscillates", 2.1: "diverges"}
    for i, (factor, verdict) in enumerate(verdicts.items()):
        ax = fig.add_subplot(grid[0, i])
        ax.plot(xs, parabola(xs), color="0.5", lw=1.2)
        x, points = 4.0, [4.0]
        for _ in range(6):
            x = x - factor / curvature * df(x).item()
            points.append(x)
        points = np.array(points)
        print(f"  lr = {factor:g}/f'' ({verdict}): {points[-1] - 1.0: .4g}")
        ax.plot(points, parabola(points), "o-", color=f"C{i}", ms=5, lw=1.2)
        for k, p in enumerate(points[:4]):
            ax.annotate(str(k), (p, parabola(p)), textcoords="offset points", xytext=(4, 5),
                        fontsize=8, color=f"C{i}")  # fmt: skip
        ax.plot(1.0, 3.0, "*", color="gold", ms=12, mec="k", zorder=5)
        ax.set(xlim=(-4.5, 6.5), ylim=(0, 80), xlabel="x")
        ax.set_title(f"lr = {factor:g}/f'': {verdict}\nx - x* is multiplied by {1 - factor:+.1f} "
                     f"each step", fontsize=10)  # fmt: skip
        if i == 0:
            ax.set_ylabel("f(x) = 2.5 (x - 1)$^2$ + 3")
    title = "(a) gradient descent from x = 4 on a parabola with f'' = 5: 6 steps of each size"
    fig.text(0.5, 0.975, title + " (numbered from the start)", ha="center", fontsize=12)

    print("(b) section 3's gradient-descent path and Newton step; (c) section 2's losses")

    # (b) the ill-conditioned quadratic: gradient descent's path and the Newton step
    ax = fig.add_subplot(grid[1, :2])
    gx, gy = np.meshgrid(np.linspace(-4, 4, 300), np.linspace(-2.5, 3.5, 300))
    surface = bowl(np.stack([gx, gy]))
    levels = 1 + np.logspace(-2, 2.2, 12)
    ax.contour(gx, gy, surface, levels=levels, colors="0.6", linewidths=0.7)
    ax.plot(bowl_path[:, 0], bowl_path[:, 1], ".-", color="C0", lw=1, ms=4,
            label=f"gradient descent, lr = 2/($\\lambda_{{min}}$+$\\lambda_{{max}}$): "
                  f"{len(bowl_path) - 1} steps")  # fmt: skip
    ax.annotate("", xy=newton, xytext=bowl_path[0],
                arrowprops=dict(arrowstyle="->", color="C3", lw=2))  # fmt: skip
    ax.plot([], [], color="C3", lw=2, label="Newton: $w_0 - H^{-1}\\nabla f(w_0)$, one step")
    ax.plot(*bowl_path[0], "s", color="white", mec="k", ms=8, label="start", zorder=5)
    ax.plot(*W_STAR, "*", color="gold", mec="k", ms=15, label="minimum", zorder=5)
    ax.set(xlabel="$w_1$", ylabel="$w_2$", aspect="equal",
           title="(b) a quadratic with condition number 20")  # fmt: skip
    ax.legend(loc="upper left", fontsize=9)

    # (c) logistic regression, loss minus the minimum per iteration
    losses_gd, losses_newton, best = logistic
    ax = fig.add_subplot(grid[1, 2:])
    ax.semilogy(np.arange(len(losses_gd)), losses_gd - best, color="C0",
                label="gradient descent, lr = 1/L")  # fmt: skip
    gaps = losses_newton - best
    shown = gaps > 1e-15  # below that, the difference is rounding error of a loss near 0.44
    ax.semilogy(np.arange(len(gaps))[shown], gaps[shown], "o-", color="C3",
                label="Newton: $w - H^{-1}\\nabla f$ (until the gap is below 1e-15)")  # fmt: skip
    ax.set(xscale="symlog", xlabel="iteration (log scale after 1)", ylabel="loss - minimum",
           title="(c) logistic regression, 4 weights: loss above the minimum")  # fmt: skip
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.965))
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the picture")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    one_dimension()
    logistic = logistic_regression()
    bowl_path, newton = two_dimensions()
    print()
    path = out / "hessian-steps.png"
    draw(logistic, bowl_path, newton, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
