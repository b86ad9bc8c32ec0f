"""Schema changes: every migration operation, forward and backward, on tables holding rows.

The operations (:mod:`rhosocial.activerecord.migration.operations`) run
through the backend's schema-change methods (:mod:`rhosocial.activerecord.backend.alter`),
so a backend that compiles them (or, like SQLite, rebuilds tables) is checked
here: the change shows in the catalog, its reverse puts the catalog back as it
was, and no row is lost either way. Tables are named ``kit_alter_*`` and
dropped after each test.
"""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType as T
from rhosocial.activerecord.backend.errors import DatabaseError
from rhosocial.activerecord.migration import ops

from ..capability import requires


def parent_and_child(backend) -> None:
    """Two tables, a foreign key between them (where the backend has them), three rows each."""
    caps = backend.capabilities
    backend.create_table("kit_alter_parent", [
        ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("name", T.VARCHAR, length=40, nullable=False),
        ColumnDef("score", T.INTEGER, default=0),
    ], indexes=[("score",)])
    backend.create_table("kit_alter_child", [
        ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("parent_id", T.INTEGER, references=("kit_alter_parent", "id") if caps.supports_foreign_keys else None,
                  on_delete="cascade" if caps.supports_foreign_key_actions else None),
        ColumnDef("qty", T.INTEGER, nullable=False, default=1),
    ])
    backend.execute("INSERT INTO kit_alter_parent (name, score) VALUES ('ann', 3), ('bob', 5), ('cy', 8)")
    backend.execute("INSERT INTO kit_alter_child (parent_id, qty) VALUES (1, 2), (2, 4), (3, 6)")


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
        # (a plain index on exactly a foreign key's columns is one the database made for it, as MySQL does)
        sorted((i.columns, i.unique) for i in info.indexes
               if not i.constraint and (i.unique or i.columns not in {fk.columns for fk in info.foreign_keys})),
        sorted((fk.columns, fk.referenced_table.split(".")[-1], fk.referenced_columns, fk.on_delete)
               for fk in info.foreign_keys),
        sorted(u.columns for u in info.unique_constraints),
        sorted(c.name or "" for c in info.check_constraints),
    )


def run_both_ways(backend, operation, check_forward) -> None:
    """Apply ``operation``, check it, reverse it; the table and its rows are as they were."""
    before = {t: shape(backend, t) for t in ("kit_alter_parent", "kit_alter_child")}
    data = rows(backend, "kit_alter_parent", "id", "name", "score"), rows(backend, "kit_alter_child", "id", "parent_id", "qty")
    with backend.schema_transaction():
        operation.apply(backend)
    check_forward()
    back = operation.reverse()
    assert back is not None, f"{operation!r} should be reversible"
    with backend.schema_transaction():
        back.apply(backend)
    assert {t: shape(backend, t) for t in ("kit_alter_parent", "kit_alter_child")} == before
    assert (rows(backend, "kit_alter_parent", "id", "name", "score"),
            rows(backend, "kit_alter_child", "id", "parent_id", "qty")) == data


TABLES = ("kit_alter_child", "kit_alter_kid", "kit_alter_extra", "kit_alter_parent")


