"""MySQL/MariaDB column types and value conversions.

Choices worth knowing:

- ``DECIMAL`` without a precision becomes ``DECIMAL(65,30)``: the largest
  precision MySQL allows, 35 integer and 30 fractional digits, so a value of
  any ordinary size survives exactly (values come back with 30 fractional
  digits: equal, but not identical text).
- ``VARCHAR`` without a length becomes ``VARCHAR(255)``: MySQL has no
  unbounded ``VARCHAR``.
- ``TEXT`` and ``BLOB`` become ``LONGTEXT`` and ``LONGBLOB`` (``TEXT`` holds
  only 64 KB, too little for a 1 MB value).
- ``DATETIME`` and ``TIMESTAMP`` both become ``DATETIME(6)``: MySQL's own
  ``TIMESTAMP`` ends in 2038 and updates itself. A ``TIMESTAMP`` column holds
  an instant in UTC: aware values are converted to UTC on write and read back
  as aware UTC values. A ``DATETIME`` column holds wall-clock time: naive
  values stay naive, aware ones are stored as their UTC wall-clock time.
- ``BOOLEAN`` is ``TINYINT(1)``, read back as ``bool``.
- ``UUID`` is ``CHAR(36) CHARACTER SET ascii``: 36 bytes instead of 144 in
  utf8mb4, and the character set tells a UUID column apart from a user's
  ``CHAR(36)`` when reading the catalog.
- ``JSON`` is native on MySQL; on MariaDB it is an alias of ``LONGTEXT`` with
  a ``JSON_VALID`` check, which ``get_columns`` recognises.
"""
from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ...dialect import ColumnType, TypeMapping
from ...helpers import finite_float, format_decimal, format_with_length, json_dumps, json_loads
from ...typing import DatabaseType

UTC = _dt.UTC

DEFAULT_DECIMAL = (65, 30)
DEFAULT_VARCHAR_LENGTH = 255


def _format_decimal(db_type: str, params: Mapping[str, Any]) -> str:
    if params.get("precision") is None and params.get("scale") is None:
        precision, scale = DEFAULT_DECIMAL
        return f"{db_type}({precision},{scale})"
    return format_decimal(db_type, params)


def _format_length(default: int | None) -> Callable[[str, Mapping[str, Any]], str]:
    def fmt(db_type: str, params: Mapping[str, Any]) -> str:
        if params.get("length") is None and default is not None:
            return f"{db_type}({default})"
        return format_with_length(db_type, params)

    return fmt


MYSQL_TYPE_MAPPINGS: dict[DatabaseType, TypeMapping] = {
    DatabaseType.TINYINT: TypeMapping("TINYINT"),
    DatabaseType.SMALLINT: TypeMapping("SMALLINT"),
    DatabaseType.INTEGER: TypeMapping("INT"),
    DatabaseType.BIGINT: TypeMapping("BIGINT"),
    DatabaseType.FLOAT: TypeMapping("FLOAT"),
    DatabaseType.DOUBLE: TypeMapping("DOUBLE"),
    DatabaseType.DECIMAL: TypeMapping("DECIMAL", _format_decimal),
    DatabaseType.CHAR: TypeMapping("CHAR", format_with_length),
    DatabaseType.VARCHAR: TypeMapping("VARCHAR", _format_length(DEFAULT_VARCHAR_LENGTH)),
    DatabaseType.TEXT: TypeMapping("LONGTEXT"),
    DatabaseType.DATE: TypeMapping("DATE"),
    DatabaseType.TIME: TypeMapping("TIME(6)"),
    DatabaseType.DATETIME: TypeMapping("DATETIME(6)"),
    DatabaseType.TIMESTAMP: TypeMapping("DATETIME(6)"),
    DatabaseType.BLOB: TypeMapping("LONGBLOB"),
    DatabaseType.BOOLEAN: TypeMapping("TINYINT(1)"),
    DatabaseType.UUID: TypeMapping("CHAR(36) CHARACTER SET ascii COLLATE ascii_bin"),
    DatabaseType.JSON: TypeMapping("JSON"),
    DatabaseType.ARRAY: TypeMapping("JSON"),
    DatabaseType.CUSTOM: TypeMapping("LONGTEXT"),
}

