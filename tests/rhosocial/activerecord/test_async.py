"""Async use under load, cancellation and timeouts, on every database (real servers).

The kit's async suite (``testing/conformance/asynchronous.py``) checks each
``a``-method; these tests hold the async side to the issue's numbers: 100
tasks x 50 cycles, 1,600 increments two ways, cancellation in the middle of
a transaction and of a statement, one code path for sync and async, and
sync threads beside an event loop. Every event loop runs under a deadline.
"""
from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import rhosocial.activerecord

from rhosocial.activerecord import ActiveRecord, Field, StaleObjectError
from rhosocial.activerecord.backend import DatabaseError, NotSupportedError, QueryTimeoutError, TransactionError
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend
from rhosocial.activerecord.testing.aio import run_async
from rhosocial.activerecord.testing.conformance.model_concurrency import KitCounter, KitVersioned


class Ticket(ActiveRecord):
    __tablename__ = "async_tickets"
    task: int
    cycle: int
    state: str = Field(max_length=20, default="new")


PACKAGE = os.path.dirname(rhosocial.activerecord.__file__)
SLEEP = {"postgres": "SELECT pg_sleep(5)", "mysql": "SELECT SLEEP(5)",
         "sqlite": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"}


@pytest.fixture
def models(bind):
    backend = bind(Ticket, KitCounter, KitVersioned)
    yield backend
    backend.disconnect()


def test_100_tasks_x_50_create_find_update_cycles(models):
    async def main() -> list[str]:
        wrong: list[str] = []

        async def work(t: int) -> None:
            for c in range(50):
                ticket = await Ticket.acreate(task=t, cycle=c)
                found = await Ticket.afind(ticket.id)
                if (found.task, found.cycle, found.state) != (t, c, "new"):
                    wrong.append(f"task {t} cycle {c} read {found!r}")
                found.state = f"done {c}"
                await found.asave()

        results = await asyncio.gather(*(work(t) for t in range(100)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert errors == [], errors[:3]
        return wrong

    assert run_async(main, timeout=600) == []
    rows = Ticket.query().all()
    assert len(rows) == 5000
    assert {(r.task, r.cycle, r.state) for r in rows} == {
        (t, c, f"done {c}") for t in range(100) for c in range(50)}
    assert models.async_pool() is None  # (outside a loop there is no loop pool to name)


def test_1600_increments_with_row_locks_in_atransaction(models):
    counter = KitCounter.create(n=0)
    lock = models.capabilities.supports_for_update  # SQLite serializes write transactions instead

    async def main() -> None:
        async def work() -> None:
            for _ in range(100):
                async with KitCounter.atransaction():
                    query = KitCounter.where(id=counter.id)
                    row = await (query.for_update() if lock else query).aone()
                    row.n += 1
                    await row.asave()

        await asyncio.gather(*(work() for _ in range(16)))

    run_async(main, timeout=600)
    assert KitCounter.find(counter.id).n == 1600
    assert models.fetch_value(f"SELECT n FROM {models.dialect.quote_identifier(KitCounter.table_name())}") == 1600


def test_1600_increments_with_optimistic_locking_and_retries(models):
    counter = KitVersioned.create(n=0)
    conflicts = [0]

    async def main() -> None:
        async def increment() -> None:
            row = await KitVersioned.afind(counter.id)
            row.n += 1
            await asyncio.sleep(0)  # let another task read the same version
            try:
                await row.asave()
            except StaleObjectError:
                conflicts[0] += 1
                raise

        async def work() -> None:
            for _ in range(100):
                await KitVersioned.arun_in_transaction(increment, retries=10_000, backoff=0.001,
                                                         max_backoff=0.01)

        await asyncio.gather(*(work() for _ in range(16)))

    run_async(main, timeout=600)
    final = KitVersioned.find(counter.id)
    assert (final.n, final.lock_version) == (1600, 1600)
    if not models.capabilities.serializes_write_transactions:  # (SQLite's BEGIN IMMEDIATE: no race)
        assert conflicts[0] > 0  # the tasks really raced


def test_cancelled_during_a_statement_in_a_transaction(models):
    """Cancelled while the server runs a statement: nothing committed, the connection discarded."""
    async def main() -> None:
        started = asyncio.Event()

        async def doomed() -> None:
            async with KitCounter.atransaction():
                await KitCounter.acreate(n=1)
                started.set()
                await models.aexecute(SLEEP[models.name])

        task = asyncio.create_task(doomed())
        await started.wait()
        await asyncio.sleep(0.2)  # the slow statement is running now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pool = models.async_pool()
        assert pool is not None
        stats = pool.stats()
        assert stats.checked_out == 0 and stats.discarded >= 1, stats
        assert await KitCounter.acount() == 0
        for i in range(100):
            await KitCounter.acreate(n=i)
        assert await KitCounter.acount() == 100
        assert pool.stats().checked_out == 0

    run_async(main, timeout=120)
    assert KitCounter.count() == 100


def test_timeout_through_asyncio(models):
    """asyncio.wait_for / asyncio.timeout bound one call; the pool leaks nothing."""
    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await models.aexecute(SLEEP[models.name])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(models.aexecute(SLEEP[models.name]), 0.3)
        assert models.async_pool().stats().checked_out == 0
        assert await models.afetch_value("SELECT 1") == 1

    run_async(main, timeout=120)


def test_command_timeout_bounds_async_calls(backend_factory):
    """The backend's own client-side bound (command_timeout) works on async connections too."""
    backend = backend_factory()
    slow = type(backend)(backend.config.__class__(**{
        **backend.config.__dict__, "options": {**backend.config.options, "command_timeout": 0.5}}))

    async def main() -> None:
        with pytest.raises(QueryTimeoutError):
            await slow.aexecute(SLEEP[slow.name])
        assert await slow.afetch_value("SELECT 1") == 1
        assert slow.async_pool().stats().checked_out == 0
        await slow.adisconnect()

    run_async(main, timeout=60)


def test_async_runs_the_same_code_as_sync(models):
    """No second implementation: afind() runs every function of the package that find() runs."""
    made = Ticket.create(task=1, cycle=2)

    def operations() -> None:  # a cached statement, and one compiled on every call
        Ticket.find(made.id)
        Ticket.query().where(task=1).order_by("id").all()

    operations()  # warm up: compiled statements and loaders exist now

    def package_code(calls: set) -> set:
        """The package's own code (and its generated loaders), less the async plumbing."""
        return {c for c in calls
                if (c.co_filename.startswith(PACKAGE) or c.co_filename.startswith("<loader"))
                and "/bridge.py" not in c.co_filename and "/asynchronous.py" not in c.co_filename
                and "async_driver.py" not in c.co_filename
                # pool housekeeping (a pre-ping after idleness, a sweep) depends on timing
                and not c.co_filename.endswith("pool.py")}

    def record(calls: set):
        def profiler(frame, event, arg):
            if event == "call":
                calls.add(frame.f_code)
        return profiler

    sync_calls: set = set()
    gc.disable()  # a finalizer the collector runs meanwhile is not part of either path
    sys.setprofile(record(sync_calls))
    try:
        operations()
    finally:
        sys.setprofile(None)
        gc.enable()

    async def main() -> set:
        async_calls: set = set()
        await Ticket.afind(made.id)  # this loop's first connection opens outside the recording
        gc.disable()
        sys.setprofile(record(async_calls))
        try:
            await Ticket.afind(made.id)
            await Ticket.query().where(task=1).order_by("id").aall()
        finally:
            sys.setprofile(None)
            gc.enable()
        return async_calls

    async_calls = run_async(main)
    sync_code = package_code(sync_calls)
    async_code = package_code(async_calls)
    assert sync_code, "the recording saw nothing"
    loaders = {c for c in sync_code if c.co_filename.startswith("<loader")}
    assert loaders and loaders <= async_code  # the very same generated loader objects
    compilers = {c for c in sync_code if c.co_filename.endswith("compiler.py")}
    assert compilers and compilers <= async_code
    missing = {f"{c.co_filename.rsplit('/', 1)[-1]}:{c.co_name}" for c in sync_code - async_code}
    # The driver-facing hook differs only in the connection object it is given.
    assert missing == set(), missing


def test_sync_threads_beside_an_event_loop(models):
    """A thread pool doing sync writes while an event loop does async writes, on one configure()."""
    stop = threading.Event()

    def sync_worker(t: int) -> int:
        done = 0
        for c in range(100):
            Ticket.create(task=1000 + t, cycle=c)
            Ticket.find_by(task=1000 + t, cycle=c)
            done += 1
        return done

    async def main() -> int:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(4) as pool:
            sync_jobs = [loop.run_in_executor(pool, sync_worker, t) for t in range(4)]

            async def async_worker(t: int) -> int:
                for c in range(100):
                    await Ticket.acreate(task=t, cycle=c)
                    await Ticket.afind_by(task=t, cycle=c)
                return 100

            done = await asyncio.gather(*sync_jobs, *(async_worker(t) for t in range(8)))
        return sum(done)

    assert run_async(main, timeout=300) == 1200
    stop.set()
    assert Ticket.count() == 1200
    assert Ticket.where(Ticket.c.task >= 1000).count() == 400


def test_to_thread_inside_atransaction_is_refused(models):
    async def main() -> None:
        async with KitCounter.atransaction():
            await KitCounter.acreate(n=1)
            with pytest.raises(TransactionError, match="to_thread"):
                await asyncio.to_thread(KitCounter.create, n=2)
        assert await KitCounter.query().apluck("n") == [1]

    run_async(main)


class SyncOnlySQLite(SQLiteBackend):
    """A backend without async support (what a third-party sync-only backend looks like)."""

    name = "sqlite-sync-only"

    def _async_connections(self) -> str | None:
        return None


def test_sync_only_backend_refuses_async_use_naming_itself(tmp_path):
    backend = SyncOnlySQLite(database=str(tmp_path / "sync.db"))
    assert not backend.supports_async
    assert backend.fetch_value("SELECT 1") == 1

    async def main() -> None:
        with pytest.raises(NotSupportedError, match="sqlite-sync-only.*does not support async"):
            await backend.afetch_value("SELECT 1")

    run_async(main)
    backend.disconnect()


def test_async_without_greenlet_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['greenlet'] = None\n"
        "import asyncio\n"
        "from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend\n"
        f"b = SQLiteBackend(database={str(tmp_path / 'g.db')!r})\n"
        "assert b.fetch_value('SELECT 1') == 1\n"
        "try:\n"
        "    asyncio.run(b.afetch_value('SELECT 1'))\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "NotSupportedError" in out.stdout and "rhosocial-activerecord[async]" in out.stdout


RUNNING = {
    "postgres": "SELECT count(*) FROM pg_stat_activity WHERE query = %s AND state = 'active'",
    "mysql": "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO = %s",
}


def test_a_cancelled_statement_stops_on_the_server(models):
    """Cancelling a task stops its statement on the server too, so it holds no locks on."""
    if models.name not in RUNNING:
        pytest.skip(f"{models.name}: in-process (the cancelled call is interrupted; see the SQLite tests)")
    # A name of its own, so statements of other tests are not counted.
    sleep = f"{SLEEP[models.name]} AS {models.dialect.quote_identifier('stops_on_the_server')}"
    probe = RUNNING[models.name].replace("%s", models.dialect.placeholder(1))

    async def main() -> None:
        task = asyncio.create_task(models.aexecute(sleep))
        for _ in range(50):
            await asyncio.sleep(0.05)
            if await asyncio.to_thread(models.fetch_value, probe, [sleep]):
                break
        else:
            raise AssertionError("the statement never showed up on the server")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(60):
            if not await asyncio.to_thread(models.fetch_value, probe, [sleep]):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the cancelled statement is still running on the server")

    run_async(main, timeout=60)


def test_first_writes_to_an_existing_table_race_without_blocking_the_loop(backend):
    """The first write learns the table from the catalog under a lock: tasks wait by awaiting."""
    q = backend.dialect.quote_identifier
    backend.execute(f"DROP TABLE IF EXISTS {q('async_existing')}")
    key = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgres": "BIGSERIAL PRIMARY KEY",
           "mysql": "BIGINT AUTO_INCREMENT PRIMARY KEY"}[backend.name]
    backend.execute(f"CREATE TABLE {q('async_existing')} ({q('id')} {key}, "
                    f"{q('label')} VARCHAR(40) NOT NULL, {q('hits')} INTEGER DEFAULT 7 NOT NULL)")

    class Existing(ActiveRecord):
        __tablename__ = "async_existing"
        label: str
        hits: int | None = None

    Existing.configure(backend)

    async def main() -> list[int | None]:
        made = await asyncio.gather(*(Existing.acreate(label=f"l{i}") for i in range(10)))
        return [m.hits for m in made]

    try:
        assert run_async(main, timeout=60) == [7] * 10  # the database's default, read back
        assert Existing.count() == 10
    finally:
        backend.execute(f"DROP TABLE {q('async_existing')}")
        backend.disconnect()


def test_a_sync_call_that_would_hang_the_loop_raises(tmp_path):
    """A sync call in the loop's thread meeting a lock an awaiting async call holds: an error, not a hang."""
    from rhosocial.activerecord.backend.bridge import HybridLock, await_, run

    lock = HybridLock()

    async def main() -> str:
        held = asyncio.Event()
        done = asyncio.Event()

        def hold() -> None:
            with lock:
                held.set()
                await_(done.wait())  # holding it across an await, as the first connection does

        holder = asyncio.create_task(run(hold))
        await held.wait()
        try:
            with lock:  # a synchronous call, in the loop's thread, outside any a-method
                pass
        except RuntimeError as exc:
            message = str(exc)
        else:
            message = ""
        done.set()
        await holder
        with lock:  # free again
            pass
        return message

    assert "would hang the loop" in run_async(main, timeout=30)


def test_records_tell_the_truth_after_an_async_rollback_or_cancellation(models):
    """A record written in a transaction that rolled back (or was cancelled) claims no write."""
    kept = KitCounter.create(n=1)

    async def main() -> None:
        with pytest.raises(ZeroDivisionError):
            async with KitCounter.atransaction():
                made = await KitCounter.acreate(n=2)
                kept.n = 10
                await kept.asave()
                assert not made.is_new_record
                1 / 0
        assert made.is_new_record and made.id is None  # back to unsaved
        assert kept.is_dirty and kept.changes == {"n": (1, 10)}  # the update is pending again

        written = asyncio.Event()
        holder: list[KitCounter] = []

        async def doomed() -> None:
            async with KitCounter.atransaction():
                holder.append(await KitCounter.acreate(n=3))
                written.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(doomed())
        await written.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert holder[0].is_new_record and holder[0].id is None
        assert sorted(await KitCounter.query().apluck("n")) == [1]

    run_async(main)


SESSION = {"postgres": ("SELECT pg_backend_pid()", "SELECT pg_terminate_backend({})"),
           "mysql": ("SELECT CONNECTION_ID()", "KILL {}")}


def test_a_connection_lost_in_an_async_transaction_claims_nothing(models):
    """The server ends the session mid-transaction: an error, the record unsaved, nothing leaked."""
    if models.name not in SESSION:
        pytest.skip(f"{models.name}: no server sessions to end")
    who, end = SESSION[models.name]

    async def main() -> None:
        made: list[KitCounter] = []
        with pytest.raises(DatabaseError):
            async with KitCounter.atransaction():
                made.append(await KitCounter.acreate(n=5))
                pid = await models.afetch_value(who)
                await asyncio.to_thread(models.execute, end.format(int(pid)))  # from another session
                await asyncio.sleep(0.2)
                await KitCounter.acreate(n=6)  # the session is gone
        assert made[0].is_new_record and made[0].id is None
        assert models.async_pool().stats().checked_out == 0
        assert await KitCounter.acount() == 0
        await KitCounter.acreate(n=7)  # a fresh connection serves the next call
        assert await KitCounter.query().apluck("n") == [7]

    run_async(main)
