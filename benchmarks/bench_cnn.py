"""One training step of a small CNN, minigrad against the fastest numpy step we can write.

Network (float32, 8x8 single-channel images, batch 256): conv 3x3 1->16 with padding 1 -> ReLU
-> max pool 2 -> flatten -> linear 256->10 -> softmax cross-entropy -> SGD update.
Both sides do the same forward, backward and update; the images need no gradient, so neither
computes one (the check below does, for numpy outside the timed step, to compare input
gradients too). Target: minigrad at most 1.0x numpy.

Why the numpy step is fast (each choice measured on the project's machine, one BLAS thread):
- **Buffers allocated once** (``NumpyCNN.__init__``) and written with ``out=``: fresh arrays of
  this size come from ``mmap`` and every step would fault their pages in again.
- **im2col is one copy** of ``sliding_window_view`` of the padded images (padded in place: the
  border of a preallocated buffer stays zero) into ``cols`` of shape (10, N*64): 0.11 ms against
  0.15 ms for a loop over the 9 kernel offsets.
- **One GEMM per direction, biases inside it**: ``cols`` carries a row of ones and the weights a
  bias row, so ``conv = cols.T @ W1`` adds the bias and ``dW1 = cols @ dconv`` gives the bias's
  gradient with the weights' (no bias add, no column sum). The same for the linear layer (a
  column of ones after the pooled features). ``W1`` is kept as (in + 1, out): both products then
  run without a transposed operand, twice as fast for the gradient (0.10 ms against 0.20 ms).
- **Channels last** (N, 8, 8, 16), the layout the conv GEMM produces: ReLU in place, the 2x2 max
  pool as two pairwise ``np.maximum`` over reshaped views (0.12 ms; ``max(axis=(2, 4))`` takes
  0.76 ms), written straight into the linear layer's input buffer; the linear weight is kept
  permuted to (h, w, c) order once, so nothing is transposed per step.
- **The pool's mask is computed once** in the forward (``win == pooled``, as float32, so the
  backward is one multiply without a cast); ReLU's derivative is applied to the 4x smaller
  pooled gradient (the window's maximum is positive exactly when the ReLU passed it).
- **No col2im**: the input needs no gradient. Cross-entropy's backward folds ``1 / N`` and the
  softmax's normaliser into one scale; the SGD update is ``g *= lr; p -= g`` in place.
Not done, because it changes the network rather than how it is computed: ReLU after the pool
(max and ReLU commute), which would save the 0.1 ms ReLU pass over the full feature map.

    python benchmarks/bench_cnn.py [--repeats N] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from timing import interleaved, warn

import minigrad as mg
from minigrad import nn

BATCH, SIZE, CHANNELS, CLASSES, LR = 256, 8, 16, 10, 0.1
STEPS_PER_TIMING = 10


# ----- numpy by hand -----------------------------------------------------------------------------


class NumpyCNN:
    """The step by hand, from minigrad's parameters (w1, b1, w2, b2) converted to its layouts."""

    def __init__(self, w1, b1, w2, b2, batch=BATCH):
        f, N, S, C, K = np.float32, batch, SIZE, CHANNELS, CLASSES
        P = (S // 2) ** 2 * C
        self.W1 = np.empty((10, C), f)  # rows: the 9 kernel taps, then the bias
        self.W1[:9], self.W1[9] = w1.reshape(C, 9).T, b1
        self.W2 = np.empty((K, P + 1), f)  # columns: pooled features in (h, w, c) order, bias
        self.W2[:, :P] = w2.reshape(K, C, S // 2, S // 2).transpose(0, 2, 3, 1).reshape(K, P)
        self.W2[:, P] = b2
        self.padded = np.zeros((N, S + 2, S + 2), f)
        self.cols = np.empty((10, N * S * S), f)
        self.cols[9] = 1
        self.conv = np.empty((N * S * S, C), f)
        self.half = np.empty((N, S // 2, S // 2, 2, C), f)
        self.h = np.empty((N, P + 1), f)
        self.h[:, P] = 1
        self.mask = np.empty((N, S // 2, 2, S // 2, 2, C), f)
        self.logits = np.empty((N, K), f)
        self.d_h = np.empty((N, P), f)
        self.d_conv = np.empty((N * S * S, C), f)
        self.dW1, self.dW2 = np.empty_like(self.W1), np.empty_like(self.W2)
        self.rows = np.arange(N)

    def step(self, x, labels, lr):
        """Forward, backward and an SGD update in place; returns the loss."""
        N, S, C, P = len(x), SIZE, CHANNELS, self.d_h.shape[1]
        # forward: im2col, conv + bias, ReLU, 2x2 max pool, linear + bias
        self.padded[:, 1:-1, 1:-1] = x[:, 0]
        windows = sliding_window_view(self.padded, (3, 3), axis=(1, 2))  # (N, S, S, 3, 3)
        np.copyto(self.cols[:9].reshape(3, 3, N, S, S), windows.transpose(3, 4, 0, 1, 2))
        conv = np.matmul(self.cols.T, self.W1, out=self.conv)
        np.maximum(conv, 0, out=conv)
        win = conv.reshape(N, S // 2, 2, S // 2, 2, C)
        pooled = self.h[:, :P].reshape(N, S // 2, S // 2, C)
        np.maximum(win[:, :, 0], win[:, :, 1], out=self.half)
        np.maximum(self.half[:, :, :, 0], self.half[:, :, :, 1], out=pooled)
        np.equal(win, pooled[:, :, None, :, None, :], out=self.mask)
        logits = np.matmul(self.h, self.W2.T, out=self.logits)
        # softmax cross-entropy and its gradient (softmax - onehot) / N, in place
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits, out=logits)
        total = p.sum(axis=1)
        loss = np.mean(np.log(total) - np.log(p[self.rows, labels]))
        p *= (1 / (N * total))[:, None]
        p[self.rows, labels] -= 1 / N
        # backward
        np.matmul(p.T, self.h, out=self.dW2)
        d_h = np.matmul(p, self.W2[:, :P], out=self.d_h)
        d_h *= pooled.reshape(N, P) > 0
        d_conv = self.d_conv.reshape(N, S // 2, 2, S // 2, 2, C)
        np.multiply(self.mask, d_h.reshape(N, S // 2, 1, S // 2, 1, C), out=d_conv)
        np.matmul(self.cols, self.d_conv, out=self.dW1)
        # update (learning rate 0: none, and the gradients stay readable for the check)
        for w, g in ((self.W1, self.dW1), (self.W2, self.dW2)) if lr else ():
            g *= lr
            w -= g
        return loss

    @staticmethod
    def minigrad_layout(W1, W2):
        """(w1, b1, w2, b2) in minigrad's layouts from this class's ``W1`` and ``W2`` layouts."""
        C, K, P = CHANNELS, CLASSES, W2.shape[1] - 1
        w2 = W2[:, :P].reshape(K, SIZE // 2, SIZE // 2, C).transpose(0, 3, 1, 2).reshape(K, P)
        return [W1[:9].T.reshape(C, 1, 3, 3), W1[9].copy(), w2, W2[:, P].copy()]

    def parameters(self):
        return self.minigrad_layout(self.W1, self.W2)

    def gradients(self, x, labels):
        """The loss and the gradients in minigrad's layouts (w1, b1, w2, b2, x): for the check."""
        loss = self.step(x, labels, 0.0)
        N, S = len(x), SIZE
        d_cols = (self.d_conv @ self.W1[:9].T).reshape(N, S, S, 3, 3)  # col2im, check only
        d_padded = np.zeros((N, S + 2, S + 2), np.float32)
        for i in range(3):
            for j in range(3):
                d_padded[:, i : i + S, j : j + S] += d_cols[..., i, j]
        d_x = d_padded[:, None, 1:-1, 1:-1]
        return loss, [*self.minigrad_layout(self.dW1, self.dW2), d_x]


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
    weights, and then the same weights after one SGD step."""
    reference = NumpyCNN(*(p.data.copy() for p in model.parameters()))
    loss_np, grads_np = reference.gradients(x, labels)
    x_t = mg.tensor(x, requires_grad=True)
    loss = nn.functional.cross_entropy(model(x_t), labels)
    loss.backward()
    grads_mg = [p.grad.data for p in model.parameters()] + [x_t.grad.data]
    model.zero_grad()
    np.testing.assert_allclose(loss.item(), loss_np, rtol=1e-5)
    for g_mg, g_np in zip(grads_mg, grads_np, strict=True):
        assert g_mg.shape == g_np.shape and g_mg.dtype == g_np.dtype == np.float32
        np.testing.assert_allclose(g_mg, g_np, rtol=1e-4, atol=1e-6)
        assert np.abs(g_np).max() > 1e-5  # a gradient that could be wrong
    before = [p.data.copy() for p in model.parameters()]
    reference.step(x, labels, LR)
    minigrad_step(model, mg.Tensor(x), labels, LR)
    for p, p_np, p0 in zip(model.parameters(), reference.parameters(), before, strict=True):
        assert not np.allclose(p_np, p0, rtol=1e-3)  # the step moved the weights
        np.testing.assert_allclose(p.data, p_np, rtol=1e-5, atol=1e-7)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="a short run: the ratio line only")
    args = parser.parse_args()
    warn()
    repeats = 12 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, SIZE, SIZE)).astype(np.float32)
    labels = rng.integers(0, CLASSES, BATCH)

    model = make_model()
    check(model, x, labels)
    by_hand = NumpyCNN(*(p.data.copy() for p in model.parameters()))
    x_t = mg.Tensor(x)

    def minigrad_steps():
        for _ in range(STEPS_PER_TIMING):
            minigrad_step(model, x_t, labels, LR)

    def numpy_steps():
        for _ in range(STEPS_PER_TIMING):
            by_hand.step(x, labels, LR)

    minigrad_steps(), numpy_steps()  # warm up
    t = interleaved({"numpy": (numpy_steps, ()), "minigrad": (minigrad_steps, ())}, repeats)
    ratio, (low, high) = t.ratio("minigrad", "numpy"), t.spread("minigrad", "numpy")
    ms_np, ms_mg = (t.median(name) / STEPS_PER_TIMING * 1e3 for name in ("numpy", "minigrad"))
    if not args.quick:
        print(f"CNN training step, batch {BATCH}, {SIZE}x{SIZE}x1 float32, process CPU time, "
              f"median of {repeats} interleaved rounds of {STEPS_PER_TIMING} steps")  # fmt: skip
    print(f"CNN step: minigrad / numpy {ratio:5.2f}x (rounds {low:.2f}-{high:.2f}; "
          f"numpy {ms_np:.3f} ms, minigrad {ms_mg:.3f} ms; target <= 1.0x)")  # fmt: skip


if __name__ == "__main__":
    main()
