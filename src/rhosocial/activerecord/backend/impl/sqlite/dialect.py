"""The SQLite dialect: what differs from the ANSI defaults."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ...dialect import SQLBuilder, SQLDialectBase
from ...errors import NotSupportedError
from ...helpers import json_dumps
from ...typing import ColumnDef, DatabaseType, IsolationLevel, split_table_name
from .compiler import SQLiteCompiler
from .types import (
    SQLITE_FROM_DB,
    SQLITE_PARAM_ADAPTERS,
    SQLITE_TO_DB,
    SQLITE_TYPE_MAPPINGS,
    SQLiteColumnType,
    decimal_reader,
)

TRANSACTION_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")


class SQLiteDialect(SQLDialectBase):
    """SQL as SQLite speaks it."""

    supports_table_schemas = True
    values_follow_column_types = False  # dynamic typing: any column may hold any type
    supports_row_values = True

    # SQLite has no arrays: lists are stored as JSON.
    read_back_types = {DatabaseType.ARRAY: DatabaseType.JSON}
    compiler_class = SQLiteCompiler
    name = "sqlite"
    paramstyle = "qmark"
    identifier_quote = '"'
    type_mappings = SQLITE_TYPE_MAPPINGS
    param_adapters = SQLITE_PARAM_ADAPTERS
    to_db_converters = SQLITE_TO_DB
    from_db_converters = SQLITE_FROM_DB


    def bulk_update_join_sql(self, table: str, keys: Sequence[str], columns: Sequence[str], count: int,
                             lock: str | None = None, casts: Sequence[str | None] = ()) -> str | None:
        """``UPDATE t AS x SET c = v.column2 FROM (VALUES ...) AS v WHERE x.k = v.column1`` (3.33+).

        A VALUES list has the columns ``column1...`` here: it takes no names.
        """
        if sqlite3.sqlite_version_info < (3, 33, 0):
            return None  # no UPDATE ... FROM: the CASE form
        return self._update_from_values(table, keys, columns, count, lock, (), named=False)

    def create_builder(self) -> SQLBuilder:
        """Return a builder using ``?`` placeholders."""
        return SQLiteSQLBuilder(self)

    #: Past this many values an IN list is one JSON parameter (SQLite binds at most 32,766).
    in_list_limit = 500

    def in_many_sql(self, operand: str, placeholder: str, negated: bool) -> str:
        """Return ``operand [NOT] IN (SELECT value FROM json_each(?))``: any number of values."""
        return f"{operand} {'NOT IN' if negated else 'IN'} (SELECT value FROM json_each({placeholder}))"

    def in_many_param(self, values: list[Any]) -> Any:
        """Return the values as one JSON array."""
        return json_dumps(values)

    def foreign_key_clause(self, column: ColumnDef) -> str:
        """SQLite's foreign keys stay inside one database file: a key into another schema is refused."""
        assert column.references is not None
        schema, bare = split_table_name(column.references[0])
        if schema is not None and schema.lower() != "main":
            raise NotSupportedError(
                f"SQLite cannot enforce a foreign key from {column.name!r} into another database "
                f"({schema}.{bare}): foreign keys stay within one database file")
        if schema is not None:
            column = replace(column, references=(bare, column.references[1]))
        return super().foreign_key_clause(column)

    def add_column_sql(self, table: str, column: ColumnDef) -> list[str]:
        """ADD COLUMN with its foreign key inline: SQLite has no ADD CONSTRAINT."""
        q = self.quote_identifier
        sql = f"ALTER TABLE {q(table)} ADD COLUMN {self.column_definition(replace(column, references=None))}"
        if column.references:
            ref_table, ref_column = column.references
            sql += f" REFERENCES {q(split_table_name(ref_table)[1])} ({q(ref_column)})"
            if column.on_delete:
                sql += f" ON DELETE {column.on_delete.upper()}"
        return [sql]

    def _index_target(self, table: str, name: str) -> str:
        """SQLite names the schema on the index, not on its table: ``s.ix ON t``."""
        schema, bare = split_table_name(table)
        q = self.quote_identifier
        return f"{q(schema) + '.' if schema else ''}{q(name)} ON {q(bare)}"

    def list_test_sql(self, kind: str, operand: str, placeholder: str, db_type: DatabaseType | None,
                      item_type: DatabaseType | None) -> str:
        """Test a list stored as JSON text through ``json_each``."""
        held = f"SELECT value FROM json_each({operand})"
        if kind == "contains":
            return f"NOT EXISTS (SELECT 1 FROM json_each({placeholder}) AS w WHERE w.value NOT IN ({held}))"
        if kind == "overlaps":
            return f"EXISTS (SELECT 1 FROM json_each({placeholder}) AS w WHERE w.value IN ({held}))"
        return f"{placeholder} IN ({held})"

    def column_reader(self, column: ColumnDef) -> Any:
        """Read a DECIMAL column with a declared scale as a Decimal quantized to it.

        SQLite has no exact decimal arithmetic: SUM and AVG (and values that
        other tools stored with NUMERIC affinity) come back as floats, such as
        ``2328.600000000004`` for a sum of prices. Rounded to the declared
        scale they are the exact result, as Django does.
        """
        if column.db_type is DatabaseType.DECIMAL and column.scale is not None:
            return decimal_reader(column.scale, column.precision)
        return super().column_reader(column)

    def autoincrement_column_sql(self, column: ColumnDef) -> str:
        """Return ``INTEGER PRIMARY KEY AUTOINCREMENT``: the rowid alias, never reused."""
        return "INTEGER PRIMARY KEY AUTOINCREMENT"

    def boolean_literal(self, value: bool) -> str:
        """Return ``1`` or ``0``."""
        return "1" if value else "0"

    def limit_offset_sql(self, limit: int | None, offset: int | None) -> str:
        """SQLite needs a LIMIT before OFFSET; ``-1`` means no limit."""
        if limit is None and offset:
            return f" LIMIT -1 OFFSET {int(offset)}"
        return super().limit_offset_sql(limit, offset)

    def for_update_sql(self, nowait: bool = False, skip_locked: bool = False,
                       read: bool = False, of: Sequence[str] = ()) -> str:
        """Return nothing: a SQLite write transaction already locks the whole database.

        Read-write transactions begin ``IMMEDIATE`` by default: they take the
        write lock up front, which is what ``FOR UPDATE`` achieves elsewhere.
        """
        return ""

    def begin_sql(self, isolation_level: IsolationLevel | None, read_only: bool,
                  mode: str | None = None) -> list[str]:
        """Return ``BEGIN DEFERRED|IMMEDIATE|EXCLUSIVE`` (plus ``query_only`` when read-only)."""
        mode = (mode or "DEFERRED").upper()
        if mode not in TRANSACTION_MODES:
            raise NotSupportedError(
                f"Unknown SQLite transaction mode {mode!r}; expected one of {', '.join(TRANSACTION_MODES)}"
            )
        statements = [f"BEGIN {mode}"]
        if read_only:
            statements.append("PRAGMA query_only = ON")
        return statements


class SQLiteSQLBuilder(SQLBuilder):
    """Statement builder with SQLite's ``?`` placeholders."""

    def get_placeholder(self, index: Any = None) -> str:
        """Return ``?``: SQLite placeholders are positional."""
        return "?"


# The column type renders DEFAULT literals the way this dialect writes them.
SQLiteColumnType.dialect_class = SQLiteDialect
