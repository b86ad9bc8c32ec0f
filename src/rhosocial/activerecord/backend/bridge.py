"""How asyncio code runs the one, synchronous, implementation of the ORM without blocking.

Every ``a``-prefixed method (``await Post.afind(1)``) calls :func:`run` with
its synchronous twin. :func:`run` starts that function in a *bridge*
greenlet that shares the calling task's ``contextvars`` context, so the
transaction the task holds is the one the function sees. The function runs
the same code as a synchronous call (compiling, converting parameters and
rows, validation, hooks, relation planning, error translation) until it
reaches I/O. There the async side of the connection calls :func:`await_`,
which hands the awaitable (a driver coroutine, a pool wait) to the task. The
task awaits it, so the event loop serves other tasks meanwhile, and passes
the result back, or throws the exception (a ``CancelledError`` included) in
at that point.

Only the I/O differs between the two worlds, and it lives in the
connection objects the async pool lends: a facade with the driver's
synchronous surface (what the backend's ``_execute`` and friends call) over
an async driver, or :class:`ThreadedConnection`, which runs a synchronous
driver's calls on a thread of their own.

``greenlet`` is needed only for async use (``pip install
"rhosocial-activerecord[async]"``); synchronous code never imports it.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Awaitable, Callable, TypeVar

from .errors import NotSupportedError

try:  # pragma: no branch - the [async] extra
    import greenlet as _greenlet  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - exercised in a subprocess test
    _greenlet = None

T = TypeVar("T")
ASYNC_HINT = 'pip install "rhosocial-activerecord[async]"'

#: Set once a bridge has run: synchronous hot paths skip the greenlet check until then.
ACTIVE = [False]

_FINISHED = object()  # what a bridge hands its task when the function has returned or raised

if _greenlet is not None:
    getcurrent = _greenlet.getcurrent

    class Bridge(_greenlet.greenlet):  # type: ignore[misc, name-defined, unused-ignore]
        """A greenlet running synchronous ORM calls for asyncio tasks, one call at a time.

        Creating a greenlet costs about as much as a database round trip on
        a fast network; switching to one costs under a microsecond. So a
        bridge serves call after call, and :func:`run` keeps the idle ones
        of each thread for reuse.
        """

        loop: asyncio.AbstractEventLoop | None = None
        outcome: tuple[bool, Any] | None = None

        def __init__(self) -> None:
            super().__init__(self._serve)

        def _serve(self, job: Any) -> None:
            while True:
                function, args, kwargs = job
                job = None
                try:
                    self.outcome = (True, function(*args, **kwargs))
                except BaseException as exc:  # noqa: BLE001 - raised in the task by run()
                    self.outcome = (False, exc)
                function = args = kwargs = None
                job = self.parent.switch(_FINISHED)
else:  # pragma: no cover
    def getcurrent() -> Any:
        return None

    class Bridge:  # type: ignore[no-redef]
        loop: asyncio.AbstractEventLoop | None = None


class _Idle(threading.local):
    def __init__(self) -> None:
        self.bridges: list[Any] = []


_idle = _Idle()
_KEEP_IDLE = 32  # bridges kept per thread for reuse


def in_bridge() -> bool:
    """Whether the caller runs inside :func:`run` (an ``a``-method), where I/O must be awaited."""
    return ACTIVE[0] and type(getcurrent()) is Bridge


def current_bridge() -> Bridge | None:
    """The bridge greenlet running now, or ``None``."""
    if not ACTIVE[0]:
        return None
    current = getcurrent()
    return current if type(current) is Bridge else None


def await_(awaitable: Awaitable[T]) -> T:
    """Wait for ``awaitable`` from synchronous code running inside :func:`run`.

    The bridge's task awaits it; the event loop runs other tasks meanwhile.

    Raises:
        RuntimeError: called outside :func:`run` (a bug: I/O of an async
            connection outside an ``a``-method).
    """
    current = getcurrent() if ACTIVE[0] else None
    if type(current) is not Bridge:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RuntimeError("await_() called outside an async ORM call")
    return current.parent.switch(awaitable)  # type: ignore[no-any-return, unused-ignore]


async def run(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the synchronous ``function(*args, **kwargs)`` for the current task and return its value.

    The function shares the task's context (its transaction, its
    ``contextvars``); its I/O is awaited by the task, so the loop is never
    blocked. A cancellation reaches it as ``CancelledError`` at the I/O it
    was waiting on, so its ``finally`` blocks and transaction rollbacks run.

    Raises:
        NotSupportedError: ``greenlet`` is not installed.
    """
    if _greenlet is None:
        raise NotSupportedError(f"Async use needs the greenlet package: {ASYNC_HINT}")
    ACTIVE[0] = True
    here = getcurrent()
    idle = _idle.bridges
    bridge = idle.pop() if idle else Bridge()
    bridge.parent = here
    bridge.gr_context = here.gr_context  # the task's own context, not a copy
    bridge.loop = asyncio.get_running_loop()
    request = bridge.switch((function, args, kwargs))
    while request is not _FINISHED:
        try:
            value = await request
        except BaseException as exc:  # noqa: BLE001 - handed to the synchronous code
            request = bridge.throw(exc)
        else:
            request = bridge.switch(value)
    outcome, bridge.outcome = bridge.outcome, None
    bridge.loop = None
    bridge.gr_context = None
    if len(idle) < _KEEP_IDLE:
        idle.append(bridge)
    assert outcome is not None
    ok, value = outcome
    if ok:
        return value  # type: ignore[no-any-return, unused-ignore]
    raise value


