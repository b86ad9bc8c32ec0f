"""Schema changes on a live database: ALTER TABLE and friends, plus the migration lock.

:class:`SchemaChanges` is mixed into every
:class:`~rhosocial.activerecord.backend.base.StorageBackend`. Each method
compiles one change through the backend's dialect and runs it; a backend
whose database cannot say a change in SQL overrides the method (SQLite
rebuilds the table). Migrations (:mod:`rhosocial.activerecord.migration`)
run their operations through these methods, and applications may call them
directly.

Identifiers are always quoted; CHECK conditions, partial-index conditions and
SQL defaults are trusted schema text, as in ``create_table``.
"""
from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Sequence

from .errors import ConnectionError, NotSupportedError, OperationalError, ProgrammingError
from .typing import ColumnDef

MIGRATION_LOCK = "rhosocial_migrations"


class MigrationLockTimeout(OperationalError):
    """Another process held the migration lock for longer than the timeout."""


class SchemaChanges:
    """ALTER TABLE, index and constraint changes, compiled by the dialect (mixed into the backend)."""

    if TYPE_CHECKING:
        name: ClassVar[str]

        @property
        def capabilities(self) -> Any: ...
        @property
        def dialect(self) -> Any: ...
        def execute_raw(self, sql: str, params: Any = None) -> Any: ...
        def get_foreign_keys(self, table_name: str) -> list[Any]: ...
        def get_unique_constraints(self, table_name: str) -> list[Any]: ...
        def connection(self) -> Any: ...
        def transaction(self, *args: Any, **kwargs: Any) -> Any: ...

    def _ddl(self, statements: Sequence[str]) -> None:
        """Run the statements of one change; several run in one schema transaction (all or none
        where DDL is transactional)."""
        if len(statements) == 1:
            self.execute_raw(statements[0])
            return
        with self.schema_transaction():
            for sql in statements:
                self.execute_raw(sql)

    # -- tables and columns ----------------------------------------------------

    def rename_table(self, table: str, new_name: str) -> None:
        """Rename ``table`` to ``new_name`` (it stays in its schema)."""
        self._ddl([self.dialect.rename_table_sql(table, new_name)])

    def add_column(self, table: str, column: ColumnDef) -> None:
        """Add ``column`` to ``table`` (its foreign key too, when it has ``references``)."""
        self._ddl(self.dialect.add_column_sql(table, _checked(column)))

    def drop_column(self, table: str, column: str) -> None:
        """Drop ``column`` from ``table`` (its indexes and constraints go with it)."""
        self._ddl([self.dialect.drop_column_sql(table, column)])

    def rename_column(self, table: str, old: str, new: str) -> None:
        """Rename a column of ``table``; indexes and constraints follow it."""
        self._ddl([self.dialect.rename_column_sql(table, old, new)])

    def alter_column(self, table: str, column: ColumnDef,
                     previous: ColumnDef | None = None) -> None:
        """Give column ``column.name`` the type, nullability and default of ``column``.

        ``previous`` is the column as it is now, when known: only what differs
        is changed. Values are converted by the database (PostgreSQL casts
        them with ``USING``); a value that does not fit fails the change and
        nothing is altered.
        """
        self._ddl(self.dialect.alter_column_sql(table, _checked(column), previous))

    # -- indexes ---------------------------------------------------------------

    def drop_index(self, table: str, name: str, concurrently: bool = False) -> None:
        """Drop the index ``name`` of ``table`` (``concurrently`` on PostgreSQL, outside a transaction)."""
        self._ddl([self.dialect.drop_index_sql(table, name, concurrently)])

    # -- constraints -----------------------------------------------------------

    def add_foreign_key(self, table: str, columns: Sequence[str], referenced_table: str,
                        referenced_columns: Sequence[str] = ("id",), name: str | None = None,
                        on_delete: str | None = None, on_update: str | None = None) -> str:
        """Add a foreign key from ``columns`` to ``referenced_table``; return its name."""
        name = name or self.dialect.constraint_name("fk", table, columns)
        self._ddl([self.dialect.add_foreign_key_sql(table, name, list(columns), referenced_table,
                                                    list(referenced_columns), on_delete, on_update)])
        return name

    def drop_foreign_key(self, table: str, name: str | None = None,
                         columns: Sequence[str] | None = None) -> None:
        """Drop a foreign key of ``table``, named, or found by its ``columns``."""
        found = _find(self.get_foreign_keys(table), "foreign key", table, name, columns)
        if found.name is None:
            raise NotSupportedError(f"The foreign key of {table!r} on {found.columns} has no name to drop it by")
        self._ddl([self.dialect.drop_foreign_key_sql(table, found.name)])

    def add_unique_constraint(self, table: str, columns: Sequence[str],
                              name: str | None = None) -> str:
        """Add a UNIQUE constraint on ``columns``; return its name."""
        name = name or self.dialect.constraint_name("uq", table, columns)
        self._ddl([self.dialect.add_unique_sql(table, name, list(columns))])
        return name

    def drop_unique_constraint(self, table: str, name: str | None = None,
                               columns: Sequence[str] | None = None) -> None:
        """Drop a UNIQUE constraint of ``table``, named, or found by its ``columns``."""
        found = _find(self.get_unique_constraints(table), "unique constraint", table, name, columns)
        if found.name is None:
            raise NotSupportedError(f"The unique constraint of {table!r} on {found.columns} has no name")
        self._ddl([self.dialect.drop_unique_sql(table, found.name)])

    def add_check_constraint(self, table: str, name: str, condition: str) -> None:
        """Add ``CHECK (condition)`` named ``name`` (rows that break it fail the change)."""
        if not self.capabilities.supports_check_constraints:
            raise NotSupportedError(f"{self.name} does not enforce CHECK constraints")
        self._ddl([self.dialect.add_check_sql(table, name, condition)])

    def drop_check_constraint(self, table: str, name: str) -> None:
        """Drop the CHECK constraint ``name``."""
        self._ddl([self.dialect.drop_check_sql(table, name)])

    # -- transactions and locks for schema changes ------------------------------

    @contextmanager
    def schema_transaction(self) -> Iterator[Any]:
        """Hold one connection for a group of schema changes, in a transaction where DDL is transactional.

        On PostgreSQL and SQLite everything inside commits or rolls back as
        one; on MySQL/MariaDB each DDL statement commits by itself, so only
        the connection is held (see ``Capabilities.supports_transactional_ddl``).
        """
        with self.connection():
            if self.capabilities.supports_transactional_ddl:
                with self.transaction():
                    yield self
            else:
                yield self

    @contextmanager
    def migration_lock(self, name: str = MIGRATION_LOCK,
                       timeout: float | None = None) -> Iterator[bool]:
        """Hold the database-wide lock ``name`` (one connection) for the block; yield whether one was taken.

        PostgreSQL takes an advisory lock, MySQL/MariaDB ``GET_LOCK``; a
        backend without one yields ``False`` and the migration runner relies on
        each migration's exclusive transaction instead (SQLite). Waits up to
        ``timeout`` seconds (``None``: as long as it takes).

        Raises:
            MigrationLockTimeout: the lock stayed taken for ``timeout`` seconds.
        """
        with self.connection():
            held = self._take_lock(name, timeout)
            try:
                yield held
            finally:
                if held:
                    try:
                        self._drop_lock(name)
                    except ConnectionError:
                        pass  # the session is gone, and its lock with it: nothing to release

    def _take_lock(self, name: str, timeout: float | None) -> bool:
        """Take the session lock ``name`` on the held connection; ``False`` if the database has none."""
        return False

    def _drop_lock(self, name: str) -> None:
        """Release the session lock ``name``."""


