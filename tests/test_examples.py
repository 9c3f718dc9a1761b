"""Every script in examples/ runs to the end in a fresh interpreter and writes what it promises.

Each example checks the claims it demonstrates itself (an accuracy reached, Newton's method
ahead of gradient descent, the planted bug caught, a drawing with a node per value ...) and
exits with an error when one does not hold; this test adds that its pictures and drawings were
written and are what their suffix says. The two drawing examples need Graphviz's ``dot`` to
render (``make test`` installs it): without it they only write DOT sources, and fail here.
"""

from __future__ import annotations

import ast
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tokenize
import xml.etree.ElementTree as ET

import pytest

import minigrad as mg

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
TIMEOUT = 60  # seconds

# What each example writes with its default options, relative to the folder it runs in.
OUTPUTS = {
    "char_lstm.py": ["example-output/char-lstm-loss.png"],
    "conv_autoencoder.py": ["example-output/conv-autoencoder.png"],
    "curvature_learning_rates.py": ["example-output/curvature-learning-rates.png"],
    "curvature_tour.py": [
        "example-output/curvature-spectrum-training.png",
        "example-output/curvature-landscape.png",
        "example-output/curvature-sharpness.png",
    ],
    "digits.py": [],
    "dp_sgd.py": [],
    "draw_cnn_graph.py": ["graph-output/train_step.svg", "graph-output/train_step_ops.svg"],
    "gradient_checking.py": [],
    "hessians.py": ["example-output/hessian-steps.png"],
    "lr_schedules.py": ["example-output/lr-schedules.png"],
    "moons_mlp.py": ["example-output/moons-boundary.png"],
    "pytorch_port.py": ["example-output/digits-checkpoint.pt"],
    "per_sample_norms.py": ["example-output/per-sample-gradient-norms.png"],
    "optimizers_compared.py": [
        "example-output/optimizers-rosenbrock.png",
        "example-output/optimizers-quadratic.png",
    ],
    "scalar_walkthrough.py": [
        "example-output/scalar-expression.svg",
        "example-output/scalar-neuron.svg",
    ],
    "tiny_gpt.py": ["example-output/tiny-gpt-loss.png", "example-output/tiny-gpt-attention.png"],
}
# The arguments of an example's reduced run, which still checks that it learns.
ARGUMENTS = {
    "char_lstm.py": ["--quick"],
    "conv_autoencoder.py": ["--quick"],
    "curvature_learning_rates.py": ["--quick"],
    "curvature_tour.py": ["--quick"],
    "tiny_gpt.py": ["--quick"],
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_make_demo_runs_the_demo_module():
    """`make demo` (the README's first command) runs python -m minigrad.demo."""
    makefile = (ROOT / "Makefile").read_text()
    demo_recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "-m minigrad.demo" in demo_recipe


def test_every_example_says_what_it_writes():
    assert sorted(OUTPUTS) == [p.name for p in EXAMPLES]


def check_output(path: pathlib.Path) -> None:
    assert path.is_file(), f"{path.name} was not written"
    if path.suffix == ".png":
        assert path.read_bytes().startswith(PNG_SIGNATURE), f"{path.name} is not a PNG"
        assert path.stat().st_size > 10_000, f"{path.name} is too small to hold the plot"
    elif path.suffix == ".svg":
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", f"{path.name} is not an SVG"
        assert len(root.findall(".//{http://www.w3.org/2000/svg}g")) > 1, f"{path.name} is empty"
    elif path.suffix == ".pt":  # a checkpoint: mg.save's .npz under PyTorch's usual name
        checkpoint = mg.load(path)
        assert sorted(checkpoint) == ["epoch", "model", "optim"], sorted(checkpoint)
    else:
        raise AssertionError(f"no check for {path.name}")


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_writes_its_outputs(script, tmp_path):
    """Exit code 0 within the timeout, run from a scratch directory with this venv's python;
    then every file it promises is there."""
    outputs = [tmp_path / name for name in OUTPUTS.get(script.name, [])]
    if any(p.suffix == ".svg" for p in outputs) and shutil.which("dot") is None:
        pytest.fail(
            f"{script.name} draws graphs and Graphviz's `dot` is missing: install it (`make test` "
            f"does; or apt-get/brew/conda install graphviz) so the drawings can be checked"
        )
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",  # plots never open a window
        # minigrad is importable from the checkout even where it is not installed.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, str(script), *ARGUMENTS.get(script.name, [])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n"
        f"--- stdout (end) ---\n{result.stdout[-3000:]}\n"
        f"--- stderr (end) ---\n{result.stderr[-3000:]}"
    )
    assert "NOT DRAWN" not in result.stdout
    for path in outputs:
        check_output(path)


def test_the_pytorch_port_names_minigrad_only_in_its_imports():
    """examples/pytorch_port.py is a PyTorch script: swapping its import lines for PyTorch's
    must be all it takes, so no other line of code may name minigrad."""
    source = (ROOT / "examples" / "pytorch_port.py").read_text()
    tree = ast.parse(source)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    import_lines = {line for n in imports for line in range(n.lineno, n.end_lineno + 1)}
    naming = [
        tok.start[0]
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.NAME and tok.string == "minigrad"
    ]
    assert naming, "the script should import minigrad"
    assert set(naming) <= import_lines, f"lines {sorted(set(naming) - import_lines)} name minigrad"
