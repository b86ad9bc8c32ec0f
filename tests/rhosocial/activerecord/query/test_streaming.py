"""``Query.stream()`` / ``astream()`` and ``StorageBackend.execute_stream()``, on every database.

The records equal ``all()``'s; a stream left early (``break``, ``with``, an
exception in the loop) frees its connection so the next query works; inside
a transaction it reads the transaction's uncommitted rows; two threads
streaming at once get a connection each; and streaming a million rows keeps
the peak RSS of a child process within a few MB of an empty loop.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import warnings
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from rhosocial.activerecord import (ActiveRecord, Field, ReadOnlyRecordError, StrictLoadingError, belongs_to, func,
                                    has_many)
from rhosocial.activerecord.backend import ProgrammingError, TransactionError
from rhosocial.activerecord.testing.aio import run_async
from rhosocial.activerecord.testing.threads import run_threads


class Reading(ActiveRecord):
    __tablename__ = "stream_readings"
    n: int
    label: str = Field(max_length=40)
    price: Decimal = Field(max_digits=10, decimal_places=2)
    taken_at: datetime
    ok: bool = True
    note: str | None = Field(None, max_length=40)
    shelf_id: int | None = None
    shelf = belongs_to("Shelf")


class Shelf(ActiveRecord):
    __tablename__ = "stream_shelves"
    name: str = Field(max_length=40)
    readings = has_many("Reading", foreign_key="shelf_id")


class Number(ActiveRecord):
    """The narrow table of the memory test."""

    __tablename__ = "stream_numbers"
    n: int


ROWS = 25


@pytest.fixture
def readings(bind):
    backend = bind(Shelf, Reading)
    shelves = [Shelf.create(name=f"shelf {i}") for i in range(3)]
    Reading.insert_many([
        {"n": i, "label": f"reading {i}", "price": Decimal(i) / 4,
         "taken_at": datetime(2024, 1, 1 + i % 28, i % 24, tzinfo=timezone.utc), "ok": i % 3 != 0,
         "note": None if i % 2 else f"note {i}", "shelf_id": shelves[i % 3].id if i % 5 else None}
        for i in range(ROWS)])
    return backend


def dumped(records):
    return [(type(r), r.model_dump(), r.annotations) for r in records]


def checked_out(backend):
    return backend.pool.stats().checked_out


# -- what a stream returns ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [
    lambda: Reading.query().order_by("n"),
    lambda: Reading.where(Reading.c.n >= 7).order_by("-n"),
    lambda: Reading.where(ok=True).order_by("label").limit(9).offset(2),
    lambda: Reading.query().select("id", "n", "price").order_by("n"),
    lambda: Reading.query().select("id", "n", func.upper(Reading.c.label).label("shout"),
                                   (Reading.c.price * 2).label("double")).order_by("n"),
    lambda: Reading.where(n=-1),
], ids=["all", "where-desc", "limit-offset", "select", "annotations", "empty"])
@pytest.mark.parametrize("batch_size", [1, 4, 5, 1000])
def test_stream_loads_the_records_all_loads(readings, shape, batch_size):
    expected = shape().all()
    records = list(shape().stream(batch_size=batch_size))
    assert dumped(records) == dumped(expected)
    assert all(r.is_persisted and not r.is_dirty for r in records)
    assert checked_out(readings) == 0


def test_batches_come_batch_size_at_a_time(readings):
    sizes = [len(b) for b in Reading.query().order_by("n").stream(batch_size=10).batches()]
    assert sizes == [10, 10, 5]
    assert [len(b) for b in Reading.query().stream(batch_size=5).batches()] == [5] * 5  # an exact multiple
    rows = readings.execute_stream(readings.dialect.convert_placeholders(
        "SELECT n FROM stream_readings WHERE n < ? ORDER BY n"), [3], batch_size=2)
    assert rows.columns == ("n",)
    assert list(rows) == [[(0,), (1,)], [(2,)]] and rows.closed


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_batch_size_must_be_a_positive_integer(readings, bad):
    with pytest.raises(ValueError, match="batch_size"):
        Reading.query().stream(batch_size=bad)
    with pytest.raises(ValueError, match="batch_size"):
        readings.execute_stream("SELECT 1", batch_size=bad)


def test_the_query_runs_once_and_only_when_read(readings):
    with readings.capture_statements() as sql:
        records = Reading.query().order_by("n").stream(batch_size=4)
        assert sql == []
        assert sum(1 for _ in records) == ROWS
    assert len(sql) == 1 and "stream_readings" in sql[0]


def test_includes_strict_loading_and_readonly_apply_to_each_batch(readings):
    query = Reading.query().order_by("n").includes("shelf").strict_loading().readonly()
    with readings.capture_statements() as sql:
        records = list(query.stream(batch_size=10))
        names = [r.shelf.name if r.shelf else None for r in records]  # loaded: no statement
    assert names == [r.shelf.name if r.shelf else None for r in Reading.query().order_by("n").all()]
    assert len(sql) == 1 + 3  # the stream, and one batched shelf query per batch of 10
    assert all(r.is_readonly for r in records)
    with pytest.raises(ReadOnlyRecordError):
        records[0].save()
    shelves = list(Shelf.query().order_by("id").strict_loading().stream())
    with pytest.raises(StrictLoadingError):
        list(shelves[0].readings)
    # a joined include cannot be cut into batches (an owner's rows would be split): loaded per batch
    joined = Shelf.query().order_by("id").includes("readings", strategy="join")
    with readings.capture_statements() as sql:
        streamed = [(s.name, sorted(r.n for r in s.readings)) for s in joined.stream(batch_size=2)]
    assert streamed == [(s.name, sorted(r.n for r in s.readings)) for s in joined.all()]
    assert len(sql) == 1 + 2  # the stream, and one batched query per batch of 2 shelves


# -- leaving early ---------------------------------------------------------------------------


def leave_by_break():
    for record in Reading.query().order_by("n").stream(batch_size=3):
        if record.n == 4:
            break


def leave_by_with():
    with Reading.query().order_by("n").stream(batch_size=3) as records:
        assert next(records).n == 0


def leave_by_exception():
    with pytest.raises(KeyError):
        for record in Reading.query().stream(batch_size=3):
            raise KeyError(record.n)


def leave_by_close():
    records = Reading.query().stream(batch_size=3)
    next(records)
    records.close()
    assert list(records) == []
    unread = Reading.query().stream()
    unread.close()  # before the first read: nothing ran, nothing will
    assert list(unread) == []


@pytest.mark.parametrize("leave", [leave_by_break, leave_by_with, leave_by_exception, leave_by_close],
                         ids=["break", "with", "exception", "close"])
def test_leaving_a_stream_early_frees_its_connection(readings, leave):
    leave()
    assert checked_out(readings) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyMySQL warns when it meets a half-read result
        assert Reading.query().count() == ROWS
        assert [r.n for r in Reading.query().order_by("n").stream(batch_size=7)] == list(range(ROWS))
    assert checked_out(readings) == 0


def test_a_failing_stream_raises_the_translated_error_and_frees_its_connection(readings):
    query = "SELECT * FROM no_such_table_here"
    with pytest.raises(ProgrammingError) as caught:
        next(readings.execute_stream(query))
    assert caught.value.sql == query and caught.value.original is not None
    assert checked_out(readings) == 0
    assert Reading.query().count() == ROWS


# -- transactions, connection() blocks, threads ---------------------------------------------------


def test_a_stream_in_a_transaction_sees_its_uncommitted_rows(readings):
    with Reading.transaction():
        Reading.create(n=100, label="uncommitted", price=Decimal("1.50"), taken_at=datetime(2024, 5, 1))
        assert [r.n for r in Reading.query().order_by("n").stream(batch_size=4)][-1] == 100
        leave_by_break()  # the transaction's connection is usable again at once
        assert Reading.query().count() == ROWS + 1
    assert Reading.query().count() == ROWS + 1
    with pytest.raises(KeyError):
        with Reading.transaction():
            Reading.where(n=0).delete_all()
            assert Reading.where(n=0).count() == 0
            assert 0 not in [r.n for r in Reading.query().stream(batch_size=10)]
            raise KeyError("roll back")
    assert Reading.where(n=0).count() == 1
    assert checked_out(readings) == 0


def test_the_loop_may_query_the_transaction_a_stream_reads_in(readings):
    if readings.name == "mysql":
        pytest.skip("MySQL runs nothing else on a connection a stream reads: see test_mysql_refuses_a_statement_on_the_connection_a_stream_is_reading")
    with Reading.transaction():
        Reading.where(n=0).update_all(label="changed")
        seen = [(r.label, r.shelf.name if r.shelf else None, Reading.where(n=r.n).count())
                for r in Reading.query().order_by("n").includes("shelf").stream(batch_size=4)]
    assert seen[0][0] == "changed" and len(seen) == ROWS and {count for *_, count in seen} == {1}


def test_two_streams_interleave_in_one_transaction(readings):
    if readings.name == "mysql":
        pytest.skip("MySQL runs nothing else on a connection a stream reads: see "
                    "test_mysql_refuses_a_statement_on_the_connection_a_stream_is_reading")
    with Reading.transaction():
        up = Reading.query().order_by("n").stream(batch_size=3)
        down = Reading.query().order_by("-n").stream(batch_size=4)
        pairs = [(a.n, b.n) for a, b in zip(up, down)]
    assert pairs == [(i, ROWS - 1 - i) for i in range(ROWS)]
    assert checked_out(readings) == 0


def test_a_stream_outlives_the_transaction_it_began_in(readings):
    with Reading.transaction():
        records = Reading.query().order_by("n").stream(batch_size=5)
        first = next(records)
    assert first.n == 0
    assert checked_out(readings) == 1  # still held: the stream shares the transaction's connection
    if readings.name in ("postgres", "mysql"):  # the cursor closed with its transaction / unread rows went
        with pytest.raises(ProgrammingError):
            list(records)
    else:  # SQLite's statement reads on
        assert [r.n for r in records] == list(range(1, ROWS))
    records.close()
    assert checked_out(readings) == 0
    assert not readings.in_transaction and Reading.query().count() == ROWS


def test_a_stream_in_a_connection_block_shares_the_block_s_connection(readings):
    with readings.connection():
        assert [r.n for r in Reading.query().order_by("n").stream(batch_size=4)] == list(range(ROWS))
        leave_by_break()
        assert Reading.query().count() == ROWS
    assert checked_out(readings) == 0


def test_reading_a_transaction_s_stream_from_another_thread_is_refused(readings):
    box = []
    with Reading.transaction():
        records = Reading.query().stream(batch_size=1)  # every next() reads from the database
        next(records)
        worker = threading.Thread(target=lambda: box.append(_error_of(lambda: next(records))))
        worker.start()
        worker.join(30)
        records.close()
    assert isinstance(box[0], TransactionError)
    assert checked_out(readings) == 0


def _error_of(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned to the test
        return exc
    return None


def test_two_threads_streaming_at_once_each_get_a_connection(readings):
    both_reading = threading.Barrier(2, timeout=30)
    both_looked = threading.Barrier(2, timeout=30)

    def stream(index):
        seen, held = [], 0
        for record in Reading.query().order_by("n").stream(batch_size=5):
            seen.append(record.n)
            if len(seen) == 1:  # both threads are inside their first batch here
                both_reading.wait()
                held = checked_out(readings)
                both_looked.wait()
        return seen, held

    results = run_threads(stream, 2, timeout=60)
    for seen, held in results:
        assert seen == list(range(ROWS))
        assert held >= 2
    assert checked_out(readings) == 0


def test_in_sqlite_memory_the_stream_and_the_loop_share_the_one_connection():
    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

    backend = Number.configure(SQLiteBackend(database=":memory:"))
    try:
        Number.create_table()
        Number.insert_many([{"n": i} for i in range(12)])
        seen = []
        for record in Number.query().order_by("n").stream(batch_size=5):
            seen.append((record.n, Number.where(n=record.n).count()))  # on the same connection
        assert seen == [(i, 1) for i in range(12)]
        leave = Number.query().stream(batch_size=5)
        next(leave)
        leave.close()
        assert Number.query().count() == 12 and checked_out(backend) == 0
    finally:
        backend.disconnect()
        type.__setattr__(Number, "__backend__", None)


# -- what differs per database ---------------------------------------------------------------------


def test_mysql_refuses_a_statement_on_the_connection_a_stream_is_reading(readings):
    """MySQL's protocol cannot interleave: the statement fails instead of cutting the stream short."""
    if readings.name != "mysql":
        pytest.skip("only MySQL/MariaDB connections are busy until a streamed result is read")
    with Reading.transaction():
        records = Reading.query().order_by("n").stream(batch_size=5)
        next(records)
        with pytest.raises(ProgrammingError, match="still reading the rows of a stream") as caught:
            Reading.query().count()
        assert caught.value.code == 2014
        with pytest.raises(ProgrammingError, match="still reading the rows of a stream"):
            next(Reading.query().stream())  # a second stream neither
        assert [r.n for r in records] == list(range(1, ROWS))  # the stream lost nothing
        assert Reading.query().count() == ROWS  # and the transaction goes on
    assert checked_out(readings) == 0
    discarded = readings.pool.stats().discarded
    leave_by_break()  # outside a transaction: its connection is closed, not read to the end
    assert readings.pool.stats().discarded == discarded + 1


