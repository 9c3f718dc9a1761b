"""mg.compile: replayed steps against hand-written numpy and against minigrad's eager steps.

1. Tiny MLP training step (2-16-16-1 tanh, 100 points, float64, MSE, SGD): compiled and eager
   against numpy by hand (forward, backward, update written out, no Python between calls but
   the step's own). Target: compiled <= 1.5x numpy.
2. Chain of 200 small elementwise ops (mul, add, tanh, sin on 16 floats), forward and backward
   by ``mg.grad``: against ``bench_overhead``'s hand-written forward and backward loop.
   Target: compiled <= 1.3x numpy.
3. Full Hessian of the logistic loss at n = 50 (``bench_hessian``'s problem): against the faster
   of its two closed forms. Target: compiled <= 3x.
4. 2-layer LSTM step and a tiny transformer-encoder step (SGD): compiled against eager.
   Target: at least 2x faster.
5. The digits MLP step (784-256-256-10, float32, batch 128): compiled against eager. Target:
   not slower.
6. The cost of recording (the first call, which records; the second, which replays beside an
   eager step) in eager steps, and the peak memory (tracemalloc) of a replayed step against an
   eager one. Target: recording about 3 eager steps at most, memory <= eager.
Process CPU time over interleaved rounds; a ratio is the median of each round's ratio.

    python benchmarks/bench_compile.py [--repeats N] [--quick]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from bench_hessian import closed_hessian, closed_hessian_syrk, loss_fn, problem
from bench_mlp import MLP
from bench_overhead import chain_numpy_forward_backward
from timing import calls_for, interleaved, warn

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


def training_step(model, optimizer, loss_fn=F.mse_loss):
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


# ----- 1. the tiny MLP ---------------------------------------------------------------------------


class NumpyTinyMLP:
    """2-16-16-1 tanh, MSE and SGD by hand, on minigrad's parameters' layouts."""

    def __init__(self, params, lr):
        self.W = [p.copy() for p in params]
        self.lr = lr

    def step(self, X, Y):
        W1, b1, W2, b2, W3, b3 = self.W
        h1 = np.tanh(X @ W1.T + b1)
        h2 = np.tanh(h1 @ W2.T + b2)
        d = h2 @ W3.T + b3 - Y
        loss = (d * d).mean()
        g3 = d * (2 / d.size)
        g2 = (g3 @ W3) * (1 - h2 * h2)
        g1 = (g2 @ W2) * (1 - h1 * h1)
        grads = (g1.T @ X, g1.sum(0), g2.T @ h1, g2.sum(0), g3.T @ h2, g3.sum(0))
        for w, g in zip(self.W, grads):
            g *= self.lr
            w -= g
        return loss


def tiny_mlp(repeats):
    mg.set_default_dtype(mg.float64)
    try:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((100, 2))
        Y = np.sin(X[:, :1]) + X[:, 1:] ** 2

        def make():
            g = mg.Generator(0)
            model = nn.Sequential(nn.Linear(2, 16, generator=g), nn.Tanh(),
                                  nn.Linear(16, 16, generator=g), nn.Tanh(),
                                  nn.Linear(16, 1, generator=g))  # fmt: skip
            return model, training_step(model, mg.optim.SGD(model.parameters(), lr=0.05))

        model, eager = make()
        _, compiled_step = make()
        compiled = mg.compile(compiled_step)
        by_hand = NumpyTinyMLP([p.data for p in model.parameters()], 0.05)
        Xt, Yt = mg.tensor(X), mg.tensor(Y)
        losses = [eager(Xt, Yt).item(), compiled(Xt, Yt).item(), by_hand.step(X, Y)]
        np.testing.assert_allclose(losses[1:], losses[0], rtol=1e-12)
        runs = {"numpy": (by_hand.step, (X, Y)), "eager": (eager, (Xt, Yt)),
                "compiled": (compiled, (Xt, Yt))}  # fmt: skip
        return _ratios("tiny MLP step", runs, repeats, "numpy", "<= 1.5x")
    finally:
        mg.set_default_dtype(mg.float32)


# ----- 2. the chain and 3. the Hessian -----------------------------------------------------------


def chain(repeats):
    rng = np.random.default_rng(0)
    x, a, b = (rng.standard_normal(16) * 0.5 for _ in range(3))

    def f(t):
        for _ in range(50):
            t = (t * a + b).tanh().sin()
        return t.sum()

    eager, compiled, xt = mg.grad(f), mg.compile(mg.grad(f)), mg.tensor(x)
    expected = chain_numpy_forward_backward(x, a, b, 200)
    for run in (eager, compiled, compiled):
        np.testing.assert_allclose(run(xt).data, expected, rtol=1e-10)
    runs = {"numpy": (chain_numpy_forward_backward, (x, a, b, 200)), "eager": (eager, (xt,)),
            "compiled": (compiled, (xt,))}  # fmt: skip
    return _ratios("200-op chain, forward and backward", runs, repeats, "numpy", "<= 1.3x")


def hessian(repeats):
    X, y, w, _ = problem(50)
    f = loss_fn(X, y)
    eager, compiled, wt = mg.hessian(f), mg.compile(mg.hessian(f)), mg.tensor(w)
    for run in (eager, compiled, compiled):
        np.testing.assert_allclose(run(wt).data, closed_hessian(X, y, w), rtol=1e-10)
    runs = {"closed": (closed_hessian, (X, y, w)), "syrk": (closed_hessian_syrk, (X, y, w)),
            "eager": (eager, (wt,)), "compiled": (compiled, (wt,))}  # fmt: skip
    t = _timings(runs, repeats)
    closed = [min(a, b) for a, b in zip(t["closed"], t["syrk"])]
    t["closed form"] = closed
    return _report("Hessian at n = 50", t, "closed form", "<= 3x")


# ----- 4. LSTM and transformer, 5. digits MLP ----------------------------------------------------


class LastStates(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 32, num_layers=2)
        self.head = nn.Linear(32, 1)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


def against_eager(name, make, x, y, repeats, target, loss=F.mse_loss):
    mg.manual_seed(0)
    model = make()
    eager = training_step(model, mg.optim.SGD(model.parameters(), lr=0.01), loss)
    mg.manual_seed(0)
    twin = make()
    compiled = mg.compile(training_step(twin, mg.optim.SGD(twin.parameters(), lr=0.01), loss))
    first = [eager(x, y).item(), compiled(x, y).item()]
    assert first[0] == first[1], first
    runs = {"eager": (eager, (x, y)), "compiled": (compiled, (x, y))}
    return _ratios(name, runs, repeats, "eager", target)


def sequences(repeats):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((16, 8, 8)).astype(np.float32))
    y = mg.tensor(rng.standard_normal((16, 8, 1)).astype(np.float32))
    lstm = against_eager("2-layer LSTM step (seq 16, batch 8, hidden 32)", LastStates, x, y,
                         repeats, "<= 0.5x")  # fmt: skip
    layer = lambda: nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0)  # noqa: E731
    x = mg.tensor(rng.standard_normal((10, 8, 32)).astype(np.float32))
    y = mg.tensor(rng.standard_normal((10, 8, 32)).astype(np.float32))
    encoder = against_eager("transformer encoder layer step (d 32, 4 heads, seq 10, batch 8)",
                            layer, x, y, repeats, "<= 0.5x")  # fmt: skip
    return lstm, encoder


def digits_mlp(repeats):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((128, 784)).astype(np.float32))
    labels = mg.tensor(rng.integers(0, 10, 128))
    return against_eager("digits MLP step (784-256-256-10, batch 128)", MLP, x, labels,
                         repeats, "<= 1.0x", F.cross_entropy)  # fmt: skip


# ----- 6. recording and memory -------------------------------------------------------------------


def recording_and_memory():
    mg.manual_seed(0)
    model = MLP()
    step = training_step(model, mg.optim.SGD(model.parameters(), lr=0.01), F.cross_entropy)
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((128, 784)).astype(np.float32))
    labels = mg.tensor(rng.integers(0, 10, 128))
    for _ in range(3):
        step(x, labels)
    start = time.process_time()
    for _ in range(5):
        step(x, labels)
    eager = (time.process_time() - start) / 5
    compiled = mg.compile(step)
    costs = []
    for _ in range(2):  # the recording, then the first replay beside an eager step
        start = time.process_time()
        compiled(x, labels)
        costs.append((time.process_time() - start) / eager)
    peaks = [_peak(step, x, labels), _peak(compiled, x, labels)]
    print(f"recording: first call {costs[0]:.2f} eager steps, second {costs[1]:.2f} "
          f"(target about 3 at most); peak memory of a step: replayed "
          f"{peaks[1] / 2**20:.2f} MiB, eager {peaks[0] / 2**20:.2f} MiB "
          f"({peaks[1] / peaks[0]:.2f}x, target <= 1)")  # fmt: skip


def _peak(step, *args):
    step(*args)
    tracemalloc.start()
    step(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# ----- timing ------------------------------------------------------------------------------------


def _timings(runs, repeats):
    calls = {name: calls_for(fn, args, 0.05) for name, (fn, args) in runs.items()}
    return interleaved(runs, repeats, calls=calls)


def _ratios(name, runs, repeats, baseline, target):
    return _report(name, _timings(runs, repeats), baseline, target)


def _report(name, t, baseline, target):
    parts = []
    for run in ("eager", "compiled"):
        low, high = t.spread(run, baseline)
        parts.append(f"{run} {t.ratio(run, baseline):.2f}x [{low:.2f}-{high:.2f}]")
    times = ", ".join(f"{k} {t.median(k) * 1e6:.0f} us" for k in t)
    line = f"{name}: " + "; ".join(parts[int(baseline == "eager") :])
    print(f"{line} against {baseline} (target {target}; {times})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    warn()
    repeats = 5 if args.quick else args.repeats
    tiny_mlp(repeats)
    chain(repeats)
    hessian(repeats)
    sequences(repeats)
    digits_mlp(repeats)
    recording_and_memory()


if __name__ == "__main__":
    main()
