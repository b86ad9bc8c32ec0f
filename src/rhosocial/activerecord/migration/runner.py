"""Running migrations: the history table, the lock, one transaction per migration or a record per operation.

:class:`Migrator` applies the pending migrations of a directory in order and
rolls them back. Where DDL is transactional (PostgreSQL, SQLite) each
migration runs in one transaction with its history row, so it happens whole
or not at all. Where it is not (MySQL/MariaDB commit every DDL statement),
or for a migration that cannot run in a transaction (``atomic = False``, an
index built ``concurrently``), the history row is written first as
incomplete and updated after every operation, so a failure reports exactly
which operations ran, and the next ``migrate`` resumes after them.

Two processes that migrate at once take turns: the run holds the
migration lock (PostgreSQL advisory lock, MySQL ``GET_LOCK``), and on SQLite
each migration (or step) is an exclusive transaction, begun again while
another run holds the database. Either way the history is read again under
the lock, so each migration runs once.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..backend.alter import MIGRATION_LOCK, MigrationLockTimeout
from ..backend.errors import DatabaseError, LockTimeoutError
from ..backend.typing import ColumnDef, DatabaseType
from .files import Migration, MigrationError, load_directory
from .lint import Finding, lint_migration
from .operations import reverse_all

if TYPE_CHECKING:
    from ..backend.base import StorageBackend

HISTORY_TABLE = "rhosocial_migrations"
ROLLED_BACK = "It was rolled back whole: the schema and the history are as before it"


class IrreversibleMigrationError(MigrationError):
    """A migration has an operation that cannot be undone and no ``down()``."""


class LintError(MigrationError):
    """``strict`` lint found risky operations; nothing was run."""

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings


@dataclass
class Applied:
    """One row of the history table."""

    id: str
    applied_at: str
    operations_done: int
    operations_total: int
    complete: bool


@dataclass
class MigrationState:
    """A migration of the directory and where it stands (``applied``, ``pending`` or ``partial``)."""

    migration: Migration
    state: str
    operations_done: int = 0


class Migrator:
    """Apply and roll back the migrations in ``directory`` on ``backend``.

    ``out`` receives progress lines (default: standard output);
    ``lock_timeout`` bounds the wait for another process's run (``None``: wait).
    """

    def __init__(self, backend: "StorageBackend", directory: str | Path = "migrations",
                 out: Callable[[str], Any] | None = None, lock_timeout: float | None = None,
                 models: Sequence[type] = ()) -> None:
        self.backend = backend
        self.directory = Path(directory)
        self.out = out if out is not None else (lambda line: print(line, file=sys.stdout, flush=True))
        self.lock_timeout = lock_timeout
        self.models = list(models)
        self._held = False  # whether the run holds a session lock (else each step's transaction is the lock)
        self._entered = False  # whether the current step got past BEGIN (see _turns)
        self._deadline: float | None = None  # when waiting for turns gives up (lock_timeout from the call)
        self._loaded: list[Migration] | None = None  # the files, during one call

    # -- reading -------------------------------------------------------------------

    def migrations(self) -> list[Migration]:
        """The directory's migrations in history order (loaded once per ``migrate``/``rollback`` call)."""
        if self._loaded is not None:
            return self._loaded
        return load_directory(self.directory)

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        """One ``migrate``/``rollback`` call: its files loaded once, its wait bounded from its start."""
        self._deadline = None if self.lock_timeout is None else time.monotonic() + self.lock_timeout
        self._loaded = load_directory(self.directory)
        try:
            yield
        finally:
            self._loaded = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the migration lock (``_held``: whether it is a session lock) for the block."""
        with self.backend.migration_lock(MIGRATION_LOCK, self.lock_timeout) as held:
            self._held = held
            try:
                yield
            finally:
                self._held = False

    def history(self) -> dict[str, Applied]:
        """The history table's rows by id (empty when the table does not exist yet)."""
        b = self.backend
        if not b.table_exists(HISTORY_TABLE):
            return {}
        q = b.dialect.quote_identifier
        rows = b.execute(f"SELECT {q('id')}, {q('applied_at')}, {q('operations_done')}, {q('operations_total')}, "
                         f"{q('complete')} FROM {q(HISTORY_TABLE)}").rows
        return {r[0]: Applied(r[0], str(r[1]), int(r[2]), int(r[3]), bool(r[4])) for r in rows}

    def status(self) -> list[MigrationState]:
        """Every migration of the directory with its state, in order.

        Raises:
            MigrationError: the history names a migration the directory lacks.
        """
        migrations = self.migrations()
        history = self.history()
        missing = sorted(set(history) - {m.id for m in migrations})
        if missing:
            raise MigrationError(f"The database ran migrations that are not in {self.directory}: {', '.join(missing)}")
        states = []
        for m in migrations:
            row = history.get(m.id)
            if row is None:
                states.append(MigrationState(m, "pending"))
            else:
                states.append(MigrationState(m, "applied" if row.complete else "partial", row.operations_done))
        return states

    def pending(self) -> list[Migration]:
        """The migrations not (completely) applied, in order."""
        return [s.migration for s in self.status() if s.state != "applied"]

    def lint(self, migrations: Sequence[Migration] | None = None) -> list[Finding]:
        """Risky operations in ``migrations`` (default: the pending ones)."""
        found: list[Finding] = []
        for m in self.pending() if migrations is None else migrations:
            found.extend(lint_migration(m, self.backend, self.models))
        return found

    # -- running ------------------------------------------------------------------

    def migrate(self, target: str | None = None, strict: bool = False) -> list[str]:
        """Apply the pending migrations up to ``target`` (an id, or its number; default: all); return their ids.

        Raises:
            LintError: ``strict`` and a pending migration has a risky operation (nothing ran).
            MigrationError: a migration failed; the message says what ran.
            MigrationLockTimeout: another run held the lock past ``lock_timeout``.
        """
        with self._call():
            plan = self._turns(lambda: self._plan_to(target))
            findings = self._turns(lambda: self.lint(plan))
            for finding in findings:
                self.out(f"{'error' if strict else 'warning'}: {finding}")
            if strict and findings:
                raise LintError(f"{len(findings)} risky operation(s) found; nothing was run (strict)", findings)
            if not plan:
                self.out("No migrations to apply.")
                return []
            done: list[str] = []
            with self._locked():
                self._turns(self._ensure_history)
                # Planned again under the lock: another run may have migrated or rolled back meanwhile.
                for migration in self._turns(lambda: self._plan_to(target)):
                    if self._apply(migration):
                        done.append(migration.id)
            return done

    def rollback(self, steps: int = 1) -> list[str]:
        """Undo the last ``steps`` applied migrations (a partial one counts), newest first; return their ids.

        Raises:
            IrreversibleMigrationError: one of them cannot be undone (checked before anything runs).
        """
        with self._call(), self._locked():
            states = self._turns(lambda: [s for s in self.status() if s.state != "pending"])
            chosen = list(reversed(states))[:max(steps, 0)]
            plans = [(s, self._undo_plan(s)) for s in chosen]
            undone = [s.migration.id for s, plan in plans if self._unapply(s, plan)]
            if not undone:
                self.out("No migrations to roll back.")
            return undone

    # -- internals ----------------------------------------------------------------

    def _plan_to(self, target: str | None) -> list[Migration]:
        pending = self.pending()
        if target is None:
            return pending
        ids = [m.id for m in self.migrations()]
        match = [i for i in ids if i == target or i.split("_", 1)[0].lstrip("0") == target.lstrip("0")]
        if not match:
            raise MigrationError(f"No migration {target!r} in {self.directory}")
        last = ids.index(match[0])
        return [m for m in pending if ids.index(m.id) <= last]

    def _ensure_history(self) -> None:
        b = self.backend
        if b.table_exists(HISTORY_TABLE):
            return
        b.create_table(HISTORY_TABLE, [
            ColumnDef("id", DatabaseType.VARCHAR, length=255, primary_key=True),
            ColumnDef("applied_at", DatabaseType.VARCHAR, length=32, nullable=False),
            ColumnDef("operations_done", DatabaseType.INTEGER, nullable=False),
            ColumnDef("operations_total", DatabaseType.INTEGER, nullable=False),
            ColumnDef("complete", DatabaseType.INTEGER, nullable=False),
        ], if_not_exists=True)

    def _row(self, migration_id: str) -> Applied | None:
        b = self.backend
        q, ph = b.dialect.quote_identifier, b.dialect.placeholder
        rows = b.execute(f"SELECT {q('operations_done')}, {q('operations_total')}, {q('complete')}, "
                         f"{q('applied_at')} FROM {q(HISTORY_TABLE)} WHERE {q('id')} = {ph(1)}",
                         (migration_id,)).rows
        if not rows:
            return None
        done, total, complete, at = rows[0]
        return Applied(migration_id, str(at), int(done), int(total), bool(complete))

    def _record(self, migration: Migration, done: int, complete: bool, insert: bool) -> None:
        b = self.backend
        q, ph = b.dialect.quote_identifier, b.dialect.placeholder
        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        if insert:
            b.execute(f"INSERT INTO {q(HISTORY_TABLE)} ({q('id')}, {q('applied_at')}, {q('operations_done')}, "
                      f"{q('operations_total')}, {q('complete')}) VALUES ({ph(1)}, {ph(2)}, {ph(3)}, {ph(4)}, {ph(5)})",
                      (migration.id, now, done, len(migration.operations), int(complete)))
        else:
            result = b.execute(
                f"UPDATE {q(HISTORY_TABLE)} SET {q('applied_at')} = {ph(1)}, {q('operations_done')} = {ph(2)}, "
                f"{q('complete')} = {ph(3)}, {q('operations_total')} = {ph(4)} WHERE {q('id')} = {ph(5)}",
                (now, done, int(complete), len(migration.operations), migration.id))
            if result.affected_rows != 1:
                raise MigrationError(f"The history row of {migration.id} was not there to update")

    def _check_neighbours(self, migration: Migration, undoing: bool) -> None:
        """Under a step's lock: the migration before is applied (to apply), none after is (to undo).

        Without a session lock (SQLite) another run may have moved the history
        since this run planned; then this run stops rather than apply out of order.
        """
        b = self.backend
        q = b.dialect.quote_identifier
        found = {r[0]: bool(r[1]) for r in b.execute(
            f"SELECT {q('id')}, {q('complete')} FROM {q(HISTORY_TABLE)}").rows}
        ids = [m.id for m in self.migrations()]
        if undoing:
            later = [i for i in ids[ids.index(migration.id) + 1:] if i in found]
            if later:
                raise MigrationError(f"{', '.join(later)} was applied after {migration.id} meanwhile (another run); "
                                     f"{migration.id} was not rolled back. Check `status`")
        elif migration.previous is not None and not found.get(migration.previous):
            raise MigrationError(f"{migration.previous} is no longer applied (rolled back by another run "
                                 f"meanwhile?); {migration.id}, which follows it, was not applied. Check `status`")

    def _forget(self, migration_id: str) -> None:
        b = self.backend
        q, ph = b.dialect.quote_identifier, b.dialect.placeholder
        b.execute(f"DELETE FROM {q(HISTORY_TABLE)} WHERE {q('id')} = {ph(1)}", (migration_id,))

    def _one_transaction(self, migration: Migration) -> bool:
        return (self.backend.capabilities.supports_transactional_ddl and migration.atomic
                and all(op.transactional for op in migration.operations))

    def _apply(self, migration: Migration) -> bool:
        """Run one migration; ``False`` if another process had run it meanwhile.

        The history row is read again inside the transaction (or step) that
        writes it, so where the lock is each migration's own exclusive
        transaction (SQLite) two processes still never run an operation twice.
        """
        started = time.perf_counter()
        row = self._turns(lambda: self._row(migration.id))
        if row is not None and row.complete:
            return False
        if self._one_transaction(migration) and row is None:
            row = self._turns(lambda: self._apply_whole(migration))
            if row is None:
                self.out(f"  {migration.id} done in {time.perf_counter() - started:.2f} s")
                return True
            if row.complete:
                return False
        # Operation by operation (DDL that commits, atomic = False, a concurrent index, or a
        # migration that ran partly before): resume after what the history says ran.
        did = self._apply_in_steps(migration)
        if did:
            self.out(f"  {migration.id} done in {time.perf_counter() - started:.2f} s")
        return did

    def _apply_whole(self, migration: Migration) -> Applied | None:
        """Apply ``migration`` in one transaction with its history row; return the row found instead, if any."""
        total = len(migration.operations)
        try:
            with self.backend.schema_transaction():
                self._entered = True
                row = self._row(migration.id)
                if row is not None:
                    return row
                self._check_neighbours(migration, undoing=False)
                self.out(f"Applying {migration.id} ({total} operation{'s' if total != 1 else ''}) ...")
                for index, op in enumerate(migration.operations):
                    try:
                        op.apply(self.backend)
                    except Exception as exc:
                        raise MigrationError(f"{migration.id} failed at operation {index + 1} of {total} "
                                             f"({op.describe()}): {type(exc).__name__}: {exc}. {ROLLED_BACK}") from exc
                self._record(migration, total, True, insert=True)
        except (MigrationError, MigrationLockTimeout):
            raise
        except DatabaseError as exc:
            if not self._entered:
                raise  # waiting to begin (SQLite's turn): _turns decides
            raise MigrationError(f"{migration.id} failed as it committed: {type(exc).__name__}: {exc}. "
                                 f"{ROLLED_BACK}") from exc
        return None

    def _turns(self, step: Callable[[], Any]) -> Any:
        """Run ``step``; without a session lock, wait for another run's step by trying again.

        On SQLite a run's lock is each step's ``BEGIN EXCLUSIVE``: a runner that
        cannot begin within the connection's busy timeout tries again (the step
        reads the history afresh) until ``lock_timeout`` has passed.
        """
        if self._held:
            return step()
        deadline = self._deadline
        while True:
            self._entered = False
            try:
                return step()
            except LockTimeoutError as exc:
                if self._entered:
                    raise  # it timed out inside the step, not waiting to begin it: not a turn to wait for
                if deadline is not None and time.monotonic() >= deadline:
                    raise MigrationLockTimeout(
                        f"Another run kept the database locked for {self.lock_timeout:g} s: {exc}") from exc
                time.sleep(0.05)

    def _step(self, op: Any = None, migration: Migration | None = None) -> Any:
        """The block one step runs in: its own transaction where DDL is transactional and the step allows.

        ``atomic = False`` asks for no transaction at all, and an operation may
        refuse one (CONCURRENTLY); without a session lock (SQLite) every step
        is a transaction still, since that transaction is the lock.
        """
        if not self.backend.capabilities.supports_transactional_ddl:
            return contextlib.nullcontext()
        wanted = (op is None or op.transactional) and (migration is None or migration.atomic)
        return self.backend.schema_transaction() if wanted or not self._held else contextlib.nullcontext()

    def _apply_in_steps(self, migration: Migration) -> bool:
        total = len(migration.operations)
        why = ("this database commits DDL as it runs" if not self.backend.capabilities.supports_transactional_ddl
               else "it cannot run in one transaction")
        did = announced = False
        for index, op in enumerate(migration.operations):
            def step(index: int = index, op: Any = op) -> str:
                nonlocal announced
                with self._step(op, migration):
                    self._entered = True
                    row = self._row(migration.id)
                    if row is not None and row.complete:
                        return "complete"
                    done = row.operations_done if row is not None else 0
                    if done > total:
                        raise MigrationError(f"The history says {done} operations of {migration.id} ran, but its "
                                             f"file has {total} (was it edited after it ran?)")
                    if done > index:
                        return "skip"  # another run did this one
                    if row is None:
                        self._check_neighbours(migration, undoing=False)
                    if done < index:
                        raise MigrationError(
                            f"The history of {migration.id} went back to {done} operation(s) while this run was "
                            f"at operation {index + 1} (a rollback running at the same time?); nothing more was "
                            "applied. Check `status` and run migrate again")
                    if not announced:
                        resumed = f", resuming after operation {done}" if done else ""
                        self.out(f"Applying {migration.id} ({total} operations, each recorded as it "
                                 f"completes{resumed}) ...")
                        announced = True
                    if row is None:
                        self._record(migration, 0, False, insert=True)
                    op.apply(self.backend)
                    self._record(migration, index + 1, False, insert=False)
                    return "ran"
            try:
                outcome = self._turns(step)
            except (MigrationError, MigrationLockTimeout):
                raise
            except Exception as exc:
                ran = f"Operations 1-{index} ran and are recorded" if index else "No operation ran"
                raise MigrationError(
                    f"{migration.id} failed at operation {index + 1} of {total} ({op.describe()}): "
                    f"{type(exc).__name__}: {exc}. {ran}; the migration runs operation by operation ({why}). "
                    f"Fix the cause and run migrate again to resume at operation {index + 1}, or roll back "
                    "to undo what ran") from exc
            if outcome == "complete":
                return did
            did = did or outcome == "ran"
        def finish() -> bool:
            with self._step():
                self._entered = True
                row = self._row(migration.id)
                if row is not None and row.complete:
                    return did
                if row is None:
                    self._check_neighbours(migration, undoing=False)
                self._record(migration, total, True, insert=row is None)
            return did or not migration.operations  # an empty migration is this run's to record
        return bool(self._turns(finish))

    def _undo_plan(self, state: MigrationState) -> Any:
        m = state.migration
        if state.operations_done > len(m.operations):
            raise MigrationError(f"The history says {state.operations_done} operations of {m.id} ran, but its file "
                                 f"has {len(m.operations)} (was it edited after it ran?). Nothing was rolled back")
        done = m.operations if state.state == "applied" else m.operations[:state.operations_done]
        if m.down is not None and state.state == "applied":
            return m.down
        undo = reverse_all(done)
        if undo is None:
            stuck = next(op for op in reversed(done) if op.reverse() is None)
            if m.down is not None:  # partly applied: down() undoes a whole migration, not a part
                raise IrreversibleMigrationError(
                    f"{m.id} ran {state.operations_done} of {len(m.operations)} operations, and {stuck.describe()} "
                    "cannot be undone by itself (its down() undoes the whole migration): finish it with migrate, "
                    "then roll it back. Nothing was rolled back")
            raise IrreversibleMigrationError(
                f"{m.id} cannot be rolled back: {stuck.describe()} cannot be undone by itself; write a "
                f"down(backend) in {m.path.name}. Nothing was rolled back")
        return undo

    def _unapply(self, state: MigrationState, plan: Any) -> bool:
        """Undo one migration; ``False`` if another process had undone it meanwhile."""
        m = state.migration
        started = time.perf_counter()

        def unchanged() -> bool:  # read under the step's lock: still as status() saw it?
            row = self._row(m.id)
            return row is not None and row.complete == (state.state == "applied") and (
                row.complete or row.operations_done == state.operations_done)

        if callable(plan) or self._one_transaction(m):
            # down() of a migration that cannot run in one transaction (CONCURRENTLY ...) runs outside one,
            # under the session lock; without a session lock (SQLite) the transaction is the lock.
            atomic = self._one_transaction(m) or not self._held

            def whole() -> bool:
                with self.backend.schema_transaction() if atomic else self.backend.connection():
                    self._entered = True
                    if not unchanged():
                        return False
                    self._check_neighbours(m, undoing=True)
                    self.out(f"Rolling back {m.id} ...")
                    if callable(plan):
                        plan(self.backend)
                    else:
                        for op in plan:
                            op.apply(self.backend)
                    self._forget(m.id)
                return True
            try:
                if not self._turns(whole):
                    return False
            except (MigrationError, MigrationLockTimeout):
                raise
            except Exception as exc:
                if isinstance(exc, LockTimeoutError) and not self._entered:
                    raise
                what = "down()" if callable(plan) else "its operations' undo"
                state_now = ("nothing was rolled back" if atomic and self.backend.capabilities.supports_transactional_ddl
                             else "what down() did before failing stays; the history still says it is applied")
                raise MigrationError(f"Rolling back {m.id} failed in {what}: {type(exc).__name__}: {exc}; "
                                     f"{state_now}") from exc
        else:
            expected = len(m.operations) if state.state == "applied" else state.operations_done
            initial = expected
            did = announced = False
            while True:
                undo = m.operations[expected - 1].reverse() if expected else None

                def step(undo: Any = undo) -> str:
                    nonlocal expected, announced
                    with self._step(undo, m):
                        self._entered = True
                        row = self._row(m.id)
                        if row is None:
                            return "gone"  # another run finished the rollback
                        left = len(m.operations) if row.complete else row.operations_done
                        if left > expected:
                            raise MigrationError(
                                f"{m.id} was applied further ({left} operations) while this run rolled it back; "
                                "nothing more was undone. Check `status` and roll back again")
                        if left < expected:
                            expected = left  # another run undid some: go on from there
                            return "again"
                        if not announced:
                            self._check_neighbours(m, undoing=True)
                            self.out(f"Rolling back {m.id} ...")
                            announced = True
                        if left == 0:
                            self._forget(m.id)
                            return "forgot"
                        if undo is None:
                            raise IrreversibleMigrationError(f"{m.operations[left - 1].describe()} of {m.id} "
                                                             "cannot be undone by itself")
                        try:
                            undo.apply(self.backend)
                        except Exception as exc:
                            raise MigrationError(
                                f"Rolling back {m.id} failed ({undo.describe()}): {type(exc).__name__}: {exc}. "
                                f"Its first {left} operation(s) are still applied and recorded") from exc
                        self._record(m, left - 1, False, insert=False)
                        expected = left - 1
                        return "undid"
                outcome = self._turns(step)
                if outcome in ("gone", "forgot"):
                    # Removing the row of a migration that ran nothing is this run's work.
                    did = did or (outcome == "forgot" and initial == 0)
                    break
                did = did or outcome == "undid"
            if not did:
                return False
        self.out(f"  {m.id} rolled back in {time.perf_counter() - started:.2f} s")
        return True
