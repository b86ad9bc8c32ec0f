"""Concurrency on every backend: the pool, transactions per thread, after-commit callbacks, retries."""
from __future__ import annotations

import dataclasses
import logging
import threading
import time

import pytest

from rhosocial.activerecord.backend import (
    ConfigurationError,
    PoolTimeoutError,
    QueryTimeoutError,
    SerializationError,
    StorageBackend,
    TransactionError,
    UniqueViolationError,
)

from ..capability import requires
from ..threads import run_threads
from .utils import insert_person, make_people, names, sql

WAIT = 30.0  # seconds a test thread waits for another before the test fails


def derived(backend: StorageBackend, **options: object) -> StorageBackend:
    """Return a new backend on the same database as ``backend``, with extra settings."""
    config = dataclasses.replace(backend.config, ssl=dict(backend.config.ssl),
                                 options={**backend.config.options, **options})
    return type(backend)(config)


def _wait(event: threading.Event) -> None:
    assert event.wait(WAIT), "another test thread did not get there in time"


def requires_concurrent_writers(backend: StorageBackend) -> None:
    """Skip unless two connections can each hold an open write transaction at the same time."""
    requires(backend, "supports_multiple_connections")
    if backend.capabilities.serializes_write_transactions:
        pytest.skip(f"{backend.name}: serializes_write_transactions is true (one writer at a time)")


