"""docs/api.md is generated from the code and in sync with it; every public name has a docstring;
links between the Markdown pages point at files and headings that exist."""

from __future__ import annotations

import difflib
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

import minigrad as mg

ROOT = pathlib.Path(__file__).resolve().parent.parent
API_MD = ROOT / "docs" / "api.md"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()


@pytest.fixture(scope="module")
def rendered() -> str:
    return gen.render()


# ----- in sync -----------------------------------------------------------------------------------


def test_api_md_is_up_to_date(rendered):
    current = API_MD.read_text()
    if current != rendered:
        diff = difflib.unified_diff(current.splitlines(), rendered.splitlines(), "docs/api.md",
                                    "generated", lineterm="", n=1)  # fmt: skip
        pytest.fail(
            "docs/api.md is out of date: run `python docs/gen_api.py`\n"
            + "\n".join(list(diff)[:40]),
            pytrace=False,
        )


def test_check_mode_exit_status(tmp_path, monkeypatch, rendered):
    """--check exits 1 on a stale page and 0 on a current one, and writes nothing."""
    page = tmp_path / "api.md"
    monkeypatch.setattr(gen, "API_MD", page)
    page.write_text(rendered.replace("## `mg.nn`", "## `mg.nn` (edited by hand)"))
    assert gen.main(["--check"]) == 1
    assert "(edited by hand)" in page.read_text()
    page.unlink()
    assert gen.main(["--check"]) == 1  # missing
    assert not page.exists()
    page.write_text(rendered)
    assert gen.main(["--check"]) == 0


def test_check_mode_from_the_command_line():
    """What CI and a contributor run: `python docs/gen_api.py --check` on this checkout."""
    result = subprocess.run([sys.executable, "docs/gen_api.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# ----- docstrings --------------------------------------------------------------------------------


def test_every_public_name_has_a_docstring():
    missing = gen.missing_docstrings()
    assert not missing, f"public names without a docstring: {', '.join(missing)}"


# ----- what the generator counts as public -------------------------------------------------------


def names(module_name: str) -> dict[str, object]:
    return dict(gen.public_names(module_name))


@pytest.mark.parametrize(
    "module_name, expected",
    [
        ("minigrad", {"Tensor": mg.Tensor, "tensor": mg.tensor, "hessian": mg.hessian}),
        ("minigrad.autograd", {"grad": mg.autograd.grad, "forward_mode": mg.autograd.forward_mode}),
        ("minigrad.nn", {"Linear": mg.nn.Linear, "Module": mg.nn.Module}),
        ("minigrad.nn.functional", {"cross_entropy": mg.nn.functional.cross_entropy}),
        ("minigrad.nn.init", {"kaiming_uniform_": mg.nn.init.kaiming_uniform_}),
        ("minigrad.optim", {"Adam": mg.optim.Adam, "Optimizer": mg.optim.Optimizer}),
        ("minigrad.optim.lr_scheduler", {"OneCycleLR": mg.optim.lr_scheduler.OneCycleLR}),
        ("minigrad.curvature", {"suggest_lr": mg.curvature.suggest_lr}),
        ("minigrad.viz", {"draw": mg.viz.draw, "render": mg.viz.render}),
    ],
)
def test_public_names_include(module_name, expected):
    found = names(module_name)
    for name, obj in expected.items():
        assert found.get(name) is obj, f"{module_name}.{name}"


def test_public_names_leave_out_private_and_foreign_names():
    viz = names("minigrad.viz")
    assert "Tensor" not in viz and "dataclass" not in viz  # imported there, defined elsewhere
    assert "Generator" not in names("minigrad.nn.init")
    assert "apply" not in names("minigrad.autodiff")  # the tape's machinery
    for _, module_name in gen.NAMESPACES:
        for name, obj in gen.public_names(module_name):
            assert not name.startswith("_"), f"{module_name}.{name}"
            assert obj.__module__.startswith("minigrad"), f"{module_name}.{name}"


def test_members_skip_overrides():
    """A subclass's forward/update is the base's documented method, not a new name."""
    assert "backward" in dict(gen.members(mg.Tensor))
    assert "forward" not in dict(gen.members(mg.nn.Linear))
    assert "update" not in dict(gen.members(mg.optim.Adam))


# ----- the page ----------------------------------------------------------------------------------


def test_each_object_is_documented_once(rendered):
    assert '<a id="mg.relu"></a>' in rendered
    assert '<a id="mg.nn.functional.relu"></a>' not in rendered
    functional = rendered.split("## `mg.nn.functional`")[1].split("\n## ")[0]
    assert "[`relu`](#mg.relu)" in functional  # linked to where it is documented


def test_signatures_are_shown_and_stable(rendered):
    assert (
        "`tensor(data, *, dtype=None, device=None, requires_grad: bool = False, "
        "pin_memory=False, name: str | None = None)" in rendered
    )
    assert "<class 'numpy" not in rendered  # a numpy default reads np.float32
    assert " at 0x" not in rendered  # no memory addresses: the page must not change run to run
    assert gen.render() == rendered


def test_docstrings_become_markdown():
    assert gen.first_paragraph("Sum over ``axis``.\n\nMore.") == "Sum over `axis`."
    assert gen.first_paragraph("Rule:\n\n    m = b * m\n\nMore.") == "Rule:\n\n    m = b * m"
    assert gen.first_paragraph("a <b> and __init__") == r"a &lt;b> and \_\_init\_\_"
    assert gen.first_paragraph("`a < b` and `__init__`") == "`a < b` and `__init__`"
    assert gen.first_paragraph(None) == "*No docstring.*"


def test_anchors_are_unique_and_links_resolve(rendered):
    anchors = re.findall(r'<a id="([^"]+)"></a>', rendered)
    assert len(anchors) == len(set(anchors))
    missing = sorted(set(re.findall(r"\]\(#([^)]+)\)", rendered)) - set(anchors))
    assert not missing, missing


# ----- links between pages -----------------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


FENCED = re.compile(r"^\s*```.*?^\s*```", flags=re.S | re.M)


def prose(text: str) -> str:
    """Markdown without fenced blocks and code spans, where links are not links."""
    return re.sub(r"`[^`\n]*`", "", FENCED.sub("", text))


def heading_anchors(path: pathlib.Path) -> set[str]:
    """GitHub's anchors for a page's headings (lowercase, punctuation dropped, spaces to
    hyphens, repeats numbered), plus explicit <a id="..."> anchors."""
    text = path.read_text()
    anchors, counts = set(re.findall(r'<a id="([^"]+)"', text)), {}
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*$", FENCED.sub("", text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    """A link to a page or image that is not there, or to a heading that was renamed, fails."""
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part).resolve() if file_part else page
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"
