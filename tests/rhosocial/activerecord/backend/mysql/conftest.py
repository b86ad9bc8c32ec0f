"""Fixtures for MySQL/MariaDB-specific tests on a real server.

They use the ``mysql`` test provider (its own database for the session) and
skip when the server is unreachable, or fail under ``CI=true``, as the shared
``backend`` fixture does. ``RHOSOCIAL_TEST_BACKENDS`` without ``mysql`` skips them.
"""
from __future__ import annotations

import os

import pytest

from rhosocial.activerecord.testing import ProviderUnavailable, get_provider, provider_names

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def mysql_provider():
    """The MySQL provider, prepared once for these tests."""
    if "mysql" not in provider_names():
        pytest.skip("mysql is not in RHOSOCIAL_TEST_BACKENDS")
    provider = get_provider("mysql")
    try:
        provider.setup_session()
    except ProviderUnavailable as exc:
        if IN_CI:
            pytest.fail(f"mysql is required under CI but unavailable: {exc}", pytrace=False)
        pytest.skip(f"mysql unavailable: {exc}")
    yield provider
    provider.teardown_session()


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
