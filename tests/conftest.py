"""Shared fixtures: ``backend`` runs a test once per configured database.

``provider``, ``backend`` and ``backend_factory`` come from the conformance
kit's plugin; which databases is set by ``RHOSOCIAL_TEST_BACKENDS`` (default:
the ``rhosocial_backends`` setting in pyproject.toml, the built-in ones). A
server that cannot be reached skips its tests with a hint, except under
``CI=true``, where it fails the run.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["rhosocial.activerecord.testing.plugin"]


@pytest.fixture
def sqlite_backend(tmp_path):
    """A SQLite backend on a file, for SQLite-specific tests."""
    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

    b = SQLiteBackend(database=str(tmp_path / "sqlite-only.db"))
    b.connect()
    yield b
    b.disconnect()


@pytest.fixture
def bind(backend):
    """Return ``bind(*models)``: make ``backend`` the default and create the models' tables."""

    def bind(*models):
        from rhosocial.activerecord import configure

        configure(backend)
        for model in models:
            model.create_table()
        return backend

    return bind
