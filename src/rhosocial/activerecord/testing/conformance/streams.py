"""Streams: ``Query.stream()``, ``astream()`` and ``execute_stream()`` through the backend's ``_stream_*`` hooks.

A stream returns what ``all()`` returns, a batch at a time; however it
ends (read to its end, left by ``break``, closed, failed, outlived by its
transaction) its connection goes back to the pool in a state the next
statement can use. What no portable test can ask is left out: whether a
statement may run on the connection a stream is still reading (MySQL's
protocol refuses it).
"""
from __future__ import annotations

import contextlib
import warnings

import pytest

from rhosocial.activerecord import ActiveRecord, Field
from rhosocial.activerecord.backend.errors import ProgrammingError

from ..aio import run_async

ROWS = 23


class KitStreamed(ActiveRecord):
    __tablename__ = "kit_streamed"
    n: int
    label: str = Field(max_length=20)


def _in_use(backend) -> int:
    pools = [backend.pool, backend.async_pool()]
    return sum(pool.stats().checked_out for pool in pools if pool is not None)


class TestStreams:
    """Every way a stream can end leaves the backend as it found it."""

    @pytest.fixture
    def rows(self, backend):
        KitStreamed.configure(backend)
        KitStreamed.create_table()
        KitStreamed.insert_many([{"n": i, "label": f"row {i}"} for i in range(ROWS)])
        yield backend
        backend.disconnect()  # async tests' loops are gone: close their pools now
        type.__setattr__(KitStreamed, "__backend__", None)

    @staticmethod
    def ordered():
        return KitStreamed.query().order_by("n")

    def test_records_come_in_batches_and_equal_all(self, rows):
        expected = [r.model_dump() for r in self.ordered().all()]
        for size in (1, 5, ROWS, 1000):
            assert [r.model_dump() for r in self.ordered().stream(batch_size=size)] == expected
        assert [len(b) for b in self.ordered().stream(batch_size=10).batches()] == [10, 10, 3]
        assert list(KitStreamed.where(n=-1).stream()) == []
        assert _in_use(rows) == 0

    def test_execute_stream_names_its_columns_and_closes_at_the_end(self, rows):
        text = rows.dialect.convert_placeholders(
            f"SELECT n FROM {rows.dialect.quote_identifier('kit_streamed')} WHERE n < ? ORDER BY n")
        stream = rows.execute_stream(text, [3], batch_size=2)
        assert stream.columns == ("n",)
        assert list(stream) == [[(0,), (1,)], [(2,)]]
        assert stream.closed and _in_use(rows) == 0

    def test_leaving_early_gives_the_connection_back(self, rows):
        for record in self.ordered().stream(batch_size=4):
            if record.n == 5:
                break
        with self.ordered().stream(batch_size=4) as records:
            assert next(records).n == 0
        unread = self.ordered().stream()
        unread.close()  # before the first read: nothing ran
        assert list(unread) == []
        assert _in_use(rows) == 0
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a driver that meets a half-read result warns
            assert KitStreamed.query().count() == ROWS
            assert [r.n for r in self.ordered().stream(batch_size=7)] == list(range(ROWS))

    def test_a_failing_stream_raises_a_translated_error(self, rows):
        text = "SELECT * FROM kit_no_such_table"
        with pytest.raises(ProgrammingError) as caught:
            next(rows.execute_stream(text))
        assert caught.value.sql == text and caught.value.original is not None
        assert _in_use(rows) == 0 and KitStreamed.query().count() == ROWS

    def test_a_stream_in_a_transaction_reads_its_uncommitted_rows(self, rows):
        with pytest.raises(KeyError), rows.transaction():
            KitStreamed.create(n=100, label="uncommitted")
            assert [r.n for r in self.ordered().stream(batch_size=6)][-1] == 100
            for record in self.ordered().stream(batch_size=4):
                if record.n == 2:
                    break  # the transaction's connection is usable again at once
            assert KitStreamed.query().count() == ROWS + 1
            raise KeyError("roll back")
        assert KitStreamed.query().count() == ROWS and _in_use(rows) == 0

    def test_a_stream_in_a_connection_block_shares_its_connection(self, rows):
        with rows.connection():
            assert [r.n for r in self.ordered().stream(batch_size=4)] == list(range(ROWS))
            with self.ordered().stream(batch_size=4) as records:
                next(records)
            assert KitStreamed.query().count() == ROWS
        assert _in_use(rows) == 0

    def test_a_stream_that_outlives_its_transaction(self, rows):
        with rows.transaction():
            records = self.ordered().stream(batch_size=5)
            assert next(records).n == 0
        try:  # reads on where the cursor survives the transaction; refuses clearly where it cannot
            rest = [r.n for r in records]
        except ProgrammingError:
            pass
        else:
            assert rest == list(range(1, ROWS))
        records.close()
        assert _in_use(rows) == 0 and not rows.in_transaction
        assert KitStreamed.query().count() == ROWS

    def _async(self, rows):
        if not rows.supports_async:
            pytest.skip(f"{rows.name}: supports_async is false (async_mode is None)")

    def test_astream_equals_aall_and_stops_early(self, rows):
        self._async(rows)

        async def main() -> None:
            query = self.ordered()
            expected = [r.model_dump() for r in await query.aall()]
            assert [r.model_dump() async for r in query.astream(batch_size=4)] == expected
            assert [len(b) async for b in query.astream(batch_size=10).batches()] == [10, 10, 3]
            async with query.astream(batch_size=3) as records:
                async for record in records:
                    if record.n == 4:
                        break
            async with rows.atransaction():
                await KitStreamed.acreate(n=100, label="uncommitted")
                assert [r.n async for r in query.astream(batch_size=7)][-1] == 100
                async with query.astream(batch_size=3) as records:
                    await records.__anext__()
                assert await KitStreamed.query().acount() == ROWS + 1
            assert _in_use(rows) == 0

        run_async(main, timeout=120)

    def test_an_astream_left_unclosed_warns_and_spoils_nothing(self, rows):
        self._async(rows)

        async def main() -> None:
            for inside_a_transaction in (False, True):
                async with rows.atransaction() if inside_a_transaction else contextlib.nullcontext():
                    records = self.ordered().astream(batch_size=3)
                    assert (await records.__anext__()).n == 0
                    with pytest.warns(ResourceWarning, match="not closed"):
                        del records  # finalized at once (CPython counts references)
                    assert await KitStreamed.query().acount() == ROWS
                    assert [r.n async for r in self.ordered().astream(batch_size=10)] == list(range(ROWS))

        run_async(main, timeout=120)

    def test_a_failing_astream_raises_a_translated_error(self, rows):
        self._async(rows)

        async def main() -> None:
            with pytest.raises(ProgrammingError):
                async for _ in KitStreamed.where("kit_missing_column = ?", 1).astream():
                    pass
            assert await KitStreamed.query().acount() == ROWS

        run_async(main, timeout=60)

