"""The async side of a backend: the ``a``-methods on models, queries and the backend.

Runs for every backend whose ``supports_async`` is true (``async_mode`` set);
a synchronous-only backend must refuse async use with ``NotSupportedError``
naming itself. Every test runs its event loop under a deadline.
"""
from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import threading
from typing import Any, ClassVar

import pytest

from rhosocial.activerecord import ActiveRecord, AsyncLazyLoadError, Field, belongs_to, has_many
from rhosocial.activerecord.backend import DatabaseError, PoolTimeoutError, TransactionError, UniqueViolationError
from rhosocial.activerecord.errors import ActiveRecordError, RecordNotFound

from ..aio import run_async
from ..capability import requires
from .model_concurrency import KitCounter, KitVersioned

TASKS = 16


class AsyncAuthor(ActiveRecord):
    __tablename__ = "kit_async_authors"
    name: str = Field(max_length=80)
    books = has_many("AsyncBook", foreign_key="author_id")


class AsyncBook(ActiveRecord):
    __tablename__ = "kit_async_books"
    title: str = Field(max_length=80)
    author_id: int
    pages: int = 0
    author = belongs_to("AsyncAuthor", foreign_key="author_id")


class AsyncHooked(ActiveRecord):
    """``async def`` hooks: awaited inside ``asave()``, refused by ``save()``."""

    __tablename__ = "kit_async_hooked"
    name: str = Field(max_length=80)
    journal: ClassVar[list[str]] = []

    async def before_save(self) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        await KitCounter.acreate(n=-1)  # an awaited write inside the save's transaction
        AsyncHooked.journal.append(f"before {self.name}")

    def after_commit(self) -> None:
        AsyncHooked.journal.append(f"commit {self.name}")


MODELS = (AsyncAuthor, AsyncBook, KitCounter, KitVersioned, AsyncHooked)


class _AsyncModels:
    @pytest.fixture
    def amodels(self, backend):
        if not backend.supports_async:
            pytest.skip(f"{backend.name}: supports_async is false (async_mode is None)")
        for model in MODELS:
            model.configure(backend)
            model.create_table()
        AsyncHooked.journal = []
        yield backend
        backend.disconnect()  # the loops of these tests are gone: close their pools now
        for model in MODELS:
            type.__setattr__(model, "__backend__", None)


