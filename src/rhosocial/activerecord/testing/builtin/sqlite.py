"""SQLite provider: a new database file per test in a session temp directory."""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile

from ...backend.base import StorageBackend
from ...backend.impl.sqlite import SQLiteBackend
from ..provider import BackendProvider, register_provider


class SQLiteProvider(BackendProvider):
    """Each test gets its own database file; backends made within one test share it."""

    name = "sqlite"

    def __init__(self) -> None:
        self._dir: str | None = None
        self._counter = itertools.count(1)
        self._path: str | None = None

    def setup_session(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="rhosocial-sqlite-")

    def create_backend(self) -> SQLiteBackend:
        if self._dir is None:
            self.setup_session()
        assert self._dir is not None
        if self._path is None:
            self._path = os.path.join(self._dir, f"test-{next(self._counter)}.db")
        return SQLiteBackend(database=self._path)

    def reset(self, backend: StorageBackend) -> None:
        backend.disconnect()
        path, self._path = self._path, None
        for suffix in ("", "-wal", "-shm", "-journal"):
            if path and os.path.exists(path + suffix):
                os.remove(path + suffix)

    def teardown_session(self) -> None:
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


register_provider("sqlite", SQLiteProvider)
