"""This project: the model API as a user writes it."""
from __future__ import annotations

import datetime as _dt
from typing import Any

from common import POSTS_TABLE, TABLE, Database

from rhosocial.activerecord import ActiveRecord, Field, has_many
from rhosocial.activerecord.backend.registry import create_backend
from rhosocial.activerecord.backend.typing import DatabaseType

IMPORTS = "rhosocial.activerecord, rhosocial.activerecord.backend.impl.{kind}"


class BenchUser(ActiveRecord):
    __tablename__ = TABLE

    name: str = Field(max_length=100)
    email: str = Field(max_length=255)
    age: int
    created_at: _dt.datetime = Field(db_type=DatabaseType.DATETIME)  # naive, like the peers
    score: float
    active: bool


class BenchAuthor(ActiveRecord):
    """The W8 owner: the same table as ``BenchUser``, with its posts."""

    __tablename__ = TABLE

    name: str = Field(max_length=100)
    email: str = Field(max_length=255)
    age: int
    created_at: _dt.datetime = Field(db_type=DatabaseType.DATETIME)
    score: float
    active: bool
    posts = has_many("BenchPost", foreign_key="user_id")


class BenchPost(ActiveRecord):
    __tablename__ = POSTS_TABLE

    user_id: int
    title: str = Field(max_length=100)


class Library:
    name = "rhosocial"
    key = "rhosocial"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.imports = IMPORTS.format(kind=db.kind)

    def open(self) -> None:
        db = self.db
        if db.kind == "sqlite":
            backend = create_backend("sqlite", database=db.path)
        else:
            backend = create_backend(db.kind, host=db.host, port=db.port, user=db.user,
                                     password=db.password, database=db.database)
        self.backend = BenchUser.configure(backend)
        BenchAuthor.configure(backend)
        BenchPost.configure(backend)

    def close(self) -> None:
        self.backend.disconnect()

    def w1_create(self, rows: list[dict[str, Any]]) -> None:
        with BenchUser.transaction():
            for row in rows:
                BenchUser.create(**row)

    def w2_bulk(self, rows: list[dict[str, Any]]) -> None:
        with BenchUser.transaction():
            BenchUser.insert_many(rows)

    def w3_load(self) -> list[Any]:
        return BenchUser.all()

    def w4_get(self, ids: list[int]) -> list[Any]:
        return [BenchUser.find(pk) for pk in ids]

    def w5_filter(self, ranges: list[tuple[int, int]]) -> int:
        age = BenchUser.c.age
        total = 0
        for lo, hi in ranges:
            total += len(BenchUser.where(age.between(lo, hi)).order_by("id").limit(50).all())
        return total

    def w6_update(self, ids: list[int]) -> None:
        with BenchUser.transaction():
            for pk in ids:
                user = BenchUser.find(pk)
                user.score = user.score + 1.0
                user.save()

    def w7_delete(self, ids: list[int]) -> None:
        with BenchUser.transaction():
            for pk in ids:
                BenchUser.find(pk).delete()

    def w8_eager(self) -> list[Any]:
        return BenchAuthor.query().includes("posts").all()

    # -- bulk writes (bulk_writes.py) --------------------------------------------

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        BenchUser.upsert_all(rows, unique_by="email", update=("name", "age"))

    def prepare_bulk_update(self, values: dict[int, tuple[int, float]]) -> list[Any]:
        """Untimed: every record loaded, with its new age and score assigned (validated)."""
        users = BenchUser.all()
        for user in users:
            user.age, user.score = values[user.id]
        return users

    def bulk_update(self, users: list[Any]) -> None:
        BenchUser.bulk_update(users, ["age", "score"])
