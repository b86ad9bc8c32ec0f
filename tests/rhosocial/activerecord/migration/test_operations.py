"""Every migration operation, forward and backward, on a table holding rows: nothing is lost.

Runs on each configured database; on SQLite most of these go through the
table rebuild, so its indexes, triggers and foreign keys are checked too.
"""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType as T
from rhosocial.activerecord.backend.errors import DatabaseError, NotSupportedError
from rhosocial.activerecord.migration import ops


def parent_and_child(backend) -> None:
    backend.create_table("m_parent", [
        ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("name", T.VARCHAR, length=40, nullable=False),
        ColumnDef("score", T.INTEGER, default=0),
    ], indexes=[("score",)])
    backend.create_table("m_child", [
        ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("parent_id", T.INTEGER, references=("m_parent", "id"), on_delete="cascade"),
        ColumnDef("qty", T.INTEGER, nullable=False, default=1),
    ])
    backend.execute("INSERT INTO m_parent (name, score) VALUES ('ann', 3), ('bob', 5), ('cy', 8)")
    backend.execute("INSERT INTO m_child (parent_id, qty) VALUES (1, 2), (2, 4), (3, 6)")


def rows(backend, table: str, *columns: str) -> list[tuple]:
    q = backend.dialect.quote_identifier
    return [tuple(r) for r in backend.execute(
        f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)} ORDER BY {q(columns[0])}").rows]


def shape(backend, table: str):
    """What the schema says of ``table``, comparable before and after (names the database made aside)."""
    info = backend.inspect_table(table)
    return (
        [(c.name, c.db_type, c.nullable) for c in info.columns],
        info.primary_key,
        sorted((i.columns, i.unique) for i in info.indexes
               if not i.constraint and not (backend.name == "mysql" and not i.unique
                                            and i.columns in {fk.columns for fk in info.foreign_keys})),
        sorted((fk.columns, fk.referenced_table.split(".")[-1], fk.referenced_columns, fk.on_delete)
               for fk in info.foreign_keys),
        sorted(u.columns for u in info.unique_constraints),
        sorted(c.name or "" for c in info.check_constraints),
    )


def run_both_ways(backend, operation, check_forward) -> None:
    """Apply ``operation``, check it, reverse it; the table and its rows are as they were."""
    before = {t: shape(backend, t) for t in ("m_parent", "m_child")}
    data = rows(backend, "m_parent", "id", "name", "score"), rows(backend, "m_child", "id", "parent_id", "qty")
    with backend.schema_transaction():
        operation.apply(backend)
    check_forward()
    back = operation.reverse()
    assert back is not None, f"{operation!r} should be reversible"
    with backend.schema_transaction():
        back.apply(backend)
    assert {t: shape(backend, t) for t in ("m_parent", "m_child")} == before
    assert (rows(backend, "m_parent", "id", "name", "score"),
            rows(backend, "m_child", "id", "parent_id", "qty")) == data


@pytest.fixture
def tables(backend):
    parent_and_child(backend)
    yield backend


def test_add_and_drop_column_keeps_rows(tables):
    b = tables

    def check():
        assert rows(b, "m_parent", "id", "nickname") == [(1, "n/a"), (2, "n/a"), (3, "n/a")]
        assert rows(b, "m_parent", "id", "name", "score") == [(1, "ann", 3), (2, "bob", 5), (3, "cy", 8)]
    run_both_ways(b, ops.AddColumn("m_parent", ColumnDef("nickname", T.VARCHAR, length=20, nullable=False,
                                                          default="n/a")), check)


def test_add_a_column_with_a_foreign_key(tables):
    b = tables

    def check():
        keys = [fk for fk in b.get_foreign_keys("m_child") if fk.columns == ("other_id",)]
        assert keys and keys[0].referenced_table.split(".")[-1] == "m_parent"
        assert rows(b, "m_child", "id", "qty") == [(1, 2), (2, 4), (3, 6)]
    run_both_ways(b, ops.AddColumn("m_child", ColumnDef("other_id", T.INTEGER, references=("m_parent", "id"))),
                  check)


