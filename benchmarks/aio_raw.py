"""asyncio benchmark, the floor: the async drivers with their own pools and nothing else.

PostgreSQL: psycopg 3 ``AsyncConnection`` through ``psycopg_pool.AsyncConnectionPool``
(``P`` connections, autocommit, ``AsyncRawCursor`` with ``$n`` placeholders as
rhosocial's backend binds), one connection checked out per operation.
MariaDB: asyncmy's own pool (``asyncmy.create_pool``, ``P`` connections,
autocommit), one connection checked out per operation.
SQLite: ``P`` aiosqlite connections (each runs on a thread of its own) handed
out from an ``asyncio.Queue``, one per operation.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from common import Database
from harness import FORMAT_PARAMS, PG_PARAMS, QMARK_PARAMS, Row, pg_conninfo, statements

TABLE = "bench_aio_raw"


class PgWorker:
    """PostgreSQL: a pooled ``AsyncConnection`` per operation."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.select, self.update_sql, self.insert = statements(TABLE, PG_PARAMS, returning=True)

    async def find(self, pk: int) -> Row:
        async with self.pool.connection() as conn:
            cur = await conn.execute(self.select, (pk,))
            return Row(*await cur.fetchone())

    async def update(self, pk: int, score: int) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(self.select, (pk,))
            row = Row(*await cur.fetchone())
            old, row.score = row.score, score
            await conn.execute(self.update_sql, (row.score, row.id))
        return old

    async def create(self, name: str, email: str, age: int, score: int) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(self.insert, (name, email, age, score))
            return int((await cur.fetchone())[0])

    async def close(self) -> None:
        pass


class MyWorker:
    """MariaDB: a connection from asyncmy's pool per operation."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.select, self.update_sql, self.insert = statements(TABLE, FORMAT_PARAMS)

    async def find(self, pk: int) -> Row:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(self.select, (pk,))
            return Row(*await cur.fetchone())

    async def update(self, pk: int, score: int) -> int:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(self.select, (pk,))
            row = Row(*await cur.fetchone())
            old, row.score = row.score, score
            await cur.execute(self.update_sql, (row.score, row.id))
        return old

    async def create(self, name: str, email: str, age: int, score: int) -> int:
        async with self.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(self.insert, (name, email, age, score))
            return int(cur.lastrowid)

    async def close(self) -> None:
        pass


class SqlitePool:
    """SQLite: ``P`` aiosqlite connections (autocommit) in a queue; aiosqlite has no pool of its own."""

    def __init__(self, path: str, size: int) -> None:
        self.path, self.size = path, size
        self.idle: asyncio.Queue[Any] = asyncio.Queue()
        self.all: list[Any] = []

    async def open(self) -> None:
        import aiosqlite

        for _ in range(self.size):
            conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
            self.all.append(conn)
            self.idle.put_nowait(conn)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        conn = await self.idle.get()
        try:
            yield conn
        finally:
            self.idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self.all:
            await conn.close()


class SqliteWorker:
    """SQLite: a pooled aiosqlite connection per operation."""

    def __init__(self, pool: SqlitePool) -> None:
        self.pool = pool
        self.select, self.update_sql, self.insert = statements(TABLE, QMARK_PARAMS)

    async def find(self, pk: int) -> Row:
        async with self.pool.connection() as conn, conn.execute(self.select, (pk,)) as cur:
            return Row(*await cur.fetchone())

    async def update(self, pk: int, score: int) -> int:
        async with self.pool.connection() as conn:
            async with conn.execute(self.select, (pk,)) as cur:
                row = Row(*await cur.fetchone())
            old, row.score = row.score, score
            await conn.execute(self.update_sql, (row.score, row.id))
        return old

    async def create(self, name: str, email: str, age: int, score: int) -> int:
        async with self.pool.connection() as conn, conn.execute(self.insert, (name, email, age, score)) as cur:
            return int(cur.lastrowid)

    async def close(self) -> None:
        pass


class Library:
    key = "raw"
    name = "raw async driver"

    def __init__(self, db: Database, pool_size: int) -> None:
        self.db, self.pool_size = db, pool_size
        self.pool: Any = None
        self.note = {"postgres": f"psycopg_pool.AsyncConnectionPool(min_size=max_size={pool_size}), "
                                 "a connection per operation",
                     "mysql": f"asyncmy.create_pool(minsize=maxsize={pool_size}), a connection per operation",
                     "sqlite": f"{pool_size} aiosqlite connections in an asyncio.Queue, a connection per "
                               "operation"}[db.kind]

    async def setup(self) -> None:
        db = self.db
        if db.kind == "postgres":
            import psycopg
            from psycopg_pool import AsyncConnectionPool

            self.pool = AsyncConnectionPool(pg_conninfo(db), min_size=self.pool_size,
                                            max_size=self.pool_size, open=False, timeout=30,
                                            kwargs={"autocommit": True,
                                                    "cursor_factory": psycopg.AsyncRawCursor})
            await self.pool.open(wait=True, timeout=30)
        elif db.kind == "mysql":
            import asyncmy

            self.pool = await asyncmy.create_pool(
                minsize=self.pool_size, maxsize=self.pool_size, host=db.host, port=db.port, user=db.user,
                password=db.password, db=db.database, autocommit=True, charset="utf8mb4")
        else:
            self.pool = SqlitePool(db.path, self.pool_size)
            await self.pool.open()

    def worker(self) -> PgWorker | MyWorker | SqliteWorker:
        if self.db.kind == "postgres":
            return PgWorker(self.pool)
        if self.db.kind == "mysql":
            return MyWorker(self.pool)
        return SqliteWorker(self.pool)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[Callable[[int], Awaitable[Any]]]:
        """One connection and cursor kept for a series of lookups: the latency without the pool."""
        params = {"postgres": PG_PARAMS, "mysql": FORMAT_PARAMS}.get(self.db.kind, QMARK_PARAMS)
        select = statements(TABLE, params)[0]
        if self.db.kind == "postgres":
            async with self.pool.connection() as conn:
                cur = conn.cursor()

                async def fetch(pk: int) -> Any:
                    await cur.execute(select, (pk,))
                    return await cur.fetchone()

                yield fetch
        elif self.db.kind == "mysql":
            async with self.pool.acquire() as conn, conn.cursor() as cur:

                async def fetch(pk: int) -> Any:
                    await cur.execute(select, (pk,))
                    return await cur.fetchone()

                yield fetch
        else:
            async with self.pool.connection() as conn:

                async def fetch(pk: int) -> Any:
                    async with conn.execute(select, (pk,)) as cur:
                        return await cur.fetchone()

                yield fetch

    async def teardown(self) -> None:
        if self.pool is None:
            return
        if self.db.kind == "postgres":
            await self.pool.close(timeout=5)
        elif self.db.kind == "sqlite":
            await self.pool.close()
        else:
            self.pool.close()
            await self.pool.wait_closed()