class TestPool:
    """The pool every backend gets: limits, waiting, timeouts, stats, dispose, bad settings."""

    @pytest.fixture
    def small(self, backend):
        requires(backend, "supports_multiple_connections")
        make_people(backend)
        pool = derived(backend, pool_size=2, max_overflow=0, pool_timeout=0.5)
        yield pool
        pool.disconnect()

    def test_a_third_transaction_waits_then_times_out(self, small):
        holding, done = threading.Barrier(3, timeout=WAIT), threading.Event()

        # (read-only where writers take turns: two write transactions could not both be open)
        read_only = small.capabilities.serializes_write_transactions

        def hold(i: int) -> None:
            small.begin_transaction(read_only=read_only)
            try:
                names(small)
                holding.wait()
                _wait(done)
            finally:
                small.rollback_transaction()

        holders = [threading.Thread(target=hold, args=(i,), daemon=True) for i in range(2)]
        for thread in holders:
            thread.start()
        try:
            holding.wait()
            started = time.monotonic()
            with pytest.raises(PoolTimeoutError) as info:
                small.begin_transaction()
            waited = time.monotonic() - started
        finally:
            done.set()
            for thread in holders:
                thread.join(WAIT)
        assert 0.0 <= waited - 0.5 < 0.5, f"waited {waited:.2f}s for a 0.5s pool_timeout"
        assert "pool_size=2" in str(info.value) and "0.5s" in str(info.value)
        stats = small.pool.stats()
        assert stats.timeouts == 1 and stats.waits >= 1 and stats.open == 2
        assert not small.in_transaction
        with small.transaction():  # connections are free again
            insert_person(small, "after")
        assert names(small) == ["after"]

    def test_many_threads_share_a_small_pool(self, backend):
        requires(backend, "supports_multiple_connections")
        make_people(backend)
        # Waiting is the point here, not timing out: a loaded machine may keep a thread waiting past 0.5 s.
        shared = derived(backend, pool_size=2, max_overflow=0, pool_timeout=WAIT)
        try:
            def work(i: int) -> int:
                for j in range(25):
                    insert_person(shared, f"t{i}-{j}", j)
                return len(names(shared))

            run_threads(work, 8, timeout=120)
            assert len(names(shared)) == 200
            stats = shared.pool.stats()
            assert stats.opened <= 2 and stats.checked_out == 0 and stats.timeouts == 0
        finally:
            shared.disconnect()

    def test_dispose_closes_idle_connections_and_returned_ones(self, small):
        ready, release = threading.Event(), threading.Event()

        def hold() -> None:
            with small.transaction():
                insert_person(small, "held")
                ready.set()
                _wait(release)

        insert_person(small, "first")
        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        _wait(ready)
        assert small.pool.stats().checked_out == 1
        small.pool.dispose()
        assert small.pool.stats().idle == 0 and small.pool.stats().open == 1  # the lent one lives on
        release.set()
        holder.join(WAIT)
        stats = small.pool.stats()
        assert stats.open == 0 and stats.idle == 0  # closed when given back
        assert names(small) == ["first", "held"]  # its transaction was not cut off
        assert small.pool.stats().opened == stats.opened + 1  # the next statement opened a new one

    def test_a_thread_that_ends_inside_a_transaction_gives_its_connection_back(self, backend):
        requires(backend, "supports_multiple_connections")
        make_people(backend)
        one = derived(backend, pool_size=1, max_overflow=0, pool_timeout=5)
        try:
            def abandon() -> None:
                one.begin_transaction()
                insert_person(one, "abandoned")  # and the thread ends, never committing

            worker = threading.Thread(target=abandon, daemon=True)
            worker.start()
            worker.join(WAIT)
            del worker
            assert names(one) == []  # the only connection came back (closed: rolled back)
            assert one.pool.stats().discarded == 1
        finally:
            one.disconnect()

    @pytest.mark.parametrize("settings", [
        {"pool_size": 0}, {"pool_size": -1}, {"pool_size": "many"}, {"max_overflow": -1},
        {"pool_timeout": -1}, {"pool_timeout": 0}, {"pool_recycle": -5}, {"pool_idle_timeout": "x"},
        {"pool_pre_ping": -1}, {"command_timeout": -0.5}, {"pool_size": 2.5},
    ])
    def test_bad_settings_are_refused(self, backend, settings):
        with pytest.raises(ConfigurationError, match=next(iter(settings))):
            derived(backend, **settings)

    def test_settings_from_strings(self, backend):
        other = derived(backend, pool_size="3", max_overflow="0", pool_timeout="2.5",
                        pool_pre_ping="true", command_timeout="none")
        settings = other.pool_settings
        assert (settings.pool_size, settings.max_overflow, settings.pool_timeout) == (3, 0, 2.5)
        assert settings.pool_pre_ping == 0 and settings.command_timeout is None

    def test_command_timeout_interrupts_a_statement_waiting_for_a_lock(self, backend):
        """A call past ``command_timeout`` is stopped (the backend's ``_interrupt``) and its connection replaced."""
        requires(backend, "supports_for_update")
        make_people(backend)
        insert_person(backend, "ada", 1)
        bounded = derived(backend, command_timeout=0.5)
        update = sql(backend, "UPDATE {t} SET {a} = {a} + 1 WHERE {n} = ?", t="people", a="age", n="name")
        try:
            with backend.transaction():
                backend.execute(update, ["ada"])  # holds the row's lock until the end of the block
                started = time.monotonic()
                with pytest.raises(QueryTimeoutError):
                    bounded.execute(update, ["ada"])
                assert time.monotonic() - started < WAIT
            assert bounded.execute(update, ["ada"]).affected_rows == 1  # the backend works on
            # 3 or 4: whether the server went on with the interrupted statement is not known
            assert backend.fetch_value(sql(backend, "SELECT {a} FROM {t}", a="age", t="people")) in (3, 4)
        finally:
            bounded.disconnect()

    def test_a_single_connection_database_takes_turns(self, backend):
        if backend.capabilities.supports_multiple_connections:
            pytest.skip(f"{backend.name}: this database allows several connections")
        make_people(backend)
        run_threads(lambda i: [insert_person(backend, f"t{i}-{j}") for j in range(20)], 6, timeout=120)
        assert len(names(backend)) == 120
        assert backend.pool.stats().opened == 1


