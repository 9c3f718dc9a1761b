"""minigrad.viz: drawing computation graphs (DOT source checked structurally), clusters,
collapsing, max_nodes, drawing after backward, forward-mode and create_graph graphs, rendering
with Graphviz's ``dot`` and the error when it is missing."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, viz
from minigrad.autodiff import forward_mode

COLORS = viz.COLORS
DEFAULT_MAX_NODES = inspect.signature(viz.draw).parameters["max_nodes"].default
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")

# ----- a small DOT reader ------------------------------------------------------------------------

ID = r'"(?:[^"\\]|\\.)*"|[^\s\[\]{}"=;]+'
NODE = re.compile(rf"^({ID})\s*\[(.*)\]$")
EDGE = re.compile(rf"^({ID})\s*->\s*({ID})(?:\s*\[.*\])?$")
SUBGRAPH = re.compile(rf"^subgraph\s+({ID})\s*{{$")
ATTR = re.compile(rf"(\w+)=({ID})")
DEFAULTS = ("graph", "node", "edge")


def unquote(text: str) -> str:
    return text[1:-1].replace('\\"', '"') if text.startswith('"') else text


@dataclass
class Dot:
    """What a DOT source says: nodes (id -> attributes, with the cluster they are in), edges,
    clusters (name -> attributes, with their parent cluster)."""

    nodes: dict = field(default_factory=dict)
    cluster_of: dict = field(default_factory=dict)  # node id -> innermost cluster name or None
    edges: list = field(default_factory=list)
    clusters: dict = field(default_factory=dict)
    parent: dict = field(default_factory=dict)  # cluster -> enclosing cluster or None

    def label(self, node: str) -> str:
        return self.nodes[node].get("label", node)

    def rows(self, node: str) -> list[str]:
        return self.label(node).split("\\n")

    def boxes(self) -> list[str]:
        return [n for n, a in self.nodes.items() if a.get("shape") == "box"]

    def ops(self, name: str | None = None) -> list[str]:
        return [n for n, a in self.nodes.items() if a.get("shape") == "ellipse"
                and (name is None or a.get("label") == name)]  # fmt: skip

    def the_op(self, name: str) -> str:
        found = self.ops(name)
        assert len(found) == 1, f"expected one {name} node, found {len(found)}"
        return found[0]

    def named(self, first_row: str) -> str:
        """The tensor node whose label starts with the row ``first_row`` (its name)."""
        found = [n for n in self.boxes() if self.rows(n)[0] == first_row]
        assert len(found) == 1, f"expected one tensor named {first_row!r}, found {len(found)}"
        return found[0]

    def inputs(self, node: str) -> list[str]:
        return [a for a, b in self.edges if b == node]

    def outputs(self, node: str) -> list[str]:
        return [b for a, b in self.edges if a == node]

    def reaches(self, source: str, target: str) -> bool:
        seen, stack = {source}, [source]
        while stack:
            for nxt in self.outputs(stack.pop()):
                if nxt == target:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    def undeclared(self) -> set[str]:
        """Edge endpoints that no node statement declares (dot would draw them as bare ovals)."""
        return {n for edge in self.edges for n in edge} - set(self.nodes)

    def ancestors(self, cluster: str | None) -> list[str]:
        chain = []
        while cluster is not None:
            chain.append(cluster)
            cluster = self.parent[cluster]
        return chain


def parse(source: str) -> Dot:
    dot, stack = Dot(), []
    for raw in source.splitlines():
        line = raw.strip()
        if not line or line.startswith(("digraph", "//")):
            continue
        if line == "}":
            if stack:
                stack.pop()
            continue
        if m := SUBGRAPH.match(line):
            name = unquote(m.group(1))
            dot.clusters[name] = {}
            dot.parent[name] = stack[-1] if stack else None
            stack.append(name)
        elif m := EDGE.match(line):
            dot.edges.append((unquote(m.group(1)), unquote(m.group(2))))
        elif m := NODE.match(line):
            name = unquote(m.group(1))
            if name in DEFAULTS:
                continue
            assert name not in dot.nodes, f"node {name} is declared twice"
            dot.nodes[name] = {k: unquote(v) for k, v in ATTR.findall(m.group(2))}
            dot.cluster_of[name] = stack[-1] if stack else None
        elif stack and ATTR.match(line):  # a cluster's own attributes
            dot.clusters[stack[-1]].update({k: unquote(v) for k, v in ATTR.findall(line)})
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    return dot


def parse_graph(graph) -> Dot:
    return parse(graph.source)


def numbers(row: str) -> np.ndarray:
    """The numbers in a label row such as 'data [1., 2., 3.]' or 'grad [ 4., 10.]'."""
    return np.array([float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]?\d+)?|nan|inf", row)])


def row(dot: Dot, node: str, prefix: str) -> str:
    found = [r for r in dot.rows(node) if r.startswith(prefix)]
    assert len(found) == 1, f"{prefix!r} row in {dot.rows(node)}"
    return found[0]


def leaf(values, name=None):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True, name=name)


# ----- models with nested modules ----------------------------------------------------------------


class Block(nn.Module):
    """tanh(fc(x)) + x: a residual block with a Linear inside."""

    def __init__(self, n: int):
        super().__init__()
        self.fc = nn.Linear(n, n, dtype=np.float64, generator=mg.Generator(len("block") + n))

    def forward(self, x):
        return self.fc(x).tanh() + x


class Net(nn.Module):
    def __init__(self, n: int = 3, depth: int = 2):
        super().__init__()
        self.layers = nn.ModuleList([Block(n) for _ in range(depth)])
        self.head = nn.Linear(n, 1, dtype=np.float64, generator=mg.Generator(1))

    def forward(self, x):
        for block in self.layers:
            x = block(x)
        return self.head(x)


def net_and_loss(depth: int = 2):
    rng = np.random.default_rng(0)
    model = Net(depth=depth)
    x = mg.tensor(rng.normal(size=(2, 3)), name="x")
    loss = (model(x) ** 2).mean()
    return model, x, loss


def mul_sum():
    """y = (x * w).sum() with named leaves."""
    x = leaf([1.0, 2.0, 3.0], name="x")
    w = leaf([4.0, 5.0, 6.0], name="w")
    return x, w, (x * w).sum()


# ----- nodes, edges, labels ----------------------------------------------------------------------


def test_draw_returns_a_digraph():
    import graphviz

    *_, y = mul_sum()
    assert isinstance(mg.viz.draw(y), graphviz.Digraph)


def test_mul_sum_has_tensor_boxes_op_ellipses_and_edges_input_to_output():
    """x, w -> Mul -> x*w -> Sum -> y, and nothing else."""
    x, w, y = mul_sum()
    dot = parse_graph(mg.viz.draw(y))
    assert sorted(dot.nodes[n]["label"] for n in dot.ops()) == ["Mul", "Sum"]
    assert len(dot.boxes()) == 4  # x, w, x * w, y
    mul, total = dot.the_op("Mul"), dot.the_op("Sum")
    x_node, w_node = dot.named("x"), dot.named("w")
    (product,) = dot.outputs(mul)
    (out,) = dot.outputs(total)
    assert sorted(dot.inputs(mul)) == sorted([x_node, w_node])
    assert dot.inputs(total) == [product]
    assert sorted(dot.edges) == sorted(
        [(x_node, mul), (w_node, mul), (mul, product), (product, total), (total, out)]
    )
    assert dot.outputs(out) == []


def test_an_input_used_twice_gets_two_edges_into_the_op():
    x = leaf([1.0, 2.0], name="x")
    dot = parse_graph(mg.viz.draw(x * x))
    mul = dot.the_op("Mul")
    assert dot.inputs(mul) == [dot.named("x"), dot.named("x")]


def test_several_outputs_share_their_inputs():
    x = leaf([1.0, 2.0], name="x")
    a, b = x.sin(), x.exp()
    dot = parse_graph(mg.viz.draw(a, b))
    x_node = dot.named("x")
    assert sorted(dot.outputs(x_node)) == sorted([dot.the_op("Sin"), dot.the_op("Exp")])
    outputs = [n for n in dot.boxes() if dot.nodes[n]["fillcolor"] == COLORS["output"]]
    assert len(outputs) == 2


@pytest.mark.parametrize(
    "shape, dtype", [((), np.float64), ((2, 3), np.float32), ((4, 1, 2), np.float64)]
)
def test_tensor_label_shows_shape_and_dtype(shape, dtype):
    x = mg.tensor(np.ones(shape, dtype=dtype), requires_grad=True, name="x")
    dot = parse_graph(mg.viz.draw(x.exp()))
    x_node = dot.named("x")
    (y_node,) = dot.outputs(dot.the_op("Exp"))
    assert dot.rows(x_node)[1] == f"{shape} {dtype.__name__}"
    assert dot.rows(y_node)[0] == f"{shape} {dtype.__name__}"


def test_tensor_name_is_the_first_row():
    x = leaf([1.0, 2.0], name="inputs")
    dot = parse_graph(mg.viz.draw(x.exp()))
    assert dot.rows(dot.named("inputs"))[1] == "(2,) float64"


def test_parameter_names_from_named_parameters():
    model, _, loss = net_and_loss()
    dot = parse_graph(mg.viz.draw(loss, params=model.named_parameters(), detail="ops"))
    names = {dot.rows(n)[0] for n in dot.boxes()}
    assert {name for name, _ in model.named_parameters()} <= names
    assert dot.rows(dot.named("layers.0.fc.weight"))[1] == "(3, 3) float64"


def test_parameter_names_from_a_dict_and_from_model():
    model, _, loss = net_and_loss()
    from_dict = parse_graph(mg.viz.draw(loss, params=dict(model.named_parameters()), detail="ops"))
    from_model = parse_graph(mg.viz.draw(loss, model=model, detail="ops"))
    for dot in (from_dict, from_model):
        assert dot.rows(dot.named("head.bias"))[1] == "(1,) float64"


def test_show_data_puts_small_values_in_the_label():
    x, w, y = mul_sum()
    dot = parse_graph(mg.viz.draw(y, show_data=True))
    np.testing.assert_array_equal(numbers(row(dot, dot.named("x"), "data")), [1, 2, 3])
    (product,) = dot.outputs(dot.the_op("Mul"))
    np.testing.assert_array_equal(numbers(row(dot, product, "data")), [4, 10, 18])
    (out,) = dot.outputs(dot.the_op("Sum"))
    np.testing.assert_array_equal(numbers(row(dot, out, "data")), [32])


def test_big_tensors_show_statistics_not_values():
    """mean, min, max and norm, to 3 significant digits, for a tensor of 100 numbers."""
    data = np.random.default_rng(0).normal(size=(10, 10))
    x = mg.tensor(data, requires_grad=True, name="x")
    dot = parse_graph(mg.viz.draw(x.exp(), show_data=True))
    stats = row(dot, dot.named("x"), "data")
    assert "mean" in stats and "min" in stats and "max" in stats and "|.|" in stats
    values = dict(re.findall(r"(mean|min|max|\|\.\|) (\S+)", stats))
    np.testing.assert_allclose(float(values["mean"]), data.mean(), rtol=5e-3)
    np.testing.assert_allclose(float(values["min"]), data.min(), rtol=5e-3)
    np.testing.assert_allclose(float(values["max"]), data.max(), rtol=5e-3)
    np.testing.assert_allclose(float(values["|.|"]), np.linalg.norm(data), rtol=5e-3)
    assert len(stats) < 80, "a big tensor's row stays short"


def test_statistics_skip_nan_and_inf():
    data = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan, np.inf])
    x = mg.tensor(data, requires_grad=True, name="x")
    dot = parse_graph(mg.viz.draw(x * 2.0, show_data=True))
    stats = row(dot, dot.named("x"), "data")
    assert re.search(r"mean 3\.5\b", stats) and "min 1" in stats and "max 6" in stats


def test_rankdir_is_passed_to_graphviz():
    *_, y = mul_sum()
    assert "rankdir=TB" in mg.viz.draw(y, rankdir="TB").source
    assert "rankdir=LR" in mg.viz.draw(y).source


# ----- colours -----------------------------------------------------------------------------------


def test_colours_of_parameters_inputs_outputs_intermediates_and_ops():
    x = mg.tensor([1.0, 2.0], name="data")  # a constant input
    w = leaf([3.0, 4.0], name="w")  # a leaf that requires grad, drawn as a parameter
    y = (x * w).sum()
    dot = parse_graph(mg.viz.draw(y))
    assert dot.nodes[dot.named("data")]["fillcolor"] == COLORS["input"]
    assert dot.nodes[dot.named("w")]["fillcolor"] == COLORS["param"]
    (out,) = dot.outputs(dot.the_op("Sum"))
    assert dot.nodes[out]["fillcolor"] == COLORS["output"]
    (product,) = dot.outputs(dot.the_op("Mul"))
    assert dot.nodes[product]["fillcolor"] not in (
        COLORS["input"], COLORS["param"], COLORS["output"], COLORS["bad"]
    )  # fmt: skip
    for op in dot.ops():
        assert dot.nodes[op]["fillcolor"] == COLORS["op"]


def test_the_colours_differ():
    kinds = ("param", "input", "output", "bad")
    assert len({COLORS[k] for k in kinds}) == len(kinds)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_tensors_holding_nan_or_inf_are_marked(bad):
    """x * [1, bad]: the scale, the product and the sum hold the bad value; x is fine."""
    x = leaf([1.0, 2.0], name="x")
    y = x * mg.tensor([1.0, bad], name="scale")
    z = y.sum()
    dot = parse_graph(mg.viz.draw(z))
    assert dot.nodes[dot.named("x")]["fillcolor"] == COLORS["param"]
    assert dot.nodes[dot.named("scale")]["fillcolor"] == COLORS["bad"]
    (product,) = dot.outputs(dot.the_op("Mul"))
    (out,) = dot.outputs(dot.the_op("Sum"))
    assert dot.nodes[product]["fillcolor"] == COLORS["bad"]
    assert dot.nodes[out]["fillcolor"] == COLORS["bad"], "NaN/Inf wins over 'output'"


def test_a_nan_or_inf_gradient_marks_the_tensor():
    """d sqrt(w)/dw = 1 / (2 sqrt(w)) is inf at w = 0: w's box is bad once its gradient shows."""
    w = leaf([1.0, 0.0], name="w")
    z = mg.sqrt(w).sum()
    before = parse_graph(mg.viz.draw(z))
    assert before.nodes[before.named("w")]["fillcolor"] == COLORS["param"]
    with np.errstate(divide="ignore"):
        z.backward(retain_graph=True)
    dot = parse_graph(mg.viz.draw(z))
    assert "inf" in row(dot, dot.named("w"), "grad")
    assert dot.nodes[dot.named("w")]["fillcolor"] == COLORS["bad"]
    hidden = parse_graph(mg.viz.draw(z, show_grad=False))
    assert hidden.nodes[hidden.named("w")]["fillcolor"] == COLORS["param"]


