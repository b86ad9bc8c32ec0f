"""What one thread or asyncio task holds on one backend: a connection and its transaction levels.

A backend keeps one :class:`Transaction` per context in a ``ContextVar``, so
transaction state (nesting level, savepoints, isolation, read-only mode,
callbacks to run after commit) belongs to the connection the current thread
or task holds, never to the shared backend object. A state that reaches
another thread or task through a copied context (``asyncio.to_thread``, a
child task) is not theirs: they see no transaction and borrow their own
connection.
"""
from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import random
import threading
import time
from asyncio import current_task as _current_task_of
from asyncio.events import _get_running_loop
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Protocol, TypeVar

from . import bridge as _bridge
from . import pool as _pool
from .errors import (
    ConnectionError,
    DatabaseError,
    DeadlockError,
    NotSupportedError,
    SerializationError,
    TransactionError,
)

if TYPE_CHECKING:
    from .base import StorageBackend
    from .pool import PooledConnection
    from .typing import IsolationLevel

logger = logging.getLogger("rhosocial.activerecord.backend")
_get_ident = threading.get_ident
_FORK = _pool.fork_generation
T = TypeVar("T")


def current_task() -> Any:
    """Return the running asyncio task, or ``None`` outside an event loop."""
    loop = _get_running_loop()
    return None if loop is None else _current_task_of(loop)


class TransactionStatus(enum.Enum):
    """What the server says of a connection's transaction (``StorageBackend._transaction_status``)."""

    IDLE = "idle"  # no transaction open
    ACTIVE = "active"  # a transaction is open and usable
    FAILED = "failed"  # open, but an error aborted it: only a rollback (to a savepoint) helps


class Participant(Protocol):
    """Something that must learn how a transaction it took part in ended (a saved record)."""

    def _transaction_committed(self) -> None:
        """The outermost transaction committed."""

    def _transaction_rolled_back(self, state: Any) -> None:
        """The level it was enlisted in rolled back; ``state`` is what it gave at enlistment."""


class _Callback:
    """A plain callable run when a transaction commits (or rolls back)."""

    __slots__ = ("function", "on_commit")

    def __init__(self, function: Callable[[], Any], on_commit: bool) -> None:
        self.function = function
        self.on_commit = on_commit

    def _transaction_committed(self) -> None:
        if self.on_commit:
            self.function()

    def _transaction_rolled_back(self, state: Any) -> None:
        if not self.on_commit:
            self.function()


class Frame:
    """One transaction level: the outermost transaction or a savepoint.

    ``opened`` turns true when its BEGIN or SAVEPOINT has been sent: that
    happens just before the first statement inside it, so a block that runs
    no statement costs no round trip.
    """

    __slots__ = ("savepoint", "participants", "opened")

    def __init__(self, savepoint: str | None) -> None:
        self.savepoint = savepoint
        self.opened = False
        # key -> (participant, state, tell it of the commit); the first enlistment of a key
        # wins (its state is the oldest)
        self.participants: dict[Any, tuple[Any, Any, bool]] = {}

    def absorb(self, inner: "Frame") -> None:
        """Take over a released savepoint's participants (keeping this level's own, older states)."""
        mine = self.participants
        for key, value in inner.participants.items():
            if key not in mine:
                mine[key] = value

    def rolled_back(self) -> None:
        """Tell participants, newest first, that this level was undone."""
        for participant, state, _ in reversed(list(self.participants.values())):
            try:
                participant._transaction_rolled_back(state)
            except Exception:  # noqa: BLE001 - one failing callback must not hide the others
                logger.exception("error in a rollback callback")

    def committed(self) -> None:
        """Tell participants, oldest first, that the transaction committed."""
        for participant, _state, notify in self.participants.values():
            if not notify:
                continue
            try:
                participant._transaction_committed()
            except Exception:  # noqa: BLE001 - the data is committed; report and go on
                logger.exception("error in an after-commit callback (the transaction was committed)")


