"""asyncmy behind the PyMySQL surface the MySQL hooks use.

The backend's ``_execute``, ``_on_connect`` and the rest run unchanged on
these objects inside a bridge (an ``a``-method); each call that talks to the
server awaits asyncmy's coroutine through
:func:`~rhosocial.activerecord.backend.bridge.await_`. asyncmy's exceptions
are re-raised as the PyMySQL classes of the same name with the same
arguments (errno, message), so error translation is shared as well.

Why asyncmy rather than aiomysql: asyncmy is maintained (releases through
2025, wheels for CPython 3.11-3.14) and implements the protocol itself in
Cython; aiomysql reuses PyMySQL's private internals, which PyMySQL
releases have broken before, and sees few releases.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Sequence

import pymysql  # type: ignore[import-untyped, unused-ignore]

from ...bridge import await_, in_bridge

try:
    import asyncmy
    import asyncmy.errors as _asyncmy_errors

    _ASYNCMY_ERROR: type[BaseException] = _asyncmy_errors.Error
except ImportError:  # pragma: no cover - exercised in a subprocess test
    asyncmy = None  # type: ignore[assignment, unused-ignore]
    _ASYNCMY_ERROR = type("_NoError", (Exception,), {})

INSTALL_HINT = 'pip install "rhosocial-activerecord[mysql-async]"'


def _translated(exc: BaseException) -> BaseException:
    """The PyMySQL exception of the same name and arguments as asyncmy's ``exc``."""
    cls = getattr(pymysql.err, type(exc).__name__, None)
    if not (isinstance(cls, type) and issubclass(cls, pymysql.err.Error)):
        cls = pymysql.err.OperationalError if isinstance(exc, OSError) else pymysql.err.Error
    return cls(*exc.args)


def _wait(awaitable: Any, owner: "AsyncMySQLConnection | None" = None) -> Any:
    try:
        return await_(awaitable)
    except asyncio.CancelledError:
        if owner is not None:
            owner.end_session_on_server()
        raise
    except _ASYNCMY_ERROR as exc:
        raise _translated(exc) from exc
    except (ConnectionError, asyncio.IncompleteReadError) as exc:  # the socket went away
        raise pymysql.err.OperationalError(2013, f"Lost connection to server during query ({exc})") from exc


class AsyncMySQLCursor:
    """An asyncmy cursor with PyMySQL's blocking-style methods (awaited by the bridge)."""

    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: Any, owner: "AsyncMySQLConnection") -> None:
        self._cursor = cursor
        self._owner = owner

    def mogrify(self, sql: str, params: Sequence[Any]) -> str:
        return str(self._cursor.mogrify(sql, params))

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        return int(_wait(self._cursor.execute(sql, params), self._owner) or 0)

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> int:
        return int(_wait(self._cursor.executemany(sql, seq), self._owner) or 0)

    def fetchall(self) -> Any:
        return _wait(self._cursor.fetchall())

    def fetchone(self) -> Any:
        return _wait(self._cursor.fetchone())

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> Any:
        return self._cursor.lastrowid

    @property
    def _result(self) -> Any:
        """The driver's last result (its ``message`` holds the server's info text)."""
        return getattr(self._cursor, "_result", None)

    def close(self) -> None:
        """Nothing to do: the connection keeps this cursor for its next statement.

        Each ``execute`` reads its whole result; closing and opening a cursor
        per statement would cost an extra await (and a loop turn) each time.
        """


class AsyncMySQLStreamCursor(AsyncMySQLCursor):
    """asyncmy's unbuffered cursor (for streams): rows are read off the socket as they are fetched."""

    __slots__ = ("rhosocial_cut",)

    def __init__(self, cursor: Any, owner: "AsyncMySQLConnection") -> None:
        super().__init__(cursor, owner)
        self.rhosocial_cut = False  # its transaction ended before it was read to its end

    def fetchmany(self, size: int) -> Any:
        return _wait(self._cursor.fetchmany(size), self._owner)

    def close(self) -> None:
        """Read what is left of the result (the connection is usable again after)."""
        _wait(self._cursor.close(), self._owner)

    def detach(self) -> None:
        """Cut the cursor off its connection, unread rows and all (the connection is then closed)."""
        result = self._cursor._result
        if result is not None:
            result.unbuffered_active = False
        self._cursor.connection = None


