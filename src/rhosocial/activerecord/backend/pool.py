"""Connection pools, written once for every backend.

A backend owns one :class:`ConnectionPool`. A statement outside a
transaction borrows a connection for its own duration; a transaction holds
one from ``BEGIN`` to its end. The pool keeps up to ``pool_size`` idle
connections, opens up to ``max_overflow`` more under load, makes a borrower
wait at most ``pool_timeout`` seconds (then :class:`PoolTimeoutError`),
checks connections that sat idle before handing them out, retires old ones,
and never hands out a connection whose state is unknown.

The same module keeps the two process-wide mechanisms pools need: the
watchdog thread that bounds every call (``command_timeout``) and the
``os.fork()`` handler that makes a child process forget, without closing,
the connections it inherited.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from . import bridge as _bridge
from .errors import ConfigurationError, PoolTimeoutError

if TYPE_CHECKING:
    from .base import StorageBackend

logger = logging.getLogger("rhosocial.activerecord.backend")
_now = time.perf_counter

#: Settings every backend reads from its options (keywords, URL query or ``options=``).
POOL_OPTIONS = frozenset({
    "pool_size", "max_overflow", "pool_timeout", "pool_recycle", "pool_idle_timeout",
    "pool_pre_ping", "command_timeout",
})

#: How often the watchdog looks for calls past their deadline (seconds).
WATCHDOG_INTERVAL = 0.2


@dataclass(frozen=True)
class PoolSettings:
    """How a backend's pool behaves; every field has a setting of the same name.

    Attributes:
        pool_size: connections kept open while idle (at least 1).
        max_overflow: connections opened beyond ``pool_size`` under load;
            closed again when returned to a full pool.
        pool_timeout: seconds a borrower waits for a free connection before
            :class:`PoolTimeoutError`.
        pool_recycle: close connections older than this many seconds when they
            are next returned or borrowed (``None``: never).
        pool_idle_timeout: close connections idle longer than this many
            seconds (``None``: never); the pool shrinks back after a burst.
        pool_pre_ping: check a connection that sat idle longer than this many
            seconds before handing it out (``0`` or ``True``: every time,
            ``None`` or ``False``: never). The check is the backend's cheapest
            reliable one: a look at the socket for PostgreSQL and MySQL (about
            a microsecond, no round trip), none for SQLite. A connection reused
            within the threshold is not checked, which keeps busy loops fast.
        command_timeout: the client-side bound on every call, in seconds
            (``None``: no bound). A call past it is interrupted and its
            connection discarded; see :class:`CommandTimeoutError`.
    """

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: float | None = None
    pool_idle_timeout: float | None = 300.0
    pool_pre_ping: float | None = 0.1
    command_timeout: float | None = 300.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "PoolSettings":
        """Read and check the pool settings in ``options`` (strings from a URL are accepted).

        Raises:
            ConfigurationError: a setting is out of range or not a number.
        """
        defaults = cls()
        size = _integer(options, "pool_size", defaults.pool_size, minimum=1)
        overflow = _integer(options, "max_overflow", defaults.max_overflow, minimum=0)
        timeout = _seconds(options, "pool_timeout", defaults.pool_timeout, allow_none=False)
        if timeout is not None and timeout <= 0:
            raise ConfigurationError(f"pool_timeout must be a positive number of seconds, got {timeout!r}")
        pre_ping = options.get("pool_pre_ping", defaults.pool_pre_ping)
        if isinstance(pre_ping, str) and pre_ping.strip().lower() in ("true", "yes", "on", "false", "no", "off"):
            pre_ping = pre_ping.strip().lower() in ("true", "yes", "on")
        if pre_ping is True:
            pre_ping = 0.0
        elif pre_ping is False:
            pre_ping = None
        command = _seconds(options, "command_timeout", defaults.command_timeout)
        if command == 0:
            command = None
        return cls(
            pool_size=size,
            max_overflow=overflow,
            pool_timeout=float(timeout if timeout is not None else defaults.pool_timeout),
            pool_recycle=_seconds(options, "pool_recycle", defaults.pool_recycle) or None,
            pool_idle_timeout=_seconds(options, "pool_idle_timeout", defaults.pool_idle_timeout) or None,
            pool_pre_ping=_seconds({"pool_pre_ping": pre_ping}, "pool_pre_ping", None),
            command_timeout=command,
        )


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of a pool's counters (``backend.pool.stats()``).

    Attributes:
        size, max_overflow: the settings in force.
        open: connections open now (idle plus checked out).
        checked_out: connections lent out now (to statements or transactions).
        idle: connections waiting in the pool.
        waiting: borrowers waiting for a connection now.
        waits: borrowers so far that had to wait.
        timeouts: borrowers so far that gave up (:class:`PoolTimeoutError`).
        opened, closed: connections opened and closed so far.
        discarded: connections closed because they were broken or their state
            was unknown (a subset of ``closed``).
    """

    size: int
    max_overflow: int
    open: int
    checked_out: int
    idle: int
    waiting: int
    waits: int
    timeouts: int
    opened: int
    closed: int
    discarded: int


