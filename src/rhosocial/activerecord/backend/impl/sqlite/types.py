"""SQLite column types and value conversions.

SQLite decides storage by type *affinity* read from the declared type name,
so each generic type gets a name that says what it holds and that yields the
right affinity. ``JSON_TEXT`` has TEXT affinity and keeps JSON as written.
A decimal of at most 15 digits (``DECIMAL(10,2)``, money) gets NUMERIC
affinity: SQLite stores it as a number, which keeps 15 significant digits,
so it compares, sorts and sums as a number, and reads rounded to the declared
scale (``decimal_reader``) are exact. A longer or unbounded decimal is
``DECIMAL_TEXT`` (TEXT affinity): exact digits, compared as text.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import uuid
from typing import Any, Callable, Dict, Self

from ...dialect import ColumnType, TypeMapping
from ...helpers import finite_real, format_decimal, format_with_length, json_dumps, json_loads
from ...typing import DatabaseType

#: Significant decimal digits SQLite keeps when it stores text as a number (a REAL).
FLOAT_DIGITS = 15

SQLITE_TYPE_MAPPINGS: Dict[DatabaseType, TypeMapping] = {
    DatabaseType.TINYINT: TypeMapping("TINYINT"),
    DatabaseType.SMALLINT: TypeMapping("SMALLINT"),
    DatabaseType.INTEGER: TypeMapping("INTEGER"),
    DatabaseType.BIGINT: TypeMapping("BIGINT"),
    DatabaseType.FLOAT: TypeMapping("FLOAT"),
    DatabaseType.DOUBLE: TypeMapping("DOUBLE"),
    DatabaseType.DECIMAL: TypeMapping("DECIMAL", lambda name, params: format_decimal(
        name if (params.get("precision") or 99) <= FLOAT_DIGITS else "DECIMAL_TEXT", params)),
    DatabaseType.CHAR: TypeMapping("CHAR", format_with_length),
    DatabaseType.VARCHAR: TypeMapping("VARCHAR", format_with_length),
    DatabaseType.TEXT: TypeMapping("TEXT"),
    DatabaseType.DATE: TypeMapping("DATE"),
    DatabaseType.TIME: TypeMapping("TIME"),
    DatabaseType.DATETIME: TypeMapping("DATETIME"),
    DatabaseType.TIMESTAMP: TypeMapping("TIMESTAMP"),
    DatabaseType.BLOB: TypeMapping("BLOB"),
    DatabaseType.BOOLEAN: TypeMapping("BOOLEAN"),
    DatabaseType.UUID: TypeMapping("UUID_TEXT"),
    DatabaseType.JSON: TypeMapping("JSON_TEXT"),
    DatabaseType.ARRAY: TypeMapping("JSON_TEXT"),
    DatabaseType.CUSTOM: TypeMapping("TEXT"),
}

# Declared type name (upper case, without size) -> generic type, for get_columns().
SQLITE_NATIVE_TYPES: Dict[str, DatabaseType] = {
    "TINYINT": DatabaseType.TINYINT,
    "SMALLINT": DatabaseType.SMALLINT,
    "INTEGER": DatabaseType.INTEGER,
    "INT": DatabaseType.INTEGER,
    "BIGINT": DatabaseType.BIGINT,
    "FLOAT": DatabaseType.FLOAT,
    "REAL": DatabaseType.DOUBLE,
    "DOUBLE": DatabaseType.DOUBLE,
    "DECIMAL_TEXT": DatabaseType.DECIMAL,
    "NUMERIC": DatabaseType.DECIMAL,
    "DECIMAL": DatabaseType.DECIMAL,
    "CHAR": DatabaseType.CHAR,
    "VARCHAR": DatabaseType.VARCHAR,
    "TEXT": DatabaseType.TEXT,
    "DATE": DatabaseType.DATE,
    "TIME": DatabaseType.TIME,
    "DATETIME": DatabaseType.DATETIME,
    "TIMESTAMP": DatabaseType.TIMESTAMP,
    "BLOB": DatabaseType.BLOB,
    "BOOLEAN": DatabaseType.BOOLEAN,
    "UUID_TEXT": DatabaseType.UUID,
    "JSON_TEXT": DatabaseType.JSON,
    # Spellings other tools write (SQLite keeps the declared text): the national and long forms.
    "NVARCHAR": DatabaseType.VARCHAR,
    "NCHAR": DatabaseType.CHAR,
    "CHARACTER": DatabaseType.CHAR,
    "VARYING CHARACTER": DatabaseType.VARCHAR,
    "NATIVE CHARACTER": DatabaseType.CHAR,
    "CHARACTER VARYING": DatabaseType.VARCHAR,
    "CLOB": DatabaseType.TEXT,
    "DOUBLE PRECISION": DatabaseType.DOUBLE,
    "MEDIUMINT": DatabaseType.INTEGER,
    "INT2": DatabaseType.SMALLINT,
    "INT8": DatabaseType.BIGINT,
    "BOOL": DatabaseType.BOOLEAN,
}


def datetime_to_text(value: _dt.datetime) -> str:
    """Write a datetime the way SQLite does (``YYYY-MM-DD HH:MM:SS``), an offset, if any, kept.

    Microseconds are written only when there are some (``.ffffff``), so values
    compare right, as text, with what SQLite's own ``datetime()`` and
    ``CURRENT_TIMESTAMP`` and most other tools write: ``'2021-01-01 00:00:00'``
    is not earlier than the first second of 2021.
    """
    return value.isoformat(" ", "microseconds" if value.microsecond else "seconds")


def timestamp_to_text(value: _dt.datetime) -> str:
    """Write an instant: naive values are taken as UTC, aware ones keep their offset."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.isoformat(" ", "microseconds" if value.microsecond else "seconds")


