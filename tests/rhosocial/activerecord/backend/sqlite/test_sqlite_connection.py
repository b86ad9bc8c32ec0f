"""SQLite-only connection behaviour: files, settings and URLs SQLite alone has."""
from __future__ import annotations

import sqlite3

import pytest

from rhosocial.activerecord.backend import (
    ColumnDef,
    ConfigurationError,
    ConnectionError,
    DatabaseType,
    create_backend,
)
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "not-a.db"
    path.write_bytes(b"this is plainly not an SQLite database file" * 100)
    b = SQLiteBackend(database=str(path))
    with pytest.raises(ConnectionError) as info:
        b.connect()
    assert info.value.code == "SQLITE_NOTADB"
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert b.is_connected() is False


def test_a_directory_that_does_not_exist(tmp_path):
    b = SQLiteBackend(database=str(tmp_path / "missing" / "x.db"))
    with pytest.raises(ConnectionError) as info:
        b.execute("SELECT 1")
    assert info.value.code == "SQLITE_CANTOPEN"
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("timeout", ["soon", None, [1]])
def test_bad_timeout(timeout):
    with pytest.raises(ConfigurationError, match="timeout"):
        SQLiteBackend(database=":memory:", timeout=timeout)


@pytest.mark.parametrize("mode", ["LAZY", "DEFERRED; DROP TABLE x", ""])
def test_bad_transaction_mode(mode):
    with pytest.raises(ConfigurationError, match="transaction_mode"):
        SQLiteBackend(database=":memory:", transaction_mode=mode)


def test_transaction_mode_is_case_insensitive(tmp_path):
    b = SQLiteBackend(database=str(tmp_path / "m.db"), transaction_mode="immediate")
    with b.capture_statements() as captured, b.transaction():
        b.execute("SELECT 1")
    assert "BEGIN IMMEDIATE" in captured
    b.disconnect()


def test_memory_is_the_default_and_private():
    a, b = SQLiteBackend(), SQLiteBackend(database=":memory:")
    assert a.config.database == ":memory:"
    a.create_table("only_in_a", [ColumnDef("x", DatabaseType.INTEGER)])
    assert not b.table_exists("only_in_a")
    assert a.capabilities.supports_multiple_connections is False
    a.disconnect()
    b.disconnect()


def test_url_options_reach_the_connection(tmp_path):
    path = tmp_path / "wal.db"
    b = create_backend("sqlite", url=f"sqlite:///{path}?timeout=2.5&wal=true")
    assert b.config.database == str(path)
    assert b._timeout == 2.5
    assert b.fetch_value("PRAGMA journal_mode") == "wal"
    assert b.capabilities.supports_multiple_connections is True
    b.disconnect()


def test_foreign_keys_are_on_unless_turned_off(tmp_path):
    on = SQLiteBackend(database=str(tmp_path / "fk.db"))
    off = SQLiteBackend(database=str(tmp_path / "fk.db"), foreign_keys="off")
    assert on.fetch_value("PRAGMA foreign_keys") == 1
    assert off.fetch_value("PRAGMA foreign_keys") == 0
    on.disconnect()
    off.disconnect()


def test_file_uri(tmp_path):
    path = tmp_path / "uri.db"
    writer = SQLiteBackend(database=str(path))
    writer.create_table("t", [ColumnDef("x", DatabaseType.INTEGER)])
    writer.disconnect()
    reader = SQLiteBackend(database=f"file:{path}?mode=ro")
    assert reader.table_exists("t")
    reader.disconnect()


def test_check_same_thread_option(tmp_path):
    import threading

    b = SQLiteBackend(database=str(tmp_path / "t.db"), check_same_thread="false")
    b.connect()
    results = []
    thread = threading.Thread(target=lambda: results.append(b.fetch_value("SELECT 5")))
    thread.start()
    thread.join()
    assert results == [5]
    b.disconnect()


@pytest.mark.parametrize("setting", ["statement_timeout", "lock_timeout"])
def test_a_timeout_sqlite_cannot_enforce_is_refused_with_what_to_use(setting):
    from rhosocial.activerecord.backend import NotSupportedError

    with pytest.raises(NotSupportedError, match="timeout"):
        SQLiteBackend(database=":memory:", **{setting: 1})


def test_unknown_settings_are_refused_not_ignored():
    with pytest.raises(ConfigurationError, match="wall") as info:
        SQLiteBackend(database=":memory:", wall=True)  # a typo of wal
    assert "wal" in str(info.value) and "pool_size" in str(info.value)
    with pytest.raises(ConfigurationError, match="check_same_thread"):
        SQLiteBackend(database=":memory:", check_same_thread=True)


def test_closing_a_cursor_of_an_async_connection_keeps_the_connection(tmp_path):
    """A cursor's close() on a threaded connection once ended the connection's thread: the next
    call waited forever (aexecute_many closes its cursor)."""
    import asyncio

    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

    backend = SQLiteBackend(database=str(tmp_path / "async-cursor.db"))

    async def work():
        await backend.aexecute('CREATE TABLE "t" ("n" INTEGER)')
        await backend.aexecute_many('INSERT INTO "t" ("n") VALUES (?)', [(1,), (2,)])
        await backend.aexecute_many('INSERT INTO "t" ("n") VALUES (?)', [(3,)])
        return await backend.afetch_all('SELECT "n" FROM "t" ORDER BY "n"')

    import threading

    out: list = []
    runner = threading.Thread(target=lambda: out.append(asyncio.run(work())), daemon=True)
    runner.start()
    runner.join(20)  # a deadline: the hang blocked the event loop itself
    hung = runner.is_alive()
    if not hung:
        backend.disconnect()
    assert not hung, "aexecute_many() left the connection's thread stopped"
    assert [r["n"] for r in out[0]] == [1, 2, 3]
