"""Helpers for migration tests: migration files in a temporary directory, the test database as a URL."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

# The kit's helper: the same files third-party backends' runs use.
from rhosocial.activerecord.testing.conformance.migrations import write as write_migration  # noqa: F401


def url_of(backend) -> str:
    """A URL that reaches the test's own database (its schema or file), for another process."""
    c = backend.config
    if backend.name == "sqlite":
        return f"sqlite:///{c.database}"
    scheme = {"postgres": "postgresql", "mysql": "mysql"}[backend.name]
    auth = quote(c.user or "") + (f":{quote(c.password)}" if c.password else "") + ("@" if c.user else "")
    options = {k: v for k, v in c.options.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    query = f"?{urlencode(options)}" if options else ""
    return f"{scheme}://{auth}{c.host or '127.0.0.1'}:{c.port or ''}/{c.database or ''}{query}"


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the command line (``python -m rhosocial.activerecord ARGS``) in ``cwd``, in this process.

    The same ``main()`` the module runs; in-process because a Python start costs
    a second here. Only the two-process test starts real processes.
    """
    import contextlib
    import io

    from rhosocial.activerecord.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = {k: os.environ.get(k) for k in ("DATABASE_URL", *(env or {}))}
    saved_cwd, saved_path = os.getcwd(), list(sys.path)
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(env or {})
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse's usage errors
                code = int(exit_.code or 0)
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return subprocess.CompletedProcess(["rhosocial.activerecord", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def migrations_dir(tmp_path) -> Path:
    return tmp_path / "migrations"
