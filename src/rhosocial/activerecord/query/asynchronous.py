"""The ``a``-prefixed terminals of :class:`~rhosocial.activerecord.query.query.Query`, for asyncio code.

Each runs its synchronous namesake through
:func:`~rhosocial.activerecord.backend.bridge.run`: the same compiler, the
same loaders and eager loading, with the I/O awaited on the event loop.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Generic, TypeVar

from ..backend.bridge import run

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .streaming import AsyncRecordStream

M = TypeVar("M")
_DONE = object()


class AsyncQueryMethods(Generic[M]):
    """Async twins of the query terminals; ``async for record in query`` iterates the result."""

    __slots__ = ()

    if TYPE_CHECKING:
        def all(self) -> list[M]: ...
        def first(self) -> M | None: ...
        def last(self) -> M | None: ...
        def one(self) -> M: ...
        def exists(self) -> bool: ...
        def count(self) -> Any: ...
        def sum(self, column: Any) -> Any: ...
        def avg(self, column: Any) -> Any: ...
        def min(self, column: Any) -> Any: ...
        def max(self, column: Any) -> Any: ...
        def pluck(self, *columns: Any) -> list[Any]: ...
        def dicts(self) -> list[dict[str, Any]]: ...
        def update_all(self, all_rows: bool = False, returning: bool = False, **values: Any) -> Any: ...
        def delete_all(self, all_rows: bool = False, returning: bool = False) -> Any: ...
        def destroy_all(self, all_rows: bool = False, batch_size: int = 1000) -> int: ...
        def in_batches(self, batch_size: int = 1000) -> Iterator[list[M]]: ...
        def explain(self, analyze: bool = False) -> str: ...

    async def aall(self) -> list[M]:
        """``all()`` for async code (``includes()`` loads in the same statements as sync)."""
        return await run(self.all)

    async def aexplain(self, analyze: bool = False) -> str:
        """``explain()`` for async code."""
        return await run(self.explain, analyze)

    async def afirst(self) -> M | None:
        """``first()`` for async code."""
        return await run(self.first)

    async def alast(self) -> M | None:
        """``last()`` for async code."""
        return await run(self.last)

    async def aone(self) -> M:
        """``one()`` for async code."""
        return await run(self.one)

    async def aexists(self) -> bool:
        """``exists()`` for async code."""
        return await run(self.exists)

    async def acount(self) -> Any:
        """``count()`` for async code."""
        return await run(self.count)

    async def asum(self, column: Any) -> Any:
        """``sum()`` for async code."""
        return await run(self.sum, column)

    async def aavg(self, column: Any) -> Any:
        """``avg()`` for async code."""
        return await run(self.avg, column)

    async def amin(self, column: Any) -> Any:
        """``min()`` for async code."""
        return await run(self.min, column)

    async def amax(self, column: Any) -> Any:
        """``max()`` for async code."""
        return await run(self.max, column)

    async def apluck(self, *columns: Any) -> list[Any]:
        """``pluck()`` for async code."""
        return await run(self.pluck, *columns)

    async def adicts(self) -> list[dict[str, Any]]:
        """``dicts()`` for async code."""
        return await run(self.dicts)

    async def aupdate_all(self, all_rows: bool = False, returning: bool = False, **values: Any) -> Any:
        """``update_all()`` for async code."""
        return await run(self.update_all, all_rows, returning, **values)

    async def adelete_all(self, all_rows: bool = False, returning: bool = False) -> Any:
        """``delete_all()`` for async code."""
        return await run(self.delete_all, all_rows, returning)

    async def adestroy_all(self, all_rows: bool = False, batch_size: int = 1000) -> int:
        """``destroy_all()`` for async code."""
        return await run(self.destroy_all, all_rows, batch_size)

    async def ain_batches(self, batch_size: int = 1000) -> AsyncIterator[list[M]]:
        """``in_batches()`` for async code: each batch is one awaited query."""
        batches = self.in_batches(batch_size)
        try:
            while True:
                batch = await run(next, batches, _DONE)
                if batch is _DONE:
                    return
                yield batch  # type: ignore[misc, unused-ignore]
        finally:
            batches.close()  # type: ignore[attr-defined]

    async def afind_each(self, batch_size: int = 1000) -> AsyncIterator[M]:
        """``find_each()`` for async code: ``async for record in query.afind_each():``."""
        async for batch in self.ain_batches(batch_size):
            for record in batch:
                yield record

    def astream(self, batch_size: int = 1000) -> "AsyncRecordStream[M]":
        """``stream()`` for async code: ``async for record in query.astream():``, a batch per awaited read.

        To stop early, ``async with query.astream() as records:`` (or ``await
        records.aclose()``): see :class:`~rhosocial.activerecord.query.streaming.AsyncRecordStream`.
        """
        from .streaming import astream

        return astream(self, batch_size)

    async def __aiter__(self) -> AsyncIterator[M]:
        """``async for record in query``: runs the query once, then yields its records."""
        for record in await self.aall():
            yield record