# information_schema DATA_TYPE -> generic type; special cases are in native_type().
MYSQL_NATIVE_TYPES: dict[str, DatabaseType] = {
    "tinyint": DatabaseType.TINYINT,
    "smallint": DatabaseType.SMALLINT,
    "mediumint": DatabaseType.INTEGER,
    "int": DatabaseType.INTEGER,
    "integer": DatabaseType.INTEGER,
    "bigint": DatabaseType.BIGINT,
    "float": DatabaseType.FLOAT,
    "double": DatabaseType.DOUBLE,
    "real": DatabaseType.DOUBLE,
    "decimal": DatabaseType.DECIMAL,
    "numeric": DatabaseType.DECIMAL,
    "char": DatabaseType.CHAR,
    "varchar": DatabaseType.VARCHAR,
    "tinytext": DatabaseType.TEXT,
    "text": DatabaseType.TEXT,
    "mediumtext": DatabaseType.TEXT,
    "longtext": DatabaseType.TEXT,
    "date": DatabaseType.DATE,
    "time": DatabaseType.TIME,
    "datetime": DatabaseType.DATETIME,
    "timestamp": DatabaseType.TIMESTAMP,
    "tinyblob": DatabaseType.BLOB,
    "blob": DatabaseType.BLOB,
    "mediumblob": DatabaseType.BLOB,
    "longblob": DatabaseType.BLOB,
    "binary": DatabaseType.BLOB,
    "varbinary": DatabaseType.BLOB,
    "json": DatabaseType.JSON,
    "uuid": DatabaseType.UUID,
}


def native_type(data_type: str, column_type: str, charset: str | None,
                json_checked: bool) -> DatabaseType | None:
    """Return the generic type of a catalog column.

    ``TINYINT(1)`` reads as BOOLEAN, ``CHAR(36)`` in the ascii character set
    as UUID (a utf8mb4 ``CHAR(36)`` stays CHAR), and a MariaDB ``LONGTEXT``
    with a ``JSON_VALID`` check as JSON.
    """
    data_type = data_type.lower()
    column_type = column_type.lower()
    if data_type == "tinyint" and column_type.startswith("tinyint(1)"):
        return DatabaseType.BOOLEAN
    if data_type == "char" and column_type == "char(36)" and (charset or "").lower() == "ascii":
        return DatabaseType.UUID
    if json_checked and data_type.endswith("text"):
        return DatabaseType.JSON
    return MYSQL_NATIVE_TYPES.get(data_type)


# -- conversions ----------------------------------------------------------------


def datetime_to_db(value: _dt.datetime) -> _dt.datetime:
    """Store wall-clock time: aware values become their UTC wall-clock time."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def timestamp_to_db(value: _dt.datetime) -> _dt.datetime:
    """Store an instant as naive UTC; naive values are taken as UTC already."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def timestamp_from_db(value: Any) -> Any:
    """Read an instant: a naive UTC value from the server becomes aware UTC."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def time_from_db(value: Any) -> Any:
    """Turn PyMySQL's ``timedelta`` for a TIME column into a ``time`` of day."""
    if isinstance(value, _dt.timedelta):
        micros = value // _dt.timedelta(microseconds=1)
        if 0 <= micros < 86_400_000_000:
            seconds, micro = divmod(micros, 1_000_000)
            minutes, second = divmod(seconds, 60)
            hour, minute = divmod(minutes, 60)
            return _dt.time(hour, minute, second, micro)
        return value  # an interval outside one day has no time-of-day form
    if isinstance(value, str):
        return _dt.time.fromisoformat(value)
    return value


