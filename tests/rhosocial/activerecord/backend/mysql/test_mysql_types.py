"""Values round-trip through MySQL columns; the catalog maps types back."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Context, Decimal

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

T = DatabaseType
UTC = dt.UTC
PLUS2 = dt.timezone(dt.timedelta(hours=2))


def _roundtrip(backend, db_type, value, **column):
    backend.create_table("v", [ColumnDef("id", T.INTEGER, primary_key=True),
                               ColumnDef("x", db_type, **column)])
    to_db = backend.dialect.to_db(db_type)
    backend.execute("INSERT INTO `v` VALUES (%s, %s)", [1, to_db(value) if to_db else value])
    return backend.fetch_one("SELECT `x` FROM `v`", column_types={"x": db_type})["x"]


@pytest.mark.parametrize("db_type, value", [
    (T.DECIMAL, Decimal("12345678901234567890.123456789")),
    (T.UUID, uuid.UUID("12345678-1234-5678-1234-567812345678")),
    (T.JSON, {"a": [1, 2.5, None, True], "ü": "😀"}),
    (T.ARRAY, [1, "two", {"three": 3}]),
    (T.TEXT, "héllo 😀𝄞 wörld"),
    (T.TEXT, "nul\x00inside\x00"),
    (T.VARCHAR, "astral 😀🎉"),
    (T.BLOB, bytes(range(256))),
    (T.BIGINT, 2**63 - 1),
    (T.BIGINT, -(2**63)),
    (T.BOOLEAN, True),
    (T.BOOLEAN, False),
    (T.DOUBLE, 1.0000000000000002),
    (T.DATE, dt.date(1000, 1, 1)),
    (T.TIME, dt.time(23, 59, 59, 999999)),
    (T.DATETIME, dt.datetime(9999, 12, 31, 23, 59, 59, 999999)),
])
def test_roundtrip(mysql, db_type, value):
    got = _roundtrip(mysql, db_type, value)
    assert got == value
    assert type(got) is type(value)


def test_decimal_keeps_every_digit(mysql):
    value = Decimal("12345678901234567890.123456789")
    got = _roundtrip(mysql, T.DECIMAL, value)
    assert got == value and str(got.normalize(Context(prec=100))) == "12345678901234567890.123456789"


def test_timestamp_is_an_instant_in_utc(mysql):
    aware = dt.datetime(2024, 6, 1, 12, 30, 0, 123456, tzinfo=PLUS2)
    got = _roundtrip(mysql, T.TIMESTAMP, aware)
    assert got == aware and got.tzinfo is UTC
    assert got.hour == 10
    # Naive values passed straight as parameters are stored as given (taken as UTC).
    stored = mysql.fetch_value("SELECT CAST(`x` AS CHAR) FROM `v`")
    assert stored == "2024-06-01 10:30:00.123456"


def test_datetime_naive_stays_naive_and_aware_becomes_utc(mysql):
    mysql.create_table("w", [ColumnDef("id", T.INTEGER, primary_key=True), ColumnDef("x", T.DATETIME)])
    naive = dt.datetime(2024, 1, 1, 8, 0)
    aware = dt.datetime(2024, 1, 1, 8, 0, tzinfo=PLUS2)
    # Aware values are adapted by type even without a column converter.
    mysql.execute("INSERT INTO `w` VALUES (%s, %s), (%s, %s)", [1, naive, 2, aware])
    rows = mysql.execute("SELECT `x` FROM `w` ORDER BY `id`", column_types={"x": T.DATETIME}).rows
    assert rows == [(naive,), (dt.datetime(2024, 1, 1, 6, 0),)]
    assert rows[1][0].tzinfo is None


def test_session_time_zone_does_not_shift_values(mysql):
    mysql.create_table("n", [ColumnDef("x", T.DATETIME)])
    mysql.execute("INSERT INTO `n` VALUES (NOW(6))")
    server_now = mysql.fetch_value("SELECT `x` FROM `n`")
    utc_now = dt.datetime.now(UTC).replace(tzinfo=None)
    assert abs((server_now - utc_now).total_seconds()) < 120


def test_large_text_and_blob(mysql):
    text = "ü😀" * 300_000  # 1.8 MB of UTF-8
    assert _roundtrip(mysql, T.TEXT, text) == text
    mysql.drop_table("v")
    blob = bytes(range(256)) * 8192  # 2 MB
    assert _roundtrip(mysql, T.BLOB, blob) == blob


def test_astral_characters_are_distinct_and_case_matters(mysql):
    mysql.create_table("u", [ColumnDef("s", T.VARCHAR, length=10, unique=True)])
    mysql.execute_many("INSERT INTO `u` VALUES (%s)", [["😀"], ["😁"], ["a"], ["A"], ["a "]])
    assert mysql.fetch_value("SELECT COUNT(*) FROM `u` WHERE `s` = %s", ["😀"]) == 1
    assert mysql.fetch_value("SELECT COUNT(*) FROM `u` WHERE `s` = %s", ["a"]) == 1
    assert mysql.fetch_value("SELECT %s = %s", ["a", "A"]) == 0


def test_json_column_rejects_invalid_json(mysql):
    from rhosocial.activerecord.backend import CheckViolationError, DataError

    mysql.create_table("j", [ColumnDef("x", T.JSON)])
    with pytest.raises((CheckViolationError, DataError)):
        mysql.execute("INSERT INTO `j` VALUES (%s)", ["{not json"])


def test_percent_and_odd_identifiers(mysql):
    q = mysql.dialect.quote_identifier
    mysql.create_table("t%?`x", [ColumnDef("c%", T.VARCHAR, length=20),
                                 ColumnDef("d?", T.VARCHAR, length=20, default="50%")])
    mysql.execute(f"INSERT INTO {q('t%?`x')} ({q('c%')}) VALUES (%s)", ["100%"])
    assert mysql.fetch_all(f"SELECT * FROM {q('t%?`x')}") == [{"c%": "100%", "d?": "50%"}]
    assert mysql.table_exists("t%?`x")
    assert [c.name for c in mysql.get_columns("t%?`x")] == ["c%", "d?"]
    # Raw SQL without parameters: a lone % is literal.
    assert mysql.fetch_value("SELECT '100%'") == "100%"
    assert mysql.fetch_value("SELECT 'a' LIKE 'a%'") == 1
    mysql.drop_table("t%?`x")
    assert not mysql.table_exists("t%?`x")


def test_last_insert_id_and_affected_rows(mysql):
    mysql.create_table("a", [ColumnDef("id", T.BIGINT, primary_key=True, autoincrement=True),
                             ColumnDef("n", T.INTEGER)])
    first = mysql.execute("INSERT INTO `a` (`n`) VALUES (%s)", [1])
    second = mysql.execute("INSERT INTO `a` (`n`) VALUES (%s)", [1])
    assert (first.last_insert_id, second.last_insert_id) == (1, 2)
    assert mysql.execute(mysql.dialect.insert_default_values_sql("a")).last_insert_id == 3
    # Matched rows, not changed rows, as on every other backend.
    assert mysql.execute("UPDATE `a` SET `n` = 1").affected_rows == 3


COLUMNS = [
    ColumnDef("id", T.INTEGER, primary_key=True),
    ColumnDef("tiny", T.TINYINT), ColumnDef("small", T.SMALLINT, nullable=False),
    ColumnDef("big", T.BIGINT), ColumnDef("f", T.FLOAT), ColumnDef("d", T.DOUBLE),
    ColumnDef("dec", T.DECIMAL, precision=10, scale=2), ColumnDef("ch", T.CHAR, length=3),
    ColumnDef("vc", T.VARCHAR, length=50, nullable=False), ColumnDef("tx", T.TEXT),
    ColumnDef("dt", T.DATE), ColumnDef("tm", T.TIME), ColumnDef("dtm", T.DATETIME),
    ColumnDef("bl", T.BLOB), ColumnDef("bo", T.BOOLEAN), ColumnDef("uu", T.UUID),
    ColumnDef("js", T.JSON),
]


def test_get_columns_agrees_with_sqlite(mysql, tmp_path):
    mysql.create_table("cols", COLUMNS)
    lite = SQLiteBackend(database=str(tmp_path / "cols.db"))
    with lite:
        lite.create_table("cols", COLUMNS)
        expected = [(c.name, c.nullable, c.primary_key, c.db_type) for c in lite.get_columns("cols")]
    got = [(c.name, c.nullable, c.primary_key, c.db_type) for c in mysql.get_columns("cols")]
    assert got == expected
    assert got == [(c.name, c.nullable and not c.primary_key, c.primary_key, c.db_type) for c in COLUMNS]


def test_get_columns_known_differences(mysql):
    mysql.create_table("diff", [ColumnDef("ts", T.TIMESTAMP), ColumnDef("c36", T.CHAR, length=36),
                                ColumnDef("arr", T.ARRAY)])
    by_name = {c.name: c.db_type for c in mysql.get_columns("diff")}
    # TIMESTAMP is stored as DATETIME(6); ARRAY as JSON; a utf8mb4 CHAR(36) is not a UUID.
    assert by_name == {"ts": T.DATETIME, "c36": T.CHAR, "arr": T.JSON}


def test_catalog_is_scoped_to_the_current_database(mysql):
    assert not mysql.table_exists("COLUMNS")  # information_schema's, not ours
    assert mysql.get_columns("no_such_table") == []
    assert not mysql.table_exists("user")  # mysql.user
