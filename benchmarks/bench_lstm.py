"""One SGD training step of a 2-layer LSTM, minigrad against the same step written by hand in numpy.

The network is ``nn.LSTM(64, 128, num_layers=2)`` over sequences of 64 steps, a batch of 32,
float32; the loss is the mean squared error of every output against a random target. A step is
forward, loss, backward through time and the SGD update ``p -= lr * grad``.

The numpy side is what a careful person writes: the input products of all time steps in one
matrix product per layer, one fused gate product per step (``h @ W_hh.T`` into the four gates
at once), the activations in place, and backward through time with the same fusion: one product
per step for ``dh``, and the weight gradients as one product each over the whole sequence.
Before timing, both compute the gradients of the same loss from the same weights; they must
agree (float64: rtol 1e-9; float32: rtol 1e-3 with an atol for rounding).

1. Time per step, median of interleaved runs (pauses between them: OpenBLAS threads spin after
   products on 2-core machines). Target: minigrad <= 1.5x numpy.
2. Peak memory of the backward pass through 500 and 1,000 steps (tracemalloc): linear in the
   steps, so the ratio is about 2.

    python benchmarks/bench_lstm.py [--repeats N]
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import numpy as np
from timing import interleaved, warn

import minigrad as mg
from minigrad import nn

INPUT, HIDDEN, LAYERS, STEPS, BATCH = 64, 128, 2, 64, 32
LR = 0.1


# ----- minigrad ----------------------------------------------------------------------------------


def minigrad_step(model: nn.LSTM, x: mg.Tensor, target: mg.Tensor) -> float:
    out, _ = model(x)
    loss = ((out - target) ** 2).mean()
    loss.backward()
    with mg.no_grad():
        for p in model.parameters():
            p.data -= LR * p.grad.data
    model.zero_grad()
    return loss.item()


# ----- numpy by hand -----------------------------------------------------------------------------


def gate_constants(H: int, dtype):
    """i, f, g, o = sigmoid, sigmoid, tanh, sigmoid; sigmoid(z) = tanh(z / 2) / 2 + 1 / 2, so all
    four are ``tanh(z * scale) * scale + (1 - scale)``, and their derivative is
    ``(1 - a) * (a + tanh_column)``."""
    scale = np.full(4 * H, 0.5, dtype)
    scale[2 * H : 3 * H] = 1
    return scale, (1 - scale).astype(dtype), (scale == 1).astype(dtype)


def layer_forward(x, W_ih, W_hh, b, scale, shift):
    """One layer over x (T, N, in): the gate activations A (T, N, 4H), h (T + 1, N, H) from
    h_0 = 0, c likewise, and tanh(c) (T, N, H)."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    A = (x.reshape(T * N, -1) @ W_ih.T + b).reshape(T, N, 4 * H)
    hs, cs = np.zeros((T + 1, N, H), x.dtype), np.zeros((T + 1, N, H), x.dtype)
    tanh_c = np.empty((T, N, H), x.dtype)
    W_hh_T = W_hh.T
    for t in range(T):
        a = A[t]
        a += hs[t] @ W_hh_T
        a *= scale
        np.tanh(a, out=a)
        a *= scale
        a += shift
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        np.multiply(f, cs[t], out=cs[t + 1])
        cs[t + 1] += i * g
        np.tanh(cs[t + 1], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=hs[t + 1])
    return A, hs, cs, tanh_c


def layer_backward(dy, x, W_ih, W_hh, A, hs, cs, tanh_c, tanh_column):
    """Backward through time from dy (T, N, H): dx and the gradients of W_ih, W_hh, b."""
    T, N, _ = x.shape
    H = W_hh.shape[1]
    dZ = np.empty_like(A)  # the gradient of every step's gate pre-activations
    dh, dc = np.zeros((N, H), x.dtype), np.zeros((N, H), x.dtype)
    for t in range(T - 1, -1, -1):
        a = A[t]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        dh += dy[t]
        dz = dZ[t]
        np.multiply(dh, tanh_c[t], out=dz[:, 3 * H :])
        dc += dh * o * (1 - tanh_c[t] * tanh_c[t])
        np.multiply(dc, g, out=dz[:, :H])
        np.multiply(dc, cs[t], out=dz[:, H : 2 * H])
        np.multiply(dc, i, out=dz[:, 2 * H : 3 * H])
        dc *= f
        dz *= (1 - a) * (a + tanh_column)
        np.matmul(dz, W_hh, out=dh)
    dZ = dZ.reshape(T * N, 4 * H)
    dW_ih = dZ.T @ x.reshape(T * N, -1)
    dW_hh = dZ.T @ hs[:-1].reshape(T * N, H)
    db = dZ.sum(axis=0)
    return (dZ @ W_ih).reshape(x.shape), dW_ih, dW_hh, db


