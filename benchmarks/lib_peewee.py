"""peewee, written the way its documentation shows."""
from __future__ import annotations

from typing import Any

import peewee as pw
from common import POSTS_TABLE, TABLE, Database

IMPORTS = "peewee"

proxy = pw.DatabaseProxy()
BULK_UPDATE_BATCH = 1000  # rows per UPDATE of bulk_update, as rhosocial's


class PUser(pw.Model):
    name = pw.CharField(max_length=100)
    email = pw.CharField(max_length=255)
    age = pw.BigIntegerField()
    created_at = pw.DateTimeField()
    score = pw.DoubleField()
    active = pw.BooleanField()

    class Meta:
        database = proxy
        table_name = TABLE


class PPost(pw.Model):
    user = pw.ForeignKeyField(PUser, backref="posts", column_name="user_id")
    title = pw.CharField(max_length=100)

    class Meta:
        database = proxy
        table_name = POSTS_TABLE


class Library:
    name = "peewee"
    key = "peewee"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.imports = IMPORTS

    def open(self) -> None:
        db = self.db
        if db.kind == "sqlite":
            database: pw.Database = pw.SqliteDatabase(db.path)
        elif db.kind == "postgres":
            database = pw.PostgresqlDatabase(db.database, host=db.host, port=db.port, user=db.user,
                                             password=db.password or None)
        else:
            database = pw.MySQLDatabase(db.database, host=db.host, port=db.port, user=db.user,
                                        password=db.password, charset="utf8mb4")
        proxy.initialize(database)
        database.connect()
        self.database = database

    def close(self) -> None:
        self.database.close()

    def w1_create(self, rows: list[dict[str, Any]]) -> None:
        with self.database.atomic():
            for row in rows:
                PUser.create(**row)

    def w2_bulk(self, rows: list[dict[str, Any]]) -> None:
        with self.database.atomic():
            for batch in pw.chunked(rows, 100):
                PUser.insert_many(batch).execute()

    def w3_load(self) -> list[Any]:
        return list(PUser.select())

    def w4_get(self, ids: list[int]) -> list[Any]:
        return [PUser.get_by_id(pk) for pk in ids]

    def w5_filter(self, ranges: list[tuple[int, int]]) -> int:
        total = 0
        for lo, hi in ranges:
            total += len(list(PUser.select().where(PUser.age.between(lo, hi)).order_by(PUser.id).limit(50)))
        return total

    def w6_update(self, ids: list[int]) -> None:
        with self.database.atomic():
            for pk in ids:
                user = PUser.get_by_id(pk)
                user.score = user.score + 1.0
                user.save()

    def w7_delete(self, ids: list[int]) -> None:
        with self.database.atomic():
            for pk in ids:
                PUser.get_by_id(pk).delete_instance()

    def w8_eager(self) -> list[Any]:
        return list(pw.prefetch(PUser.select(), PPost.select().order_by(PPost.id)))

    # -- bulk writes (bulk_writes.py) --------------------------------------------

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        """``insert_many().on_conflict()`` in chunks of 100 (as W2 and the docs), one transaction."""
        if self.db.kind == "mysql":  # ON DUPLICATE KEY UPDATE: MySQL names no conflict target
            conflict: dict[str, Any] = {"preserve": [PUser.name, PUser.age]}
        else:
            conflict = {"conflict_target": [PUser.email], "preserve": [PUser.name, PUser.age]}
        with self.database.atomic():
            for batch in pw.chunked(rows, 100):
                PUser.insert_many(batch).on_conflict(**conflict).execute()

    def prepare_bulk_update(self, values: dict[int, tuple[int, float]]) -> list[Any]:
        users = list(PUser.select())
        for user in users:
            user.age, user.score = values[user.id]
        return users

    def bulk_update(self, users: list[Any]) -> None:
        """``Model.bulk_update`` with a batch size (the docs advise one), inside ``atomic()``."""
        with self.database.atomic():
            PUser.bulk_update(users, fields=[PUser.age, PUser.score], batch_size=BULK_UPDATE_BATCH)