def test_postgres_streams_leave_no_cursor_or_transaction_behind(readings):
    """PostgreSQL needs a transaction (or WITH HOLD) for a server-side cursor: each one ends with its stream."""
    if readings.name != "postgres":
        pytest.skip("only PostgreSQL's named cursors outlive a statement")
    opened = readings.pool.stats().opened
    leave_by_break()  # its own transaction, rolled back
    with readings.connection():
        leave_by_break()  # declared WITH HOLD, closed
        assert readings.fetch_all("SELECT name FROM pg_cursors") == []
        assert not readings.in_transaction
    assert readings.pool.stats().opened == opened  # nothing was discarded
    assert checked_out(readings) == 0


def test_postgres_error_halfway_through_a_stream_is_translated(readings):
    """Division by zero fails mid-result on PostgreSQL only (MySQL and SQLite make it NULL)."""
    if readings.name != "postgres":
        pytest.skip("no portable statement fails halfway through its rows")
    from rhosocial.activerecord.backend import DataError

    opened = readings.pool.stats().opened
    rows = readings.execute_stream("SELECT 10 / (10 - g) FROM generate_series(1, 20) g", batch_size=5)
    assert len(next(rows)) == 5
    with pytest.raises(DataError) as caught:
        list(rows)
    assert caught.value.code == "22012" and rows.closed
    assert checked_out(readings) == 0 and Reading.query().count() == ROWS
    assert readings.pool.stats().opened == opened  # rolled back and reused, not discarded


