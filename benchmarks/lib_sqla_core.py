"""SQLAlchemy Core: statements built per call, rows returned as ``Row`` tuples."""
from __future__ import annotations

from typing import Any

from common import POSTS_TABLE, TABLE, Database
from sqlalchemy import (
    BigInteger, Boolean, Column, DateTime, Double, MetaData, String, Table, create_engine, delete, insert,
    select, update,
)

IMPORTS = "sqlalchemy"

metadata = MetaData()
users = users_table = Table(
    TABLE, metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("email", String(255), nullable=False),
    Column("age", BigInteger, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("score", Double, nullable=False),
    Column("active", Boolean, nullable=False),
)
posts = Table(
    POSTS_TABLE, metadata,
    Column("id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, nullable=False),
    Column("title", String(100), nullable=False),
)


class Library:
    name = "SQLAlchemy Core"
    key = "sqla_core"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.imports = IMPORTS

    def open(self) -> None:
        self.engine = create_engine(self.db.sqlalchemy_url())

    def close(self) -> None:
        self.engine.dispose()

    def w1_create(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            for row in rows:
                conn.execute(insert(users), row).inserted_primary_key

    def w2_bulk(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(users), rows)

    def w3_load(self) -> list[Any]:
        with self.engine.connect() as conn:
            return conn.execute(select(users)).all()

    def w4_get(self, ids: list[int]) -> list[Any]:
        with self.engine.connect() as conn:
            return [conn.execute(select(users).where(users.c.id == pk)).one() for pk in ids]

    def w5_filter(self, ranges: list[tuple[int, int]]) -> int:
        total = 0
        with self.engine.connect() as conn:
            for lo, hi in ranges:
                stmt = select(users).where(users.c.age.between(lo, hi)).order_by(users.c.id).limit(50)
                total += len(conn.execute(stmt).all())
        return total

    def w6_update(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            for pk in ids:
                row = conn.execute(select(users).where(users.c.id == pk)).one()
                conn.execute(update(users).where(users.c.id == row.id).values(score=row.score + 1.0))

    def w7_delete(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            for pk in ids:
                row = conn.execute(select(users).where(users.c.id == pk)).one()
                conn.execute(delete(users).where(users.c.id == row.id))

    def w8_eager(self) -> list[Any]:
        """Core has no eager loading: two queries, posts grouped by user in Python."""
        with self.engine.connect() as conn:
            users = conn.execute(select(users_table)).all()
            ids = [u.id for u in users]
            grouped: dict[int, list[Any]] = {i: [] for i in ids}
            for post in conn.execute(select(posts).where(posts.c.user_id.in_(ids)).order_by(posts.c.id)):
                grouped[post.user_id].append(post)
        return [(u, grouped[u.id]) for u in users]

    # -- bulk writes (bulk_writes.py) --------------------------------------------

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        """The dialect's own insert construct with its conflict clause, executed with every row."""
        kind = self.db.kind
        if kind == "mysql":
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            stmt: Any = mysql_insert(users)
            stmt = stmt.on_duplicate_key_update(name=stmt.inserted.name, age=stmt.inserted.age)
        else:
            if kind == "postgres":
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            else:
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            stmt = dialect_insert(users)
            stmt = stmt.on_conflict_do_update(index_elements=[users.c.email],
                                              set_={"name": stmt.excluded.name, "age": stmt.excluded.age})
        with self.engine.begin() as conn:
            conn.execute(stmt, rows)