class TestAsyncModels(_AsyncModels):
    """Every ``a``-twin does what its synchronous namesake does."""

    def test_record_and_class_twins(self, amodels):
        async def main() -> None:
            ann = await AsyncAuthor.acreate(name="ann")
            assert ann.id is not None and not ann.is_new_record
            found = await AsyncAuthor.afind(ann.id)
            assert found.name == "ann"
            by_name = await AsyncAuthor.afind_by(name="ann")
            assert by_name is not None and by_name.id == ann.id
            assert await AsyncAuthor.afind_by(name="nobody") is None
            with pytest.raises(RecordNotFound):
                await AsyncAuthor.afind(10**9)
            found.name = "anne"
            await found.asave()
            await ann.arefresh()
            assert ann.name == "anne"
            await ann.aupdate(name="annie")
            assert (await AsyncAuthor.afind(ann.id)).name == "annie"
            assert await AsyncAuthor.ainsert_many([{"name": "bob"}, {"name": "cy"}]) == 2
            assert await AsyncAuthor.acount() == 3
            assert sorted(a.name for a in await AsyncAuthor.aall()) == ["annie", "bob", "cy"]
            assert len(await AsyncAuthor.afind_by_sql(
                f"SELECT * FROM {amodels.dialect.quote_identifier(AsyncAuthor.table_name())}")) == 3
            assert await ann.adelete() is True
            assert await AsyncAuthor.acount() == 2
            assert await AsyncAuthor.atable_exists()

        run_async(main)

    def test_query_terminals(self, amodels):
        async def main() -> None:
            author = await AsyncAuthor.acreate(name="ann")
            for i in range(1, 6):
                await AsyncBook.acreate(title=f"b{i}", author_id=author.id, pages=i * 10)
            q = AsyncBook.query()
            assert [b.title for b in await q.order_by("id").aall()] == ["b1", "b2", "b3", "b4", "b5"]
            first, last = await q.order_by("id").afirst(), await q.order_by("id").alast()
            assert first is not None and first.title == "b1"
            assert last is not None and last.title == "b5"
            assert (await q.where(title="b3").aone()).pages == 30
            assert await q.where(title="b3").aexists()
            assert not await q.where(title="zz").aexists()
            assert await q.acount() == 5
            assert await q.asum("pages") == 150
            assert float(await q.aavg("pages")) == 30.0
            assert await q.amin("pages") == 10 and await q.amax("pages") == 50
            assert sorted(await q.apluck("title")) == ["b1", "b2", "b3", "b4", "b5"]
            assert {d["title"] for d in await q.adicts()} == {"b1", "b2", "b3", "b4", "b5"}
            assert [b.title async for b in q.order_by("id")] == ["b1", "b2", "b3", "b4", "b5"]
            assert [b.pages async for b in q.afind_each(batch_size=2)] == [10, 20, 30, 40, 50]
            assert [len(batch) async for batch in q.ain_batches(batch_size=2)] == [2, 2, 1]
            assert await q.where(AsyncBook.c.pages > 30).aupdate_all(pages=0) == 2
            assert await q.where(pages=0).adelete_all() == 2
            assert await q.acount() == 3

        run_async(main)

    def test_backend_twins(self, amodels):
        table = amodels.dialect.quote_identifier(KitCounter.table_name())

        async def main() -> None:
            await amodels.aconnect()
            assert await amodels.acapabilities() is amodels.capabilities
            assert await amodels.aping()
            await KitCounter.acreate(n=7)
            assert await amodels.afetch_value(f"SELECT n FROM {table}") == 7
            rows = await amodels.afetch_all(f"SELECT n FROM {table}")
            assert rows == [{"n": 7}]
            assert (await amodels.afetch_one(f"SELECT n FROM {table}")) == {"n": 7}
            result = await amodels.aexecute(f"UPDATE {table} SET n = n + 1")
            assert result.affected_rows == 1
            assert await amodels.atable_exists(KitCounter.table_name())
            assert [c.name for c in await amodels.aget_columns(KitCounter.table_name())] == ["id", "n"]
            pool = amodels.async_pool()
            assert pool is not None and pool.stats().checked_out == 0

        run_async(main)

    def test_errors_are_translated_as_in_sync_code(self, amodels):
        """The same driver failure gives the same error class, code and message either way."""
        table = amodels.dialect.quote_identifier(KitCounter.table_name())
        insert = f"INSERT INTO {table} (id, n) VALUES (1, 0)"
        failing = ["SELEC 1", insert, f"SELECT nope FROM {table}"]
        amodels.execute(insert)

        def sync_errors() -> list[tuple[type, Any]]:
            found = []
            for sql in failing:
                with pytest.raises(DatabaseError) as caught:
                    amodels.execute(sql)
                found.append((type(caught.value), caught.value.code))
            return found

        async def main() -> list[tuple[type, Any]]:
            found = []
            for sql in failing:
                with pytest.raises(DatabaseError) as caught:
                    await amodels.aexecute(sql)
                found.append((type(caught.value), caught.value.code))
            assert await amodels.afetch_value("SELECT 1") == 1  # the connection lives on
            return found

        expected = sync_errors()
        assert expected[1][0] is UniqueViolationError
        assert run_async(main) == expected

    def test_sync_and_async_share_models_and_data(self, amodels):
        """A sync write is seen by async code and the other way round, on one configure()."""
        sync_made = KitCounter.create(n=1)

        async def main() -> int:
            found = await KitCounter.afind(sync_made.id)
            made = await KitCounter.acreate(n=found.n + 1)
            return made.id

        made_id = run_async(main)
        assert KitCounter.find(made_id).n == 2