# -- async -----------------------------------------------------------------------------------------


def test_astream_loads_what_aall_loads_and_can_stop_early(readings):
    async def main():
        query = Reading.query().order_by("n")
        assert dumped([r async for r in query.astream(batch_size=4)]) == dumped(await query.aall())
        async with query.astream(batch_size=3) as records:
            async for record in records:
                if record.n == 4:
                    break
        assert [len(b) async for b in query.astream(batch_size=10).batches()] == [10, 10, 5]
        async with Reading.atransaction():
            await Reading.acreate(n=100, label="uncommitted", price=Decimal("2"), taken_at=datetime(2024, 5, 1))
            assert [r.n async for r in query.astream(batch_size=7)][-1] == 100
            async with query.astream(batch_size=3) as records:
                await records.__anext__()
            assert await Reading.query().acount() == ROWS + 1
        assert (readings.async_pool() or readings.pool).stats().checked_out == 0

    run_async(main, timeout=120)


def test_two_tasks_streaming_at_once_each_get_a_connection(readings):
    async def main():
        both_reading = asyncio.Barrier(2)

        async def stream():
            seen, held = [], 0
            async for record in Reading.query().order_by("n").astream(batch_size=5):
                seen.append(record.n)
                if len(seen) == 1:
                    await both_reading.wait()
                    held = readings.async_pool().stats().checked_out
                    await both_reading.wait()
            return seen, held

        return await asyncio.gather(stream(), stream())

    for seen, held in run_async(main, timeout=60):
        assert seen == list(range(ROWS)) and held >= 2