class PooledConnection:
    """One driver connection and what the pool knows about it."""

    __slots__ = ("connection", "pool", "created", "last_used", "expires", "generation", "deadline",
                 "interrupted", "broken", "__weakref__")

    def __init__(self, connection: Any, pool: "ConnectionPool | None" = None) -> None:
        self.connection = connection
        self.pool: ConnectionPool = pool  # type: ignore[assignment]  # the pool it returns to
        self.created = self.last_used = _now()
        self.expires = float("inf")
        self.generation = 0
        self.deadline = 0.0  # when the running call must have ended (0: no call running)
        self.interrupted = False  # the watchdog interrupted a call on it
        self.broken = False  # never hand it out again

    def __repr__(self) -> str:
        state = "broken" if self.broken else "ok"
        return f"<PooledConnection {self.connection!r} {state}>"


class ConnectionPool:
    """The connections of one backend.

    Borrow with :meth:`acquire` and give back with :meth:`release`; the
    backend does both around statements and transactions, so applications
    see the pool only through its settings, :meth:`stats` and :meth:`dispose`.
    Idle connections are reused most-recently-returned first, so under light
    load a few stay warm and the rest age out (``pool_idle_timeout``).

    A pool with a ``loop`` lends the connections async code uses on that
    event loop (async drivers are bound to the loop that opened them);
    borrowers from bridges (``a``-methods) wait for a free connection by
    awaiting, never by blocking the loop.
    """

    def __init__(self, backend: "StorageBackend", settings: PoolSettings,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._backend = backend
        self.loop = loop
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = []
        self.settings = settings
        self._size = settings.pool_size
        self._max = settings.pool_size + settings.max_overflow
        self._single = False
        self._fresh_for = _fresh_for(settings)
        self._idle: list[PooledConnection] = []
        self._all: set[PooledConnection] = set()  # every open connection, idle or lent (the watchdog scans it)
        self._abandoned: list[PooledConnection] = []
        self._sweep_after = settings.pool_idle_timeout
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._first_lock = _bridge.HybridLock()
        self._open = 0
        self._waiting = 0
        self._generation = 0
        self._counters = {"waits": 0, "timeouts": 0, "opened": 0, "closed": 0, "discarded": 0}
        _POOLS.add(self)

    # -- borrowing ------------------------------------------------------------

    def acquire(self, timeout: float | None = None, now: float | None = None) -> PooledConnection:
        """Lend a connection: an idle one if it passes its checks, else a new one.

        Waits up to ``timeout`` (default ``pool_timeout``) when every
        connection is lent out and no more may be opened. ``now`` is the
        caller's ``time.perf_counter()``, if it has one.

        Raises:
            PoolTimeoutError: no connection became free in time.
            ConnectionError: a new connection could not be opened.
        """
        try:
            entry = self._idle.pop()
        except IndexError:
            return self._acquire_slow(timeout)
        if now is None:
            now = _now()
        if now - entry.last_used > self._fresh_for or now >= entry.expires \
                or entry.generation != self._generation:
            if not self._still_good(entry):
                return self._acquire_slow(timeout)
        return entry

    def _acquire_slow(self, timeout: float | None) -> PooledConnection:
        if self._backend._capabilities is None:
            # The first connection opens alone: what it detects (an in-memory
            # database that lives in one connection) decides how many may follow.
            with self._first_lock:
                if self._backend._capabilities is None:
                    with self._cond:
                        self._open += 1
                    return self._open_new()
        wait_for = self.settings.pool_timeout if timeout is None else timeout
        deadline = _now() + wait_for
        waited = False
        while True:
            reclaimed: list[PooledConnection] = []
            try:
                with self._cond:
                    self._waiting += 1  # before looking: release() reads it without the lock
                    try:
                        self._reclaim_abandoned(reclaimed)
                        handed: PooledConnection | None = None
                        while not self._idle and self._open >= self._max:
                            remaining = deadline - _now()
                            if remaining <= 0:
                                self._counters["timeouts"] += 1
                                raise PoolTimeoutError(self._timeout_message(wait_for))
                            if not waited:
                                waited = True
                                self._counters["waits"] += 1
                            handed = self._wait(remaining)
                            if handed is not None:
                                break
                            self._reclaim_abandoned(reclaimed)
                        found: PooledConnection | None = handed
                        if found is None:
                            found = self._idle.pop() if self._idle else None
                            if found is None:
                                self._open += 1  # a slot reserved for the connection opened below
                    finally:
                        self._waiting -= 1
            finally:
                for stale in reclaimed:  # closed outside the lock: closing may await
                    self._backend._close_quietly(stale.connection)
            if found is None:
                return self._open_new()
            if handed is not None:  # given back a moment ago and handed straight over
                return handed
            if self._still_good(found):
                return found

    def _wait(self, remaining: float) -> PooledConnection | None:
        """Wait (the lock held) until a connection may be free, or ``remaining`` seconds pass.

        A bridge (async code) waits in line: :meth:`release` hands a returned
        connection to the first waiting task, so a task that gives one back
        and asks again at once cannot overtake the tasks already waiting.
        Returns the connection handed over, or ``None``: look again.
        """
        loop = _bridge.running_loop()
        if loop is None:
            self._cond.wait(remaining)
            return None
        future: asyncio.Future[PooledConnection | None] = loop.create_future()
        waiter = (loop, future)
        self._async_waiters.append(waiter)
        timer = loop.call_later(remaining, _wake, future)
        self._lock.release()  # never held across an await: other greenlets of this thread need it
        try:
            return _bridge.await_(future)
        finally:
            timer.cancel()
            self._lock.acquire()
            if waiter in self._async_waiters:
                self._async_waiters.remove(waiter)

    def _notify(self) -> None:
        """Wake one borrower waiting for a connection (the lock held)."""
        self._cond.notify()
        if self._async_waiters:
            loop, future = self._async_waiters.pop(0)
            _bridge.call_on(loop, _wake, future)  # (a closed loop: nobody waits there any more)

    def _open_new(self) -> PooledConnection:
        """Open a connection into a slot already counted in ``_open``, and lend it."""
        try:
            entry = self._backend._open_pooled(self)
        except BaseException:
            with self._cond:
                self._open -= 1
                self._notify()
            raise
        entry.pool = self
        entry.generation = self._generation
        if self.settings.pool_recycle is not None and not self._single:
            entry.expires = entry.created + self.settings.pool_recycle
        with self._lock:
            self._counters["opened"] += 1
            self._all.add(entry)
        _watchdog_needed(self)
        return entry

    def _still_good(self, entry: PooledConnection) -> bool:
        """Vet an idle connection before lending it; close it if it fails."""
        now = _now()
        if entry.generation != self._generation:
            self._close(entry, discarded=False)
            return False
        if not self._single:
            idle_timeout = self.settings.pool_idle_timeout
            if now >= entry.expires or (idle_timeout is not None and now - entry.last_used > idle_timeout):
                self._close(entry, discarded=False)
                return False
        pre_ping = self.settings.pool_pre_ping
        if pre_ping is not None and now - entry.last_used > pre_ping:
            try:
                alive = self._backend._check_connection(entry.connection)
            except Exception:  # noqa: BLE001 - a check that fails means a bad connection
                logger.debug("connection check failed", exc_info=True)
                alive = False
            if not alive:
                logger.info("%s: discarding a pooled connection that failed its check", self._backend.name)
                self._close(entry, discarded=True)
                return False
        return True

    def release(self, entry: PooledConnection, now: float | None = None) -> None:
        """Take a connection back: keep it idle, or close it if it is broken, old or surplus."""
        if entry.broken or entry.interrupted or entry.generation != self._generation:
            self._close(entry, discarded=entry.broken or entry.interrupted)
            return
        if now is None:
            now = _now()
        entry.last_used = now
        idle = self._idle
        if len(idle) >= self._size or now >= entry.expires:
            self._close(entry, discarded=False)
            return
        if self._async_waiters and self._hand_over(entry):
            return
        idle.append(entry)
        if self._waiting:
            with self._cond:
                self._notify()
        sweep_after = self._sweep_after
        if sweep_after is not None and now - idle[0].last_used > sweep_after and len(idle) > 1:
            self._sweep(now, sweep_after)

    def _hand_over(self, entry: PooledConnection) -> bool:
        """Give ``entry`` to the task that has waited longest; ``False`` if none waits."""
        while True:
            with self._lock:
                if not self._async_waiters:
                    return False
                loop, future = self._async_waiters.pop(0)
            if _bridge.call_on(loop, _deliver, self, future, entry):
                return True  # (else its loop is closed: nobody waits there any more)

    def discard(self, entry: PooledConnection) -> None:
        """Close a lent connection that must never be handed out again."""
        entry.broken = True
        self._close(entry, discarded=True)

    def abandon(self, entry: PooledConnection) -> None:
        """Note a lent connection whose borrower vanished (a thread that ended mid-transaction).

        Safe from a finalizer: the connection is closed by the next borrower.
        """
        entry.broken = True
        self._abandoned.append(entry)

    def _reclaim_abandoned(self, closing: list[PooledConnection]) -> None:
        # called with the lock held; the caller closes what lands in ``closing`` after releasing it
        while self._abandoned:
            entry = self._abandoned.pop()
            self._all.discard(entry)
            self._open -= 1
            self._counters["closed"] += 1
            self._counters["discarded"] += 1
            closing.append(entry)

    def _sweep(self, now: float, idle_timeout: float) -> None:
        """Close idle connections unused for longer than ``pool_idle_timeout`` (oldest first)."""
        stale = []
        with self._lock:
            while len(self._idle) > 1 and now - self._idle[0].last_used > idle_timeout:
                stale.append(self._idle.pop(0))
        for entry in stale:
            self._close(entry, discarded=False)

    def _close(self, entry: PooledConnection, *, discarded: bool) -> None:
        with self._cond:
            self._all.discard(entry)
            self._open -= 1
            self._counters["closed"] += 1
            if discarded:
                self._counters["discarded"] += 1
            self._notify()
        loop = self.loop
        if loop is not None and loop.is_running() and asyncio._get_running_loop() is not loop:
            # another thread's loop: close it on that loop's thread
            loop.call_soon_threadsafe(self._backend._close_quietly, entry.connection)
            return
        self._backend._close_quietly(entry.connection)

    # -- the whole pool -------------------------------------------------------------

    def limit_to_one(self) -> None:
        """Keep exactly one connection, for a database that lives in its connection (``:memory:``).

        That connection is never retired for its age or idleness: closing it
        would lose the database.
        """
        self._single = True
        self._size = self._max = 1
        self._sweep_after = None
        self._fresh_for = float("inf") if self.settings.pool_pre_ping is None else self.settings.pool_pre_ping

    def dispose(self) -> None:
        """Close every idle connection; lent ones are closed when they come back.

        The pool stays usable: the next borrower opens a new connection.
        """
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for entry in idle:
            self._close(entry, discarded=False)

    def is_open(self) -> bool:
        """Whether any connection is open (idle or lent out)."""
        return self._open > 0

    def stats(self) -> PoolStats:
        """Return the current counters."""
        with self._lock:
            counters = dict(self._counters)
            return PoolStats(
                size=self._size, max_overflow=self._max - self._size, open=self._open,
                checked_out=self._open - len(self._idle), idle=len(self._idle), waiting=self._waiting,
                **counters,
            )

    def _timeout_message(self, waited: float) -> str:
        return (
            f"No {self._backend.name} connection became free within {waited:g}s: all {self._open} are "
            f"in use (pool_size={self._size}, max_overflow={self._max - self._size}). Hold "
            "connections for less time (short transactions), or raise pool_size/max_overflow."
        )

    def _forget_after_fork(self) -> None:
        """In a forked child: drop every inherited connection without closing it.

        Closing would end the parent's sessions on the server (PostgreSQL and
        MySQL send a goodbye message over the shared socket), so the objects
        are kept referenced and never used again.
        """
        _ORPHANS.extend(e.connection for e in (*self._all, *self._abandoned))
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._first_lock = _bridge.HybridLock()
        self._async_waiters = []
        self._idle, self._all, self._abandoned = [], set(), []
        self._open = self._waiting = 0
        self._generation += 1
        self._counters = dict.fromkeys(self._counters, 0)

    def __repr__(self) -> str:
        return (f"<ConnectionPool {self._backend.name} open={self._open} idle={len(self._idle)} "
                f"in_use={self._open - len(self._idle)}>")


def _wake(future: "asyncio.Future[Any]") -> None:
    if not future.done():
        future.set_result(None)


def _deliver(pool: ConnectionPool, future: "asyncio.Future[Any]", entry: PooledConnection) -> None:
    """Complete a handover; a waiter that gave up meanwhile (timeout, cancellation) passes it on."""
    if future.done():
        pool.release(entry)
    else:
        future.set_result(entry)


def _fresh_for(settings: PoolSettings) -> float:
    """Seconds of idleness after which a connection is vetted before reuse."""
    limits = [v for v in (settings.pool_pre_ping, settings.pool_idle_timeout) if v is not None]
    return min(limits) if limits else float("inf")


# -- process-wide: the watchdog and fork handling ------------------------------------

_POOLS: "weakref.WeakSet[ConnectionPool]" = weakref.WeakSet()
_ORPHANS: list[Any] = []  # connections inherited across fork(): referenced, never closed
_watchdog: threading.Thread | None = None
_watchdog_lock = threading.Lock()
#: Bumped in a forked child; state tagged with an older value belongs to the parent.
fork_generation = [0]


def _watchdog_needed(pool: ConnectionPool) -> None:
    global _watchdog
    if _watchdog is not None or pool.settings.command_timeout is None:
        return
    with _watchdog_lock:
        if _watchdog is None:
            thread = threading.Thread(target=_watch, name="rhosocial-watchdog", daemon=True)
            _watchdog = thread  # before start(): the thread runs while it is the watchdog
            thread.start()


def _watch() -> None:
    """Interrupt calls that run past their deadline, on every pool in the process."""
    me = threading.current_thread()
    while _watchdog is me:
        time.sleep(WATCHDOG_INTERVAL)
        now = _now()
        for pool in list(_POOLS):
            for entry in tuple(pool._all):
                deadline = entry.deadline
                if deadline and now > deadline and not entry.interrupted:
                    backend = pool._backend
                    # Mark first: the interrupted call fails at once and must see the mark.
                    entry.interrupted = backend.interrupt_drops_connection
                    entry.deadline = 0.0
                    try:
                        backend._interrupt(entry.connection)
                    except Exception:  # noqa: BLE001 - the watchdog must keep running
                        logger.warning("could not interrupt a %s call", backend.name, exc_info=True)


def _after_fork_in_child() -> None:
    global _watchdog, _watchdog_lock
    fork_generation[0] += 1
    _watchdog = None
    _watchdog_lock = threading.Lock()
    for pool in list(_POOLS):
        pool._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- parsing -----------------------------------------------------------------------


def _integer(options: Mapping[str, Any], key: str, default: int, minimum: int) -> int:
    value = options.get(key, default)
    try:
        number = int(value) if not isinstance(value, bool) else None
        if isinstance(value, float) and value != int(value):
            number = None
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise ConfigurationError(f"{key} must be an integer of at least {minimum}, got {value!r}")
    return number


def _seconds(options: Mapping[str, Any], key: str, default: float | None,
             allow_none: bool = True) -> float | None:
    value = options.get(key, default)
    if isinstance(value, str) and value.strip().lower() in ("none", "null", ""):
        value = None
    if value is None:
        if not allow_none:
            raise ConfigurationError(f"{key} must be a number of seconds, got None")
        return None
    try:
        seconds = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or seconds < 0 or seconds != seconds:
        raise ConfigurationError(f"{key} must be a non-negative number of seconds, got {value!r}")
    return seconds


def command_timeout_setting(value: Any) -> float | None:
    """Check a ``command_timeout`` given for one transaction (seconds; ``None`` or 0: no bound)."""
    seconds = _seconds({"command_timeout": value}, "command_timeout", None)
    return seconds or None