def test_a_nan_tangent_marks_the_tensor():
    a = leaf([1.0, 2.0], name="a")
    with forward_mode():
        a.tangent = np.array([[np.nan, 0.0]])
        dot = parse_graph(mg.viz.draw(a.exp().sum()))
    assert dot.nodes[dot.named("a")]["fillcolor"] == COLORS["bad"]


# ----- clusters ----------------------------------------------------------------------------------


ROOT = "cluster_"  # the model's own cluster (its path is "")


def test_module_clusters_are_nested_and_labelled_with_paths():
    """Each module's cluster sits in its parent's, and the top ones in the model's cluster,
    which is labelled with the model's class."""
    model, _, loss = net_and_loss()
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops"))
    expected = {"layers", "layers.0", "layers.0.fc", "layers.1", "layers.1.fc", "head"}
    assert set(dot.clusters) == {f"cluster_{p}" for p in expected} | {ROOT}
    assert dot.clusters[ROOT]["label"] == "Net" and dot.parent[ROOT] is None
    for path in expected:
        assert dot.clusters[f"cluster_{path}"]["label"] == path
        parent = f"cluster_{path.rsplit('.', 1)[0]}" if "." in path else ROOT
        assert dot.parent[f"cluster_{path}"] == parent


class MLP(nn.Module):
    """examples/digits.py's MLP: its own forward reshapes and applies ReLU between layers."""

    def __init__(self):
        super().__init__()
        self.hidden1 = nn.Linear(16, 8, dtype=np.float64, generator=mg.Generator(1))
        self.hidden2 = nn.Linear(8, 8, dtype=np.float64, generator=mg.Generator(2))
        self.out = nn.Linear(8, 3, dtype=np.float64, generator=mg.Generator(3))

    def forward(self, images):
        x = images.reshape(len(images), 16)
        x = mg.nn.functional.relu(self.hidden1(x))
        x = mg.nn.functional.relu(self.hidden2(x))
        return self.out(x)


