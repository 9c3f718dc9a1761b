"""Render the computation-graph pictures that docs/autodiff.md shows: docs/images/graph-*.svg.

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
    loss.backward(retain_graph=True)  # keep the graph so it can be drawn
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
    """A 3-4-1 MLP and its mean squared error: one cluster per module."""
    mg.manual_seed(0)
    model = MLP()
    data = mg.tensor(np.random.default_rng(0).normal(size=(8, 3)), name="data")
    target = mg.tensor(np.zeros((8, 1)), name="target")
    loss = nn.functional.mse_loss(model(data), target)
    loss.name = "loss"
    return mg.viz.draw(loss, model=model)


PICTURES = {
    "graph-scalar": scalar_expression,
    "graph-neuron": neuron,
    "graph-neuron-create-graph": neuron_create_graph,
    "graph-forward-mode": forward_mode_graph,
    "graph-mlp": mlp,
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
