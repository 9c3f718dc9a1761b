"""minigrad.viz's layer drawing, the default for models: one node per layer with its path,
``layer_label`` and parameters (with their gradients' norms), operations outside layers as small
nodes, inputs (thumbnails of images) and the loss; ``detail=``/``collapse=``/``expand=``; the
DOT source read back structurally (``read``, also used by test_viz_pictures.py)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn.labels import layer_label

COLORS = mg.viz.COLORS

# ----- reading a drawing back --------------------------------------------------------------------


@dataclass
class Picture:
    """A drawing's nodes (id -> attributes, "rows": the label's text, a list of cells per
    row), edges and clusters (name -> label), read from its DOT source."""

    source: str = ""
    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    clusters: dict = field(default_factory=dict)
    cluster_of: dict = field(default_factory=dict)

    def heading(self, node: str) -> str:
        return self.nodes[node]["rows"][0][0]

    def text(self, node: str) -> str:
        return " | ".join(" ".join(row) for row in self.nodes[node]["rows"])

    def headed(self, heading: str) -> str:
        found = [n for n in self.nodes if self.heading(n) == heading]
        assert len(found) == 1, f"{heading!r}: {len(found)} nodes; headings {self.headings()}"
        return found[0]

    def headings(self) -> list:
        return [self.heading(n) for n in self.nodes]

    def of_kind(self, shape: str) -> list:
        return [n for n, a in self.nodes.items() if a.get("shape") == shape]

    def inputs(self, node: str) -> list:
        return [a for a, b in self.edges if b == node]

    def row(self, node: str, first_cell: str) -> list:
        (found,) = [r for r in self.nodes[node]["rows"] if r[0] == first_cell]
        return found


def _value(text: str, i: int) -> tuple[str, int]:
    """The attribute value starting at ``text[i]`` (HTML <...>, "quoted" or bare) and the end."""
    if text[i] == "<":
        depth, j = 0, i
        while True:
            depth += {"<": 1, ">": -1}.get(text[j], 0)
            j += 1
            if depth == 0:
                return text[i:j], j
    if text[i] == '"':
        j = i + 1
        while text[j] != '"' or text[j - 1] == "\\":
            j += 1
        return text[i + 1 : j], j + 1
    j = i
    while j < len(text) and text[j] != " ":
        j += 1
    return text[i:j], j


def attributes(text: str) -> dict:
    attrs, i = {}, 0
    while i < len(text):
        m = re.compile(r"\s*(\w+)=").match(text, i)
        if not m:
            break
        attrs[m.group(1)], i = _value(text, m.end())
    return attrs


def rows(label: str) -> list:
    """The text of a label: for an HTML table, a list of cells per row; else one per line."""
    if not label.startswith("<"):
        return [[r] for r in label.split("\\n")]
    found = []
    for tr in re.findall(r"<TR>(.*?)</TR>", label):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<TD[^>]*>(.*?)</TD>", tr)
        ]
        if any(cells):
            found.append([c for c in cells if c])
    return found


def read(drawing) -> Picture:
    """The picture that ``drawing`` (or a DOT source) describes."""
    source = drawing if isinstance(drawing, str) else drawing.source
    picture, stack = Picture(source), []
    for line in source.splitlines():
        s = line.strip()
        if s.startswith("subgraph"):
            stack.append(s.split()[1].strip('"'))
        elif s == "}" and stack:
            stack.pop()
        elif m := re.match(r"^(\S+) -> (\S+)", s):
            picture.edges.append((m.group(1), m.group(2)))
        elif (m := re.match(r"^(\S+) \[(.*)\]$", s)) and m.group(1) not in (
            "graph",
            "node",
            "edge",
        ):
            attrs = attributes(m.group(2))
            attrs["rows"] = rows(attrs.get("label", m.group(1)))
            attrs["html"] = attrs.get("label", "")
            picture.nodes[m.group(1)] = attrs
            picture.cluster_of[m.group(1)] = stack[-1] if stack else None
        elif stack and "label" in (attrs := attributes(s)):  # a cluster's own attributes
            picture.clusters[stack[-1]] = attrs["label"]
    return picture


# ----- models ------------------------------------------------------------------------------------


def small_cnn():
    mg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3))  # fmt: skip


def cnn_step():
    model = small_cnn()
    images = mg.tensor(np.random.default_rng(0).normal(size=(2, 1, 8, 8)))
    loss = nn.functional.cross_entropy(model(images), np.array([0, 2]))
    return model, images, loss


class Block(nn.Module):
    """fc, then an activation (tanh, or relu with ``relu=True``), added back."""

    def __init__(self, n: int = 3, relu: bool = False):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.relu = relu

    def forward(self, x):
        y = self.fc(x)
        return (y.relu() if self.relu else y.tanh()) + x


class Stack(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.layers = nn.ModuleList(blocks)
        self.head = nn.Linear(3, 1)

    def forward(self, x):
        for block in self.layers:
            x = block(x)
        return self.head(x)


def stack_loss(blocks):
    mg.manual_seed(1)
    model = Stack(blocks)
    loss = (model(mg.tensor(np.ones((2, 3)))) ** 2).mean()
    return model, loss


# ----- one node per layer ------------------------------------------------------------------------


def test_each_layer_is_one_node_labelled_with_its_path_and_layer_label():
    model, images, loss = cnn_step()
    picture = read(mg.viz.draw(loss, model=model))
    for path, module in model.named_modules():
        if path:
            assert picture.headed(f"{path}: {layer_label(module)}")
    conv = picture.headed("0: Conv2d(1→4, 3×3)")
    assert picture.row(conv, "weight") == ["weight", "(4, 1, 3, 3)"]
    assert picture.row(conv, "bias") == ["bias", "(4,)"]
    assert "→ (2, 4, 8, 8)" in picture.text(conv)  # its output shape
    # The convolution's inner operations (windows, products, reshapes) are not drawn.
    assert not {"Unfold", "MatMul", "Reshape", "Affine"} & {
        h.split()[0] for h in picture.headings()
    }
    assert len(picture.nodes) == 10  # data, 5 layers, LogSoftmax, NllMean, labels, loss


def test_gradient_norms_to_three_significant_digits_once_backward_has_run():
    model, _, loss = cnn_step()
    before = read(mg.viz.draw(loss, model=model))
    assert "|grad|" not in before.text(before.headed("4: Linear(64→3)"))
    loss.backward(retain_graph=True)
    picture = read(mg.viz.draw(loss, model=model))
    for path, layer in (("0", "Conv2d(1→4, 3×3)"), ("4", "Linear(64→3)")):
        node = picture.headed(f"{path}: {layer}")
        for name, p in model[int(path)].named_parameters():
            shown = picture.row(node, name)[2]
            assert shown == f"|grad| {np.linalg.norm(p.grad.numpy()):.3g}"
    hidden = read(mg.viz.draw(loss, model=model, show_grad=False))
    assert "|grad|" not in " ".join(hidden.text(n) for n in hidden.nodes)


def test_the_loss_is_drawn_last_with_its_value():
    model, _, loss = cnn_step()
    picture = read(mg.viz.draw(loss, model=model))
    end = picture.headed("loss")
    assert picture.nodes[end]["rows"][1] == [f"{loss.item():.4g}"]
    assert picture.nodes[end]["fillcolor"] == COLORS["output"]
    assert [picture.heading(n) for n in picture.inputs(end)] == ["NllMean"]
    loss.name = "cross-entropy"
    assert read(mg.viz.draw(loss, model=model)).headed("cross-entropy")


class MLP(nn.Module):
    """Its own forward reshapes and applies F.relu between layers."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, images):
        return self.out(nn.functional.relu(self.hidden(images.reshape(len(images), 16))))


