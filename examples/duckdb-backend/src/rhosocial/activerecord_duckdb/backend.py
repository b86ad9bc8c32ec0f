"""The DuckDB backend on the ``duckdb`` module, built only on the public backend API."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rhosocial.activerecord.backend import (
    Capabilities,
    CheckViolationError,
    ColumnInfo,
    ConnectionError,
    ConstraintViolationError,
    DatabaseError,
    DataError,
    DriverNotInstalledError,
    ForeignKeyViolationError,
    IsolationLevel,
    NotNullViolationError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    QueryResult,
    QueryTimeoutError,
    ReadOnlyError,
    SerializationError,
    StorageBackend,
    TransactionError,
    UniqueViolationError,
)
from rhosocial.activerecord.backend.helpers import as_bool, base_type_name
from rhosocial.activerecord.backend.introspection import ConstraintInfo, ForeignKeyInfo, IndexInfo

from .dialect import DuckDBDialect
from .types import DUCKDB_NATIVE_TYPES

try:  # The driver is a dependency, but say clearly what to do when it is missing.
    import duckdb
except ImportError:  # pragma: no cover
    duckdb = None  # type: ignore[assignment]

# DuckDB reports its error type as the exception class: the class name is the code (the base's
# _error_code), looked up in these tables by the base's _classify_error.
_ERROR_CLASSES: dict[str, type[DatabaseError]] = {
    "ConstraintException": ConstraintViolationError,
    "ParserException": ProgrammingError,
    "SyntaxException": ProgrammingError,
    "CatalogException": ProgrammingError,
    "BinderException": ProgrammingError,
    "InvalidInputException": ProgrammingError,
    "ConversionException": DataError,
    "OutOfRangeException": DataError,
    "TypeMismatchException": DataError,
    "TransactionException": TransactionError,
    "InterruptException": QueryTimeoutError,
    "IOException": OperationalError,
    "OutOfMemoryException": OperationalError,
    "ConnectionException": ConnectionError,
    "NotImplementedException": NotSupportedError,
    # "Cannot alter entry ... because there are entries that depend on it": DuckDB cannot ALTER a
    # table other tables reference, nor change a column an index covers.
    "DependencyException": NotSupportedError,
    "PermissionException": ReadOnlyError,
}

# The kind of a constraint or transaction failure is only in the message's fixed opening.
_MESSAGE_CLASSES: dict[str, tuple[tuple[str, type[DatabaseError]], ...]] = {
    "ConstraintException": (
        ("Constraint Error: Duplicate key", UniqueViolationError),
        ("Constraint Error: PRIMARY KEY or UNIQUE constraint", UniqueViolationError),
        ("Constraint Error: NOT NULL constraint failed", NotNullViolationError),
        ("Constraint Error: CHECK constraint failed", CheckViolationError),
        ("Constraint Error: Violates foreign key constraint", ForeignKeyViolationError),
    ),
    "InvalidInputException": (
        ("Invalid Input Error: Python Conversion Failure", DataError),  # a value it cannot bind
    ),
    "TransactionException": (
        ("TransactionContext Error: Conflict on", SerializationError),
        ("TransactionContext Error: Cannot write to database", ReadOnlyError),
    ),
}

_DML = ("INSERT", "UPDATE", "DELETE")


class DuckDBBackend(StorageBackend):
    """DuckDB: a file database, or a private ``:memory:`` one.

    Settings (keywords or ``options``):
        database: file path or ``":memory:"`` (the default).
        read_only: open the file read-only.

    Connections to one file within a process share DuckDB's database
    instance, so a second backend on the same file sees committed rows.
    """

    name = "duckdb"
    driver_name = "duckdb"
    dialect_class = DuckDBDialect
    # duckdb has no async API: for async code each connection runs on a thread of its own.
    async_mode = "thread"
    error_classes = _ERROR_CLASSES
    # cursor() would open a second connection, outside this one's transaction, and the next statement
    # on this one drops the unread rows of a result: a stream takes its rows at once.
    streams_whole_results = True
    error_message_classes = _MESSAGE_CLASSES

    def __init__(self, connection_config: Any = None, **kwargs: Any) -> None:
        super().__init__(connection_config, **kwargs)
        if not self.config.database:
            self.config.database = ":memory:"

    def _async_connections(self) -> str | None:
        # ":memory:" lives in its one connection: async code uses it directly (no I/O to wait for).
        return "direct" if self.config.database == ":memory:" else "thread"

    @classmethod
    def scratch_settings(cls) -> dict[str, Any] | None:
        """Return settings for a private in-memory database."""
        return {"database": ":memory:"}

    def _driver_error_types(self) -> tuple[type[BaseException], ...]:
        return (duckdb.Error,) if duckdb is not None else ()

    def _connect(self) -> Any:
        if duckdb is None:
            raise DriverNotInstalledError("The duckdb backend needs the duckdb module: pip install duckdb")
        read_only = as_bool(self.config.options.get("read_only", False))
        return duckdb.connect(self.config.database or ":memory:", read_only=read_only)

    def _on_connect(self, connection: Any) -> None:
        connection.execute("SET TimeZone = 'UTC'")

    def _detect_capabilities(self, connection: Any) -> Capabilities:
        version = connection.execute("PRAGMA version").fetchone()[0].lstrip("v")
        return Capabilities(
            # ALTER TABLE refuses tables that foreign keys reference and columns that indexes cover,
            # and adds no constraints: only plain tables change (the kit checks those).
            supports_schema_changes=False,
            supports_savepoints=False,
            # Snapshot isolation: at least as strong as these three, but not SERIALIZABLE.
            isolation_levels=frozenset({IsolationLevel.READ_UNCOMMITTED,
                                        IsolationLevel.READ_COMMITTED,
                                        IsolationLevel.REPEATABLE_READ}),
            supports_read_only_transactions=True,
            supports_returning=True,
            reports_last_insert_id=False,
            supports_foreign_key_actions=False,
            supports_native_uuid=True,
            supports_timezone_aware_datetime=True,
            supports_upsert=True,
            supports_multiple_connections=self.config.database != ":memory:",
            server_version=tuple(int(p) for p in version.split(".") if p.isdigit()),
        )

    def _execute(self, connection: Any, sql: str, params: Sequence[Any] | None) -> QueryResult:
        cursor = connection.execute(sql, params) if params is not None else connection.execute(sql)
        description = cursor.description
        if description is None:
            return QueryResult(None, (), max(cursor.rowcount, 0))
        rows = cursor.fetchall()
        columns = [d[0] for d in description]
        # INSERT/UPDATE/DELETE without RETURNING answer one "Count" row; DDL "Count" or "Success".
        if columns in (["Count"], ["Success"]) and (cursor.rowcount >= 0 or not rows):
            if sql.lstrip()[:6].upper() in _DML or not rows:
                return QueryResult(None, (), max(cursor.rowcount, 0))
        return QueryResult(rows, columns, max(cursor.rowcount, 0))

    def _execute_many(self, connection: Any, sql: str, seq: Sequence[Sequence[Any]]) -> int:
        total = 0
        for params in seq:
            total += max(connection.execute(sql, params).rowcount, 0)
        return total

    def _rollback(self) -> None:
        try:
            self._connection.rollback()
        except duckdb.TransactionException:
            pass  # nothing to roll back: a failed COMMIT already ended the transaction

    def _interrupt(self, connection: Any) -> None:
        """Abort the running statement when it passes ``command_timeout``."""
        connection.interrupt()

    # -- introspection: DuckDB's catalog functions --------------------------------

    def _get_tables(self, schema: str | None, views: bool) -> list[str]:
        sql = ("SELECT view_name FROM duckdb_views() WHERE NOT internal" if views else
               "SELECT table_name FROM duckdb_tables() WHERE NOT internal")
        rows = self.execute_raw(sql + " AND schema_name = COALESCE(?, current_schema())", (schema,)).rows
        return [r[0] for r in rows]

    def _constraint_rows(self, table_name: str) -> list[Any]:
        return list(self.execute_raw(
            "SELECT constraint_type, constraint_name, constraint_column_names, expression, referenced_table, "
            "referenced_column_names FROM duckdb_constraints() WHERE schema_name = current_schema() "
            "AND table_name = ? ORDER BY constraint_index", (table_name,)).rows)

    def _get_primary_key(self, table_name: str) -> list[str]:
        for kind, _name, columns, *_ in self._constraint_rows(table_name):
            if kind == "PRIMARY KEY":
                return list(columns)
        return []

    def _get_indexes(self, table_name: str) -> list[IndexInfo]:
        rows = self.execute_raw(
            "SELECT index_name, is_unique, expressions FROM duckdb_indexes() "
            "WHERE schema_name = current_schema() AND table_name = ? AND NOT is_primary", (table_name,)).rows
        return [IndexInfo(name=name, columns=_index_columns(expressions), unique=bool(unique))
                for name, unique, expressions in rows]

    def _get_foreign_keys(self, table_name: str) -> list[ForeignKeyInfo]:
        # DuckDB has no ON DELETE/ON UPDATE actions (supports_foreign_key_actions is false).
        return [ForeignKeyInfo(name=name, columns=tuple(columns), referenced_table=target,
                               referenced_columns=tuple(referenced))
                for kind, name, columns, _e, target, referenced in self._constraint_rows(table_name)
                if kind == "FOREIGN KEY"]

    def _get_constraints(self, table_name: str) -> list[ConstraintInfo]:
        found = []
        for kind, name, columns, expression, *_ in self._constraint_rows(table_name):
            if kind == "UNIQUE":
                found.append(ConstraintInfo(name=name, kind="unique", columns=tuple(columns)))
            elif kind == "CHECK":
                condition = str(expression or "").strip()
                if condition.startswith("(") and condition.endswith(")"):
                    condition = condition[1:-1].strip()
                found.append(ConstraintInfo(name=name, kind="check", columns=tuple(columns),
                                            definition=condition))
        return found

    def _get_columns(self, table_name: str) -> list[ColumnInfo]:
        primary = set(self._get_primary_key(table_name))
        result = self.execute_raw(
            "SELECT column_name, data_type, is_nullable, column_default, is_generated = 'ALWAYS' "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table_name,))
        return [
            ColumnInfo(name=name, type=declared, nullable=nullable == "YES" and name not in primary,
                       default=None if generated else default, primary_key=name in primary,
                       db_type=DUCKDB_NATIVE_TYPES.get(base_type_name(declared)), generated=bool(generated))
            for name, declared, nullable, default, generated in result.rows
        ]


def _index_columns(expressions: Any) -> tuple[str, ...]:
    """Column names from ``duckdb_indexes().expressions``: text like ``['"label"', rank]``."""
    if not isinstance(expressions, str):
        return tuple(str(e) for e in expressions or ())
    text = expressions.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    names = []
    for part in text.split(","):
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] == "'":
            part = part[1:-1]
        if len(part) >= 2 and part[0] == part[-1] == '"':
            part = part[1:-1].replace('""', '"')
        if part:
            names.append(part)
    return tuple(names)
