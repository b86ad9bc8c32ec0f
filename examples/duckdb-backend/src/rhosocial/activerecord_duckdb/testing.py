"""The DuckDB test provider: a new database file per test, for the conformance kit."""
from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

from rhosocial.activerecord.testing import BackendProvider

from .backend import DuckDBBackend


class DuckDBProvider(BackendProvider):
    """Each test gets its own database file; backends made within one test share it."""

    name = "duckdb"

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._counter = itertools.count(1)
        self._path: Path | None = None

    def setup_session(self) -> None:
        """Make the session's temporary directory."""
        self._dir = Path(tempfile.mkdtemp(prefix="rhosocial-duckdb-"))

    def create_backend(self) -> DuckDBBackend:
        """Return a backend on this test's database file."""
        if self._dir is None:
            self.setup_session()
        assert self._dir is not None
        if self._path is None:
            self._path = self._dir / f"test-{next(self._counter)}.duckdb"
        return DuckDBBackend(database=str(self._path))

    def reset(self, backend: DuckDBBackend) -> None:  # type: ignore[override]
        """Close the backend and delete the test's database file."""
        backend.disconnect()
        path, self._path = self._path, None
        for leftover in (path, path and path.with_name(path.name + ".wal")):
            if leftover is not None and leftover.exists():
                leftover.unlink()

    def teardown_session(self) -> None:
        """Remove the session's temporary directory."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
