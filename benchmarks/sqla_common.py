"""What the SQLAlchemy ORM modules of the threads and asyncio benchmarks share.

The user model's columns (each module maps them on its own table) and the
engine's pool settings; the sessions differ (``Session`` or ``AsyncSession``)
and stay in thr_sqla_orm.py and aio_sqla.py.
"""
from __future__ import annotations

from typing import Any

from common import Database
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class UserColumns:
    """The benchmark table's columns, mapped by each subclass of ``Base`` that names a table."""

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255))
    age: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[int] = mapped_column(BigInteger)


def engine_options(db: Database, pool_size: int) -> dict[str, Any]:
    """A pool of ``pool_size`` connections and no overflow, for ``create_engine`` and ``create_async_engine``."""
    # SQLite: the same 30 s busy timeout as every library (the file is in WAL mode)
    connect_args = {"timeout": 30} if db.kind == "sqlite" else {}
    return {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": 30, "connect_args": connect_args}
