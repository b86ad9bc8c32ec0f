"""SQLite-only type behaviour: declared type names, affinity and text storage.

SQLite stores dates, decimals, UUIDs and JSON as text under declared type
names it does not know natively, so what is stored (and kept, such as a
datetime's UTC offset) is specific to it.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType
from rhosocial.activerecord.backend.impl.sqlite import (
    SQLITE_TYPE_MAPPINGS,
    SQLiteColumnType,
    SQLiteDialect,
    SQLiteTypes,
)

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def store(backend, db_type, value, **column):
    backend.create_table("v", [ColumnDef("v", db_type, **column)])
    backend.execute("INSERT INTO v (v) VALUES (?)", [value])
    raw, kind = backend.execute("SELECT v, typeof(v) FROM v").rows[0]
    converted = backend.execute("SELECT v FROM v", column_types={"v": db_type}).scalar()
    return raw, kind, converted


def test_every_generic_type_is_mapped():
    assert set(SQLITE_TYPE_MAPPINGS) == set(DatabaseType)


@pytest.mark.parametrize("db_type", [DatabaseType.DATETIME, DatabaseType.TIMESTAMP])
def test_aware_datetime_keeps_its_offset(sqlite_backend, db_type):
    value = dt.datetime(2024, 3, 10, 1, 30, 15, 250000, tzinfo=IST)
    raw, kind, got = store(sqlite_backend, db_type, value)
    assert kind == "text" and raw == "2024-03-10 01:30:15.250000+05:30"
    assert got == value and got.utcoffset() == value.utcoffset()


def test_naive_timestamp_reads_back_as_utc(sqlite_backend):
    raw, _, got = store(sqlite_backend, DatabaseType.TIMESTAMP, dt.datetime(2024, 1, 1, 12))
    assert raw == "2024-01-01 12:00:00"  # SQLite's own form: no fraction when there is none
    assert got == dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)


def test_datetimes_compare_right_with_what_sqlite_itself_writes(sqlite_backend):
    """Rows written by SQLite's datetime()/CURRENT_TIMESTAMP or other tools have no fraction."""
    sqlite_backend.create_table("sales", [ColumnDef("at", DatabaseType.DATETIME), ColumnDef("n", DatabaseType.INTEGER)])
    sqlite_backend.execute("INSERT INTO sales (at, n) VALUES (datetime('2021-01-01'), 1), "
                           "(datetime('2020-12-31 23:59:59'), 2), ('2021-01-01 00:00:00.5', 3)")
    first_of_january = dt.datetime(2021, 1, 1)
    got = sqlite_backend.execute("SELECT n FROM sales WHERE at >= ? ORDER BY n", [first_of_january]).rows
    assert got == [(1,), (3,)]  # the first second of 2021 is not skipped
    assert sqlite_backend.fetch_value("SELECT count(*) FROM sales WHERE at = ?", [first_of_january]) == 1


def test_datetime_text_sorts_chronologically(sqlite_backend):
    sqlite_backend.create_table("d", [ColumnDef("v", DatabaseType.DATETIME)])
    values = [dt.datetime(2024, 1, 1, 0, 0, 0, 5), dt.datetime(2024, 1, 1), dt.datetime(2023, 12, 31, 23)]
    for v in values:
        sqlite_backend.execute("INSERT INTO d (v) VALUES (?)", [v])
    got = sqlite_backend.execute("SELECT v FROM d ORDER BY v", column_types={"v": DatabaseType.DATETIME})
    assert [r[0] for r in got.rows] == sorted(values)


def test_a_decimal_too_long_for_a_float_is_stored_as_exact_text(sqlite_backend):
    value = Decimal("12345678901234567890.123456789")
    raw, kind, got = store(sqlite_backend, DatabaseType.DECIMAL, value, precision=38, scale=9)
    assert kind == "text" and raw == str(value) and got == value


def test_an_ordinary_decimal_is_stored_as_a_number_that_sorts_as_one(sqlite_backend):
    raw, kind, _ = store(sqlite_backend, DatabaseType.DECIMAL, Decimal("13.86"), precision=10, scale=2)
    assert kind == "real" and raw == 13.86
    sqlite_backend.create_table("p", [ColumnDef("v", DatabaseType.DECIMAL, precision=10, scale=2)])
    for v in ("8.91", "13.86", "0.99"):
        sqlite_backend.execute("INSERT INTO p (v) VALUES (?)", [Decimal(v)])
    assert sqlite_backend.fetch_value("SELECT max(v) FROM p") == 13.86  # not '8.91', as text would say
    assert sqlite_backend.fetch_value("SELECT count(*) FROM p WHERE v > ?", [Decimal("5")]) == 2


def test_json_is_compact_text_keeping_unicode(sqlite_backend):
    raw, kind, got = store(sqlite_backend, DatabaseType.JSON, {"a": "表", "b": [1, 2]})
    assert kind == "text" and raw == '{"a":"表","b":[1,2]}'
    assert got == {"a": "表", "b": [1, 2]}


def test_boolean_is_stored_as_integer(sqlite_backend):
    raw, kind, got = store(sqlite_backend, DatabaseType.BOOLEAN, True)
    assert (raw, kind, got) == (1, "integer", True)


