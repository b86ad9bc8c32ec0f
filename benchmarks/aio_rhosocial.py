"""asyncio benchmark: this project, through its public async API only.

One ``configure(url=..., pool_size=P, max_overflow=0)`` for the process; every
task awaits the model's ``a``-twins (``afind``, ``asave``, ``acreate``), as
request handlers of an async web framework would. The async calls borrow
from the event loop's own pool of ``P`` async connections (psycopg
``AsyncConnection`` on PostgreSQL, asyncmy on MariaDB, a thread per
connection on SQLite).
"""
from __future__ import annotations

from typing import Any

from common import Database
from thr_rhosocial import url_for

from rhosocial.activerecord import ActiveRecord, Field, configure

TABLE = "bench_aio_rhosocial"


class AioUser(ActiveRecord):
    __tablename__ = TABLE

    name: str = Field(max_length=100)
    email: str = Field(max_length=255)
    age: int
    score: int


class Worker:
    """Nothing per task: the configured backend is shared by the whole process."""

    async def find(self, pk: int) -> AioUser:
        return await AioUser.afind(pk)

    async def update(self, pk: int, score: int) -> int:
        user = await AioUser.afind(pk)
        old = user.score
        user.score = score
        await user.asave()
        return old

    async def create(self, name: str, email: str, age: int, score: int) -> int:
        return (await AioUser.acreate(name=name, email=email, age=age, score=score)).id

    async def close(self) -> None:
        pass


class Library:
    key = "rhosocial"
    name = "rhosocial (async)"

    def __init__(self, db: Database, pool_size: int) -> None:
        self.db, self.pool_size = db, pool_size
        self.backend: Any = None
        self.note = f"configure(url=..., pool_size={pool_size}, max_overflow=0), a-twins of the model API"

    async def setup(self) -> None:
        self.backend = configure(url=url_for(self.db), pool_size=self.pool_size, max_overflow=0)
        await self.backend.aconnect()

    def worker(self) -> Worker:
        return Worker()

    # -- latency: the same model, awaited and synchronous ------------------------------

    async def afind(self, pk: int) -> Any:
        return await AioUser.afind(pk)

    def find(self, pk: int) -> Any:
        return AioUser.find(pk)

    async def teardown(self) -> None:
        if self.backend is not None:
            await self.backend.adisconnect()  # the loop's async pool and the sync pool
