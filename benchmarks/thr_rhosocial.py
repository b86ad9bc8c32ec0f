"""Threads benchmark: this project, through its public API only.

One ``configure(url=..., pool_size=threads)`` for the process; every thread
calls the model's class methods, as request handlers would.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from common import Database

from rhosocial.activerecord import ActiveRecord, Field, configure
from rhosocial.activerecord.backend import ConfigurationError

TABLE = "bench_thr_rhosocial"


class ThrUser(ActiveRecord):
    __tablename__ = TABLE

    name: str = Field(max_length=100)
    email: str = Field(max_length=255)
    age: int
    score: int


def url_for(db: Database) -> str:
    """The URL ``configure()`` takes for ``db``."""
    if db.kind == "sqlite":
        return f"sqlite:///{db.path}"
    scheme = "postgresql" if db.kind == "postgres" else "mysql"
    auth = quote(db.user, safe="") + (f":{quote(db.password, safe='')}" if db.password else "")
    return f"{scheme}://{auth}@{db.host}:{db.port}/{db.database}"


class Worker:
    """Nothing per thread: the configured backend is shared by the whole process."""

    def find(self, pk: int) -> ThrUser:
        return ThrUser.find(pk)

    def update(self, pk: int, score: int) -> int:
        user = ThrUser.find(pk)
        old = user.score
        user.score = score
        user.save()
        return old

    def create(self, name: str, email: str, age: int, score: int) -> int:
        return ThrUser.create(name=name, email=email, age=age, score=score).id

    def close(self) -> None:
        pass


class Library:
    key = "rhosocial"
    name = "rhosocial"

    def __init__(self, db: Database, threads: int) -> None:
        self.db, self.threads = db, threads
        self.backend: Any = None
        self.note = ""

    def setup(self) -> None:
        url = url_for(self.db)
        try:
            self.backend = configure(url=url, pool_size=self.threads)
            self.note = f"configure(url=..., pool_size={self.threads}) accepted"
        except ConfigurationError as exc:
            if "pool_size" not in str(exc):
                raise
            # The pool setting is being added to the backends; until then measure without it.
            self.backend = configure(url=url)
            self.note = f"configure() rejected pool_size ({str(exc).split('.')[0]}); ran without it"

    def worker(self) -> Worker:
        return Worker()

    def teardown(self) -> None:
        if self.backend is not None:
            self.backend.disconnect()
