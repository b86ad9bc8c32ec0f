"""Connection settings: ConnectionConfig parsing, configure() and the default backend.

``configure`` needs a concrete backend name; SQLite is used because it needs
no server. Backend-specific bad settings are tested with their backend
(sqlite/test_sqlite_connection.py).
"""
from __future__ import annotations

import pytest

from rhosocial.activerecord import config as config_module
from rhosocial.activerecord import configure, get_default_backend
from rhosocial.activerecord.backend import (
    BackendNotFoundError,
    ConfigurationError,
    ConnectionConfig,
)
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend


@pytest.fixture(autouse=True)
def no_default_backend(monkeypatch):
    """Each test starts and ends without a process-wide default backend."""
    monkeypatch.setattr(config_module, "_default_backend", None)
    yield
    current = config_module._default_backend
    if current is not None:
        current.disconnect()


def test_url_with_everything():
    cfg = ConnectionConfig.from_url(
        "postgresql://us%40er:p%3Ass@db.example:6543/my%20db?sslmode=require&application_name=t"
    )
    assert (cfg.host, cfg.port, cfg.database) == ("db.example", 6543, "my db")
    assert (cfg.user, cfg.password) == ("us@er", "p:ss")
    assert cfg.ssl == {"sslmode": "require"}
    assert cfg.options == {"application_name": "t"}


@pytest.mark.parametrize("url, database", [
    ("sqlite:///relative.db", "relative.db"),
    ("sqlite:////abs/path.db", "/abs/path.db"),
    ("sqlite:///:memory:", ":memory:"),
])
def test_sqlite_urls(url, database):
    assert ConnectionConfig.from_url(url).database == database


def test_url_without_scheme_is_rejected():
    with pytest.raises(ConfigurationError):
        ConnectionConfig.from_url("just-a-path.db")


def test_kwargs_split_into_fields_ssl_and_options():
    cfg = ConnectionConfig.from_kwargs(host="h", port="5432", ssl_ca="/ca.pem", timeout=3,
                                       options={"wal": True})
    assert cfg.port == 5432 and cfg.host == "h"
    assert cfg.ssl == {"ca": "/ca.pem"}
    assert cfg.options == {"timeout": 3, "wal": True}


def test_kwargs_override_url_parts():
    cfg = ConnectionConfig.from_kwargs(url="mysql://u:p@h:3306/a", database="b")
    assert (cfg.host, cfg.port, cfg.user, cfg.database) == ("h", 3306, "u", "b")


def test_bad_port_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="port"):
        ConnectionConfig.from_kwargs(port="not-a-number")


def test_describe_never_shows_the_password():
    cfg = ConnectionConfig.from_url("postgresql://alice:topsecret@db:5432/app")
    assert "topsecret" not in cfg.describe()
    assert cfg.describe() == "alice@db:5432/app"


def test_backend_rejects_config_and_kwargs_together():
    with pytest.raises(TypeError):
        SQLiteBackend(ConnectionConfig(database=":memory:"), timeout=1)


def test_configure_by_backend_name(tmp_path):
    b = configure(backend="sqlite", database=str(tmp_path / "c.db"))
    assert isinstance(b, SQLiteBackend)
    assert get_default_backend() is b
    assert b.fetch_value("SELECT 7") == 7
    assert (tmp_path / "c.db").exists()


def test_configure_by_url(tmp_path):
    path = tmp_path / "from-url.db"
    b = configure(url=f"sqlite:///{path}")
    assert isinstance(b, SQLiteBackend)
    assert b.config.database == str(path)
    b.execute("CREATE TABLE t (x INTEGER)")
    assert path.exists()


def test_configure_with_an_instance_and_replacing_disconnects_the_old(tmp_path):
    first = configure(backend="sqlite", database=str(tmp_path / "1.db"))
    first.connect()
    second = SQLiteBackend(database=str(tmp_path / "2.db"))
    assert configure(second) is second
    assert first.is_connected() is False
    assert get_default_backend() is second


def test_configure_instance_with_settings_is_rejected(tmp_path):
    with pytest.raises(ConfigurationError):
        configure(SQLiteBackend(database=str(tmp_path / "x.db")), database="y.db")


def test_configure_needs_a_backend_or_url():
    with pytest.raises(ConfigurationError):
        configure()


def test_configure_unknown_backend():
    with pytest.raises(BackendNotFoundError, match="sqlite"):
        configure(backend="nosuchdb")


def test_default_backend_before_configure_explains_itself():
    with pytest.raises(ConfigurationError, match="configure"):
        get_default_backend()
