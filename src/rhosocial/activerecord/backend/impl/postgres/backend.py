"""The PostgreSQL backend on psycopg 3."""

from __future__ import annotations

import itertools
import re
from typing import Any, Sequence

from ...base import StorageBackend
from ...capabilities import ALL_ISOLATION_LEVELS, Capabilities
from ...errors import (
    CheckViolationError,
    ConfigurationError,
    ConnectionError,
    ConnectionLostError,
    ConstraintViolationError,
    DatabaseError,
    DataError,
    DeadlockError,
    DriverNotInstalledError,
    ForeignKeyViolationError,
    LockTimeoutError,
    NotNullViolationError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    QueryTimeoutError,
    ReadOnlyError,
    SerializationError,
    TransactionError,
    UniqueViolationError,
)
from ...helpers import shut_down_socket, socket_has_data
from ...pool import POOL_OPTIONS
from ...transaction import TransactionStatus
from ...typing import ColumnInfo, DatabaseType, IsolationLevel, QueryResult, split_table_name
from .dialect import PostgresDialect
from .types import POSTGRES_NATIVE_TYPES, normalize_default
from ...introspection import ConstraintInfo, ForeignKeyInfo, IndexInfo, fk_action
from ...alter import lock_key, poll_lock

try:  # The driver is optional: the module imports without it, the backend does not start.
    import psycopg
    from psycopg import pq
except ImportError:  # pragma: no cover - exercised in a subprocess test
    psycopg = None  # type: ignore[assignment]
    pq = None  # type: ignore[assignment]

_TUPLES_OK = 2 if pq is None else int(pq.ExecStatus.TUPLES_OK)
_IDLE = 0 if pq is None else int(pq.TransactionStatus.IDLE)
_STATUS_OK = 0 if pq is None else int(pq.ConnStatus.OK)
# libpq's transaction status -> what the server says of the transaction (ACTIVE/UNKNOWN: unsure)
_TRANSACTION_STATUS = {} if pq is None else {
    int(pq.TransactionStatus.IDLE): TransactionStatus.IDLE,
    int(pq.TransactionStatus.INTRANS): TransactionStatus.ACTIVE,
    int(pq.TransactionStatus.INERROR): TransactionStatus.FAILED,
}

if psycopg is not None:

    class PooledPgConnection(psycopg.Connection):  # type: ignore[type-arg, unused-ignore]
        """A psycopg connection that keeps its own reusable cursor (one per pooled connection)."""

        rhosocial_cursor: Any = None

        def rhosocial_server_cursor(self, name: str, withhold: bool) -> Any:
            """A server-side cursor (``DECLARE``) taking ``$n`` placeholders, as the raw cursor does."""
            return psycopg.RawServerCursor(self, name, withhold=withhold)
INSTALL_HINT = 'pip install "rhosocial-activerecord[postgres]"'
MIN_SERVER_VERSION = 100000  # identity columns arrived in PostgreSQL 10

# Marker for SQLSTATEs that mean the connection is gone.
_LOST = ConnectionLostError

# SQLSTATE -> error class; a code not listed here is looked up by its class (first two characters).
_SQLSTATE_ERRORS: dict[str, type[DatabaseError]] = {
    "23505": UniqueViolationError,
    "23503": ForeignKeyViolationError,
    "23502": NotNullViolationError,
    "23514": CheckViolationError,
    "40P01": DeadlockError,
    "40001": SerializationError,
    "55P03": LockTimeoutError,
    "57014": QueryTimeoutError,
    "25006": ReadOnlyError,
    "57P01": _LOST,  # admin_shutdown (pg_terminate_backend)
    "57P02": _LOST,  # crash_shutdown
    "57P03": _LOST,  # cannot_connect_now
    "3D000": ConnectionError,  # invalid_catalog_name: unknown database
}
_SQLSTATE_CLASSES: dict[str, type[DatabaseError]] = {
    "08": _LOST,
    "0A": NotSupportedError,
    "21": ProgrammingError,
    "22": DataError,
    "23": ConstraintViolationError,
    "25": TransactionError,
    "26": ProgrammingError,
    "28": ConnectionError,
    "34": ProgrammingError,
    "3F": ProgrammingError,
    "40": OperationalError,
    "42": ProgrammingError,
    "44": ConstraintViolationError,
    "53": OperationalError,
    "54": OperationalError,
    "55": OperationalError,
    "57": OperationalError,
    "58": OperationalError,
}