def poll_lock(try_once: Any, name: str, timeout: float | None, interval: float = 0.05) -> bool:
    """Call ``try_once()`` until it returns true or ``timeout`` passes (for locks without a blocking wait)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not try_once():
        if deadline is not None and time.monotonic() >= deadline:
            raise MigrationLockTimeout(
                f"The lock {name!r} is held by another session (migrations running elsewhere?); "
                f"waited {timeout:g} s")
        time.sleep(interval)
    return True


def lock_key(name: str) -> int:
    """A signed 64-bit key for ``name`` (PostgreSQL advisory locks are numbered)."""
    return int.from_bytes(hashlib.sha1(name.encode("utf-8")).digest()[:8], "big", signed=True)


def _checked(column: ColumnDef) -> ColumnDef:
    if not isinstance(column, ColumnDef):
        raise TypeError(f"Expected a ColumnDef, got {column!r}")
    return column


def _find(found: Sequence[Any], what: str, table: str, name: str | None, columns: Sequence[str] | None) -> Any:
    if name is None and columns is None:
        raise ValueError(f"Name the {what} to drop, or give its columns")
    for item in found:
        if (name is not None and item.name == name) or (
                name is None and columns is not None and tuple(item.columns) == tuple(columns)):
            return item
    key = f"named {name!r}" if name is not None else f"on {tuple(columns or ())}"
    raise ProgrammingError(f"{table!r} has no {what} {key}")
