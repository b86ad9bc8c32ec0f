"""Threads benchmark: SQLAlchemy 2.x ORM on a QueuePool of ``threads`` connections.

Session lifecycle: a new ``Session`` per operation, where one operation
stands for one web request. SQLAlchemy's session docs ("When do I construct a
Session, when do I commit it, and when do I close it?") tie a Session's scope
to the request and keep it outside the data-access code; ``scoped_session``
is described there as one registry for doing that (a thread-local Session
that the framework must still ``remove()`` at the end of each request), not
as a different scope. Without a framework, ``with Session() as s:`` per
request is that scope written out, and it leaves no thread-local state behind
between requests. Reads use ``Session()`` (the connection goes back to the
pool with a ROLLBACK on close), writes ``Session.begin()`` (COMMIT on exit).
"""
from __future__ import annotations

from typing import Any

from common import Database
from sqlalchemy import BigInteger, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

TABLE = "bench_thr_sqla_orm"


class Base(DeclarativeBase):
    pass


class SUser(Base):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255))
    age: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[int] = mapped_column(BigInteger)


class Worker:
    """Holds only the process-wide session factory; each call is one request."""

    def __init__(self, factory: Any) -> None:
        self.Session = factory

    def find(self, pk: int) -> SUser | None:
        with self.Session() as session:
            return session.get(SUser, pk)  # loaded attributes stay readable once detached

    def update(self, pk: int, score: int) -> int:
        with self.Session.begin() as session:
            user = session.get_one(SUser, pk)
            old = user.score
            user.score = score
        return old

    def create(self, name: str, email: str, age: int, score: int) -> int:
        with self.Session.begin() as session:
            user = SUser(name=name, email=email, age=age, score=score)
            session.add(user)
            session.flush()  # the INSERT; read the key before the commit expires the object
            return user.id

    def close(self) -> None:
        pass


class Library:
    key = "sqla_orm"
    name = "SQLAlchemy ORM"

    def __init__(self, db: Database, threads: int) -> None:
        self.db, self.threads = db, threads
        self.note = f"QueuePool pool_size={threads}, max_overflow=0, a Session per operation"

    def setup(self) -> None:
        # SQLite: the same 30 s busy timeout as every library (the file is in WAL mode)
        connect_args = {"timeout": 30} if self.db.kind == "sqlite" else {}
        self.engine = create_engine(self.db.sqlalchemy_url(), pool_size=self.threads, max_overflow=0,
                                    pool_timeout=30, connect_args=connect_args)
        self.factory = sessionmaker(self.engine)

    def worker(self) -> Worker:
        return Worker(self.factory)

    def teardown(self) -> None:
        self.engine.dispose()
