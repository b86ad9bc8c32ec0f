"""Introspection: what a backend's catalog says of tables, keys, indexes, foreign keys, constraints.

Schema tools (inspect, schema checks, migrations) read a database only
through these methods, so every backend must answer them alike. Each test
builds its tables with the backend's own ``create_table`` (plus raw SQL
for a view and a partial index) and drops them afterwards.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType, ProgrammingError

from ..capability import requires

PARENT, CHILD, PAIR, VIEW = "kit_intro_parent", "kit_intro_child", "kit_intro_pair", "kit_intro_view"
TYPES = "kit_intro_types"


class TestIntrospection:
    """Tables and views, primary keys (composite too), indexes, foreign keys, unique and check constraints."""

    @pytest.fixture
    def schema(self, backend) -> Iterator[object]:
        q = backend.dialect.quote_identifier
        checks = backend.capabilities.supports_check_constraints
        backend.create_table(PARENT, [
            ColumnDef("id", DatabaseType.BIGINT, primary_key=True, nullable=False),
            ColumnDef("code", DatabaseType.VARCHAR, length=20, nullable=False, unique=True),
            ColumnDef("n", DatabaseType.INTEGER, nullable=False, default=0),
        ], constraints=[f"CONSTRAINT {q('kit_intro_n_range')} CHECK ({q('n')} >= 0)"] if checks else ())
        backend.create_table(CHILD, [
            ColumnDef("id", DatabaseType.BIGINT, primary_key=True, nullable=False),
            ColumnDef("parent_id", DatabaseType.BIGINT, references=(PARENT, "id"),
                      on_delete="cascade" if backend.capabilities.supports_foreign_key_actions else None),
            ColumnDef("label", DatabaseType.VARCHAR, length=40),
            ColumnDef("rank", DatabaseType.INTEGER),
        ], indexes=[("label",), ("label", "rank")], unique_indexes=[("rank", "parent_id")])
        backend.create_table(PAIR, [
            ColumnDef("left_id", DatabaseType.BIGINT, nullable=False),
            ColumnDef("right_id", DatabaseType.BIGINT, nullable=False),
            ColumnDef("a", DatabaseType.INTEGER),
            ColumnDef("b", DatabaseType.INTEGER),
        ], constraints=[f"PRIMARY KEY ({q('right_id')}, {q('left_id')})", f"UNIQUE ({q('a')}, {q('b')})"])
        backend.execute(f"CREATE VIEW {q(VIEW)} AS SELECT {q('id')}, {q('code')} FROM {q(PARENT)}")
        yield backend
        backend.execute(f"DROP VIEW IF EXISTS {q(VIEW)}")
        for table in (PAIR, CHILD, PARENT):
            backend.drop_table(table, if_exists=True)

    def test_tables_and_views_are_listed_apart(self, schema):
        tables = schema.get_tables()
        assert {PARENT, CHILD, PAIR} <= set(tables) and VIEW not in tables
        assert tables == sorted(tables)
        assert VIEW in schema.get_views() and PARENT not in schema.get_views()

    def test_primary_keys_in_key_order(self, schema):
        assert schema.get_primary_key(PARENT) == ("id",)
        assert schema.get_primary_key(PAIR) == ("right_id", "left_id")

    def test_indexes(self, schema):
        indexes = {tuple(i.columns): i for i in schema.get_indexes(CHILD)}
        assert not indexes[("label",)].unique and not indexes[("label", "rank")].unique
        assert indexes[("rank", "parent_id")].unique
        assert all(i.partial is None for i in indexes.values())
        assert all(i.name for i in indexes.values())
        assert ("id",) not in indexes  # the primary key's own index is not listed

    def test_partial_index(self, schema):
        requires(schema, "supports_partial_indexes")
        q = schema.dialect.quote_identifier
        schema.execute(f"CREATE INDEX {q('kit_intro_partial')} ON {q(CHILD)} ({q('rank')}) "
                       f"WHERE {q('rank')} IS NOT NULL")
        found = {i.name: i for i in schema.get_indexes(CHILD)}["kit_intro_partial"]
        assert found.columns == ("rank",) and found.partial and "rank" in found.partial
        assert "NOT NULL" in found.partial.upper()

    def test_foreign_keys_with_their_actions(self, schema):
        requires(schema, "supports_foreign_keys")
        (key,) = schema.get_foreign_keys(CHILD)
        assert key.columns == ("parent_id",)
        assert key.referenced_table == PARENT and key.referenced_columns == ("id",)
        if schema.capabilities.supports_foreign_key_actions:
            assert key.on_delete == "CASCADE"
        assert schema.get_foreign_keys(PARENT) == []

    def test_unique_constraints(self, schema):
        assert [c.columns for c in schema.get_unique_constraints(PAIR)] == [("a", "b")]
        assert [c.columns for c in schema.get_unique_constraints(PARENT)] == [("code",)]
        assert all(c.kind == "unique" for c in schema.get_unique_constraints(PAIR))

    def test_check_constraints(self, schema):
        requires(schema, "supports_check_constraints")
        # (found by its condition: not every database keeps the name given, DuckDB makes its own)
        checks = [c for c in schema.get_check_constraints(PARENT) if ">=" in (c.definition or "")]
        assert len(checks) == 1, schema.get_check_constraints(PARENT)
        assert "n" in (checks[0].definition or "")
        assert schema.get_check_constraints(PAIR) == []

    def test_inspect_table_reads_everything_at_once(self, schema):
        info = schema.inspect_table(CHILD)
        assert [c.name for c in info.columns] == ["id", "parent_id", "label", "rank"]
        assert info.primary_key == ("id",) and not info.view
        assert {tuple(i.columns) for i in info.indexes} >= {("label",), ("label", "rank"), ("rank", "parent_id")}
        view = schema.inspect_table(VIEW)
        assert view.view and [c.name for c in view.columns] == ["id", "code"]
        with pytest.raises(ProgrammingError, match="kit_intro_missing"):
            schema.inspect_table("kit_intro_missing")

    def test_column_types_read_back_as_created(self, backend):
        """Each generic type reads back as itself, or as the dialect's ``read_back_types`` says."""
        columns = [ColumnDef("id", DatabaseType.BIGINT, primary_key=True, nullable=False)]
        made: list[DatabaseType] = []
        for kind in DatabaseType:
            if kind is DatabaseType.CUSTOM:
                continue
            sizing: dict = {"length": 10} if kind in (DatabaseType.VARCHAR, DatabaseType.CHAR) else {}
            if kind is DatabaseType.DECIMAL:
                sizing = {"precision": 10, "scale": 2}
            if kind is DatabaseType.ARRAY:
                sizing = {"item_type": DatabaseType.INTEGER}
            columns.append(ColumnDef(f"c_{kind.value}", kind, **sizing))
            made.append(kind)
        backend.create_table(TYPES, columns)
        try:
            read = {c.name: c.db_type for c in backend.get_columns(TYPES)}
        finally:
            backend.drop_table(TYPES)
        expected = backend.dialect.read_back_types
        assert {k: read[f"c_{k.value}"] for k in made} == {k: expected.get(k, k) for k in made}
