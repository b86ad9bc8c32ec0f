"""Connecting to MySQL/MariaDB: configuration, login failures, session settings."""
from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys

import pytest

from rhosocial.activerecord.backend import (
    ConnectionConfig,
    ConnectionError,
    DatabaseType,
    create_backend,
)
from rhosocial.activerecord.backend.impl.mysql import MySQLBackend


def _config(server_url, **changes):
    config = ConnectionConfig.from_url(server_url)
    for key, value in changes.items():
        setattr(config, key, value)
    return config


def test_url_config_with_mysql_and_mariadb_schemes(mysql_provider):
    config = ConnectionConfig.from_url(mysql_provider.url)
    for scheme in ("mysql", "mariadb"):
        url = f"{scheme}://{config.user or 'root'}"
        url += f":{config.password}" if config.password else ""
        url += f"@{config.host}:{config.port or 3306}/{mysql_provider.database}"
        backend = create_backend(scheme, url=url)
        try:
            assert isinstance(backend, MySQLBackend)
            assert backend.fetch_value("SELECT DATABASE()") == mysql_provider.database
        finally:
            backend.disconnect()


def test_keyword_config(mysql_provider):
    config = ConnectionConfig.from_url(mysql_provider.url)
    backend = MySQLBackend(host=config.host, port=config.port or 3306, user=config.user,
                           password=config.password, database=mysql_provider.database,
                           connect_timeout=3)
    with backend:
        assert backend.fetch_value("SELECT DATABASE()") == mysql_provider.database


def test_wrong_password_says_access_denied(server_url):
    backend = MySQLBackend(_config(server_url, user="rhosocial_nobody", password="wrong"))
    with pytest.raises(ConnectionError) as info:
        backend.connect()
    assert info.value.code == 1045
    assert "access denied" in str(info.value)
    assert not backend.is_connected()


def test_unknown_database_says_so(server_url):
    backend = MySQLBackend(_config(server_url, database="rhosocial_no_such_db"))
    with pytest.raises(ConnectionError) as info:
        backend.connect()
    assert info.value.code == 1049
    assert "unknown database" in str(info.value)


def test_unreachable_port_says_cannot_reach(server_url):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = _config(server_url, host="127.0.0.1", port=port)
    config.options["connect_timeout"] = 2
    backend = MySQLBackend(config)
    with pytest.raises(ConnectionError) as info:
        backend.connect()
    assert info.value.code == 2003
    assert "cannot reach the server" in str(info.value)
    assert f":{port}" in str(info.value)


def test_session_settings(mysql):
    row = mysql.fetch_one(
        "SELECT @@session.time_zone AS tz, @@session.sql_mode AS mode, @@autocommit AS ac, "
        "@@character_set_client AS cs, @@character_set_results AS rs, "
        "@@collation_connection AS coll"
    )
    assert row["tz"] == "+00:00"
    modes = row["mode"].split(",")
    assert "STRICT_ALL_TABLES" in modes and "ANSI_QUOTES" not in modes
    assert row["ac"] == 1
    assert row["cs"] == row["rs"] == "utf8mb4"
    assert row["coll"] == mysql.dialect.collation


def test_lock_and_statement_timeouts_apply_at_connect(make_mysql):
    backend = make_mysql(lock_timeout=3, statement_timeout=2.5)
    assert backend.fetch_value("SELECT @@session.innodb_lock_wait_timeout") == 3
    if backend.is_mariadb:
        assert float(backend.fetch_value("SELECT @@session.max_statement_time")) == 2.5
    else:
        assert backend.fetch_value("SELECT @@session.max_execution_time") == 2500


def test_capabilities_follow_the_server(mysql):
    caps = mysql.capabilities
    version = mysql.fetch_value("SELECT VERSION()")
    assert ("mariadb" in version.lower()) == mysql.is_mariadb
    assert caps.server_version == tuple(int(p) for p in version.split("-")[0].split(".")[:3])
    assert caps.supports_returning == (mysql.is_mariadb and caps.server_version >= (10, 5))
    assert caps.supports_savepoints and caps.supports_read_only_transactions
    assert caps.supports_for_update and caps.supports_nul_in_text
    assert caps.max_identifier_length == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.supports_returning = False  # type: ignore[misc]


def test_returning_matches_the_capability(mysql):
    mysql.create_table("r", {"id": {"db_type": DatabaseType.INTEGER, "primary_key": True,
                                        "autoincrement": True},
                             "name": DatabaseType.VARCHAR})
    q = mysql.dialect.quote_identifier
    if not mysql.capabilities.supports_returning:
        pytest.skip("server has no INSERT ... RETURNING (MySQL, or MariaDB < 10.5)")
    result = mysql.execute(mysql.dialect.insert_sql("r", ["name"], returning=["id", "name"]), ["x"])
    assert result.rows == [(1, "x")]
    deleted = mysql.execute(f"DELETE FROM {q('r')} WHERE {q('id')} = %s RETURNING {q('name')}", [1])
    assert deleted.rows == [("x",)]


def test_reconnects_after_disconnect(mysql):
    first = mysql.connection_id()
    mysql.disconnect()
    assert mysql.connection_id() != first


def test_missing_driver_raises_with_install_hint():
    code = (
        "import sys; sys.modules['pymysql'] = None\n"
        "from rhosocial.activerecord.backend.impl.mysql import MySQLBackend\n"
        "from rhosocial.activerecord.backend import DriverNotInstalledError\n"
        "try:\n    MySQLBackend(host='127.0.0.1')\n"
        "except DriverNotInstalledError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "rhosocial-activerecord[mysql]"' in out.stdout


def test_ssl_settings_from_url(mysql_provider):
    from rhosocial.activerecord.backend import ConfigurationError

    config = ConnectionConfig.from_url(mysql_provider.url)
    base = f"mysql://{config.user or 'root'}@{config.host}:{config.port or 3306}/{mysql_provider.database}"
    with MySQLBackend(url=base + "?ssl-mode=DISABLED") as backend:
        assert backend.fetch_value("SELECT 1") == 1
    with pytest.raises(ConfigurationError, match="bogus"):
        MySQLBackend(url=base + "?ssl_bogus=1").connect()


def test_unknown_settings_are_refused_not_ignored():
    from rhosocial.activerecord.backend import ConfigurationError
    from rhosocial.activerecord.backend.impl.mysql import MySQLBackend

    with pytest.raises(ConfigurationError, match="lock_timout"):
        MySQLBackend(host="127.0.0.1", lock_timout=5)