def time_to_db(value: Any) -> Any:
    """Store a time of day; an aware time loses its offset (MySQL has no TIME WITH TIME ZONE)."""
    if isinstance(value, _dt.time) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def uuid_from_db(value: Any) -> Any:
    """Read a ``CHAR(36)`` UUID as :class:`uuid.UUID`."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("ascii")
    return uuid.UUID(value) if isinstance(value, str) else value


def bool_from_db(value: Any) -> Any:
    """Read ``TINYINT(1)`` as ``bool``."""
    return bool(value)


# Only what PyMySQL does not handle itself: it escapes int, float, str, bytes,
# bool, None, Decimal, date, time and naive datetime natively.
MYSQL_PARAM_ADAPTERS: dict[type, Callable[[Any], Any]] = {
    float: finite_float,  # MySQL has no NaN or infinity
    _dt.datetime: datetime_to_db,
    _dt.time: time_to_db,
    uuid.UUID: str,
    dict: json_dumps,
    list: json_dumps,
    bytearray: bytes,
}

MYSQL_TO_DB: dict[DatabaseType, Callable[[Any], Any]] = {
    DatabaseType.FLOAT: finite_float,
    DatabaseType.DOUBLE: finite_float,
    DatabaseType.DATETIME: datetime_to_db,
    DatabaseType.TIMESTAMP: timestamp_to_db,
    DatabaseType.TIME: time_to_db,
    DatabaseType.UUID: str,
    DatabaseType.JSON: json_dumps,
    DatabaseType.ARRAY: json_dumps,
}

# PyMySQL already returns Decimal, date, datetime, bytes and str for those columns.
MYSQL_FROM_DB: dict[DatabaseType, Callable[[Any], Any]] = {
    DatabaseType.BOOLEAN: bool_from_db,
    DatabaseType.TIMESTAMP: timestamp_from_db,
    DatabaseType.TIME: time_from_db,
    DatabaseType.UUID: uuid_from_db,
    DatabaseType.JSON: json_loads,
    DatabaseType.ARRAY: json_loads,
}


class MySQLTypes:
    """Native MySQL/MariaDB types, for ``DatabaseType.CUSTOM`` columns."""

    TINYTEXT = "TINYTEXT"
    TEXT = "TEXT"
    MEDIUMTEXT = "MEDIUMTEXT"
    LONGTEXT = "LONGTEXT"
    MEDIUMINT = "MEDIUMINT"
    YEAR = "YEAR"
    BIT = "BIT"
    BINARY = "BINARY"
    VARBINARY = "VARBINARY"
    ENUM = "ENUM"
    SET = "SET"


class MySQLColumnType(ColumnType):
    """A MySQL column type with constraints (``str()`` gives the DDL fragment)."""

    mappings = MYSQL_TYPE_MAPPINGS
    autoincrement_keyword = "AUTO_INCREMENT"

    @classmethod
    def get_type(cls, db_type: DatabaseType, **params: Any) -> MySQLColumnType:
        """Create a MySQL column type; an auto-increment key is ``BIGINT AUTO_INCREMENT PRIMARY KEY``."""
        column = super().get_type(db_type, **params)
        if params.get("autoincrement"):
            if db_type not in (DatabaseType.TINYINT, DatabaseType.SMALLINT,
                               DatabaseType.INTEGER, DatabaseType.BIGINT):
                column.sql_type = "BIGINT"
            column.constraints["primary_key"] = True
        return column

    def __str__(self) -> str:
        c = self.constraints
        parts = [self.sql_type]
        if c.get("autoincrement"):
            parts.append(self.autoincrement_keyword)
        if c.get("primary_key"):
            parts.append("PRIMARY KEY")
        if c.get("not_null") and not c.get("primary_key"):
            parts.append("NOT NULL")
        if c.get("unique") and not c.get("primary_key"):
            parts.append("UNIQUE")
        if "default" in c:
            from .dialect import MySQLDialect

            parts.append("DEFAULT " + MySQLDialect().literal(c["default"]))
        return " ".join(parts)
