"""SQLite-only error behaviour: locking between connections and SQLite's error names.

Lock timeouts need two connections to one file, which only a file-based
SQLite shows this way; servers time out on row locks instead.
"""
from __future__ import annotations

import sqlite3
import sys
import time

import pytest

from rhosocial.activerecord.backend import (
    ColumnDef,
    DatabaseType,
    LockTimeoutError,
    NotNullViolationError,
    NotSupportedError,
    ProgrammingError,
    ReadOnlyError,
    UniqueViolationError,
)
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend


@pytest.fixture
def pair(tmp_path):
    # The rollback journal: there an exclusive lock keeps even readers (and new connections) out.
    path = str(tmp_path / "locks.db")
    first = SQLiteBackend(database=path, timeout=0.1, wal=False)
    second = SQLiteBackend(database=path, timeout=0.1, wal=False)
    first.create_table("t", [ColumnDef("x", DatabaseType.INTEGER, unique=True, nullable=False)])
    yield first, second
    first.disconnect()
    second.disconnect()


def test_lock_timeout_from_a_second_connection(pair):
    first, second = pair
    first.begin_transaction(mode="IMMEDIATE")
    first.execute("INSERT INTO t (x) VALUES (?)", [1])
    started = time.perf_counter()
    with pytest.raises(LockTimeoutError) as info:
        second.execute("INSERT INTO t (x) VALUES (?)", [2])
    assert time.perf_counter() - started < 2
    assert info.value.code == "SQLITE_BUSY"
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    first.commit_transaction()
    second.execute("INSERT INTO t (x) VALUES (?)", [2])
    assert second.execute("SELECT x FROM t ORDER BY x").rows == [(1,), (2,)]


def test_lock_timeout_on_begin_immediate(pair):
    first, second = pair
    second.connect()
    first.begin_transaction(mode="EXCLUSIVE")
    with pytest.raises(LockTimeoutError):
        second.begin_transaction(mode="IMMEDIATE")
    assert second.in_transaction is False
    first.rollback_transaction()
    with second.transaction(mode="IMMEDIATE"):
        second.execute("INSERT INTO t (x) VALUES (?)", [3])


def test_connecting_to_a_locked_file_is_a_lock_timeout(pair):
    first, second = pair
    first.begin_transaction(mode="EXCLUSIVE")
    with pytest.raises(LockTimeoutError) as info:
        second.connect()
    assert info.value.code == "SQLITE_BUSY"
    assert second.is_connected() is False
    first.commit_transaction()
    assert second.fetch_value("SELECT COUNT(*) FROM t") == 0


def test_unknown_transaction_mode_and_option(sqlite_backend):
    with pytest.raises(NotSupportedError):
        sqlite_backend.begin_transaction(mode="LAZY")
    with pytest.raises(TypeError):
        sqlite_backend.begin_transaction(colour="blue")
    assert sqlite_backend.in_transaction is False


@pytest.mark.parametrize("statement, params, cls, code", [
    ("INSERT INTO t (x) VALUES (?)", [1], UniqueViolationError, "SQLITE_CONSTRAINT_UNIQUE"),
    ("INSERT INTO t (x) VALUES (?)", [None], NotNullViolationError, "SQLITE_CONSTRAINT_NOTNULL"),
    ("SELECT * FROM missing", None, ProgrammingError, "SQLITE_ERROR"),
])
def test_code_is_the_sqlite_error_name(pair, statement, params, cls, code):
    first, _ = pair
    first.execute("INSERT INTO t (x) VALUES (?)", [1])
    with pytest.raises(cls) as info:
        first.execute(statement, params)
    assert info.value.code == code == info.value.original.sqlite_errorname
    assert f"[{code}]" in str(info.value)


def test_read_only_file(tmp_path):
    path = tmp_path / "ro.db"
    SQLiteBackend(database=str(path)).execute("CREATE TABLE t (x INTEGER)")
    reader = SQLiteBackend(database=f"file:{path}?mode=ro")
    with pytest.raises(ReadOnlyError) as info:
        reader.execute("INSERT INTO t (x) VALUES (1)")
    assert info.value.code == "SQLITE_READONLY"
    reader.disconnect()


@pytest.mark.xfail(sys.version_info < (3, 12), strict=True,
                   reason="sqlite3 can turn off double-quoted string literals only from Python 3.12")
def test_mistyped_quoted_column_is_an_error_not_a_string(sqlite_backend):
    # SQLite's legacy rule reads "typo" as the string 'typo' when no column has that name,
    # which would silently turn a mistyped column into a constant.
    sqlite_backend.execute('CREATE TABLE t ("name" TEXT)')
    sqlite_backend.execute('INSERT INTO t ("name") VALUES (?)', ["ada"])
    with pytest.raises(ProgrammingError):
        sqlite_backend.execute('SELECT * FROM t WHERE "nmae" = ?', ["nmae"])


ENDLESS = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"


def test_command_timeout_interrupts_a_runaway_query_and_keeps_the_database():
    """SQLite runs in-process: the watchdog interrupts the call, and the connection lives on."""
    from rhosocial.activerecord.backend import ConnectionLostError, QueryTimeoutError

    b = SQLiteBackend(database=":memory:", command_timeout=0.5)
    b.create_table("t", [ColumnDef("x", DatabaseType.INTEGER)])
    b.execute("INSERT INTO t (x) VALUES (?)", [1])
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as info:
        b.execute(ENDLESS)
    assert time.monotonic() - started < 0.5 + 1
    assert info.value.code == "SQLITE_INTERRUPT"
    assert not isinstance(info.value, ConnectionLostError)
    assert b.fetch_value("SELECT x FROM t") == 1  # the in-memory database was not dropped
    with pytest.raises(QueryTimeoutError), b.transaction(command_timeout=0.2):
        b.execute("INSERT INTO t (x) VALUES (?)", [2])
        b.execute(ENDLESS)
    assert b.fetch_value("SELECT count(*) FROM t") == 1  # the transaction was rolled back
    b.disconnect()
