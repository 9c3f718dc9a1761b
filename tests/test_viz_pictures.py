"""The default drawings of real models fit a screen: one training step of the demo's CNN, the
tiny GPT of examples/tiny_gpt.py, a 2-layer LSTM over 32 steps and an LSTMCell looped over 32
steps are rendered to PNG in build/test-pictures/ (look at them), at most 2,500 pixels on their
long side at dot's 96 DPI (no size= shrinking) and 40 nodes, with the labels a person needs.
Rendering is skipped without Graphviz's `dot`; the DOT checks still run. And a drawing displays
itself in Jupyter, with or without `dot`."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import shutil
import struct

import numpy as np
import pytest
from test_viz_layers import read

import minigrad as mg
from minigrad import demo, nn
from minigrad.nn.labels import layer_label

ROOT = pathlib.Path(__file__).resolve().parent.parent
PICTURES = ROOT / "build" / "test-pictures"
LONGEST_SIDE = 2_500  # pixels
MOST_NODES = 40
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def png_size(path: pathlib.Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (bytes 16 to 24)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def check_picture(graph, name: str, needed: list[str], png=None) -> None:
    """At most MOST_NODES nodes, the ``needed`` texts in its labels, and rendered (with
    `dot`; or the PNG ``png`` already rendered, copied) at most LONGEST_SIDE pixels on its long
    side."""
    picture = read(graph)
    assert len(picture.nodes) <= MOST_NODES, f"{name}: {len(picture.nodes)} nodes"
    assert not re.search(r"\bsize=", picture.source)  # no shrinking
    text = " | ".join(picture.text(n) for n in picture.nodes)
    for label in needed:
        assert label in text, f"{name}: {label!r} is not in the drawing"
    if shutil.which("dot") is not None:
        path = PICTURES / f"{name}.png"
        if png is None:
            mg.viz.render(graph, path)
        else:
            PICTURES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, path)
        width, height = png_size(path)
        assert max(width, height) <= LONGEST_SIDE, f"{name}: {width} x {height} pixels"


def layer_rows(model, paths) -> list[str]:
    """The headings and parameter names a person looks for, for the layers at ``paths``."""
    needed = []
    for path in paths:
        module = dict(model.named_modules())[path]
        needed.append(f"{path}: {layer_label(module)}")
        needed += [f"{name} {tuple(p.shape)}" for name, p in module.named_parameters()]
    return needed


def test_the_demos_cnn(tmp_path, float32_default):
    """demo.save_graph itself: one training step of the CNN on 4 digits."""
    pytest.importorskip("sklearn")
    data = demo.load_data(0)
    mg.manual_seed(0)
    model = demo.make_cnn()
    written = demo.save_graph(model, "cnn", data, str(tmp_path))
    source = (tmp_path / "graph-cnn.dot").read_text()  # what save_graph rendered
    picture = read(source)
    # input, 7 layers, LogSoftmax, NllMean, loss (drawn after backward, which freed the labels
    # NllMean took as a parameter: a retained graph draws them too)
    assert len(picture.nodes) == 11
    assert picture.nodes[picture.headed("input")]["html"].count("BGCOLOR") == 64  # 8 x 8
    assert "|grad|" in source
    needed = layer_rows(model, [str(i) for i in range(7)]) + ["(4, 1, 8, 8) float32", "loss"]
    png = tmp_path / "graph-cnn.png"
    check_picture(source, "demo-cnn", needed, png if str(png) in written else None)


def test_the_tiny_gpt(float32_default):
    spec = importlib.util.spec_from_file_location("tiny_gpt", ROOT / "examples" / "tiny_gpt.py")
    gpt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpt)
    run = gpt.RUNS["default"]
    mg.manual_seed(0)
    model = gpt.GPT(10, 3 * run["digits"] + 1, run["width"], run["heads"], run["blocks"])
    batch = gpt.Problems(run["digits"], np.random.default_rng(0)).batch(4)
    loss = gpt.answer_loss(model, batch, run["digits"])
    loss.backward()
    graph = mg.viz.draw(loss, model=model, inputs=batch[:, :-1])
    block = [f"{name} {tuple(p.shape)}" for name, p in model.blocks[0].named_parameters()]
    needed = layer_rows(model, ["tokens", "positions", "norm", "head"]) + block
    check_picture(graph, "tiny-gpt", needed + ["blocks.0–1: Block ×2", "(4, 9) int64", "loss"])


class Sequence(nn.Module):
    """A 2-layer LSTM over the sequence, or an LSTMCell looped over it in Python, then a linear
    head on the last step."""

    def __init__(self, cell: bool):
        super().__init__()
        self.cell = cell
        self.rnn = nn.LSTMCell(8, 16) if cell else nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        if not self.cell:
            return self.head(self.rnn(x)[0][:, -1])
        h, c = self.rnn(x[:, 0])
        for t in range(1, x.shape[1]):
            h, c = self.rnn(x[:, t], (h, c))
        return self.head(h)


@pytest.mark.parametrize("cell", [False, True], ids=["lstm", "lstm-cell-loop"])
def test_recurrent_models_over_32_steps(cell, float32_default):
    mg.manual_seed(0)
    model = Sequence(cell)
    x = mg.tensor(np.random.default_rng(0).normal(size=(4, 32, 8)).astype(np.float32))
    loss = nn.functional.cross_entropy(model(x), np.array([0, 1, 2, 0]))
    loss.backward()
    graph = mg.viz.draw(loss, model=model, inputs=x)
    calls = ["rnn: LSTMCell(8→16) ×32 calls"] if cell else ["rnn: LSTM(8→16, 2 layers)"]
    needed = layer_rows(model, ["rnn", "head"]) + calls + ["(4, 32, 8) float32", "loss"]
    check_picture(graph, "lstm-cell-loop" if cell else "lstm", needed)


# ----- Jupyter -----------------------------------------------------------------------------------


def small_drawing():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    return mg.viz.draw(model(mg.tensor(np.ones((2, 3)))).sum(), model=model)


@needs_dot
def test_a_drawing_displays_inline_as_svg():
    graph = small_drawing()
    svg = graph._repr_svg_()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "0: Linear(3→4)" in svg
    assert graph._repr_mimebundle_() == {"image/svg+xml": svg}
    assert "image/png" in graph._repr_mimebundle_(include=["image/png"])


def test_without_dot_jupyter_shows_a_message_and_the_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    graph = small_drawing()
    assert graph._repr_svg_() is None  # no picture: Jupyter shows the text instead
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "apt-get install graphviz" in bundle["text/plain"]
    assert bundle["text/plain"].endswith(graph.source)