def test_operations_outside_layers_are_small_nodes_between_them():
    model = MLP()
    images = mg.tensor(
        np.random.default_rng(0).random((4, 4, 4)), requires_grad=True, name="images"
    )
    picture = read(mg.viz.draw(nn.functional.cross_entropy(model(images), [0, 1, 2, 0]),
                               model=model, inputs=images))  # fmt: skip
    ops = {picture.heading(n): n for n in picture.of_kind("ellipse")}
    assert sorted(ops) == ["LogSoftmax", "NllMean", "Relu", "Reshape"]
    assert picture.inputs(ops["Reshape"]) == [picture.headed("images")]
    assert picture.inputs(picture.headed("hidden: Linear(16→8)")) == [ops["Reshape"]]
    assert picture.inputs(ops["Relu"]) == [picture.headed("hidden: Linear(16→8)")]
    assert picture.clusters == {}  # the model's own box would frame everything: not drawn


# ----- inputs ------------------------------------------------------------------------------------


def test_the_input_image_is_drawn_with_its_shape_and_a_thumbnail():
    """The images are the convolution's direct input (one Convolution primitive), so they are
    drawn as its data even without inputs=; inputs= names them "input" (with a grey level per
    pixel of the first one: black at its minimum, white at its maximum)."""
    model, images, loss = cnn_step()
    plain = read(mg.viz.draw(loss, model=model))
    assert plain.row(plain.headed("data"), "(2, 1, 8, 8) float64")
    assert plain.inputs(plain.headed("0: Conv2d(1→4, 3×3)")) == [plain.headed("data")]
    picture = read(mg.viz.draw(loss, model=model, inputs=images))
    assert "data" not in picture.headings()
    node = picture.headed("input")
    assert picture.nodes[node]["rows"][1] == ["(2, 1, 8, 8) float64"]
    assert picture.inputs(picture.headed("0: Conv2d(1→4, 3×3)")) == [node]
    colors = re.findall(r'BGCOLOR="#(..)(..)(..)"', picture.nodes[node]["html"])
    assert len(colors) == 64 and all(r == g == b for r, g, b in colors)
    levels = np.array([int(r, 16) for r, _, _ in colors]).reshape(8, 8)
    first = images.numpy()[0, 0]
    assert levels.flat[first.argmin()] == 0 and levels.flat[first.argmax()] == 255
    assert np.all(np.diff(levels.flat[np.argsort(first, axis=None)]) >= 0)  # same order


