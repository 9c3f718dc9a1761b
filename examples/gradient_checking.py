"""Finding a wrong gradient, then watching gradients while a model trains.

1. A custom op, swish(x) = x * sigmoid(x), as an mg.Primitive whose derivative rule has a typo.
   mg.gradcheck compares the rule with finite differences and points at the elements where it
   is wrong; the fixed rule passes, in full mode and in fast mode (random directions).
2. The same op inside a model: mg.nn.check_module finds the parameters whose gradients are wrong
   (those before the bad activation), and its directional mode names the operation itself.
3. A small classifier trained for a few dozen steps with plain SGD on numpy-generated data, with
   an mg.nn.GradientMonitor attached: gradient norms per parameter, a gradient check every 10
   steps, and flags for NaN/Inf and exploding or vanishing norms.

Run it with ``python examples/gradient_checking.py``. See docs/gradient-checking.md.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg


def section(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}")


# ----- the op ------------------------------------------------------------------------------------


class BadSwish(mg.Primitive):
    """x * sigmoid(x), whose vjp has a typo: d/dx is s + x s (1 - s), not s + x s s."""

    @staticmethod
    def forward(x):
        return x / (1 + np.exp(-x))

    @staticmethod
    def vjp(g, y, x):
        s = mg.sigmoid(x)
        return (g * (s + x * s * s),)  # BUG: the planted typo

    @staticmethod
    def jvp(ts, y, x):
        s = 1 / (1 + np.exp(-x))
        return ts[0] * (s + x * s * (1 - s))


class Swish(BadSwish):
    """x * sigmoid(x), with the rule fixed."""

    @staticmethod
    def vjp(g, y, x):
        s = mg.sigmoid(x)
        return (g * (s + x * s * (1 - s)),)


def check_the_op() -> None:
    section("1. A custom op with a wrong derivative rule")
    x = mg.tensor([-1.0, 0.0, 0.5, 2.0], name="x")
    report = mg.gradcheck(lambda x: BadSwish.apply(x).sum(), x)
    print("mg.gradcheck(lambda x: BadSwish.apply(x).sum(), x):")
    print(report)
    failing = [e.index for e in report.failures[0].failures] if not report else []
    if failing != [(3,), (0,), (2,)]:
        raise SystemExit(f"expected failures at x[3], x[0], x[2], got {failing}")
    print("\nanalytic = what the vjp says, numeric = finite differences of swish itself.")
    print("x[1] = 0 passes: there the wrong term x s s is 0 too. Check at generic values.")

    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((3, 4)), name="x")
    fixed = mg.gradcheck(Swish.apply, x)
    print("\nThe fixed rule, at a random (3, 4) input:")
    print(fixed)
    fast = mg.gradcheck(BadSwish.apply, x, mode="fast")
    print('\nmode="fast" (3 random directions) on the bad rule escalates to every element:')
    print(fast)
    if not fixed or not mg.gradgradcheck(Swish.apply, x) or fast:
        raise SystemExit("the fixed rule should pass and the bad one fail")


# ----- a model -----------------------------------------------------------------------------------


class Activation(mg.nn.Module):
    def __init__(self, op):
        super().__init__()
        self.op = op

    def forward(self, x):
        return self.op.apply(x)


def classifier(op, seed=0):
    generator = mg.Generator(seed)
    return mg.nn.Sequential(
        mg.nn.Linear(2, 16, generator=generator),
        Activation(op),
        mg.nn.Linear(16, 2, generator=generator),
    )


def cross_entropy(logits, y):
    n = logits.shape[0]
    log_probs = logits - mg.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs[np.arange(n), np.asarray(y)].mean()


def make_data(n=64, seed=0):
    """Two interleaved classes in the plane: inside or outside a circle of radius 1."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.6, 1.6, (n, 2))
    y = ((X**2).sum(axis=1) < 1.0).astype(np.int64)
    return X.astype(np.float32), y


def check_the_model() -> None:
    section("2. The same bug inside a model: mg.nn.check_module")
    X, y = make_data()
    report = mg.nn.check_module(classifier(BadSwish), cross_entropy, X, y, n_coords=4)
    print(report)
    failed = [check.name for check in report.failures]
    print(f"\nfailing: {', '.join(failed)}; the parameters after the activation pass, so the")
    print('culprit lies between "0.bias" and "2.weight": the activation.')
    if failed != ['"0.weight"', '"0.bias"']:
        raise SystemExit(f"expected the first layer's parameters to fail, got {failed}")

    directional = mg.nn.check_module(classifier(BadSwish), cross_entropy, X, y,
                                     mode="directional")  # fmt: skip
    print('\nmode="directional": one random direction over every element, then localised:')
    print(directional)
    culprits = [(rule.op, rule.module) for rule in directional.wrong_rules]
    if culprits != [("BadSwish", "1")]:
        raise SystemExit(f"expected the rule of BadSwish in module 1 to be named, got {culprits}")


def train_with_monitor(steps=40, lr=0.5) -> None:
    section("3. Training with a GradientMonitor")
    X, y = make_data()
    model = classifier(Swish)
    monitor = mg.nn.GradientMonitor(model, cross_entropy, check_every=10)
    inputs = mg.tensor(X)
    for step in range(steps):
        logits = model(inputs)
        loss = cross_entropy(logits, y)
        model.zero_grad()
        loss.backward()
        monitor.step(X, y)
        with mg.no_grad():
            for p in model.parameters():
                p.sub_(lr * p.grad.data)
        if step % 10 == 0 or step == steps - 1:
            accuracy = float((logits.numpy().argmax(axis=1) == y).mean())
            print(f"step {step:3d}   loss {loss.item():.4f}   accuracy {accuracy:.2f}")
    print()
    print(monitor)
    if monitor.flags or not all(report for _, report in monitor.checks):
        raise SystemExit("a correct model should train without flags or failed checks")


def main() -> None:
    check_the_op()
    check_the_model()
    train_with_monitor()


if __name__ == "__main__":
    main()