def numpy_gradients(params, x, target):
    """The loss and the gradients of ``params`` ([W_ih, W_hh, b_ih, b_hh] per layer)."""
    scale, shift, tanh_column = gate_constants(HIDDEN, x.dtype)
    caches, layer_input = [], x
    for W_ih, W_hh, b_ih, b_hh in zip(*[iter(params)] * 4):
        A, hs, cs, tanh_c = layer_forward(layer_input, W_ih, W_hh, b_ih + b_hh, scale, shift)
        caches.append((layer_input, A, hs, cs, tanh_c))
        layer_input = hs[1:]
    diff = layer_input - target
    loss = float(np.mean(diff * diff))
    dy = diff * (2 / diff.size)
    grads = []
    for (W_ih, W_hh, _, _), cache in zip(list(zip(*[iter(params)] * 4))[::-1], caches[::-1]):
        layer_input, A, hs, cs, tanh_c = cache
        dy, dW_ih, dW_hh, db = layer_backward(dy, layer_input, W_ih, W_hh, A, hs, cs, tanh_c,
                                              tanh_column)  # fmt: skip
        grads = [dW_ih, dW_hh, db, db] + grads
    return loss, grads


def numpy_step(params, x, target) -> float:
    loss, grads = numpy_gradients(params, x, target)
    for p, g in zip(params, grads):
        p -= LR * g
    return loss


# ----- setup and checks --------------------------------------------------------------------------


def setup(dtype=np.float32, seed: int = 0):
    """The model, a copy of its parameters for numpy (same order), the input and the target."""
    mg.manual_seed(seed)
    model = nn.LSTM(INPUT, HIDDEN, LAYERS, dtype=dtype)
    params = [p.data.copy() for p in model.parameters()]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((STEPS, BATCH, INPUT)).astype(dtype)
    target = rng.standard_normal((STEPS, BATCH, HIDDEN)).astype(dtype)
    return model, params, x, target


def check_same_gradients() -> None:
    """From the same weights, the same loss and gradients in minigrad and numpy."""
    for dtype, rtol in ((np.float64, 1e-9), (np.float32, 1e-3)):
        model, params, x, target = setup(dtype)
        out, _ = model(mg.tensor(x))
        loss = ((out - mg.tensor(target)) ** 2).mean()
        loss.backward()
        loss_np, grads = numpy_gradients(params, x, target)
        np.testing.assert_allclose(loss.item(), loss_np, rtol=rtol)
        for (name, p), g in zip(model.named_parameters(), grads, strict=True):
            assert p.grad.dtype == dtype, f"{name}: a {p.grad.dtype} gradient"
            atol = 0 if dtype == np.float64 else 1e-3 * np.abs(g).max()
            np.testing.assert_allclose(p.grad.data, g, rtol=rtol, atol=atol, err_msg=name)
    print(f"check: from the same weights, minigrad's loss ({loss_np:.6f}) and gradients equal the")
    print("       hand-written numpy LSTM's (float64: rtol 1e-9; float32: rtol 1e-3)")


# ----- measurements ------------------------------------------------------------------------------


def time_steps(repeats: int) -> None:
    model, params, x, target = setup()
    x_mg, target_mg = mg.tensor(x), mg.tensor(target)
    minigrad_step(model, x_mg, target_mg), numpy_step(params, x, target)  # warm up
    t = interleaved(
        {
            "numpy": (numpy_step, (params, x, target)),
            "minigrad": (minigrad_step, (model, x_mg, target_mg)),
        },
        repeats,
    )
    ms = {name: t.median(name) * 1e3 for name in t}
    print(f"1. time per training step, {LAYERS}-layer LSTM, hidden {HIDDEN}, input {INPUT}, "
          f"sequence {STEPS}, batch {BATCH}, float32 (median of {repeats} runs)")  # fmt: skip
    print(f"   numpy by hand {ms['numpy']:7.2f} ms   minigrad {ms['minigrad']:7.2f} ms")
    print(f"   ratio {t.ratio('minigrad', 'numpy'):5.2f}x   (target <= 1.5x)")


def backward_peak(steps: int) -> int:
    """Bytes allocated at the peak of the backward pass through ``steps`` time steps (one layer,
    hidden 32, batch 8), above what the forward pass holds."""
    mg.manual_seed(0)
    model = nn.LSTM(8, 32)
    x = mg.tensor(np.random.default_rng(0).standard_normal((steps, 8, 8)).astype(np.float32))
    loss = model(x)[0].sum()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        loss.backward()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def measure_backward_memory() -> None:
    peaks = {steps: backward_peak(steps) for steps in (500, 1000)}
    print("2. peak memory of the backward pass through time (tracemalloc), hidden 32, batch 8")
    print("   " + "   ".join(f"{s} steps {p / 2**20:6.2f} MiB" for s, p in peaks.items()))
    print(f"   ratio {peaks[1000] / peaks[500]:5.2f}   (linear: about 2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    warn()
    check_same_gradients()
    time_steps(args.repeats)
    measure_backward_memory()