# Settings passed to libpq as they are (from keywords or URL query parameters).
_LIBPQ_OPTIONS = frozenset(
    {
        "options",
        "hostaddr",
        "passfile",
        "service",
        "target_session_attrs",
        "load_balance_hosts",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "gssencmode",
        "channel_binding",
        "krbsrvname",
        "require_auth",
    }
)
# Settings this backend reads itself.
_OWN_OPTIONS = frozenset(
    {
        "connect_timeout",
        "application_name",
        "lock_timeout",
        "statement_timeout",
        "idle_in_transaction_session_timeout",
        "search_path",
        "schema",
        "prepare_threshold",
    }
)
# Short spellings of ssl settings (``ssl_ca=``, ``ssl={"mode": ...}``) -> libpq keys.
_SSL_ALIASES = {
    "ca": "sslrootcert",
    "rootcert": "sslrootcert",
    "cert": "sslcert",
    "key": "sslkey",
    "mode": "sslmode",
    "crl": "sslcrl",
    "password": "sslpassword",
}
_DURATION = re.compile(r"\d+(\.\d+)?\s*(us|ms|s|min|h|d)")
_NUMBER = re.compile(r"\d+(\.\d+)?")

_TABLE_OID_SQL = (
    "SELECT c.oid FROM pg_catalog.pg_class c "
    "WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
    # $2 is the table's schema (a TableName's), or NULL: then the temporary schema and the current one.
    "AND c.relnamespace IN (CASE WHEN $2::text IS NULL THEN pg_catalog.pg_my_temp_schema() ELSE 0::oid END, "
    "(SELECT n.oid FROM pg_catalog.pg_namespace n "
    "WHERE n.nspname = COALESCE($2::text, pg_catalog.current_schema()))) "
    "ORDER BY c.relnamespace = pg_catalog.pg_my_temp_schema() DESC LIMIT 1"
)
_COLUMNS_SQL = (
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
    "pg_catalog.pg_get_expr(d.adbin, d.adrelid), "
    "EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = a.attrelid "
    "AND i.indisprimary AND a.attnum = ANY (i.indkey)), t.typname, t.typcategory, "
    # attgenerated exists from PostgreSQL 12; read through to_jsonb so version 10 and 11 say ''.
    "COALESCE(pg_catalog.to_jsonb(a) ->> 'attgenerated', '') <> '', "
    "COALESCE(pg_catalog.to_jsonb(a) ->> 'attidentity', '') "
    "FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_type t0 ON t0.oid = a.atttypid "
    "JOIN pg_catalog.pg_type t "
    "ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    f"WHERE a.attrelid = ({_TABLE_OID_SQL}) AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY a.attnum"
)