def test_the_models_own_operations_sit_in_its_cluster_around_the_layers():
    """MLP's reshape and ReLUs are in the cluster labelled MLP, with the layers' clusters inside
    it; the loss, computed outside the model, is outside every cluster."""
    model = MLP()
    images = leaf(np.random.default_rng(0).random((4, 4, 4)), name="images")
    loss = mg.nn.functional.cross_entropy(model(images), np.array([0, 1, 2, 0]))
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops"))
    assert dot.clusters[ROOT]["label"] == "MLP"
    assert {dot.parent[f"cluster_{p}"] for p in ("hidden1", "hidden2", "out")} == {ROOT}
    own = [dot.nodes[op]["label"] for op in dot.ops() if dot.cluster_of[op] == ROOT]
    assert sorted(own) == ["Relu", "Relu", "Reshape"]
    layer_ops = [op for op in dot.ops() if dot.cluster_of[op] not in (None, ROOT)]
    assert len(layer_ops) == 3 and {dot.parent[dot.cluster_of[op]] for op in layer_ops} == {ROOT}
    outside = [op for op in dot.ops() if dot.cluster_of[op] is None]
    assert outside and len(outside) + len(own) + len(layer_ops) == len(dot.ops())
    assert dot.cluster_of[dot.named("images")] is None


def test_operations_sit_in_the_innermost_module_that_made_them():
    model, _, loss = net_and_loss()
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops"))
    tanhs = dot.ops("Tanh")
    assert sorted(dot.cluster_of[n] for n in tanhs) == ["cluster_layers.0", "cluster_layers.1"]
    matmul_clusters = sorted(dot.cluster_of[n] for n in dot.ops("Affine"))
    assert matmul_clusters == ["cluster_head", "cluster_layers.0.fc", "cluster_layers.1.fc"]
    # The loss (Pow, Sum, Div) was computed outside the model.
    for name in ("Pow", "Sum"):
        assert dot.cluster_of[dot.the_op(name)] is None
    # Parameters and the data are drawn outside the clusters.
    for name in ("x", "layers.0.fc.weight", "head.bias"):
        assert dot.cluster_of[dot.named(name)] is None
    # An op's output tensor sits in the op's cluster.
    for op in dot.ops():
        for out in dot.outputs(op):
            assert dot.cluster_of[out] == dot.cluster_of[op]


