"""Transactions on MySQL: explicit START TRANSACTION, isolation levels, read-only, savepoints."""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType, IsolationLevel, LockTimeoutError

T = DatabaseType


@pytest.fixture
def pair(mysql, make_mysql):
    """A table with one row (id 1, n 0), a reader and a writer connection."""
    mysql.create_table("k", [ColumnDef("id", T.INTEGER, primary_key=True), ColumnDef("n", T.INTEGER)])
    mysql.execute("INSERT INTO `k` VALUES (1, 0)")
    return make_mysql(lock_timeout=1), make_mysql(lock_timeout=1)


def _n(backend):
    return backend.fetch_value("SELECT `n` FROM `k` WHERE `id` = 1")


def test_statements_use_explicit_transaction_sql(mysql):
    with mysql.capture_statements() as captured:
        with mysql.transaction(IsolationLevel.READ_COMMITTED):
            with mysql.transaction():
                mysql.execute("SELECT 1")
    assert captured == ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "START TRANSACTION",
                        "SAVEPOINT `sp_1`", "SELECT 1", "RELEASE SAVEPOINT `sp_1`", "COMMIT"]
    # BEGIN and SAVEPOINT wait for the first statement: a block that runs none costs nothing.
    with mysql.capture_statements() as captured:
        with mysql.transaction(IsolationLevel.READ_COMMITTED):
            with mysql.transaction():
                pass
    assert captured == []


def test_autocommit_outside_transactions(pair):
    reader, writer = pair
    writer.execute("UPDATE `k` SET `n` = 1")
    assert _n(reader) == 1


def test_uncommitted_work_is_invisible_then_rolled_back(pair):
    reader, writer = pair
    with pytest.raises(RuntimeError), writer.transaction():
        writer.execute("UPDATE `k` SET `n` = 5")
        assert _n(reader) == 0 and _n(writer) == 5
        raise RuntimeError("undo")
    assert _n(reader) == 0


def test_read_uncommitted_sees_dirty_writes(pair):
    reader, writer = pair
    writer.begin_transaction()
    writer.execute("UPDATE `k` SET `n` = 7")
    with reader.transaction(IsolationLevel.READ_UNCOMMITTED):
        assert _n(reader) == 7
    with reader.transaction(IsolationLevel.READ_COMMITTED):
        assert _n(reader) == 0
    writer.rollback_transaction()


def test_read_committed_sees_new_commits_repeatable_read_does_not(pair):
    reader, writer = pair
    for level, expected in ((IsolationLevel.READ_COMMITTED, 1), (IsolationLevel.REPEATABLE_READ, 0)):
        writer.execute("UPDATE `k` SET `n` = 0")
        with reader.transaction(level):
            assert _n(reader) == 0
            writer.execute("UPDATE `k` SET `n` = 1")  # autocommitted
            assert _n(reader) == expected, level


def test_serializable_reads_take_shared_locks(pair):
    reader, writer = pair
    with reader.transaction(IsolationLevel.SERIALIZABLE):
        assert _n(reader) == 0
        with pytest.raises(LockTimeoutError):
            writer.execute("UPDATE `k` SET `n` = 2")
    writer.execute("UPDATE `k` SET `n` = 2")  # lock released at commit
    assert _n(reader) == 2


def test_isolation_level_applies_to_one_transaction_only(pair):
    reader, writer = pair
    default = reader.fetch_value("SELECT @@session.tx_isolation" if reader.is_mariadb
                                 else "SELECT @@session.transaction_isolation")
    with reader.transaction("serializable"):
        pass
    assert reader.fetch_value("SELECT @@session.tx_isolation" if reader.is_mariadb
                              else "SELECT @@session.transaction_isolation") == default
    # The next transaction is at the default level again: a plain read takes no lock.
    with reader.transaction():
        _n(reader)
        writer.execute("UPDATE `k` SET `n` = 3")


def test_read_only_transaction_reads(pair):
    reader = pair[0]
    with reader.transaction(read_only=True):
        assert _n(reader) == 0
    assert not reader.in_transaction


def test_savepoints_undo_only_the_inner_block(mysql, pair):
    with mysql.transaction():
        mysql.execute("UPDATE `k` SET `n` = 1")
        with pytest.raises(ValueError), mysql.transaction():
            mysql.execute("UPDATE `k` SET `n` = 2")
            raise ValueError
        assert _n(mysql) == 1
    assert _n(pair[0]) == 1


def test_a_raw_autocommit_off_never_reaches_the_next_borrower(mysql):
    """SET autocommit = 0 would make every later borrower's writes wait for a COMMIT never sent."""
    from rhosocial.activerecord.backend import TransactionError

    with pytest.raises(TransactionError, match="backend.transaction"):
        mysql.execute("SET autocommit = 0")
    assert mysql.pool.stats().discarded == 1
    assert mysql.fetch_value("SELECT @@autocommit") == 1


def test_unknown_transaction_options_are_refused(mysql):
    with pytest.raises(TypeError, match="lock_timeout"):
        mysql.begin_transaction(lock_timeout=5)
    assert not mysql.in_transaction