class TestAsyncRelations(_AsyncModels):
    """Eager loading in async costs the statements it costs in sync; lazy reads are refused."""

    def _seed(self) -> None:
        for a in range(3):
            author = AsyncAuthor.create(name=f"a{a}")
            for b in range(3):
                AsyncBook.create(title=f"a{a}b{b}", author_id=author.id)

    def test_includes_statement_counts_equal_sync(self, amodels):
        self._seed()
        with amodels.capture_statements() as sync_log:
            authors = AsyncAuthor.query().includes("books").order_by("id").all()
            books = AsyncBook.query().includes("author").all()
        sync_titles = [[b.title for b in a.books] for a in authors]
        assert {b.author.name for b in books} == {"a0", "a1", "a2"}

        async def main() -> tuple[list[list[str]], set[str]]:
            authors = await AsyncAuthor.query().includes("books").order_by("id").aall()
            books = await AsyncBook.query().includes("author").aall()
            return [[b.title for b in a.books] for a in authors], {b.author.name for b in books}

        with amodels.capture_statements() as async_log:
            titles, names = run_async(main)
        assert titles == sync_titles and names == {"a0", "a1", "a2"}
        assert len(async_log) == len(sync_log) == 4
        assert async_log == sync_log

    def test_lazy_read_in_async_code_is_refused_with_the_way_out(self, amodels):
        self._seed()

        async def main() -> None:
            book = await AsyncBook.query().order_by("id").afirst()
            assert book is not None
            with pytest.raises(AsyncLazyLoadError) as caught:
                book.author  # noqa: B018 - the lazy read under test
            assert "includes('author')" in str(caught.value) and "aload('author')" in str(caught.value)
            author = await book.aload("author")
            assert author.name == "a0"
            assert book.author is author  # cached now: no I/O
            owner = await AsyncAuthor.query().order_by("id").afirst()
            assert owner is not None
            with pytest.raises(AsyncLazyLoadError, match=r"await record\.books\.aall\(\)"):
                list(owner.books)
            assert len(await owner.aload("books")) == 3
            assert len(owner.books) == 3
            other = await AsyncAuthor.where(name="a1").aone()
            assert [b.title for b in await other.books.aall()] == ["a1b0", "a1b1", "a1b2"]
            assert other.books.loaded  # aall() cached them, as all() does
            added = await other.books.acreate(title="a1b3")
            assert added.author_id == other.id
            assert await owner.books.acount() == 3  # a query, not the cache
            with pytest.raises(ValueError, match="no association"):
                await owner.aload("nope")

        run_async(main)


