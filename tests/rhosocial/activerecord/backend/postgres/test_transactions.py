"""PostgreSQL transactions: the levels and modes really reach the server.

PostgreSQL-only: reads ``transaction_isolation`` and ``transaction_read_only``
from the server, and checks visibility between two sessions.
"""

from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import (
    ColumnDef,
    DatabaseType,
    IsolationLevel,
    NotSupportedError,
    UniqueViolationError,
)


@pytest.mark.parametrize("level", list(IsolationLevel))
def test_isolation_level_reaches_the_server(pg, level):
    with pg.transaction(level):
        assert pg.fetch_value("SHOW transaction_isolation") == level.value.lower()
        assert pg.fetch_value("SHOW transaction_read_only") == "off"
    assert pg.fetch_value("SHOW transaction_isolation") == "read committed"


def test_read_only_mode_ends_with_the_transaction(pg):
    with pg.transaction("REPEATABLE READ", read_only=True):
        assert pg.fetch_value("SHOW transaction_read_only") == "on"
    assert pg.fetch_value("SHOW transaction_read_only") == "off"


def test_other_sessions_see_only_committed_work(pg, make_pg):
    pg.create_table("items", [ColumnDef("n", DatabaseType.INTEGER)])
    other = make_pg()
    pg.begin_transaction()
    pg.execute("INSERT INTO items (n) VALUES (1)")
    assert other.fetch_value("SELECT count(*) FROM items") == 0
    pg.commit_transaction()
    assert other.fetch_value("SELECT count(*) FROM items") == 1
    other.execute("INSERT INTO items (n) VALUES (2)")  # autocommit outside a transaction
    assert pg.fetch_value("SELECT count(*) FROM items") == 2


def test_repeatable_read_keeps_its_snapshot(pg, make_pg):
    pg.create_table("items", [ColumnDef("n", DatabaseType.INTEGER)])
    other = make_pg()
    with pg.transaction("REPEATABLE READ"):
        assert pg.fetch_value("SELECT count(*) FROM items") == 0
        other.execute("INSERT INTO items (n) VALUES (1)")
        assert pg.fetch_value("SELECT count(*) FROM items") == 0
    assert pg.fetch_value("SELECT count(*) FROM items") == 1


def test_savepoints_undo_only_the_inner_block(pg):
    pg.create_table("items", [ColumnDef("n", DatabaseType.INTEGER, unique=True)])
    with pg.capture_statements() as statements:
        with pg.transaction():
            pg.execute("INSERT INTO items (n) VALUES (1)")
            with pytest.raises(UniqueViolationError):
                with pg.transaction():
                    pg.execute("INSERT INTO items (n) VALUES (2)")
                    pg.execute("INSERT INTO items (n) VALUES (1)")  # unique violation
            pg.execute("INSERT INTO items (n) VALUES (3)")
    assert [r[0] for r in pg.execute("SELECT n FROM items ORDER BY n").rows] == [1, 3]
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert 'SAVEPOINT "sp_1"' in statements and 'ROLLBACK TO SAVEPOINT "sp_1"' in statements


def test_statement_timeout_for_one_transaction(pg):
    from rhosocial.activerecord.backend import QueryTimeoutError

    with pytest.raises(QueryTimeoutError):
        with pg.transaction(statement_timeout=0.1):
            pg.execute("SELECT pg_sleep(2)")
    assert pg.fetch_value("SHOW statement_timeout") == "0"


def test_unknown_transaction_option(pg):
    with pytest.raises(TypeError, match="mode"):
        pg.begin_transaction(mode="IMMEDIATE")
    assert not pg.in_transaction


def test_prepared_statement_survives_a_schema_change_by_another_session(pg, make_pg):
    """A statement prepared after 5 runs goes stale when another session alters its table."""
    pg.create_table("items", [ColumnDef("n", DatabaseType.INTEGER)])
    pg.execute("INSERT INTO items (n) VALUES (1)")
    query = "SELECT * FROM items WHERE n = $1"
    for _ in range(8):
        assert pg.execute(query, [1]).columns == ("n",)
    make_pg().execute("ALTER TABLE items ADD COLUMN extra TEXT")
    assert pg.execute(query, [1]).columns == ("n", "extra")
    # Inside a transaction the failure cannot be retried; rolling back recovers.
    for _ in range(8):
        pg.execute(query, [1])
    make_pg().execute("ALTER TABLE items ADD COLUMN more TEXT")
    with pytest.raises(NotSupportedError):
        with pg.transaction():
            pg.execute(query, [1])
    assert pg.execute(query, [1]).columns == ("n", "extra", "more")
