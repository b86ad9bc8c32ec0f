"""The MySQL/MariaDB dialect: what differs from the ANSI defaults.

Placeholders are ``%s`` (PyMySQL interpolates client-side), so every literal
``%`` in dialect-made SQL is doubled; the backend runs such SQL with a
parameter sequence (possibly empty) so the driver undoes the doubling.
Identifiers are quoted with backticks; ``ANSI_QUOTES`` stays off.

Tables are created with ``DEFAULT CHARSET=utf8mb4`` and a binary collation
that does not pad: ``utf8mb4_nopad_bin`` on MariaDB, ``utf8mb4_0900_bin`` on
MySQL 8.0.17+, ``utf8mb4_bin`` before. A binary collation compares by code
point, so every astral character (emoji) is distinct, comparisons are
case-sensitive and ``'a' <> 'a '``: the semantics SQLite and PostgreSQL have
by default. Pass ``collation=`` to the backend to choose another.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from ...dialect import SQLBuilder, SQLDialectBase
from ...errors import InvalidIdentifierError, NotSupportedError
from ...helpers import json_dumps
from ...typing import ColumnDef, DatabaseType, IsolationLevel, SQLDefault
from .compiler import MySQLCompiler
from .types import (
    MYSQL_FROM_DB,
    MYSQL_PARAM_ADAPTERS,
    MYSQL_TO_DB,
    MYSQL_TYPE_MAPPINGS,
    datetime_to_db,
)

MAX_IDENTIFIER_LENGTH = 64
# MySQL has no "LIMIT ALL"; its manual suggests the largest unsigned BIGINT.
_NO_LIMIT = 18446744073709551615
_INTEGER_TYPES = frozenset({
    DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT,
})
# Column types that take a default only as an expression in parentheses on MySQL.
_EXPRESSION_DEFAULT_TYPES = frozenset({
    DatabaseType.TEXT, DatabaseType.BLOB, DatabaseType.JSON, DatabaseType.ARRAY,
    DatabaseType.CUSTOM,
})


class MySQLDialect(SQLDialectBase):
    """SQL as MySQL and MariaDB speak it.

    Vendor differences (``FOR SHARE`` and the default collation) follow the
    server the backend connected to; :meth:`configure` records it.
    """

    supports_table_schemas = True
    supports_row_values = True

    # TIMESTAMP is created as DATETIME(6) (MySQL's TIMESTAMP ends in 2038); lists are JSON.
    read_back_types = {DatabaseType.TIMESTAMP: DatabaseType.DATETIME, DatabaseType.ARRAY: DatabaseType.JSON}
    compiler_class = MySQLCompiler
    name = "mysql"
    paramstyle = "format"
    identifier_quote = "`"
    max_identifier_length = 0  # checked in characters by quote_identifier
    type_mappings = MYSQL_TYPE_MAPPINGS
    param_adapters = MYSQL_PARAM_ADAPTERS
    to_db_converters = MYSQL_TO_DB
    from_db_converters = MYSQL_FROM_DB
    autoincrement_sql = "AUTO_INCREMENT"
    string_backslash_escapes = True  # unless sql_mode has NO_BACKSLASH_ESCAPES

    def __init__(self, is_mariadb: bool = False, server_version: tuple[int, ...] = (),
                 collation: str | None = None) -> None:
        super().__init__()
        self.is_mariadb = is_mariadb
        self.server_version = server_version
        self.collation = collation or default_collation(is_mariadb, server_version)

    def configure(self, is_mariadb: bool, server_version: tuple[int, ...],
                  collation: str | None = None) -> None:
        """Adapt to the server the backend connected to."""
        self.is_mariadb = is_mariadb
        self.server_version = server_version
        self.collation = collation or default_collation(is_mariadb, server_version)

    def create_builder(self) -> SQLBuilder:
        """Return a builder using ``%s`` placeholders."""
        return MySQLSQLBuilder(self)

    # -- identifiers and literals -------------------------------------------------

    def quote_identifier(self, name: str) -> str:
        """Return ``name`` in backticks; MySQL allows 64 characters.

        Raises:
            InvalidIdentifierError: empty, not a string, NUL, too long, ending
                in a space or holding an astral character (MySQL rejects such names).
        """
        cached = self._quoted.get(name) if type(name) is str else None
        if cached is not None:
            return cached
        if type(name) is str:
            if len(name) > MAX_IDENTIFIER_LENGTH:
                raise InvalidIdentifierError(
                    f"Identifier {name!r} is longer than MySQL's limit of "
                    f"{MAX_IDENTIFIER_LENGTH} characters"
                )
            if name.endswith(" "):
                raise InvalidIdentifierError(f"MySQL identifiers may not end with a space: {name!r}")
            if any(ord(ch) > 0xFFFF for ch in name):
                raise InvalidIdentifierError(
                    f"MySQL identifiers may hold only Basic Multilingual Plane characters: {name!r}"
                )
        return super().quote_identifier(name)

    def literal(self, value: Any) -> str:
        """Return a literal for a DDL default (datetimes as UTC wall time, bytes as hex)."""
        if isinstance(value, (bytes, bytearray)):
            return "X'" + bytes(value).hex() + "'"
        if isinstance(value, _dt.datetime):
            return self.quote_string(datetime_to_db(value).isoformat(sep=" "))
        if isinstance(value, _dt.time):
            return self.quote_string(value.replace(tzinfo=None).isoformat())
        if isinstance(value, _dt.date):
            return self.quote_string(value.isoformat())
        return super().literal(value)

    # -- DDL ----------------------------------------------------------------------

    def list_test_sql(self, kind: str, operand: str, placeholder: str, db_type: DatabaseType | None,
                      item_type: DatabaseType | None) -> str:
        """Test a list stored as JSON: ``JSON_CONTAINS`` / ``JSON_OVERLAPS`` (MySQL 8.0.17, MariaDB 10.9)."""
        if kind == "overlaps":
            return f"JSON_OVERLAPS({operand}, {placeholder})"
        return f"JSON_CONTAINS({operand}, {placeholder})"

    def list_test_param(self, kind: str, value: Any, db_type: DatabaseType | None) -> Any:
        """The list as JSON text; one item as a one-item list."""
        return json_dumps([value] if kind == "any" else value)

    generated_columns_take_not_null = False  # MariaDB refuses NOT NULL on a computed column

    def default_clause(self, column: ColumnDef) -> str | None:
        """TEXT/BLOB/JSON columns take a default only as an expression: ``DEFAULT ('x')``."""
        clause = super().default_clause(column)
        if (clause is not None and column.db_type in _EXPRESSION_DEFAULT_TYPES and column.default is not None
                and not column.generated and not isinstance(column.default, SQLDefault)):
            clause = f"DEFAULT ({clause[len('DEFAULT '):]})"
        return clause

    def default_expression_sql(self, expression: str) -> str:
        """MySQL takes an expression default in parentheses (CURRENT_TIMESTAMP also bare)."""
        if expression.strip().upper().startswith("CURRENT_TIMESTAMP"):
            return expression
        return f"({expression})"

    def autoincrement_column_sql(self, column: ColumnDef) -> str:
        """Return ``<int type> AUTO_INCREMENT PRIMARY KEY`` (``BIGINT`` unless an integer type is given).

        The declared integer type is kept because a foreign key must match
        the referenced column's type exactly in MySQL.
        """
        sql_type = "BIGINT"
        if column.db_type in _INTEGER_TYPES:
            sql_type = self.get_column_type(column.db_type)
        return f"{sql_type} AUTO_INCREMENT PRIMARY KEY"

    def create_table_sql(self, table: str, columns: Sequence[ColumnDef], if_not_exists: bool = False,
                         constraints: Sequence[str] = ()) -> str:
        """Return CREATE TABLE with InnoDB, utf8mb4 and the dialect's collation."""
        escaped = [self.trusted_sql(c) for c in constraints]
        return super().create_table_sql(table, columns, if_not_exists, escaped)

    def create_table_suffix(self) -> str:
        """Return `` ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=<collation>``."""
        return f" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={self.collation}"

    def create_index_sql(self, table: str, columns: Sequence[str], name: str | None = None,
                         unique: bool = False, if_not_exists: bool = False, where: str | None = None,
                         concurrently: bool = False) -> str:
        """Return CREATE INDEX (MySQL has no partial indexes)."""
        if where:
            raise NotSupportedError(f"{self.name} has no partial indexes (CREATE INDEX ... WHERE)")
        return super().create_index_sql(table, columns, name, unique, if_not_exists, None, concurrently)

    constraint_name_limit = MAX_IDENTIFIER_LENGTH
    type_change_rewrites = "copies"  # MODIFY COLUMN to another type copies the table

    def name_size(self, name: str) -> int:
        """MySQL counts identifiers in characters."""
        return len(name)

    def add_column_sql(self, table: str, column: ColumnDef) -> list[str]:
        """One ``ALTER TABLE t ADD COLUMN ..., ADD CONSTRAINT ... FOREIGN KEY``: both happen or neither.

        (MySQL ignores a REFERENCES clause written on the column itself.)
        """
        from dataclasses import replace

        q = self.quote_identifier
        sql = f"ALTER TABLE {q(table)} ADD COLUMN {self.column_definition(replace(column, references=None))}"
        if column.references:
            ref_table, ref_column = column.references
            sql += (f", ADD CONSTRAINT {q(self.constraint_name('fk', table, [column.name]))} "
                    + self.foreign_key_sql([column.name], ref_table, [ref_column], column.on_delete))
        return [sql]

    def drop_column_with_sql(self, table: str, column: str, foreign_keys: Sequence[str],
                             indexes: Sequence[str]) -> str:
        """One ALTER TABLE dropping the column's foreign keys and multi-column indexes, then the column."""
        q = self.quote_identifier
        parts = [f"DROP FOREIGN KEY {q(n)}" for n in foreign_keys] + [f"DROP INDEX {q(n)}" for n in indexes]
        return f"ALTER TABLE {q(table)} {', '.join([*parts, f'DROP COLUMN {q(column)}'])}"

    def alter_column_sql(self, table: str, column: ColumnDef, previous: ColumnDef | None = None) -> list[str]:
        """Return ``ALTER TABLE t MODIFY COLUMN <the whole new definition>``.

        Keys, UNIQUE and CHECK are left out: written in MODIFY they would be
        added again beside the ones the column has.
        """
        from dataclasses import replace

        q = self.quote_identifier
        if column.autoincrement:  # keep AUTO_INCREMENT (the key itself stays as it is)
            known = column.db_type in _INTEGER_TYPES or column.db_type is DatabaseType.CUSTOM
            sql_type = self.get_column_type(column.db_type, **column.type_params()) if known else "BIGINT"
            return [f"ALTER TABLE {q(table)} MODIFY COLUMN {q(column.name)} {sql_type} NOT NULL AUTO_INCREMENT"]
        plain = replace(column, primary_key=False, unique=False, check=None,
                        nullable=column.nullable and not column.primary_key)
        return [f"ALTER TABLE {q(table)} MODIFY COLUMN {self.column_definition(plain)}"]

    def drop_index_sql(self, table: str, name: str, concurrently: bool = False) -> str:
        """Return ``DROP INDEX n ON t``."""
        if concurrently:
            raise NotSupportedError(f"{self.name} cannot drop an index concurrently")
        return f"DROP INDEX {self.quote_identifier(name)} ON {self.quote_identifier(table)}"

    def drop_foreign_key_sql(self, table: str, name: str) -> str:
        """Return ``ALTER TABLE t DROP FOREIGN KEY n``."""
        return f"ALTER TABLE {self.quote_identifier(table)} DROP FOREIGN KEY {self.quote_identifier(name)}"

    def drop_unique_sql(self, table: str, name: str) -> str:
        """Return ``ALTER TABLE t DROP INDEX n``: a UNIQUE constraint is its index."""
        return f"ALTER TABLE {self.quote_identifier(table)} DROP INDEX {self.quote_identifier(name)}"

    def drop_check_sql(self, table: str, name: str) -> str:
        """Return ``DROP CONSTRAINT n`` (MariaDB) or ``DROP CHECK n`` (MySQL 8)."""
        word = "CONSTRAINT" if self.is_mariadb else "CHECK"
        return f"ALTER TABLE {self.quote_identifier(table)} DROP {word} {self.quote_identifier(name)}"

    # -- DML ----------------------------------------------------------------------

    def insert_default_values_sql(self, table: str) -> str:
        """Return ``INSERT INTO t () VALUES ()``: MySQL has no DEFAULT VALUES."""
        return f"INSERT INTO {self.quote_identifier(table)} () VALUES ()"

    upsert_any_key = True

    def bulk_update_join_sql(self, table: str, keys: Sequence[str], columns: Sequence[str], count: int,
                             lock: str | None = None, casts: Sequence[str | None] = ()) -> str | None:
        """``UPDATE t AS x JOIN (SELECT ? AS rk0, ... UNION ALL SELECT ?, ...) AS v ON ... SET x.c = v.rv0``."""
        q = self.quote_identifier
        names = self._join_names(keys, columns, lock)
        ph = self.placeholder
        width = len(names)
        first = ", ".join(f"{ph(i + 1)} AS {q(n)}" for i, n in enumerate(names))
        rest = " ".join("UNION ALL SELECT " + ", ".join(ph(r * width + i + 1) for i in range(width))
                        for r in range(1, count))
        on = " AND ".join(f"x.{q(k)} = v.{q(f'rk{i}')}" for i, k in enumerate(keys))
        if lock:
            on += f" AND x.{q(lock)} = v.{q('rver')}"
        sets = [f"x.{q(c)} = v.{q(f'rv{i}')}" for i, c in enumerate(columns)]
        if lock:
            sets.append(f"x.{q(lock)} = x.{q(lock)} + 1")
        return f"UPDATE {q(table)} AS x JOIN (SELECT {first} {rest}) AS v ON {on} SET {', '.join(sets)}"

    def upsert_rows_sql(self, table: str, columns: Sequence[str], count: int, conflict: Sequence[str],
                        update: Sequence[str], returning: Sequence[str] = (), bump: Sequence[str] = ()) -> str:
        """Return ``INSERT ... ON DUPLICATE KEY UPDATE c = VALUES(c)``.

        MySQL and MariaDB cannot name the conflict's columns: a duplicate of
        any primary key or unique index updates the stored row. With nothing
        to update, the first conflict column is set to itself: unlike
        ``INSERT IGNORE`` this skips only duplicates, and a bad value still
        fails. MySQL 8.0.19+ reads the new row through an alias (``VALUES()``
        is deprecated there); MariaDB keeps ``VALUES()`` and alone has RETURNING.
        """
        q = self.quote_identifier
        sql = self.insert_rows_sql(table, columns, count)
        alias = not self.is_mariadb and self.server_version >= (8, 0, 19)
        if alias:
            sql += " AS `rhosocial_new`"
        if update:
            new = (lambda c: f"`rhosocial_new`.{q(c)}") if alias else (lambda c: f"VALUES({q(c)})")
            # a bumped column first: later assignments would read the new row's values already
            sets = ", ".join([f"{q(c)} = {q(c)} + 1" for c in bump]
                             + [f"{q(c)} = {new(c)}" for c in update if c not in bump])
        else:
            key = q(conflict[0])
            sets = f"{key} = {key}"
        return f"{sql} ON DUPLICATE KEY UPDATE {sets}" + self.returning_sql(returning)

    @property
    def lock_of(self) -> bool:
        """Whether ``FOR UPDATE OF`` and ``FOR SHARE`` exist (MySQL 8; not MariaDB)."""
        return not self.is_mariadb and self.server_version >= (8,)

    def limit_offset_sql(self, limit: int | None, offset: int | None) -> str:
        """Return LIMIT/OFFSET; an OFFSET needs a LIMIT in MySQL."""
        if limit is None and offset:
            return f" LIMIT {_NO_LIMIT} OFFSET {int(offset)}"
        return super().limit_offset_sql(limit, offset)

    def for_update_sql(self, nowait: bool = False, skip_locked: bool = False,
                       read: bool = False, of: Sequence[str] = ()) -> str:
        """Return ``FOR UPDATE`` or a shared lock (``LOCK IN SHARE MODE`` on MariaDB); ``OF`` on MySQL 8."""
        if read:
            sql = " FOR SHARE" if self.lock_of else " LOCK IN SHARE MODE"
        else:
            sql = " FOR UPDATE"
        if of and self.lock_of:
            sql += " OF " + ", ".join(of)
        if nowait:
            sql += " NOWAIT"
        elif skip_locked:
            sql += " SKIP LOCKED"
        return sql

    # -- transactions -------------------------------------------------------------

    def begin_sql(self, isolation_level: IsolationLevel | None, read_only: bool) -> list[str]:
        """Return ``SET TRANSACTION ISOLATION LEVEL ...`` and ``START TRANSACTION [READ ONLY]``.

        ``SET TRANSACTION`` without ``SESSION`` applies to the next
        transaction only, so the session default is left alone.
        """
        statements = []
        if isolation_level is not None:
            statements.append(self.isolation_sql.format(level=isolation_level.value))
        statements.append("START TRANSACTION READ ONLY" if read_only else "START TRANSACTION")
        return statements


class MySQLSQLBuilder(SQLBuilder):
    """Statement builder with PyMySQL's ``%s`` placeholders."""

    def get_placeholder(self, index: Any = None) -> str:
        """Return ``%s``: PyMySQL placeholders are positional."""
        return "%s"


def default_collation(is_mariadb: bool, server_version: tuple[int, ...]) -> str:
    """Return the binary, non-padding utf8mb4 collation the server offers."""
    if is_mariadb:
        return "utf8mb4_nopad_bin" if server_version >= (10, 2) or not server_version \
            else "utf8mb4_bin"
    if server_version >= (8, 0, 17):
        return "utf8mb4_0900_bin"
    return "utf8mb4_bin"
