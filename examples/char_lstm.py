"""A character-level LSTM that learns to write like minigrad's own documentation.

1. Data: the Markdown pages of ``docs/`` concatenated (they ship with the project); the last
   tenth is held out. Characters are indices into the text's sorted alphabet.
2. Model: ``nn.Embedding`` -> ``nn.LSTM`` -> ``nn.Linear``: at every position, logits for the
   next character. Trained with ``mg.optim.Adam`` on random windows of the text (truncated
   backpropagation through time), cross-entropy at every position, gradients clipped.
3. As it learns it prints samples: characters drawn one at a time with ``mg.multinomial`` from
   the softmax of the logits (temperature 0.8), the LSTM's state carried from one to the next.
4. It writes the training and held-out loss curves to ``OUT/char-lstm-loss.png`` and checks
   that it learned: the held-out loss (nats per character) ends well below the entropy of the
   characters' frequencies, which is the best a model that ignores context can do.

The default run takes about a minute; ``--quick`` (a few seconds, the test suite's run) trains a
smaller model for fewer steps and checks a looser bound.

Run it with ``python examples/char_lstm.py [--quick] [--out FOLDER]``.
"""

from __future__ import annotations

import argparse
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
DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
# name: (hidden size, layers, window length, batch, steps, learning rate, loss bound as a
# fraction of the unigram entropy). The default run reaches 0.52, the quick one 0.65.
RUNS = {
    "default": dict(hidden=256, layers=1, window=64, batch=32, steps=600, lr=4e-3, bound=0.6),
    "quick": dict(hidden=128, layers=1, window=32, batch=32, steps=150, lr=1e-2, bound=0.75),
}


# ----- 1. the data -------------------------------------------------------------------------------


def load_text() -> str:
    pages = sorted(DOCS.glob("*.md"))
    if not pages:
        raise SystemExit(f"no Markdown pages found in {DOCS}: run this script from a checkout")
    return "\n\n".join(page.read_text(encoding="utf-8") for page in pages)


def unigram_entropy(codes: np.ndarray, size: int) -> float:
    """-sum p log p of the characters' frequencies, in nats."""
    p = np.bincount(codes, minlength=size) / len(codes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def windows(codes: np.ndarray, length: int, batch: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` random windows (batch, length) and the characters that follow each position."""
    starts = rng.integers(0, len(codes) - length - 1, batch)
    rows = starts[:, None] + np.arange(length + 1)
    chunk = codes[rows]
    return chunk[:, :-1], chunk[:, 1:]


# ----- 2. the model ------------------------------------------------------------------------------


class CharLSTM(nn.Module):
    def __init__(self, vocabulary: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, 64)
        self.lstm = nn.LSTM(64, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocabulary)

    def forward(self, codes, state=None):
        """Logits (batch, length, vocabulary) for the next character, and the LSTM's state."""
        out, state = self.lstm(self.embed(codes), state)
        return self.head(out), state


def sequence_loss(model: CharLSTM, inputs, targets) -> mg.Tensor:
    logits, _ = model(mg.tensor(inputs))
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), mg.tensor(targets.reshape(-1)))


# ----- 3. sampling -------------------------------------------------------------------------------


def sample(model: CharLSTM, alphabet: list[str], prompt: str, length: int,
           temperature: float = 0.8) -> str:  # fmt: skip
    """Continue ``prompt`` one character at a time, each drawn with ``mg.multinomial``."""
    index = {ch: i for i, ch in enumerate(alphabet)}
    codes = [index[ch] for ch in prompt if ch in index]
    with mg.no_grad():
        logits, state = model(mg.tensor([codes]))
        out = []
        for _ in range(length):
            probabilities = mg.softmax(logits[0, -1] / temperature, dim=-1)
            code = mg.multinomial(probabilities, 1).item()
            out.append(alphabet[code])
            logits, state = model(mg.tensor([[code]]), state)
    return prompt + "".join(out)


# ----- 4. training -------------------------------------------------------------------------------


def train(run: dict, out_dir: pathlib.Path) -> None:
    mg.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    text = load_text()
    alphabet = sorted(set(text))
    lookup = {ch: i for i, ch in enumerate(alphabet)}
    codes = np.fromiter((lookup[ch] for ch in text), np.int64, len(text))
    split = int(0.9 * len(codes))
    train_codes, held_out = codes[:split], codes[split:]
    entropy = unigram_entropy(train_codes, len(alphabet))
    print(f"{len(text):,} characters of docs/*.md, {len(alphabet)} distinct; the entropy of their "
          f"frequencies is {entropy:.3f} nats per character")  # fmt: skip

    model = CharLSTM(len(alphabet), run["hidden"], run["layers"])
    optimizer = mg.optim.Adam(model.parameters(), lr=run["lr"])
    evaluation = windows(held_out, run["window"], 64, np.random.default_rng(SEED + 1))
    history, held_out_history = [], []
    every = max(run["steps"] // 5, 1)
    start = time.perf_counter()
    for step in range(1, run["steps"] + 1):
        inputs, targets = windows(train_codes, run["window"], run["batch"], rng)
        loss = sequence_loss(model, inputs, targets)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        history.append(loss.item())
        if step % every == 0 or step == run["steps"]:
            with mg.no_grad():
                held = sequence_loss(model, *evaluation).item()
            held_out_history.append((step, held))
            print(f"\nstep {step:4d}  train loss {np.mean(history[-every:]):.3f}  held-out "
                  f"{held:.3f}  ({time.perf_counter() - start:.0f} s)")  # fmt: skip
            print("  " + sample(model, alphabet, "The ", 160).replace("\n", "\n  "))

    final = held_out_history[-1][1]
    plot(history, held_out_history, entropy, out_dir / "char-lstm-loss.png")
    print(f"\nheld-out loss {final:.3f} nats per character = {final / entropy:.2f} x the unigram "
          f"entropy ({entropy:.3f})")  # fmt: skip
    if not final < run["bound"] * entropy:
        raise SystemExit(
            f"the LSTM did not learn enough: held-out loss {final:.3f} is not below "
            f"{run['bound']} x {entropy:.3f}"
        )


def plot(history, held_out_history, entropy, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, len(history) + 1)
    ax.plot(steps, history, lw=0.8, alpha=0.6, label="training batch")
    ax.plot(*zip(*held_out_history), "o-", label="held out")
    ax.axhline(entropy, color="gray", ls="--", label=f"unigram entropy {entropy:.2f}")
    ax.set(xlabel="step", ylabel="cross-entropy (nats per character)",
           title="character-level LSTM on minigrad's docs")  # fmt: skip
    ax.set_ylim(0, 1.05 * max(history[0], entropy))
    ax.legend()
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
