"""The demo (``python -m minigrad.demo``) runs end to end on a small budget and writes its files."""

import importlib.util
import re
import subprocess
import sys

import pytest

from minigrad import demo


def test_demo_reaches_its_accuracy_and_writes_report_curves_and_graphs(
    tmp_path, capsys, float32_default
):
    """The whole demo, as ``make demo`` runs it (about 10 s with one BLAS thread): the issue's
    targets are 97% test accuracy for the MLP and 98% for the CNN."""
    out = tmp_path / "out"
    assert demo.main(["--out", str(out)]) == 0
    for name in ("report.txt", "curves.png", "graph-mlp.svg", "graph-cnn.svg", "graph-mlp.png",
                 "dashboard-mlp.png", "dashboard-cnn.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.txt").read_text()
    accuracy = {m: float(a) for m, a in re.findall(r"(MLP|CNN): test accuracy ([0-9.]+)", report)}
    assert accuracy["MLP"] >= 0.97 and accuracy["CNN"] >= 0.98, accuracy
    # the graphs are drawn after backward, with the norms of this step's gradients by layer
    assert "|grad|" in (out / "graph-cnn.dot").read_text()
    assert "top Hessian eigenvalue" in report and "GradientMonitor" in report
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "dashboard-mlp.png").read_bytes().startswith(b"\x89PNG")
    assert "gradient noise scale B_simple" in report and "sharpness lambda_max" in report
    assert re.search(r"monitor: [0-9.]+% overhead", report)
    assert str(out) in capsys.readouterr().out


def test_one_model_only(tmp_path, float32_default):
    assert demo.main(["--model", "mlp", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "graph-mlp.svg").exists() and not (tmp_path / "graph-cnn.svg").exists()
    assert (tmp_path / "dashboard-mlp.png").exists()
    assert not (tmp_path / "dashboard-cnn.png").exists()


def test_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "minigrad.demo", "--help"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0
    assert "--epochs" in result.stdout and "--model" in result.stdout and "--out" in result.stdout


def test_a_missing_optional_dependency_is_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tqdm" else real(name, *a)
    )
    with pytest.raises(SystemExit, match=r"needs tqdm.*pip install"):
        demo.require_extras()
