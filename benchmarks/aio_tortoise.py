"""asyncio benchmark: Tortoise ORM, configured once with ``Tortoise.init``.

PostgreSQL through Tortoise's psycopg backend (``tortoise.backends.psycopg``:
psycopg 3 ``AsyncConnection`` in a ``psycopg_pool.AsyncConnectionPool``),
MariaDB through its MySQL backend on asyncmy (an ``asyncmy`` pool), SQLite
through aiosqlite. Pool: ``minsize = maxsize = P``. Each operation is one
awaited model call outside a transaction, as Tortoise's docs write them
(``get``, ``save``, ``create``); ``save()`` without ``update_fields`` writes
every column, which is Tortoise's documented default.
"""
from __future__ import annotations

from typing import Any

from common import Database
from tortoise import Tortoise, fields
from tortoise.models import Model

TABLE = "bench_aio_tortoise"


class TUser(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=255)
    age = fields.BigIntField()
    score = fields.BigIntField()

    class Meta:
        table = TABLE
        app = "bench"


class Worker:
    """Nothing per task: Tortoise's connections are process-wide (its context is inherited by tasks)."""

    async def find(self, pk: int) -> TUser:
        return await TUser.get(id=pk)

    async def update(self, pk: int, score: int) -> int:
        user = await TUser.get(id=pk)
        old = user.score
        user.score = score
        await user.save()
        return old

    async def create(self, name: str, email: str, age: int, score: int) -> int:
        return (await TUser.create(name=name, email=email, age=age, score=score)).id

    async def close(self) -> None:
        pass


class Library:
    key = "tortoise"
    name = "Tortoise ORM"

    def __init__(self, db: Database, pool_size: int) -> None:
        self.db, self.pool_size = db, pool_size
        self.connections = 1 if db.kind == "sqlite" else pool_size  # its SQLite client holds one connection
        self.started = False
        engine = {"postgres": "psycopg", "mysql": "mysql (asyncmy)", "sqlite": "sqlite (aiosqlite)"}[db.kind]
        self.note = (f"{engine} backend, minsize=maxsize={pool_size}" if db.kind != "sqlite"
                     else f"{engine} backend, which has one connection and no pool")

    def _connection(self) -> dict[str, Any]:
        db = self.db
        if db.kind == "sqlite":
            return {"engine": "tortoise.backends.sqlite", "credentials": {"file_path": db.path}}
        credentials: dict[str, Any] = {"host": db.host, "port": db.port, "user": db.user,
                                       "database": db.database, "minsize": self.pool_size,
                                       "maxsize": self.pool_size}
        if db.kind == "postgres":
            credentials["password"] = db.password or None
            return {"engine": "tortoise.backends.psycopg", "credentials": credentials}
        credentials.update(password=db.password, charset="utf8mb4")
        return {"engine": "tortoise.backends.mysql", "credentials": credentials}

    async def setup(self) -> None:
        # Must run in the task that later creates the workers: Tortoise keeps its context in a
        # contextvar, which tasks inherit from their creator.
        await Tortoise.init(config={
            "connections": {"default": self._connection()},
            "apps": {"bench": {"models": [__name__], "default_connection": "default"}},
            "use_tz": False,
        })
        self.started = True
        await TUser.filter(id=1).first()  # opens the pool

    def worker(self) -> Worker:
        return Worker()

    async def teardown(self) -> None:
        if self.started:
            await Tortoise.close_connections()