class TestSchemaChanges:
    """Columns, tables, indexes and constraints changed and changed back, with rows kept."""

    @pytest.fixture
    def tables(self, backend):
        requires(backend, "supports_schema_changes")
        for table in TABLES:
            backend.drop_table(table, if_exists=True)
        parent_and_child(backend)
        yield backend
        for table in TABLES:
            backend.drop_table(table, if_exists=True)


    def test_add_and_drop_column_keeps_rows(self, tables):
        b = tables

        def check():
            assert rows(b, "kit_alter_parent", "id", "nickname") == [(1, "n/a"), (2, "n/a"), (3, "n/a")]
            assert rows(b, "kit_alter_parent", "id", "name", "score") == [(1, "ann", 3), (2, "bob", 5), (3, "cy", 8)]
        run_both_ways(b, ops.AddColumn("kit_alter_parent", ColumnDef("nickname", T.VARCHAR, length=20, nullable=False,
                                                              default="n/a")), check)


    def test_add_a_column_with_a_foreign_key(self, tables):
        b = tables
        requires(b, "supports_foreign_keys")

        def check():
            keys = [fk for fk in b.get_foreign_keys("kit_alter_child") if fk.columns == ("other_id",)]
            assert keys and keys[0].referenced_table.split(".")[-1] == "kit_alter_parent"
            assert rows(b, "kit_alter_child", "id", "qty") == [(1, 2), (2, 4), (3, 6)]
        run_both_ways(b, ops.AddColumn("kit_alter_child", ColumnDef("other_id", T.INTEGER, references=("kit_alter_parent", "id"))),
                      check)


    def test_rename_column_and_table(self, tables):
        b = tables

        def renamed_column():
            assert rows(b, "kit_alter_parent", "id", "full_name") == [(1, "ann"), (2, "bob"), (3, "cy")]
        run_both_ways(b, ops.RenameColumn("kit_alter_parent", "name", "full_name"), renamed_column)

        def renamed_table():
            assert not b.table_exists("kit_alter_child") and rows(b, "kit_alter_kid", "id", "qty") == [(1, 2), (2, 4), (3, 6)]
        run_both_ways(b, ops.RenameTable("kit_alter_child", "kit_alter_kid"), renamed_table)


    def test_alter_column_type_nullability_and_default(self, tables):
        b = tables
        old = ColumnDef("score", T.INTEGER, default=0)
        new = ColumnDef("score", T.BIGINT, nullable=False, default=7)

        def check():
            column = {c.name: c for c in b.get_columns("kit_alter_parent")}["score"]
            assert column.db_type is T.BIGINT and not column.nullable and "7" in str(column.default)
            b.execute("INSERT INTO kit_alter_parent (name) VALUES ('dee')")
            assert rows(b, "kit_alter_parent", "name", "score")[-1] == ("dee", 7)
            b.execute("DELETE FROM kit_alter_parent WHERE name = 'dee'")
            assert rows(b, "kit_alter_parent", "id", "score") == [(1, 3), (2, 5), (3, 8)]
        run_both_ways(b, ops.AlterColumn("kit_alter_parent", new, previous=old), check)


    def test_drop_column_with_its_definition_is_reversible_and_keeps_other_rows(self, tables):
        b = tables
        op = ops.DropColumn("kit_alter_parent", "score", ColumnDef("score", T.INTEGER, default=0))
        with b.schema_transaction():
            op.apply(b)
        assert [c.name for c in b.get_columns("kit_alter_parent")] == ["id", "name"]
        assert rows(b, "kit_alter_parent", "id", "name") == [(1, "ann"), (2, "bob"), (3, "cy")]
        assert rows(b, "kit_alter_child", "id", "parent_id") == [(1, 1), (2, 2), (3, 3)]  # no cascade ran
        with b.schema_transaction():
            op.reverse().apply(b)
        assert rows(b, "kit_alter_parent", "id", "score") == [(1, 0), (2, 0), (3, 0)]  # back, with its default, values lost
        assert ops.DropColumn("kit_alter_parent", "score").reverse() is None


    def test_indexes_unique_and_composite(self, tables):
        b = tables

        def check():
            found = {i.columns: i.unique for i in b.get_indexes("kit_alter_parent")}
            assert found[("name", "score")] is True
            with pytest.raises(DatabaseError):
                b.execute("INSERT INTO kit_alter_parent (name, score) VALUES ('ann', 3)")
        run_both_ways(b, ops.AddIndex("kit_alter_parent", ("name", "score"), unique=True), check)
        run_both_ways(b, ops.DropIndex("kit_alter_parent", None, ("score",)),
                      lambda: [i for i in b.get_indexes("kit_alter_parent") if i.columns == ("score",)] == [] or pytest.fail())


    def test_foreign_keys_added_and_dropped(self, tables):
        b = tables
        requires(b, "supports_foreign_keys", "supports_foreign_key_actions")
        key = next(fk for fk in b.get_foreign_keys("kit_alter_child") if fk.columns == ("parent_id",))

        def dropped():
            assert not [fk for fk in b.get_foreign_keys("kit_alter_child") if fk.columns == ("parent_id",)]
            assert rows(b, "kit_alter_child", "id", "parent_id") == [(1, 1), (2, 2), (3, 3)]
        run_both_ways(b, ops.DropForeignKey.of("kit_alter_child", key), dropped)
        # And back on: the cascade works again.
        b.execute("DELETE FROM kit_alter_parent WHERE id = 1")
        assert rows(b, "kit_alter_child", "id", "parent_id") == [(2, 2), (3, 3)]


    def test_unique_and_check_constraints(self, tables):
        b = tables

        def unique():
            with pytest.raises(DatabaseError):
                b.execute("INSERT INTO kit_alter_parent (name) VALUES ('bob')")
        run_both_ways(b, ops.AddUniqueConstraint("kit_alter_parent", ("name",)), unique)
        if not b.capabilities.supports_check_constraints:
            return

        def check():
            assert [c.name for c in b.get_check_constraints("kit_alter_child")] == ["ck_qty_positive"]
            with pytest.raises(DatabaseError):
                b.execute("INSERT INTO kit_alter_child (parent_id, qty) VALUES (1, -5)")
        run_both_ways(b, ops.AddCheckConstraint("kit_alter_child", "ck_qty_positive", "qty > 0"), check)


    def test_a_named_unique_constraint_is_dropped_by_its_name(self, tables):
        b = tables

        def named():
            info = b.inspect_table("kit_alter_parent")  # (SQLite makes it a unique index)
            assert ("name",) in [u.columns for u in info.unique_constraints] + [i.columns for i in info.indexes if i.unique]
            with pytest.raises(DatabaseError):
                b.execute("INSERT INTO kit_alter_parent (name) VALUES ('cy')")
        run_both_ways(b, ops.AddUniqueConstraint("kit_alter_parent", ("name",), name="uq_kit_alter_name"), named)

    def test_a_new_column_keeps_its_unique_and_check_constraints(self, tables):
        b = tables
        check = "code > 0" if b.capabilities.supports_check_constraints else None

        def added():
            b.execute("UPDATE kit_alter_parent SET code = id")
            with pytest.raises(DatabaseError):
                b.execute("UPDATE kit_alter_parent SET code = 1 WHERE id = 2")
            if check:
                with pytest.raises(DatabaseError):
                    b.execute("UPDATE kit_alter_parent SET code = -1 WHERE id = 3")
            assert rows(b, "kit_alter_parent", "id", "code") == [(1, 1), (2, 2), (3, 3)]
        run_both_ways(b, ops.AddColumn("kit_alter_parent", ColumnDef("code", T.INTEGER, unique=True, check=check)),
                      added)

    def test_changing_a_column_that_is_not_there_fails_and_changes_nothing(self, tables):
        b = tables
        before = shape(b, "kit_alter_parent"), rows(b, "kit_alter_parent", "id", "name", "score")
        for change in (ops.DropColumn("kit_alter_parent", "kit_missing"),
                       ops.RenameColumn("kit_alter_parent", "kit_missing", "kit_other"),
                       ops.AlterColumn("kit_alter_parent", ColumnDef("kit_missing", T.BIGINT))):
            with pytest.raises(DatabaseError), b.schema_transaction():
                change.apply(b)
        assert (shape(b, "kit_alter_parent"), rows(b, "kit_alter_parent", "id", "name", "score")) == before

    def test_create_and_drop_table_and_run_sql_and_python(self, tables):
        b = tables
        table = ops.CreateTable("kit_alter_extra", [ColumnDef("a", T.INTEGER, primary_key=True),
                                            ColumnDef("b", T.VARCHAR, length=10)], indexes=[("b",)])
        run_both_ways(b, table, lambda: b.table_exists("kit_alter_extra") or pytest.fail())
        assert not b.table_exists("kit_alter_extra")
        sql = ops.RunSQL("UPDATE kit_alter_parent SET score = score + 100", "UPDATE kit_alter_parent SET score = score - 100")
        run_both_ways(b, sql, lambda: rows(b, "kit_alter_parent", "id", "score") == [(1, 103), (2, 105), (3, 108)]
                      or pytest.fail())

        def double(backend):
            backend.execute("UPDATE kit_alter_child SET qty = qty * 2")

        def halve(backend):
            backend.execute("UPDATE kit_alter_child SET qty = qty / 2")
        run_both_ways(b, ops.RunPython(double, halve),
                      lambda: rows(b, "kit_alter_child", "id", "qty") == [(1, 4), (2, 8), (3, 12)] or pytest.fail())
        assert ops.RunPython(double).reverse() is None and ops.RunSQL("SELECT 1").reverse() is None


    def test_a_change_rows_do_not_satisfy_fails_and_loses_nothing(self, tables):
        b = tables
        b.execute("INSERT INTO kit_alter_parent (name, score) VALUES ('nulls', NULL)")
        before = shape(b, "kit_alter_parent"), rows(b, "kit_alter_parent", "id", "name", "score")
        # Type, nullability and default change together, outside any transaction: all or nothing.
        with pytest.raises(DatabaseError):
            b.alter_column("kit_alter_parent", ColumnDef("score", T.BIGINT, nullable=False, default=9),
                           ColumnDef("score", T.INTEGER, default=0))
        assert (shape(b, "kit_alter_parent"), rows(b, "kit_alter_parent", "id", "name", "score")) == before

    def test_a_column_whose_foreign_key_fails_is_not_added(self, tables):
        b = tables
        requires(b, "supports_foreign_keys")
        b.execute("INSERT INTO kit_alter_child (parent_id, qty) VALUES (NULL, 1)")
        try:
            b.add_column("kit_alter_child", ColumnDef("other_id", T.INTEGER, nullable=False, default=999,
                                                      references=("kit_alter_parent", "id")))
        except DatabaseError:
            assert "other_id" not in [c.name for c in b.get_columns("kit_alter_child")]
        else:  # a database that does not check existing rows when a key is added (SQLite)
            assert b.fetch_value("SELECT COUNT(*) FROM kit_alter_child WHERE other_id = 999") == 4

    def test_dropping_a_column_takes_its_multi_column_indexes_along(self, tables):
        b = tables
        b.create_index("kit_alter_parent", ["name", "score"], "ix_kit_alter_name_score", unique=True)
        b.drop_column("kit_alter_parent", "score")
        assert [i.columns for i in b.get_indexes("kit_alter_parent") if "score" in i.columns] == []
        assert rows(b, "kit_alter_parent", "id", "name") == [(1, "ann"), (2, "bob"), (3, "cy")]
        # An index a kept foreign key leans on (MySQL needs one) stays usable for it.
        b.create_index("kit_alter_child", ["parent_id", "qty"], "ix_kit_alter_parent_qty")
        b.drop_column("kit_alter_child", "qty")
        assert [c.name for c in b.get_columns("kit_alter_child")] == ["id", "parent_id"]
        if b.capabilities.supports_foreign_keys:
            assert [fk.columns for fk in b.get_foreign_keys("kit_alter_child")] == [("parent_id",)]

    def test_widening_an_auto_increment_key_keeps_it_generated(self, backend):
        requires(backend, "supports_schema_changes")
        backend.drop_table("kit_alter_seq", if_exists=True)
        key = ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True)
        backend.create_table("kit_alter_seq", [key, ColumnDef("v", T.INTEGER)])
        try:
            backend.execute("INSERT INTO kit_alter_seq (v) VALUES (1)")
            wide = ColumnDef("id", T.BIGINT, primary_key=True, autoincrement=True)
            with backend.schema_transaction():
                backend.alter_column("kit_alter_seq", wide, key)
            backend.execute("INSERT INTO kit_alter_seq (v) VALUES (2)")
            assert rows(backend, "kit_alter_seq", "id", "v") == [(1, 1), (2, 2)]
            assert {c.name: c.autoincrement for c in backend.get_columns("kit_alter_seq")}["id"]
            backend.execute(f"INSERT INTO kit_alter_seq (id, v) VALUES ({2 ** 40}, 3)")  # needs 64 bits
            assert rows(backend, "kit_alter_seq", "id")[-1] == (2 ** 40,)
        finally:
            backend.drop_table("kit_alter_seq", if_exists=True)

