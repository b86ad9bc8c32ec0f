"""Shared fixtures: ``backend`` runs a test once per configured database.

Which databases: ``RHOSOCIAL_TEST_BACKENDS`` (default: all built-in ones).
A server that cannot be reached skips its tests with a hint, except under
``CI=true``, where it fails the run.
"""
from __future__ import annotations

import os

import pytest

from rhosocial.activerecord.testing import ProviderUnavailable, get_provider, provider_names

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session", params=provider_names())
def provider(request):
    """A backend provider prepared for this session."""
    p = get_provider(request.param)
    try:
        p.setup_session()
    except ProviderUnavailable as exc:
        if IN_CI:
            pytest.fail(f"{request.param} is required under CI but unavailable: {exc}", pytrace=False)
        pytest.skip(f"{request.param} unavailable: {exc}")
    yield p
    p.teardown_session()


@pytest.fixture
def backend(provider):
    """A fresh, connected backend on an empty database."""
    b = provider.create_backend()
    b.connect()
    try:
        yield b
    finally:
        provider.reset(b)


@pytest.fixture
def backend_factory(provider):
    """Make more backends on the same database (for tests that need two connections)."""
    made = []

    def make():
        b = provider.create_backend()
        made.append(b)
        return b

    yield make
    for b in made:
        b.disconnect()


@pytest.fixture
def sqlite_backend(tmp_path):
    """A SQLite backend on a file, for SQLite-specific tests."""
    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

    b = SQLiteBackend(database=str(tmp_path / "sqlite-only.db"))
    b.connect()
    yield b
    b.disconnect()
