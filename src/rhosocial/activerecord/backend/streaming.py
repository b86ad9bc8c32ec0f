"""``StorageBackend.execute_stream``'s rows: a SELECT read a batch at a time on one connection.

The backend's ``_stream_*`` hooks open, read and end the driver's cursor (a
server-side one where the driver has it); :class:`RowStream` holds the
connection for them, translates driver errors as ``execute`` does, and
gives the connection back (or drops it, when it cannot be reused) however
the stream ends.
"""
from __future__ import annotations

import logging
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

from . import bridge as _bridge
from .errors import DatabaseError, TransactionError
from .pool import PooledConnection, fork_generation
from .transaction import Transaction

if TYPE_CHECKING:
    from .base import StorageBackend

logger = logging.getLogger("rhosocial.activerecord.backend")
_DEBUG = logging.DEBUG
_now = time.perf_counter
_FORK = fork_generation


class RowStream:
    """The rows of one query, read a batch at a time (see :meth:`StorageBackend.execute_stream`).

    Iterating yields non-empty lists of row tuples in :attr:`columns` order.
    The query starts at the first read; the connection is given back as
    soon as the last row has arrived, or at :meth:`close`. A stream left
    unclosed is closed when it is garbage collected (at once in CPython,
    when a ``for`` loop over it ends early).
    """

    __slots__ = ("backend", "sql", "params", "batch_size", "_columns", "_entry", "_state", "_cursor",
                 "_done", "_fork")

    def __init__(self, backend: StorageBackend, sql: str, params: Sequence[Any] | None, batch_size: int) -> None:
        self.backend = backend
        self.sql = sql
        self.params = params
        self.batch_size = batch_size
        self._columns: tuple[str, ...] = ()
        self._entry: PooledConnection | None = None  # the connection, from the first read to the end
        self._state: Transaction | None = None  # the context's hold the stream shares, if it shares one
        self._cursor: Any = None
        self._done = False
        self._fork = _FORK[0]

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of the result's columns (starts the query if it has not started)."""
        if self._entry is None and not self._done:
            self._open()
        return self._columns

    @property
    def closed(self) -> bool:
        """Whether the stream has ended (read to its end, closed, or failed)."""
        return self._done

    def __iter__(self) -> "RowStream":
        return self

    def __next__(self) -> list[tuple[Any, ...]]:
        if self._entry is None:
            if self._done:
                raise StopIteration
            self._open()
        elif self._fork != _FORK[0] or (self._state is not None and not self._state.owned()):
            raise TransactionError(
                "This stream reads on a connection another thread, task or process holds (the "
                "stream started inside its transaction or connection() block): read it where it started")
        size = self.batch_size
        rows = self._call(self.backend._stream_fetch, self._cursor, size)
        if len(rows) < size:  # the last rows: the connection goes back before they are used
            self._end(complete=True)
        if not rows:
            raise StopIteration
        return rows if type(rows) is list else list(rows)

    def close(self) -> None:
        """Stop reading and give the connection back; rows not read yet are dropped."""
        if self._entry is None:
            self._done = True
        elif self._fork != _FORK[0]:
            self._entry = self._state = self._cursor = None  # the parent process's connection: leave it
            self._done = True
        elif (self._state is None or self._state.owned()) and (
                self._entry.pool.loop is None or _bridge.in_bridge()):
            self._end(complete=False)
        else:
            self._abandon()

    def __enter__(self) -> "RowStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if self._entry is not None:
            unawaited = self._entry.pool.loop is not None and not _bridge.in_bridge()
            text = repr(self)
            try:
                self.close()
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                logger.debug("error while closing an abandoned %s stream", self.backend.name, exc_info=True)
            if unawaited:  # its connection could not be cleaned up, only closed or marked
                warnings.warn(f"{text} of async code was not closed: use 'async with query.astream()' "
                              "or 'await stream.aclose()' to stop reading early", ResourceWarning, stacklevel=2)

    # -- the connection -----------------------------------------------------------

    def _open(self) -> None:
        """Take the connection and start the query."""
        backend = self.backend
        backend.capabilities  # noqa: B018 - the first connect tells whether the pool has one connection only
        state = backend._owned()
        if state is None:
            pool = backend._lender()
            if not pool._single:
                self._entry = pool.acquire()
            else:  # the one connection everything shares (SQLite's :memory:): hold it as connection() does
                state = Transaction(backend, pool.acquire(), backend._command_timeout)
                backend._state.set(state)
        if state is not None:
            if state.frames:
                refusal = state.refusal("this query")
                if refusal is not None:
                    raise refusal
            if state.pending:
                backend._open_pending(state)
            state.pins += 1  # the hold outlasts a transaction that ends before the stream does
            self._state = state
            self._entry = state.entry
        start = _now()
        self._cursor, columns = self._call(backend._stream_start, self.sql, self.params, self.batch_size,
                                           state is not None)
        self._columns = tuple(columns)
        if state is not None:
            state.statements += 1
        if backend._listeners or logger.isEnabledFor(_DEBUG):
            backend._report(self.sql, self.params, _now() - start, self.params)

    def _call(self, hook: Callable[..., Any], *args: Any) -> Any:
        """Run a stream hook on the connection; a failure ends the stream."""
        try:
            return self._guarded(hook, *args)
        except BaseException:
            self._end(complete=False, quiet=True)
            raise

    def _guarded(self, hook: Callable[..., Any], *args: Any) -> Any:
        """Run ``hook(connection, *args)`` bounded by ``command_timeout``, translating driver errors."""
        backend = self.backend
        entry = self._entry
        assert entry is not None
        state = self._state
        timeout = backend._command_timeout if state is None else state.command_timeout
        if timeout is not None:
            entry.deadline = _now() + timeout
        try:
            return hook(entry.connection, *args)
        except backend._driver_errors as exc:
            entry.deadline = 0.0
            raise backend._call_failed(entry, state, exc, self.sql, self.params, timeout) from exc
        except UnicodeEncodeError as exc:  # raised before anything was sent
            from .base import _unencodable

            raise _unencodable(exc, self.sql, self.params) from exc
        except BaseException as exc:
            entry.broken = True  # interrupted half-way: the protocol state is unknown
            if state is not None and state.frames and state.lost is None:
                state.lost = exc
            raise
        finally:
            entry.deadline = 0.0

    def _end(self, complete: bool, quiet: bool = False) -> None:
        """Free the cursor and give the connection back (``quiet``: an error is already on its way)."""
        self._done = True
        entry = self._entry
        if entry is None:
            return
        cursor, self._cursor = self._cursor, None
        reusable = not entry.broken
        try:
            if cursor is not None and reusable:
                reusable = False
                reusable = bool(self._guarded(self.backend._stream_end, cursor, complete, self._state is not None))
        except DatabaseError:
            if not quiet:
                raise
        finally:
            self._release(reusable)

    def _abandon(self) -> None:
        """End the stream without I/O: a finalizer of async code, or a thread that does not hold the connection."""
        entry, cursor = self._entry, self._cursor
        assert entry is not None
        state = self._state
        self._done = True
        self._cursor = None
        try:
            reusable = self.backend._stream_abandon(entry.connection, cursor, state is not None)
        except Exception:  # noqa: BLE001 - nothing may fail here
            reusable = False
        if state is None:
            self._entry = None
            _drop(entry)
        elif not state.owned():
            # Another context holds it: it keeps the hold (the hold ends with that context).
            self._entry = self._state = None
            if not reusable:
                entry.broken = True
        else:
            self._release(reusable, quietly=True)

    def _release(self, reusable: bool, quietly: bool = False) -> None:
        """Give the connection back to the pool, or end the stream's share of the context's hold."""
        entry, self._entry = self._entry, None
        state, self._state = self._state, None
        if entry is None:
            return
        entry.deadline = 0.0
        backend = self.backend
        if state is None:
            if reusable and not entry.broken:
                backend._give_back(entry, strict=False)
            else:
                entry.pool.discard(entry)  # never handed out half-read
            return
        if not reusable:
            entry.broken = True  # closed when the context's hold on it ends
        state.pins -= 1
        if state.pins == 0 and not state.frames and state.entry is entry:
            if not quietly:
                backend._let_go(state)
            else:  # a finalizer
                backend._state.set(None)
                state.entry = None
                _drop(entry)

    def __repr__(self) -> str:
        status = "closed" if self._done else "reading" if self._entry is not None else "not started"
        return f"<RowStream {self.backend.name} {status} {self.sql!r}>"


def _drop(entry: PooledConnection) -> None:
    """Close the connection of a stream dropped by a finalizer, which may run inside pool code.

    So neither the pool's lock nor the connection is touched here: its event
    loop closes it next (an async connection's finalizer runs there), or, the
    loop gone, a later borrower does.
    """
    entry.broken = True
    loop = entry.pool.loop
    if loop is None or not _bridge.call_on(loop, entry.pool.discard, entry):
        entry.pool.abandon(entry)