def test_clusters_with_a_sequential_model():
    rng = np.random.default_rng(1)
    model = nn.Sequential(
        nn.Linear(4, 3, dtype=np.float64), nn.Flatten(), nn.Linear(3, 2, dtype=np.float64)
    )
    loss = model(mg.tensor(rng.normal(size=(5, 4)))).sum()
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops"))
    assert {"cluster_0", "cluster_2"} <= set(dot.clusters)
    assert dot.clusters["cluster_2"]["label"] == "2"
    assert dot.cluster_of[dot.named("0.weight")] is None


# ----- collapsing --------------------------------------------------------------------------------


def ops_under(dot: Dot, path: str) -> int:
    """How many operations the expanded drawing shows inside module ``path`` (and below)."""
    return sum(f"cluster_{path}" in dot.ancestors(dot.cluster_of[op]) for op in dot.ops())


def collapsed_nodes(dot: Dot) -> dict:
    """label's first row -> number of operations, for the nodes standing for a module."""
    found = {}
    for node, attrs in dot.nodes.items():
        if attrs.get("shape") == "box3d":
            path, count, *_ = dot.rows(node)
            found[path] = int(re.fullmatch(r"\((\d+) operations?\)", count).group(1))
    return found


def collapsed_node(dot: Dot, path: str) -> str:
    (node,) = [
        n for n, a in dot.nodes.items() if a.get("shape") == "box3d" and dot.rows(n)[0] == path
    ]
    return node


def test_collapse_by_name_draws_each_item_of_a_list_as_one_node():
    model, _, loss = net_and_loss()
    full = parse_graph(mg.viz.draw(loss, model=model, detail="ops"))
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops", collapse=("layers",)))
    assert collapsed_nodes(dot) == {
        "layers.0": ops_under(full, "layers.0"),
        "layers.1": ops_under(full, "layers.1"),
    }
    assert ops_under(full, "layers.0") == 3  # Affine (the Linear), Tanh, Add
    assert len(dot.nodes) < len(full.nodes)
    # The collapsed nodes sit in the cluster of the list that holds them; nothing is left inside.
    assert not any(c.startswith("cluster_layers.") for c in dot.clusters)
    for path in ("layers.0", "layers.1"):
        assert dot.cluster_of[collapsed_node(dot, path)] == "cluster_layers"
    assert "cluster_head" in dot.clusters and len(dot.ops("Affine")) == 1  # head's
    assert dot.undeclared() == set()


def test_collapse_by_depth():
    model, _, loss = net_and_loss()
    full = parse_graph(mg.viz.draw(loss, model=model, detail="ops"))
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops", collapse=1))
    assert collapsed_nodes(dot) == {
        "layers": ops_under(full, "layers"),
        "head": ops_under(full, "head"),
    }
    assert set(dot.clusters) == {ROOT}  # the model's, holding the two collapsed nodes
    assert {dot.cluster_of[collapsed_node(dot, p)] for p in ("layers", "head")} == {ROOT}
    assert sorted(dot.nodes[n]["label"] for n in dot.ops()) == ["Div", "Pow", "Sum"]
    assert dot.undeclared() == set()


@pytest.mark.parametrize("collapse", [("layers",), 1], ids=["names", "depth"])
def test_collapsed_modules_keep_their_connections(collapse):
    """Every drawn node is connected, and the data and each parameter still reach the loss."""
    model, _, loss = net_and_loss()
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops", collapse=collapse))
    connected = {n for edge in dot.edges for n in edge}
    assert set(dot.nodes) <= connected, f"isolated: {set(dot.nodes) - connected}"
    (out,) = dot.outputs(dot.the_op("Div"))
    for name in ("x", "layers.0.fc.weight", "layers.1.fc.bias", "head.weight"):
        assert dot.reaches(dot.named(name), out), f"{name} does not reach the loss"


def test_collapse_accepts_one_name_as_a_string():
    """collapse="layers" means ("layers",): a module named "lay" is not collapsed with it."""

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lay = nn.Linear(3, 3, dtype=np.float64)
            self.layers = nn.ModuleList([Block(3)])

        def forward(self, x):
            return self.layers[0](self.lay(x))

    model = Model()
    loss = model(mg.tensor(np.ones((2, 3)))).sum()
    as_string = parse_graph(mg.viz.draw(loss, model=model, detail="ops", collapse="layers"))
    assert collapsed_nodes(as_string) == {"layers.0": 3}
    assert "cluster_lay" in as_string.clusters


def sequential_and_output():
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=np.float64, generator=mg.Generator(1)),
        nn.Tanh(),
        nn.Linear(4, 2, dtype=np.float64, generator=mg.Generator(2)),
    )
    return model, model(mg.tensor(np.ones((2, 3)), name="x"))


def test_a_drawn_output_made_inside_a_collapsed_module_is_drawn_next_to_its_node():
    """The Sequential's output is made inside module 2: 2 is still one node, and the output
    box hangs off it, in the same cluster (the model's)."""
    model, out = sequential_and_output()
    dot = parse_graph(mg.viz.draw(out, model=model, detail="ops", collapse=1))
    assert dot.undeclared() == set()
    assert collapsed_nodes(dot) == {"0": 1, "1": 1, "2": 1}
    (box,) = [n for n in dot.boxes() if dot.nodes[n]["fillcolor"] == COLORS["output"]]
    assert dot.inputs(box) == [collapsed_node(dot, "2")]
    assert dot.cluster_of[box] == dot.cluster_of[collapsed_node(dot, "2")] == ROOT
    assert dot.ops() == []


def nan_from_block(model: Net, first_bad: int):
    """The loss of ``model`` with NaN in block ``first_bad``'s bias (0: in the data)."""
    x = mg.tensor(np.ones((2, 3)), name="x")
    if first_bad == 0:
        x.data[0, 1] = np.nan
    else:
        model.layers[first_bad].fc.bias.data[0] = np.nan
    return (model(x) ** 2).mean()


