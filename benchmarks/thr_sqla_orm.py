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
from sqla_common import Base, UserColumns, engine_options
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

TABLE = "bench_thr_sqla_orm"


class SUser(UserColumns, Base):
    __tablename__ = TABLE


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
        self.engine = create_engine(self.db.sqlalchemy_url(), **engine_options(self.db, self.threads))
        self.factory = sessionmaker(self.engine)

    def worker(self) -> Worker:
        return Worker(self.factory)

    def teardown(self) -> None:
        self.engine.dispose()
