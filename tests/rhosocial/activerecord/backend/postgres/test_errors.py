"""PostgreSQL errors provoked for real and translated by SQLSTATE.

PostgreSQL-only: the concurrency failures (deadlock, lock and statement
timeouts, serialization failures, a backend terminated by the server) need
a server with row locks, SSI and pg_terminate_backend.
"""

from __future__ import annotations

import threading
import time

import pytest

from rhosocial.activerecord.backend import (
    CheckViolationError,
    ColumnDef,
    ConnectionLostError,
    DatabaseType,
    DataError,
    DeadlockError,
    ForeignKeyViolationError,
    LockTimeoutError,
    NotNullViolationError,
    ProgrammingError,
    QueryTimeoutError,
    ReadOnlyError,
    SerializationError,
    TransactionError,
    UniqueViolationError,
)

psycopg = pytest.importorskip("psycopg")


def make_accounts(backend, rows=((1, 100), (2, 100))):
    backend.create_table(
        "accounts",
        [
            ColumnDef("id", DatabaseType.INTEGER, primary_key=True),
            ColumnDef("balance", DatabaseType.INTEGER, nullable=False, check="balance >= 0"),
        ],
    )
    backend.execute_many("INSERT INTO accounts (id, balance) VALUES ($1, $2)", rows)


