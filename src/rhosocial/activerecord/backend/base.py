"""``StorageBackend``: the contract every backend fulfils, and the logic they share.

Pooling connections, keeping transaction state per thread and task, nesting
transactions through savepoints, validating isolation levels, translating
driver errors, bounding calls and logging statements are written once here
(with :mod:`.pool` and :mod:`.transaction`). A concrete backend implements a
handful of small hooks (``_connect``, ``_close``, ``_execute``,
``_classify_error``, ``_get_columns`` ...) and names its dialect.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import itertools
import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from asyncio.events import _get_running_loop
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Mapping, Sequence

from . import bridge as _bridge
from .alter import SchemaChanges
from .capabilities import Capabilities
from .dialect import SQLDialectBase
from .introspection import ConstraintInfo, ForeignKeyInfo, IndexInfo, TableInfo
from .errors import (
    CommandTimeoutError,
    ConnectionError,
    DatabaseError,
    DataError,
    NotSupportedError,
    ProgrammingError,
    TransactionError,
)
from .pool import ConnectionPool, PooledConnection, PoolSettings, fork_generation
from .transaction import Transaction, TransactionMethods, TransactionStatus
from .typing import (
    ColumnDef,
    ColumnInfo,
    ConnectionConfig,
    DatabaseType,
    IsolationLevel,
    QueryResult,
    split_table_name,
)

if TYPE_CHECKING:
    from .streaming import RowStream

logger = logging.getLogger("rhosocial.activerecord.backend")
_DEBUG = logging.DEBUG
_now = time.perf_counter
_IDLE = TransactionStatus.IDLE
_get_ident = threading.get_ident
_FORK = fork_generation
_ASYNC = _bridge.ACTIVE
_UNDECIDED = object()

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


class StorageBackend(TransactionMethods, SchemaChanges, ABC):
    """Base class of every backend.

    Construct with keyword settings (``database=``, ``host=``, ``url=`` ...)
    or a ready :class:`ConnectionConfig`. Connections open lazily, from the
    backend's :class:`~rhosocial.activerecord.backend.pool.ConnectionPool`:
    a statement outside a transaction borrows one for its own duration, a
    transaction holds one until it ends. One backend serves every thread and
    asyncio task of a process; transaction state belongs to the context that
    opened the transaction (see :mod:`rhosocial.activerecord.backend.transaction`).

    Pool settings (``pool_size``, ``max_overflow``, ``pool_timeout``,
    ``pool_recycle``, ``pool_idle_timeout``, ``pool_pre_ping``) and
    ``command_timeout`` are read from the options of every backend; see
    :class:`~rhosocial.activerecord.backend.pool.PoolSettings`.

    Class attributes a backend sets:
        name: the registry name (``"sqlite"``).
        driver_name: the DB-API module it uses, for messages and listings.
        dialect_class: its :class:`SQLDialectBase` subclass.
        interrupt_drops_connection: whether :meth:`_interrupt` breaks the
            connection (a socket shut down) rather than cancelling the call.
        async_mode: how async code (the ``a``-methods) gets connections:
            ``"native"`` (the backend implements :meth:`_connect_async` over
            an async driver), ``"thread"`` (each connection runs on a thread
            of its own), or ``None``: the backend is synchronous only, and
            async use raises :class:`NotSupportedError` naming it.
    """

    name: ClassVar[str] = "base"
    driver_name: ClassVar[str] = ""
    dialect_class: ClassVar[type[SQLDialectBase]] = SQLDialectBase
    interrupt_drops_connection: ClassVar[bool] = False
    async_mode: ClassVar[str | None] = None

    def __init__(self, connection_config: ConnectionConfig | None = None, **kwargs: Any) -> None:
        if connection_config is not None and kwargs:
            raise TypeError("Pass either a ConnectionConfig or keyword settings, not both")
        self.config = connection_config or ConnectionConfig.from_kwargs(**kwargs)
        self._dialect: SQLDialectBase | None = None
        self._capabilities: Capabilities | None = None
        self._listeners: tuple[StatementListener, ...] = ()
        self._driver_errors: tuple[type[BaseException], ...] = self._driver_error_types()
        self.pool_settings = PoolSettings.from_options(self.config.options)
        self._command_timeout = self.pool_settings.command_timeout
        self._pool = ConnectionPool(self, self.pool_settings)
        self._loop_pools: dict[Any, ConnectionPool] = {}  # event loop -> the pool of its async connections
        self._async_how: str | None | object = _UNDECIDED  # _async_connections(), asked once
        self._loop_pools_lock = threading.Lock()
        self._state: ContextVar[Transaction | None] = ContextVar(
            f"rhosocial_{type(self).__name__}_{id(self):x}", default=None)

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

    def _close(self, connection: Any) -> None:
        """Close a driver connection (the default: its DB-API ``close()``)."""
        connection.close()

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

    def _stream_start(self, connection: Any, sql: str, params: Sequence[Any] | None, batch_size: int,
                      shared: bool) -> tuple[Any, Sequence[str]]:
        """Start a query whose rows are read later, a batch at a time; return ``(cursor, column names)``.

        ``shared``: the connection is also the context's (a transaction, a
        ``connection()`` block, or a pool of one), so other statements may run
        on it between two reads; otherwise it serves the stream alone. The
        default uses a plain DB-API cursor read with ``fetchmany``, which is
        lazy where the driver is (``sqlite3`` steps the statement row by
        row); a driver with a server-side cursor overrides the stream hooks.
        """
        if self.streams_whole_results:
            result = self._execute(connection, sql, params)
            return (row for row in result.rows or ()), result.columns
        cursor = connection.cursor()
        cursor.arraysize = batch_size
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, params)
        description = cursor.description
        return cursor, [d[0] for d in description] if description else []

    #: Whether a stream reads its whole result at once (``_execute``) and hands it out in batches:
    #: for a driver whose cursors cannot serve one (a cursor that is a second connection, outside
    #: the transaction). Memory then holds the whole result, as ``all()``'s rows would.
    streams_whole_results: ClassVar[bool] = False

    def _stream_fetch(self, connection: Any, cursor: Any, size: int) -> Sequence[Any]:
        """Read the next rows of a stream: ``size`` of them, fewer only at its end."""
        if self.streams_whole_results:
            return list(itertools.islice(cursor, size))
        return cursor.fetchmany(size)

    def _stream_end(self, connection: Any, cursor: Any, complete: bool, shared: bool) -> bool:
        """Free what a stream holds (``complete``: its last row was read); return whether the connection is reusable."""
        cursor.close()
        return True

    def _stream_abandon(self, connection: Any, cursor: Any, shared: bool) -> bool:
        """Forget a stream without any I/O; return whether the connection may be used again.

        Called where no I/O can run: the finalizer of a stream of async code
        that was left unclosed, or another thread's. A connection the stream
        had alone is closed whatever this returns.
        """
        return shared

    def _driver_error_types(self) -> tuple[type[BaseException], ...]:
        """Return the driver exception classes to translate."""
        return ()

    async def _connect_async(self) -> Any:
        """Open a connection for async use (``async_mode = "native"``) and return it.

        The object returned must have the surface the synchronous hooks use
        (``_execute``, ``_on_connect``, ``_close`` ...): a facade over the
        async driver whose I/O methods call
        :func:`~rhosocial.activerecord.backend.bridge.await_`. Errors are
        raised as the synchronous driver's exception classes, so
        ``_classify_error`` serves both. A failure to connect raises
        :class:`ConnectionError`, as ``_connect`` does.
        """
        raise NotSupportedError(f"The {self.name} backend has no async driver")

    def _async_connections(self) -> str | None:
        """How async code gets connections for these settings (see ``async_mode``).

        ``"direct"`` shares the synchronous pool and uses its connections in
        the event loop's thread: for a database that lives in one connection
        (SQLite's ``:memory:``), where there is no I/O to wait for.
        """
        return self.async_mode

    #: Error class per driver error code (``_error_code``), for the default ``_classify_error``.
    error_classes: ClassVar[Mapping[Any, type[DatabaseError]]] = {}
    #: Per code, ``(message prefix, error class)`` pairs tried first: for a driver whose code
    #: is too coarse (one code for every constraint), the message's fixed opening tells them apart.
    error_message_classes: ClassVar[Mapping[Any, Sequence[tuple[str, type[DatabaseError]]]]] = {}

    def _classify_error(self, error: BaseException) -> type[DatabaseError]:
        """Return the error class for a driver error (by its error code).

        ``self._connection`` is the connection the failed call ran on. The
        default looks the code up in :attr:`error_message_classes` (by the
        message's opening), then :attr:`error_classes`; else ``DatabaseError``.
        """
        code = self._error_code(error)
        if self.error_message_classes:
            message = str(error)
            for prefix, cls in self.error_message_classes.get(code, ()):
                if message.startswith(prefix):
                    return cls
        return self.error_classes.get(code, DatabaseError)

    def _error_code(self, error: BaseException) -> Any:
        """Return the driver's code for ``error`` (SQLSTATE, errno, error name).

        The default is the exception's class name, which is the code of drivers
        that raise one class per error kind.
        """
        return type(error).__name__

    def _detect_capabilities(self, connection: Any) -> Capabilities:
        """Return the capabilities of the open connection (server version decides).

        Called for the first connection only. ``supports_multiple_connections=False``
        (an in-memory database) makes the pool keep exactly that one connection.
        """
        return Capabilities()

    def _on_connect(self, connection: Any) -> None:
        """Prepare a new connection (session settings and the like)."""

    def _begin(self, isolation_level: IsolationLevel | None, read_only: bool, **options: Any) -> None:
        """Open a transaction on the current connection.

        A backend that takes per-transaction options reads them from
        ``options``; the default takes none and refuses any.
        """
        if options:
            raise TypeError(f"Unknown transaction options for {self.name}: {', '.join(options)}")
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

    def _check_connection(self, connection: Any) -> bool:
        """Return whether an idle pooled connection is still usable (``pool_pre_ping``).

        The default makes a round trip with :attr:`ping_sql`; a backend that
        can tell without one (a look at the socket) overrides it.
        """
        try:
            self._execute(connection, self.ping_sql, None)
            return True
        except self._driver_errors:
            return False

    def _transaction_status(self, connection: Any) -> TransactionStatus | None:
        """Return what the server says of the connection's transaction; ``None`` if unknown.

        Used to roll back what a raw ``BEGIN`` left open before a connection
        returns to the pool, to notice a transaction the server ended on its
        own, and to refuse to COMMIT one an error aborted.
        """
        return None

    def _error_ends_transaction(self, error: DatabaseError) -> bool:
        """Return whether the server rolled back the whole open transaction on ``error``."""
        return isinstance(error, ConnectionError)

    def _interrupt(self, connection: Any) -> None:
        """Stop a call that ran past ``command_timeout``; called from the watchdog thread.

        Break the connection (shut its socket down, and set
        ``interrupt_drops_connection``) or cancel the call; the blocked call
        must then fail with a driver error. The default does nothing, so a
        backend without this hook has no client-side bound.
        """

    # -- connection ----------------------------------------------------------

    @property
    def dialect(self) -> SQLDialectBase:
        """The SQL dialect of this backend (one shared instance; needs no connection)."""
        if self._dialect is None:
            self._dialect = self.dialect_class()
        return self._dialect

    @property
    def capabilities(self) -> Capabilities:
        """The feature flags of this backend, read at the first connect (connects if needed)."""
        if self._capabilities is None:
            self.connect()
        assert self._capabilities is not None
        return self._capabilities

    features = capabilities

    @property
    def pool(self) -> ConnectionPool:
        """The connection pool (``pool.stats()``, ``pool.dispose()``)."""
        return self._pool

    def connect(self) -> None:
        """Open a connection now unless one is open: checks settings and reachability early.

        Raises:
            ConnectionError: the database cannot be reached or refused the login.
        """
        pool = self._lender()
        if self._capabilities is not None and (self._owned() is not None or pool.is_open()):
            return
        # (another thread may be opening the first connection: acquire() waits for it)
        pool.release(pool.acquire())

    def disconnect(self) -> None:
        """Close the pool's connections; the backend opens new ones when used again.

        A transaction this thread or task has open is rolled back (its
        connection is closed). Connections other threads hold are closed when
        they give them back, so their work in progress is not cut off.
        """
        state = self._owned()
        if state is not None:
            self._state.set(None)
            frames, state.frames = state.frames, []
            entry, state.entry = state.entry, None
            state.pins = 0
            if entry is not None:
                entry.pool.discard(entry)
            for frame in reversed(frames):
                frame.rolled_back()
        for pool in self._pools():
            pool.dispose()

    def dispose(self) -> None:
        """Alias of :meth:`disconnect` (the name pools use)."""
        self.disconnect()

    def _lender(self) -> ConnectionPool:
        """The pool this thread or task borrows from (the event loop's own, inside an ``a``-method).

        Raises:
            TransactionError: this context was copied from one with an open
                transaction on this backend (a task created inside
                ``atransaction()``, a thread started through
                ``asyncio.to_thread``).
            NotSupportedError: async use of a backend without async support.
        """
        state = self._state.get()
        if state is not None and state.frames and state.fork == _FORK[0]:
            raise _foreign_transaction(self, state)
        if not _ASYNC[0]:
            return self._pool
        bridge = _bridge.current_bridge()
        if bridge is None:
            return self._pool
        return self._loop_pool(bridge.loop)

    def _async_how_decided(self) -> str | None:
        """``_async_connections()``, asked once: it depends on the settings only."""
        how = self._async_how
        if how is _UNDECIDED:
            how = self._async_how = self._async_connections()
        return how  # type: ignore[return-value]

    def _loop_pool(self, loop: Any) -> ConnectionPool:
        """The pool of async connections for ``loop``, opened on first use."""
        pool = self._loop_pools.get(loop)
        if pool is not None:
            return pool
        mode = self._async_how_decided()
        if mode is None:
            raise NotSupportedError(
                f"The {self.name} backend ({type(self).__module__}.{type(self).__name__}) does not "
                "support async use: it has no async driver (async_mode is None). Use its "
                "synchronous methods (in a thread: asyncio.to_thread), or a backend with async support.")
        if mode == "direct":
            return self._pool
        with self._loop_pools_lock:
            for other, stale in list(self._loop_pools.items()):
                if other.is_closed():  # a finished asyncio.run(): its connections cannot be used again
                    del self._loop_pools[other]
                    stale.dispose()
            pool = self._loop_pools.get(loop)
            if pool is None:
                pool = ConnectionPool(self, self.pool_settings, loop)
                if self._pool._single:
                    pool.limit_to_one()
                self._loop_pools[loop] = pool
        return pool

    def _pools(self) -> list[ConnectionPool]:
        """The synchronous pool and every event loop's pool."""
        return [self._pool, *self._loop_pools.values()]

    def _open_pooled(self, pool: ConnectionPool | None = None) -> PooledConnection:
        """Open a driver connection for ``pool`` (sync, or an event loop's) and prepare it."""
        try:
            if pool is None or pool.loop is None:
                connection = self._connect()
            elif self._async_how_decided() == "thread":
                connection = _bridge.ThreadedConnection.open(self._connect, f"rhosocial-{self.name}")
            else:
                connection = _bridge.await_(self._connect_async())
        except DatabaseError:
            raise
        except self._driver_errors as exc:
            raise ConnectionError(
                f"Cannot connect to {self.name} database {self.config.describe()!r}: {exc}",
                original=exc, code=self._error_code(exc),
            ) from exc
        entry = PooledConnection(connection, pool or self._pool)
        bound = Transaction(self, entry, self._command_timeout)  # hooks that run SQL use it
        bound.pins = 1
        token = self._state.set(bound)
        try:
            self._on_connect(connection)
            if self._capabilities is None:
                capabilities = self._detect_capabilities(connection)
                if not capabilities.supports_multiple_connections:
                    for each in self._pools():
                        each.limit_to_one()
                self._capabilities = capabilities
        except BaseException:
            self._close_quietly(connection)
            raise
        finally:
            self._state.reset(token)
            bound.entry = None
        logger.debug("connected to %s %s", self.name, self.config.describe())
        return entry

    def _close_quietly(self, connection: Any) -> None:
        try:
            self._close(connection)
        except Exception:  # noqa: BLE001 - closing a broken connection may fail
            logger.debug("error while closing %s connection", self.name, exc_info=True)

    def is_connected(self) -> bool:
        """Return whether a connection is open (no round trip; see :meth:`ping`)."""
        return self._owned() is not None or any(pool.is_open() for pool in self._pools())

    def ping(self, reconnect: bool = False) -> bool:
        """Check a connection with a round trip; with ``reconnect``, open a new one if needed."""
        held = self._owned()
        if held is None and not reconnect and not self._lender().is_open():
            return False
        for attempt in (1, 2):
            try:
                self._call(self._execute, self.ping_sql, None, control=True)
                return True
            except ConnectionError:
                if not reconnect or held is not None or attempt == 2:
                    return False
        return False

    ping_sql: ClassVar[str] = "SELECT 1"

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """Hold one connection for the block and yield the driver connection.

        Statements inside run on it, outside any transaction (for session
        settings, temporary tables, locks held by the session); a transaction
        opened inside uses it too. Inside a transaction it is the
        transaction's connection.
        """
        state = self._owned()
        if state is None:
            state = Transaction(self, self._lender().acquire(), self._command_timeout)
            self._state.set(state)
        elif state.pending:
            self._open_pending(state)  # raw use of the connection must be inside the transaction
        state.pins += 1
        failed = False
        try:
            yield state.connection
        except BaseException:
            failed = True
            raise
        finally:
            state.pins -= 1
            if state.pins == 0 and not state.frames:
                self._state.set(None)
                entry, state.entry = state.entry, None
                if entry is not None:
                    # A transaction raw SQL left open is rolled back, and reported unless the
                    # block is already failing.
                    self._give_back(entry, strict=not failed)

    def _owned(self) -> Transaction | None:
        """Return this context's hold on a connection of this backend, if any."""
        state = self._state.get()
        if state is not None and state.owned():
            return state
        return None

    def _let_go(self, state: Transaction) -> None:
        """End this context's hold and give its connection back to the pool."""
        self._state.set(None)
        entry, state.entry = state.entry, None
        if entry is not None:
            self._give_back(entry, strict=False)

    def _give_back(self, entry: PooledConnection, strict: bool = True) -> None:
        """Return a borrowed connection, rolling back a transaction a raw statement left open."""
        if not entry.broken:
            status = self._transaction_status(entry.connection)
            if status is not None and status is not TransactionStatus.IDLE:
                self._roll_back_stray(entry)
                if self._transaction_status(entry.connection) is not TransactionStatus.IDLE:
                    entry.broken = True  # still not clean (autocommit switched off?): never lend it
                if strict:
                    entry.pool.release(entry)
                    raise TransactionError(
                        "A statement outside begin_transaction() left a transaction open (a raw "
                        "BEGIN?); it was rolled back. Connections go back to the pool after each "
                        "statement: use backend.transaction() for a transaction, or "
                        "backend.connection() to keep one connection for several statements."
                    )
        entry.pool.release(entry)

    def _roll_back_stray(self, entry: PooledConnection) -> None:
        bound = Transaction(self, entry, self._command_timeout)
        bound.pins = 1
        token = self._state.set(bound)
        try:
            with self._translate_errors("ROLLBACK"):
                self._rollback()
        except DatabaseError:
            entry.broken = True
        finally:
            self._state.reset(token)
            bound.entry = None

    @property
    def _connection(self) -> Any:
        """The driver connection this context holds (in a transaction, a ``connection()``
        block, or while a failed call is being translated), else ``None``."""
        state = self._owned()
        return None if state is None or state.entry is None else state.entry.connection

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
        # _call, written out for the statement every record operation runs (a third of
        # its cost here, and measured in benchmarks/): keep the two in step.
        state = self._state.get()
        if state is not None and (state.thread == _get_ident() and state.fork == _FORK[0] and
                                  state.task is None and _get_running_loop() is None or state.owned()):
            if state.frames and (state.pending or state.lost is not None or state.doomed is not None):
                if state.lost is not None or state.doomed is not None:
                    raise state.refusal("this statement")  # type: ignore[misc]
                self._open_pending(state)
            entry: PooledConnection = state.entry  # type: ignore[assignment]  # set while owned
            timeout = state.command_timeout
            start = _now()
            if timeout is not None:
                entry.deadline = start + timeout
            try:
                result = self._execute(entry.connection, sql, params)
            except self._driver_errors as exc:
                entry.deadline = 0.0
                raise self._call_failed(entry, state, exc, sql, params, timeout) from exc
            except UnicodeEncodeError as exc:  # raised before anything was sent
                entry.deadline = 0.0
                raise _unencodable(exc, sql, params) from exc
            except BaseException as exc:
                entry.deadline = 0.0
                entry.broken = True
                if state.frames and state.lost is None:
                    state.lost = exc
                raise
            entry.deadline = 0.0
            seconds = _now() - start
            state.statements += 1
        else:
            # _lender(), skipped while no a-method ever ran and no copied transaction is in sight
            pool = self._pool if not _ASYNC[0] and (state is None or not state.frames) else self._lender()
            start = _now()
            entry = pool.acquire(None, start)
            timeout = self._command_timeout
            if timeout is not None:
                entry.deadline = start + timeout
            try:
                result = self._execute(entry.connection, sql, params)
            except self._driver_errors as exc:
                entry.deadline = 0.0
                error = self._call_failed(entry, None, exc, sql, params, timeout)
                self._give_back(entry, strict=False)
                raise error from exc
            except UnicodeEncodeError as exc:  # raised before anything was sent
                entry.deadline = 0.0
                pool.release(entry)
                raise _unencodable(exc, sql, params) from exc
            except BaseException:
                entry.deadline = 0.0
                pool.discard(entry)  # interrupted half-way: the protocol state is unknown
                raise
            entry.deadline = 0.0
            end = _now()
            if self._transaction_status(entry.connection) is _IDLE or entry.interrupted:
                pool.release(entry, end)
            else:
                self._give_back(entry)
            seconds = end - start
        result.duration = seconds
        if self._listeners or logger.isEnabledFor(_DEBUG):
            self._report(sql, params, seconds, params)
        return result

    def execute_many(self, query: str, params_seq: Iterable[Sequence[Any]]) -> QueryResult:
        """Run one statement once per parameter set; return the total affected rows."""
        adapt = self.dialect.adapt_params
        return self.execute_many_raw(query, [adapt(p) for p in params_seq])

    def execute_many_raw(self, query: str, seq: Sequence[Sequence[Any]]) -> QueryResult:
        """Run one statement per parameter set, already in driver form (see :meth:`execute_raw`)."""
        affected, seconds = self._call(self._execute_many, query, seq)
        self._report(query, None, seconds, f"[{len(seq)} parameter sets]")
        return QueryResult(affected_rows=affected, duration=seconds)

    def execute_stream(self, query: str, params: Sequence[Any] | None = None,
                       batch_size: int = 1000) -> RowStream:
        """Run a query and read its rows as the database sends them, ``batch_size`` at a time.

        Returns a :class:`RowStream`: iterating it yields lists of row tuples
        (``columns`` names them), so memory stays flat however many rows there
        are. Nothing runs before the first read. The stream holds one
        connection until its last row is read or it is closed (``with``,
        ``close()``): inside a transaction or a ``connection()`` block the
        context's own, so it sees uncommitted rows; elsewhere one of its own,
        so statements run meanwhile borrow other connections.

        Raises:
            ValueError: ``batch_size`` is not a positive integer.
            DatabaseError: as :meth:`execute` (when the stream starts or reads).
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if params is not None:
            params = self.dialect.adapt_params(params)
        from .streaming import RowStream

        return RowStream(self, query, params, batch_size)

    def _call(self, call: Callable[[Any, str, Any], Any], sql: str, arg: Any,
              control: bool = False) -> tuple[Any, float]:
        """Run ``call(connection, sql, arg)`` on this context's connection, or a borrowed one.

        Returns the call's value and the seconds it took. A connection is
        borrowed for the call alone unless this context holds one. Driver
        errors are translated; a connection whose state is unknown afterwards
        is never used again; a transaction the error ended is marked gone.
        ``control`` statements (BEGIN, COMMIT, savepoints) run even in a
        transaction that may only roll back.
        """
        state = self._state.get()
        entry: PooledConnection
        if state is not None and (state.thread == _get_ident() and state.fork == _FORK[0] and
                                  state.task is None and _get_running_loop() is None or state.owned()):
            if not control and state.frames:
                if state.lost is not None or state.doomed is not None:
                    raise state.refusal("this statement")  # type: ignore[misc]
                if state.pending:
                    self._open_pending(state)
            entry = state.entry  # type: ignore[assignment]  # set while the state is owned
            timeout = state.command_timeout
            start = _now()
        else:
            state = None
            start = _now()  # (the time counted includes borrowing the connection)
            entry = self._lender().acquire(None, start)
            timeout = self._command_timeout
        if timeout is not None:
            entry.deadline = start + timeout
        try:
            value = call(entry.connection, sql, arg)
        except self._driver_errors as exc:
            entry.deadline = 0.0
            error = self._call_failed(entry, state, exc, sql, arg, timeout)
            if state is None:
                self._give_back(entry, strict=False)
            raise error from exc
        except UnicodeEncodeError as exc:  # raised before anything was sent
            entry.deadline = 0.0
            if state is None:
                entry.pool.release(entry)
            raise _unencodable(exc, sql, arg) from exc
        except BaseException as exc:
            # Interrupted half-way (KeyboardInterrupt, a bug): the protocol state is unknown.
            entry.deadline = 0.0
            entry.broken = True
            if state is None:
                entry.pool.discard(entry)
            elif state.frames and state.lost is None:
                state.lost = exc
            raise
        entry.deadline = 0.0
        end = _now()
        if state is None:
            if self._transaction_status(entry.connection) is _IDLE or entry.interrupted:
                entry.pool.release(entry, end)
            else:
                self._give_back(entry)
        elif not control:
            state.statements += 1
        return value, end - start

    def _call_failed(self, entry: PooledConnection, state: Transaction | None, exc: BaseException,
                     sql: str, params: Any, timeout: float | None) -> DatabaseError:
        """Translate a failed call and record what it did to the connection and transaction."""
        if state is None:
            bound = Transaction(self, entry, timeout)  # so _classify_error sees this connection
            bound.pins = 1
            token = self._state.set(bound)
            try:
                error = self._wrap_error(exc, sql, params)
            finally:
                self._state.reset(token)
                bound.entry = None
        else:
            error = self._wrap_error(exc, sql, params)
        if entry.interrupted:
            entry.broken = True
            error = CommandTimeoutError(
                f"No answer from the {self.name} server within command_timeout={timeout:g}s; the "
                "connection was closed, and the server may or may not have run the statement",
                sql=sql, params=params, original=exc, code=error.code,
            )
        elif isinstance(error, ConnectionError):
            entry.broken = True
        if state is not None and state.frames and state.lost is None:
            if entry.broken or self._error_ends_transaction(error) or \
                    self._transaction_status(entry.connection) is TransactionStatus.IDLE:
                state.lost = error
                if entry.broken:
                    logger.warning("%s connection lost inside a transaction; it was rolled back", self.name)
        return error

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
        """Run a transaction-control statement on this context's connection (reported, not counted)."""
        result, seconds = self._call(self._execute, sql, None, control=True)
        result.duration = seconds
        if self._listeners or logger.isEnabledFor(_DEBUG):
            self._report(sql, None, seconds, None)
        return result

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
        """Call ``listener(sql, params, seconds)`` after every statement, from any thread."""
        self._listeners = self._listeners + (listener,)

    def remove_listener(self, listener: StatementListener) -> None:
        """Stop calling ``listener``."""
        listeners = list(self._listeners)
        listeners.remove(listener)
        self._listeners = tuple(listeners)

    @contextmanager
    def capture_statements(self, this_thread_only: bool = False) -> Iterator[list[str]]:
        """Collect the SQL of every statement run inside the block (by any thread, or only this one)."""
        captured: list[str] = []
        me = threading.get_ident()

        def listener(sql: str, params: Any, seconds: float) -> None:
            if not this_thread_only or threading.get_ident() == me:
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
        return cls(str(exc).strip() or type(exc).__name__, sql=sql, params=params,
                   original=exc, code=self._error_code(exc))

    @contextmanager
    def _translate_errors(self, sql: str | None = None, params: Any = None) -> Iterator[None]:
        """Translate driver errors raised inside the block."""
        try:
            yield
        except self._driver_errors as exc:
            raise self._wrap_error(exc, sql, params) from exc

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
        self.execute_raw(self.dialect.create_table_sql(table_name, defs, if_not_exists, constraints))
        for cols in indexes:
            self.create_index(table_name, cols, if_not_exists=if_not_exists)
        for cols in unique_indexes:
            self.create_index(table_name, cols, unique=True, if_not_exists=if_not_exists)

    def create_index(self, table_name: str, columns: Sequence[str], name: str | None = None,
                     unique: bool = False, if_not_exists: bool = False, where: str | None = None,
                     concurrently: bool = False) -> None:
        """Create an index on ``columns`` of ``table_name``.

        ``where`` makes it partial (trusted SQL; ``supports_partial_indexes``);
        ``concurrently`` builds it without blocking writes (PostgreSQL; it
        cannot run inside a transaction).
        """
        if where and not self.capabilities.supports_partial_indexes:
            raise NotSupportedError(f"{self.name} has no partial indexes (CREATE INDEX ... WHERE)")
        if concurrently and self.in_transaction:
            raise TransactionError("CREATE INDEX CONCURRENTLY cannot run inside a transaction")
        self.execute_raw(self.dialect.create_index_sql(table_name, list(columns), name, unique, if_not_exists,
                                                       where, concurrently))

    def drop_table(self, table_name: str, if_exists: bool = False) -> None:
        """Drop a table."""
        self.execute_raw(self.dialect.drop_table_sql(table_name, if_exists))

    def table_exists(self, table_name: str) -> bool:
        """Return whether ``table_name`` exists, asking the catalog."""
        self.capabilities  # noqa: B018 - hooks may rely on what the first connect detected
        return self._table_exists(table_name)

    def get_columns(self, table_name: str) -> list[ColumnInfo]:
        """Return the columns of ``table_name`` in table order (empty if it does not exist)."""
        self.capabilities  # noqa: B018
        return self._get_columns(table_name)

    def get_tables(self, schema: str | None = None) -> list[str]:
        """Return the names of the tables (not views) in ``schema`` (default: the current one), sorted."""
        self.capabilities  # noqa: B018
        return sorted(self._get_tables(schema, views=False))

    def get_views(self, schema: str | None = None) -> list[str]:
        """Return the names of the views in ``schema`` (default: the current one), sorted."""
        self.capabilities  # noqa: B018
        return sorted(self._get_tables(schema, views=True))

    def get_primary_key(self, table_name: str) -> tuple[str, ...]:
        """Return the primary key's columns in key order (empty without one)."""
        self.capabilities  # noqa: B018
        return tuple(self._get_primary_key(table_name))

    def get_indexes(self, table_name: str) -> list[IndexInfo]:
        """Return the table's indexes, the primary key's own left out, sorted by name."""
        self.capabilities  # noqa: B018
        return sorted(self._get_indexes(table_name), key=lambda i: i.name)

    def get_foreign_keys(self, table_name: str) -> list[ForeignKeyInfo]:
        """Return the table's foreign keys, sorted by their columns."""
        self.capabilities  # noqa: B018
        return sorted(self._get_foreign_keys(table_name), key=lambda f: f.columns)

    def get_unique_constraints(self, table_name: str) -> list[ConstraintInfo]:
        """Return the table's UNIQUE constraints (not the primary key), sorted by their columns."""
        self.capabilities  # noqa: B018
        return _constraints_of_kind(self._get_constraints(table_name), "unique")

    def get_check_constraints(self, table_name: str) -> list[ConstraintInfo]:
        """Return the table's CHECK constraints, sorted by name (then condition)."""
        self.capabilities  # noqa: B018
        return _constraints_of_kind(self._get_constraints(table_name), "check")

    def inspect_table(self, table_name: str) -> TableInfo:
        """Read everything the catalog says about ``table_name``.

        Raises:
            ProgrammingError: there is no such table or view.
        """
        columns = self.get_columns(table_name)
        if not columns:
            raise ProgrammingError(f"No table or view {table_name!r} in the {self.name} database")
        schema, name = split_table_name(table_name)
        if name in self._get_tables(schema, views=True):
            return TableInfo(name=table_name, columns=tuple(columns), primary_key=(), view=True)
        constraints = self._get_constraints(table_name)  # read once for both kinds
        return TableInfo(
            name=table_name, columns=tuple(columns), primary_key=self.get_primary_key(table_name),
            indexes=tuple(self.get_indexes(table_name)),
            foreign_keys=tuple(self.get_foreign_keys(table_name)),
            unique_constraints=tuple(_constraints_of_kind(constraints, "unique")),
            check_constraints=tuple(_constraints_of_kind(constraints, "check")),
        )

    def _get_tables(self, schema: str | None, views: bool) -> list[str]:
        """List the tables (or, with ``views``, the views) of ``schema`` from the catalog."""
        raise NotSupportedError(f"The {self.name} backend cannot list tables (it lacks _get_tables)")

    def _get_primary_key(self, table_name: str) -> Sequence[str]:
        """The primary key's columns in key order; the default reads them from ``_get_columns``."""
        return [c.name for c in self._get_columns(table_name) if c.primary_key]

    def _get_indexes(self, table_name: str) -> list[IndexInfo]:
        """Read the table's indexes (without the primary key's) from the catalog."""
        raise NotSupportedError(f"The {self.name} backend cannot list indexes (it lacks _get_indexes)")

    def _get_foreign_keys(self, table_name: str) -> list[ForeignKeyInfo]:
        """Read the table's foreign keys from the catalog."""
        raise NotSupportedError(f"The {self.name} backend cannot list foreign keys (it lacks _get_foreign_keys)")

    def _get_constraints(self, table_name: str) -> list[ConstraintInfo]:
        """Read the table's UNIQUE and CHECK constraints from the catalog."""
        raise NotSupportedError(f"The {self.name} backend cannot list constraints (it lacks _get_constraints)")

    def _table_exists(self, table_name: str) -> bool:
        """Answer from the catalog whether ``table_name`` exists (the default: a table or view
        ``_get_tables`` lists)."""
        return table_name in self._get_tables(None, False) or table_name in self._get_tables(None, True)

    @abstractmethod
    def _get_columns(self, table_name: str) -> list[ColumnInfo]:
        """Read the columns of ``table_name`` from the catalog."""

    # -- the async side -----------------------------------------------------------------
    # The same methods for asyncio code: each runs its synchronous twin in a bridge
    # (see :mod:`.bridge`), on connections of the running event loop's own pool.

    async def aconnect(self) -> None:
        """:meth:`connect` for async code (opens this event loop's first connection)."""
        await _bridge.run(self.connect)

    async def acapabilities(self) -> Capabilities:
        """:attr:`capabilities` for async code: connects without blocking the loop if needed."""
        if self._capabilities is None:
            await _bridge.run(self.connect)
        assert self._capabilities is not None
        return self._capabilities

    async def adisconnect(self) -> None:
        """:meth:`disconnect` for async code."""
        await _bridge.run(self.disconnect)

    async def aping(self, reconnect: bool = False) -> bool:
        """:meth:`ping` for async code."""
        return await _bridge.run(self.ping, reconnect)

    async def aexecute(self, query: str, params: Sequence[Any] | None = None, **options: Any) -> QueryResult:
        """:meth:`execute` for async code."""
        return await _bridge.run(self.execute, query, params, **options)

    async def aexecute_many(self, query: str, params_seq: Iterable[Sequence[Any]]) -> QueryResult:
        """:meth:`execute_many` for async code."""
        return await _bridge.run(self.execute_many, query, params_seq)

    async def afetch_all(self, query: str, params: Sequence[Any] | None = None,
                         **options: Any) -> list[dict[str, Any]]:
        """:meth:`fetch_all` for async code."""
        return await _bridge.run(self.fetch_all, query, params, **options)

    async def afetch_one(self, query: str, params: Sequence[Any] | None = None,
                         **options: Any) -> dict[str, Any] | None:
        """:meth:`fetch_one` for async code."""
        return await _bridge.run(self.fetch_one, query, params, **options)

    async def afetch_value(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """:meth:`fetch_value` for async code."""
        return await _bridge.run(self.fetch_value, query, params)

    async def acreate_table(self, table_name: str, columns: Sequence[ColumnDef] | Mapping[str, Any],
                            **kwargs: Any) -> None:
        """:meth:`create_table` for async code."""
        await _bridge.run(self.create_table, table_name, columns, **kwargs)

    async def adrop_table(self, table_name: str, if_exists: bool = False) -> None:
        """:meth:`drop_table` for async code."""
        await _bridge.run(self.drop_table, table_name, if_exists)

    async def atable_exists(self, table_name: str) -> bool:
        """:meth:`table_exists` for async code."""
        return await _bridge.run(self.table_exists, table_name)

    async def aget_columns(self, table_name: str) -> list[ColumnInfo]:
        """:meth:`get_columns` for async code."""
        return await _bridge.run(self.get_columns, table_name)

    @property
    def supports_async(self) -> bool:
        """Whether the ``a``-methods work on this backend (it has an async driver or thread mode)."""
        return self._async_how_decided() is not None

    def async_pool(self) -> ConnectionPool | None:
        """The running event loop's pool (``stats()``, ``dispose()``), or ``None`` before its first use."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if self._async_how_decided() == "direct":
            return self._pool
        return self._loop_pools.get(loop)

    def __repr__(self) -> str:
        state = "connected" if self.is_connected() else "disconnected"
        return f"<{type(self).__name__} {self.config.describe()!r} {state}>"



def _constraints_of_kind(found: Iterable[ConstraintInfo], kind: str) -> list[ConstraintInfo]:
    """The ``kind`` ("unique" or "check") constraints of ``found``, in the order the getters promise."""
    chosen = [c for c in found if c.kind == kind]
    if kind == "unique":
        return sorted(chosen, key=lambda c: c.columns)
    return sorted(chosen, key=lambda c: (c.name or "", c.definition or ""))


def _foreign_transaction(backend: StorageBackend, state: Transaction) -> TransactionError:
    """The error for a statement from a context copied out of an open transaction's."""
    who = "task" if state.task is not None or _get_running_loop() is not None else "thread"
    return TransactionError(
        f"This {who} has a copy of the context of another {who} that has a transaction open on "
        f"{backend.name} (asyncio copies the context into every task it creates, and "
        "asyncio.to_thread into its thread). Its statements can run neither inside that "
        "transaction (two tasks must never use one connection at once) nor outside it (they "
        "would not be atomic with it). Run the work one statement after another in the task "
        "that opened the transaction, or start this one after the transaction block ends.")


def _unencodable(exc: UnicodeEncodeError, sql: str, params: Any) -> DataError:
    """The error for text no database can store (a lone surrogate such as ``'\\ud800'``)."""
    bad = exc.object[exc.start:exc.end] if isinstance(exc.object, str) else ""
    return DataError(
        f"A text value is not valid Unicode and cannot be stored: {bad!r} at position {exc.start} "
        "(a lone surrogate, often from decoding bytes with 'surrogateescape' or a broken JSON "
        "escape); nothing was sent to the database", sql=sql, params=params, original=exc)


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