def call_on(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any) -> bool:
    """Schedule ``callback(*args)`` on ``loop`` from any thread; ``False`` if the loop is closed.

    From the loop's own thread it skips the self-pipe write ``call_soon_threadsafe`` makes.
    """
    try:
        if asyncio._get_running_loop() is loop:
            loop.call_soon(callback, *args)
        else:
            loop.call_soon_threadsafe(callback, *args)
        return True
    except RuntimeError:  # the loop is closed
        return False


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the bridge running now (``None`` outside one)."""
    bridge = current_bridge()
    return None if bridge is None else bridge.loop


class HybridLock:
    """A mutex that may be held across I/O by threads and by bridge greenlets alike.

    A ``threading.Lock`` held by a greenlet that then awaits I/O would block
    every other greenlet of its thread (the event loop's). Here a bridge
    that finds the lock taken awaits short sleeps instead of blocking; a
    thread blocks as usual. Used for rare, short exclusive work: opening the
    first connection, learning a table's columns before the first write.
    """

    __slots__ = ("_lock", "_holder")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: Any = None  # the bridge holding it, if a bridge does

    def __enter__(self) -> "HybridLock":
        lock = self._lock
        if lock.acquire(blocking=False):
            self._holder = current_bridge()
            return self
        bridge = current_bridge()
        if bridge is not None:
            pause = 0.0005
            while not lock.acquire(blocking=False):
                await_(asyncio.sleep(pause))
                pause = min(pause * 2, 0.02)
        else:
            holder = self._holder
            if holder is not None and getattr(holder, "loop", None) is not None and \
                    asyncio._get_running_loop() is holder.loop:
                # The holder waits for this thread's event loop, which this call would block.
                raise RuntimeError(
                    "A synchronous ORM call in the event loop's thread needs a lock that an async call "
                    "of the same loop holds while it awaits the database (the first connection, or a "
                    "model's first write): blocking here would hang the loop. Use the a-method "
                    "(await Model.acreate(...)) in async code.")
            lock.acquire()
        self._holder = bridge
        return self

    def __exit__(self, *exc: Any) -> None:
        self._holder = None
        self._lock.release()


# -- a synchronous driver on a thread of its own ------------------------------------------


class _Worker:
    """One daemon thread running one connection's calls in order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            if job is None:
                return
            function, args, done = job
            try:
                value = function(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                done(None, exc)
            else:
                done(value, None)

    def call(self, function: Callable[..., T], *args: Any, interrupt: Callable[[], Any] | None = None) -> T:
        """Run ``function(*args)`` on the worker; awaited inside a bridge, waited for elsewhere."""
        if threading.current_thread() is self.thread:
            return function(*args)
        bridge = current_bridge()
        if bridge is not None and bridge.loop is not None:
            loop = bridge.loop
            future = loop.create_future()

            def done(value: Any, error: BaseException | None) -> None:
                loop.call_soon_threadsafe(_settle, future, value, error)

            self._jobs.put((function, args, done))
            try:
                return await_(future)
            except asyncio.CancelledError:
                if interrupt is not None:
                    interrupt()  # stop the statement; the calls queued after it still run in order
                raise
        box: list[Any] = []
        finished = threading.Event()

        def done_sync(value: Any, error: BaseException | None) -> None:
            box[:] = [value, error]
            finished.set()

        self._jobs.put((function, args, done_sync))
        finished.wait()
        if box[1] is not None:
            raise box[1]
        return box[0]  # type: ignore[no-any-return, unused-ignore]

    def stop(self) -> None:
        self._jobs.put(None)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class ThreadedConnection:
    """A synchronous DB-API connection whose calls run on a thread of their own.

    It has the wrapped connection's surface: a method call runs on the
    connection's thread (awaited from a bridge, so the event loop goes on),
    and returns cursors wrapped the same way; plain attributes are read
    directly. A backend that sets ``async_mode = "thread"`` gets its
    connections for async use wrapped in it, with its synchronous hooks
    unchanged. A cancelled call interrupts the statement when the
    connection has ``interrupt()`` (sqlite3 does).
    """

    _PLAIN = (type(None), bool, int, float, str, bytes, tuple, list, dict)

    def __init__(self, target: Any, worker: _Worker, interrupt: Callable[[], Any] | None = None) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_worker", worker)
        if interrupt is None:
            interrupt = getattr(target, "interrupt", None)
        object.__setattr__(self, "_interrupt", interrupt)

    @classmethod
    def open(cls, connect: Callable[[], Any], name: str) -> "ThreadedConnection":
        """Open a connection with ``connect()`` on a new thread and wrap it."""
        worker = _Worker(name)
        try:
            return cls(worker.call(connect), worker)
        except BaseException:
            worker.stop()
            raise

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or name == "interrupt":  # interrupt(): from any thread, at once
            return value
        worker = self._worker
        interrupt = self._interrupt
        target = self._target

        def call(*args: Any) -> Any:
            result, rows = worker.call(_call_and_fetch, value, args, target, interrupt=interrupt)
            if isinstance(result, ThreadedConnection._PLAIN) or result is target:
                return result
            if rows is not None:
                return _FetchedCursor(result, worker, interrupt, rows)
            return _ThreadedCursor(result, worker, interrupt)

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def close(self) -> None:
        """Close the connection on its thread, then end the thread."""
        try:
            self._worker.call(self._target.close)
        finally:
            self._worker.stop()

    def __repr__(self) -> str:
        return f"<ThreadedConnection {self._target!r}>"


def _call_and_fetch(function: Callable[..., Any], args: tuple[Any, ...], target: Any) -> tuple[Any, Any]:
    """Run a call on the worker; a cursor with a result comes back with its rows read too.

    Reading them in the same trip to the thread halves the trips of a query.
    """
    result = function(*args)
    if result is target or isinstance(result, ThreadedConnection._PLAIN):
        return result, None
    if getattr(result, "description", None) is not None and hasattr(result, "fetchall"):
        return result, result.fetchall()
    return result, None


class _ThreadedCursor(ThreadedConnection):
    """A cursor (or another object a call returned) of a threaded connection.

    Its ``close()`` closes it on the connection's thread and leaves that
    thread running: the thread is the connection's, not the cursor's.
    """

    def close(self) -> None:
        self._worker.call(self._target.close)

    def __repr__(self) -> str:
        return f"<threaded {self._target!r}>"


class _FetchedCursor(_ThreadedCursor):
    """A cursor whose rows were read on the connection's thread with the statement."""

    def __init__(self, target: Any, worker: _Worker, interrupt: Callable[[], Any] | None,
                 rows: list[Any]) -> None:
        super().__init__(target, worker, interrupt)
        object.__setattr__(self, "_rows", rows)

    def fetchall(self) -> list[Any]:
        rows = self._rows
        object.__setattr__(self, "_rows", [])
        return rows

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int = 1) -> list[Any]:
        rows = self._rows
        object.__setattr__(self, "_rows", rows[size:])
        return rows[:size]
