"""asyncio benchmark: SQLAlchemy 2 asyncio ORM (``AsyncSession``) on an ``AsyncAdaptedQueuePool``.

Drivers: ``postgresql+psycopg`` (psycopg 3's ``AsyncConnection``),
``mysql+asyncmy``, ``sqlite+aiosqlite``. Session lifecycle as in the
threads benchmark: a new ``AsyncSession`` per operation (one operation
stands for one request); reads use ``async with Session()``, writes
``async with Session.begin()``. ``expire_on_commit=False``, as SQLAlchemy's
asyncio docs advise, so attributes stay readable after a commit without an
implicit (and, under asyncio, impossible) lazy load.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from common import Database
from sqla_common import Base, UserColumns, engine_options
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

TABLE = "bench_aio_sqla"


class AUser(UserColumns, Base):
    __tablename__ = TABLE


def async_url(db: Database) -> str:
    """The async engine URL for ``db``."""
    if db.kind == "sqlite":
        return f"sqlite+aiosqlite:///{db.path}"
    scheme = "postgresql+psycopg" if db.kind == "postgres" else "mysql+asyncmy"
    auth = quote(db.user, safe="") + (f":{quote(db.password, safe='')}" if db.password else "")
    tail = "?charset=utf8mb4" if db.kind == "mysql" else ""
    return f"{scheme}://{auth}@{db.host}:{db.port}/{db.database}{tail}"


class Worker:
    """Holds only the process-wide session factory; each call is one request."""

    def __init__(self, factory: Any) -> None:
        self.Session = factory

    async def find(self, pk: int) -> AUser | None:
        async with self.Session() as session:
            return await session.get(AUser, pk)

    async def update(self, pk: int, score: int) -> int:
        async with self.Session.begin() as session:
            user = await session.get_one(AUser, pk)
            old = user.score
            user.score = score
        return old

    async def create(self, name: str, email: str, age: int, score: int) -> int:
        async with self.Session.begin() as session:
            user = AUser(name=name, email=email, age=age, score=score)
            session.add(user)
            await session.flush()  # the INSERT, which reads the key
            return user.id

    async def close(self) -> None:
        pass


class Library:
    key = "sqla"
    name = "SQLAlchemy asyncio ORM"

    def __init__(self, db: Database, pool_size: int) -> None:
        self.db, self.pool_size = db, pool_size
        self.engine: Any = None
        self.note = (f"create_async_engine(pool_size={pool_size}, max_overflow=0), "
                     "an AsyncSession per operation")

    async def setup(self) -> None:
        self.engine = create_async_engine(async_url(self.db), **engine_options(self.db, self.pool_size))
        self.factory = async_sessionmaker(self.engine, expire_on_commit=False)

    def worker(self) -> Worker:
        return Worker(self.factory)

    async def teardown(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