class AsyncMySQLConnection:
    """An asyncmy connection with the PyMySQL connection's surface."""

    __slots__ = ("_connection", "_settings", "_cursor", "rhosocial_stream")

    def __init__(self, connection: Any, settings: dict[str, Any] | None = None) -> None:
        self._connection = connection
        self._settings = settings or {}
        self._cursor: AsyncMySQLCursor | None = None
        self.rhosocial_stream: Any = None  # set by the backend while a stream has rows unread on it

    @classmethod
    async def connect(cls, connect_timeout: float, **kwargs: Any) -> "AsyncMySQLConnection":
        if asyncmy is None:
            from ...errors import DriverNotInstalledError

            raise DriverNotInstalledError(f"Async use of the MySQL backend needs asyncmy: {INSTALL_HINT}")
        try:
            # asyncmy bounds only the TCP connect; the handshake and login are bounded here.
            connection = await asyncio.wait_for(
                asyncmy.connect(connect_timeout=connect_timeout, **kwargs), connect_timeout)
        except _ASYNCMY_ERROR as exc:
            raise _translated(exc) from exc
        except (OSError, asyncio.TimeoutError) as exc:
            raise pymysql.err.OperationalError(
                2003, f"Can't connect to MySQL server on {kwargs.get('host')!r} ({exc})") from exc
        return cls(connection, {"connect_timeout": connect_timeout, **kwargs})

    @property
    def server_status(self) -> int | None:
        return self._connection.server_status  # type: ignore[no-any-return, unused-ignore]

    @property
    def _sock(self) -> Any:
        """The socket (what the watchdog shuts down to stop a call past ``command_timeout``)."""
        transport = getattr(self._connection, "_transport", None)
        return None if transport is None else transport.get_extra_info("socket")

    def looks_alive(self) -> bool:
        """Whether the server has not closed the connection (what the loop's reader saw; no round trip)."""
        transport = getattr(self._connection, "_transport", None)
        if transport is None or transport.is_closing():
            return False
        protocol = getattr(self._connection, "_proto", None)
        return not (protocol is not None and (getattr(protocol, "eof", False) or getattr(protocol, "exc", None)))

    def end_session_on_server(self) -> None:
        """A call was cancelled halfway: have the server end this session (``KILL``).

        The connection is discarded anyway; without this the server would run
        the cut-off statement to its end, holding its locks, before noticing.
        A daemon thread sends the ``KILL`` over a PyMySQL connection, so the
        cancellation is not delayed and an event loop that is shutting down
        (``asyncio.run`` cancelling its last tasks) does not drop it.
        """
        try:
            thread_id = int(self._connection.thread_id())  # the server's id of this session
        except Exception:  # noqa: BLE001 - never connected
            return
        settings = {k: v for k, v in self._settings.items() if k not in ("init_command", "database", "db")}

        def kill() -> None:
            try:
                other = pymysql.connect(**settings)
                try:
                    with other.cursor() as cursor:
                        cursor.execute(f"KILL {thread_id}")
                finally:
                    other.close()
            except Exception:  # noqa: BLE001 - best effort: the server ends it when it notices
                pass

        threading.Thread(target=kill, name="rhosocial-mysql-kill", daemon=True).start()

    def get_server_info(self) -> str:
        return str(self._connection.get_server_info())

    def cursor(self) -> AsyncMySQLCursor:
        """The connection's one cursor (statements on a connection run one at a time)."""
        if self._cursor is None:
            self._cursor = AsyncMySQLCursor(self._connection.cursor(), self)
        return self._cursor

    def unbuffered_cursor(self) -> AsyncMySQLStreamCursor:
        """A new unbuffered cursor, for a stream."""
        from asyncmy.cursors import SSCursor

        return AsyncMySQLStreamCursor(self._connection.cursor(SSCursor), self)

    def close(self) -> None:
        """Say goodbye from a bridge; elsewhere (a disposed pool of an ended loop) drop the socket."""
        if in_bridge():
            try:
                _wait(self._connection.ensure_closed())
                return
            except pymysql.err.Error:
                pass
        try:
            self._connection.close()
        except RuntimeError:  # its event loop is closed: the socket goes with the transport object
            pass

    def __repr__(self) -> str:
        return f"<AsyncMySQLConnection {self._connection!r}>"
