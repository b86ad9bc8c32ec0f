"""psycopg's ``AsyncConnection`` behind the synchronous surface the PostgreSQL hooks use.

The backend's ``_execute``, ``_on_connect``, ``_close`` and the rest run
unchanged on these objects inside a bridge (an ``a``-method): each call that
talks to the server awaits psycopg's coroutine through
:func:`~rhosocial.activerecord.backend.bridge.await_`. psycopg raises the
same exception classes from both APIs, so error translation is shared too.
"""
from __future__ import annotations

from typing import Any, Sequence

from ...bridge import await_, in_bridge


class AsyncPgCursor:
    """An ``AsyncRawCursor`` with blocking-style methods (awaited by the bridge)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> "AsyncPgCursor":
        await_(self._cursor.execute(sql, params))
        return self

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        await_(self._cursor.executemany(sql, seq))

    def fetchall(self) -> list[Any]:
        return await_(self._cursor.fetchall())

    @property
    def pgresult(self) -> Any:
        return self._cursor.pgresult

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


class AsyncPgServerCursor:
    """An ``AsyncRawServerCursor`` (a named cursor, for streams) with blocking-style methods."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> "AsyncPgServerCursor":
        await_(self._cursor.execute(sql, params))
        return self

    def fetchmany(self, size: int) -> list[Any]:
        return await_(self._cursor.fetchmany(size))

    def close(self) -> None:
        await_(self._cursor.close())

    def _close(self) -> None:
        """Mark the cursor closed without telling the server (psycopg's non-blocking half of ``close()``)."""
        self._cursor._close()

    @property
    def pgresult(self) -> Any:
        return self._cursor.pgresult

    @property
    def withhold(self) -> bool:
        return bool(self._cursor.withhold)


class AsyncPgConnection:
    """A ``psycopg.AsyncConnection`` with the synchronous connection's surface."""

    __slots__ = ("_connection", "rhosocial_cursor")

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self.rhosocial_cursor: AsyncPgCursor | None = None

    @classmethod
    async def connect(cls, **params: Any) -> "AsyncPgConnection":
        import psycopg

        connection = await psycopg.AsyncConnection.connect(cursor_factory=psycopg.AsyncRawCursor, **params)
        return cls(connection)

    @property
    def info(self) -> Any:
        return self._connection.info

    @property
    def pgconn(self) -> Any:
        return self._connection.pgconn

    @property
    def closed(self) -> bool:
        return bool(self._connection.closed)

    @property
    def broken(self) -> bool:
        return bool(self._connection.broken)

    def cursor(self) -> AsyncPgCursor:
        return AsyncPgCursor(self._connection.cursor())

    def rhosocial_server_cursor(self, name: str, withhold: bool) -> AsyncPgServerCursor:
        """A named cursor for a stream (see the synchronous connection's method of the same name)."""
        import psycopg

        return AsyncPgServerCursor(psycopg.AsyncRawServerCursor(self._connection, name, withhold=withhold))

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        await_(self._connection.execute(sql, params))

    def close(self) -> None:
        """Close politely from a bridge; elsewhere (a disposed pool of an ended loop) end the session at once."""
        if in_bridge():
            await_(self._connection.close())
        elif not self._connection.closed:
            self._connection.pgconn.finish()

    def __repr__(self) -> str:
        return f"<AsyncPgConnection {self._connection!r}>"
