"""The dialect base without a database: placeholders, quoting, types and DDL text."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from rhosocial.activerecord.backend import (
    ColumnDef,
    DatabaseType,
    InvalidIdentifierError,
    IsolationLevel,
    NotSupportedError,
    SQLBuilder,
    SQLDialectBase,
    TypeMapping,
    format_decimal,
    format_with_length,
    format_with_precision,
)
from rhosocial.activerecord.backend.helpers import fixed


class Qmark(SQLDialectBase):
    paramstyle = "qmark"
    type_mappings = {
        DatabaseType.INTEGER: TypeMapping("INTEGER"),
        DatabaseType.VARCHAR: TypeMapping("VARCHAR", format_with_length),
        DatabaseType.DECIMAL: TypeMapping("NUMERIC", format_decimal),
    }


class Format(Qmark):
    paramstyle = "format"
    identifier_quote = "`"


class Numeric(Qmark):
    paramstyle = "numeric"


class Short(Qmark):
    max_identifier_length = 8


# -- placeholders -----------------------------------------------------------------

@pytest.mark.parametrize("dialect, expected", [
    (Qmark(), "SELECT * FROM t WHERE a = ? AND b = ?"),
    (Format(), "SELECT * FROM t WHERE a = %s AND b = %s"),
    (Numeric(), "SELECT * FROM t WHERE a = $1 AND b = $2"),
])
def test_placeholders_are_converted(dialect, expected):
    assert dialect.convert_placeholders("SELECT * FROM t WHERE a = ? AND b = ?") == expected


@pytest.mark.parametrize("dialect, expected", [
    (Qmark(), "SELECT '?', \"?\", `?`, 'it''s ?', ?"),
    (Numeric(), "SELECT '?', \"?\", `?`, 'it''s ?', $1"),
    (Format(), "SELECT '?', \"?\", `?`, 'it''s ?', %s"),
])
def test_quoted_text_is_skipped(dialect, expected):
    assert dialect.convert_placeholders("SELECT '?', \"?\", `?`, 'it''s ?', ?") == expected


@pytest.mark.parametrize("dialect, expected", [
    (Qmark(), "SELECT a ? b, ?"),
    (Numeric(), "SELECT a ? b, $1"),
    (Format(), "SELECT a ? b, %s"),
])
def test_double_question_mark_is_a_literal(dialect, expected):
    assert dialect.convert_placeholders("SELECT a ?? b, ?") == expected


def test_numbering_starts_where_asked():
    assert Numeric().convert_placeholders("? + ?", start=3) == "$3 + $4"


def test_format_style_doubles_percent_everywhere():
    assert Format().convert_placeholders("SELECT '5%', a % 2 FROM t WHERE b = ?") == \
        "SELECT '5%%', a %% 2 FROM t WHERE b = %s"


def test_qmark_without_double_marks_is_unchanged_and_identical():
    text = "SELECT '%s', $1 FROM t WHERE a = ?"
    assert Qmark().convert_placeholders(text) is text


def test_unknown_paramstyle():
    class Odd(SQLDialectBase):
        paramstyle = "pyformat"

    with pytest.raises(NotSupportedError):
        Odd().placeholder(1)


# -- identifiers and literals -------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("plain", '"plain"'),
    ('a"b', '"a""b"'),
    ('""', '""""""'),
    ("a`b", '"a`b"'),
    ("with space", '"with space"'),
    ("表", '"表"'),
])
def test_quote_identifier_doubles_the_quote(name, expected):
    assert Qmark().quote_identifier(name) == expected


def test_backtick_dialect_doubles_backticks_and_percent():
    assert Format().quote_identifier("a`b") == "`a``b`"
    assert Format().quote_identifier('a"b') == '`a"b`'
    assert Format().quote_identifier("per % cent") == "`per %% cent`"


@pytest.mark.parametrize("bad", ["", "a\x00b", None, 1, b"bytes"])
def test_invalid_identifiers(bad):
    with pytest.raises(InvalidIdentifierError):
        Qmark().quote_identifier(bad)  # type: ignore[arg-type]


def test_identifier_length_is_counted_in_bytes():
    d = Short()
    assert d.quote_identifier("x" * 8) == '"xxxxxxxx"'
    with pytest.raises(InvalidIdentifierError, match="limit"):
        d.quote_identifier("x" * 9)
    with pytest.raises(InvalidIdentifierError):
        d.quote_identifier("表表表")  # 3 characters, 9 bytes


def test_quote_identifier_is_cached_but_consistent():
    d = Qmark()
    assert d.quote_identifier('a"b') is d.quote_identifier('a"b')


def test_quote_string():
    assert Qmark().quote_string("it's") == "'it''s'"
    assert Format().quote_string("5%") == "'5%%'"
    with pytest.raises(ValueError):
        Qmark().quote_string("a\x00b")


@pytest.mark.parametrize("value, expected", [
    (None, "NULL"), (True, "TRUE"), (False, "FALSE"), (3, "3"), (-1.5, "-1.5"),
    ("x'y", "'x''y'"), (Decimal("1.50"), "'1.50'"),
    (uuid.UUID(int=1), "'00000000-0000-0000-0000-000000000001'"),
])
def test_literals(value, expected):
    assert Qmark().literal(value) == expected


def test_literal_date_is_quoted_text():
    assert "2024-01-02" in Qmark().literal(dt.date(2024, 1, 2))


# -- helpers and type mappings --------------------------------------------------------

def test_format_with_length():
    assert format_with_length("VARCHAR", {"length": 255}) == "VARCHAR(255)"
    assert format_with_length("VARCHAR", {}) == "VARCHAR"
    assert format_with_length("VARCHAR", {"length": None}) == "VARCHAR"
    assert format_with_length("CHAR", {"length": 1, "scale": 3}) == "CHAR(1)"


@pytest.mark.parametrize("bad", [0, -1, "10", 1.5, True, "10); DROP TABLE x; --"])
def test_format_with_length_rejects(bad):
    with pytest.raises(ValueError):
        format_with_length("VARCHAR", {"length": bad})


@pytest.mark.parametrize("params, expected", [
    ({}, "NUMERIC"),
    ({"precision": 10}, "NUMERIC(10)"),
    ({"precision": 10, "scale": 2}, "NUMERIC(10,2)"),
    ({"precision": 5, "scale": 0}, "NUMERIC(5,0)"),
    ({"precision": 5, "scale": 5}, "NUMERIC(5,5)"),
    ({"precision": 38, "scale": 9}, "NUMERIC(38,9)"),
])
def test_format_decimal(params, expected):
    assert format_decimal("NUMERIC", params) == expected


@pytest.mark.parametrize("params", [
    {"scale": 2}, {"precision": 2, "scale": 3}, {"precision": 0}, {"precision": -1},
    {"precision": 10, "scale": -1}, {"precision": "10"}, {"precision": 10, "scale": 1.5},
    {"precision": True},
])
def test_format_decimal_rejects(params):
    with pytest.raises(ValueError):
        format_decimal("NUMERIC", params)


def test_format_with_precision():
    assert format_with_precision("DATETIME", {}) == "DATETIME"
    assert format_with_precision("DATETIME", {"precision": 0}) == "DATETIME(0)"
    assert format_with_precision("DATETIME", {"precision": 6}) == "DATETIME(6)"
    with pytest.raises(ValueError):
        format_with_precision("DATETIME", {"precision": -1})


def test_fixed_ignores_params():
    assert fixed("JSONB")("JSON", {"length": 5}) == "JSONB"


def test_type_mapping():
    plain = TypeMapping("TEXT")
    sized = TypeMapping("VARCHAR", format_with_length)
    assert plain.render({"length": 5}) == "TEXT"
    assert sized.render({"length": 5}) == "VARCHAR(5)"
    assert sized.render({}) == "VARCHAR"
    assert tuple(sized) == ("VARCHAR", format_with_length)
    assert TypeMapping("VARCHAR", format_with_length) == sized


def test_get_column_type():
    d = Qmark()
    assert d.get_column_type(DatabaseType.VARCHAR, length=9) == "VARCHAR(9)"
    assert d.get_column_type(DatabaseType.CUSTOM, custom_type="GEOMETRY") == "GEOMETRY"
    with pytest.raises(NotSupportedError, match="BLOB"):
        d.get_column_type(DatabaseType.BLOB)


# -- DDL, DML and transaction text ----------------------------------------------------

def test_create_table_sql_ansi():
    text = Qmark().create_table_sql("t", [
        ColumnDef("id", DatabaseType.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("code", DatabaseType.VARCHAR, length=3, nullable=False, unique=True, default="x"),
        ColumnDef("n", DatabaseType.INTEGER, check="n > 0"),
    ])
    assert text == ('CREATE TABLE "t" ("id" INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, '
                    "\"code\" VARCHAR(3) NOT NULL UNIQUE DEFAULT 'x', \"n\" INTEGER CHECK (n > 0))")


def test_create_table_sql_needs_columns_and_valid_actions():
    with pytest.raises(ValueError):
        Qmark().create_table_sql("t", [])
    with pytest.raises(ValueError):
        Qmark().create_table_sql("t", [ColumnDef("p", DatabaseType.INTEGER, references=("o", "id"),
                                                 on_delete="EXPLODE")])


def test_index_and_drop_sql():
    d = Qmark()
    assert d.create_index_sql("t", ["a", "b"]) == 'CREATE INDEX "ix_t_a_b" ON "t" ("a", "b")'
    assert d.create_index_sql("t", ["a"], "u", unique=True, if_not_exists=True) == \
        'CREATE UNIQUE INDEX IF NOT EXISTS "u" ON "t" ("a")'
    assert d.drop_table_sql('a"b', if_exists=True) == 'DROP TABLE IF EXISTS "a""b"'


def test_dml_templates_number_placeholders_in_order():
    d = Numeric()
    assert d.insert_sql("t", ["a", "b"], returning=["id"]) == \
        'INSERT INTO "t" ("a", "b") VALUES ($1, $2) RETURNING "id"'
    assert d.insert_sql("t", []) == 'INSERT INTO "t" DEFAULT VALUES'
    assert d.update_sql("t", ["a", "b"], ["id", "v"]) == \
        'UPDATE "t" SET "a" = $1, "b" = $2 WHERE "id" = $3 AND "v" = $4'
    assert d.delete_sql("t", ["id"]) == 'DELETE FROM "t" WHERE "id" = $1'
    assert d.insert_rows_sql("t", ["a", "b"], 3) == \
        'INSERT INTO "t" ("a", "b") VALUES ($1, $2), ($3, $4), ($5, $6)'
    assert Qmark().insert_rows_sql("t", ["a"], 2) == 'INSERT INTO "t" ("a") VALUES (?), (?)'


def test_limit_offset_and_locking():
    d = Qmark()
    assert d.limit_offset_sql(10, 5) == " LIMIT 10 OFFSET 5"
    assert d.limit_offset_sql(None, None) == ""
    assert d.limit_offset_sql("3", 0) == " LIMIT 3"
    with pytest.raises(ValueError):
        d.limit_offset_sql("3; DROP TABLE t", None)
    assert d.for_update_sql(nowait=True) == " FOR UPDATE NOWAIT"
    assert d.for_update_sql(skip_locked=True, read=True) == " FOR SHARE SKIP LOCKED"


def test_transaction_sql():
    d = Qmark()
    assert d.begin_sql(None, False) == ["BEGIN"]
    assert d.begin_sql(IsolationLevel.SERIALIZABLE, True) == ["BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY"]
    assert d.savepoint_sql("sp_1") == 'SAVEPOINT "sp_1"'
    assert d.release_savepoint_sql("sp_1") == 'RELEASE SAVEPOINT "sp_1"'
    assert d.rollback_to_savepoint_sql("sp_1") == 'ROLLBACK TO SAVEPOINT "sp_1"'


# -- builder -------------------------------------------------------------------------------

def test_builder_numbers_params_across_fragments():
    b = Numeric().create_builder()
    assert isinstance(b, SQLBuilder)
    b.append("SELECT * FROM ").append(b.quote_identifier("t")).append(" WHERE a = ")
    b.append(b.add_param(1))
    b.append_fragment(" AND b IN (?, ?) AND c = '?'", ["x", "y"])
    assert b.build() == ('SELECT * FROM "t" WHERE a = $1 AND b IN ($2, $3) AND c = \'?\'',
                         [1, "x", "y"])
    assert b.get_placeholder(7) == "$7"
