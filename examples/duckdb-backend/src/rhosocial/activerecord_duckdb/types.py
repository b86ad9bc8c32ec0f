"""DuckDB column types and value conversions."""
from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from rhosocial.activerecord.backend import ColumnType, DatabaseType, TypeMapping
from rhosocial.activerecord.backend.helpers import (
    format_decimal,
    format_with_length,
    json_dumps,
    json_loads,
)


def format_duckdb_decimal(db_type: str, params: Mapping[str, Any]) -> str:
    """Size a DECIMAL; without a precision use (38,10), as DuckDB's own default is only (18,3)."""
    if params.get("precision") is None and params.get("scale") is None:
        return f"{db_type}(38,10)"
    return format_decimal(db_type, params)


DUCKDB_TYPE_MAPPINGS: dict[DatabaseType, TypeMapping] = {
    DatabaseType.TINYINT: TypeMapping("TINYINT"),
    DatabaseType.SMALLINT: TypeMapping("SMALLINT"),
    DatabaseType.INTEGER: TypeMapping("INTEGER"),
    DatabaseType.BIGINT: TypeMapping("BIGINT"),
    DatabaseType.FLOAT: TypeMapping("FLOAT"),
    DatabaseType.DOUBLE: TypeMapping("DOUBLE"),
    DatabaseType.DECIMAL: TypeMapping("DECIMAL", format_duckdb_decimal),
    DatabaseType.CHAR: TypeMapping("VARCHAR", format_with_length),
    DatabaseType.VARCHAR: TypeMapping("VARCHAR", format_with_length),
    DatabaseType.TEXT: TypeMapping("VARCHAR"),
    DatabaseType.DATE: TypeMapping("DATE"),
    DatabaseType.TIME: TypeMapping("TIME"),
    DatabaseType.DATETIME: TypeMapping("TIMESTAMP"),
    DatabaseType.TIMESTAMP: TypeMapping("TIMESTAMPTZ"),
    DatabaseType.BLOB: TypeMapping("BLOB"),
    DatabaseType.BOOLEAN: TypeMapping("BOOLEAN"),
    DatabaseType.UUID: TypeMapping("UUID"),
    DatabaseType.JSON: TypeMapping("JSON"),
    DatabaseType.ARRAY: TypeMapping("JSON"),
    DatabaseType.CUSTOM: TypeMapping("VARCHAR"),
}

# Catalog type name (without size) -> generic type, for get_columns(). DuckDB keeps no
# VARCHAR length, so every string column reads back as TEXT.
DUCKDB_NATIVE_TYPES: dict[str, DatabaseType] = {
    "TINYINT": DatabaseType.TINYINT,
    "SMALLINT": DatabaseType.SMALLINT,
    "INTEGER": DatabaseType.INTEGER,
    "BIGINT": DatabaseType.BIGINT,
    "FLOAT": DatabaseType.FLOAT,
    "DOUBLE": DatabaseType.DOUBLE,
    "DECIMAL": DatabaseType.DECIMAL,
    "VARCHAR": DatabaseType.TEXT,
    "DATE": DatabaseType.DATE,
    "TIME": DatabaseType.TIME,
    "TIMESTAMP": DatabaseType.DATETIME,
    "TIMESTAMP WITH TIME ZONE": DatabaseType.TIMESTAMP,
    "BLOB": DatabaseType.BLOB,
    "BOOLEAN": DatabaseType.BOOLEAN,
    "UUID": DatabaseType.UUID,
    "JSON": DatabaseType.JSON,
}


def instant_to_db(value: Any) -> Any:
    """Store an instant: a naive datetime is taken as UTC."""
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value


def text_to_db(value: Any) -> Any:
    """Store JSON as its text; DuckDB would read a Python list as a LIST value."""
    return json_dumps(value)


# Python values the driver would bind as the wrong type.
DUCKDB_PARAM_ADAPTERS: dict[type, Any] = {dict: json_dumps, list: json_dumps}

DUCKDB_TO_DB: dict[DatabaseType, Any] = {
    DatabaseType.TIMESTAMP: instant_to_db,
    DatabaseType.JSON: text_to_db,
    DatabaseType.ARRAY: text_to_db,
}

DUCKDB_FROM_DB: dict[DatabaseType, Any] = {
    DatabaseType.JSON: json_loads,
    DatabaseType.ARRAY: json_loads,
    DatabaseType.BOOLEAN: bool,
}


class DuckDBColumnType(ColumnType):
    """A DuckDB column type with constraints (``str()`` gives the DDL fragment)."""

    mappings = DUCKDB_TYPE_MAPPINGS
