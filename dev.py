#!/usr/bin/env python3
"""Project tasks that need nothing but Python 3.11+.

    python3 dev.py demo        run the demo on SQLite
    python3 dev.py test [...]  install what the tests need into .venv and run the whole suite,
                               then the example DuckDB backend's suite (the conformance kit on
                               a third-party backend) and the model layer's tests on the oldest
                               supported pydantic (in .venv-compat); extra arguments go to the
                               main pytest run only, and skip the other two

Both create ``.venv`` on first use and reinstall when ``pyproject.toml`` changes.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


#: The extras the test suite needs: every backend, sync and async.
TEST_EXTRAS = "dev,postgres,mysql,async,mysql-async"


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project with ``extras`` unless already current."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'core'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extras}]" if extras else "."
    print(f"installing {target} into {VENV} ...", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target],
        cwd=ROOT, check=True,
    )
    stamp.write_text(digest)


def ensure_example(path: Path) -> None:
    """Install the example backend package at ``path`` into .venv unless already current."""
    stamp = VENV / f".installed-{path.name}"
    digest = hashlib.sha256((path / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"installing {path.relative_to(ROOT)} into {VENV} ...", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", str(path)],
        cwd=ROOT, check=True,
    )
    stamp.write_text(digest)


def test_example_backend() -> int:
    """Run the DuckDB example's own suite: the conformance kit on a third-party backend."""
    path = ROOT / "examples" / "duckdb-backend"
    ensure_example(path)
    env = {k: v for k, v in os.environ.items() if k != "RHOSOCIAL_TEST_BACKENDS"}
    print(f"\n== {path.relative_to(ROOT)}: conformance kit on DuckDB ==", flush=True)
    return subprocess.call([str(PYTHON), "-m", "pytest", "-q"], cwd=path, env=env)


#: The oldest pydantic the package declares support for; the model layer uses
#: some pydantic internals, so the full test run checks this floor too.
OLDEST_PYDANTIC = "2.6.4"
COMPAT_VENV = ROOT / ".venv-compat"


def test_oldest_pydantic() -> int:
    """Run the model, query and relation tests on SQLite with the oldest supported pydantic."""
    python = COMPAT_VENV / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")
    stamp = COMPAT_VENV / ".installed"
    packages = [f"pydantic=={OLDEST_PYDANTIC}", "pytest", "hypothesis>=6.100", "-e", ".[async]"]
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + " ".join(packages).encode()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        print(f"installing pydantic=={OLDEST_PYDANTIC} into {COMPAT_VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(COMPAT_VENV)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
            cwd=ROOT, check=True,
        )
        stamp.write_text(digest)
    print(f"\n== model layer on the oldest supported pydantic ({OLDEST_PYDANTIC}), SQLite ==", flush=True)
    suites = [f"tests/rhosocial/activerecord/{name}" for name in ("model", "query", "relation")]
    env = {**os.environ, "RHOSOCIAL_TEST_BACKENDS": "sqlite"}
    return subprocess.call([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *suites,
                            "tests/rhosocial/activerecord/test_docs.py"], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    task, rest = argv[0], argv[1:]
    if task == "demo":
        ensure_venv("")
        return subprocess.call([str(PYTHON), str(ROOT / "examples" / "demo.py"), *rest], cwd=ROOT)
    ensure_venv(TEST_EXTRAS)
    ensure_example(ROOT / "examples" / "duckdb-backend")  # before the main run: its check --coverage test uses it
    code = subprocess.call([str(PYTHON), "-m", "pytest", *rest], cwd=ROOT)
    if rest:
        return 0 if code == 5 else code
    example = test_example_backend()
    compat = test_oldest_pydantic()
    return code or example or compat


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