@pytest.mark.parametrize("depth", [1, 40])
def test_modules_holding_nan_are_collapsed_and_coloured_as_bad(depth):
    """NaN in the data: every block is still one node, each coloured as bad, and every edge
    ends at a drawn node; the same model with finite data has no bad node."""
    model = Net(depth=depth)
    with np.errstate(invalid="ignore"):
        dot = parse_graph(
            mg.viz.draw(nan_from_block(model, 0), model=model, detail="ops", collapse=("layers",))
        )
    assert dot.undeclared() == set()
    assert collapsed_nodes(dot) == {f"layers.{i}": 3 for i in range(depth)}
    for i in range(depth):
        node = collapsed_node(dot, f"layers.{i}")
        assert dot.nodes[node]["fillcolor"] == COLORS["bad"]
        assert dot.rows(node)[2] == "holds NaN/Inf"
    assert sorted(dot.nodes[n]["label"] for n in dot.ops()) == ["Affine", "Div", "Pow", "Sum"]
    finite_model, _, finite_loss = net_and_loss(depth)
    fine = parse_graph(
        mg.viz.draw(finite_loss, model=finite_model, detail="ops", collapse=("layers",))
    )
    assert len(collapsed_nodes(fine)) == depth
    assert COLORS["bad"] not in {a["fillcolor"] for a in fine.nodes.values()}


def test_only_the_modules_after_the_nan_are_bad():
    model = Net(depth=3)
    with np.errstate(invalid="ignore"):
        loss = nan_from_block(model, 1)
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops", collapse=("layers",)))
    colours = [dot.nodes[collapsed_node(dot, f"layers.{i}")]["fillcolor"] for i in range(3)]
    assert colours == [COLORS["collapsed"], COLORS["bad"], COLORS["bad"]]
    assert dot.nodes[dot.named("layers.1.fc.bias")]["fillcolor"] == COLORS["bad"]


def test_collapse_by_class_name_without_a_model():
    """Without model= the clusters are class names (Block, Block#2), not nested: a class name
    collapses every instance's own operations (Tanh, Add; the Linear inside is its own)."""
    model, _, loss = net_and_loss()
    dot = parse_graph(mg.viz.draw(loss, collapse=("Block",), detail="ops"))
    assert collapsed_nodes(dot) == {"Block": 2, "Block#2": 2}
    assert {"cluster_Linear", "cluster_Linear#2", "cluster_Linear#3"} == set(dot.clusters)
    assert dot.undeclared() == set()


@pytest.mark.parametrize(
    "collapse, with_model, expected",
    [
        (("layer",), True, ["'layer' is not a module", "did you mean 'layers'", "layers.0.fc"]),
        ("haed", True, ["did you mean 'head'"]),
        (("layers",), False, ["'layers' is not a module", "Block#2", "model=model"]),
        (0, True, ["collapse=0", "int >= 1"]),
        (True, True, ["collapse=True"]),
        ([1], True, ["collapse=[1]", "module names"]),
    ],
)
def test_collapse_that_matches_no_module_is_an_error(collapse, with_model, expected):
    model, _, loss = net_and_loss()
    with pytest.raises(mg.viz.GraphError) as info:
        mg.viz.draw(loss, model=model if with_model else None, collapse=collapse)
    for text in expected:
        assert text in str(info.value)
    assert str(info.value).startswith("viz.draw: collapse=")


def test_collapse_of_a_graph_made_outside_any_module_is_an_error():
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError, match="no operation in it was made inside a Module"):
        mg.viz.draw(y, collapse=("layers",))


# ----- big graphs --------------------------------------------------------------------------------


def sin_chain(n: int):
    x = leaf(np.linspace(-1, 1, 4), name="x")
    y = x
    for _ in range(n):
        y = y.sin()
    return x, y


def drawn_nodes(dot: Dot) -> list[str]:
    return [n for n in dot.nodes if dot.nodes[n].get("shape") != "note"]


def note(dot: Dot) -> str:
    notes = [n for n in dot.nodes if dot.nodes[n].get("shape") == "note"]
    assert len(notes) == 1, "exactly one note about what was left out"
    return dot.label(notes[0])


@pytest.mark.parametrize("max_nodes", [100, None], ids=["100", "default"])
def test_max_nodes_bounds_the_drawing_and_says_what_it_left_out(max_nodes):
    """5,001 tensors; at most max_nodes tensor and operation nodes, the rest counted."""
    _, y = sin_chain(5_000)
    options = {} if max_nodes is None else {"max_nodes": max_nodes}
    limit = max_nodes or DEFAULT_MAX_NODES
    dot = parse_graph(mg.viz.draw(y, **options))
    assert len(drawn_nodes(dot)) <= limit
    text = note(dot)
    assert "more tensors not drawn" in text and f"max_nodes={limit}" in text
    left_out = int(re.search(r"(\d+) more tensors", text).group(1))
    assert left_out + len(dot.boxes()) == 5_001
    # The part nearest the output is kept.
    assert any(dot.nodes[n]["fillcolor"] == COLORS["output"] for n in dot.boxes())


def test_max_nodes_keeps_the_drawn_part_connected():
    _, y = sin_chain(300)
    dot = parse_graph(mg.viz.draw(y, max_nodes=50))
    for node in dot.ops():
        assert len(dot.inputs(node)) <= 1 and len(dot.outputs(node)) == 1
    for a, b in dot.edges:
        assert a in dot.nodes and b in dot.nodes, "edges only between drawn nodes"


def test_a_small_graph_has_no_note():
    *_, y = mul_sum()
    dot = parse_graph(mg.viz.draw(y, max_nodes=100))
    assert not [n for n in dot.nodes if dot.nodes[n].get("shape") == "note"]


def lines_run(fn) -> int:
    """How many lines of Python ``fn()`` runs (its own and every function it calls): a measure
    of work that, unlike a clock, is the same on every run and every machine."""
    lines = 0

    def tracer(frame, event, arg):
        nonlocal lines
        lines += event == "line"
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return lines


