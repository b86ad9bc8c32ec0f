"""``StorageBackend``: the contract every backend fulfils, and the logic they share.

Nesting transactions through savepoints, validating isolation levels,
translating driver errors, logging statements and reconnecting after a lost
connection are written once here. A concrete backend implements a handful of
small hooks (``_connect``, ``_close``, ``_execute``, ``_classify_error``,
``_get_columns`` ...) and names its dialect.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import logging
import time
import uuid
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping, Sequence

from .capabilities import Capabilities
from .dialect import SQLDialectBase
from .errors import (
    ConnectionError,
    ConnectionLostError,
    DatabaseError,
    NotSupportedError,
    TransactionError,
)
from .typing import ColumnDef, ColumnInfo, ConnectionConfig, DatabaseType, IsolationLevel, QueryResult

logger = logging.getLogger("rhosocial.activerecord.backend")
_DEBUG = logging.DEBUG

StatementListener = Callable[[str, Sequence[Any] | None, float], None]


class ColumnTypes:
    """Map Python types to generic column types (``DatabaseType`` plus sizing)."""

    PYTHON_TYPES: ClassVar[dict[type, DatabaseType]] = {
        bool: DatabaseType.BOOLEAN,
        int: DatabaseType.BIGINT,
        float: DatabaseType.DOUBLE,
        str: DatabaseType.TEXT,
        bytes: DatabaseType.BLOB,
        bytearray: DatabaseType.BLOB,
        decimal.Decimal: DatabaseType.DECIMAL,
        _dt.datetime: DatabaseType.TIMESTAMP,
        _dt.date: DatabaseType.DATE,
        _dt.time: DatabaseType.TIME,
        uuid.UUID: DatabaseType.UUID,
        dict: DatabaseType.JSON,
        list: DatabaseType.JSON,
    }

    @classmethod
    def for_python_type(cls, python_type: type) -> tuple[DatabaseType, dict[str, Any]]:
        """Return the generic column type for values of ``python_type``.

        Raises:
            TypeError: there is no sensible column type for it.
        """
        found = cls.PYTHON_TYPES.get(python_type)
        if found is None and isinstance(python_type, type):
            for base in python_type.__mro__[1:]:
                found = cls.PYTHON_TYPES.get(base)
                if found is not None:
                    break
        if found is None:
            raise TypeError(f"No column type for Python type {python_type!r}")
        return found, {}


class StorageBackend(ABC):
    """Base class of every backend.

    Construct with keyword settings (``database=``, ``host=``, ``url=`` ...)
    or a ready :class:`ConnectionConfig`. The connection opens lazily on the
    first statement, or explicitly with :meth:`connect`.

    Class attributes a backend sets:
        name: the registry name (``"sqlite"``).
        driver_name: the DB-API module it uses, for messages and listings.
        dialect_class: its :class:`SQLDialectBase` subclass.
    """

    name: ClassVar[str] = "base"
    driver_name: ClassVar[str] = ""
    dialect_class: ClassVar[type[SQLDialectBase]] = SQLDialectBase

    def __init__(self, connection_config: ConnectionConfig | None = None, **kwargs: Any) -> None:
        if connection_config is not None and kwargs:
            raise TypeError("Pass either a ConnectionConfig or keyword settings, not both")
        self.config = connection_config or ConnectionConfig.from_kwargs(**kwargs)
        self._connection: Any = None
        self._dialect: SQLDialectBase | None = None
        self._capabilities: Capabilities | None = None
        self._transaction_level = 0
        self._savepoints: list[str] = []
        self._listeners: list[StatementListener] = []
        self._driver_errors: tuple[type[BaseException], ...] = self._driver_error_types()

    @classmethod
    def scratch_settings(cls) -> dict[str, Any] | None:
        """Return settings for a throwaway database that needs no server, or ``None``.

        Tools that list backends connect with them to show the capabilities
        detected at connect; a server backend returns ``None``.
        """
        return None

    # -- hooks for concrete backends ------------------------------------------

    @abstractmethod
    def _connect(self) -> Any:
        """Open and return a driver connection (errors are translated by the caller)."""

    @abstractmethod
    def _close(self, connection: Any) -> None:
        """Close a driver connection."""

    @abstractmethod
    def _execute(self, connection: Any, sql: str, params: Sequence[Any] | None) -> QueryResult:
        """Run one statement on the driver and return its result (without timing)."""

    def _execute_many(self, connection: Any, sql: str, seq: Sequence[Sequence[Any]]) -> int:
        """Run one statement for many parameter sets and return the affected row count."""
        cursor = connection.cursor()
        try:
            cursor.executemany(sql, seq)
            return cursor.rowcount
        finally:
            cursor.close()

    def _driver_error_types(self) -> tuple[type[BaseException], ...]:
        """Return the driver exception classes to translate."""
        return ()

    def _classify_error(self, error: BaseException) -> type[DatabaseError]:
        """Return the error class for a driver error (by its error code)."""
        return DatabaseError

    def _error_code(self, error: BaseException) -> Any:
        """Return the driver's code for ``error`` (SQLSTATE, errno, error name)."""
        return None

    def _detect_capabilities(self, connection: Any) -> Capabilities:
        """Return the capabilities of the open connection (server version decides)."""
        return Capabilities()

    def _on_connect(self, connection: Any) -> None:
        """Prepare a new connection (session settings and the like)."""

    def _begin(self, isolation_level: IsolationLevel | None, read_only: bool, **options: Any) -> None:
        """Open a transaction on the current connection."""
        for sql in self.dialect.begin_sql(isolation_level, read_only):
            self._run_internal(sql)

    def _commit(self) -> None:
        """Commit the outermost transaction."""
        self._connection.commit()

    def _rollback(self) -> None:
        """Roll back the outermost transaction."""
        self._connection.rollback()

    def _after_transaction(self) -> None:
        """Restore session state changed by ``_begin`` (read-only flags and the like)."""

    @abstractmethod
    def _table_exists(self, table_name: str) -> bool:
        """Answer from the catalog whether ``table_name`` exists."""

    @abstractmethod
    def _get_columns(self, table_name: str) -> list[ColumnInfo]:
        """Read the columns of ``table_name`` from the catalog."""

    # -- connection ----------------------------------------------------------

    @property
    def dialect(self) -> SQLDialectBase:
        """The SQL dialect of this backend (one shared instance)."""
        if self._dialect is None:
            self._dialect = self.dialect_class()
        return self._dialect

    @property
    def capabilities(self) -> Capabilities:
        """The feature flags of this backend, read at connect (connects if needed)."""
        if self._capabilities is None:
            self.connect()
        assert self._capabilities is not None
        return self._capabilities

    features = capabilities

    def connect(self) -> None:
        """Open the connection if it is not open yet.

        Raises:
            ConnectionError: the database cannot be reached or refused the login.
        """
        if self._connection is not None:
            return
        try:
            connection = self._connect()
        except DatabaseError:
            raise
        except self._driver_errors as exc:
            raise ConnectionError(
                f"Cannot connect to {self.name} database {self.config.describe()!r}: {exc}",
                original=exc, code=self._error_code(exc),
            ) from exc
        try:
            self._on_connect(connection)
            self._capabilities = self._detect_capabilities(connection)
        except BaseException:
            self._close_quietly(connection)
            raise
        self._connection = connection
        self._transaction_level = 0
        self._savepoints.clear()
        logger.debug("connected to %s %s", self.name, self.config.describe())

    def disconnect(self) -> None:
        """Close the connection; an open transaction is rolled back by the database."""
        connection, self._connection = self._connection, None
        self._transaction_level = 0
        self._savepoints.clear()
        if connection is not None:
            self._close_quietly(connection)

    def _close_quietly(self, connection: Any) -> None:
        try:
            self._close(connection)
        except Exception:  # noqa: BLE001 - closing a broken connection may fail
            logger.debug("error while closing %s connection", self.name, exc_info=True)

    def is_connected(self) -> bool:
        """Return whether a connection is open (no round trip; see :meth:`ping`)."""
        return self._connection is not None

    def ping(self, reconnect: bool = False) -> bool:
        """Check the connection with a round trip; optionally reopen a lost one."""
        if self._connection is None:
            if not reconnect:
                return False
            self.connect()
        try:
            self._run_internal(self.ping_sql)
            return True
        except ConnectionError:
            if reconnect and self._transaction_level == 0:
                self.connect()
                return True
            return False

    ping_sql: ClassVar[str] = "SELECT 1"

    def __enter__(self) -> "StorageBackend":
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.disconnect()

    # -- statements ----------------------------------------------------------

    def execute(self, query: str, params: Sequence[Any] | None = None, **options: Any) -> QueryResult:
        """Run one statement and return its :class:`QueryResult`.

        ``query`` uses the dialect's placeholder style; ``params`` are bound,
        never interpolated, after adapting Python values the driver does not
        take natively. Options:

        - ``column_types``: ``{column: DatabaseType}`` to convert result values
          back to Python types (``Decimal``, ``datetime``, ``UUID``, JSON ...).

        Raises:
            DatabaseError: a subclass naming what went wrong, with ``sql``,
                ``params`` and the driver error (``original``/``__cause__``).
        """
        if params is not None:
            params = self.dialect.adapt_params(params)
        result = self.execute_raw(query, params)
        column_types = options.get("column_types")
        if column_types and result.rows:
            self._convert_rows(result, column_types)
        return result

    def execute_raw(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult:
        """Run one statement with parameters already in driver form.

        The fast path for callers that converted values themselves (the model
        layer does, with converters precomputed per column).
        """
        connection = self._connection
        if connection is None:
            self.connect()
            connection = self._connection
        start = time.perf_counter()
        try:
            result = self._execute(connection, sql, params)
        except self._driver_errors as exc:
            raise self._wrap_error(exc, sql, params) from exc
        duration = result.duration = time.perf_counter() - start
        if self._listeners or logger.isEnabledFor(_DEBUG):
            self._report(sql, params, duration, params)
        return result

    def execute_many(self, query: str, params_seq: Iterable[Sequence[Any]]) -> QueryResult:
        """Run one statement once per parameter set; return the total affected rows."""
        adapt = self.dialect.adapt_params
        return self.execute_many_raw(query, [adapt(p) for p in params_seq])

    def execute_many_raw(self, query: str, seq: Sequence[Sequence[Any]]) -> QueryResult:
        """Run one statement per parameter set, already in driver form (see :meth:`execute_raw`)."""
        if self._connection is None:
            self.connect()
        start = time.perf_counter()
        try:
            affected = self._execute_many(self._connection, query, seq)
        except self._driver_errors as exc:
            raise self._wrap_error(exc, query, None) from exc
        duration = time.perf_counter() - start
        self._report(query, None, duration, f"[{len(seq)} parameter sets]")
        return QueryResult(affected_rows=affected, duration=duration)

    def _report(self, sql: str, params: Sequence[Any] | None, duration: float, shown: Any) -> None:
        """Tell the statement listeners and the DEBUG log that ``sql`` ran."""
        for listener in self._listeners:
            listener(sql, params, duration)
        if logger.isEnabledFor(_DEBUG):
            logger.debug("%s %s (%.3f ms)", sql, shown, duration * 1000)

    def fetch_all(self, query: str, params: Sequence[Any] | None = None, **options: Any) -> list[dict[str, Any]]:
        """Run a query and return every row as a dict."""
        return self.execute(query, params, **options).dicts()

    def fetch_one(self, query: str, params: Sequence[Any] | None = None, **options: Any) -> dict[str, Any] | None:
        """Run a query and return its first row as a dict, or ``None``."""
        return self.execute(query, params, **options).first()

    def fetch_value(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query and return the first column of its first row, or ``None``."""
        return self.execute(query, params).scalar()

    def _run_internal(self, sql: str) -> QueryResult:
        return self.execute_raw(sql, None)

    def _convert_rows(self, result: QueryResult, column_types: Mapping[str, Any]) -> None:
        converters = []
        for column in result.columns:
            spec = column_types.get(column)
            if isinstance(spec, DatabaseType):
                spec = self.dialect.from_db(spec)
            converters.append(spec)
        if not any(converters):
            return
        result.rows = [
            tuple(v if (c is None or v is None) else c(v) for c, v in zip(converters, row))
            for row in result.rows
        ]

    # -- listeners -----------------------------------------------------------

    def add_listener(self, listener: StatementListener) -> None:
        """Call ``listener(sql, params, seconds)`` after every statement."""
        self._listeners.append(listener)

    def remove_listener(self, listener: StatementListener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    @contextmanager
    def capture_statements(self) -> Iterator[list[str]]:
        """Collect the SQL of every statement run inside the block."""
        captured: list[str] = []

        def listener(sql: str, params: Any, seconds: float) -> None:
            captured.append(sql)

        self.add_listener(listener)
        try:
            yield captured
        finally:
            self.remove_listener(listener)

    # -- errors --------------------------------------------------------------

    def _wrap_error(self, exc: BaseException, sql: str | None, params: Any) -> DatabaseError:
        """Translate a driver error into this package's hierarchy."""
        cls = self._classify_error(exc)
        if issubclass(cls, ConnectionLostError) or (
            issubclass(cls, ConnectionError) and self._connection is not None
        ):
            self._forget_connection()
        return cls(str(exc).strip() or type(exc).__name__, sql=sql, params=params,
                   original=exc, code=self._error_code(exc))

    def _forget_connection(self) -> None:
        """Drop a broken connection; the next statement opens a new one."""
        connection, self._connection = self._connection, None
        lost_transaction = self._transaction_level > 0
        self._transaction_level = 0
        self._savepoints.clear()
        if connection is not None:
            self._close_quietly(connection)
        if lost_transaction:
            logger.warning("%s connection lost inside a transaction; it was rolled back", self.name)

    @contextmanager
    def _translate_errors(self, sql: str | None = None, params: Any = None) -> Iterator[None]:
        """Translate driver errors raised inside the block."""
        try:
            yield
        except self._driver_errors as exc:
            raise self._wrap_error(exc, sql, params) from exc

    # -- transactions --------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""
        return self._transaction_level > 0

    @property
    def transaction_level(self) -> int:
        """How deeply transactions are nested (0: none)."""
        return self._transaction_level

    def begin_transaction(
        self, isolation_level: IsolationLevel | str | None = None, read_only: bool = False,
        **options: Any,
    ) -> None:
        """Open a transaction, or a savepoint when one is already open.

        Args:
            isolation_level: an :class:`IsolationLevel` or its name; only the
                outermost level may set it.
            read_only: open a read-only transaction (outermost level only).

        Raises:
            IsolationLevelError: the level is not a known isolation level.
            NotSupportedError: the backend does not offer the level, read-only
                transactions or savepoints.
            TransactionError: options were given for a nested level.
        """
        level = IsolationLevel.parse(isolation_level) if isolation_level is not None else None
        caps = self.capabilities
        if self._transaction_level == 0:
            if level is not None and level not in caps.isolation_levels:
                raise NotSupportedError(f"{self.name} does not support isolation level {level.name}")
            if read_only and not caps.supports_read_only_transactions:
                raise NotSupportedError(f"{self.name} does not support read-only transactions")
            self._begin(level, read_only, **options)
            self._transaction_level = 1
            return
        if level is not None or read_only or options:
            raise TransactionError(
                "Isolation level and read-only mode can only be set on the outermost transaction"
            )
        if not caps.supports_savepoints:
            raise NotSupportedError(f"{self.name} does not support nested transactions (savepoints)")
        name = f"sp_{self._transaction_level}"
        self._run_internal(self.dialect.savepoint_sql(name))
        self._savepoints.append(name)
        self._transaction_level += 1

    def commit_transaction(self) -> None:
        """Commit the innermost level: release its savepoint, or commit the transaction.

        Raises:
            TransactionError: no transaction is open.
        """
        if self._transaction_level == 0:
            raise TransactionError("commit_transaction() called with no transaction open")
        if self._transaction_level > 1:
            name = self._savepoints[-1]
            self._run_internal(self.dialect.release_savepoint_sql(name))
            self._savepoints.pop()
            self._transaction_level -= 1
            return
        try:
            with self._translate_errors("COMMIT"):
                self._commit()
        except DatabaseError:
            # A failed COMMIT ends the transaction; make sure nothing is left open.
            if self._connection is not None:
                try:
                    with self._translate_errors("ROLLBACK"):
                        self._rollback()
                except DatabaseError:
                    pass
            self._end_transaction()
            raise
        self._end_transaction()

    def rollback_transaction(self) -> None:
        """Undo the innermost level: roll back to its savepoint, or roll back the transaction.

        Raises:
            TransactionError: no transaction is open.
        """
        if self._transaction_level == 0:
            raise TransactionError("rollback_transaction() called with no transaction open")
        if self._transaction_level > 1:
            name = self._savepoints[-1]
            self._run_internal(self.dialect.rollback_to_savepoint_sql(name))
            self._run_internal(self.dialect.release_savepoint_sql(name))
            self._savepoints.pop()
            self._transaction_level -= 1
            return
        try:
            with self._translate_errors("ROLLBACK"):
                self._rollback()
        finally:
            self._end_transaction()

    def _end_transaction(self) -> None:
        self._transaction_level = 0
        self._savepoints.clear()
        if self._connection is not None:
            self._after_transaction()

    @contextmanager
    def transaction(
        self, isolation_level: IsolationLevel | str | None = None, read_only: bool = False,
        **options: Any,
    ) -> Iterator["StorageBackend"]:
        """Run the block in a transaction: commit on success, roll back on exception.

        Nested blocks become savepoints, so an inner failure undoes only the
        inner block when the outer block catches it.
        """
        self.begin_transaction(isolation_level, read_only, **options)
        depth = self._transaction_level
        try:
            yield self
        except BaseException:
            # The level may already be gone if the connection was lost.
            if self._transaction_level >= depth:
                while self._transaction_level > depth:
                    self.rollback_transaction()
                self.rollback_transaction()
            raise
        else:
            if self._transaction_level != depth:
                # Undo the block rather than leave a transaction (and its locks) open.
                while self._transaction_level >= depth:
                    self.rollback_transaction()
                raise TransactionError("Transaction levels were left unbalanced inside the block")
            self.commit_transaction()

    # -- schema --------------------------------------------------------------

    def create_table(
        self,
        table_name: str,
        columns: Sequence[ColumnDef] | Mapping[str, Any],
        if_not_exists: bool = False,
        constraints: Sequence[str] = (),
        indexes: Sequence[Sequence[str]] = (),
        unique_indexes: Sequence[Sequence[str]] = (),
    ) -> None:
        """Create a table from column definitions.

        ``columns`` is a list of :class:`ColumnDef`, or a mapping of names to a
        ``DatabaseType`` or a ``ColumnDef``-style keyword dict.
        """
        defs = _column_defs(columns)
        if not self.capabilities.supports_foreign_key_actions:
            for c in defs:
                if c.references and c.on_delete:
                    raise NotSupportedError(
                        f"{self.name} does not support ON DELETE {c.on_delete.upper()} "
                        f"(column {c.name!r})"
                    )
        if not self.capabilities.supports_foreign_keys:
            from dataclasses import replace
            defs = [replace(c, references=None) if c.references else c for c in defs]
        self._run_internal(self.dialect.create_table_sql(table_name, defs, if_not_exists, constraints))
        for cols in indexes:
            self.create_index(table_name, cols, if_not_exists=if_not_exists)
        for cols in unique_indexes:
            self.create_index(table_name, cols, unique=True, if_not_exists=if_not_exists)

    def create_index(self, table_name: str, columns: Sequence[str], name: str | None = None,
                     unique: bool = False, if_not_exists: bool = False) -> None:
        """Create an index on ``columns`` of ``table_name``."""
        self._run_internal(self.dialect.create_index_sql(table_name, list(columns), name, unique, if_not_exists))

    def drop_table(self, table_name: str, if_exists: bool = False) -> None:
        """Drop a table."""
        self._run_internal(self.dialect.drop_table_sql(table_name, if_exists))

    def table_exists(self, table_name: str) -> bool:
        """Return whether ``table_name`` exists, asking the catalog."""
        if self._connection is None:
            self.connect()
        return self._table_exists(table_name)

    def get_columns(self, table_name: str) -> list[ColumnInfo]:
        """Return the columns of ``table_name`` in table order (empty if it does not exist)."""
        if self._connection is None:
            self.connect()
        return self._get_columns(table_name)

    def __repr__(self) -> str:
        state = "connected" if self._connection is not None else "disconnected"
        return f"<{type(self).__name__} {self.config.describe()!r} {state}>"


def _column_defs(columns: Sequence[ColumnDef] | Mapping[str, Any]) -> list[ColumnDef]:
    if isinstance(columns, Mapping):
        defs = []
        for name, spec in columns.items():
            if isinstance(spec, ColumnDef):
                defs.append(spec)
            elif isinstance(spec, DatabaseType):
                defs.append(ColumnDef(name, spec))
            elif isinstance(spec, Mapping):
                defs.append(ColumnDef(name, **spec))
            else:
                raise TypeError(f"Column {name!r}: expected DatabaseType, ColumnDef or dict, got {spec!r}")
        return defs
    return list(columns)
