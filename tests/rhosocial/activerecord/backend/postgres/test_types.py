"""PostgreSQL's native types: exact round trips, arrays, and the catalog's view of them.

PostgreSQL-only: native UUID, NUMERIC, TIMESTAMPTZ, JSONB and arrays; the
shared round-trip tests cover what every backend must do.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType, DataError, QueryResult
from rhosocial.activerecord.backend.impl.postgres import Array
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

UTC = dt.timezone.utc
T = DatabaseType


def store(backend, db_type, value, **column):
    """Write ``value`` into a fresh column of ``db_type`` and read it back with its column type."""
    backend.drop_table("vals", if_exists=True)
    backend.create_table(
        "vals", [ColumnDef("id", T.INTEGER, primary_key=True), ColumnDef("v", db_type, **column)]
    )
    convert = backend.dialect.to_db(db_type)
    bound = value if convert is None or value is None else convert(value)
    backend.execute_raw("INSERT INTO vals (id, v) VALUES (1, $1)", [bound])
    return backend.execute("SELECT v FROM vals", column_types={"v": db_type}).scalar()


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 3, 10, 12, 30, 45, 123456, tzinfo=UTC),
        dt.datetime(2024, 3, 10, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
        dt.datetime(
            1969, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))
        ),
    ],
)
def test_aware_timestamp_keeps_the_instant_and_comes_back_in_utc(pg, value):
    got = store(pg, T.TIMESTAMP, value)
    assert got == value and got.utcoffset() == dt.timedelta(0)
    assert pg.fetch_value("SELECT pg_typeof(v)::text FROM vals") == "timestamp with time zone"


def test_naive_timestamp_is_taken_as_utc(pg):
    got = store(pg, T.TIMESTAMP, dt.datetime(2024, 1, 1, 8, 0))
    assert got == dt.datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def test_datetime_is_wall_clock_and_naive(pg):
    value = dt.datetime(2024, 2, 29, 23, 59, 59, 999999)
    got = store(pg, T.DATETIME, value)
    assert got == value and got.tzinfo is None


@pytest.mark.parametrize(
    "value, column",
    [
        (Decimal("12345678901234567890.123456789"), {"precision": 38, "scale": 9}),
        (Decimal("-0.000000001"), {"precision": 38, "scale": 9}),
        (Decimal("12345678901234567890.123456789"), {}),
    ],
)
def test_decimal_is_exact(pg, value, column):
    got = store(pg, T.DECIMAL, value, **column)
    assert got == value and isinstance(got, Decimal) and str(got) == str(value)


def test_uuid_is_native(pg):
    value = uuid.uuid4()
    assert store(pg, T.UUID, value) == value
    assert pg.fetch_value("SELECT pg_typeof(v)::text FROM vals") == "uuid"
    assert pg.fetch_value("SELECT id FROM vals WHERE v = $1", [value]) == 1


@pytest.mark.parametrize(
    "value",
    [
        {"name": "Zoë", "emoji": "😀𝄞", "n": 2**53, "f": 0.1, "nested": {"l": [1, None, True]}},
        [1, "two", {"three": 3}],
        "just a string",
        42,
    ],
)
def test_jsonb(pg, value):
    assert store(pg, T.JSON, value) == value
    assert pg.fetch_value("SELECT pg_typeof(v)::text FROM vals") == "jsonb"


def test_jsonb_operators_with_question_marks(pg):
    store(pg, T.JSON, {"name": "x", "tags": ["a", "b"]})
    # Raw SQL reaches the server untouched, so ? is the JSONB operator here ...
    assert pg.fetch_value("SELECT v ? 'name' FROM vals") is True
    # ... and in neutral fragments ?? stands for it.
    fragment = pg.dialect.convert_placeholders("SELECT v ?? ? FROM vals WHERE id = ?")
    assert fragment == "SELECT v ? $1 FROM vals WHERE id = $2"
    assert pg.fetch_value(fragment, ["tags", 1]) is True


@pytest.mark.parametrize(
    "value", ["", "ascii", "Grüße, 日本語", "😀𝄞🀄 astral", "quote ' \" \\ %s $1 ?"]
)
def test_unicode_text(pg, value):
    assert store(pg, T.TEXT, value) == value


def test_varchar_counts_characters_not_bytes(pg):
    assert store(pg, T.VARCHAR, "😀𝄞", length=2) == "😀𝄞"
    with pytest.raises(DataError) as info:
        store(pg, T.VARCHAR, "😀𝄞x", length=2)
    assert info.value.code == "22001"


@pytest.mark.parametrize("value", [bytes(range(256)), b"", b"\x00" * 10])
def test_bytes(pg, value):
    got = store(pg, T.BLOB, value)
    assert got == value and isinstance(got, bytes)


@pytest.mark.parametrize("value", [-(2**63), 2**63 - 1, 0])
def test_bigint_bounds(pg, value):
    assert store(pg, T.BIGINT, value) == value


def test_bigint_overflow_is_a_data_error(pg):
    with pytest.raises(DataError):
        store(pg, T.BIGINT, 2**63)


def test_boolean_real_and_double(pg):
    assert store(pg, T.BOOLEAN, True) is True
    assert store(pg, T.DOUBLE, 0.1) == 0.1
    assert store(pg, T.FLOAT, 0.5) == 0.5


def test_date_and_time(pg):
    assert store(pg, T.DATE, dt.date(1, 1, 1)) == dt.date(1, 1, 1)
    assert store(pg, T.TIME, dt.time(23, 59, 59, 999999)) == dt.time(23, 59, 59, 999999)


@pytest.mark.parametrize(
    "item_type, value, native",
    [
        (T.INTEGER, [1, -2, None, 2**31 - 1], "integer[]"),
        (None, ["a", "b,c", "{}", "", None, "😀"], "text[]"),
        (T.UUID, [uuid.UUID(int=1), uuid.UUID(int=2)], "uuid[]"),
        (T.DECIMAL, [Decimal("1.50"), Decimal("-2.25")], "numeric[]"),
        (T.TIMESTAMP, [dt.datetime(2024, 1, 1, tzinfo=UTC)], "timestamp with time zone[]"),
        (T.INTEGER, [], "integer[]"),
    ],
)
def test_arrays(pg, item_type, value, native):
    column = {"item_type": item_type} if item_type else {}
    assert store(pg, T.ARRAY, value, **column) == value
    assert pg.fetch_value("SELECT pg_typeof(v)::text FROM vals") == native
    [info] = [c for c in pg.get_columns("vals") if c.name == "v"]
    assert info.db_type is T.ARRAY and info.type == native


def test_array_parameter_with_any(pg):
    store(pg, T.INTEGER, 5)
    assert pg.fetch_value("SELECT count(*) FROM vals WHERE v = ANY($1)", [Array([4, 5, 6])]) == 1
    assert pg.fetch_value("SELECT count(*) FROM vals WHERE v = ANY($1)", [Array([7])]) == 0


def test_plain_list_through_execute_is_json(pg):
    assert pg.fetch_value("SELECT pg_typeof($1)::text", [[1, 2]]) == "jsonb"
    assert pg.fetch_value("SELECT $1::jsonb -> 1", [[1, {"a": 2}]]) == {"a": 2}


def test_nul_in_text_is_a_data_error(pg):
    with pytest.raises(DataError, match="NUL"):
        store(pg, T.TEXT, "a\x00b")


def test_literal_percent_and_question_mark_in_raw_sql(pg):
    assert pg.execute("SELECT '100%' AS pct, 'a?' AS q, 'x' LIKE '%' AS m").first() == {
        "pct": "100%",
        "q": "a?",
        "m": True,
    }
    assert pg.fetch_value("SELECT '50%' || $1", ["?"]) == "50%?"


def test_identifiers_with_percent_question_mark_and_quotes(pg):
    table, column = 'odd%name?"t', "c%s?$1"
    q = pg.dialect.quote_identifier
    pg.create_table(
        table,
        [
            ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True),
            ColumnDef(column, T.TEXT, default="50%"),
        ],
    )
    assert pg.table_exists(table)
    result = pg.execute(pg.dialect.insert_sql(table, [column], returning=["id"]), ["v?%"])
    assert result.last_insert_id == 1
    assert pg.fetch_one(f"SELECT {q(column)} FROM {q(table)}") == {column: "v?%"}
    pg.execute(f"INSERT INTO {q(table)} DEFAULT VALUES")
    assert pg.fetch_value(f"SELECT {q(column)} FROM {q(table)} WHERE id = 2") == "50%"
    assert [c.name for c in pg.get_columns(table)] == ["id", column]
    pg.drop_table(table)
    assert not pg.table_exists(table)


def test_last_insert_id(pg):
    pg.create_table(
        "things",
        [
            ColumnDef("id", T.BIGINT, primary_key=True, autoincrement=True),
            ColumnDef("name", T.TEXT),
        ],
    )
    plain = pg.execute("INSERT INTO things (name) VALUES ($1)", ["a"])
    assert plain.last_insert_id is None and plain.affected_rows == 1
    returning = pg.execute("INSERT INTO things (name) VALUES ($1) RETURNING id", ["b"])
    assert returning.last_insert_id == 2 and returning.rows == [(2,)]
    # GENERATED BY DEFAULT: an explicit key is accepted.
    pg.execute("INSERT INTO things (id, name) VALUES ($1, $2)", [100, "c"])
    many = pg.execute_many("INSERT INTO things (name) VALUES ($1)", [["d"], ["e"], ["f"]])
    assert isinstance(many, QueryResult) and many.affected_rows == 3
    assert pg.fetch_value("SELECT count(*) FROM things") == 6


SAME_COLUMNS = [
    ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True),
    ColumnDef("small", T.SMALLINT, nullable=False),
    ColumnDef("big", T.BIGINT, default=7),
    ColumnDef("f", T.FLOAT),
    ColumnDef("d", T.DOUBLE),
    ColumnDef("money", T.DECIMAL, precision=12, scale=2, nullable=False),
    ColumnDef("code", T.CHAR, length=3),
    ColumnDef("name", T.VARCHAR, length=50, unique=True, nullable=False, default="x"),
    ColumnDef("body", T.TEXT),
    ColumnDef("day", T.DATE),
    ColumnDef("at", T.TIME),
    ColumnDef("wall", T.DATETIME),
    ColumnDef("instant", T.TIMESTAMP, nullable=False),
    ColumnDef("raw", T.BLOB),
    ColumnDef("flag", T.BOOLEAN, default=False),
    ColumnDef("uid", T.UUID),
    ColumnDef("doc", T.JSON),
]


def test_get_columns_agrees_with_sqlite(pg, tmp_path):
    pg.create_table("same", SAME_COLUMNS)
    with SQLiteBackend(database=str(tmp_path / "same.db")) as lite:
        lite.create_table("same", SAME_COLUMNS)
        expected = [
            (c.name, c.nullable, c.primary_key, c.db_type) for c in lite.get_columns("same")
        ]
    got = [(c.name, c.nullable, c.primary_key, c.db_type) for c in pg.get_columns("same")]
    assert got == expected
    assert [c.name for c in SAME_COLUMNS] == [g[0] for g in got]


def test_get_columns_details(pg):
    pg.create_table("details", SAME_COLUMNS, constraints=["CHECK (big > 0)"])
    cols = {c.name: c for c in pg.get_columns("details")}
    assert cols["money"].type == "numeric(12,2)" and cols["money"].db_type is T.DECIMAL
    assert cols["name"].type == "character varying(50)" and cols["name"].default == "'x'"
    assert cols["big"].default == "7" and cols["flag"].default == "false"
    assert cols["id"].default is None and cols["id"].primary_key and not cols["id"].nullable
    assert cols["instant"].type == "timestamp with time zone"


def test_get_columns_and_table_exists_are_scoped_to_the_schema(pg):
    pg.create_table("scoped", [ColumnDef("a", T.INTEGER)])
    pg.execute("CREATE SCHEMA IF NOT EXISTS rhosocial_other")
    try:
        pg.execute("CREATE TABLE rhosocial_other.elsewhere (b integer)")
        assert pg.table_exists("scoped") and not pg.table_exists("elsewhere")
        assert pg.get_columns("elsewhere") == []
        assert not pg.table_exists("pg_class")  # a catalog table is not "ours"
        pg.execute("CREATE TEMPORARY TABLE scratch (t text)")
        assert pg.table_exists("scratch") and [c.name for c in pg.get_columns("scratch")] == ["t"]
    finally:
        pg.execute("DROP SCHEMA rhosocial_other CASCADE")


def test_composite_primary_key_and_views(pg):
    pg.create_table(
        "pairs",
        [
            ColumnDef("a", T.INTEGER, primary_key=True),
            ColumnDef("b", T.TEXT, primary_key=True),
            ColumnDef("c", T.TEXT),
        ],
    )
    assert [(c.name, c.primary_key, c.nullable) for c in pg.get_columns("pairs")] == [
        ("a", True, False),
        ("b", True, False),
        ("c", False, True),
    ]
    pg.execute("CREATE VIEW pair_view AS SELECT a, c FROM pairs")
    assert pg.table_exists("pair_view")
    assert [c.name for c in pg.get_columns("pair_view")] == ["a", "c"]