def test_rename_column_and_table(tables):
    b = tables

    def renamed_column():
        assert rows(b, "m_parent", "id", "full_name") == [(1, "ann"), (2, "bob"), (3, "cy")]
    run_both_ways(b, ops.RenameColumn("m_parent", "name", "full_name"), renamed_column)

    def renamed_table():
        assert not b.table_exists("m_child") and rows(b, "m_kid", "id", "qty") == [(1, 2), (2, 4), (3, 6)]
    run_both_ways(b, ops.RenameTable("m_child", "m_kid"), renamed_table)


def test_alter_column_type_nullability_and_default(tables):
    b = tables
    old = ColumnDef("score", T.INTEGER, default=0)
    new = ColumnDef("score", T.BIGINT, nullable=False, default=7)

    def check():
        column = {c.name: c for c in b.get_columns("m_parent")}["score"]
        assert column.db_type is T.BIGINT and not column.nullable and "7" in str(column.default)
        b.execute("INSERT INTO m_parent (name) VALUES ('dee')")
        assert rows(b, "m_parent", "name", "score")[-1] == ("dee", 7)
        b.execute("DELETE FROM m_parent WHERE name = 'dee'")
        assert rows(b, "m_parent", "id", "score") == [(1, 3), (2, 5), (3, 8)]
    run_both_ways(b, ops.AlterColumn("m_parent", new, previous=old), check)


def test_drop_column_with_its_definition_is_reversible_and_keeps_other_rows(tables):
    b = tables
    op = ops.DropColumn("m_parent", "score", ColumnDef("score", T.INTEGER, default=0))
    with b.schema_transaction():
        op.apply(b)
    assert [c.name for c in b.get_columns("m_parent")] == ["id", "name"]
    assert rows(b, "m_parent", "id", "name") == [(1, "ann"), (2, "bob"), (3, "cy")]
    assert rows(b, "m_child", "id", "parent_id") == [(1, 1), (2, 2), (3, 3)]  # no cascade ran
    with b.schema_transaction():
        op.reverse().apply(b)
    assert rows(b, "m_parent", "id", "score") == [(1, 0), (2, 0), (3, 0)]  # back, with its default, values lost
    assert ops.DropColumn("m_parent", "score").reverse() is None


def test_indexes_unique_and_composite(tables):
    b = tables

    def check():
        found = {i.columns: i.unique for i in b.get_indexes("m_parent")}
        assert found[("name", "score")] is True
        with pytest.raises(DatabaseError):
            b.execute("INSERT INTO m_parent (name, score) VALUES ('ann', 3)")
    run_both_ways(b, ops.AddIndex("m_parent", ("name", "score"), unique=True), check)
    run_both_ways(b, ops.DropIndex("m_parent", None, ("score",)),
                  lambda: [i for i in b.get_indexes("m_parent") if i.columns == ("score",)] == [] or pytest.fail())


def test_foreign_keys_added_and_dropped(tables):
    b = tables
    key = next(fk for fk in b.get_foreign_keys("m_child") if fk.columns == ("parent_id",))

    def dropped():
        assert not [fk for fk in b.get_foreign_keys("m_child") if fk.columns == ("parent_id",)]
        assert rows(b, "m_child", "id", "parent_id") == [(1, 1), (2, 2), (3, 3)]
    run_both_ways(b, ops.DropForeignKey.of("m_child", key), dropped)
    # And back on: the cascade works again.
    b.execute("DELETE FROM m_parent WHERE id = 1")
    assert rows(b, "m_child", "id", "parent_id") == [(2, 2), (3, 3)]