def test_an_astream_left_unclosed_warns_and_spoils_nothing(readings):
    async def main():
        query = Reading.query().order_by("n")
        with pytest.warns(ResourceWarning, match="was not closed"):
            async for record in query.astream(batch_size=3):
                break
        assert await Reading.query().acount() == ROWS
        async with Reading.atransaction():
            with pytest.warns(ResourceWarning, match="was not closed"):
                async for record in query.astream(batch_size=3):
                    break
            assert await Reading.query().acount() == ROWS  # MySQL reads the rest of it off first
            assert [r.n async for r in query.astream(batch_size=10)] == list(range(ROWS))

    run_async(main, timeout=120)


# -- memory ------------------------------------------------------------------------------------------

MILLION = 1_000_000
#: The bound on what streaming a million rows may add to the peak RSS. Measured against an
#: empty loop: stream() +0.0 to +1.2 MB (batch_size 100 to 10,000), astream() +0.5 MB on
#: PostgreSQL and +4 to +6 MB on MariaDB (asyncmy's read buffer), where all() adds about
#: 600 MB. 16 MB is well above that noise and far below holding even 3% of the rows.
RSS_BOUND_MB = 16
CHILD = r"""
import json, resource, sys
from rhosocial.activerecord import ActiveRecord
from rhosocial.activerecord.backend.registry import create_backend

name, settings, loop = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]

class Number(ActiveRecord):
    __tablename__ = "stream_numbers"
    n: int

Number.configure(create_backend(name, **settings))
Number.query().order_by("id").limit(1000).all()  # both runs: connected, loaders built, one batch made
count = 0
if loop == "stream":
    for record in Number.query().stream(batch_size=1000):
        count += 1
elif loop == "astream":
    import asyncio

    async def main():
        n = 0
        async for record in Number.query().astream(batch_size=1000):
            n += 1
        return n

    count = asyncio.run(main())
else:
    for _ in range(1_000_000):
        count += 1
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "count": count}))
"""
# A million rows from ten digits joined six times: one portable statement, made on the server.
DIGITS = "(" + " UNION ALL ".join(f"SELECT {d} AS d" for d in range(10)) + ")"
MILLION_ROWS = ("INSERT INTO stream_numbers (n) SELECT "
                + " + ".join(f"{10 ** i} * d{i}.d" for i in range(6)) + " FROM "
                + " CROSS JOIN ".join(f"{DIGITS} d{i}" for i in range(6)))