def test_drawing_work_grows_linearly_with_the_graph(monkeypatch):
    """Drawing a chain 4 times as long runs about 4 times as many lines of Python (a step that
    scanned every tensor for each tensor would run 16 times as many); with the default max_nodes
    only the recording grows, not the labels; and draw never runs Graphviz (laying out is
    render's job and takes seconds)."""

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"draw ran a program: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    mg.viz.draw(sin_chain(10)[1])  # first-call work (imports, caches) is not counted below
    (_, short), (_, long) = sin_chain(500), sin_chain(2_000)
    everything = {"max_nodes": 20_000}
    full_short = lines_run(lambda: mg.viz.draw(short, **everything))
    full_long = lines_run(lambda: mg.viz.draw(long, **everything))
    assert full_long < 4.4 * full_short, f"{full_long} lines for 4x the {full_short}"
    bounded_long = lines_run(lambda: mg.viz.draw(long))
    assert bounded_long < full_long / 4, "max_nodes should bound the labelling work"
    dot = parse_graph(mg.viz.draw(long, **everything))
    assert len(dot.ops("Sin")) == 2_000 and len(dot.boxes()) == 2_001


def test_collapsing_bounds_a_deep_model():
    """40 blocks of 3 operations each: collapsed, one node per block."""
    model, _, loss = net_and_loss(depth=40)
    full = parse_graph(mg.viz.draw(loss, model=model, detail="ops", max_nodes=10_000))
    dot = parse_graph(
        mg.viz.draw(loss, model=model, detail="ops", collapse=("layers",), max_nodes=10_000)
    )
    assert len(collapsed_nodes(dot)) == 40
    assert len(full.ops()) == 40 * 3 + 1 + 3
    assert len(dot.ops()) == 1 + 3  # head's and the loss's
    assert len(dot.nodes) < len(full.nodes) / 2


def test_max_nodes_counts_the_collapsed_drawing():
    """60 blocks collapsed are 192 nodes: all of them fit the default max_nodes, so every block
    is drawn and nothing is left out (max_nodes used to count the tensors before collapsing)."""
    model, _, loss = net_and_loss(depth=60)
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops", collapse=("layers",)))
    everything = parse_graph(
        mg.viz.draw(loss, model=model, detail="ops", collapse=("layers",), max_nodes=10**6)
    )
    assert len(dot.nodes) == len(everything.nodes) < DEFAULT_MAX_NODES
    assert len(collapsed_nodes(dot)) == 60
    assert not [n for n in dot.nodes if dot.nodes[n].get("shape") == "note"]


def ops_inside(loss, module) -> int:
    """How many operations of ``loss``'s graph ``module``'s forward (or its children's) made."""
    inside = {id(m) for m in module.modules()}
    return sum(id(scope) in inside for _, _, scope in mg.viz.snapshot(loss).ops.values())


@pytest.mark.parametrize("max_nodes", [DEFAULT_MAX_NODES, 12])
def test_collapsed_nodes_count_all_their_operations_and_the_note_all_left_out(max_nodes):
    """200 blocks collapsed at depth 1: "layers" holds 600 operations however few nodes are
    drawn (its 400 parameters do not all fit), and the tensors drawn as boxes, those inside the
    collapsed nodes and those the note counts are all the graph's."""
    model, _, loss = net_and_loss(depth=200)
    dot = parse_graph(mg.viz.draw(loss, model=model, detail="ops", collapse=1, max_nodes=max_nodes))
    assert len(drawn_nodes(dot)) <= max_nodes
    assert ops_inside(loss, model.layers) == 600
    assert collapsed_nodes(dot) == {"layers": 600, "head": ops_inside(loss, model.head)}
    left_out = int(re.search(r"(\d+) more tensors", note(dot)).group(1))
    total = len(mg.viz.snapshot(loss).tensors)
    assert left_out + len(dot.boxes()) + ops_inside(loss, model) == total
    assert dot.undeclared() == set()


# ----- after backward: freed graphs, retain_graph, snapshots -------------------------------------


def test_drawing_after_backward_shows_the_gradients_and_the_freed_tensors():
    """d(sum(x * w))/dx = w and /dw = x; x * w was freed: its box says so."""
    x, w, y = mul_sum()
    y.backward()
    dot = parse_graph(mg.viz.draw(y))
    np.testing.assert_array_equal(numbers(row(dot, dot.named("x"), "grad")), [4, 5, 6])
    np.testing.assert_array_equal(numbers(row(dot, dot.named("w"), "grad")), [1, 2, 3])
    (product,) = dot.outputs(dot.the_op("Mul"))
    assert row(dot, product, "data") == "data freed by backward"


def test_retain_graph_keeps_it_drawable_with_gradients():
    """d(sum(x * w))/dx = w and /dw = x."""
    x, w, y = mul_sum()
    y.backward(retain_graph=True)
    dot = parse_graph(mg.viz.draw(y))
    np.testing.assert_array_equal(numbers(row(dot, dot.named("x"), "grad")), [4, 5, 6])
    np.testing.assert_array_equal(numbers(row(dot, dot.named("w"), "grad")), [1, 2, 3])


def test_a_snapshot_taken_before_backward_draws_after_it_with_gradients():
    """d(sum(x**2))/dx = 2x."""
    x = leaf([1.0, -2.0, 3.0], name="x")
    y = (x * x).sum()
    before = mg.viz.draw(y).source
    snap = mg.viz.snapshot(y)
    y.backward()
    dot = parse_graph(mg.viz.draw(snap))
    assert sorted(dot.nodes[n]["label"] for n in dot.ops()) == ["Mul", "Sum"]
    assert len(dot.edges) == len(parse(before).edges)
    np.testing.assert_array_equal(numbers(row(dot, dot.named("x"), "grad")), [2, -4, 6])


def test_show_grad_false_hides_gradients():
    x, w, y = mul_sum()
    y.backward(retain_graph=True)
    dot = parse_graph(mg.viz.draw(y, show_grad=False))
    assert not any(r.startswith("grad") for n in dot.boxes() for r in dot.rows(n))


def test_big_gradients_show_statistics():
    data = np.random.default_rng(2).normal(size=(5, 5))
    x = mg.tensor(data, requires_grad=True, name="x")
    y = (x * x).sum()
    snap = mg.viz.snapshot(y)
    y.backward()
    dot = parse_graph(mg.viz.draw(snap))
    stats = row(dot, dot.named("x"), "grad")
    mean = float(re.search(r"mean (\S+)", stats).group(1))
    np.testing.assert_allclose(mean, (2 * data).mean(), rtol=5e-3)


