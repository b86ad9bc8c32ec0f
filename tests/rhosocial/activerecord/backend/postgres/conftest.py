"""Fixtures for PostgreSQL-specific tests on a real server.

They use the ``postgres`` test provider (a private schema for the session)
and skip when the server is unreachable, or fail under ``CI=true``, as the
shared ``backend`` fixture does. ``RHOSOCIAL_TEST_BACKENDS`` without
``postgres`` skips them.
"""

from __future__ import annotations

import os

import pytest

from rhosocial.activerecord.testing import ProviderUnavailable, get_provider, provider_names

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_provider():
    """The PostgreSQL provider, prepared once for these tests."""
    if "postgres" not in provider_names():
        pytest.skip("postgres is not in RHOSOCIAL_TEST_BACKENDS")
    provider = get_provider("postgres")
    try:
        provider.setup_session()
    except ProviderUnavailable as exc:
        if IN_CI:
            pytest.fail(f"postgres is required under CI but unavailable: {exc}", pytrace=False)
        pytest.skip(f"postgres unavailable: {exc}")
    yield provider
    provider.teardown_session()


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
