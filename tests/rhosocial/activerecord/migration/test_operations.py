"""SQLite's table rebuild keeps what the catalog cannot describe generically; the kit checks the rest.

Every operation forward and backward on every backend is the kit's
``TestSchemaChanges`` (rhosocial.activerecord.testing.conformance.schema_changes).
"""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType as T
from rhosocial.activerecord.backend.errors import NotSupportedError
from rhosocial.activerecord.testing.conformance.schema_changes import parent_and_child, rows


def test_sqlite_rebuild_keeps_indexes_triggers_and_refuses_unsafe_use(sqlite_backend):
    b = sqlite_backend
    parent_and_child(b)
    b.create_index("kit_alter_parent", ["name"], "ix_partial_name", where="score > 4")
    b.execute("CREATE TABLE m_log (what TEXT)")
    b.execute("CREATE TRIGGER kit_alter_parent_log AFTER INSERT ON kit_alter_parent BEGIN "
              "INSERT INTO m_log (what) VALUES (NEW.name); END")
    b.execute("CREATE VIEW m_names AS SELECT name FROM kit_alter_parent")
    b.alter_column("kit_alter_parent", ColumnDef("name", T.VARCHAR, length=80, nullable=False))
    assert {i.name: i.partial for i in b.get_indexes("kit_alter_parent")}["ix_partial_name"] == "score > 4"
    b.execute("INSERT INTO kit_alter_parent (name) VALUES ('dee')")
    assert rows(b, "m_log", "what") == [("dee",)]
    assert [r[0] for r in b.execute("SELECT name FROM m_names ORDER BY name").rows] == ["ann", "bob", "cy", "dee"]
    assert b.fetch_value("PRAGMA foreign_keys") == 1  # switched back on
    # Inside the caller's own transaction, with foreign keys on, a rebuild would run ON DELETE actions.
    with pytest.raises(NotSupportedError, match="schema_transaction"):
        with b.transaction():
            b.drop_column("kit_alter_parent", "score")
    assert rows(b, "kit_alter_child", "id") == [(1,), (2,), (3,)]


def test_sqlite_rebuild_keeps_autoincrement_rowids_and_expression_defaults(sqlite_backend):
    b = sqlite_backend
    b.execute("CREATE TABLE seq_t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, "
              "two INTEGER DEFAULT (1+1), low TEXT DEFAULT (lower('AB')), at TEXT DEFAULT (datetime('now')))")
    b.execute("INSERT INTO seq_t (n) VALUES (1), (2), (3)")
    b.execute("DELETE FROM seq_t WHERE id = 3")
    b.add_check_constraint("seq_t", "ck_n", "n > 0")
    b.execute("INSERT INTO seq_t (n) VALUES (4)")
    # AUTOINCREMENT never hands out 3 again; the expression defaults still work.
    assert rows(b, "seq_t", "id", "n", "two", "low") == [(1, 1, 2, "ab"), (2, 2, 2, "ab"), (4, 4, 2, "ab")]
    assert b.fetch_value("SELECT COUNT(*) FROM seq_t WHERE at IS NOT NULL") == 3
    # A table keyed by something else keeps its rowids (full-text indexes and the like point at them).
    b.execute("CREATE TABLE doc_t (code TEXT PRIMARY KEY, body TEXT)")
    b.execute("INSERT INTO doc_t (rowid, code, body) VALUES (10, 'a', 'x'), (20, 'b', 'y')")
    b.alter_column("doc_t", ColumnDef("body", T.TEXT, nullable=False, default=""))
    assert [tuple(r) for r in b.execute("SELECT rowid, code FROM doc_t ORDER BY rowid").rows] == [(10, "a"), (20, "b")]


def test_sqlite_rebuild_refuses_to_drop_what_a_trigger_or_a_wider_check_uses(sqlite_backend):
    b = sqlite_backend
    b.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, name TEXT, other TEXT, n INTEGER CHECK (n > 0), "
              "CONSTRAINT ck_pair CHECK (id > 0 OR n IS NOT NULL))")
    b.execute("CREATE TABLE log (name TEXT)")
    b.execute("CREATE TRIGGER trg AFTER DELETE ON q BEGIN DELETE FROM log WHERE log.name = old.other; END")
    b.execute("INSERT INTO q (id, name, other, n) VALUES (1, 'a', 'b', 2)")
    with pytest.raises(NotSupportedError, match="trigger 'trg'"):
        b.drop_column("q", "other")
    with pytest.raises(NotSupportedError, match="ck_pair"):
        b.drop_column("q", "n")
    assert [c.name for c in b.get_columns("q")] == ["id", "name", "other", "n"]
    # The trigger names 'name' only inside a string and log.name: dropping q.name keeps it.
    b.execute("DROP TRIGGER trg")
    b.execute("CREATE TRIGGER trg2 AFTER DELETE ON q BEGIN INSERT INTO log VALUES ('name'); END")
    b.drop_column("q", "name")
    assert b.fetch_value("SELECT COUNT(*) FROM sqlite_master WHERE name = 'trg2'") == 1
    assert rows(b, "q", "id", "other", "n") == [(1, "b", 2)]


def test_sqlite_rebuild_in_an_attached_database_keeps_its_index_and_trigger_there(sqlite_backend, tmp_path):
    from rhosocial.activerecord.backend import TableName

    b = sqlite_backend
    with b.connection():
        b.execute(f"ATTACH DATABASE '{tmp_path / 'aux.db'}' AS aux")
        b.execute("CREATE TABLE aux.s1 (id INTEGER PRIMARY KEY, a TEXT, b TEXT DEFAULT \"dq\")")
        b.execute("CREATE INDEX aux.ix_s1_a ON s1(a)")
        b.execute("CREATE TABLE aux.log (what TEXT)")
        b.execute("CREATE TRIGGER aux.tr AFTER INSERT ON s1 BEGIN INSERT INTO log VALUES (NEW.a); END")
        b.execute("CREATE TABLE s1 (id INTEGER PRIMARY KEY, a TEXT)")  # a namesake in main, left alone
        table = TableName("s1", "aux")
        b.alter_column(table, ColumnDef("a", T.VARCHAR, length=20, nullable=True))
        b.execute("INSERT INTO aux.s1 (a) VALUES ('x')")
        assert [i.name for i in b.get_indexes(table)] == ["ix_s1_a"]
        assert b.get_indexes("s1") == []
        assert b.execute("SELECT what FROM aux.log").rows == [("x",)]
        assert b.execute("SELECT b FROM aux.s1").rows == [("dq",)]  # a double-quoted default survives