class TestAsyncTransactions(_AsyncModels):
    """atransaction(): commit, rollback, savepoints, options, hooks, retries and copied contexts."""

    def test_commit_rollback_and_savepoints(self, amodels):
        async def main() -> None:
            async with KitCounter.atransaction():
                await KitCounter.acreate(n=1)
                assert amodels.in_transaction
            assert not amodels.in_transaction
            with pytest.raises(ZeroDivisionError):
                async with KitCounter.atransaction():
                    await KitCounter.acreate(n=2)
                    1 / 0
            if amodels.capabilities.supports_savepoints:
                async with KitCounter.atransaction():
                    await KitCounter.acreate(n=3)
                    with pytest.raises(KeyError):
                        async with KitCounter.atransaction():
                            await KitCounter.acreate(n=4)
                            assert amodels.transaction_level == 2
                            raise KeyError
                expected = [1, 3]
            else:
                expected = [1]
            assert sorted(await KitCounter.query().apluck("n")) == expected

        run_async(main)

    def test_isolation_level_and_read_only(self, amodels):
        requires(amodels, "supports_read_only_transactions", "SERIALIZABLE")

        async def main() -> None:
            async with KitCounter.atransaction("SERIALIZABLE"):
                await KitCounter.acreate(n=1)
            async with KitCounter.atransaction(read_only=True):
                assert await KitCounter.acount() == 1
            with pytest.raises(DatabaseError):  # the backend's read-only error
                async with KitCounter.atransaction(read_only=True):
                    await KitCounter.acreate(n=2)
            assert await KitCounter.acount() == 1

        run_async(main)

    def test_async_hooks_and_after_commit(self, amodels):
        async def main() -> None:
            async with AsyncHooked.atransaction():
                await AsyncHooked.acreate(name="x")
                assert AsyncHooked.journal == ["before x"]  # after_commit waits for the commit
            assert AsyncHooked.journal == ["before x", "commit x"]
            with pytest.raises(RuntimeError):
                async with AsyncHooked.atransaction():
                    await AsyncHooked.acreate(name="y")
                    raise RuntimeError
            assert "commit y" not in AsyncHooked.journal
            assert await AsyncHooked.acount() == 1
            assert await KitCounter.query().where(n=-1).acount() == 1  # the hook's write, committed once

        run_async(main)
        with pytest.raises(ActiveRecordError, match=r"async hook.*asave"):
            AsyncHooked.create(name="sync")
        assert AsyncHooked.where(name="sync").count() == 0  # refused before anything was written
        assert KitCounter.query().where(n=-1).count() == 1

    def test_run_in_transaction_retries_with_an_async_function(self, amodels):
        counter = KitVersioned.create(n=0)

        async def main() -> None:
            async def increment() -> None:
                row = await KitVersioned.afind(counter.id)
                row.n += 1
                await asyncio.sleep(0)  # let the others read the same version
                await row.asave()

            async def worker() -> None:
                for _ in range(10):
                    await KitVersioned.arun_in_transaction(increment, retries=1000, backoff=0.001,
                                                              max_backoff=0.01)

            await asyncio.gather(*(worker() for _ in range(8)))

        run_async(main, timeout=300)
        assert KitVersioned.find(counter.id).n == 80

    def test_tasks_copied_out_of_a_transaction_are_refused(self, amodels):
        """gather() inside atransaction(): the children may neither share its connection nor escape it."""

        async def main() -> None:
            ended = asyncio.Event()

            async def after_the_block() -> None:
                await ended.wait()
                await KitCounter.acreate(n=99)

            async with KitCounter.atransaction():
                await KitCounter.acreate(n=1)
                results = await asyncio.gather(
                    *(KitCounter.acreate(n=10 + i) for i in range(4)), return_exceptions=True)
                assert all(isinstance(r, TransactionError) for r in results), results
                assert "copy of the context" in str(results[0])
                later = asyncio.ensure_future(after_the_block())  # created inside, writes after
                await KitCounter.acreate(n=2)  # the transaction itself is intact
            ended.set()
            await later
            assert sorted(await KitCounter.query().apluck("n")) == [1, 2, 99]

        run_async(main)

    def test_threads_copied_out_of_a_sync_transaction_are_refused(self, amodels):
        errors: list[BaseException] = []

        def child() -> None:
            try:
                KitCounter.create(n=50)
            except BaseException as exc:  # noqa: BLE001 - inspected below
                errors.append(exc)

        with KitCounter.transaction():
            KitCounter.create(n=1)
            context = contextvars.copy_context()
            thread = threading.Thread(target=context.run, args=(child,))
            thread.start()
            thread.join(30)
            assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], TransactionError)
        assert KitCounter.query().pluck("n") == [1]
        thread = threading.Thread(target=context.run, args=(child,))  # the transaction has ended
        thread.start()
        thread.join(30)
        assert len(errors) == 1
        assert sorted(KitCounter.query().pluck("n")) == [1, 50]