class Transaction:
    """This context's hold on one backend: a pooled connection and the transaction levels on it.

    Get it with ``backend.current_transaction()`` (``None`` outside a
    transaction). Applications use :meth:`on_commit`, :meth:`on_rollback`
    and :meth:`set_rollback_only`; the backend manages the rest.

    Attributes:
        level: how deeply transactions are nested (1: the outermost only).
        isolation_level, read_only: how the outermost transaction was opened.
        command_timeout: the client-side bound on each call in it (seconds or ``None``).
        statements: statements run successfully on this connection while
            held; a block that must be atomic compares it before and after.
    """

    __slots__ = ("backend", "entry", "thread", "task", "fork", "frames", "pins", "lost",
                 "doomed", "doomed_level", "isolation_level", "read_only", "command_timeout",
                 "statements", "pending", "begin_options", "__weakref__")

    def __init__(self, backend: "StorageBackend", entry: "PooledConnection | None",
                 command_timeout: float | None) -> None:
        self.backend = backend
        self.entry = entry
        self.thread = _get_ident()
        self.task = current_task()
        self.fork = _pool.fork_generation[0]
        self.frames: list[Frame] = []
        self.pins = 0  # ``backend.connection()`` blocks holding the connection
        self.lost: BaseException | None = None  # the transaction is gone on the server
        self.doomed: BaseException | None = None  # a partial write failed: may only roll back
        self.doomed_level = 0
        self.isolation_level: "IsolationLevel | None" = None
        self.read_only = False
        self.command_timeout = command_timeout
        self.statements = 0
        self.pending = False  # a level's BEGIN/SAVEPOINT waits for the first statement
        self.begin_options: dict[str, Any] = {}

    def owned(self) -> bool:
        """Whether the current thread or task is the one that holds this connection."""
        if self.thread != _get_ident() or self.fork != _FORK[0]:
            return False
        task = self.task
        if task is None and _get_running_loop() is None:
            return True  # plain threads: the common case
        return task is current_task()

    @property
    def connection(self) -> Any:
        """The driver connection held."""
        assert self.entry is not None, "this hold has ended"
        return self.entry.connection

    @property
    def level(self) -> int:
        """How deeply transactions are nested (0 once the transaction has ended)."""
        return len(self.frames)

    # -- callbacks -----------------------------------------------------------------

    def on_commit(self, function: Callable[[], Any]) -> None:
        """Run ``function()`` once the outermost transaction commits; never after a rollback.

        Registered inside a savepoint that rolls back, it is dropped with it.
        An exception it raises is logged; the committed data stays.
        """
        callback = _Callback(function, on_commit=True)
        self._current_frame().participants[callback] = (callback, None, True)

    def on_rollback(self, function: Callable[[], Any]) -> None:
        """Run ``function()`` if the current level (or one around it) rolls back."""
        callback = _Callback(function, on_commit=False)
        self._current_frame().participants[callback] = (callback, None, False)

    def enlist(self, key: Any, participant: Any, state: Any, on_commit: bool = True) -> None:
        """Tell ``participant`` if this transaction rolls back (and, with ``on_commit``, when it commits).

        The first ``state`` per ``key`` and level is kept: it is the oldest.
        """
        participants = self.frames[-1].participants if self.frames else self._current_frame().participants
        if key not in participants:
            participants[key] = (participant, state, on_commit)

    def set_rollback_only(self, cause: BaseException | None = None) -> None:
        """Forbid committing the current level: it may only be rolled back.

        Used when part of an atomic operation ran before it failed: committing
        would save half of it. Rolling back this level (a savepoint, or the
        whole transaction) lifts the mark.
        """
        if self.doomed is None:
            self.doomed = cause or _MarkedRollbackOnly("the transaction was marked rollback-only")
            self.doomed_level = len(self.frames)

    @property
    def is_rollback_only(self) -> bool:
        """Whether this transaction can no longer commit."""
        return self.doomed is not None or self.lost is not None

    def _current_frame(self) -> Frame:
        if not self.frames:
            raise TransactionError("No transaction is open")
        return self.frames[-1]

    # -- the backend's bookkeeping -----------------------------------------------------

    def refusal(self, what: str) -> TransactionError | None:
        """Return the error for running ``what`` now, or ``None`` if it may run."""
        if self.lost is not None:
            return TransactionError(
                f"Cannot run {what}: this transaction is gone ({type(self.lost).__name__}: "
                f"{_first_line(self.lost)}); nothing in it was saved. Roll it back (leave the "
                "transaction block) and run it again.", original=self.lost)
        if isinstance(self.doomed, _MarkedRollbackOnly):
            return TransactionError(
                f"Cannot run {what}: this transaction was marked rollback-only "
                "(set_rollback_only()); it can only be rolled back.")
        if self.doomed is not None:
            return TransactionError(
                f"Cannot run {what}: an earlier operation in this transaction failed after writing "
                f"part of its changes ({type(self.doomed).__name__}: {_first_line(self.doomed)}), so "
                "it can only be rolled back. To carry on after such a failure, run that operation in "
                "a nested transaction (a savepoint).", original=self.doomed)
        return None

    def after_level_rolled_back(self) -> None:
        """Lift a rollback-only mark once the level it was set on is undone."""
        if self.doomed is not None and self.doomed_level > len(self.frames):
            self.doomed = None
            self.doomed_level = 0

    def __del__(self) -> None:
        # A thread that ended while holding a connection: give the pool its slot back.
        entry = self.entry
        if entry is not None and (self.frames or self.pins) and self.fork == _pool.fork_generation[0]:
            try:
                entry.pool.abandon(entry)
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                pass

    def __repr__(self) -> str:
        return f"<Transaction {self.backend.name} level={len(self.frames)} pins={self.pins}>"


