"""Every script in examples/ runs to the end in a fresh interpreter."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
TIMEOUT = 60  # seconds


def test_make_demo_runs_the_demo_module():
    """`make demo` (the README's first command) runs python -m minigrad.demo."""
    makefile = (ROOT / "Makefile").read_text()
    demo_recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "-m minigrad.demo" in demo_recipe


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    """Exit code 0 within the timeout, run from a scratch directory with this venv's python."""
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",  # plots never open a window
        # minigrad is importable from the checkout even where it is not installed.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, str(script)],
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
