"""Fixtures for MySQL/MariaDB-specific tests on a real server.

They use the ``mysql`` test provider (its own database for the session) and
skip when the server is unreachable, or fail under ``CI=true``, as the shared
``backend`` fixture does. ``RHOSOCIAL_TEST_BACKENDS`` without ``mysql`` skips them.
"""
from __future__ import annotations

import pytest

from rhosocial.activerecord.testing.plugin import prepared_provider


@pytest.fixture(scope="session")
def mysql_provider(request):
    """The MySQL provider, prepared once for these tests."""
    yield from prepared_provider("mysql", request.config)


@pytest.fixture
def mysql(mysql_provider):
    """A connected MySQL backend on an empty database."""
    backend = mysql_provider.create_backend()
    backend.connect()
    try:
        yield backend
    finally:
        mysql_provider.reset(backend)


@pytest.fixture
def make_mysql(mysql_provider, mysql):
    """Make more connections to the same database, with backend options (``lock_timeout=1``)."""

    def make(**options):
        backend = mysql_provider.create_backend(**options)
        backend.connect()
        return backend

    return make


@pytest.fixture
def server_url(mysql_provider):
    """The server URL the provider logs in with."""
    return mysql_provider.url
