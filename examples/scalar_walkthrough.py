"""A walkthrough with scalars, in the style of micrograd's README.

1. Build an expression of a few scalars, print its value, backpropagate, print the gradients.
2. Check every gradient against central finite differences with ``mg.gradcheck``.
3. One neuron, ``o = tanh(w1*x1 + w2*x2 + b)``: its tape, its gradients, the closed form.

Both graphs are drawn with ``mg.viz.render``, like micrograd's ``draw_dot``: a box per value
(its data and, after backward, its gradient), an ellipse per operation. They go to
``OUT/scalar-expression.svg`` and ``OUT/scalar-neuron.svg`` (with their DOT sources).

Run it with ``python examples/scalar_walkthrough.py [--out FOLDER]`` (default:
``example-output``). Rendering needs Graphviz's ``dot``; without it the DOT sources are still
written, and the script says so (NOT DRAWN) and how to install ``dot``.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import shutil

import minigrad as mg


def expression(a: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
    """micrograd's README expression, written with minigrad tensors.

    micrograd's README (which checks it against PyTorch) gives g = 24.7041,
    dg/da = 138.8338 and dg/db = 645.5773 at a = -4, b = 2.
    """
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def neuron(x1, x2, w1, w2, b) -> mg.Tensor:
    """o = tanh(w1*x1 + w2*x2 + b), one step at a time so every value has a name."""
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    n = x1w1 + x2w2 + b
    x1w1.name, x2w2.name, n.name = "x1*w1", "x2*w2", "n"  # labels for the drawing
    return mg.tanh(n)


def section(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}")


def record(output: mg.Tensor) -> mg.viz.Snapshot:
    """The graph behind ``output``, kept for drawing after backward (which frees it), with
    every intermediate value asked to keep its gradient, as micrograd's values all do."""
    graph = mg.viz.snapshot(output)
    for t in graph.tensors.values():
        if t.requires_grad and not t.is_leaf:
            t.retain_grad()
    return graph


def draw(graph: mg.viz.Snapshot, path: pathlib.Path) -> None:
    """Render a graph recorded before backward (so the gradients show), or say why not."""
    try:
        mg.viz.render(graph, str(path))
    except mg.viz.GraphError as error:
        if shutil.which("dot") is not None:
            raise  # Graphviz is there: this is a real failure
        print(f"NOT DRAWN: {error}")  # no `dot`: the error names the DOT source written instead
        return
    # As in micrograd's draw_dot: a box per value, an ellipse per operation.
    svg = path.read_text()
    ellipses = svg.count("<ellipse")
    boxes = svg.count('class="node"') - ellipses
    if (boxes, ellipses) != (len(graph.tensors), len(graph.ops)):
        raise SystemExit(f"{path} shows {boxes} values and {ellipses} operations, not "
                         f"{len(graph.tensors)} and {len(graph.ops)}")  # fmt: skip
    print(f"drew the graph: {path} ({boxes} values, {ellipses} operations)")


def walkthrough_expression(out: pathlib.Path) -> None:
    section("1. An expression of scalars")
    a = mg.tensor(-4.0, requires_grad=True, name="a")
    b = mg.tensor(2.0, requires_grad=True, name="b")
    g = expression(a, b)
    g.name = "g"
    print(f"g = {g.item():.4f}    (made by {g.grad_fn})")

    graph = record(g)  # before backward, which frees the graph
    g.backward()
    print(f"dg/da = {a.grad.item():.4f}")
    print(f"dg/db = {b.grad.item():.4f}")
    # The values micrograd's README prints (and checks against PyTorch), to its 4 decimals.
    for name, value, micrograd in (("g", g, 24.7041), ("dg/da", a.grad, 138.8338),
                                   ("dg/db", b.grad, 645.5773)):  # fmt: skip
        if not math.isclose(value.item(), micrograd, abs_tol=5e-5):
            raise SystemExit(f"{name} = {value.item()}, micrograd's README says {micrograd}")

    section("2. The same gradients by finite differences")
    h = 1e-6
    print("gradient   backward     (g(x+h) - g(x-h)) / 2h")
    for name, derivative, numeric in (
        ("a", a.grad.item(), central_difference(lambda x: expression(x, b), a.item(), h)),
        ("b", b.grad.item(), central_difference(lambda x: expression(a, x), b.item(), h)),
    ):
        print(f"  dg/d{name}    {derivative:10.4f}   {numeric:10.4f}")
        if not math.isclose(derivative, numeric, rel_tol=1e-6):
            raise SystemExit(f"dg/d{name} disagrees with finite differences")

    # mg.gradcheck does this for every element of every input, and reports the worst.
    report = mg.gradcheck(expression, a, b)
    print("\nmg.gradcheck:")
    print(report)
    if not report:
        raise SystemExit("gradcheck failed: the gradients above are wrong")
    print()
    draw(graph, out / "scalar-expression.svg")


