"""Render the computation-graph pictures that docs/autodiff.md and docs/viz.md show:
docs/images/graph-*.svg.

    python docs/make_images.py            # rewrite the images
    python docs/make_images.py --out DIR  # write them somewhere else

Each picture is ``mg.viz.draw`` of a small graph, laid out by Graphviz's ``dot``. The node names
in the DOT source come from ``id()`` of the tensors; they are renumbered in order of appearance
so that rendering twice gives the same file.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import sys

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.autodiff import forward_mode

IMAGES = pathlib.Path(__file__).resolve().parent / "images"


def scalar_expression():
    """micrograd's example: L = (a * b + c) * f, after backward (the gradients show)."""
    a = mg.tensor(2.0, requires_grad=True, name="a")
    b = mg.tensor(-3.0, requires_grad=True, name="b")
    c = mg.tensor(10.0, requires_grad=True, name="c")
    f = mg.tensor(-2.0, requires_grad=True, name="f")
    e = a * b
    e.name = "e"
    d = e + c
    d.name = "d"
    loss = d * f
    loss.name = "L"
    loss.backward(retain_graph=True)  # keep the values too: e and d show their data
    return mg.viz.draw(loss)


def neuron():
    """y = tanh(w x + b) on scalars."""
    w, x, b = neuron_inputs()
    y = mg.tanh(w * x + b)
    y.name = "y"
    return mg.viz.draw(y)


def neuron_inputs():
    w = mg.tensor(0.5, requires_grad=True, name="w")
    x = mg.tensor(2.0, requires_grad=True, name="x")
    b = mg.tensor(-0.5, requires_grad=True, name="b")
    return w, x, b


def neuron_create_graph():
    """The same neuron after backward(create_graph=True): dy/dw is a tensor with its own graph,
    made of the backward pass's operations, and it leads back into the forward graph."""
    w, x, b = neuron_inputs()
    y = mg.tanh(w * x + b)
    y.name = "y"
    y.backward(create_graph=True)
    w.grad.name = "dy/dw"
    return mg.viz.draw(w.grad, show_grad=False)


def forward_mode_graph():
    """f(x) = sum(sin(x) * x) with two tangents (the unit directions) riding along."""
    with forward_mode():
        x = mg.tensor([0.5, 1.0], requires_grad=True, name="x")
        x.tangent = np.eye(2)
        f = (mg.sin(x) * x).sum()
        f.name = "f"
        return mg.viz.draw(f, show_data=True)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4, dtype=np.float64)
        self.out = nn.Linear(4, 1, dtype=np.float64)

    def forward(self, x):
        return self.out(mg.tanh(self.hidden(x)))


def mlp():
    """A 3-4-1 MLP and its mean squared error, every operation: one cluster per module."""
    mg.manual_seed(0)
    model = MLP()
    data = mg.tensor(np.random.default_rng(0).normal(size=(8, 3)), name="data")
    target = mg.tensor(np.zeros((8, 1)), name="target")
    loss = nn.functional.mse_loss(model(data), target)
    loss.name = "loss"
    return mg.viz.draw(loss, model=model, detail="ops")


def ring_images(count: int = 4) -> np.ndarray:
    """``count`` 8 x 8 pictures of a noisy ring (a zero), as (count, 1, 8, 8) float32."""
    rows, cols = np.mgrid[:8, :8]
    radius = np.hypot(rows - 3.5, cols - 3.5)
    ring = np.exp(-((radius - 2.6) ** 2) / 0.8)
    noise = np.random.default_rng(0).normal(scale=0.1, size=(count, 1, 8, 8))
    return (ring + noise).astype(np.float32)


def cnn_layers():
    """The default drawing of one training step of a small CNN, after backward: one node per
    layer with its parameters and their gradients' norms, the input with a thumbnail."""
    mg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 4 * 4, 10),
    )  # fmt: skip
    images = mg.tensor(ring_images())
    loss = nn.functional.cross_entropy(model(images), np.array([0, 0, 0, 0]))
    loss.backward()  # drawn afterwards, with the gradients
    return mg.viz.draw(loss, model=model, inputs=images)


class Classifier(nn.Module):
    """Token embeddings, 4 transformer encoder layers, the mean over positions, a linear head."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 32)
        layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=4)
        self.head = nn.Linear(32, 2)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


def encoder_layers(**options):
    """The default drawing of a transformer classifier: its 4 identical encoder layers fold
    into one node (or, with ``expand=``, one of them is drawn open)."""
    mg.manual_seed(0)
    model = Classifier()
    tokens = np.random.default_rng(0).integers(0, 20, size=(4, 10))
    loss = nn.functional.cross_entropy(model(tokens), np.array([0, 1, 1, 0]))
    loss.backward()
    return mg.viz.draw(loss, model=model, inputs=tokens, **options)


PICTURES = {
    "graph-scalar": scalar_expression,
    "graph-neuron": neuron,
    "graph-neuron-create-graph": neuron_create_graph,
    "graph-forward-mode": forward_mode_graph,
    "graph-mlp": mlp,
    "graph-cnn-layers": cnn_layers,
    "graph-encoder-layers": encoder_layers,
    "graph-encoder-expanded": lambda: encoder_layers(expand=("encoder.layers.1",)),
}


def stable_source(source: str) -> str:
    """The DOT source with node names (``t`` / ``o`` + an id) renumbered in order of appearance."""
    names: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        return names.setdefault(match.group(0), f"{match.group(1)}{len(names)}")

    return re.sub(r"\b([to])(\d{6,})\b", rename, source)


def render_svg(graph, path: pathlib.Path) -> None:
    """Lay out ``graph`` with ``dot`` and write a compact SVG (without dot's comments)."""
    import graphviz

    svg = graphviz.Source(stable_source(graph.source)).pipe(format="svg").decode()
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    path.write_text(svg)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=IMAGES, help="folder for the SVGs")
    args = parser.parse_args(argv)
    if shutil.which("dot") is None:
        sys.exit(f"make_images: {mg.viz.INSTALL_DOT}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in PICTURES.items():
        path = args.out / f"{name}.svg"
        render_svg(make(), path)
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
