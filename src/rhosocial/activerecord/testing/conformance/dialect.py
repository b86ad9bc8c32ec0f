"""The dialect's SQL text, run on its own backend: what it writes, the database accepts."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType

from ..capability import requires
from .utils import id_column, insert_person, make_people, run, sql


class TestDialectOnBackend:
    """Run the dialect's placeholders, literals and clauses on the backend."""

    def test_placeholders_are_numbered_in_order(self, backend):
        assert run(backend, "SELECT ?, ?, ?", ["a", "b", "c"]).rows == [("a", "b", "c")]

    def test_builder_output_runs(self, backend):
        make_people(backend)
        insert_person(backend, "ada", 36)
        builder = backend.dialect.create_builder()
        q = builder.quote_identifier
        builder.append(f"SELECT {q('name')} FROM {q('people')} WHERE {q('age')} > ")
        builder.append(builder.add_param(30))
        builder.append_fragment(f" AND {q('name')} <> ?", ["bob"])
        text, params = builder.build()
        assert backend.execute(text, params).rows == [("ada",)]

    @pytest.mark.parametrize("value", ["it's", "per % cent", "q?mark", "$1", "back\\slash", ""])
    def test_quote_string_reads_back_as_written(self, backend, value):
        assert backend.fetch_value("SELECT " + backend.dialect.quote_string(value)) == value

    @pytest.mark.parametrize("value", [True, False])
    def test_boolean_literal(self, backend, value):
        got = backend.fetch_value("SELECT " + backend.dialect.boolean_literal(value))
        assert bool(got) is value

    @pytest.mark.parametrize("db_type, default, column", [
        (DatabaseType.DATE, dt.date(2024, 2, 29), {}),
        (DatabaseType.DECIMAL, Decimal("12.50"), {"precision": 10, "scale": 2}),
        (DatabaseType.DOUBLE, 2.5, {}),
        (DatabaseType.VARCHAR, "100% it's", {"length": 20}),
        (DatabaseType.INTEGER, -7, {}),
        (DatabaseType.BOOLEAN, True, {}),
        (DatabaseType.DATETIME, dt.datetime(2024, 2, 29, 13, 45, 30), {}),
        (DatabaseType.TIME, dt.time(23, 59, 58), {}),
        (DatabaseType.UUID, uuid.UUID("12345678-1234-5678-1234-567812345678"), {}),
        (DatabaseType.BLOB, b"\x00\xffit's", {}),
        (DatabaseType.JSON, {"a": [1, "it's"]}, {}),
    ])
    def test_literal_defaults(self, backend, db_type, default, column):
        if db_type is DatabaseType.JSON:
            requires(backend, "supports_json")
        backend.create_table("lit", [id_column(), ColumnDef("v", db_type, default=default, **column)])
        backend.execute(backend.dialect.insert_sql("lit", []))
        got = backend.execute(sql(backend, "SELECT {v} FROM {t}", v="v", t="lit"),
                              column_types={"v": db_type}).scalar()
        assert got == default

    @pytest.mark.parametrize("limit, offset, expected", [
        (2, None, ["a", "b"]), (2, 1, ["b", "c"]), (None, 2, ["c", "d"]), (10, 3, ["d"]),
    ])
    def test_limit_offset(self, backend, limit, offset, expected):
        make_people(backend)
        for name in "abcd":
            insert_person(backend, name)
        text = sql(backend, "SELECT {n} FROM {t} ORDER BY {n}", n="name", t="people")
        rows = backend.execute(text + backend.dialect.limit_offset_sql(limit, offset)).rows
        assert [r[0] for r in rows] == expected

    def test_for_update(self, backend):
        requires(backend, "supports_for_update")
        make_people(backend)
        insert_person(backend, "ada", 1)
        text = sql(backend, "SELECT {n} FROM {t} WHERE {n} = ?", n="name", t="people")
        with backend.transaction():
            rows = backend.execute(text + backend.dialect.for_update_sql(), ["ada"]).rows
        assert rows == [("ada",)]
        of = [backend.dialect.quote_identifier("people")]
        for clause in (backend.dialect.for_update_sql(nowait=True), backend.dialect.for_update_sql(read=True),
                       backend.dialect.for_update_sql(of=of), backend.dialect.for_update_sql(read=True, of=of)):
            with backend.transaction():
                assert backend.execute(text + clause, ["ada"]).rows == [("ada",)], clause

    def test_skip_locked(self, backend):
        requires(backend, "supports_for_update", "supports_skip_locked")
        make_people(backend)
        insert_person(backend, "ada", 1)
        text = sql(backend, "SELECT {n} FROM {t}", n="name", t="people")
        with backend.transaction():
            rows = backend.execute(text + backend.dialect.for_update_sql(skip_locked=True)).rows
        assert rows == [("ada",)]

    def test_insert_default_values(self, backend):
        backend.create_table("only_keys", [id_column()])
        backend.execute(backend.dialect.insert_default_values_sql("only_keys"))
        assert backend.fetch_value(sql(backend, "SELECT COUNT(*) FROM {t}", t="only_keys")) == 1