@pytest.mark.parametrize("shape, image", [((4, 1, 8, 8), True), ((4, 32, 8), True),
                                          ((4, 3, 7, 8), False), ((4, 64), False)])  # fmt: skip
def test_image_like_inputs_are_those_of_three_axes_with_the_last_two_8_or_more(shape, image):
    from minigrad.viz.thumbnail import is_image

    assert is_image(shape) == image


def test_index_inputs_labels_and_masks_are_named_by_what_they_are():
    """An embedding's indices, a loss's labels; not the zeros of the cell's initial state,
    which the cell makes for itself."""
    mg.manual_seed(0)
    embed, cell = nn.Embedding(10, 4), nn.LSTMCell(4, 5)
    tokens = np.array([[1, 2, 3], [4, 5, 6]])
    h, c = cell(embed(tokens)[:, 0])
    picture = read(mg.viz.draw(nn.functional.cross_entropy(h, np.array([1, 0]))))
    headings = picture.headings()
    assert "indices" in headings and "labels" in headings
    assert not any(h.startswith(("zeros", "data", "input")) for h in headings), headings
    assert picture.row(picture.headed("indices"), "(2, 3) int64")
    given = read(mg.viz.draw(nn.functional.cross_entropy(h, np.array([1, 0])), inputs=tokens))
    assert "input" in given.headings() and "indices" not in given.headings()


# ----- repeated blocks ---------------------------------------------------------------------------


def test_identical_chained_blocks_fold_into_one_node_with_a_count():
    model, loss = stack_loss([Block() for _ in range(4)])
    picture = read(mg.viz.draw(loss, model=model))
    fold = picture.headed("layers.0–3: Block ×4")
    assert picture.nodes[fold]["shape"] == "box3d"
    assert picture.row(fold, "fc.weight")[:2] == ["fc.weight", "(3, 3)"]
    assert len(picture.nodes) == 7  # input, the blocks, head, Pow, Sum, Div, loss
    loss.backward(retain_graph=True)
    norms = read(mg.viz.draw(loss, model=model)).row(fold, "fc.bias")[2]
    expected = [f"{np.linalg.norm(b.fc.bias.grad.numpy()):.3g}" for b in model.layers]
    assert norms == "|grad| " + " · ".join(expected)  # one per copy


