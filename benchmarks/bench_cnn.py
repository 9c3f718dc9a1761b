"""One training step of a small CNN, minigrad against a hand-written numpy im2col version.

Network (float32, 8x8 single-channel images, batch 256): conv 3x3 1->16 with padding 1 -> ReLU
-> max pool 2 -> flatten -> linear 256->10 -> softmax cross-entropy -> SGD update.
Both sides do the same forward, backward and update; the images need no gradient, so neither
computes one (the numpy check below does, through col2im, to compare input gradients too).
Target: minigrad at most 1.0x numpy.

Implementations are interleaved, with a pause between them (OpenBLAS threads spin after
products on 2-core machines), and medians are reported.

    python benchmarks/bench_cnn.py [--repeats N]
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from timing import interleaved

import minigrad as mg
from minigrad import nn

BATCH, SIZE, CHANNELS, CLASSES, LR = 256, 8, 16, 10, 0.1


# ----- numpy by hand -----------------------------------------------------------------------------


def im2col(x_padded, k):
    """Rows of k*k pixels, one per output position: (N * OH * OW, C * k * k), a copy."""
    N, C, H, W = x_padded.shape
    windows = sliding_window_view(x_padded, (k, k), axis=(2, 3))  # (N, C, OH, OW, k, k)
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * (H - k + 1) * (W - k + 1), C * k * k)


def col2im(cols, shape, k):
    """Add the rows of im2col back into a padded image of ``shape``: a loop over offsets."""
    N, C, H, W = shape
    OH, OW = H - k + 1, W - k + 1
    patches = cols.reshape(N, OH, OW, C, k, k)
    x = np.zeros(shape, cols.dtype)
    for i in range(k):
        for j in range(k):
            x[:, :, i : i + OH, j : j + OW] += patches[..., i, j].transpose(0, 3, 1, 2)
    return x


def numpy_step(params, x, labels, lr, input_grad=False):
    """Forward, backward and an SGD update in place; returns the loss and the gradients."""
    w1, b1, w2, b2 = params
    N = x.shape[0]
    # forward
    x_padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = im2col(x_padded, 3)
    conv = (cols @ w1.reshape(CHANNELS, -1).T + b1).reshape(N, SIZE, SIZE, CHANNELS)
    conv = conv.transpose(0, 3, 1, 2)
    relu = np.maximum(conv, 0)
    windows = relu.reshape(N, CHANNELS, SIZE // 2, 2, SIZE // 2, 2)
    pooled = windows.max(axis=(3, 5))
    h = pooled.reshape(N, -1)
    logits = h @ w2.T + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    loss = -log_probs[rows, labels].mean()
    # backward
    d_logits = np.exp(log_probs)
    d_logits[rows, labels] -= 1
    d_logits /= N
    d_w2, d_b2 = d_logits.T @ h, d_logits.sum(axis=0)
    d_pooled = (d_logits @ w2).reshape(N, CHANNELS, SIZE // 2, 1, SIZE // 2, 1)
    mask = windows == pooled[:, :, :, None, :, None]
    d_relu = (mask * d_pooled).reshape(N, CHANNELS, SIZE, SIZE)
    d_conv = (d_relu * (conv > 0)).transpose(0, 2, 3, 1).reshape(N * SIZE * SIZE, CHANNELS)
    d_w1, d_b1 = (d_conv.T @ cols).reshape(w1.shape), d_conv.sum(axis=0)
    grads = [d_w1, d_b1, d_w2, d_b2]
    if input_grad:
        d_x = col2im(d_conv @ w1.reshape(CHANNELS, -1), x_padded.shape, 3)
        grads.append(d_x[:, :, 1:-1, 1:-1])
    # update
    for p, g in zip(params, grads):
        p -= lr * g
    return loss, grads


# ----- minigrad ----------------------------------------------------------------------------------


def make_model(seed: int = 0) -> nn.Sequential:
    generator = mg.Generator(seed)
    return nn.Sequential(
        nn.Conv2d(1, CHANNELS, 3, padding=1, generator=generator),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(CHANNELS * (SIZE // 2) ** 2, CLASSES, generator=generator),
    )


def minigrad_step(model, x, labels, lr):
    """Forward, backward and an SGD update in place; returns the loss."""
    loss = nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    with mg.no_grad():
        for p in model.parameters():
            p.data -= lr * p.grad.data
    model.zero_grad()
    return loss


# ----- main --------------------------------------------------------------------------------------


def check(model, x, labels):
    """Both implementations give the same loss and gradients (of the input too) from the same
    weights; nothing is updated (learning rate 0)."""
    params = [p.data.copy() for p in model.parameters()]
    loss_np, grads_np = numpy_step(params, x, labels, 0.0, input_grad=True)
    x_t = mg.tensor(x, requires_grad=True)
    loss = nn.functional.cross_entropy(model(x_t), labels)
    loss.backward()
    grads_mg = [p.grad.data for p in model.parameters()] + [x_t.grad.data]
    model.zero_grad()
    np.testing.assert_allclose(loss.item(), loss_np, rtol=1e-5)
    for g_mg, g_np in zip(grads_mg, grads_np):
        assert g_mg.shape == g_np.shape and g_mg.dtype == g_np.dtype == np.float32
        np.testing.assert_allclose(g_mg, g_np, rtol=1e-4, atol=1e-6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, SIZE, SIZE)).astype(np.float32)
    labels = rng.integers(0, CLASSES, BATCH)

    model = make_model()
    check(model, x, labels)
    params = [p.data.copy() for p in model.parameters()]
    x_t = mg.Tensor(x)

    def minigrad_steps():
        for _ in range(10):
            minigrad_step(model, x_t, labels, LR)

    def numpy_steps():
        for _ in range(10):
            numpy_step(params, x, labels, LR)

    t = interleaved({"numpy": (numpy_steps, ()), "minigrad": (minigrad_steps, ())}, args.repeats)
    ms_np, ms_mg = t.median("numpy") / 10 * 1e3, t.median("minigrad") / 10 * 1e3
    print(f"CNN training step, batch {BATCH}, {SIZE}x{SIZE}x1 float32 (median of {args.repeats})")
    print(f"   numpy im2col by hand {ms_np:6.3f} ms   minigrad {ms_mg:6.3f} ms")
    print(f"   ratio {t.ratio('minigrad', 'numpy'):5.2f}x   (target <= 1.0x)")


if __name__ == "__main__":
    main()
