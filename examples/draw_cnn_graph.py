"""Draw the computation graph of one training step of a small CNN with ``mg.viz``.

1. A small model built from modules: two blocks in a ``ModuleList`` (convolution, ReLU and
   max-pooling) and a ``Sequential`` head.
2. One training step: forward, cross-entropy loss, ``mg.viz.snapshot(loss)`` (backward frees
   the graph, the snapshot keeps what drawing needs), backward, an SGD update.
3. Two drawings of that step, with the gradients: the default one, a node per layer
   (``blocks.0.conv: Conv2d(1→4, 3×3)``) listing its parameters and the norms of their
   gradients, the input images with a thumbnail of the first, the loss at the end; and
   ``detail="ops"``, every operation, grouped in one cluster per module (``blocks.0``,
   ``blocks.0.conv``, ``head.1``, ...). The script checks both: every layer named with its
   gradients in the first, a cluster for every module in the second.

Run it with ``python examples/draw_cnn_graph.py [--out FOLDER]`` (default: ``graph-output`` in
the current directory). Rendering needs Graphviz's ``dot``; without it the DOT sources are
still written, and the script says so (NOT DRAWN) and how to install ``dot``.
"""

from __future__ import annotations

import argparse
import html
import pathlib
import shutil

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn.labels import layer_label

DTYPE = np.float64
IMAGE = 8  # images are 1 x 8 x 8
CLASSES = 3


class ConvBlock(nn.Module):
    """3x3 convolution (padding 1), ReLU, then 2x2 max-pooling."""

    def __init__(self, in_channels: int, out_channels: int, generator):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, dtype=DTYPE,
                              generator=generator)  # fmt: skip
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(x).relu())


class SmallCNN(nn.Module):
    def __init__(self, seed: int = 0):
        super().__init__()
        generator = mg.Generator(seed)
        self.blocks = nn.ModuleList([ConvBlock(1, 4, generator), ConvBlock(4, 8, generator)])
        features = 8 * (IMAGE // 4) ** 2
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(features, 16, dtype=DTYPE, generator=generator),
            nn.ReLU(),
            nn.Linear(16, CLASSES, dtype=DTYPE, generator=generator),
        )

    def forward(self, images):
        x = images
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def render(graph: mg.viz.Snapshot, path: pathlib.Path, **options) -> str | None:
    """Draw ``graph`` to the SVG file ``path``; its text, or None without Graphviz's ``dot``."""
    try:
        mg.viz.render(graph, str(path), **options)
    except mg.viz.GraphError as error:
        if shutil.which("dot") is not None:
            raise  # Graphviz is there: this is a real failure
        print(f"NOT DRAWN: {error}")  # no `dot`: the error names the DOT source written instead
        return None
    print(f"wrote {path} (DOT source: {path.with_suffix('.dot')})")
    return path.read_text()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="graph-output", help="folder for the drawings")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    images = mg.tensor(rng.normal(size=(4, 1, IMAGE, IMAGE)), name="images")
    labels = rng.integers(0, CLASSES, size=4)
    model = SmallCNN()
    print(f"model:\n{model}")

    # One training step. backward() frees the graph: snapshot it first to draw it afterwards.
    loss = nn.functional.cross_entropy(model(images), labels)
    graph = mg.viz.snapshot(loss)
    loss.backward()
    with mg.no_grad():
        for p in model.parameters():
            p.data -= 0.1 * p.grad.data
    after = nn.functional.cross_entropy(model(images), labels)
    print(f"\nloss {loss.item():.4f} -> {after.item():.4f} after one SGD step (lr 0.1)")
    print(f"the step's graph: {len(graph.ops)} operations, {len(graph.tensors)} tensors")
    if not after.item() < loss.item():
        raise SystemExit("a small step against the gradient should lower the loss")

    print()
    # the default: one node per layer, with its parameters and their gradients' norms
    layers = render(graph, out / "train_step.svg", model=model, inputs=images)
    if layers is not None:
        text = html.unescape(layers)
        named = [f"{path}: {layer_label(m)}" for path, m in model.named_modules()
                 if path and not list(m.children())]  # fmt: skip
        missing = [name for name in named if name not in text]
        if missing or text.count("|grad|") != len(list(model.parameters())):
            raise SystemExit(f"train_step.svg should name every layer (lacks {missing}) and "
                             f"the norm of every parameter's gradient")  # fmt: skip
        print(f"layers: {len(named)} layers, each one node, and the input {tuple(images.shape)}")
    # every operation, one cluster per module
    ops = render(graph, out / "train_step_ops.svg", model=model, detail="ops")
    if ops is not None:
        modules = [path for path, _ in model.named_modules()]
        missing = [p for p in modules if f"<title>cluster_{p}</title>" not in ops]
        if missing:
            raise SystemExit(
                f"train_step_ops.svg should have a cluster per module, lacks {missing}"
            )
        print(f"ops: {len(graph.ops)} operations in {len(modules)} module clusters")


if __name__ == "__main__":
    main()