class PostgresBackend(StorageBackend):
    """PostgreSQL (10 or later) through psycopg 3.

    Settings (keywords, ``options=`` or URL query parameters):
        host, port, database, user, password: where to connect and as whom.
        url: ``postgresql://user:pw@host:5432/db?sslmode=require`` instead of keywords.
        ssl_mode / ssl_ca / ssl_cert / ssl_key (or ``ssl={"mode": ...}``, or
            ``sslmode=`` in the URL): libpq's ``sslmode``, ``sslrootcert`` ...
        connect_timeout: seconds to wait for the server (10).
        application_name: shown in ``pg_stat_activity`` ("rhosocial-activerecord").
        lock_timeout, statement_timeout, idle_in_transaction_session_timeout:
            a number of **seconds** (``1.5``), or a string with a PostgreSQL
            unit (``"250ms"``, ``"2min"``); 0 disables. Applied with ``SET`` at
            connect. ``begin_transaction(lock_timeout=..., statement_timeout=...)``
            sets them for one transaction only (``SET LOCAL``).
        search_path: a schema name or a list of them; tables are created in the first.
        schema: one schema name, the same as ``search_path=[schema]``: where
            tables without a schema of their own (``__table_schema__``) live.
        prepare_threshold: executions of one statement before psycopg prepares
            it on the server (5); ``None`` never prepares (needed behind
            PgBouncer in transaction mode).
        Other libpq settings (``target_session_attrs``, ``keepalives`` ...) pass through.

    The session runs in UTC (``TimeZone = 'UTC'``) and in psycopg's autocommit
    mode: a statement outside :meth:`begin_transaction` commits on its own,
    and transactions are opened with an explicit ``BEGIN``.

    ``QueryResult.last_insert_id``: PostgreSQL has no "last row id". For an
    ``INSERT ... RETURNING`` that returns one row it is the first returned
    column; for a plain ``INSERT`` it is ``None`` (use RETURNING, which
    ``capabilities.supports_returning`` announces).
    """

    name = "postgres"
    driver_name = "psycopg"
    dialect_class = PostgresDialect
    async_mode = "native"

    def __init__(self, connection_config: Any = None, **kwargs: Any) -> None:
        super().__init__(connection_config, **kwargs)
        options = self.config.options
        unknown = set(options) - _OWN_OPTIONS - _LIBPQ_OPTIONS - POOL_OPTIONS
        if unknown:
            known = ", ".join(sorted(_OWN_OPTIONS | _LIBPQ_OPTIONS | POOL_OPTIONS))
            raise ConfigurationError(
                f"Unknown PostgreSQL settings: {', '.join(sorted(unknown))}. "
                f"Known settings: {known}"
            )
        self._connect_timeout = _number("connect_timeout", options.get("connect_timeout", 10))
        threshold = options.get("prepare_threshold", 5)
        if isinstance(threshold, str):
            threshold = None if threshold.strip().lower() in ("", "none", "null") else threshold
        try:
            self._prepare_threshold = None if threshold is None else int(threshold)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"prepare_threshold must be an integer or None, got {threshold!r}"
            ) from None
        self._session_sql = self._build_session_sql()

    # -- connecting ----------------------------------------------------------

    def _driver_error_types(self) -> tuple[type[BaseException], ...]:
        if psycopg is None:
            raise DriverNotInstalledError(
                f"The PostgreSQL backend needs the psycopg 3 driver, which is not installed. "
                f"Install it with: {INSTALL_HINT}"
            )
        return (psycopg.Error,)

    def _connect_params(self) -> dict[str, Any]:
        """Return the libpq connection parameters."""
        cfg = self.config
        timeout = self._connect_timeout
        params: dict[str, Any] = {
            "host": cfg.host,
            "port": cfg.port,
            "dbname": cfg.database,
            "user": cfg.user,
            "password": cfg.password,
            # libpq takes whole seconds; 0 would mean "wait forever".
            "connect_timeout": max(1, round(timeout)) if timeout else 0,
            "application_name": cfg.options.get("application_name", "rhosocial-activerecord"),
            "client_encoding": "UTF8",
        }
        for key, value in cfg.ssl.items():
            short = key[3:].lstrip("_") if key.startswith("ssl") else key
            params[_SSL_ALIASES.get(short, "ssl" + short)] = value
        for key in _LIBPQ_OPTIONS & set(cfg.options):
            params[key] = cfg.options[key]
        return {k: v for k, v in params.items() if v is not None}

    def _build_session_sql(self) -> str:
        """Return the SET statements run on every new connection, as one string."""
        options = self.config.options
        statements = ["SET TimeZone TO 'UTC'"]
        for name in ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"):
            if options.get(name) is not None:
                statements.append(f"SET {name} TO {self._duration(name, options[name])}")
        search_path = options.get("search_path")
        if search_path is None and options.get("schema"):
            search_path = [options["schema"]]  # schema=NAME: tables without a schema live there
        if search_path:
            names = search_path.split(",") if isinstance(search_path, str) else list(search_path)
            quoted = ", ".join(self.dialect.quote_identifier(n.strip()) for n in names)
            statements.append(f"SET search_path TO {quoted}")
        return "; ".join(statements)

    def _duration(self, name: str, value: Any) -> str:
        """Return a timeout setting as SQL: seconds -> milliseconds, or a quoted unit string."""
        if isinstance(value, str) and _DURATION.fullmatch(value.strip()):
            return self.dialect.quote_string(value.strip())
        seconds = _number(name, value)
        return str(round(seconds * 1000))

    def _connect(self) -> Any:
        params = self._connect_params()
        try:
            return PooledPgConnection.connect(
                autocommit=True,
                prepare_threshold=self._prepare_threshold,
                cursor_factory=psycopg.RawCursor,
                **params,
            )
        except psycopg.Error as exc:
            raise self._connect_failure(exc, params) from exc

    async def _connect_async(self) -> Any:
        from .async_driver import AsyncPgConnection

        params = self._connect_params()
        try:
            return await AsyncPgConnection.connect(
                autocommit=True, prepare_threshold=self._prepare_threshold, **params)
        except psycopg.Error as exc:
            raise self._connect_failure(exc, params) from exc

    def _connect_failure(self, exc: BaseException, params: dict[str, Any]) -> ConnectionError:
        """Explain a failed connection: bad login, unknown database, or no server."""
        where = self.config.describe() or "the default server"
        code = getattr(exc, "sqlstate", None)
        if code is None:
            code = _diagnose_connect_failure(exc, params)
        user = params.get("user", "(default user)")
        host = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
        if code.startswith("28"):
            reason = (
                f"authentication failed for user {user!r} (wrong user name or password, "
                "or pg_hba.conf refuses this login)"
            )
        elif code == "3D000":
            reason = f"database {params.get('dbname')!r} does not exist"
        elif code == "42501":
            reason = f"user {user!r} may not connect to database {params.get('dbname')!r}"
        elif code == "57P03":
            reason = "the server is not accepting connections (starting up or shutting down)"
        elif code == "08004":
            reason = "the server rejected the connection (check pg_hba.conf and the settings)"
        elif isinstance(exc, psycopg.errors.ConnectionTimeout):
            reason = f"the server at {host} did not answer within {self._connect_timeout:g}s"
        else:
            reason = (
                f"the server at {host} is unreachable (not running, wrong host or port, or blocked)"
            )
        detail = " ".join(str(exc).split())
        return ConnectionError(
            f"Cannot connect to PostgreSQL {where!r}: {reason}. Driver said: {detail}",
            original=exc,
            code=code,
        )

    def _on_connect(self, connection: Any) -> None:
        if connection.info.server_version < MIN_SERVER_VERSION:
            raise NotSupportedError(
                "PostgreSQL 10 or later is required; "
                f"the server is version {connection.info.server_version}"
            )
        try:
            connection.execute(self._session_sql)
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"Cannot apply PostgreSQL session settings ({self._session_sql}): {exc}",
                original=exc,
                code=getattr(exc, "sqlstate", None),
            ) from exc
        connection.rhosocial_cursor = connection.cursor()

    def _close(self, connection: Any) -> None:
        connection.rhosocial_cursor = None
        connection.close()

    # -- pooling -------------------------------------------------------------

    interrupt_drops_connection = True

    def _check_connection(self, connection: Any) -> bool:
        """Look at the socket of an idle connection: anything waiting there is the server's goodbye.

        A connection the server ended (``pg_terminate_backend``, a restart, an
        idle timeout) has an error message or end-of-file waiting; libpq reads
        it and marks the connection bad. No round trip is made.
        """
        pgconn = connection.pgconn
        if connection.closed or connection.broken or pgconn.status != _STATUS_OK:
            return False
        fd = pgconn.socket
        if not socket_has_data(fd):
            return True
        try:
            pgconn.consume_input()
        except psycopg.Error:
            return False
        if pgconn.status != _STATUS_OK or pgconn.transaction_status != _IDLE:
            return False
        while pgconn.notifies() is not None:  # a NOTIFY for a LISTEN: harmless
            pass
        return not socket_has_data(fd)

    def _transaction_status(self, connection: Any) -> TransactionStatus | None:
        return _TRANSACTION_STATUS.get(connection.pgconn.transaction_status)

    def _interrupt(self, connection: Any) -> None:
        """Shut the socket down: the blocked call fails at once, whatever the server does."""
        shut_down_socket(connection.pgconn.socket)

    def _detect_capabilities(self, connection: Any) -> Capabilities:
        version = connection.info.server_version
        return Capabilities(
            supports_savepoints=True,
            isolation_levels=ALL_ISOLATION_LEVELS,
            supports_read_only_transactions=True,
            supports_returning=True,
            supports_update_returning=True,
            supports_delete_returning=True,
            reports_last_insert_id=False,
            supports_for_update=True,
            supports_skip_locked=True,
            supports_foreign_keys=True,
            supports_check_constraints=True,
            supports_partial_indexes=True,
            supports_json=True,
            supports_arrays=True,
            supports_computed_columns=version >= 120000,
            supports_native_uuid=True,
            supports_native_decimal=True,
            supports_timezone_aware_datetime=True,
            supports_window_functions=True,
            supports_cte=True,
            supports_upsert=True,
            supports_nul_in_text=False,
            supports_lock_timeout=True,
            supports_statement_timeout=True,
            supports_multiple_connections=True,
            max_identifier_length=PostgresDialect.max_identifier_length,
            max_bind_parameters=65535,  # the protocol counts parameters in 16 bits
            server_version=(version // 10000, version % 10000),
        )

    # -- statements ----------------------------------------------------------

    def _execute(self, connection: Any, sql: str, params: Sequence[Any] | None) -> QueryResult:
        cursor = connection.rhosocial_cursor
        try:
            cursor.execute(sql, params)
        except psycopg.errors.FeatureNotSupported:
            # Likely a prepared plan gone stale: another session altered a table it
            # reads ("cached plan must not change result type"). Outside a transaction
            # the failed statement left no trace, so drop the plans and retry once.
            if self._prepare_threshold is None or connection.info.transaction_status != _IDLE:
                raise
            connection.execute("DEALLOCATE ALL")
            cursor.execute(sql, params)
        result = cursor.pgresult
        if result is None or result.status != _TUPLES_OK:
            return QueryResult(None, (), cursor.rowcount)
        rows = cursor.fetchall()
        last_id = None
        if len(rows) == 1 and sql[:6].upper() == "INSERT":
            last_id = rows[0][0]
        # Names straight from the result: building ``cursor.description`` costs more
        # than the rest of this method. The session's client_encoding is UTF8.
        fname = result.fname
        names = [fname(i).decode() for i in range(result.nfields)]
        return QueryResult(rows, names, cursor.rowcount, last_id)

    def _execute_many(self, connection: Any, sql: str, seq: Sequence[Sequence[Any]]) -> int:
        cursor = connection.rhosocial_cursor
        cursor.executemany(sql, seq)
        return cursor.rowcount

    # -- streaming -----------------------------------------------------------
    # A named (server-side) cursor: DECLARE, then FETCH FORWARD batch after batch. A
    # cursor lives in a transaction: inside the caller's it is simply declared there
    # (and sees its uncommitted rows); a stream with a connection of its own opens a
    # transaction for it, committed after the last row (rolled back if it stops early).
    # In a connection() block outside a transaction it is declared WITH HOLD, which
    # PostgreSQL materializes on the server when the DECLARE commits.

    def _stream_start(self, connection: Any, sql: str, params: Sequence[Any] | None, batch_size: int,
                      shared: bool) -> tuple[Any, Sequence[str]]:
        withhold = False
        if not shared:
            self._execute(connection, "BEGIN", None)
        elif connection.info.transaction_status == _IDLE:
            withhold = True
        cursor = connection.rhosocial_server_cursor(f"rhosocial_stream_{next(_STREAM_NAMES)}", withhold)
        try:
            cursor.execute(sql, params)
        except BaseException:
            cursor._close()  # the DECLARE failed: nothing to close on the server
            raise
        result = cursor.pgresult
        fname = result.fname
        return cursor, [fname(i).decode() for i in range(result.nfields)]

    def _stream_fetch(self, connection: Any, cursor: Any, size: int) -> Sequence[Any]:
        return cursor.fetchmany(size)

    def _stream_end(self, connection: Any, cursor: Any, complete: bool, shared: bool) -> bool:
        if not shared:  # the stream's own transaction: its end closes the cursor
            self._execute(connection, "COMMIT" if complete else "ROLLBACK", None)
        cursor.close()  # CLOSE, unless the cursor is gone already
        return True

    def _stream_abandon(self, connection: Any, cursor: Any, shared: bool) -> bool:
        # Inside a transaction the cursor ends with it; one declared WITH HOLD would outlive
        # the stream on the server, so its connection is closed rather than reused.
        cursor._close()  # psycopg's non-blocking half of close(): no "deleted while open" warning
        return shared and not cursor.withhold

    # -- errors --------------------------------------------------------------

    def _error_code(self, error: BaseException) -> Any:
        return getattr(error, "sqlstate", None)

    def _classify_error(self, error: BaseException) -> type[DatabaseError]:
        code = getattr(error, "sqlstate", None)
        if code:
            cls = _SQLSTATE_ERRORS.get(code) or _SQLSTATE_CLASSES.get(code[:2], DatabaseError)
            if cls is _LOST:
                connection = self._connection
                if connection is None:
                    return ConnectionError
                if code == "08P01" and not (connection.closed or connection.broken):
                    return ProgrammingError  # e.g. a parameter count mismatch; the session lives on
            return cls
        connection = self._connection
        if isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError)):
            if connection is not None and (connection.closed or connection.broken):
                return ConnectionLostError
            if connection is None:
                return ConnectionError
            return (
                OperationalError
                if isinstance(error, psycopg.OperationalError)
                else ProgrammingError
            )
        if isinstance(error, psycopg.DataError):
            return DataError
        if isinstance(error, psycopg.IntegrityError):
            return ConstraintViolationError
        if isinstance(error, psycopg.NotSupportedError):
            return NotSupportedError
        if isinstance(error, psycopg.ProgrammingError):
            return ProgrammingError
        return DatabaseError

    def _wrap_error(self, exc: BaseException, sql: str | None, params: Any) -> DatabaseError:
        error = super()._wrap_error(exc, sql, params)
        if isinstance(error, DataError) and params and _holds_nul(params):
            error.message = (
                "PostgreSQL text cannot contain NUL characters ('\\x00'): remove them, "
                f"or store the value in a BLOB (bytea) column. Driver said: {error.message}"
            )
            error.args = (error.message,)
        return error

    # -- transactions --------------------------------------------------------

    def _begin(
        self, isolation_level: IsolationLevel | None, read_only: bool, **options: Any
    ) -> None:
        """Open ``BEGIN [ISOLATION LEVEL ...] [READ ONLY]``, optionally with its own timeouts.

        Options ``lock_timeout`` and ``statement_timeout`` (seconds or a unit
        string) apply with ``SET LOCAL`` until the transaction ends.
        """
        local = []
        for name in ("lock_timeout", "statement_timeout"):
            if name in options:
                local.append(f"SET LOCAL {name} TO {self._duration(name, options.pop(name))}")
        if options:
            raise TypeError(f"Unknown transaction options for PostgreSQL: {', '.join(options)}")
        for sql in self.dialect.begin_sql(isolation_level, read_only):
            self._run_internal(sql)
        for sql in local:
            self._run_internal(sql)

    def _commit(self) -> None:
        self._run_internal("COMMIT")

    def _rollback(self) -> None:
        connection = self._connection
        if connection is not None and connection.info.transaction_status != _IDLE:
            self._run_internal("ROLLBACK")

    # -- catalog -------------------------------------------------------------

    def _table_exists(self, table_name: str) -> bool:
        return bool(self.execute_raw(_TABLE_OID_SQL, _catalog_params(table_name)).rows)

    def _get_tables(self, schema: str | None, views: bool) -> list[str]:
        kinds = ["v", "m"] if views else ["r", "p", "f"]
        return [r[0] for r in self.execute_raw(_TABLES_SQL, (schema, kinds)).rows]

    def _constraint_rows(self, table_name: str) -> list[Any]:
        return list(self.execute_raw(_CONSTRAINTS_SQL, _catalog_params(table_name)).rows)

    def _get_primary_key(self, table_name: str) -> list[str]:
        for _name, kind, columns, *_ in self._constraint_rows(table_name):
            if kind == "p":
                return list(columns)
        return []

    def _get_indexes(self, table_name: str) -> list[IndexInfo]:
        return [IndexInfo(name=name, columns=tuple(columns), unique=bool(unique), partial=partial,
                          constraint=bool(constraint))
                for name, unique, columns, partial, constraint in
                self.execute_raw(_INDEXES_SQL, _catalog_params(table_name)).rows]

    def _get_foreign_keys(self, table_name: str) -> list[ForeignKeyInfo]:
        schema = split_table_name(table_name)[0]
        keys = []
        current: str | None = None
        for name, kind, columns, target, target_schema, referenced, on_delete, on_update, _ in \
                self._constraint_rows(table_name):
            if kind != "f":
                continue
            if target_schema != schema and not str(target_schema).startswith("pg_temp"):
                if current is None:
                    current = str(self.fetch_value("SELECT pg_catalog.current_schema()"))
                if target_schema != current:  # another schema: name it, as references="s.t.c" does
                    target = f"{target_schema}.{target}"
            keys.append(ForeignKeyInfo(
                name=name, columns=tuple(columns), referenced_table=target, referenced_columns=tuple(referenced),
                on_delete=fk_action(_FK_ACTIONS.get(on_delete)), on_update=fk_action(_FK_ACTIONS.get(on_update))))
        return keys

    # -- the migration lock ------------------------------------------------------

    def _take_lock(self, name: str, timeout: float | None) -> bool:
        """A session-level advisory lock, keyed by a hash of ``name``."""
        key = lock_key(name)
        return poll_lock(lambda: bool(self.fetch_value("SELECT pg_try_advisory_lock($1)", (key,))), name, timeout)

    def _drop_lock(self, name: str) -> None:
        self.fetch_value("SELECT pg_advisory_unlock($1)", (lock_key(name),))

    def _get_constraints(self, table_name: str) -> list[ConstraintInfo]:
        found = []
        for name, kind, columns, *_rest, definition in self._constraint_rows(table_name):
            if kind == "u":
                found.append(ConstraintInfo(name=name, kind="unique", columns=tuple(columns)))
            elif kind == "c":
                condition = definition or ""
                if condition.upper().startswith("CHECK"):
                    condition = condition[5:].strip()
                    if condition.startswith("(") and condition.endswith(")"):
                        condition = condition[1:-1].strip()
                found.append(ConstraintInfo(name=name, kind="check", columns=tuple(columns),
                                            definition=condition))
        return found

    def _get_columns(self, table_name: str) -> list[ColumnInfo]:
        columns = []
        for name, type_text, nullable, default, pk, typname, category, generated, identity in self.execute_raw(
            _COLUMNS_SQL, _catalog_params(table_name)
        ).rows:
            db_type = DatabaseType.ARRAY if category == "A" else POSTGRES_NATIVE_TYPES.get(typname)
            if identity and not pk:
                # An identity column besides the key: BY DEFAULT is a default, ALWAYS cannot be written.
                if identity == "a":
                    generated = True
                else:
                    default = "GENERATED BY DEFAULT AS IDENTITY"
            columns.append(
                ColumnInfo(
                    name=name,
                    type=type_text,
                    nullable=bool(nullable) and not pk,
                    default=None if generated else normalize_default(default),
                    primary_key=bool(pk),
                    db_type=db_type,
                    generated=bool(generated),
                    autoincrement=bool(identity) or str(default or "").startswith("nextval("),
                )
            )
        return columns


