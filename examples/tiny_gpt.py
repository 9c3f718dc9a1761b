"""A tiny GPT that learns to add two 3-digit numbers, in the style of minGPT.

1. Data, generated here: ``a + b`` for 0 <= a, b < 1000, written as the six digits of ``a`` and
   ``b`` followed by the four digits of the sum, least significant first (so each digit of the
   sum comes after the digits and the carry it depends on, as in minGPT's adder): 123 + 989 =
   1112 is the sequence 1 2 3 9 8 9 2 1 1 1. Two thousand pairs are held out: training never
   sees them.
2. Model, decoder-only: token and learned position embeddings, then blocks of causal
   self-attention (``nn.MultiheadAttention`` with the causal mask) and a GELU MLP, each behind a
   ``LayerNorm`` and added back (pre-norm residual blocks, as GPT-2), then a last ``LayerNorm``
   and a linear layer to the 10 digit logits. Trained with ``AdamW`` (a warm-up, then a cosine
   decay) on the cross-entropy of the four sum digits, given every token before them.
3. It answers the held-out questions by greedy decoding (the most likely digit, appended, four
   times) and counts the exact matches: all four digits right. The default run reaches 100%
   and checks at least 99%; it writes the loss curve and the attention maps of one sum to
   ``OUT/tiny-gpt-loss.png`` and ``OUT/tiny-gpt-attention.png``.

The default run takes about half a minute on one core; ``--quick`` (a few seconds, the test
suite's run) learns 2-digit sums with a smaller model and budget, and checks that at least 10%
of the held-out sums come out exactly right (chance: 0.1%; it gets about 65%).

Run it with ``python examples/tiny_gpt.py [--quick] [--out FOLDER]``.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.nn import functional as F  # noqa: E402

SEED = 0
# digits per number; model width, heads and blocks; batch, steps and peak learning rate; the
# exact-match accuracy the run must reach on the held-out sums.
RUNS = {
    "default": dict(digits=3, width=64, heads=4, blocks=2, batch=64, steps=1500, lr=2e-3,
                    bound=0.99),
    "quick": dict(digits=2, width=48, heads=4, blocks=2, batch=64, steps=400, lr=3e-3,
                  bound=0.1),
}  # fmt: skip
HELD_OUT = 2000


# ----- 1. the data -------------------------------------------------------------------------------


def digits_of(n: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` decimal digits of each n, most significant first: (len(n), count)."""
    return n[:, None] // 10 ** np.arange(count - 1, -1, -1) % 10


def sequences(pairs: np.ndarray, digits: int) -> np.ndarray:
    """Each pair (a, b) as a's digits, b's digits, then the digits of a + b reversed."""
    a, b = pairs[:, 0], pairs[:, 1]
    total = digits_of(a + b, digits + 1)[:, ::-1]  # least significant first
    return np.concatenate([digits_of(a, digits), digits_of(b, digits), total], axis=1)


