"""Every MySQL error class provoked for real, with two connections where it takes two."""
from __future__ import annotations

import threading
import time

import pytest

from rhosocial.activerecord.backend import (
    TransactionError,
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
    UniqueViolationError,
)

T = DatabaseType


def _accounts(backend, rows=((1, 100), (2, 100))):
    backend.create_table("accounts", [ColumnDef("id", T.INTEGER, primary_key=True),
                                      ColumnDef("balance", T.INTEGER, nullable=False)])
    backend.execute_many("INSERT INTO `accounts` (`id`, `balance`) VALUES (%s, %s)", rows)


def test_constraint_violations(mysql):
    mysql.create_table("parent", [ColumnDef("id", T.INTEGER, primary_key=True)])
    mysql.create_table("child", [
        ColumnDef("id", T.INTEGER, primary_key=True),
        ColumnDef("parent_id", T.INTEGER, references=("parent", "id")),
        ColumnDef("code", T.VARCHAR, length=5, unique=True),
        ColumnDef("qty", T.INTEGER, nullable=False, check="qty >= 0"),
    ])
    mysql.execute("INSERT INTO `parent` VALUES (%s)", [1])
    mysql.execute("INSERT INTO `child` VALUES (%s, %s, %s, %s)", [1, 1, "a", 1])
    cases = [
        ("INSERT INTO `child` VALUES (%s, %s, %s, %s)", [2, 1, "a", 1], UniqueViolationError, 1062),
        ("INSERT INTO `child` VALUES (%s, %s, %s, %s)", [1, 1, "b", 1], UniqueViolationError, 1062),
        ("INSERT INTO `child` VALUES (%s, %s, %s, %s)", [2, 9, "b", 1], ForeignKeyViolationError, 1452),
        ("DELETE FROM `parent`", None, ForeignKeyViolationError, 1451),
        ("INSERT INTO `child` VALUES (%s, %s, %s, %s)", [2, 1, "b", None], NotNullViolationError, 1048),
        ("INSERT INTO `child` (`id`) VALUES (%s)", [2], NotNullViolationError, 1364),
    ]
    if mysql.capabilities.supports_check_constraints:
        cases.append(("INSERT INTO `child` VALUES (%s, %s, %s, %s)", [2, 1, "b", -1],
                      CheckViolationError, 4025 if mysql.is_mariadb else 3819))
    for sql, params, cls, code in cases:
        with pytest.raises(cls) as info:
            mysql.execute(sql, params)
        assert info.value.code == code, sql
        assert info.value.sql == sql and info.value.params == params
        assert info.value.__cause__ is info.value.original


@pytest.mark.parametrize("sql, params, cls, code", [
    ("INSERT INTO `d` (`s`) VALUES (%s)", ["too long!"], DataError, 1406),
    ("INSERT INTO `d` (`i`) VALUES (%s)", [1000], DataError, 1264),
    ("INSERT INTO `d` (`i`) VALUES (%s)", ["abc"], DataError, 1366),
    ("INSERT INTO `d` (`t`) VALUES (%s)", ["2024-02-30"], DataError, 1292),
    ("SELEC 1", None, ProgrammingError, 1064),
    ("SELECT * FROM `nope`", None, ProgrammingError, 1146),
    ("SELECT `nope` FROM `d`", None, ProgrammingError, 1054),
])
def test_data_and_programming_errors(mysql, sql, params, cls, code):
    mysql.create_table("d", [ColumnDef("s", T.VARCHAR, length=3), ColumnDef("i", T.TINYINT),
                             ColumnDef("t", T.DATE)])
    with pytest.raises(cls) as info:
        mysql.execute(sql, params)
    assert info.value.code == code


def test_wrong_parameter_count_is_a_programming_error(mysql):
    with pytest.raises(ProgrammingError):
        mysql.execute("SELECT %s, %s", [1])
    with pytest.raises(ProgrammingError):
        mysql.execute("SELECT %s LIKE 'a%'", [1])


def test_read_only_transaction_rejects_writes(mysql):
    _accounts(mysql)
    with pytest.raises(ReadOnlyError) as info, mysql.transaction(read_only=True):
        assert mysql.fetch_value("SELECT COUNT(*) FROM `accounts`") == 2
        mysql.execute("UPDATE `accounts` SET `balance` = 0")
    assert info.value.code == 1792
    assert not mysql.in_transaction
    mysql.execute("UPDATE `accounts` SET `balance` = 1")  # the next transaction may write


