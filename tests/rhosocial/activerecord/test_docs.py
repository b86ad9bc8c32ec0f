"""Every ```python block in README.md and docs/ runs, so the docs cannot drift from the code.

The blocks of one file run in order in one namespace, in a scratch directory,
with a fresh default backend; a block whose first line is ``# doctest: skip``
is shown but not run (reserved for snippets that need a server).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import rhosocial.activerecord.config as config

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def doc_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [p for p in files if BLOCK.search(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_examples_run(path: Path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "_default_backend", None)
    text = path.read_text(encoding="utf-8")
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    ran = 0
    for match in BLOCK.finditer(text):
        code = match.group(1)
        if code.lstrip().startswith("# doctest: skip"):
            continue
        line = text.count("\n", 0, match.start()) + 2
        compiled = compile("\n" * (line - 1) + code, str(path), "exec", dont_inherit=True)
        exec(compiled, namespace)  # noqa: S102 - the project's own documentation
        ran += 1
    assert ran > 0
    backend = config._default_backend
    if backend is not None:
        backend.disconnect()


def test_docs_exist() -> None:
    assert doc_files(), "docs/ has no runnable examples"
