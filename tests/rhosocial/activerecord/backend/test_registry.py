"""The backend registry: names, aliases, lazy "module:Class" targets, clear failures.

These tests use the SQLite backend because it needs no server; the registry
itself is the same for every backend.
"""
from __future__ import annotations

import pytest

from rhosocial.activerecord import register_backend as top_level_register
from rhosocial.activerecord.backend import (
    BackendNotFoundError,
    ConfigurationError,
    available_backends,
    create_backend,
    get_backend_class,
    register_backend,
    registry,
)
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend


@pytest.fixture
def clean_registry(monkeypatch):
    """Let a test register names without leaking them into other tests."""
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))


def test_builtin_names_are_listed():
    names = available_backends()
    assert {"sqlite", "postgres", "mysql"} <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize("name", ["sqlite", "SQLite", "sqlite3"])
def test_names_and_aliases_resolve(name):
    assert get_backend_class(name) is SQLiteBackend


def test_create_backend_by_name(tmp_path):
    b = create_backend("sqlite", database=str(tmp_path / "r.db"))
    try:
        assert isinstance(b, SQLiteBackend)
        assert b.is_connected() is False
        assert b.fetch_value("SELECT 40 + 2") == 42
    finally:
        b.disconnect()


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(BackendNotFoundError) as info:
        create_backend("no-such-db", database="x")
    message = str(info.value)
    assert "no-such-db" in message
    for name in ("sqlite", "postgres", "mysql"):
        assert name in message
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("bad", [None, 42])
def test_non_string_name_is_a_configuration_error(bad):
    with pytest.raises(ConfigurationError):
        create_backend(bad)  # type: ignore[arg-type]


class MarkedSQLite(SQLiteBackend):
    """A "third-party" backend for registration tests."""

    name = "marked"


def test_register_a_class(clean_registry, tmp_path):
    register_backend("Marked", MarkedSQLite)
    assert "marked" in available_backends()
    b = create_backend("marked", database=str(tmp_path / "m.db"))
    try:
        assert type(b) is MarkedSQLite
        assert b.fetch_value("SELECT 1") == 1
    finally:
        b.disconnect()


def test_register_a_lazy_module_path(clean_registry):
    register_backend("lazy", f"{__name__}:MarkedSQLite")
    assert registry._registry["lazy"] == f"{__name__}:MarkedSQLite"
    assert get_backend_class("lazy") is MarkedSQLite
    # Resolved once, then cached as the class.
    assert registry._registry["lazy"] is MarkedSQLite


def test_top_level_register_is_the_same_function():
    assert top_level_register is register_backend


def test_lazy_path_to_a_missing_module_fails_clearly(clean_registry):
    register_backend("ghost", "no_such_module_abc.sub:Backend")
    with pytest.raises(BackendNotFoundError) as info:
        get_backend_class("ghost")
    assert "no_such_module_abc" in str(info.value)
    assert isinstance(info.value.__cause__, ImportError)


def test_lazy_path_to_a_missing_class_fails_clearly(clean_registry):
    register_backend("ghost2", f"{__name__}:NoSuchClass")
    with pytest.raises(BackendNotFoundError, match="NoSuchClass"):
        get_backend_class("ghost2")


@pytest.mark.parametrize("target", ["no_colon_here", 42, SQLiteBackend()])
def test_register_rejects_bad_targets(clean_registry, target):
    with pytest.raises(TypeError):
        register_backend("bad", target)


@pytest.mark.parametrize("name", ["", None])
def test_register_rejects_bad_names(clean_registry, name):
    with pytest.raises(ValueError):
        register_backend(name, SQLiteBackend)  # type: ignore[arg-type]
