"""SQLAlchemy ORM (2.x style): a Session, flushed per object where a peer saves one row."""
from __future__ import annotations

import datetime as _dt
from typing import Any

from common import POSTS_TABLE, TABLE, Database
from sqlalchemy import (
    BigInteger, Boolean, DateTime, Double, ForeignKey, String, create_engine, insert, select, update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, selectinload

IMPORTS = "sqlalchemy.orm"


class Base(DeclarativeBase):
    pass


class SUser(Base):
    __tablename__ = TABLE

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(255))
    age: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime)
    score: Mapped[float] = mapped_column(Double)
    active: Mapped[bool] = mapped_column(Boolean)
    posts: Mapped[list["SPost"]] = relationship(order_by="SPost.id")


class SPost(Base):
    __tablename__ = POSTS_TABLE

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(f"{TABLE}.id"))
    title: Mapped[str] = mapped_column(String(100))


class Library:
    name = "SQLAlchemy ORM"
    key = "sqla_orm"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.imports = IMPORTS

    def open(self) -> None:
        self.engine = create_engine(self.db.sqlalchemy_url())

    def close(self) -> None:
        self.engine.dispose()

    def w1_create(self, rows: list[dict[str, Any]]) -> None:
        with Session(self.engine) as session, session.begin():
            for row in rows:
                session.add(SUser(**row))
                session.flush()  # one INSERT per object, key read back: what save() does

    def w2_bulk(self, rows: list[dict[str, Any]]) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(insert(SUser), rows)

    def w3_load(self) -> list[Any]:
        with Session(self.engine) as session:
            return list(session.scalars(select(SUser)).all())

    def w4_get(self, ids: list[int]) -> list[Any]:
        with Session(self.engine) as session:
            return [session.get_one(SUser, pk) for pk in ids]

    def w5_filter(self, ranges: list[tuple[int, int]]) -> int:
        total = 0
        with Session(self.engine) as session:
            for lo, hi in ranges:
                stmt = select(SUser).where(SUser.age.between(lo, hi)).order_by(SUser.id).limit(50)
                total += len(session.scalars(stmt).all())
        return total

    def w6_update(self, ids: list[int]) -> None:
        with Session(self.engine) as session, session.begin():
            for pk in ids:
                user = session.get_one(SUser, pk)
                user.score = user.score + 1.0
                session.flush()

    def w7_delete(self, ids: list[int]) -> None:
        with Session(self.engine) as session, session.begin():
            for pk in ids:
                session.delete(session.get_one(SUser, pk))
                session.flush()

    def w8_eager(self) -> list[Any]:
        with Session(self.engine) as session:
            return list(session.scalars(select(SUser).options(selectinload(SUser.posts))).all())

    # -- bulk writes (bulk_writes.py) --------------------------------------------

    def prepare_bulk_update(self, values: dict[int, tuple[int, float]]) -> list[Any]:
        """Untimed: the objects loaded and changed, then detached (so no flush writes them again)."""
        with Session(self.engine, expire_on_commit=False) as session:
            found = list(session.scalars(select(SUser)).all())
            session.expunge_all()
        for user in found:
            user.age, user.score = values[user.id]
        return found

    def bulk_update(self, found: list[Any]) -> None:
        """ORM bulk UPDATE by primary key: ``session.execute(update(Model), [dicts])``."""
        with Session(self.engine) as session, session.begin():
            session.execute(update(SUser), [{"id": u.id, "age": u.age, "score": u.score} for u in found])
