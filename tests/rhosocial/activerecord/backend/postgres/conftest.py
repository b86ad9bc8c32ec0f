"""Fixtures for PostgreSQL-specific tests on a real server.

They use the ``postgres`` test provider (a private schema for the session)
and skip when the server is unreachable, or fail under ``CI=true``, as the
shared ``backend`` fixture does. ``RHOSOCIAL_TEST_BACKENDS`` without
``postgres`` skips them.
"""

from __future__ import annotations

import pytest

from rhosocial.activerecord.testing.plugin import prepared_provider


@pytest.fixture(scope="session")
def pg_provider(request):
    """The PostgreSQL provider, prepared once for these tests."""
    yield from prepared_provider("postgres", request.config)


@pytest.fixture
def pg(pg_provider):
    """A connected PostgreSQL backend on an empty schema."""
    backend = pg_provider.create_backend()
    backend.connect()
    try:
        yield backend
    finally:
        pg_provider.reset(backend)


@pytest.fixture
def make_pg(pg_provider, pg):
    """Make more connections to the same schema, with backend settings (``lock_timeout=1``)."""

    def make(**options):
        backend = pg_provider.create_backend(**options)
        backend.connect()
        return backend

    return make


@pytest.fixture
def server_url(pg_provider):
    """The server URL the provider logs in with."""
    return pg_provider.url