@pytest.mark.parametrize("db_type", list(DatabaseType))
def test_declared_names_map_back_to_their_generic_type(sqlite_backend, db_type):
    params = {"length": 5} if db_type in (DatabaseType.CHAR, DatabaseType.VARCHAR) else {}
    sqlite_backend.create_table("t", [ColumnDef("c", db_type, **params)])
    (info,) = sqlite_backend.get_columns("t")
    expected = {
        DatabaseType.ARRAY: DatabaseType.JSON,   # both are JSON text
        DatabaseType.CUSTOM: DatabaseType.TEXT,  # CUSTOM defaults to TEXT
    }.get(db_type, db_type)
    assert info.db_type is expected
    assert info.type == sqlite_backend.dialect.get_column_type(db_type, **params)


def test_custom_type_text_is_written_as_given(sqlite_backend):
    sqlite_backend.create_table("t", [ColumnDef("c", DatabaseType.CUSTOM, custom_type=SQLiteTypes.NUMERIC)])
    assert sqlite_backend.get_columns("t")[0].type == "NUMERIC"


@pytest.mark.parametrize("db_type, params, expected", [
    (DatabaseType.VARCHAR, {"length": 255, "not_null": True, "unique": True}, "VARCHAR(255) NOT NULL UNIQUE"),
    (DatabaseType.INTEGER, {"primary_key": True, "autoincrement": True},
     "INTEGER PRIMARY KEY AUTOINCREMENT"),
    (DatabaseType.BIGINT, {"primary_key": True, "autoincrement": True},
     "INTEGER PRIMARY KEY AUTOINCREMENT"),
    (DatabaseType.BOOLEAN, {"default": True}, "BOOLEAN DEFAULT 1"),
    (DatabaseType.TEXT, {"default": "it's"}, "TEXT DEFAULT 'it''s'"),
    (DatabaseType.DECIMAL, {"precision": 10, "scale": 2}, "DECIMAL(10,2)"),
    (DatabaseType.DECIMAL, {"precision": 38, "scale": 9}, "DECIMAL_TEXT(38,9)"),
    (DatabaseType.DECIMAL, {}, "DECIMAL_TEXT"),
    (DatabaseType.CHAR, {"primary_key": True, "not_null": True, "length": 2}, "CHAR(2) PRIMARY KEY"),
])
def test_column_type_text(db_type, params, expected):
    assert str(SQLiteColumnType.get_type(db_type, **params)) == expected


def test_column_type_text_is_valid_ddl(sqlite_backend):
    column = SQLiteColumnType.get_type(DatabaseType.VARCHAR, length=255, not_null=True, unique=True)
    sqlite_backend.execute(f"CREATE TABLE t (name {column})")
    (info,) = sqlite_backend.get_columns("t")
    assert (info.type, info.nullable, info.db_type) == ("VARCHAR(255)", False, DatabaseType.VARCHAR)


def test_create_table_sql_text():
    text = SQLiteDialect().create_table_sql("items", [
        ColumnDef("id", DatabaseType.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("name", DatabaseType.VARCHAR, length=50, nullable=False, unique=True),
        ColumnDef("price", DatabaseType.DECIMAL, precision=10, scale=2, default=Decimal("1.50")),
        ColumnDef("flag", DatabaseType.BOOLEAN, default=False),
        ColumnDef("owner_id", DatabaseType.INTEGER, references=("owners", "id"), on_delete="cascade"),
        ColumnDef("qty", DatabaseType.INTEGER, check="qty >= 0"),
    ], if_not_exists=True)
    assert text == (
        'CREATE TABLE IF NOT EXISTS "items" ('
        '"id" INTEGER PRIMARY KEY AUTOINCREMENT, '
        '"name" VARCHAR(50) NOT NULL UNIQUE, '
        "\"price\" DECIMAL(10,2) DEFAULT '1.50', "
        '"flag" BOOLEAN DEFAULT 0, '
        '"owner_id" INTEGER, '
        '"qty" INTEGER CHECK (qty >= 0), '
        'FOREIGN KEY ("owner_id") REFERENCES "owners" ("id") ON DELETE CASCADE)'
    )


def test_composite_primary_key_sql_text():
    text = SQLiteDialect().create_table_sql("pairs", [
        ColumnDef("a", DatabaseType.INTEGER, primary_key=True),
        ColumnDef("b", DatabaseType.TEXT, primary_key=True),
    ])
    assert text == 'CREATE TABLE "pairs" ("a" INTEGER NOT NULL, "b" TEXT NOT NULL, PRIMARY KEY ("a", "b"))'


def test_sqlite_dialect_specifics():
    d = SQLiteDialect()
    assert d.convert_placeholders("a = ? AND b = ?") == "a = ? AND b = ?"
    assert d.create_builder().get_placeholder(5) == "?"
    assert d.limit_offset_sql(None, 10) == " LIMIT -1 OFFSET 10"
    assert d.for_update_sql(nowait=True) == ""
    assert d.begin_sql(None, True, mode="immediate") == ["BEGIN IMMEDIATE", "PRAGMA query_only = ON"]
