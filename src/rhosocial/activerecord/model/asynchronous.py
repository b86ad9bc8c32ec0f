"""The ``a``-prefixed twins of the model API, for asyncio code.

Each twin runs its synchronous namesake through
:func:`~rhosocial.activerecord.backend.bridge.run`: the same code, with its
I/O awaited on the event loop (see that module). There is no second
implementation to drift: ``await Post.afind(1)`` compiles, converts,
validates and fires hooks exactly as ``Post.find(1)`` does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Self, Sequence

import inspect

from ..backend.bridge import await_, in_bridge, run
from ..errors import ActiveRecordError



class AsyncRecordMethods:
    """Async twins of the class and record methods of :class:`ActiveRecord`."""

    if TYPE_CHECKING:  # what ActiveRecord defines
        save: Callable[..., Any]
        update: Callable[..., Any]
        delete: Callable[[], bool]
        refresh: Callable[[], Any]
        create: Callable[..., Any]
        find: Callable[..., Any]
        find_by: Callable[..., Any]
        find_by_sql: Callable[..., Any]
        all: Callable[[], Any]
        count: Callable[[], int]
        insert_many: Callable[..., int]
        create_table: Callable[..., None]
        drop_table: Callable[..., None]
        table_exists: Callable[[], bool]
        backend: Callable[[], Any]
        is_valid: Callable[..., bool]

    # -- records ---------------------------------------------------------------------

    async def asave(self, validate: bool = True) -> Self:
        """``save()`` for async code."""
        return await run(self.save, validate)

    async def ais_valid(self, on: str | None = None) -> bool:
        """``is_valid()`` for async code (its uniqueness queries and async hooks are awaited)."""
        return await run(self.is_valid, on)

    async def aupdate(self, **attributes: Any) -> Self:
        """``update()`` for async code."""
        return await run(self.update, **attributes)

    async def adelete(self) -> bool:
        """``delete()`` for async code."""
        return await run(self.delete)

    async def arefresh(self) -> Self:
        """``refresh()`` for async code."""
        return await run(self.refresh)

    async def aload(self, *names: str) -> Any:
        """Load associations ``names`` (cached on the record, as ``includes()`` does); return the first.

        The explicit, awaited form of a lazy read: ``author = await
        post.aload("author")``, ``posts = await user.aload("posts")`` (a
        list). Already loaded associations are not read again.
        """
        if not names:
            raise TypeError("aload() needs the name of at least one association")
        return await run(_load, self, names)

    # -- classes ---------------------------------------------------------------------

    @classmethod
    async def acreate(cls, **attributes: Any) -> Self:
        """``create()`` for async code."""
        return await run(cls.create, **attributes)

    @classmethod
    async def afind(cls, pk: Any) -> Self:
        """``find()`` for async code."""
        return await run(cls.find, pk)

    @classmethod
    async def afind_by(cls, **equals: Any) -> Self | None:
        """``find_by()`` for async code."""
        return await run(cls.find_by, **equals)

    @classmethod
    async def afind_by_sql(cls, sql: str, params: Sequence[Any] = ()) -> list[Self]:
        """``find_by_sql()`` for async code."""
        return await run(cls.find_by_sql, sql, params)

    @classmethod
    async def aall(cls) -> list[Self]:
        """``all()`` for async code."""
        return await run(cls.all)

    @classmethod
    async def acount(cls) -> int:
        """``count()`` for async code."""
        return await run(cls.count)

    @classmethod
    async def ainsert_many(cls, records: Sequence[Any], **options: Any) -> Any:
        """``insert_many()`` for async code."""
        return await run(cls.insert_many, records, **options)

    @classmethod
    async def aupsert_all(cls, records: Sequence[Any], **options: Any) -> Any:
        """``upsert_all()`` for async code."""
        return await run(cls.upsert_all, records, **options)  # type: ignore[attr-defined]

    @classmethod
    async def aupsert(cls, **attributes: Any) -> Self:
        """``upsert()`` for async code."""
        return await run(cls.upsert, **attributes)  # type: ignore[attr-defined]

    @classmethod
    async def abulk_update(cls, records: Sequence[Any], fields: Any, **options: Any) -> int:
        """``bulk_update()`` for async code."""
        return await run(cls.bulk_update, records, fields, **options)  # type: ignore[attr-defined]

    @classmethod
    async def afind_or_create_by(cls, defaults: dict[str, Any] | None = None, **attributes: Any) -> Self:
        """``find_or_create_by()`` for async code."""
        return await run(cls.find_or_create_by, defaults, **attributes)  # type: ignore[attr-defined]

    @classmethod
    async def afind_or_initialize_by(cls, defaults: dict[str, Any] | None = None, **attributes: Any) -> Self:
        """``find_or_initialize_by()`` for async code."""
        return await run(cls.find_or_initialize_by, defaults, **attributes)  # type: ignore[attr-defined]

    @classmethod
    async def acreate_or_find_by(cls, defaults: dict[str, Any] | None = None, **attributes: Any) -> Self:
        """``create_or_find_by()`` for async code."""
        return await run(cls.create_or_find_by, defaults, **attributes)  # type: ignore[attr-defined]

    @classmethod
    async def aupdate_or_create(cls, defaults: dict[str, Any] | None = None, **attributes: Any) -> Self:
        """``update_or_create()`` for async code."""
        return await run(cls.update_or_create, defaults, **attributes)  # type: ignore[attr-defined]

    async def aupdate_columns(self, **values: Any) -> Self:
        """``update_columns()`` for async code."""
        return await run(self.update_columns, **values)  # type: ignore[attr-defined]

    @classmethod
    async def acreate_table(cls, if_not_exists: bool = False) -> None:
        """``create_table()`` for async code."""
        await run(cls.create_table, if_not_exists)

    @classmethod
    async def adrop_table(cls, if_exists: bool = False) -> None:
        """``drop_table()`` for async code."""
        await run(cls.drop_table, if_exists)

    @classmethod
    async def atable_exists(cls) -> bool:
        """``table_exists()`` for async code."""
        return await run(cls.table_exists)

    @classmethod
    def atransaction(cls, isolation_level: Any = None, read_only: bool = False, **options: Any) -> Any:
        """``async with Model.atransaction():`` the async form of :meth:`transaction`."""
        return cls.backend().atransaction(isolation_level, read_only, **options)

    @classmethod
    async def arun_in_transaction(cls, fn: Callable[[], Any], *, retries: int = 3, **options: Any) -> Any:
        """Run ``fn()`` (plain or ``async def``) in a transaction, retrying like ``run_in_transaction``."""
        from ..errors import StaleObjectError
        from ..backend.errors import DeadlockError, SerializationError

        options.setdefault("retry_on", (SerializationError, DeadlockError, StaleObjectError))
        return await cls.backend().arun_in_transaction(fn, retries=retries, **options)


def _load(record: Any, names: Sequence[str]) -> Any:
    """Read each association (inside a bridge, so a lazy read awaits its query)."""
    from ..relation.associations import association
    from ..relation.collection import CollectionProxy

    values = []
    for name in names:
        association(type(record), name)  # an unknown name fails with the list of known ones
        value = getattr(record, name)
        values.append(value.all() if isinstance(value, CollectionProxy) else value)
    return values[0]


def settled(value: Any, record: Any, event: str) -> Any:
    """What a hook returned, awaited if it was ``async def`` (inside an ``a``-method).

    Raises:
        ActiveRecordError: an async hook in a synchronous call (``save()``
            rather than ``await asave()``): nothing can await it there.
    """
    if not inspect.isawaitable(value):
        return value
    if in_bridge():
        return await_(value)
    if inspect.iscoroutine(value):
        value.close()
    raise ActiveRecordError(
        f"{type(record).__name__}.{event} is an async hook, but it ran in a synchronous call: "
        f"use the async method (await record.asave(), adelete(), Model.acreate() ...) so it can "
        f"be awaited, or make the hook a plain def")