def test_deadlock_between_two_threads(mysql, make_mysql):
    _accounts(mysql)
    a, b = make_mysql(lock_timeout=20), make_mysql(lock_timeout=20)
    both_locked = threading.Barrier(2, timeout=10)
    errors: dict[str, BaseException] = {}

    def transfer(backend, first, second, label):
        try:
            with backend.transaction():
                backend.execute("UPDATE `accounts` SET `balance` = `balance` - 1 WHERE `id` = %s", [first])
                both_locked.wait()
                backend.execute("UPDATE `accounts` SET `balance` = `balance` + 1 WHERE `id` = %s", [second])
        except BaseException as exc:  # noqa: BLE001 - collected for the main thread
            errors[label] = exc

    threads = [threading.Thread(target=transfer, args=(a, 1, 2, "a")),
               threading.Thread(target=transfer, args=(b, 2, 1, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 1, errors
    (error,) = errors.values()
    assert isinstance(error, DeadlockError) and isinstance(error, SerializationError)
    assert error.code == 1213
    # The victim was rolled back, the survivor committed: the total is unchanged.
    assert mysql.fetch_value("SELECT SUM(`balance`) FROM `accounts`") == 200
    assert not a.in_transaction and not b.in_transaction


def test_for_update_waits_then_times_out(mysql, make_mysql):
    _accounts(mysql)
    holder, waiter = make_mysql(), make_mysql(lock_timeout=1)
    holder.begin_transaction()
    holder.execute("SELECT * FROM `accounts` WHERE `id` = %s" + holder.dialect.for_update_sql(), [1])
    waiter.begin_transaction()
    started = time.monotonic()
    with pytest.raises(LockTimeoutError) as info:
        waiter.execute("SELECT * FROM `accounts` WHERE `id` = %s FOR UPDATE", [1])
    assert info.value.code == 1205
    assert 0.8 <= time.monotonic() - started < 10
    # SKIP LOCKED passes over the locked row instead of waiting.
    if waiter.capabilities.supports_skip_locked:
        rows = waiter.execute("SELECT `id` FROM `accounts`" + waiter.dialect.for_update_sql(skip_locked=True)).rows
        assert rows == [(2,)]
    waiter.rollback_transaction()
    holder.rollback_transaction()


def test_statement_timeout_cancels_a_slow_query(make_mysql):
    backend = make_mysql(statement_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as info:
        backend.execute("SELECT COUNT(*) FROM information_schema.COLUMNS a, "
                        "information_schema.COLUMNS b, information_schema.COLUMNS c")
    assert time.monotonic() - started < 10
    assert info.value.code in (1969, 3024)
    assert backend.fetch_value("SELECT 1") == 1  # the connection survives


def test_sleep_over_the_timeout(make_mysql):
    backend = make_mysql(statement_timeout=0.3)
    if not backend.is_mariadb:
        pytest.skip("MySQL's SLEEP() returns 1 when interrupted by max_execution_time, no error")
    with pytest.raises(QueryTimeoutError):
        backend.execute("SELECT SLEEP(3)")


def test_killed_query_is_a_query_timeout(mysql, make_mysql):
    victim = make_mysql()
    victim_id = victim.connection_id()
    killer = threading.Timer(0.3, lambda: mysql.execute(f"KILL QUERY {victim_id}"))
    killer.start()
    try:
        with pytest.raises(QueryTimeoutError) as info:
            victim.execute("SELECT SLEEP(5)") if victim.is_mariadb else victim.execute(
                "SELECT COUNT(*) FROM information_schema.COLUMNS a, information_schema.COLUMNS b, "
                "information_schema.COLUMNS c")
        assert info.value.code == 1317
    finally:
        killer.join()
    assert victim.fetch_value("SELECT 1") == 1


def test_killed_connection_mid_transaction(mysql, make_mysql):
    _accounts(mysql)
    victim = make_mysql()
    victim_id = victim.connection_id()
    victim.begin_transaction()
    victim.execute("UPDATE `accounts` SET `balance` = 0 WHERE `id` = %s", [1])
    victim.execute("INSERT INTO `accounts` VALUES (%s, %s)", [3, 5])
    mysql.execute(f"KILL {victim_id}")
    with pytest.raises(ConnectionLostError) as info:
        victim.execute("SELECT 1")
    assert info.value.code in (2013, 2006, 0, 1927, 4031)
    # The transaction stays open, and gone, until its owner ends it: nothing more may run in it
    # (on a new connection it would run outside any transaction), and COMMIT refuses.
    assert victim.in_transaction
    with pytest.raises(TransactionError, match="transaction is gone"):
        victim.execute("INSERT INTO `accounts` VALUES (%s, %s)", [4, 5])
    with pytest.raises(TransactionError, match="nothing in it was saved"):
        victim.commit_transaction()
    assert not victim.in_transaction
    # Nothing of the killed transaction is visible.
    assert mysql.fetch_all("SELECT `id`, `balance` FROM `accounts` ORDER BY `id`") == [
        {"id": 1, "balance": 100}, {"id": 2, "balance": 100}]
    # The next statement reconnects on a new server connection.
    assert victim.fetch_value("SELECT 1") == 1
    assert victim.connection_id() != victim_id


def test_a_write_over_max_allowed_packet_leaves_the_next_call_working(mysql):
    mysql.create_table("blobs", [ColumnDef("b", DatabaseType.BLOB)])
    limit = int(mysql.fetch_value("SELECT @@max_allowed_packet"))
    with pytest.raises(ConnectionLostError, match="max_allowed_packet"):
        mysql.execute("INSERT INTO `blobs` (`b`) VALUES (%s)", [b"x" * (limit + 1024)])
    assert mysql.fetch_value("SELECT COUNT(*) FROM `blobs`") == 0  # the next call works
    with pytest.raises(ConnectionLostError), mysql.transaction():
        mysql.execute("INSERT INTO `blobs` (`b`) VALUES (%s)", [b"small"])
        mysql.execute("INSERT INTO `blobs` (`b`) VALUES (%s)", [b"x" * (limit + 1024)])
    assert mysql.fetch_value("SELECT COUNT(*) FROM `blobs`") == 0