class TestPlainTableChanges:
    """Changes every backend with ALTER TABLE makes: a table without indexes or foreign keys, rows kept."""

    def test_columns_and_the_table_change_and_change_back(self, backend):
        for table in ("kit_alter_plain", "kit_alter_plain2"):
            backend.drop_table(table, if_exists=True)
        backend.create_table("kit_alter_plain", [ColumnDef("id", T.INTEGER, primary_key=True),
                                                 ColumnDef("name", T.VARCHAR, length=20)])
        backend.execute("INSERT INTO kit_alter_plain (id, name) VALUES (1, 'a'), (2, 'b')")
        steps = [
            ops.AddColumn("kit_alter_plain", ColumnDef("n", T.INTEGER, default=5)),
            ops.RenameColumn("kit_alter_plain", "name", "label"),
            ops.AlterColumn("kit_alter_plain", ColumnDef("n", T.BIGINT, default=5),
                            previous=ColumnDef("n", T.INTEGER, default=5)),
            ops.RenameTable("kit_alter_plain", "kit_alter_plain2"),
            ops.AddIndex("kit_alter_plain2", ("label",)),
        ]
        try:
            for step in steps:
                with backend.schema_transaction():
                    step.apply(backend)
            assert rows(backend, "kit_alter_plain2", "id", "label", "n") == [(1, "a", 5), (2, "b", 5)]
            assert {c.name: c.db_type for c in backend.get_columns("kit_alter_plain2")}["n"] is T.BIGINT
            for step in reversed(steps):
                with backend.schema_transaction():
                    step.reverse().apply(backend)
            assert [c.name for c in backend.get_columns("kit_alter_plain")] == ["id", "name"]
            assert rows(backend, "kit_alter_plain", "id", "name") == [(1, "a"), (2, "b")]
            assert backend.get_indexes("kit_alter_plain") == []
        finally:
            for table in ("kit_alter_plain", "kit_alter_plain2"):
                backend.drop_table(table, if_exists=True)
