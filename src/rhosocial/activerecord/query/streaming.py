"""Streaming a query's records as the database sends them (``Query.stream``, ``Query.astream``).

The backend reads the rows ``batch_size`` at a time
(:meth:`~rhosocial.activerecord.backend.base.StorageBackend.execute_stream`:
a server-side cursor where the driver has one), and each batch becomes
records exactly as ``Query.all()`` makes them: the same loader and
annotations, then eager loading (``includes()``: one batched query per
association level and batch; ``strategy="join"`` too, since joined rows
could not be cut into batches without splitting an owner's collection),
strict loading and read-only marks, applied to that batch. Memory holds
one batch, whatever the size of the result.
"""
from __future__ import annotations

import weakref
from typing import Any, AsyncIterator, Iterator, TypeVar

from ..backend.bridge import run

M = TypeVar("M")


class RecordStream(Iterator[M]):
    """The records of a query, loaded a batch at a time: ``for record in query.stream():``.

    The query runs at the first ``next()``. The stream holds a connection
    until its last record has been read or it is closed: leave it early with
    ``with query.stream() as records:`` (or ``close()``); in CPython a
    ``for`` loop that breaks out of it closes it too.
    """

    __slots__ = ("query", "batch_size", "_schema", "_rows", "_batch", "_closed", "__weakref__")

    def __init__(self, query: Any, batch_size: int) -> None:
        self.query = query
        self.batch_size = batch_size
        self._schema: Any = None  # the model's schema (its backend, compiler and loaders), at the first read
        self._rows: Any = None  # the backend's RowStream, made at the first read
        self._batch: Iterator[M] = iter(())
        self._closed = False

    def __iter__(self) -> "RecordStream[M]":
        return self

    def __next__(self) -> M:
        for record in self._batch:
            return record
        batch = self.next_batch()
        if batch is None:
            raise StopIteration
        self._batch = iter(batch)
        return next(self._batch)

    def batches(self) -> Iterator[list[M]]:
        """Yield the records a batch (``batch_size`` records, fewer at the end) at a time."""
        while True:
            batch = self.next_batch()
            if batch is None:
                return
            yield batch

    def next_batch(self) -> list[M] | None:
        """Read and load the next batch of records; ``None`` after the last one."""
        rest = list(self._batch)  # records of a batch begun with next()
        if rest:
            return rest
        if self._closed:
            return None
        query = self.query
        rows = self._rows
        if rows is None:
            schema = self._schema = query.model._schema()
            sql, params = schema.compiler.select(query)
            rows = self._rows = schema.backend.execute_stream(sql, params, self.batch_size)
        else:
            schema = self._schema
        batch = next(rows, None)
        if batch is None:
            return None
        records: list[M] = query._load(schema, rows.columns, batch)
        return records

    def close(self) -> None:
        """Stop reading and give the connection back."""
        self._closed = True
        self._batch = iter(())
        if self._rows is not None:
            self._rows.close()

    def __enter__(self) -> "RecordStream[M]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RecordStream of {self.query.model.__name__} batch_size={self.batch_size}>"


class AsyncRecordStream(AsyncIterator[M]):
    """``async for record in query.astream():`` the records of a query, a batch per awaited read.

    Leave it early with ``async with query.astream() as records:`` (or
    ``await records.aclose()``): an async iterator abandoned by ``break`` is
    not closed by the loop, and its finalizer cannot talk to the database.
    """

    __slots__ = ("_records", "_batch", "_ref")

    def __init__(self, records: RecordStream[M]) -> None:
        self._records = records
        self._batch: Iterator[M] = iter(())
        # What run() gets: a bridge may keep its first call's arguments for as long as it lives,
        # and a stream left unclosed must still be finalized (and its connection freed).
        self._ref = weakref.ref(records)

    def __aiter__(self) -> "AsyncRecordStream[M]":
        return self

    async def __anext__(self) -> M:
        for record in self._batch:
            return record
        batch = await run(_next_batch, self._ref)
        if batch is None:
            raise StopAsyncIteration
        self._batch = iter(batch)
        return next(self._batch)

    async def batches(self) -> AsyncIterator[list[M]]:
        """Yield the records a batch at a time (one awaited read each)."""
        while True:
            batch = await run(_next_batch, self._ref)
            if batch is None:
                return
            yield batch

    async def aclose(self) -> None:
        """Stop reading and give the connection back."""
        self._batch = iter(())
        await run(_close, self._ref)

    async def __aenter__(self) -> "AsyncRecordStream[M]":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def _next_batch(ref: "weakref.ref[RecordStream[Any]]") -> Any:
    records = ref()
    return None if records is None else records.next_batch()


def _close(ref: "weakref.ref[RecordStream[Any]]") -> None:
    records = ref()
    if records is not None:
        records.close()


def stream(query: Any, batch_size: int) -> RecordStream[Any]:
    """``Query.stream``: the query's records, read and loaded ``batch_size`` at a time.

    Raises:
        ValueError: ``batch_size`` is not a positive integer.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return RecordStream(query, batch_size)


def astream(query: Any, batch_size: int) -> AsyncRecordStream[Any]:
    """``Query.astream``: :func:`stream` for asyncio code."""
    return AsyncRecordStream(stream(query, batch_size))