_STREAM_NAMES = itertools.count(1)  # names of server-side cursors (next() is atomic in CPython)

_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

_TABLES_SQL = (
    "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = COALESCE($1::text, pg_catalog.current_schema()) AND c.relkind = ANY($2::text[]) "
    "AND NOT c.relispartition"
)
# Columns of a constraint or index, in key order: conkey/indkey unnested with their position.
_CONSTRAINTS_SQL = (
    "SELECT con.conname, con.contype, "
    "ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i) "
    "      JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i), "
    "ft.relname, fn.nspname, "
    "ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i) "
    "      JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i), "
    "con.confdeltype, con.confupdtype, "
    "CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_constraintdef(con.oid, true) END "
    "FROM pg_catalog.pg_constraint con "
    "LEFT JOIN pg_catalog.pg_class ft ON ft.oid = con.confrelid "
    "LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = ft.relnamespace "
    f"WHERE con.conrelid = ({_TABLE_OID_SQL}) AND con.contype IN ('p', 'u', 'f', 'c') "
    "ORDER BY con.conname"
)
_INDEXES_SQL = (
    "SELECT ic.relname, i.indisunique, "
    "ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n) "
    "      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
    "      WHERE k.n <= i.indnkeyatts ORDER BY k.n), "
    "pg_catalog.pg_get_expr(i.indpred, i.indrelid, true), "
    "EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'u') "
    "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
    f"WHERE i.indrelid = ({_TABLE_OID_SQL}) AND NOT i.indisprimary ORDER BY ic.relname"
)


