"""The MySQL/MariaDB backend on PyMySQL."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

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
    OperationalError,
    ProgrammingError,
    QueryTimeoutError,
    ReadOnlyError,
    SerializationError,
    UniqueViolationError,
)
from ...helpers import as_bool, check_options, shut_down_socket, socket_has_data
from ...introspection import ConstraintInfo, ForeignKeyInfo, IndexInfo, fk_action
from ...alter import poll_lock
from ...transaction import TransactionStatus
from ...typing import ColumnInfo, QueryResult, split_table_name
from .dialect import MAX_IDENTIFIER_LENGTH, MySQLDialect
from .types import native_type

try:
    import pymysql  # type: ignore[import-untyped, unused-ignore]
    from pymysql.constants import CLIENT  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - exercised only without the driver
    pymysql = None  # type: ignore[assignment, unused-ignore]
    CLIENT = None  # type: ignore[assignment, unused-ignore]

INSTALL_HINT = 'pip install "rhosocial-activerecord[mysql]"'
_KNOWN_OPTIONS = frozenset({"connect_timeout", "read_timeout", "write_timeout", "lock_timeout",
                            "statement_timeout", "collation", "sql_mode", "unix_socket"})
_SERVER_STATUS_IN_TRANS = 1  # pymysql.constants.SERVER_STATUS.SERVER_STATUS_IN_TRANS
_SERVER_STATUS_AUTOCOMMIT = 2  # ...SERVER_STATUS_AUTOCOMMIT


class MySQLDeadlockError(DeadlockError, SerializationError):
    """A deadlock (errno 1213, SQLSTATE 40001); retry the transaction.

    MySQL has no separate serialization failure: under SERIALIZABLE, reads
    take shared locks and a conflict surfaces as a deadlock (1213, SQLSTATE
    40001, "serialization failure") or a lock wait timeout (1205). So a
    deadlock is both a :class:`DeadlockError` and a :class:`SerializationError`;
    a lock wait timeout stays a :class:`LockTimeoutError`.
    """


# MySQL/MariaDB errno -> error class.
_ERRNO_CLASSES: dict[int, type[DatabaseError]] = {
    1062: UniqueViolationError, 1022: UniqueViolationError, 1169: UniqueViolationError,
    1586: UniqueViolationError,
    1451: ForeignKeyViolationError, 1452: ForeignKeyViolationError,
    1216: ForeignKeyViolationError, 1217: ForeignKeyViolationError,
    1048: NotNullViolationError, 1364: NotNullViolationError,
    3819: CheckViolationError, 4025: CheckViolationError,
    1213: MySQLDeadlockError,
    1205: LockTimeoutError, 3572: LockTimeoutError,
    1969: QueryTimeoutError, 3024: QueryTimeoutError, 1317: QueryTimeoutError,
    0: ConnectionLostError, 2006: ConnectionLostError, 2013: ConnectionLostError,
    2055: ConnectionLostError, 1927: ConnectionLostError, 4031: ConnectionLostError,
    1053: ConnectionLostError,
    1045: ConnectionError, 1044: ConnectionError, 1049: ConnectionError,
    2003: ConnectionError, 2005: ConnectionError, 1040: ConnectionError,
    1064: ProgrammingError, 1146: ProgrammingError, 1054: ProgrammingError,
    1050: ProgrammingError, 1051: ProgrammingError, 1060: ProgrammingError,
    1061: ProgrammingError, 1091: ProgrammingError, 1149: ProgrammingError,
    1059: ProgrammingError, 1102: ProgrammingError, 1103: ProgrammingError,
    1166: ProgrammingError, 1142: ProgrammingError, 1143: ProgrammingError,
    1406: DataError, 1264: DataError, 1366: DataError, 1292: DataError,
    1265: DataError, 1690: DataError, 1365: DataError, 3140: DataError, 1300: DataError,
    1792: ReadOnlyError, 1290: ReadOnlyError, 1836: ReadOnlyError,
}

_CONNECT_MESSAGES = {
    1045: "access denied: wrong user name or password",
    1044: "access denied to the database for this user",
    1049: "unknown database",
    2003: "cannot reach the server (is it running, and is the host/port right?)",
    2005: "unknown server host",
    1040: "the server has too many connections",
}

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
# Session sql_mode: strict, but without ANSI_QUOTES so backticks stay the identifier quote.
SQL_MODE = ("STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
            "NO_ENGINE_SUBSTITUTION")


def parse_server_version(text: str) -> tuple[bool, tuple[int, ...]]:
    """Return ``(is_mariadb, version)`` from a server version string.

    MariaDB before 11 prefixes its handshake version with ``5.5.5-``.
    """
    is_mariadb = "mariadb" in text.lower()
    if is_mariadb and text.startswith("5.5.5-"):
        text = text[len("5.5.5-"):]
    match = _VERSION.search(text)
    version = tuple(int(p) for p in match.groups()) if match else ()
    return is_mariadb, version


class MySQLBackend(StorageBackend):
    """MySQL 5.7+/8.x and MariaDB 10.x+ through PyMySQL.

    Settings (keywords, a ``url=`` such as ``mysql://user:pw@host:3306/db``
    or ``mariadb://...``, or ``options``):
        host, port, database, user, password: where to connect (127.0.0.1:3306).
        ssl_ca, ssl_cert, ssl_key, ssl_verify_cert, ssl_verify_identity, ssl_disabled:
            TLS settings, passed to PyMySQL.
        connect_timeout: seconds to wait for the connection (10).
        read_timeout, write_timeout: socket timeouts in seconds (none; the
            backend's ``command_timeout`` bounds every call anyway).
        lock_timeout: seconds to wait for a row lock (``innodb_lock_wait_timeout``).
        statement_timeout: seconds a statement may run (MariaDB ``max_statement_time``,
            every statement; MySQL ``max_execution_time``, SELECT only).
        collation: utf8mb4 collation for new tables (a binary, non-padding one by default).
        sql_mode: the session sql_mode (strict, without ANSI_QUOTES, by default).

    Every connection uses utf8mb4, ``time_zone = '+00:00'`` and autocommit;
    transactions are opened explicitly with ``START TRANSACTION``.

    Placeholders are ``%s``. ``%%`` always stands for one literal ``%``, as
    in the SQL the dialect generates (``quote_identifier``,
    ``convert_placeholders``). Without parameters (``params=None``) a lone
    ``%`` is taken literally too, so ``execute("SELECT '100%'")`` works; with
    parameters (even an empty sequence) PyMySQL's ``%`` rules apply.
    """

    name = "mysql"
    driver_name = "pymysql"
    dialect_class = MySQLDialect
    async_mode = "native"

    def __init__(self, connection_config: Any = None, **kwargs: Any) -> None:
        if pymysql is None:
            raise DriverNotInstalledError(
                f"The MySQL backend needs the PyMySQL driver: {INSTALL_HINT}"
            )
        super().__init__(connection_config, **kwargs)
        config = self.config
        config.host = config.host or "127.0.0.1"
        config.port = config.port or 3306
        options = config.options
        check_options("MySQL", options, _KNOWN_OPTIONS)
        self._connect_timeout = _seconds(options, "connect_timeout", 10.0)
        self._lock_timeout = _seconds(options, "lock_timeout", None)
        self._statement_timeout = _seconds(options, "statement_timeout", None)
        self._is_mariadb = False
        self._server_version: tuple[int, ...] = ()

    # -- connection ----------------------------------------------------------

    def _driver_error_types(self) -> tuple[type[BaseException], ...]:
        return (pymysql.err.Error,)

    def _connect_kwargs(self) -> dict[str, Any]:
        """The driver's connection settings (PyMySQL's names; asyncmy takes the same ones)."""
        config = self.config
        options = config.options
        kwargs: dict[str, Any] = dict(
            host=config.host, port=int(config.port or 3306), user=config.user or "root",
            password=config.password or "", database=config.database or None,
            charset="utf8mb4", autocommit=True, client_flag=CLIENT.FOUND_ROWS,
            connect_timeout=self._connect_timeout, sql_mode=str(options.get("sql_mode", SQL_MODE)),
            init_command="SET time_zone = '+00:00'",
        )
        for key in ("read_timeout", "write_timeout"):
            value = _seconds(options, key, None)
            if value is not None:
                kwargs[key] = value
        if "unix_socket" in options:
            kwargs["unix_socket"] = options["unix_socket"]
        return kwargs

    def _connect(self) -> Any:
        kwargs = self._connect_kwargs()
        read_timeout = kwargs.get("read_timeout")
        # PyMySQL bounds only the TCP connect by connect_timeout; the handshake and login
        # read with read_timeout. Bound them too, then restore the setting for statements.
        kwargs["read_timeout"] = self._connect_timeout
        kwargs.update(self._ssl_kwargs())
        try:
            connection = pymysql.connect(**kwargs)
            connection._read_timeout = read_timeout  # used from the next read on
            return connection
        except pymysql.err.Error as exc:
            raise self._connect_failure(exc) from exc

    async def _connect_async(self) -> Any:
        from .async_driver import AsyncMySQLConnection

        kwargs = self._connect_kwargs()
        kwargs.pop("read_timeout", None)  # asyncio bounds reads: command_timeout, or the caller's timeout
        kwargs.pop("write_timeout", None)
        ssl = self._ssl_kwargs()
        if ssl and not ssl.get("ssl_disabled"):
            kwargs["ssl"] = _ssl_context(ssl)
        timeout = kwargs.pop("connect_timeout")
        # asyncmy sends sql_mode unquoted: set it in the init command instead.
        mode = self.dialect.quote_string(kwargs.pop("sql_mode"))
        kwargs["init_command"] = f"{kwargs['init_command']}, sql_mode = {mode}"
        try:
            return await AsyncMySQLConnection.connect(timeout, **kwargs)
        except pymysql.err.Error as exc:
            raise self._connect_failure(exc) from exc

    def _connect_failure(self, exc: BaseException) -> ConnectionError:
        code = self._error_code(exc)
        reason = _CONNECT_MESSAGES.get(code, "connection failed")
        return ConnectionError(
            f"Cannot connect to {self.name} database {self.config.describe()!r}: {reason} ({exc})",
            original=exc, code=code,
        )

    def _ssl_kwargs(self) -> dict[str, Any]:
        ssl = dict(self.config.ssl)
        out: dict[str, Any] = {}
        for key, value in ssl.items():
            key = re.sub(r"^ssl[-_]?", "", key).replace("-", "_")
            if key in ("ca", "cert", "key", "key_password"):
                out[f"ssl_{key}"] = value
            elif key in ("verify_cert", "verify_identity", "disabled"):
                out[f"ssl_{key}"] = as_bool(value)
            elif key == "mode":  # ssl-mode=DISABLED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY
                mode = str(value).upper()
                out["ssl_disabled"] = mode == "DISABLED"
                out["ssl_verify_cert"] = mode in ("VERIFY_CA", "VERIFY_IDENTITY")
                out["ssl_verify_identity"] = mode == "VERIFY_IDENTITY"
            else:
                raise ConfigurationError(f"Unknown MySQL SSL setting {key!r}")
        return out

    def _on_connect(self, connection: Any) -> None:
        self._is_mariadb, self._server_version = parse_server_version(connection.get_server_info())
        self.dialect.configure(self._is_mariadb, self._server_version,  # type: ignore[attr-defined]
                               self.config.options.get("collation"))
        assignments = []
        if self._lock_timeout is not None:
            assignments.append(f"innodb_lock_wait_timeout = {max(1, round(self._lock_timeout))}")
        if self._statement_timeout is not None:
            if self._is_mariadb:
                assignments.append(f"max_statement_time = {self._statement_timeout:.6f}")
            else:
                assignments.append(f"max_execution_time = {round(self._statement_timeout * 1000)}")
        # Literals compare like the columns: same collation for the connection.
        collation = self.dialect.collation  # type: ignore[attr-defined]
        if not re.fullmatch(r"\w+", collation):
            raise ConfigurationError(f"Not a collation name: {collation!r}")
        assignments.append(f"collation_connection = {collation}")
        sql = "SET SESSION " + ", ".join(assignments)
        cursor = connection.cursor()
        with self._translate_errors(sql):
            try:
                cursor.execute(sql)
            finally:
                cursor.close()

    def _close(self, connection: Any) -> None:
        marker = getattr(connection, "rhosocial_stream", None)
        if marker is not None:  # nothing may read the rest of a stream off a closing connection
            connection.rhosocial_stream = None
            _detach(marker.cursor)
        connection.close()

    # -- pooling -------------------------------------------------------------

    interrupt_drops_connection = True

    def _check_connection(self, connection: Any) -> bool:
        """Look at the socket of an idle connection: anything waiting there means it was closed.

        A server that ends a connection (``KILL``, ``wait_timeout``, a
        restart) sends an error packet or end-of-file; an idle, healthy
        connection has nothing to read. No round trip is made.
        """
        looks_alive = getattr(connection, "looks_alive", None)
        if looks_alive is not None:  # an async connection: its event loop reads the socket
            return bool(looks_alive())
        sock = connection._sock
        return sock is not None and not socket_has_data(sock.fileno())

    def _transaction_status(self, connection: Any) -> TransactionStatus | None:
        # From the last OK packet; after an error it may be stale (see _error_ends_transaction).
        # A session with autocommit switched off (a raw SET autocommit = 0) is not clean either.
        status = connection.server_status
        if status is None:
            return None
        if status & (_SERVER_STATUS_IN_TRANS) or not status & _SERVER_STATUS_AUTOCOMMIT:
            return TransactionStatus.ACTIVE
        return TransactionStatus.IDLE

    def _error_ends_transaction(self, error: DatabaseError) -> bool:
        """Whether the server rolled back the whole transaction, not just the failed statement.

        A deadlock always does; a lock wait timeout does under
        ``innodb_rollback_on_timeout``. PyMySQL's status flags cannot tell
        (the server keeps reporting a transaction), so the server is asked:
        MariaDB's ``@@in_transaction``, or MySQL's setting for timeouts.
        """
        if super()._error_ends_transaction(error) or isinstance(error, DeadlockError):
            return True
        if getattr(self._connection, "rhosocial_stream", None) is not None:
            return False  # a stream is reading on it: nothing else may run, a probe neither
        if self._is_mariadb:
            probe = "SELECT @@in_transaction = 0"
        elif isinstance(error, LockTimeoutError):
            probe = "SELECT @@innodb_rollback_on_timeout"
        else:
            return False
        cursor = self._connection.cursor()
        try:
            cursor.execute(probe)
            return bool(cursor.fetchone()[0])
        except pymysql.err.Error:
            return True  # cannot even ask: treat the transaction as gone
        finally:
            cursor.close()

    def _interrupt(self, connection: Any) -> None:
        """Shut the socket down: the blocked call fails at once, whatever the server does."""
        sock = connection._sock
        if sock is not None:
            shut_down_socket(sock.fileno())

    def _detect_capabilities(self, connection: Any) -> Capabilities:
        mariadb, version = self._is_mariadb, self._server_version
        if mariadb:
            returning = version >= (10, 5)
            skip_locked = version >= (10, 6)
            checks = version >= (10, 2)
            modern = version >= (10, 2)
        else:
            returning = False
            skip_locked = version >= (8, 0)
            checks = version >= (8, 0, 16)
            modern = version >= (8, 0)
        return Capabilities(
            supports_savepoints=True,
            isolation_levels=ALL_ISOLATION_LEVELS,
            supports_read_only_transactions=True,
            supports_returning=returning,
            supports_delete_returning=mariadb and version >= (10, 0, 5),  # no UPDATE ... RETURNING there
            supports_for_update=True,
            supports_skip_locked=skip_locked,
            supports_foreign_keys=True,
            supports_check_constraints=checks,
            supports_transactional_ddl=False,  # every DDL statement commits implicitly
            supports_json=True,
            supports_native_uuid=False,
            supports_native_decimal=True,
            supports_timezone_aware_datetime=False,
            supports_window_functions=modern,
            supports_cte=modern,
            supports_upsert=True,
            supports_computed_columns=version >= ((10, 2) if self._is_mariadb else (5, 7)),
            supports_nul_in_text=True,
            supports_lock_timeout=True,
            supports_statement_timeout=True,
            max_identifier_length=MAX_IDENTIFIER_LENGTH,
            max_bind_parameters=65535,  # the server's placeholder limit (PyMySQL binds client-side)
            server_version=version,
        )

    @property
    def is_mariadb(self) -> bool:
        """Whether the server is MariaDB (connects if needed)."""
        self.capabilities  # noqa: B018 - connects and reads the version
        return self._is_mariadb

    @property
    def server_version(self) -> tuple[int, ...]:
        """The server version as a tuple, e.g. ``(10, 11, 6)`` (connects if needed)."""
        return self.capabilities.server_version

    def connection_id(self) -> int:
        """Return the server's id for this connection (what ``KILL`` takes)."""
        return int(self.fetch_value("SELECT CONNECTION_ID()"))

    # -- statements ----------------------------------------------------------

    def _execute(self, connection: Any, sql: str, params: Sequence[Any] | None) -> QueryResult:
        if getattr(connection, "rhosocial_stream", None) is not None:
            _stream_in_the_way(connection)
        cursor = connection.cursor()
        template = sql  # before values are inlined
        try:
            cursor.execute(_inline(cursor, sql, params))
            description = cursor.description
            if description is not None:
                return QueryResult(list(cursor.fetchall()), [d[0] for d in description],
                                   cursor.rowcount, cursor.lastrowid or None)
            result = QueryResult(None, (), cursor.rowcount, cursor.lastrowid or None)
            if "ON DUPLICATE KEY" in template:  # (asked of writes only, not of every SELECT)
                result.duplicates = _duplicates(cursor)
            return result
        finally:
            cursor.close()

    def _execute_many(self, connection: Any, sql: str, seq: Sequence[Sequence[Any]]) -> int:
        if not seq:
            return 0
        if getattr(connection, "rhosocial_stream", None) is not None:
            _stream_in_the_way(connection)
        cursor = connection.cursor()
        try:
            try:
                cursor.executemany(sql, seq)
            except ValueError as exc:
                raise pymysql.err.ProgrammingError(f"Bad %-placeholder in SQL: {exc}") from exc
            return cursor.rowcount
        finally:
            cursor.close()

    # -- streaming -----------------------------------------------------------
    # An unbuffered cursor (PyMySQL's SSCursor, asyncmy's): the server sends the whole
    # result and the driver reads it off the socket a batch at a time. Until the last
    # row is read the connection can run nothing else, so a statement sent meanwhile
    # on it fails (errno 2014) rather than letting the driver read and drop the rest of
    # the stream. A stream that stops early on a connection of its own has that
    # connection closed (reading the rest could take long); on a transaction's it reads
    # the rest, which keeps the transaction.

    def _stream_start(self, connection: Any, sql: str, params: Sequence[Any] | None, batch_size: int,
                      shared: bool) -> tuple[Any, Sequence[str]]:
        if getattr(connection, "rhosocial_stream", None) is not None:
            _stream_in_the_way(connection)
        unbuffered = getattr(connection, "unbuffered_cursor", None)  # the async connection's
        cursor = unbuffered() if unbuffered is not None else connection.cursor(pymysql.cursors.SSCursor)
        cursor.execute(_inline(cursor, sql, params))
        description = cursor.description
        if description is not None:
            connection.rhosocial_stream = _Unread(cursor)
        return cursor, [d[0] for d in description] if description else []

    def _stream_fetch(self, connection: Any, cursor: Any, size: int) -> Sequence[Any]:
        if getattr(cursor, "rhosocial_cut", False):
            raise pymysql.err.ProgrammingError(
                2014, "This stream read inside a transaction that has ended since: the rest of its rows "
                "were dropped (MySQL runs nothing else on a connection while a stream reads it, so "
                "the transaction could only end after them). Finish the stream inside the transaction.")
        rows = cursor.fetchmany(size)
        if len(rows) < size:  # the end of the result was read: the connection is free
            connection.rhosocial_stream = None
        return rows

    def _stream_end(self, connection: Any, cursor: Any, complete: bool, shared: bool) -> bool:
        unread = getattr(connection, "rhosocial_stream", None) is not None
        connection.rhosocial_stream = None
        if unread and not shared:
            _detach(cursor)
            return False
        cursor.close()  # reads what is left of the result
        return True

    def _stream_abandon(self, connection: Any, cursor: Any, shared: bool) -> bool:
        marker = getattr(connection, "rhosocial_stream", None)
        if not shared:
            _detach(cursor)
            return False
        if marker is not None:
            marker.abandoned = True  # the next statement on the connection reads the rest first
        return True

    def _wrap_error(self, exc: BaseException, sql: str | None, params: Any) -> DatabaseError:
        error = super()._wrap_error(exc, sql, params)
        if isinstance(error, ConnectionLostError) and _payload_size(sql, params) > _PACKET_HINT:
            error.message = (
                f"The statement (about {_payload_size(sql, params) // 2**20} MiB) is probably larger "
                "than the server's max_allowed_packet, so the server closed the connection; nothing "
                f"of it was written. Send less per statement. Driver said: {error.message}")
            error.args = (error.message,)
        return error

    def _error_code(self, error: BaseException) -> Any:
        args = getattr(error, "args", ())
        if args and isinstance(args[0], int):
            return args[0]
        return None

    def _classify_error(self, error: BaseException) -> type[DatabaseError]:
        code = self._error_code(error)
        if code is not None:
            found = _ERRNO_CLASSES.get(code)
            if found is not None:
                return found
        # No errno we know: fall back to the DB-API class PyMySQL chose from the errno.
        err = pymysql.err
        if isinstance(error, err.IntegrityError):
            return ConstraintViolationError
        if isinstance(error, err.DataError):
            return DataError
        if isinstance(error, (err.ProgrammingError, err.NotSupportedError)):
            return ProgrammingError
        if isinstance(error, err.InterfaceError):
            return ConnectionLostError
        if isinstance(error, (err.OperationalError, err.InternalError)):
            return OperationalError
        return DatabaseError

    # -- transactions --------------------------------------------------------

    def _commit(self) -> None:
        self._cut_stream("COMMIT")
        self._run_internal("COMMIT")

    def _rollback(self) -> None:
        self._cut_stream("ROLLBACK")
        self._run_internal("ROLLBACK")

    def _cut_stream(self, sql: str) -> None:
        """End a stream still reading on the transaction's connection, for the transaction to end.

        The rest of its result is read and dropped; its next read raises, as a
        PostgreSQL cursor's does once its transaction is over.
        """
        connection = self._connection
        marker = getattr(connection, "rhosocial_stream", None)
        if marker is None:
            return
        connection.rhosocial_stream = None
        marker.cursor.rhosocial_cut = True
        with self._translate_errors(sql):
            marker.cursor.close()

    # -- catalog -------------------------------------------------------------

    def _table_exists(self, table_name: str) -> bool:
        result = self.execute_raw(
            "SELECT 1 FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s",
            split_table_name(table_name),
        )
        return bool(result.rows)

    def _get_columns(self, table_name: str) -> list[ColumnInfo]:
        result = self.execute_raw(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
            "COLUMN_KEY, CHARACTER_SET_NAME, EXTRA FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            split_table_name(table_name),
        )
        if not result.rows:
            return []
        json_columns = self._json_checked_columns(table_name) if self._is_mariadb else set()
        primary = self._primary_key_columns(table_name)
        columns = []
        for name, data_type, column_type, nullable, default, key, charset, extra in result.rows:
            data_type, column_type = _text(data_type), _text(column_type)
            if self._is_mariadb and default == "NULL":
                default = None  # MariaDB spells "no default" on a nullable column as NULL
            # "VIRTUAL GENERATED" / "STORED GENERATED"; MySQL's "DEFAULT_GENERATED" is an expression default.
            generated = _text(extra or "").upper().endswith(" GENERATED")
            if generated:
                default = None  # MariaDB reports the expression there
            columns.append(ColumnInfo(
                name=name,
                type=column_type.upper(),
                nullable=nullable == "YES",
                default=default,
                primary_key=name in primary,
                db_type=native_type(data_type, column_type, charset, name in json_columns),
                generated=generated,
                autoincrement="auto_increment" in _text(extra or "").lower(),
            ))
        return columns

    def _get_tables(self, schema: str | None, views: bool) -> list[str]:
        rows = self.execute_raw(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) "
            "AND TABLE_TYPE " + ("= 'VIEW'" if views else "IN ('BASE TABLE', 'SYSTEM VERSIONED')"),
            (schema,)).rows
        return [_text(r[0]) for r in rows]

    def _index_rows(self, table_name: str) -> list[Any]:
        return list(self.execute_raw(
            "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s "
            "ORDER BY INDEX_NAME, SEQ_IN_INDEX", split_table_name(table_name)).rows)

    def _get_primary_key(self, table_name: str) -> list[str]:
        return [_text(column) for index, _u, column in self._index_rows(table_name) if index == "PRIMARY"]

    def _get_indexes(self, table_name: str) -> list[IndexInfo]:
        columns: dict[str, list[str]] = {}
        unique: dict[str, bool] = {}
        for index, non_unique, column in self._index_rows(table_name):
            index = _text(index)
            if index == "PRIMARY":
                continue
            if column is not None:  # an expression part (MySQL 8 functional index) has none
                columns.setdefault(index, []).append(_text(column))
            else:
                columns.setdefault(index, [])
            unique[index] = not int(non_unique)
        constraints = {c.name for c in self._unique_constraints(table_name)}
        # A foreign key's own index (made for it, named after it) is listed too: the database needs it.
        return [IndexInfo(name=name, columns=tuple(cols), unique=unique[name], constraint=name in constraints)
                for name, cols in columns.items()]

    def _get_foreign_keys(self, table_name: str) -> list[ForeignKeyInfo]:
        schema = split_table_name(table_name)[0]
        rows = self.execute_raw(
            "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, "
            "k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE "
            "FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
            "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME "
            "AND r.TABLE_NAME = k.TABLE_NAME "
            "WHERE k.TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND k.TABLE_NAME = %s "
            "AND k.REFERENCED_TABLE_NAME IS NOT NULL ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            split_table_name(table_name)).rows
        current = None
        groups: dict[str, list[Any]] = {}
        for row in rows:
            groups.setdefault(_text(row[0]), []).append(row)
        keys = []
        for name, parts in groups.items():
            target_schema, target = _text(parts[0][2]), _text(parts[0][3])
            if target_schema != schema:
                if current is None:
                    current = _text(self.fetch_value("SELECT DATABASE()"))
                if target_schema != current:
                    target = f"{target_schema}.{target}"
            keys.append(ForeignKeyInfo(
                name=name, columns=tuple(_text(p[1]) for p in parts), referenced_table=target,
                referenced_columns=tuple(_text(p[4]) for p in parts),
                on_delete=fk_action(parts[0][5]), on_update=fk_action(parts[0][6])))
        return keys

    def _unique_constraints(self, table_name: str) -> list[ConstraintInfo]:
        unique = self.execute_raw(
            "SELECT c.CONSTRAINT_NAME, k.COLUMN_NAME FROM information_schema.TABLE_CONSTRAINTS c "
            "JOIN information_schema.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA "
            "AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND k.TABLE_NAME = c.TABLE_NAME "
            "WHERE c.TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND c.TABLE_NAME = %s "
            "AND c.CONSTRAINT_TYPE = 'UNIQUE' ORDER BY c.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            split_table_name(table_name)).rows
        groups: dict[str, list[str]] = {}
        for constraint, column in unique:
            groups.setdefault(_text(constraint), []).append(_text(column))
        return [ConstraintInfo(name=n, kind="unique", columns=tuple(cols)) for n, cols in groups.items()]

    # -- schema changes --------------------------------------------------------------

    def drop_column(self, table: str, column: str) -> None:
        """Drop the column with its foreign keys and multi-column indexes, in one statement.

        MySQL refuses to drop a column a foreign key uses, and MariaDB one in a
        multi-column UNIQUE; PostgreSQL drops those with the column, and so does this.
        """
        foreign = self.get_foreign_keys(table)
        keys = [k.name for k in foreign if column in k.columns and k.name]
        kept = [k.columns for k in foreign if column not in k.columns]
        # A multi-column UNIQUE cannot shrink (MariaDB refuses); other indexes shrink by themselves,
        # and one that a kept foreign key needs must stay.
        indexes = [i.name for i in self.get_indexes(table)
                   if column in i.columns and len(i.columns) > 1 and i.unique
                   and not any(i.columns[:len(cols)] == cols for cols in kept)]
        dialect: MySQLDialect = self.dialect  # type: ignore[assignment]
        self._ddl([dialect.drop_column_with_sql(table, column, keys, indexes)])

    # -- the migration lock ------------------------------------------------------

    def _take_lock(self, name: str, timeout: float | None) -> bool:
        """``GET_LOCK(name, 0)``, polled (a long server-side wait would meet the statement timeout)."""
        return poll_lock(lambda: self.fetch_value("SELECT GET_LOCK(%s, 0)", (name,)) == 1, name, timeout)

    def _drop_lock(self, name: str) -> None:
        self.fetch_value("SELECT RELEASE_LOCK(%s)", (name,))

    def _get_constraints(self, table_name: str) -> list[ConstraintInfo]:
        schema, name = split_table_name(table_name)
        found = self._unique_constraints(table_name)
        if self.capabilities.supports_check_constraints:
            checks = self.execute_raw(
                "SELECT c.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS c "
                "JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA "
                "AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME"
                + (" AND cc.TABLE_NAME = c.TABLE_NAME" if self._is_mariadb else "")
                + " WHERE c.TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND c.TABLE_NAME = %s "
                "AND c.CONSTRAINT_TYPE = 'CHECK' ORDER BY c.CONSTRAINT_NAME", (schema, name)).rows
            found.extend(ConstraintInfo(name=_text(n), kind="check", definition=_text(clause))
                         for n, clause in checks)
        return found

    def _primary_key_columns(self, table_name: str) -> set[str]:
        result = self.execute_raw(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY'",
            split_table_name(table_name),
        )
        return {row[0] for row in result.rows}

    def _json_checked_columns(self, table_name: str) -> set[str]:
        """Return the columns MariaDB created for ``JSON`` (a ``json_valid`` column check)."""
        if self._server_version < (10, 2):
            return set()
        result = self.execute_raw(
            "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s",
            split_table_name(table_name),
        )
        found = set()
        for name, clause in result.rows:
            expected = "json_valid(" + self.dialect.quote_identifier(name).replace("%%", "%") + ")"
            if _text(clause).replace(" ", "").lower() == expected.replace(" ", "").lower():
                found.add(name)
        return found


class _Unread:
    """What a connection carries while a stream has rows on it still unread."""

    __slots__ = ("cursor", "abandoned")

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.abandoned = False  # the stream was dropped unclosed: read the rest before the next statement


def _stream_in_the_way(connection: Any) -> None:
    """Refuse a statement on a connection a stream is reading; read off what an abandoned stream left."""
    marker = connection.rhosocial_stream
    if marker.abandoned:
        connection.rhosocial_stream = None
        marker.cursor.close()
        return
    raise pymysql.err.ProgrammingError(
        2014, "Commands out of sync: this connection is still reading the rows of a stream "
        "(query.stream() inside a transaction or connection() block), and MySQL can run nothing "
        "else on it until the last row is read, includes() of the stream included. Finish or "
        "close the stream first (with query.stream() as records: ...), or stream outside the "
        "transaction, where the stream has a connection of its own.")


def _inline(cursor: Any, sql: str, params: Sequence[Any] | None) -> str:
    """The statement with its values inlined (PyMySQL binds on the client); ``%%`` means ``%``."""
    if params is not None:
        if not isinstance(params, (list, tuple)):
            params = tuple(params)
        try:
            return str(cursor.mogrify(sql, params))
        except ValueError as exc:  # a stray % that is not a placeholder
            raise pymysql.err.ProgrammingError(f"Bad %-placeholder in SQL: {exc}") from exc
    if "%%" in sql:
        return sql.replace("%%", "%")
    return sql


def _detach(cursor: Any) -> None:
    """Cut an unbuffered cursor off its connection, so nothing reads the rest of its result."""
    detach = getattr(cursor, "detach", None)
    if detach is not None:
        detach()
        return
    result = cursor._result  # PyMySQL: its __del__, and the cursor's, would read the rest
    if result is not None:
        result.unbuffered_active = False
    cursor.connection = None


#: Statements larger than this that lose their connection most likely hit max_allowed_packet
#: (16 MiB on current MySQL and MariaDB; the server closes the connection instead of answering).
_PACKET_HINT = 8 * 2**20


def _ssl_context(settings: dict[str, Any]) -> Any:
    """An ``ssl.SSLContext`` from PyMySQL-style SSL settings (what asyncmy takes)."""
    import ssl

    context = ssl.create_default_context(cafile=settings.get("ssl_ca"))
    if settings.get("ssl_cert"):
        context.load_cert_chain(settings["ssl_cert"], settings.get("ssl_key"), settings.get("ssl_key_password"))
    verify = settings.get("ssl_verify_cert", bool(settings.get("ssl_ca")))
    context.check_hostname = bool(settings.get("ssl_verify_identity", False)) and bool(verify)
    context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    return context


_DUPLICATES = re.compile(rb"Duplicates: (\d+)")


def _duplicates(cursor: Any) -> int | None:
    """The rows an ``INSERT ... ON DUPLICATE KEY UPDATE`` found stored, from the server's info.

    The server sends ``Records: 3  Duplicates: 1  Warnings: 0`` for a
    multi-row statement and nothing for one row. Neither driver has a
    public accessor for that text: both keep it on the cursor's result.
    """
    message = getattr(getattr(cursor, "_result", None), "message", None)
    if not message:
        return None
    found = _DUPLICATES.search(message if isinstance(message, bytes) else str(message).encode())
    return int(found.group(1)) if found else None


def _payload_size(sql: str | None, params: Any) -> int:
    """Roughly how many bytes a statement and its parameters take on the wire."""
    size = len(sql or "")
    if isinstance(params, (list, tuple)):
        size += sum(len(p) for p in params if isinstance(p, (str, bytes, bytearray)))
    return size


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    return "" if value is None else str(value)


def _seconds(options: dict[str, Any], key: str, default: float | None) -> float | None:
    value = options.get(key, default)
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{key} must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ConfigurationError(f"{key} must not be negative, got {value!r}")
    return seconds