def text_to_timestamp(value: Any) -> _dt.datetime:
    """Read an instant; the result is always timezone-aware."""
    result = value if isinstance(value, _dt.datetime) else _dt.datetime.fromisoformat(value)
    return result if result.tzinfo is not None else result.replace(tzinfo=_dt.timezone.utc)


def _parse(parser):
    def convert(value: Any) -> Any:
        return parser(value) if isinstance(value, str) else value

    convert.__rhosocial_str_parser__ = parser  # generated row loaders inline the call
    return convert


def _decimal_to_text(value: Any) -> str:
    if isinstance(value, float):
        value = decimal.Decimal(repr(value))
    return str(value)


SQLITE_PARAM_ADAPTERS: Dict[type, Callable[[Any], Any]] = {
    float: finite_real,  # SQLite would store NaN as NULL
    decimal.Decimal: str,
    _dt.datetime: datetime_to_text,
    _dt.date: _dt.date.isoformat,
    _dt.time: _dt.time.isoformat,
    uuid.UUID: str,
    dict: json_dumps,
    list: json_dumps,
}

SQLITE_TO_DB: Dict[DatabaseType, Callable[[Any], Any]] = {
    DatabaseType.FLOAT: finite_real,
    DatabaseType.DOUBLE: finite_real,
    DatabaseType.DECIMAL: _decimal_to_text,
    DatabaseType.DATETIME: datetime_to_text,
    DatabaseType.TIMESTAMP: timestamp_to_text,
    DatabaseType.DATE: _dt.date.isoformat,
    DatabaseType.TIME: _dt.time.isoformat,
    DatabaseType.UUID: str,
    DatabaseType.JSON: json_dumps,
    DatabaseType.ARRAY: json_dumps,
}

SQLITE_FROM_DB: Dict[DatabaseType, Callable[[Any], Any]] = {
    DatabaseType.DECIMAL: lambda v: decimal.Decimal(v) if isinstance(v, str) else decimal.Decimal(str(v)),
    DatabaseType.BOOLEAN: bool,
    DatabaseType.DATETIME: _parse(_dt.datetime.fromisoformat),
    DatabaseType.TIMESTAMP: text_to_timestamp,
    DatabaseType.DATE: _parse(_dt.date.fromisoformat),
    DatabaseType.TIME: _parse(_dt.time.fromisoformat),
    DatabaseType.UUID: _parse(uuid.UUID),
    DatabaseType.JSON: json_loads,
    DatabaseType.ARRAY: json_loads,
}


def decimal_reader(scale: int, precision: int | None = None) -> Callable[[Any], decimal.Decimal]:
    """Return a reader giving Decimals rounded (half even) to ``scale`` places."""
    step = decimal.Decimal(1).scaleb(-scale)
    context = decimal.Context(prec=max(28, (precision or 0) + 2))

    def read(value: Any) -> decimal.Decimal:
        if isinstance(value, float):
            value = repr(value)  # the shortest text of the float, not its binary expansion
        return decimal.Decimal(value).quantize(step, context=context)

    return read


class SQLiteTypes:
    """SQLite's storage classes, for ``DatabaseType.CUSTOM`` columns."""

    INTEGER = "INTEGER"
    REAL = "REAL"
    TEXT = "TEXT"
    BLOB = "BLOB"
    NUMERIC = "NUMERIC"


class SQLiteColumnType(ColumnType):
    """A SQLite column type with constraints (``str()`` gives the DDL fragment)."""

    mappings = SQLITE_TYPE_MAPPINGS
    autoincrement_keyword = "AUTOINCREMENT"

    @classmethod
    def get_type(cls, db_type: DatabaseType, **params: Any) -> Self:
        """Create a SQLite column type; an auto-increment key must be ``INTEGER``."""
        column = super().get_type(db_type, **params)
        if params.get("autoincrement"):
            column.sql_type = "INTEGER"
            column.constraints["primary_key"] = True
        return column
