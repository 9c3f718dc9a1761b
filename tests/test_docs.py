"""The README and every page in docs/ run: their ```python blocks execute, in order, per file."""

from __future__ import annotations

import pathlib
import re
import textwrap
import traceback

import pytest

import minigrad as mg

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Every fence names its language; only python blocks run, the others are shown as they are.
LANGUAGES = {"python", "text", "bash"}
FENCE = re.compile(r"^\s*```(.*)$")  # fences may be indented (inside a list)


def fenced_blocks(path: pathlib.Path) -> list[tuple[str, int, str]]:
    """(language, first line number, source) of each ``` block in a Markdown file."""
    blocks, language, start, lines = [], None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fence = FENCE.match(line)
        if language is None:
            if fence:
                language, start, lines = fence.group(1).strip(), number + 1, []
        elif fence and not fence.group(1).strip():
            blocks.append((language, start, textwrap.dedent("\n".join(lines)) + "\n"))
            language = None
        else:
            lines.append(line)
    assert language is None, f"{path.name}: the block opened before line {start} is not closed"
    return blocks


def relative(path: pathlib.Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOC_FILES, ids=relative)
def test_fences_name_a_known_language(path):
    """An unlabelled or misspelled fence would be skipped silently instead of run."""
    for language, line, _ in fenced_blocks(path):
        assert language in LANGUAGES, (
            f"{relative(path)}: the block at line {line} is ```{language}; "
            f"use one of {sorted(LANGUAGES)}"
        )


@pytest.mark.parametrize("path", DOC_FILES, ids=relative)
def test_python_blocks_run(path, tmp_path, monkeypatch, float32_default):
    """All ```python blocks of one file run in order in one fresh namespace, under minigrad's
    real default dtype (float32), as a reader's copy of them does."""
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace = {"__name__": f"docs.{path.stem.replace('-', '_')}"}
    registry = dict(mg.ops.registry)  # primitives defined in the docs do not outlive the file
    blocks = [(line, source) for language, line, source in fenced_blocks(path)
              if language == "python"]  # fmt: skip
    failure = None
    try:
        for number, (line, source) in enumerate(blocks, start=1):
            # Pad with blank lines so that tracebacks give line numbers in the Markdown file.
            code = compile("\n" * (line - 1) + source, relative(path), "exec")
            try:
                exec(code, namespace)
            except Exception:
                failure = (
                    f"{relative(path)}: python block {number} (line {line}) failed:\n"
                    f"{traceback.format_exc()}"
                )
                break
    finally:
        mg.ops.registry.clear()
        mg.ops.registry.update(registry)
    if failure:
        pytest.fail(failure, pytrace=False)


def test_pages_with_code_have_python_blocks():
    """Guards the extraction itself: the pages that teach by example do contain code."""
    for name in ("README.md", "docs/getting-started.md", "docs/custom-primitives.md",
                 "docs/autodiff.md"):  # fmt: skip
        path = ROOT / name
        assert path in DOC_FILES, f"{name} is missing"
        assert any(language == "python" for language, _, _ in fenced_blocks(path)), name
