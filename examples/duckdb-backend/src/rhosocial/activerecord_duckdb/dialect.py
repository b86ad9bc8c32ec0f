"""The DuckDB dialect: what differs from the ANSI defaults."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rhosocial.activerecord.backend import (
    ColumnDef,
    DatabaseType,
    IsolationLevel,
    NotSupportedError,
    SQLDialectBase,
)

from .types import DUCKDB_FROM_DB, DUCKDB_PARAM_ADAPTERS, DUCKDB_TO_DB, DUCKDB_TYPE_MAPPINGS


class DuckDBDialect(SQLDialectBase):
    """SQL as DuckDB speaks it.

    DuckDB has no identity columns: an auto-increment key takes its default
    from a sequence named ``<table>_seq``, created with the table and dropped
    with it.
    """

    # DuckDB keeps no length: CHAR(n) and VARCHAR(n) are VARCHAR, read back as TEXT. Lists are
    # stored as JSON here.
    read_back_types = {DatabaseType.CHAR: DatabaseType.TEXT, DatabaseType.VARCHAR: DatabaseType.TEXT,
                       DatabaseType.ARRAY: DatabaseType.JSON}
    name = "duckdb"
    paramstyle = "qmark"
    type_mappings = DUCKDB_TYPE_MAPPINGS
    param_adapters = DUCKDB_PARAM_ADAPTERS
    to_db_converters = DUCKDB_TO_DB
    from_db_converters = DUCKDB_FROM_DB

    def sequence_name(self, table: str) -> str:
        """Return the quoted name of the sequence behind ``table``'s auto-increment key."""
        return self.quote_identifier(f"{table}_seq")

    def create_table_sql(self, table: str, columns: Sequence[ColumnDef], if_not_exists: bool = False,
                         constraints: Sequence[str] = ()) -> str:
        """Return CREATE TABLE, preceded by CREATE SEQUENCE when a column auto-increments."""
        sequence = self.sequence_name(table)
        keyed = [
            replace(c, autoincrement=False, primary_key=True, db_type=DatabaseType.CUSTOM,
                    custom_type=f"{self.get_column_type(c.db_type, **c.type_params())} "
                    f"DEFAULT nextval({self.quote_string(sequence)})")
            if c.autoincrement else c
            for c in columns
        ]
        sql = super().create_table_sql(table, keyed, if_not_exists, constraints)
        if any(c.autoincrement for c in columns):
            exists = "IF NOT EXISTS " if if_not_exists else ""
            sql = f"CREATE SEQUENCE {exists}{sequence}; {sql}"
        return sql

    def drop_table_sql(self, table: str, if_exists: bool = False) -> str:
        """Return DROP TABLE followed by dropping its sequence, if it has one."""
        return f"{super().drop_table_sql(table, if_exists)}; DROP SEQUENCE IF EXISTS {self.sequence_name(table)}"

    def foreign_key_clause(self, column: ColumnDef) -> str:
        """Return the FOREIGN KEY clause; DuckDB has no ON DELETE actions."""
        if column.on_delete:
            raise NotSupportedError("DuckDB foreign keys have no ON DELETE actions")
        return super().foreign_key_clause(column)

    def for_update_sql(self, *args: object, **kwargs: object) -> str:
        """Refuse row locks: DuckDB has none (``supports_for_update`` is false)."""
        raise NotSupportedError("DuckDB has no row locks (FOR UPDATE)")

    def begin_sql(self, isolation_level: IsolationLevel | None, read_only: bool) -> list[str]:
        """Return ``BEGIN TRANSACTION [READ ONLY]``: every transaction runs under snapshot isolation."""
        return ["BEGIN TRANSACTION READ ONLY" if read_only else "BEGIN TRANSACTION"]