class Problems:
    """Random sums, with a fixed set of them held out from training."""

    def __init__(self, digits: int, rng: np.random.Generator):
        self.digits, self.rng, self.size = digits, rng, 10**digits
        count = min(HELD_OUT, self.size**2 // 5)
        held = rng.choice(self.size**2, count, replace=False)
        self.is_held_out = np.zeros(self.size**2, dtype=bool)
        self.is_held_out[held] = True
        self.held_out = sequences(np.stack(np.divmod(held, self.size), axis=1), digits)

    def batch(self, n: int) -> np.ndarray:
        codes = self.rng.integers(0, self.size**2, n)
        while (again := self.is_held_out[codes]).any():
            codes[again] = self.rng.integers(0, self.size**2, again.sum())
        return sequences(np.stack(np.divmod(codes, self.size), axis=1), self.digits)


# ----- 2. the model ------------------------------------------------------------------------------


class Block(nn.Module):
    """Causal self-attention, then an MLP, each behind a LayerNorm and added back."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"), nn.Linear(4 * width, width)
        )

    def forward(self, x: mg.Tensor, causal: np.ndarray, need_weights: bool = False):
        h = self.norm1(x)
        # causal[i, j] is True where token i may NOT look at token j (j > i): PyTorch's
        # MultiheadAttention masks out where True. is_causal says that it is the causal mask.
        attended, weights = self.attention(h, h, h, attn_mask=causal, is_causal=True,
                                           need_weights=need_weights,
                                           average_attn_weights=False)  # fmt: skip
        x = x + attended
        return x + self.mlp(self.norm2(x)), weights


class GPT(nn.Module):
    def __init__(self, vocabulary: int, length: int, width: int, heads: int, blocks: int):
        super().__init__()
        self.tokens = nn.Embedding(vocabulary, width)
        self.positions = nn.Embedding(length, width)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(blocks)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocabulary)

    def forward(self, tokens: np.ndarray, need_weights: bool = False):
        """Logits (N, T, vocabulary) for the next token at each position; with
        ``need_weights``, also each block's attention weights (N, heads, T, T)."""
        T = tokens.shape[1]
        causal = np.triu(np.ones((T, T), dtype=bool), k=1)
        x = self.tokens(tokens) + self.positions(np.arange(T))
        maps = []
        for block in self.blocks:
            x, weights = block(x, causal, need_weights)
            maps.append(weights)
        logits = self.head(self.norm(x))
        return (logits, maps) if need_weights else logits


def answer_loss(model: GPT, batch: np.ndarray, digits: int) -> mg.Tensor:
    """Cross-entropy of the sum's digits, each predicted from every token before it."""
    logits = model(batch[:, :-1])[:, 2 * digits - 1 :]  # the positions that predict the sum
    return F.cross_entropy(logits.reshape(-1, 10), batch[:, 2 * digits :].reshape(-1))


def solve(model: GPT, questions: np.ndarray, digits: int) -> np.ndarray:
    """Greedy decoding: append the most likely next digit, ``digits + 1`` times."""
    sequence = questions
    with mg.no_grad():
        for _ in range(digits + 1):
            logits = model(sequence)[:, -1]
            sequence = np.concatenate([sequence, logits.numpy().argmax(-1)[:, None]], axis=1)
    return sequence[:, 2 * digits :]


def exact_match(model: GPT, problems: Problems) -> float:
    held_out, d = problems.held_out, problems.digits
    return float((solve(model, held_out[:, : 2 * d], d) == held_out[:, 2 * d :]).all(1).mean())


# ----- 3. training -------------------------------------------------------------------------------


def train(run: dict, out_dir: pathlib.Path) -> None:
    mg.manual_seed(SEED)
    d = run["digits"]
    problems = Problems(d, np.random.default_rng(SEED))
    model = GPT(10, 3 * d + 1, run["width"], run["heads"], run["blocks"])
    decay = [p for name, p in model.named_parameters() if p.ndim == 2 and "positions" not in name]
    rest = [p for name, p in model.named_parameters() if not any(p is q for q in decay)]
    optimizer = mg.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                {"params": rest, "weight_decay": 0.0}], lr=run["lr"])  # fmt: skip
    warmup, steps = 100, run["steps"]

    def schedule(step: int) -> float:  # linear warm-up, then cosine decay to a tenth
        if step < warmup:
            return (step + 1) / warmup
        return 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))

    scheduler = mg.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    print(f"{d}-digit sums, {len(problems.held_out)} held out; a {run['blocks']}-block GPT of "
          f"width {run['width']} with {model.num_parameters():,} parameters")  # fmt: skip
    history, evaluations = [], []
    every = max(steps // 6, 1)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        loss = answer_loss(model, problems.batch(run["batch"]), d)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        history.append(loss.item())
        if step % every == 0 or step == steps:
            accuracy = exact_match(model, problems)
            evaluations.append((step, accuracy))
            print(f"step {step:5d}  loss {np.mean(history[-every:]):.4f}  held-out exact match "
                  f"{accuracy:6.1%}  ({time.perf_counter() - start:.1f} s)")  # fmt: skip
    seconds = time.perf_counter() - start
    print(f"{seconds / steps * 1e3:.1f} ms per training step")
    plot_loss(history, evaluations, out_dir / "tiny-gpt-loss.png")
    plot_attention(model, problems, out_dir / "tiny-gpt-attention.png")
    final = evaluations[-1][1]
    if final < run["bound"]:
        raise SystemExit(f"the GPT did not learn to add: {final:.1%} of the held-out sums right, "
                         f"expected at least {run['bound']:.0%}")  # fmt: skip
    print(f"{final:.1%} of the held-out sums right (at least {run['bound']:.0%} expected)")


# ----- 4. pictures -------------------------------------------------------------------------------


def plot_loss(history, evaluations, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax, acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax.semilogy(np.arange(1, len(history) + 1), history, lw=0.8)
    ax.set(xlabel="step", ylabel="cross-entropy of the sum's digits", title="training loss")
    acc.plot(*zip(*evaluations), "o-")
    acc.set(xlabel="step", ylabel="exact match", ylim=(0, 1.02), title="held-out sums right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def plot_attention(model: GPT, problems: Problems, path: pathlib.Path) -> None:
    """Each head's attention weights in each block for the first held-out sum: row i is what
    the token at position i looks at (only itself and earlier tokens: the causal mask)."""
    d, sequence = problems.digits, problems.held_out[:1]
    with mg.no_grad():
        _, maps = model(sequence[:, :-1], need_weights=True)
    labels = [f"a{d - 1 - i}:{t}" for i, t in enumerate(sequence[0, :d])]
    labels += [f"b{d - 1 - i}:{t}" for i, t in enumerate(sequence[0, d : 2 * d])]
    labels += [f"s{i}:{t}" for i, t in enumerate(sequence[0, 2 * d : -1])]
    blocks, heads = len(maps), maps[0].shape[1]
    fig, axes = plt.subplots(blocks, heads, figsize=(2.6 * heads, 3.0 * blocks), squeeze=False)
    for b, weights in enumerate(maps):
        for h in range(heads):
            ax = axes[b, h]
            ax.imshow(weights.numpy()[0, h], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
            ax.set_title(f"block {b + 1}, head {h + 1}", fontsize=9)
    fig.suptitle("attention weights (row: query token, column: key token; a, b: digits of the "
                 "numbers, s: of the sum)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds' run (the tests')")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("example-output"))
    args = parser.parse_args()
    train(RUNS["quick" if args.quick else "default"], args.out)
