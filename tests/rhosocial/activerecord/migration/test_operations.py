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