def _catalog_params(table_name: str) -> tuple[str, str | None]:
    """The parameters of _TABLE_OID_SQL: the table's name and its schema (None: the current one)."""
    schema, name = split_table_name(table_name)
    return name, schema


def _diagnose_connect_failure(exc: BaseException, params: dict[str, Any]) -> str:
    """Return the SQLSTATE a failed connection most likely had (libpq does not report one).

    Asks the server rather than reading the message: ``PQping`` tells whether
    a server answers; if it does, the same login is tried on a maintenance
    database, whose catalog then says whether the wanted database exists.
    """
    if isinstance(exc, psycopg.errors.ConnectionTimeout):
        return "08001"
    from psycopg.conninfo import make_conninfo

    ping = pq.PGconn.ping(make_conninfo("", **params).encode())
    if ping == pq.Ping.NO_RESPONSE:
        return "08001"
    if ping == pq.Ping.REJECT:
        return "57P03"
    if ping == pq.Ping.NO_ATTEMPT:
        return "08004"
    dbname = params.get("dbname") or params.get("user")
    for maintenance in ("postgres", "template1"):
        if maintenance == dbname:
            continue
        try:
            with psycopg.Connection.connect(
                autocommit=True, **{**params, "dbname": maintenance}
            ) as probe:
                row = probe.execute(
                    "SELECT pg_catalog.has_database_privilege(oid, 'CONNECT') AND datallowconn "
                    "FROM pg_catalog.pg_database WHERE datname = %s",
                    [dbname],
                ).fetchone()
        except psycopg.Error:
            continue
        if row is None:
            return "3D000"
        return "08004" if row[0] else "42501"
    return "28000"


def _holds_nul(params: Any, depth: int = 0) -> bool:
    """Return whether a parameter (or a value nested in it) is text holding NUL."""
    if isinstance(params, str):
        return "\x00" in params
    if depth > 3:
        return False
    if isinstance(params, dict):
        return any(_holds_nul(v, depth + 1) or _holds_nul(k, depth + 1) for k, v in params.items())
    if isinstance(params, (list, tuple)):
        return any(_holds_nul(v, depth + 1) for v in params)
    wrapped = getattr(params, "obj", None)  # psycopg's Json/Jsonb wrappers
    return wrapped is not None and _holds_nul(wrapped, depth + 1)


def _number(name: str, value: Any) -> float:
    """Return a non-negative number of seconds from a number or numeric string."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigurationError(
            f"{name} must be a number of seconds or a string like '250ms', got {value!r}"
        )
    return float(value)