def test_unique_and_check_constraints(tables):
    b = tables

    def unique():
        with pytest.raises(DatabaseError):
            b.execute("INSERT INTO m_parent (name) VALUES ('bob')")
    run_both_ways(b, ops.AddUniqueConstraint("m_parent", ("name",)), unique)
    if not b.capabilities.supports_check_constraints:
        return

    def check():
        assert [c.name for c in b.get_check_constraints("m_child")] == ["ck_qty_positive"]
        with pytest.raises(DatabaseError):
            b.execute("INSERT INTO m_child (parent_id, qty) VALUES (1, -5)")
    run_both_ways(b, ops.AddCheckConstraint("m_child", "ck_qty_positive", "qty > 0"), check)


def test_create_and_drop_table_and_run_sql_and_python(tables):
    b = tables
    table = ops.CreateTable("m_extra", [ColumnDef("a", T.INTEGER, primary_key=True),
                                        ColumnDef("b", T.VARCHAR, length=10)], indexes=[("b",)])
    run_both_ways(b, table, lambda: b.table_exists("m_extra") or pytest.fail())
    assert not b.table_exists("m_extra")
    sql = ops.RunSQL("UPDATE m_parent SET score = score + 100", "UPDATE m_parent SET score = score - 100")
    run_both_ways(b, sql, lambda: rows(b, "m_parent", "id", "score") == [(1, 103), (2, 105), (3, 108)]
                  or pytest.fail())

    def double(backend):
        backend.execute("UPDATE m_child SET qty = qty * 2")

    def halve(backend):
        backend.execute("UPDATE m_child SET qty = qty / 2")
    run_both_ways(b, ops.RunPython(double, halve),
                  lambda: rows(b, "m_child", "id", "qty") == [(1, 4), (2, 8), (3, 12)] or pytest.fail())
    assert ops.RunPython(double).reverse() is None and ops.RunSQL("SELECT 1").reverse() is None


def test_a_change_rows_do_not_satisfy_fails_and_loses_nothing(tables):
    b = tables
    b.execute("INSERT INTO m_parent (name, score) VALUES ('nulls', NULL)")
    before = shape(b, "m_parent"), rows(b, "m_parent", "id", "name", "score")
    with pytest.raises(DatabaseError):
        with b.schema_transaction():
            b.alter_column("m_parent", ColumnDef("score", T.INTEGER, nullable=False, default=0),
                           ColumnDef("score", T.INTEGER, default=0))
    assert (shape(b, "m_parent"), rows(b, "m_parent", "id", "name", "score")) == before


def test_sqlite_rebuild_keeps_indexes_triggers_and_refuses_unsafe_use(sqlite_backend):
    b = sqlite_backend
    parent_and_child(b)
    b.create_index("m_parent", ["name"], "ix_partial_name", where="score > 4")
    b.execute("CREATE TABLE m_log (what TEXT)")
    b.execute("CREATE TRIGGER m_parent_log AFTER INSERT ON m_parent BEGIN "
              "INSERT INTO m_log (what) VALUES (NEW.name); END")
    b.execute("CREATE VIEW m_names AS SELECT name FROM m_parent")
    b.alter_column("m_parent", ColumnDef("name", T.VARCHAR, length=80, nullable=False))
    assert {i.name: i.partial for i in b.get_indexes("m_parent")}["ix_partial_name"] == "score > 4"
    b.execute("INSERT INTO m_parent (name) VALUES ('dee')")
    assert rows(b, "m_log", "what") == [("dee",)]
    assert [r[0] for r in b.execute("SELECT name FROM m_names ORDER BY name").rows] == ["ann", "bob", "cy", "dee"]
    assert b.fetch_value("PRAGMA foreign_keys") == 1  # switched back on
    # Inside the caller's own transaction, with foreign keys on, a rebuild would run ON DELETE actions.
    with pytest.raises(NotSupportedError, match="schema_transaction"):
        with b.transaction():
            b.drop_column("m_parent", "score")
    assert rows(b, "m_child", "id") == [(1,), (2,), (3,)]