def test_deadlock_between_two_threads(pg, make_pg):
    make_accounts(pg)
    first, second = make_pg(), make_pg()
    barrier = threading.Barrier(2, timeout=10)
    outcome: dict[str, BaseException | None] = {}

    def transfer(name, backend, a, b):
        try:
            with backend.transaction():
                backend.execute("UPDATE accounts SET balance = balance - 1 WHERE id = $1", [a])
                barrier.wait()
                backend.execute("UPDATE accounts SET balance = balance + 1 WHERE id = $1", [b])
            outcome[name] = None
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertions
            outcome[name] = exc

    threads = [
        threading.Thread(target=transfer, args=("one", first, 1, 2)),
        threading.Thread(target=transfer, args=("two", second, 2, 1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    errors = [e for e in outcome.values() if e is not None]
    assert len(errors) == 1, outcome
    assert isinstance(errors[0], DeadlockError) and errors[0].code == "40P01"
    assert isinstance(errors[0].__cause__, psycopg.errors.DeadlockDetected)
    # The survivor's transfer committed; the victim's was rolled back.
    assert sorted(pg.execute("SELECT balance FROM accounts").rows) == [(99,), (101,)]
    assert not first.in_transaction and not second.in_transaction


def test_for_update_waits_then_lock_timeout(pg, make_pg):
    make_accounts(pg)
    holder = make_pg()
    holder.begin_transaction()
    holder.execute("SELECT * FROM accounts WHERE id = 1 FOR UPDATE")
    waiter = make_pg(lock_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(LockTimeoutError) as info:
        waiter.execute("SELECT * FROM accounts WHERE id = 1 FOR UPDATE")
    assert 0.15 < time.monotonic() - started < 5
    assert info.value.code == "55P03"
    # Other rows are free, and SKIP LOCKED passes over the locked one.
    assert waiter.execute("SELECT id FROM accounts WHERE id = 2 FOR UPDATE").rows == [(2,)]
    assert waiter.execute("SELECT id FROM accounts ORDER BY id FOR UPDATE SKIP LOCKED").rows == [
        (2,)
    ]
    holder.rollback_transaction()
    assert waiter.execute("SELECT id FROM accounts WHERE id = 1 FOR UPDATE").rows == [(1,)]


def test_lock_timeout_for_one_transaction_only(pg, make_pg):
    make_accounts(pg)
    holder = make_pg()
    holder.begin_transaction()
    holder.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
    waiter = make_pg()
    with pytest.raises(LockTimeoutError):
        with waiter.transaction(lock_timeout="100ms"):
            assert waiter.fetch_value("SHOW lock_timeout") == "100ms"
            waiter.execute("UPDATE accounts SET balance = 1 WHERE id = 1")
    assert waiter.fetch_value("SHOW lock_timeout") == "0"
    holder.rollback_transaction()


def test_nowait_fails_at_once(pg, make_pg):
    make_accounts(pg)
    holder = make_pg()
    holder.begin_transaction()
    holder.execute("SELECT 1 FROM accounts WHERE id = 1 FOR UPDATE")
    with pytest.raises(LockTimeoutError):
        make_pg().execute("SELECT 1 FROM accounts WHERE id = 1 FOR UPDATE NOWAIT")
    holder.rollback_transaction()


def test_serialization_failure_under_serializable(pg, make_pg):
    make_accounts(pg)
    other = make_pg()
    with pytest.raises(SerializationError) as info:
        with pg.transaction("SERIALIZABLE"):
            assert pg.fetch_value("SELECT balance FROM accounts WHERE id = 1") == 100
            other.execute("UPDATE accounts SET balance = 50 WHERE id = 1")  # commits on its own
            pg.execute("UPDATE accounts SET balance = balance - 10 WHERE id = 1")
    assert info.value.code == "40001"
    assert not pg.in_transaction
    assert pg.fetch_value("SELECT balance FROM accounts WHERE id = 1") == 50


def test_write_skew_is_caught_at_commit(pg, make_pg):
    make_accounts(pg)
    other = make_pg()
    pg.begin_transaction("SERIALIZABLE")
    other.begin_transaction("SERIALIZABLE")
    pg.fetch_value("SELECT sum(balance) FROM accounts")
    other.fetch_value("SELECT sum(balance) FROM accounts")
    pg.execute("UPDATE accounts SET balance = balance - 100 WHERE id = 1")
    other.execute("UPDATE accounts SET balance = balance - 100 WHERE id = 2")
    pg.commit_transaction()
    with pytest.raises(SerializationError):
        other.commit_transaction()
    assert not other.in_transaction
    assert sorted(pg.execute("SELECT balance FROM accounts").rows) == [(0,), (100,)]


@pytest.mark.parametrize("timeout", [0.2, "200ms"])
def test_statement_timeout(make_pg, timeout):
    backend = make_pg(statement_timeout=timeout)
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as info:
        backend.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 3
    assert info.value.code == "57014"
    assert backend.fetch_value("SELECT 1") == 1  # the connection survives


def test_terminated_connection_loses_its_transaction_and_reconnects(pg, make_pg):
    make_accounts(pg, rows=())
    victim = make_pg()
    victim.begin_transaction()
    victim.execute("INSERT INTO accounts (id, balance) VALUES (1, 10)")
    pid = victim.fetch_value("SELECT pg_backend_pid()")
    assert pg.fetch_value("SELECT pg_terminate_backend($1)", [pid]) is True
    deadline = time.monotonic() + 10
    while pg.fetch_value("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid]):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(ConnectionLostError) as info:
        victim.execute("INSERT INTO accounts (id, balance) VALUES (2, 20)")
    assert info.value.original is not None
    # The transaction stays open, and gone, until its owner ends it: nothing more runs in it.
    assert victim.in_transaction
    with pytest.raises(TransactionError, match="transaction is gone"):
        victim.execute("INSERT INTO accounts (id, balance) VALUES (3, 30)")
    victim.rollback_transaction()  # no SQL: the connection is gone
    assert not victim.in_transaction
    stats = victim.pool.stats()
    assert (stats.open, stats.discarded) == (0, 1)  # the broken connection was not pooled again
    assert pg.fetch_value("SELECT count(*) FROM accounts") == 0
    # The next statement opens a new session.
    assert victim.fetch_value("SELECT pg_backend_pid()") != pid
    with pytest.raises(TransactionError):
        victim.commit_transaction()


def test_transaction_block_after_lost_connection(pg, make_pg):
    make_accounts(pg, rows=())
    victim = make_pg()
    with pytest.raises(ConnectionLostError):
        with victim.transaction():
            victim.execute("INSERT INTO accounts (id, balance) VALUES (1, 10)")
            pg.execute(
                "SELECT pg_terminate_backend($1)", [victim.fetch_value("SELECT pg_backend_pid()")]
            )
            time.sleep(0.2)
            victim.execute("SELECT 1")
    assert pg.fetch_value("SELECT count(*) FROM accounts") == 0
    assert victim.fetch_value("SELECT 1") == 1


@pytest.mark.parametrize(
    "statement, params, error, code",
    [
        (
            "INSERT INTO accounts (id, balance) VALUES ($1, $2)",
            [1, 5],
            UniqueViolationError,
            "23505",
        ),
        (
            "INSERT INTO accounts (id, balance) VALUES ($1, $2)",
            [3, None],
            NotNullViolationError,
            "23502",
        ),
        ("UPDATE accounts SET balance = $1 WHERE id = 1", [-1], CheckViolationError, "23514"),
        ("INSERT INTO transfers (account_id) VALUES ($1)", [99], ForeignKeyViolationError, "23503"),
        ("SELECT * FROM no_such_table", None, ProgrammingError, "42P01"),
        ("SELEC 1", None, ProgrammingError, "42601"),
        ("SELECT no_such_column FROM accounts", None, ProgrammingError, "42703"),
        ("SELECT 1 / 0", None, DataError, "22012"),
        ("SELECT $1::integer", ["abc"], DataError, "22P02"),
        ("UPDATE accounts SET balance = $1", [2**40], DataError, "22003"),
    ],
)
def test_errors_by_sqlstate(pg, statement, params, error, code):
    make_accounts(pg)
    pg.create_table(
        "transfers",
        [
            ColumnDef("account_id", DatabaseType.INTEGER, references=("accounts", "id")),
        ],
    )
    with pytest.raises(error) as info:
        pg.execute(statement, params)
    assert info.value.code == code
    assert info.value.sql == statement and info.value.params == params
    assert isinstance(info.value.__cause__, psycopg.Error)
    assert pg.fetch_value("SELECT count(*) FROM accounts") == 2  # nothing changed, still usable


def test_write_in_read_only_transaction(pg):
    make_accounts(pg)
    with pytest.raises(ReadOnlyError) as info:
        with pg.transaction(read_only=True):
            assert pg.fetch_value("SELECT count(*) FROM accounts") == 2
            pg.execute("DELETE FROM accounts")
    assert info.value.code == "25006"
    assert pg.fetch_value("SELECT count(*) FROM accounts") == 2


def test_statement_in_aborted_transaction(pg):
    pg.begin_transaction()
    with pytest.raises(ProgrammingError):
        pg.execute("SELECT * FROM no_such_table")
    with pytest.raises(TransactionError) as info:
        pg.execute("SELECT 1")
    assert info.value.code == "25P02"
    pg.rollback_transaction()
    assert pg.fetch_value("SELECT 1") == 1


def test_nul_in_text_is_a_clear_data_error(pg):
    pg.create_table("notes", [ColumnDef("body", DatabaseType.TEXT)])
    with pytest.raises(DataError) as info:
        pg.execute("INSERT INTO notes (body) VALUES ($1)", ["before\x00after"])
    assert "NUL" in str(info.value) and "BLOB" in str(info.value)
    assert pg.fetch_value("SELECT count(*) FROM notes") == 0


def test_nul_inside_json_is_a_data_error(pg):
    pg.create_table("docs", [ColumnDef("body", DatabaseType.JSON)])
    with pytest.raises(DataError) as info:
        pg.execute("INSERT INTO docs (body) VALUES ($1)", [{"k": "a\x00b"}])
    assert "NUL" in str(info.value)
    assert info.value.code is not None and info.value.code.startswith("22")


def test_unadaptable_parameter_is_a_programming_error(pg):
    with pytest.raises(ProgrammingError):
        pg.execute("SELECT $1", [object()])
    with pytest.raises(ProgrammingError):
        pg.execute("SELECT $1, $2", [1])