def central_difference(fn, x: float, h: float) -> float:
    """(fn(x + h) - fn(x - h)) / 2h, evaluated without recording a tape."""
    with mg.no_grad():
        return (fn(mg.tensor(x + h)).item() - fn(mg.tensor(x - h)).item()) / (2 * h)


def walkthrough_neuron(out: pathlib.Path) -> None:
    section("3. A neuron: o = tanh(w1*x1 + w2*x2 + b)")
    x1 = mg.tensor(2.0, requires_grad=True, name="x1")
    x2 = mg.tensor(0.0, requires_grad=True, name="x2")
    w1 = mg.tensor(-3.0, requires_grad=True, name="w1")
    w2 = mg.tensor(1.0, requires_grad=True, name="w2")
    b = mg.tensor(6.8813735870195432, requires_grad=True, name="b")  # makes o = 1/sqrt(2)
    inputs = [x1, x2, w1, w2, b]
    o = neuron(*inputs)
    o.name = "o"
    if not math.isclose(o.item(), 1 / math.sqrt(2), rel_tol=1e-12):
        raise SystemExit(f"o = {o.item()}, b was chosen to make it 1/sqrt(2)")

    # The tape, leaves first: what backward will walk in reverse.
    print("the tape (leaves first):")
    for t in mg.autograd.toposort(o):
        label = t.name or f"<{t.grad_fn}>"
        print(f"  {label:<8} = {t.item(): .4f}")

    graph = record(o)
    o.backward()
    # d tanh(n)/dn = 1 - tanh(n)^2, then the chain rule through the sum and the products.
    do_dn = 1 - o.item() ** 2
    closed_form = {
        "x1": w1.item() * do_dn,
        "x2": w2.item() * do_dn,
        "w1": x1.item() * do_dn,
        "w2": x2.item() * do_dn,
        "b": do_dn,
    }
    print(
        f"\no = {o.item():.4f}  (1/sqrt(2) = {1 / math.sqrt(2):.4f}), do/dn = 1 - o^2 = {do_dn:.4f}"
    )
    print("gradient   backward   closed form")
    for t in inputs:
        print(f"  do/d{t.name:<4} {t.grad.item(): .4f}    {closed_form[t.name]: .4f}")
        if not math.isclose(t.grad.item(), closed_form[t.name], rel_tol=1e-9, abs_tol=1e-12):
            raise SystemExit(f"do/d{t.name} disagrees with the closed form")

    report = mg.gradcheck(neuron, *inputs)
    print("\nmg.gradcheck:")
    print(report)
    if not report:
        raise SystemExit("gradcheck failed for the neuron")
    print()
    draw(graph, out / "scalar-neuron.svg")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="example-output", help="folder for the drawings")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Scalars in float64, as micrograd's Python floats: the finite differences are compared to
    # 1e-6 and the closed forms to 1e-9, beyond float32's 7 digits.
    mg.set_default_dtype(mg.float64)
    walkthrough_expression(out)
    walkthrough_neuron(out)


if __name__ == "__main__":
    main()
