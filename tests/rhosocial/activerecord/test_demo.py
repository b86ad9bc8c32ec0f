"""The README's demo command runs and shows what it promises."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[3] / "examples" / "demo.py"


def test_demo_runs_and_tells_its_story(tmp_path) -> None:
    done = subprocess.run([sys.executable, str(DEMO)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "saved 2 users and 4 posts" in out
    assert 'SQL run: UPDATE "users" SET "updated_at" = ?, "age" = ? WHERE "id" = ?' in out
    assert "adults: ['Alice']" in out
    assert "rejected: Value error, an e-mail address needs an @" in out
    assert "users still: 2" in out
    assert "rolled back: RecordInvalid - {'email': ['has already been taken']}" in out
    assert "Dave saved? False" in out
    assert list(tmp_path.iterdir()) == []  # the demo leaves no files behind