def test_a_snapshot_after_backward_holds_the_outline_and_the_gradients():
    x, w, y = mul_sum()
    y.backward()
    snap = mg.viz.snapshot(y)
    x.grad = None  # the snapshot keeps the gradient of its moment
    dot = parse_graph(mg.viz.draw(snap))
    assert sorted(dot.nodes[n]["label"] for n in dot.ops()) == ["Mul", "Sum"]
    np.testing.assert_array_equal(numbers(row(dot, dot.named("x"), "grad")), [4, 5, 6])


def test_a_snapshot_keeps_the_values_of_its_moment():
    """snapshot, backward, an in-place SGD step: the snapshot still shows w = [1, 2] (and the
    gradient 2w that backward filled in after it); a live drawing shows the stepped w."""
    w = leaf([1.0, 2.0], name="w")
    loss = (w * w).sum()
    snap = mg.viz.snapshot(loss)
    loss.backward()
    with mg.no_grad():
        w.data -= 0.25 * w.grad.data
    dot = parse_graph(mg.viz.draw(snap))
    np.testing.assert_array_equal(numbers(row(dot, dot.named("w"), "data")), [1, 2])
    np.testing.assert_array_equal(numbers(row(dot, dot.named("w"), "grad")), [2, 4])
    (out,) = dot.outputs(dot.the_op("Sum"))
    np.testing.assert_array_equal(numbers(row(dot, out, "data")), [5])
    live = parse_graph(mg.viz.draw(w * 1.0))
    np.testing.assert_array_equal(numbers(row(live, live.named("w"), "data")), [0.5, 1])


def test_a_snapshot_keeps_a_gradient_that_existed_when_it_was_taken():
    """Taken after backward(retain_graph=True): zero_grad afterwards does not erase it."""
    w = leaf([1.0, -3.0], name="w")
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    snap = mg.viz.snapshot(loss)
    w.grad = None  # what optimizer.zero_grad() does
    dot = parse_graph(mg.viz.draw(snap))
    np.testing.assert_array_equal(numbers(row(dot, dot.named("w"), "grad")), [2, -6])


# ----- forward mode and create_graph -------------------------------------------------------------


def test_forward_mode_graph_shows_tangents():
    """y = sum(2 sin(a)) with tangent v: the tangent of y is sum(2 cos(a) v)."""
    a0, v = np.array([0.3, -1.2]), np.array([1.0, 0.5])
    a = leaf(a0, name="a")
    with forward_mode():
        a.tangent = v[None]
        y = (a.sin() * 2.0).sum()
        dot = parse_graph(mg.viz.draw(y))
    assert {dot.nodes[n]["label"] for n in dot.ops()} >= {"Sin", "Mul", "Sum"}
    for node in dot.boxes():
        if dot.nodes[node]["fillcolor"] != COLORS["input"]:  # constants carry no tangent
            assert any(r.startswith("tangent") for r in dot.rows(node)), dot.rows(node)
    (out,) = dot.outputs(dot.the_op("Sum"))
    mean = float(re.search(r"mean (\S+)", row(dot, out, "tangent")).group(1))
    np.testing.assert_allclose(mean, np.sum(2 * np.cos(a0) * v), rtol=5e-3)


def test_forward_mode_without_a_tape_draws_the_tensor_with_its_tangent():
    with forward_mode():
        a = mg.tensor([0.3, -1.2], name="a")
        a.tangent = np.ones((1, 2))
        y = a.exp().sum()
        dot = parse_graph(mg.viz.draw(y))
    assert any(r.startswith("tangent") for n in dot.boxes() for r in dot.rows(n))


def test_create_graph_gradient_draws():
    """x.grad = 3 x**2 after backward(create_graph=True) of sum(x**3) is a graph of x."""
    x0 = np.array([1.0, 2.0, -3.0])
    x = leaf(x0, name="x")
    (x**3).sum().backward(create_graph=True)
    dot = parse_graph(mg.viz.draw(x.grad, show_data=True))
    assert len(dot.ops()) >= 2
    (out,) = [n for n in dot.boxes() if dot.nodes[n]["fillcolor"] == COLORS["output"]]
    np.testing.assert_allclose(numbers(row(dot, out, "data")), 3 * x0**2)
    assert dot.reaches(dot.named("x"), out)


# ----- rendering ---------------------------------------------------------------------------------


@needs_dot
def test_render_svg_is_valid_and_the_dot_source_is_written_next_to_it(tmp_path):
    *_, y = mul_sum()
    out = mg.viz.render(y, str(tmp_path / "g.svg"))
    assert out == str(tmp_path / "g.svg")
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert {"Mul", "Sum", "x", "w"} <= texts
    source = (tmp_path / "g.dot").read_text()
    assert source == mg.viz.draw(y).source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.svg"]


@needs_dot
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF")])
def test_render_png_and_pdf(tmp_path, fmt, magic):
    *_, y = mul_sum()
    out = mg.viz.render(y, str(tmp_path / f"g.{fmt}"))
    with open(out, "rb") as f:
        assert f.read(len(magic)) == magic
    assert (tmp_path / "g.dot").exists()


@needs_dot
def test_render_format_argument_and_drawing_options(tmp_path):
    model, _, loss = net_and_loss()
    out = mg.viz.render(
        loss, str(tmp_path / "net"), format="png", model=model, detail="ops", collapse=1
    )
    assert out == str(tmp_path / "net.png")
    assert (tmp_path / "net.png").read_bytes()[:4] == b"\x89PNG"
    dot = parse((tmp_path / "net.dot").read_text())
    assert set(collapsed_nodes(dot)) == {"layers", "head"}


@needs_dot
def test_render_a_snapshot_after_backward(tmp_path):
    *_, y = mul_sum()
    snap = mg.viz.snapshot(y)
    y.backward()
    mg.viz.render(snap, str(tmp_path / "after.svg"))
    assert ET.parse(tmp_path / "after.svg").getroot().tag.endswith("svg")
    assert "grad [4., 5., 6.]" in (tmp_path / "after.dot").read_text()


def test_render_unknown_format_is_an_error(tmp_path):
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError, match="jpg"):
        mg.viz.render(y, str(tmp_path / "g.jpg"))
    with pytest.raises(mg.viz.GraphError, match="bmp"):
        mg.viz.render(y, str(tmp_path / "g"), format="bmp")
    assert list(tmp_path.iterdir()) == []