def test_blocks_that_differ_in_structure_do_not_fold():
    """Same class, same parameters, but tanh in one and relu in the other."""
    model, loss = stack_loss([Block(), Block(relu=True)])
    headings = read(mg.viz.draw(loss, model=model)).headings()
    assert not any("×" in h for h in headings)
    assert "layers.0.fc: Linear(3→3)" in headings and "layers.1.fc: Linear(3→3)" in headings


def test_identical_blocks_side_by_side_do_not_fold():
    """Two identical branches of x, added: not a repeat, each is drawn."""

    class Branches(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x):
            return self.a(x) + self.b(x)

    model = Branches()
    picture = read(mg.viz.draw(model(mg.tensor(np.ones((2, 3)))).sum(), model=model))
    assert {"a: Linear(3→3)", "b: Linear(3→3)"} <= set(picture.headings())


def test_expand_opens_one_block_of_a_fold_and_its_neighbours_stay_folded():
    model, loss = stack_loss([Block() for _ in range(4)])
    picture = read(mg.viz.draw(loss, model=model, expand=("layers.1",)))
    headings = picture.headings()
    assert "layers.0: Block" in headings and "layers.2–3: Block ×2" in headings
    assert "layers.1.fc: Linear(3→3)" in headings and {"Tanh", "Add"} <= set(headings)
    assert picture.clusters == {"cluster_layers": "layers: ModuleList",
                                "cluster_layers.1": "layers.1: Block"}  # fmt: skip
    assert picture.cluster_of[picture.headed("Tanh")] == "cluster_layers.1"
    every = read(mg.viz.draw(loss, model=model, expand=("layers",))).headings()
    assert sum(h.endswith(": Linear(3→3)") for h in every) == 4 and every.count("Tanh") == 4


def test_expand_a_layer_to_see_its_operations():
    model, images, loss = cnn_step()
    picture = read(mg.viz.draw(loss, model=model, expand=("0",)))
    assert "0: Conv2d(1→4, 3×3)" not in picture.headings()
    assert "Convolution" in picture.headings()
    assert picture.row(picture.headed("0.weight"), "(4, 1, 3, 3)")  # a parameter box


def test_collapse_draws_modules_as_one_node():
    model, loss = stack_loss([Block(), Block(relu=True)])
    by_name = read(mg.viz.draw(loss, model=model, collapse=("layers",))).headings()
    assert "layers.0: Block" in by_name and "layers.1: Block" in by_name
    by_depth = read(mg.viz.draw(loss, model=model, collapse=1)).headings()
    assert "layers: ModuleList" in by_depth and "head: Linear(3→1)" in by_depth


def test_a_layer_called_in_a_loop_is_one_node_that_counts_its_calls():
    """An LSTMCell over 6 steps of x[:, t]: one node "×6 calls"; the 6 slices, one node."""
    mg.manual_seed(0)
    cell = nn.LSTMCell(2, 3)
    x = mg.tensor(np.random.default_rng(0).normal(size=(4, 6, 2)), requires_grad=True)
    h, c = cell(x[:, 0])
    for t in range(1, 6):
        h, c = cell(x[:, t], (h, c))
    picture = read(mg.viz.draw(h.sum()))
    assert "LSTMCell(2→3) ×6 calls" in picture.headings()
    assert "GetItem ×6" in picture.headings()
    assert len(picture.nodes) == 5  # x, slices, the cell, Sum, output
    assert picture.nodes[picture.headed("requires grad")]["fillcolor"] == COLORS["param"]


def test_a_module_used_at_several_places_counts_its_calls():
    act = nn.Tanh()
    model = nn.Sequential(nn.Linear(3, 3), act, nn.Linear(3, 3), act)
    picture = read(mg.viz.draw(model(mg.tensor(np.ones((2, 3)))).sum(), model=model))
    assert "1: Tanh ×2 calls" in picture.headings()


# ----- options and errors ------------------------------------------------------------------------