class TestTransactionsPerThread:
    """A transaction belongs to the thread that opened it."""

    @pytest.fixture
    def people(self, backend):
        requires(backend, "supports_multiple_connections")
        make_people(backend)
        return backend

    def test_another_thread_sees_no_transaction(self, people):
        seen: list[object] = []
        with people.transaction():
            insert_person(people, "uncommitted")
            worker = threading.Thread(target=lambda: seen.extend(
                [people.in_transaction, people.transaction_level, names(people)]), daemon=True)
            worker.start()
            worker.join(WAIT)
            assert people.in_transaction
        assert seen == [False, 0, []]
        assert names(people) == ["uncommitted"]

    def test_a_rollback_never_undoes_another_threads_commit(self, people):
        requires_concurrent_writers(people)
        inside, committed = threading.Event(), threading.Event()

        def writer() -> None:
            _wait(inside)
            with people.transaction():
                insert_person(people, "committed-by-other")
            committed.set()

        worker = threading.Thread(target=writer, daemon=True)
        worker.start()
        people.begin_transaction()
        insert_person(people, "rolled-back")
        inside.set()
        _wait(committed)
        people.rollback_transaction()
        worker.join(WAIT)
        assert names(people) == ["committed-by-other"]

    def test_threads_hold_transactions_side_by_side(self, people):
        requires_concurrent_writers(people)
        together = threading.Barrier(4, timeout=WAIT)

        def work(i: int) -> None:
            people.begin_transaction()
            insert_person(people, f"t{i}")
            together.wait()  # all four transactions are open now, on four connections
            assert people.transaction_level == 1
            if i % 2:
                people.rollback_transaction()
            else:
                people.commit_transaction()

        run_threads(work, 4, timeout=WAIT)
        assert names(people) == ["t0", "t2"]

    def test_a_raw_begin_outside_a_transaction_is_rolled_back(self, people):
        with people.connection() as connection:
            if people._transaction_status(connection) is None:
                pytest.skip(f"{people.name}: the backend cannot tell whether a transaction is open")
        begin = people.dialect.begin_sql(None, False)[0]
        with pytest.raises(TransactionError, match="backend.transaction"):
            people.execute(begin)
        insert_person(people, "autocommitted")  # on a clean connection, committed at once
        other = derived(people)
        try:
            assert names(other) == ["autocommitted"]
        finally:
            other.disconnect()

    def test_a_raw_begin_left_open_in_a_connection_block_is_reported(self, people):
        with people.connection() as connection:
            if people._transaction_status(connection) is None:
                pytest.skip(f"{people.name}: the backend cannot tell whether a transaction is open")
        with pytest.raises(TransactionError, match="rolled back"):
            with people.connection():
                people.execute(people.dialect.begin_sql(None, False)[0])
                insert_person(people, "never-committed")
        assert names(people) == [] and people.pool.stats().checked_out == 0

    def test_connection_block_keeps_one_connection(self, people):
        with people.connection() as first:
            insert_person(people, "a")
            with people.connection() as again:
                assert again is first
            with people.transaction():
                with people.connection() as inside:
                    assert inside is first
                insert_person(people, "b")
        assert names(people) == ["a", "b"]
        assert people.pool.stats().checked_out == 0


class TestTransactionCallbacks:
    """on_commit runs once after the outermost commit, never after a rollback."""

    @pytest.fixture
    def people(self, backend):
        make_people(backend)
        return backend

    def test_on_commit_waits_for_the_outermost_commit(self, people):
        fired: list[str] = []
        with people.transaction():
            insert_person(people, "a")
            people.on_commit(lambda: fired.append("outer"))
            if people.capabilities.supports_savepoints:
                with people.transaction():
                    people.on_commit(lambda: fired.append("inner"))
                assert fired == []  # a released savepoint is not a commit
            assert fired == []
        assert fired == ["outer", "inner"] if people.capabilities.supports_savepoints else ["outer"]
        assert not people.in_transaction

    def test_on_commit_never_runs_after_a_rollback(self, people):
        fired: list[str] = []
        with pytest.raises(KeyError), people.transaction():
            insert_person(people, "a")
            people.on_commit(lambda: fired.append("no"))
            raise KeyError("boom")
        assert fired == [] and names(people) == []

    @pytest.mark.requires("supports_savepoints")
    def test_on_commit_is_dropped_with_a_rolled_back_savepoint(self, people):
        fired: list[str] = []
        rolled: list[str] = []
        with people.transaction():
            with pytest.raises(KeyError), people.transaction():
                insert_person(people, "inner")
                people.on_commit(lambda: fired.append("inner"))
                people.current_transaction().on_rollback(lambda: rolled.append("inner"))
                raise KeyError("inner fails")
            assert rolled == ["inner"]
            people.on_commit(lambda: fired.append("outer"))
            insert_person(people, "outer")
        assert fired == ["outer"] and names(people) == ["outer"]

    def test_on_commit_outside_a_transaction_runs_at_once(self, people):
        fired: list[int] = []
        people.on_commit(lambda: fired.append(1))
        assert fired == [1]

    def test_an_error_in_a_callback_is_logged_and_the_data_stays(self, people, caplog):
        def broken() -> None:
            raise RuntimeError("callback broke")

        fired: list[int] = []
        with caplog.at_level(logging.ERROR, "rhosocial.activerecord.backend"):
            with people.transaction():
                insert_person(people, "kept")
                people.on_commit(broken)
                people.on_commit(lambda: fired.append(1))
        assert names(people) == ["kept"] and fired == [1]
        assert "callback broke" in caplog.text


