"""The example stays a model of a small backend: what every backend would write again belongs in the base."""
from __future__ import annotations

from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
LIMIT = 400  # non-blank lines that are not comments (docstrings count)


def test_the_example_backend_stays_small():
    count = sum(1 for path in SOURCE.rglob("*.py") for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.strip().startswith("#"))
    assert count <= LIMIT, f"{count} lines of code: move what every backend would repeat into the base classes"