def child_peak(backend, loop):
    """Run the child with ``loop`` and return what it measured.

    Started by a shell in the background (``&``): a process forked straight
    from this one would inherit pytest's RSS as the floor of its ru_maxrss
    (Linux carries the peak across fork and exec), hiding what the child
    itself used.
    """
    config = backend.config
    settings = {k: v for k in ("database", "host", "port", "user", "password")
                if (v := getattr(config, k)) is not None}
    settings.update(config.options)
    out = subprocess.run(
        ["/bin/sh", "-c", '"$0" "$@" & wait $!', sys.executable, "-c", CHILD, backend.name,
         json.dumps(settings), loop], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KB, and carried across exec, on Linux")
def test_streaming_a_million_rows_keeps_the_peak_rss_flat(bind):
    backend = bind(Number)
    backend.execute(MILLION_ROWS)
    assert Number.query().count() == MILLION
    empty = child_peak(backend, "empty")
    for loop in ("stream", "astream"):
        streamed = child_peak(backend, loop)
        assert empty["count"] == streamed["count"] == MILLION
        grown = (streamed["peak_kb"] - empty["peak_kb"]) / 1024
        assert grown < RSS_BOUND_MB, f"{loop}: {MILLION:,} rows raised the peak RSS by {grown:.1f} MB"


def test_a_stream_reads_computed_annotations_as_all_does(readings):
    query = Reading.query().order_by("id").select(
        "id", "n", func.date_trunc("month", Reading.c.taken_at).label("month"),
        func.extract("day", Reading.c.taken_at).label("day"))
    streamed = list(query.stream(batch_size=4))
    assert dumped(streamed) == dumped(query.all())
    assert type(streamed[0].month) is datetime and type(streamed[0].day) is int
