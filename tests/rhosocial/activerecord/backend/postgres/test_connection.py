"""Connecting to PostgreSQL: configuration, failures that say why, session settings.

PostgreSQL-only: the settings (sslmode, search_path, TimeZone) and the
failure diagnosis are specific to libpq and the PostgreSQL server.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from rhosocial.activerecord.backend import (
    ConfigurationError,
    ConnectionConfig,
    ConnectionError,
    IsolationLevel,
    create_backend,
)
from rhosocial.activerecord.backend.impl.postgres import PostgresBackend

# For the tests that build a backend without a server: construction needs the driver.
needs_psycopg = pytest.mark.skipif(
    importlib.util.find_spec("psycopg") is None, reason="psycopg is not installed"
)


def with_url(url: str, **parts: str | None) -> str:
    """Return ``url`` with its user, port or database replaced."""
    s = urlsplit(url)
    user = parts.get("user", s.username)
    host = s.hostname or "127.0.0.1"
    port = parts.get("port", s.port)
    netloc = (f"{user}@" if user else "") + host + (f":{port}" if port else "")
    path = "/" + parts["database"] if "database" in parts else s.path
    return urlunsplit((s.scheme, netloc, path, s.query, ""))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_url_configuration(server_url):
    backend = create_backend("postgres", url=server_url)
    assert isinstance(backend, PostgresBackend)
    with backend:
        assert backend.fetch_value("SELECT current_database()") == urlsplit(server_url).path[1:]
    assert not backend.is_connected()


def test_alias_and_postgresql_scheme(server_url):
    backend = create_backend(
        "postgresql", url=server_url.replace("postgres://", "postgresql://", 1)
    )
    with backend:
        assert backend.fetch_value("SELECT 1") == 1


def test_keyword_configuration(server_url):
    cfg = ConnectionConfig.from_url(server_url)
    backend = PostgresBackend(
        host=cfg.host,
        port=cfg.port,
        user=cfg.user,
        password=cfg.password,
        database=cfg.database,
        application_name="kw-test",
        ssl_mode="disable",
        connect_timeout=3,
    )
    with backend:
        row = backend.fetch_one(
            "SELECT current_user AS u, current_setting('application_name') AS app, "
            "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl"
        )
    assert row == {"u": cfg.user or os.environ.get("USER"), "app": "kw-test", "ssl": False}


@needs_psycopg
def test_ssl_settings_reach_libpq():
    from_url = PostgresBackend(url="postgresql://u@h/db?sslmode=require", ssl_ca="/ca.pem")
    params = from_url._connect_params()
    assert params["sslmode"] == "require" and params["sslrootcert"] == "/ca.pem"
    from_dict = PostgresBackend(
        host="h", ssl={"mode": "verify-full", "cert": "/c.pem", "key": "/k"}
    )
    params = from_dict._connect_params()
    assert (params["sslmode"], params["sslcert"], params["sslkey"]) == (
        "verify-full",
        "/c.pem",
        "/k",
    )


def test_session_settings(make_pg, pg_provider):
    backend = make_pg(
        lock_timeout=1.5, statement_timeout="2min", search_path=[pg_provider.schema, "public"]
    )
    assert backend.fetch_value("SHOW TimeZone") == "UTC"
    assert backend.fetch_value("SHOW lock_timeout") == "1500ms"
    assert backend.fetch_value("SHOW statement_timeout") == "2min"
    assert backend.fetch_value("SELECT current_schema()") == pg_provider.schema
    # Autocommit: a statement outside a transaction is visible to others at once.
    assert backend.fetch_value("SHOW transaction_isolation") == "read committed"
    with backend.connection() as connection:
        assert connection.autocommit is True


@needs_psycopg
def test_unknown_setting_is_rejected():
    with pytest.raises(ConfigurationError, match="wal"):
        PostgresBackend(host="127.0.0.1", wal=True)


@needs_psycopg
@pytest.mark.parametrize("value", [-1, "soon", True])
def test_bad_timeout_is_rejected(value):
    with pytest.raises(ConfigurationError):
        PostgresBackend(host="127.0.0.1", lock_timeout=value)


def test_unknown_role_says_authentication(server_url):
    backend = create_backend("postgres", url=with_url(server_url, user="rhosocial_no_such_role"))
    with pytest.raises(ConnectionError) as info:
        backend.connect()
    assert "authentication failed" in str(info.value)
    assert "rhosocial_no_such_role" in str(info.value)
    assert info.value.code.startswith("28")
    assert not backend.is_connected()


def test_unknown_database_says_so(server_url):
    backend = create_backend("postgres", url=with_url(server_url, database="rhosocial_no_such_db"))
    with pytest.raises(ConnectionError) as info:
        backend.connect()
    assert "database 'rhosocial_no_such_db' does not exist" in str(info.value)
    assert info.value.code == "3D000"


def test_unreachable_port_says_unreachable(server_url):
    backend = create_backend(
        "postgres", url=with_url(server_url, port=str(free_port())), connect_timeout=2
    )
    with pytest.raises(ConnectionError) as info:
        backend.connect()
    assert "unreachable" in str(info.value)
    assert info.value.code == "08001"
    # Statements try to connect too, with the same error.
    with pytest.raises(ConnectionError):
        backend.execute("SELECT 1")


def test_capabilities_follow_the_server(pg):
    caps = pg.capabilities
    with pg.connection() as connection:
        assert caps.server_version[0] == connection.info.server_version // 10000 >= 10
    assert caps.supports_returning and caps.supports_savepoints and caps.supports_upsert
    assert caps.supports_for_update and caps.supports_skip_locked and caps.supports_arrays
    assert caps.supports_native_uuid and caps.supports_native_decimal
    assert caps.supports_timezone_aware_datetime and not caps.supports_nul_in_text
    assert caps.supports_lock_timeout and caps.supports_statement_timeout
    assert caps.supports_read_only_transactions
    assert caps.isolation_levels == frozenset(IsolationLevel)
    assert caps.max_identifier_length == 63


def test_missing_driver_names_the_extra():
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from rhosocial.activerecord.backend import create_backend, DriverNotInstalledError\n"
        "import rhosocial.activerecord.backend.impl.postgres as pkg\n"
        "try:\n"
        "    create_backend('postgres', host='127.0.0.1')\n"
        "except DriverNotInstalledError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert 'pip install "rhosocial-activerecord[postgres]"' in out.stdout


def test_ping_and_reconnect(pg):
    assert pg.ping() is True
    pg.disconnect()
    assert pg.ping() is False
    assert pg.ping(reconnect=True) is True and pg.is_connected()