def check_missing_dot_error(error, tmp_path):
    message = str(error.value)
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda"):
        assert hint in message
    dot_path = tmp_path / "g.dot"
    assert str(dot_path) in message
    assert dot_path.read_text().startswith("digraph")
    assert not (tmp_path / "g.svg").exists()


def test_missing_dot_raises_how_to_install_and_keeps_the_source(tmp_path, monkeypatch):
    monkeypatch.setattr("minigrad.viz.rendering.shutil.which", lambda *args, **kwargs: None)
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError) as error:
        mg.viz.render(y, str(tmp_path / "g.svg"))
    check_missing_dot_error(error, tmp_path)


def test_dot_not_on_path_raises_how_to_install(tmp_path, monkeypatch):
    """With PATH empty the executable cannot be found, even if which() were fooled."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "out"
    out.mkdir()
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError) as error:
        mg.viz.render(y, str(out / "g.svg"))
    check_missing_dot_error(error, out)
    monkeypatch.setattr(
        "minigrad.viz.rendering.shutil.which", lambda *args, **kwargs: "/usr/bin/dot"
    )
    os.remove(out / "g.dot")
    with pytest.raises(mg.viz.GraphError) as error:
        mg.viz.render(y, str(out / "g.svg"))
    check_missing_dot_error(error, out)


@pytest.mark.parametrize(
    "args, expected",
    [
        ((np.ones(3),), "argument 1 is a numpy.ndarray, not a minigrad Tensor"),
        ((), "no tensors given"),
        (([1.0, 2.0],), "argument 1 is a float"),
    ],
    ids=["array", "nothing", "list-of-floats"],
)
def test_draw_of_something_that_is_not_a_tensor_is_an_error(args, expected):
    with pytest.raises(mg.viz.GraphError) as info:
        mg.viz.draw(*args)
    assert str(info.value).startswith("viz.draw: ") and expected in str(info.value)


def test_a_snapshot_is_drawn_alone():
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError, match="drawn alone"):
        mg.viz.draw(mg.viz.snapshot(y), y)


@pytest.mark.parametrize(
    "options, expected",
    [({"max_nodes": 0}, "max_nodes=0"), ({"model": "net"}, "model="), ({"params": 3}, "params=")],
)
def test_bad_drawing_options_are_errors(options, expected):
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError, match=expected):
        mg.viz.draw(y, **options)


def test_draw_and_render_take_a_list_of_tensors(tmp_path, monkeypatch):
    x = leaf([1.0, 2.0], name="x")
    a, b = x.sin(), x.exp()
    assert mg.viz.draw([a, b]).source == mg.viz.draw(a, b).source
    monkeypatch.setattr("minigrad.viz.rendering.shutil.which", lambda *args, **kwargs: None)
    with pytest.raises(mg.viz.GraphError, match="apt-get"):
        mg.viz.render([a, b], str(tmp_path / "two.svg"))
    assert (tmp_path / "two.dot").read_text() == mg.viz.draw(a, b).source


@needs_dot
def test_render_creates_missing_folders_and_takes_upper_case_suffixes(tmp_path):
    *_, y = mul_sum()
    out = mg.viz.render(y, tmp_path / "a" / "b" / "g.SVG")
    assert out == str(tmp_path / "a" / "b" / "g.SVG")
    assert ET.parse(out).getroot().tag.endswith("svg")
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["g.SVG", "g.dot"]
    png = mg.viz.render(y, str(tmp_path / "h"), format="PNG")
    assert png == str(tmp_path / "h.png") and (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "name, options, expected",
    [
        ("g.svg", {"format": "png"}, "ends in '.svg' but format='png'"),
        ("model.v2", {}, "ends in '.v2'"),
        ("g.svg", {"format": "gif"}, "format 'gif' is not one of"),
    ],
)
def test_render_refuses_a_suffix_and_format_that_disagree(tmp_path, name, options, expected):
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError) as info:
        mg.viz.render(y, str(tmp_path / name), **options)
    assert str(info.value).startswith("viz.render: ") and expected in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_render_of_a_digraph_refuses_drawing_options(tmp_path):
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError, match="collapse= would be ignored"):
        mg.viz.render(mg.viz.draw(y), str(tmp_path / "g.svg"), collapse=1)


def test_render_into_a_path_that_cannot_be_a_folder_is_an_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    *_, y = mul_sum()
    with pytest.raises(mg.viz.GraphError, match="cannot write"):
        mg.viz.render(y, str(tmp_path / "file" / "g.svg"))


@needs_dot
def test_render_warns_when_the_layout_may_take_minutes(tmp_path, monkeypatch):
    """Clustered graphs past SLOW_LAYOUT_NODES warn (lowered here to keep the test small);
    a graph without clusters does not."""
    monkeypatch.setattr("minigrad.viz.rendering.SLOW_LAYOUT_NODES", 20)
    model, _, loss = net_and_loss()
    with pytest.warns(RuntimeWarning, match="may take minutes.*collapse"):
        mg.viz.render(loss, str(tmp_path / "net.svg"), model=model, detail="ops")
    assert (tmp_path / "net.svg").exists()
    _, chain = sin_chain(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.viz.render(chain, str(tmp_path / "chain.svg"))


# ----- Jupyter -----------------------------------------------------------------------------------


@needs_dot
def test_the_digraph_displays_inline_in_jupyter():
    *_, y = mul_sum()
    graph = mg.viz.draw(y)
    assert hasattr(graph, "_repr_mimebundle_") or hasattr(graph, "_repr_svg_")
    bundle = graph._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    root = ET.fromstring(svg.encode() if isinstance(svg, str) else svg)
    assert root.tag.endswith("svg")


def test_without_a_model_each_module_instance_gets_its_own_cluster():
    first, second = nn.Linear(3, 3, dtype=np.float64), nn.Linear(3, 2, dtype=np.float64)
    out = second(first(mg.tensor(np.ones((2, 3))))).sum()
    dot = parse_graph(mg.viz.draw(out, detail="ops"))
    assert {"cluster_Linear", "cluster_Linear#2"} <= set(dot.clusters)
    assert sorted(dot.cluster_of[n] for n in dot.ops("Affine")) == [
        "cluster_Linear",
        "cluster_Linear#2",
    ]
