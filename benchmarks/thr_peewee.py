"""Threads benchmark: peewee with its pooled databases (``playhouse.pool``).

peewee keeps the open connection in thread-local state; its docs for web
apps open a connection when a request starts and close it when it ends,
which with a pooled database hands the connection back to the pool. Each
operation here is one request, so it runs in ``db.connection_context()``.
Outside ``atomic()`` peewee runs in autocommit mode.
"""
from __future__ import annotations

from typing import Any

import peewee as pw
from common import Database
from playhouse.pool import PooledMySQLDatabase, PooledPostgresqlDatabase, PooledSqliteDatabase

TABLE = "bench_thr_peewee"

proxy = pw.DatabaseProxy()


class PUser(pw.Model):
    name = pw.CharField(max_length=100)
    email = pw.CharField(max_length=255)
    age = pw.BigIntegerField()
    score = pw.BigIntegerField()

    class Meta:
        database = proxy
        table_name = TABLE


class Worker:
    """A pooled connection per operation, through ``connection_context()``."""

    def __init__(self, database: Any) -> None:
        self.database = database

    def find(self, pk: int) -> PUser:
        with self.database.connection_context():
            return PUser.get_by_id(pk)

    def update(self, pk: int, score: int) -> int:
        with self.database.connection_context():
            user = PUser.get_by_id(pk)
            old = user.score
            user.score = score
            user.save()
        return old

    def create(self, name: str, email: str, age: int, score: int) -> int:
        with self.database.connection_context():
            return PUser.create(name=name, email=email, age=age, score=score).id  # type: ignore[attr-defined]

    def close(self) -> None:
        if not self.database.is_closed():
            self.database.close()


class Library:
    key = "peewee"
    name = "peewee"

    def __init__(self, db: Database, threads: int) -> None:
        self.db, self.threads = db, threads
        self.note = f"playhouse.pool, max_connections={threads}, connection_context() per operation"

    def setup(self) -> None:
        db, size = self.db, self.threads
        if db.kind == "sqlite":
            # a pooled connection moves between threads, which sqlite3 must be told it may; the
            # pool takes ``timeout`` as its own wait, so the 30 s busy timeout goes in as a pragma
            database: Any = PooledSqliteDatabase(db.path, max_connections=size, timeout=30,
                                                 pragmas={"busy_timeout": 30_000}, check_same_thread=False)
        elif db.kind == "postgres":
            database = PooledPostgresqlDatabase(db.database, max_connections=size, timeout=30, host=db.host,
                                                port=db.port, user=db.user, password=db.password or None)
        else:
            database = PooledMySQLDatabase(db.database, max_connections=size, timeout=30, host=db.host,
                                           port=db.port, user=db.user, password=db.password, charset="utf8mb4")
        proxy.initialize(database)
        self.database = database

    def worker(self) -> Worker:
        return Worker(self.database)

    def teardown(self) -> None:
        self.database.close_all()