def test_detail_ops_and_collapse_none_draw_every_operation():
    model, _, loss = cnn_step()
    ops = mg.viz.draw(loss, model=model, detail="ops").source
    assert mg.viz.draw(loss, model=model, collapse=None).source == ops
    assert "rankdir=LR" in ops and "label=Convolution" in ops and "label=MaxPool" in ops
    assert "rankdir=TB" in mg.viz.draw(loss, model=model).source
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()  # made outside modules: every operation is drawn
    assert mg.viz.draw(y).source == mg.viz.draw(y, detail="ops").source


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"detail": "layer"}, "detail='layer': give 'layers'"),
        ({"detail": "layers", "collapse": None}, "collapse=None draws every operation"),
        ({"detail": "ops", "expand": ("0",)}, "expand= opens modules"),
        ({"expand": ("O",)}, "'O' is not a module"),
        ({"expand": ("layer",)}, "did you mean 'layers'"),
        ({"inputs": 3}, "inputs= takes"),
        ({"detail": "ops", "inputs": np.ones(3)}, "inputs= draws"),
    ],
)
def test_options_that_do_not_fit_are_errors(options, expected):
    model, loss = stack_loss([Block(), Block()])
    with pytest.raises(mg.viz.GraphError) as info:
        mg.viz.draw(loss, model=model, **options)
    assert str(info.value).startswith("viz.draw: ") and expected in str(info.value)


def test_a_layer_passing_nan_on_is_marked_and_an_attention_mask_is_not():
    model, loss = stack_loss([Block(), Block(relu=True)])
    model.layers[1].fc.bias.data[0] = np.nan
    bad = read(mg.viz.draw((model(mg.tensor(np.ones((2, 3)))) ** 2).mean(), model=model))
    assert bad.nodes[bad.headed("layers.1.fc: Linear(3→3)")]["fillcolor"] == COLORS["bad"]
    assert bad.nodes[bad.headed("layers.0.fc: Linear(3→3)")]["fillcolor"] == COLORS["layer"]
    mg.manual_seed(0)
    attention = nn.MultiheadAttention(4, 2, batch_first=True)
    x = mg.tensor(np.random.default_rng(0).normal(size=(2, 3, 4)))
    mask = np.triu(np.ones((3, 3), dtype=bool), k=1)
    out, _ = attention(x, x, x, attn_mask=mask, need_weights=False)
    picture = read(mg.viz.draw(out.sum()))
    assert COLORS["bad"] not in {a["fillcolor"] for a in picture.nodes.values()}


def test_max_nodes_keeps_the_nodes_nearest_the_loss():
    mg.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(3 + i, 4 + i) for i in range(12)])
    loss = model(mg.tensor(np.ones((2, 3)))).sum()
    picture = read(mg.viz.draw(loss, model=model, max_nodes=5))
    assert len(picture.nodes) == 6 and "... 10 more nodes not drawn (max_nodes=5)" in [
        picture.nodes["more"]["label"]
    ]
    assert "11: Linear(14→15)" in picture.headings() and "0: Linear(3→4)" not in picture.headings()


def test_a_snapshot_draws_by_layers_with_the_gradients_that_followed():
    model, _, loss = cnn_step()
    snap = mg.viz.snapshot(loss)
    loss.backward()
    picture = read(mg.viz.draw(snap, model=model))
    shown = picture.row(picture.headed("4: Linear(64→3)"), "weight")[2]
    assert shown == f"|grad| {np.linalg.norm(model[4].weight.grad.numpy()):.3g}"


@pytest.mark.skipif(not hasattr(mg.autograd, "keep_outlines"), reason="no outlines yet")
def test_drawn_by_layers_after_backward_from_the_outline_backward_keeps():
    mg.autograd.keep_outlines()
    try:
        model, images, loss = cnn_step()
        loss.backward()
        picture = read(mg.viz.draw(loss, model=model, inputs=images))
    finally:
        mg.autograd.keep_outlines(False)
    node = picture.headed("0: Conv2d(1→4, 3×3)")
    assert (
        picture.row(node, "weight")[2]
        == f"|grad| {np.linalg.norm(model[0].weight.grad.numpy()):.3g}"
    )
    assert picture.inputs(node) == [picture.headed("input")]
    assert picture.nodes[picture.headed("loss")]["rows"][1] == [f"{loss.item():.4g}"]