class TestLazyBegin:
    """BEGIN and SAVEPOINT wait for the first statement."""

    def test_a_transaction_that_runs_nothing_sends_nothing(self, backend):
        with backend.capture_statements() as captured:
            with backend.transaction():
                if backend.capabilities.supports_savepoints:
                    with backend.transaction():
                        pass
        assert captured == []

    def test_the_first_statement_opens_the_transaction(self, backend):
        make_people(backend)
        with backend.capture_statements() as captured:
            with backend.transaction():
                insert_person(backend, "a")
        assert "INSERT" not in captured[0].upper()  # the BEGIN came first
        assert any("INSERT" in statement.upper() for statement in captured)
        assert names(backend) == ["a"]


class TestRollbackOnly:
    """A block that must be atomic and failed half-way can only be rolled back."""

    @pytest.fixture
    def people(self, backend):
        make_people(backend)
        return backend

    def test_a_joined_block_that_failed_after_writing_forbids_commit(self, people):
        with pytest.raises(TransactionError, match="can only be rolled back"):
            with people.transaction():
                insert_person(people, "before")
                with pytest.raises(UniqueViolationError):
                    with people.transaction(savepoint=False):
                        insert_person(people, "half")
                        insert_person(people, "half")  # fails: the first half must not commit
                assert people.current_transaction().is_rollback_only
                with pytest.raises(TransactionError, match="can only be rolled back"):
                    insert_person(people, "more")
        assert names(people) == [] and not people.in_transaction

    def test_a_joined_block_that_wrote_nothing_leaves_the_transaction_alone(self, people):
        with people.transaction():
            insert_person(people, "kept")
            with pytest.raises(KeyError), people.transaction(savepoint=False):
                raise KeyError("before any statement")
            assert not people.current_transaction().is_rollback_only
        assert names(people) == ["kept"]

    @pytest.mark.requires("supports_savepoints")
    def test_rolling_back_the_savepoint_lifts_it(self, people):
        with people.transaction():
            insert_person(people, "outer")
            with pytest.raises(UniqueViolationError), people.transaction():
                with people.transaction(savepoint=False):
                    insert_person(people, "inner")
                    insert_person(people, "inner")
            assert not people.current_transaction().is_rollback_only
            insert_person(people, "after")
        assert names(people) == ["after", "outer"]


class TestRunInTransaction:
    """run_in_transaction re-runs its function when a concurrent transaction wins."""

    @pytest.fixture
    def people(self, backend):
        make_people(backend)
        return backend

    def test_returns_what_the_function_returns(self, people):
        assert people.run_in_transaction(lambda: (insert_person(people, "a"), 42)[1]) == 42
        assert names(people) == ["a"]

    def test_retries_a_serialization_failure_with_a_clean_slate(self, people):
        attempts: list[int] = []

        def work() -> str:
            attempts.append(len(attempts))
            insert_person(people, f"try-{len(attempts)}")
            if len(attempts) < 3:
                raise SerializationError("could not serialize access (raised by the test)")
            return "done"

        assert people.run_in_transaction(work, retries=3, backoff=0.001) == "done"
        assert attempts == [0, 1, 2]
        assert names(people) == ["try-3"]  # the failed attempts were rolled back

    def test_gives_up_after_the_last_retry(self, people):
        calls: list[int] = []

        def always() -> None:
            calls.append(1)
            raise SerializationError("conflict (raised by the test)")

        with pytest.raises(SerializationError):
            people.run_in_transaction(always, retries=2, backoff=0.001)
        assert len(calls) == 3 and not people.in_transaction

    def test_other_errors_are_not_retried(self, people):
        calls: list[int] = []

        def fails() -> None:
            calls.append(1)
            raise ValueError("a bug, not a conflict")

        with pytest.raises(ValueError):
            people.run_in_transaction(fails)
        assert calls == [1]

    def test_refuses_to_run_inside_a_transaction(self, people):
        with people.transaction():
            with pytest.raises(TransactionError, match="cannot retry inside an open transaction"):
                people.run_in_transaction(lambda: None)
