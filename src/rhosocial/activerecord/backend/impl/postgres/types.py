"""PostgreSQL column types and value conversions.

psycopg 3 already converts most Python values both ways: ``Decimal``,
``UUID``, aware and naive ``datetime``, ``date``, ``time``, ``bytes``,
``bool`` and lists (as arrays). Only JSON needs help, because a ``dict``
has no SQL type of its own: it is wrapped in psycopg's ``Jsonb``. Every
other converter is absent (identity), so the hot path does no Python work.

Instants (``DatabaseType.TIMESTAMP``) are ``TIMESTAMPTZ``. The session runs
with ``TimeZone = 'UTC'``, so a naive value is taken as UTC and results come
back as aware UTC datetimes. ``DatabaseType.DATETIME`` is ``TIMESTAMP``
without time zone: a wall-clock value, returned naive.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Self

from ...dialect import ColumnType, Converter, TypeMapping
from ...helpers import format_decimal, format_with_length, format_with_precision, json_dumps
from ...typing import DatabaseType

try:  # The driver is optional: this module must import without it.
    from psycopg.types.json import Jsonb as _Jsonb
except ImportError:  # pragma: no cover - exercised in a subprocess test
    _Jsonb = None  # type: ignore[assignment,misc]

INTEGER_TYPES = frozenset(
    {
        DatabaseType.TINYINT,
        DatabaseType.SMALLINT,
        DatabaseType.INTEGER,
        DatabaseType.BIGINT,
    }
)


def format_array(db_type: str, params: Mapping[str, Any]) -> str:
    """Return ``<element type>[]`` for ``params["item_type"]`` (``TEXT[]`` without one)."""
    item_type = params.get("item_type")
    if item_type is None:
        return f"{db_type}[]"
    if item_type is DatabaseType.ARRAY:
        raise ValueError("An ARRAY column's item_type cannot itself be ARRAY")
    if item_type is DatabaseType.CUSTOM:
        custom = params.get("custom_type")
        if not custom:
            raise ValueError("A CUSTOM array item_type needs custom_type")
        return f"{custom}[]"
    mapping = POSTGRES_TYPE_MAPPINGS.get(item_type)
    if mapping is None:
        raise ValueError(f"No PostgreSQL type for array items of type {item_type!r}")
    element_params = {k: v for k, v in params.items() if k != "item_type"}
    return f"{mapping.render(element_params)}[]"


POSTGRES_TYPE_MAPPINGS: Dict[DatabaseType, TypeMapping] = {
    DatabaseType.TINYINT: TypeMapping("SMALLINT"),
    DatabaseType.SMALLINT: TypeMapping("SMALLINT"),
    DatabaseType.INTEGER: TypeMapping("INTEGER"),
    DatabaseType.BIGINT: TypeMapping("BIGINT"),
    DatabaseType.FLOAT: TypeMapping("REAL"),
    DatabaseType.DOUBLE: TypeMapping("DOUBLE PRECISION"),
    DatabaseType.DECIMAL: TypeMapping("NUMERIC", format_decimal),
    DatabaseType.CHAR: TypeMapping("CHAR", format_with_length),
    DatabaseType.VARCHAR: TypeMapping("VARCHAR", format_with_length),
    DatabaseType.TEXT: TypeMapping("TEXT"),
    DatabaseType.DATE: TypeMapping("DATE"),
    DatabaseType.TIME: TypeMapping("TIME", format_with_precision),
    DatabaseType.DATETIME: TypeMapping("TIMESTAMP", format_with_precision),
    DatabaseType.TIMESTAMP: TypeMapping("TIMESTAMPTZ", format_with_precision),
    DatabaseType.BLOB: TypeMapping("BYTEA"),
    DatabaseType.BOOLEAN: TypeMapping("BOOLEAN"),
    DatabaseType.UUID: TypeMapping("UUID"),
    DatabaseType.JSON: TypeMapping("JSONB"),
    DatabaseType.ARRAY: TypeMapping("TEXT", format_array),
    DatabaseType.CUSTOM: TypeMapping("TEXT"),
}

# pg_type.typname -> generic type, for get_columns(); arrays are recognised by category.
POSTGRES_NATIVE_TYPES: Dict[str, DatabaseType] = {
    "int2": DatabaseType.SMALLINT,
    "int4": DatabaseType.INTEGER,
    "int8": DatabaseType.BIGINT,
    "float4": DatabaseType.FLOAT,
    "float8": DatabaseType.DOUBLE,
    "numeric": DatabaseType.DECIMAL,
    "bpchar": DatabaseType.CHAR,
    "varchar": DatabaseType.VARCHAR,
    "text": DatabaseType.TEXT,
    "date": DatabaseType.DATE,
    "time": DatabaseType.TIME,
    "timestamp": DatabaseType.DATETIME,
    "timestamptz": DatabaseType.TIMESTAMP,
    "bytea": DatabaseType.BLOB,
    "bool": DatabaseType.BOOLEAN,
    "uuid": DatabaseType.UUID,
    "jsonb": DatabaseType.JSON,
    "json": DatabaseType.JSON,
}


def to_jsonb(value: Any) -> Any:
    """Wrap a value for a JSONB column (a ``str`` becomes a JSON string, as elsewhere)."""
    if _Jsonb is None or isinstance(value, _Jsonb):
        return value
    return _Jsonb(value, dumps=json_dumps)


class Array(list):
    """A list bound as a PostgreSQL array.

    A plain ``list`` given to ``execute()`` is JSON, as ``ColumnTypes`` maps
    it, and is sent as JSONB. Wrap it (or convert it with the ARRAY column's
    ``to_db`` converter) to send an array instead: ``Array([1, 2])`` for an
    ``INTEGER[]`` column or for ``= ANY($1)``.
    """

    __slots__ = ()


def to_array(value: Any) -> Any:
    """Mark a sequence for an ARRAY column."""
    if isinstance(value, Array) or not isinstance(value, (list, tuple)):
        return value
    return Array(value)


# Python type (exact) -> adapter for values bound through execute().
POSTGRES_PARAM_ADAPTERS: Dict[type, Converter] = {
    dict: to_jsonb,
    list: to_jsonb,
}

POSTGRES_TO_DB: Dict[DatabaseType, Converter] = {
    DatabaseType.JSON: to_jsonb,
    DatabaseType.ARRAY: to_array,
}

# psycopg returns native Python values for every mapped type.
POSTGRES_FROM_DB: Dict[DatabaseType, Converter] = {}

_QUOTED_DEFAULT = re.compile(r"^'((?:[^']|'')*)'::[\w .\[\]\"]+$")


def normalize_default(expression: str | None) -> str | None:
    """Drop the type cast PostgreSQL adds to a literal default (``'a'::text`` -> ``'a'``)."""
    if expression is None:
        return None
    match = _QUOTED_DEFAULT.match(expression)
    if match:
        return f"'{match.group(1)}'"
    return "NULL" if expression.startswith("NULL::") else expression


class PostgresTypes:
    """PostgreSQL types without a generic counterpart, for ``DatabaseType.CUSTOM`` columns."""

    JSON = "JSON"
    INTERVAL = "INTERVAL"
    INET = "INET"
    CIDR = "CIDR"
    MACADDR = "MACADDR"
    TSVECTOR = "TSVECTOR"
    TIMETZ = "TIMETZ"
    MONEY = "MONEY"
    XML = "XML"
    HSTORE = "HSTORE"


class PostgresColumnType(ColumnType):
    """A PostgreSQL column type with constraints (``str()`` gives the DDL fragment).

    ``dialect_class`` (for default literals) is set by ``dialect.py``, which imports this module.
    """

    mappings = POSTGRES_TYPE_MAPPINGS
    autoincrement_keyword = "GENERATED BY DEFAULT AS IDENTITY"

    @classmethod
    def get_type(cls, db_type: DatabaseType, **params: Any) -> Self:
        """Create a PostgreSQL column type; an identity key keeps an integer type (else BIGINT)."""
        column = super().get_type(db_type, **params)
        if params.get("autoincrement"):
            if db_type not in INTEGER_TYPES:
                column.sql_type = "BIGINT"
            column.constraints["primary_key"] = True
        return column