class _MarkedRollbackOnly(TransactionError):
    """The cause recorded by ``set_rollback_only()`` called without one."""


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0]


class TransactionMethods:
    """The transaction half of :class:`~rhosocial.activerecord.backend.base.StorageBackend`.

    Every method acts on the current thread's or task's own transaction.
    Nested levels are savepoints on the same connection. Records and
    callbacks enlisted in a level learn how it ended: a rolled-back level
    restores the records it wrote and drops its after-commit callbacks; the
    outermost commit runs them.
    """

    if TYPE_CHECKING:
        name: ClassVar[str]
        _pool: Any
        _state: Any
        _command_timeout: float | None

        @property
        def capabilities(self) -> Any: ...
        @property
        def dialect(self) -> Any: ...
        def _owned(self) -> Transaction | None: ...
        def _lender(self) -> Any: ...
        def _let_go(self, state: Transaction) -> None: ...
        def _run_internal(self, sql: str) -> Any: ...
        def _translate_errors(self, sql: str | None = None, params: Any = None) -> Any: ...
        def _transaction_status(self, connection: Any) -> TransactionStatus | None: ...
        def _begin(self, isolation_level: Any, read_only: bool, **options: Any) -> None: ...
        def _commit(self) -> None: ...
        def _rollback(self) -> None: ...
        def _after_transaction(self) -> None: ...

    @property
    def in_transaction(self) -> bool:
        """Whether this thread or task has a transaction open on this backend."""
        state = self._owned()
        return state is not None and bool(state.frames)

    @property
    def transaction_level(self) -> int:
        """How deeply this context's transactions are nested (0: none)."""
        state = self._owned()
        return 0 if state is None else len(state.frames)

    @property
    def _transaction_level(self) -> int:
        """The guide's name for :attr:`transaction_level`."""
        return self.transaction_level

    @property
    def _savepoints(self) -> list[str]:
        """Names of this context's open savepoints, outermost first."""
        state = self._owned()
        return [] if state is None else [f.savepoint for f in state.frames[1:] if f.savepoint]

    def current_transaction(self) -> Transaction | None:
        """Return this context's open transaction (for ``on_commit`` and friends), or ``None``."""
        state = self._state.get()
        if state is not None and state.frames and (
                state.thread == _get_ident() and state.fork == _FORK[0] and state.task is None
                and _get_running_loop() is None or state.owned()):
            return state
        return None

    def on_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` after the current transaction commits; at once outside a transaction.

        Never runs after a rollback (a callback registered in a savepoint
        that rolls back is dropped); an exception it raises is logged.
        """
        transaction = self.current_transaction()
        if transaction is None:
            try:
                callback()
            except Exception:  # noqa: BLE001 - the write before it is committed: report and go on
                logger.exception("error in an on_commit callback (run at once: no transaction was open)")
        else:
            transaction.on_commit(callback)

    def begin_transaction(
        self, isolation_level: "IsolationLevel | str | None" = None, read_only: bool = False,
        **options: Any,
    ) -> None:
        """Open a transaction, or a savepoint when this context already has one open.

        Args:
            isolation_level: an :class:`IsolationLevel` or its name; only the
                outermost level may set it.
            read_only: open a read-only transaction (outermost level only).
            **options: ``command_timeout`` (seconds, ``None`` for no bound)
                overrides the backend's for this transaction; the rest go to
                the backend (``lock_timeout`` on PostgreSQL, ``mode`` on SQLite).

        Raises:
            IsolationLevelError: the level is not a known isolation level.
            NotSupportedError: the backend does not offer the level, read-only
                transactions or savepoints.
            TransactionError: options were given for a nested level, or the
                open transaction may only roll back.
            PoolTimeoutError: no connection became free in time.
        """
        from .typing import IsolationLevel

        level = IsolationLevel.parse(isolation_level) if isolation_level is not None else None
        state = self._owned()
        if state is None or not state.frames:
            timeout = self._command_timeout
            if "command_timeout" in options:
                timeout = _pool.command_timeout_setting(options.pop("command_timeout"))
            caps = self.capabilities
            if level is not None and level not in caps.isolation_levels:
                raise NotSupportedError(f"{self.name} does not support isolation level {level.name}")
            if read_only and not caps.supports_read_only_transactions:
                raise NotSupportedError(f"{self.name} does not support read-only transactions")
            if state is None:
                state = Transaction(self, self._lender().acquire(), timeout)  # type: ignore[arg-type]
                self._state.set(state)
            state.command_timeout = timeout
            state.isolation_level, state.read_only = level, read_only
            state.lost = state.doomed = None
            state.begin_options = options
            state.frames.append(Frame(None))
            state.pending = True
            if options:  # backend options are checked by _begin: fail now, not at the first statement
                try:
                    self._open_pending(state)
                except BaseException:
                    state.frames.clear()
                    state.read_only = False
                    state.pending = False
                    if state.pins == 0:
                        self._let_go(state)
                    raise
            return
        if level is not None or read_only or options:
            raise TransactionError(
                "Isolation level, read-only mode and options can only be set on the outermost transaction"
            )
        if not self.capabilities.supports_savepoints:
            raise NotSupportedError(f"{self.name} does not support nested transactions (savepoints)")
        refusal = state.refusal("a nested transaction")
        if refusal is not None:
            raise refusal
        state.frames.append(Frame(f"sp_{len(state.frames)}"))
        state.pending = True

    def _open_pending(self, state: Transaction) -> None:
        """Send the BEGIN and SAVEPOINTs of levels opened since the last statement."""
        state.pending = False
        for index, frame in enumerate(state.frames):
            if frame.opened:
                continue
            try:
                if index == 0:
                    self._begin(state.isolation_level, state.read_only, **state.begin_options)
                else:
                    self._run_internal(self.dialect.savepoint_sql(frame.savepoint))
            except BaseException:
                state.pending = True
                raise
            frame.opened = True

    def commit_transaction(self) -> None:
        """Commit the innermost level: release its savepoint, or commit the transaction.

        Raises:
            TransactionError: no transaction is open, or it may only roll back
                (then it is rolled back, and the records it wrote restored).
            DatabaseError: COMMIT failed; the transaction was rolled back.
        """
        state = self._owned()
        if state is None or not state.frames:
            raise TransactionError("commit_transaction() called with no transaction open")
        if len(state.frames) > 1:
            refusal = state.refusal("a savepoint release")
            if refusal is not None:
                self._undo_level(state, quiet=True)
                raise refusal
            frame = state.frames[-1]
            if frame.opened:
                try:
                    self._run_internal(self.dialect.release_savepoint_sql(frame.savepoint))
                except DatabaseError:
                    self._undo_level(state, quiet=True)
                    raise
            state.frames.pop()
            state.frames[-1].absorb(frame)
            return
        if not state.frames[0].opened:  # nothing ran in it: nothing to commit
            frame = state.frames.pop()
            self._finish(state, opened=False)
            frame.committed()
            return
        refusal = state.refusal("COMMIT")
        if refusal is None and self._transaction_status(state.connection) is TransactionStatus.FAILED:
            refusal = TransactionError(
                "Cannot COMMIT: a statement in this transaction failed, so the database aborted "
                "the transaction and nothing in it was saved; it was rolled back. To carry on after "
                "a failing statement, run it in a nested transaction (a savepoint)."
            )
        if refusal is not None:
            self._undo_outermost(state, quiet=True)
            raise refusal
        try:
            with self._translate_errors("COMMIT"):
                self._commit()
        except DatabaseError as exc:
            if isinstance(exc, ConnectionError) and state.entry is not None:
                state.entry.broken = True
                exc.message = (f"{exc.message} (the connection broke during COMMIT: the transaction "
                               "may or may not have been committed)")
                exc.args = (exc.message,)
            self._undo_outermost(state, quiet=True)
            raise
        frame = state.frames.pop()
        self._finish(state, opened=True)
        frame.committed()

    def rollback_transaction(self) -> None:
        """Undo the innermost level: roll back to its savepoint, or roll back the transaction.

        Records written in the undone level return to their earlier state.

        Raises:
            TransactionError: no transaction is open.
        """
        state = self._owned()
        if state is None or not state.frames:
            raise TransactionError("rollback_transaction() called with no transaction open")
        if len(state.frames) > 1:
            self._undo_level(state)
        else:
            self._undo_outermost(state)

    def _undo_level(self, state: Transaction, quiet: bool = False) -> None:
        """Roll back to the innermost savepoint and tell its participants."""
        frame = state.frames[-1]
        error: DatabaseError | None = None
        if frame.opened and state.lost is None and state.entry is not None and not state.entry.broken:
            try:
                self._run_internal(self.dialect.rollback_to_savepoint_sql(frame.savepoint))
                self._run_internal(self.dialect.release_savepoint_sql(frame.savepoint))
            except DatabaseError as exc:
                error = exc
        state.frames.pop()
        state.after_level_rolled_back()
        if error is not None:
            # The savepoint's writes may still be in the transaction: it must not commit them.
            state.set_rollback_only(error)
        frame.rolled_back()
        if error is not None and not quiet:
            raise error

    def _undo_outermost(self, state: Transaction, quiet: bool = False) -> None:
        """Roll the transaction back, end it, and tell every level's participants."""
        error: DatabaseError | None = None
        entry = state.entry
        opened = state.frames[0].opened
        if opened and entry is not None and not entry.broken:
            try:
                with self._translate_errors("ROLLBACK"):
                    self._rollback()
            except DatabaseError as exc:
                error = exc
                entry.broken = True
        frames = list(state.frames)
        self._finish(state, opened)
        for frame in reversed(frames):
            frame.rolled_back()
        if error is not None and not quiet:
            raise error

    def _finish(self, state: Transaction, opened: bool) -> None:
        """The outermost transaction ended: restore the session and give the connection back.

        ``opened``: whether its BEGIN was sent (else no session state changed).
        """
        state.frames.clear()
        state.pending = False
        state.begin_options = {}
        entry = state.entry
        if opened and entry is not None and not entry.broken:
            try:
                self._after_transaction()
            except DatabaseError:
                entry.broken = True  # session state unknown: do not lend it again
        state.read_only = False
        state.isolation_level = None
        state.lost = state.doomed = None
        state.command_timeout = self._command_timeout
        if state.pins == 0:
            self._let_go(state)

    @contextmanager
    def transaction(
        self, isolation_level: "IsolationLevel | str | None" = None, read_only: bool = False,
        *, savepoint: bool = True, **options: Any,
    ) -> Iterator[Any]:
        """Run the block in a transaction: commit on success, roll back on exception.

        Nested blocks become savepoints, so an inner failure undoes only the
        inner block when the outer block catches it. With ``savepoint=False``
        a nested block joins the enclosing transaction instead (no SQL); if it
        fails after running a statement, the enclosing transaction may only
        roll back, so half of the block can never be committed.
        """
        if not savepoint:
            joined = self.current_transaction()
            if joined is not None:
                if isolation_level is not None or read_only or options:
                    raise TransactionError("A joined block (savepoint=False) takes no transaction options")
                mark = joined.statements
                try:
                    yield self
                except BaseException as exc:
                    if joined.statements != mark:
                        joined.set_rollback_only(exc)
                    raise
                return
        self.begin_transaction(isolation_level, read_only, **options)
        state = self._owned()
        assert state is not None
        depth = len(state.frames)
        try:
            yield self
        except BaseException:
            if len(state.frames) >= depth and state is self._owned():
                try:
                    while len(state.frames) > depth:
                        self.rollback_transaction()
                    self.rollback_transaction()
                except DatabaseError:
                    logger.warning("rollback after an error failed", exc_info=True)
            raise
        else:
            if len(state.frames) != depth:
                # Undo the block rather than leave a transaction (and its locks) open.
                while len(state.frames) >= depth:
                    self.rollback_transaction()
                raise TransactionError("Transaction levels were left unbalanced inside the block")
            self.commit_transaction()

    def run_in_transaction(
        self, fn: Callable[[], T], *, retries: int = 3,
        isolation_level: "IsolationLevel | str | None" = None, read_only: bool = False,
        retry_on: tuple[type[BaseException], ...] | None = None, backoff: float = 0.02,
        max_backoff: float = 1.0, **options: Any,
    ) -> T:
        """Run ``fn()`` in a transaction and return its result; re-run it when a concurrent one wins.

        A :class:`SerializationError` or :class:`DeadlockError` (or what
        ``retry_on`` names) rolls the attempt back and runs ``fn`` again, up to
        ``retries`` more times, after a random pause of up to
        ``backoff * 2**attempt`` seconds (at most ``max_backoff``). After the
        last attempt the error is raised.

        Raises:
            TransactionError: a transaction is already open here (a retry could
                not re-run the work before it).
        """
        retry = _Retries(self, retries, retry_on, backoff, max_backoff)
        while True:
            try:
                with self.transaction(isolation_level, read_only, **options):
                    return fn()
            except Exception as exc:
                time.sleep(retry.pause_after(exc))

    # -- the async side -----------------------------------------------------------------

    def atransaction(
        self, isolation_level: "IsolationLevel | str | None" = None, read_only: bool = False,
        *, savepoint: bool = True, **options: Any,
    ) -> "AsyncTransactionBlock":
        """``async with backend.atransaction():`` the async form of :meth:`transaction`.

        Same rules: nested blocks are savepoints, commit on success, roll back
        on an exception, a cancellation included (the task's own, or a
        timeout's).
        """
        return AsyncTransactionBlock(self.transaction(isolation_level, read_only, savepoint=savepoint, **options))

    async def abegin_transaction(
        self, isolation_level: "IsolationLevel | str | None" = None, read_only: bool = False,
        **options: Any,
    ) -> None:
        """:meth:`begin_transaction` for async code."""
        await _bridge.run(self.begin_transaction, isolation_level, read_only, **options)

    async def acommit_transaction(self) -> None:
        """:meth:`commit_transaction` for async code."""
        await _bridge.run(self.commit_transaction)

    async def arollback_transaction(self) -> None:
        """:meth:`rollback_transaction` for async code."""
        await _bridge.run(self.rollback_transaction)

    async def arun_in_transaction(
        self, fn: Callable[[], Any], *, retries: int = 3,
        isolation_level: "IsolationLevel | str | None" = None, read_only: bool = False,
        retry_on: tuple[type[BaseException], ...] | None = None, backoff: float = 0.02,
        max_backoff: float = 1.0, **options: Any,
    ) -> Any:
        """:meth:`run_in_transaction` for async code: ``fn`` may be plain or ``async def``.

        The pause between attempts is awaited, so the loop serves other tasks.
        """
        retry = _Retries(self, retries, retry_on, backoff, max_backoff)
        while True:
            try:
                async with self.atransaction(isolation_level, read_only, **options):
                    result = fn()
                    if inspect.isawaitable(result):
                        result = await result
                    return result
            except Exception as exc:
                await asyncio.sleep(retry.pause_after(exc))


class AsyncTransactionBlock:
    """``async with backend.atransaction():``: the synchronous block's enter and exit, awaited."""

    __slots__ = ("_block",)

    def __init__(self, block: Any) -> None:
        self._block = block

    async def __aenter__(self) -> Any:
        return await _bridge.run(self._block.__enter__)

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> bool:
        return bool(await _bridge.run(self._block.__exit__, kind, error, trace))


class _Retries:
    """When ``run_in_transaction`` (sync or async) runs ``fn`` again, and after what pause."""

    __slots__ = ("backend", "retries", "retryable", "backoff", "max_backoff", "attempt")

    def __init__(self, backend: Any, retries: int, retry_on: tuple[type[BaseException], ...] | None,
                 backoff: float, max_backoff: float) -> None:
        if backend.in_transaction:
            raise TransactionError(
                "run_in_transaction() cannot retry inside an open transaction: a retry would "
                "have to re-run the work done before it too. Call it outside any transaction."
            )
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
        self.backend = backend
        self.retries = retries
        self.retryable = tuple(retry_on) if retry_on is not None else (SerializationError, DeadlockError)
        self.backoff, self.max_backoff = backoff, max_backoff
        self.attempt = 0

    def pause_after(self, error: Exception) -> float:
        """Return the pause before the next attempt, or raise ``error`` if there is none."""
        if self.attempt >= self.retries or not _retryable(error, self.retryable):
            raise error
        self.attempt += 1
        pause = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** self.attempt))
        logger.info("%s: retrying a transaction (attempt %d of %d) after %s; pausing %.3fs",
                    self.backend.name, self.attempt + 1, self.retries + 1, type(error).__name__, pause)
        return pause


def _retryable(error: BaseException, classes: tuple[type[BaseException], ...]) -> bool:
    """Whether ``error`` (or what made the transaction roll back) is one to retry."""
    if isinstance(error, classes):
        return True
    cause = getattr(error, "original", None)
    return isinstance(error, TransactionError) and isinstance(cause, classes)