class TestAsyncConcurrency(_AsyncModels):
    """Many tasks on one configure(): no errors, no wrong rows, no lost increments, no leaks."""

    def test_tasks_create_find_update(self, amodels):
        tasks, cycles = 20, 10

        async def main() -> list[str]:
            wrong: list[str] = []

            async def work(t: int) -> None:
                for i in range(cycles):
                    book = await AsyncBook.acreate(title=f"{t}:{i}", author_id=t)
                    found = await AsyncBook.afind(book.id)
                    if (found.title, found.author_id) != (f"{t}:{i}", t):
                        wrong.append(f"task {t} cycle {i} read {found.title}")
                    found.pages = i
                    await found.asave()

            await asyncio.gather(*(work(t) for t in range(tasks)))
            return wrong

        assert run_async(main, timeout=300) == []
        rows = AsyncBook.query().all()
        assert {(r.title, r.pages) for r in rows} == {(f"{t}:{i}", i) for t in range(tasks) for i in range(cycles)}

    def test_increments_with_row_locks(self, amodels):
        caps = amodels.capabilities
        if not (caps.supports_for_update or caps.serializes_write_transactions):
            pytest.skip(f"{amodels.name}: supports_for_update and serializes_write_transactions are false")
        counter = KitCounter.create(n=0)
        lock = caps.supports_for_update

        async def main() -> None:
            async def work() -> None:
                for _ in range(10):
                    async with KitCounter.atransaction():
                        query = KitCounter.where(id=counter.id)
                        row = await (query.for_update() if lock else query).aone()
                        await row.aupdate(n=row.n + 1)

            await asyncio.gather(*(work() for _ in range(TASKS)))

        run_async(main, timeout=300)
        assert KitCounter.find(counter.id).n == TASKS * 10

    def test_cancelled_mid_transaction_commits_nothing_and_leaks_nothing(self, amodels):
        async def main() -> None:
            written = asyncio.Event()

            async def doomed() -> None:
                async with KitCounter.atransaction():
                    await KitCounter.acreate(n=1)
                    written.set()
                    await asyncio.Event().wait()  # cancelled here: after a write, before commit

            task = asyncio.create_task(doomed())
            await written.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            pool = amodels.async_pool()
            assert pool is not None and pool.stats().checked_out == 0
            assert await KitCounter.acount() == 0
            for i in range(100):
                await KitCounter.acreate(n=i)
            assert await KitCounter.acount() == 100
            assert pool.stats().checked_out == 0

        run_async(main)

    def test_a_statement_cancelled_while_it_waits_for_a_lock_frees_its_connection(self, amodels):
        requires(amodels, "supports_for_update")
        counter = KitCounter.create(n=0)

        async def cancel_the_waiting_update() -> None:
            task = asyncio.create_task(KitCounter.where(id=counter.id).aupdate_all(n=2))
            await asyncio.sleep(0.3)  # the UPDATE waits for the row the transaction below holds
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            pool = amodels.async_pool()
            assert pool is not None and pool.stats().checked_out == 0

        with amodels.transaction():
            KitCounter.where(id=counter.id).update_all(n=1)
            run_async(cancel_the_waiting_update)

        async def afterwards() -> int:
            return int((await KitCounter.where(id=counter.id).aone()).n)

        assert run_async(afterwards) in (1, 2)  # whether the server ran the cut-off UPDATE is not known

    def test_an_idle_connection_is_checked_before_it_is_lent_again(self, amodels):
        async def main() -> None:
            assert await KitCounter.query().acount() == 0
            await asyncio.sleep(0.3)  # idle past pool_pre_ping's default 0.1 s
            assert await KitCounter.query().acount() == 0

        run_async(main)

    def test_waiting_tasks_get_connections_in_turn(self, amodels):
        """A task that gives its connection back and asks again at once queues behind the waiters."""
        if amodels._async_connections() == "direct":
            pytest.skip(f"{amodels.name}: async code shares the one synchronous connection")
        config = amodels.config
        narrow = type(amodels)(dataclasses.replace(config, options={
            **config.options, "pool_size": 1, "max_overflow": 0, "pool_timeout": 30}))

        async def main() -> list[Any]:
            order: list[Any] = []
            holding, release = asyncio.Event(), asyncio.Event()

            async def holder() -> None:
                async with narrow.atransaction():
                    await narrow.afetch_value("SELECT 1")
                    holding.set()
                    await release.wait()
                await narrow.afetch_value("SELECT 1")  # asks again without letting anyone run first
                order.append("again")

            async def waiter(i: int) -> None:
                await narrow.afetch_value("SELECT 1")
                order.append(i)

            first = asyncio.create_task(holder())
            await holding.wait()
            waiters = [asyncio.create_task(waiter(i)) for i in range(5)]
            await asyncio.sleep(0.1)  # all five wait now, in this order
            release.set()
            await asyncio.gather(first, *waiters)
            await narrow.adisconnect()
            return order

        assert run_async(main) == [0, 1, 2, 3, 4, "again"]

    def test_pool_exhaustion_raises_pool_timeout(self, amodels):
        if amodels._async_connections() == "direct":
            pytest.skip(f"{amodels.name}: async code shares the one synchronous connection")
        config = amodels.config
        narrow = type(amodels)(dataclasses.replace(config, options={
            **config.options, "pool_size": 1, "max_overflow": 0, "pool_timeout": 0.3}))

        async def main() -> None:
            holding = asyncio.Event()
            release = asyncio.Event()

            async def holder() -> None:
                async with narrow.atransaction():
                    await narrow.afetch_value("SELECT 1")
                    holding.set()
                    await release.wait()

            task = asyncio.create_task(holder())
            await holding.wait()
            with pytest.raises(PoolTimeoutError):
                await narrow.afetch_value("SELECT 1")
            release.set()
            await task
            assert await narrow.afetch_value("SELECT 1") == 1
            await narrow.adisconnect()

        run_async(main)
