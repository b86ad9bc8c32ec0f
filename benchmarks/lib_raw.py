"""The baseline: the DB-API driver running the same SQL, building plain objects.

Values are converted the way an ORM must: datetimes are written as text and
read back with ``fromisoformat`` on SQLite, booleans come back as ``bool``
from SQLite and MariaDB (which store integers); psycopg converts natively.
PostgreSQL uses psycopg's ``RawCursor`` (``$n`` placeholders, server-side
binding), as rhosocial's backend does.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

from common import COLUMNS, POSTS_TABLE, TABLE, Database, connect_raw

IMPORTS = {"sqlite": "sqlite3", "postgres": "psycopg", "mysql": "pymysql"}
UPSERT_ROWS = 500  # rows per multi-row upsert (rhosocial's statement size)


class User:
    """A plain row object."""

    __slots__ = ("id", "name", "email", "age", "created_at", "score", "active", "posts")

    def __init__(self, id: int, name: str, email: str, age: int, created_at: _dt.datetime,
                 score: float, active: bool) -> None:
        self.id = id
        self.name = name
        self.email = email
        self.age = age
        self.created_at = created_at
        self.score = score
        self.active = active


class Post:
    """A plain post row."""

    __slots__ = ("id", "user_id", "title")

    def __init__(self, id: int, user_id: int, title: str) -> None:
        self.id = id
        self.user_id = user_id
        self.title = title


def _make_sqlite(row: tuple[Any, ...]) -> User:
    return User(row[0], row[1], row[2], row[3], _dt.datetime.fromisoformat(row[4]), row[5], bool(row[6]))


def _make_postgres(row: tuple[Any, ...]) -> User:
    return User(*row)


def _make_mysql(row: tuple[Any, ...]) -> User:
    return User(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))


class Library:
    name = "raw driver"
    key = "raw"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.imports = IMPORTS[db.kind]
        kind = db.kind
        if kind == "sqlite":
            ph = ["?"] * 7
        elif kind == "postgres":
            ph = [f"${i}" for i in range(1, 8)]
        else:
            ph = ["%s"] * 7
        cols = ", ".join(("id",) + COLUMNS)
        self.make = {"sqlite": _make_sqlite, "postgres": _make_postgres, "mysql": _make_mysql}[kind]
        self.insert = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(ph[:6])})"
        if kind == "postgres":
            self.insert += " RETURNING id"
        self.select_all = f"SELECT {cols} FROM {TABLE}"
        self.select_pk = f"SELECT {cols} FROM {TABLE} WHERE id = {ph[0]}"
        self.select_range = (f"SELECT {cols} FROM {TABLE} WHERE age BETWEEN {ph[0]} AND {ph[1]} "
                             f"ORDER BY id LIMIT 50")
        self.update = f"UPDATE {TABLE} SET score = {ph[0]} WHERE id = {ph[1]}"
        self.delete = f"DELETE FROM {TABLE} WHERE id = {ph[0]}"
        self.ph = ph[0] if kind != "postgres" else None
        # bulk_writes.py: the upsert (on email) and the per-row UPDATE of bulk_update
        if kind == "mysql":
            self.upsert_tail = " ON DUPLICATE KEY UPDATE name = VALUES(name), age = VALUES(age)"
        else:
            self.upsert_tail = " ON CONFLICT (email) DO UPDATE SET name = excluded.name, age = excluded.age"
        self.upsert_one = self.insert.replace(" RETURNING id", "") + self.upsert_tail
        self.update_two = f"UPDATE {TABLE} SET age = {ph[0]}, score = {ph[1]} WHERE id = {ph[2]}"
        self._upserts: dict[int, str] = {}

    def open(self) -> None:
        if self.db.kind == "postgres":
            import psycopg

            self.conn = connect_raw(self.db, cursor_factory=psycopg.RawCursor)
        else:
            self.conn = connect_raw(self.db)
        self.cur = self.conn.cursor()

    def close(self) -> None:
        self.cur.close()
        self.conn.close()

    # -- transactions ----------------------------------------------------------

    def _begin(self) -> None:
        if self.db.kind == "mysql":
            self.conn.begin()
        else:
            self.cur.execute("BEGIN")

    def _commit(self) -> None:
        if self.db.kind == "mysql":
            self.conn.commit()
        else:
            self.cur.execute("COMMIT")

    def _params(self, row: dict[str, Any]) -> list[Any]:
        values = [row["name"], row["email"], row["age"], row["created_at"], row["score"], row["active"]]
        if self.db.kind == "sqlite":
            values[3] = values[3].isoformat(" ", "microseconds")
        return values

    # -- workloads -------------------------------------------------------------

    def w1_create(self, rows: list[dict[str, Any]]) -> None:
        cur = self.cur
        self._begin()
        returning = self.db.kind == "postgres"
        for row in rows:
            user = User(None, **row)  # type: ignore[arg-type]
            cur.execute(self.insert, self._params(row))
            user.id = cur.fetchone()[0] if returning else cur.lastrowid
        self._commit()

    def w2_bulk(self, rows: list[dict[str, Any]]) -> None:
        self._begin()
        self.cur.executemany(self.insert.replace(" RETURNING id", ""), [self._params(r) for r in rows])
        self._commit()

    def w3_load(self) -> list[Any]:
        self.cur.execute(self.select_all)
        make = self.make
        return [make(r) for r in self.cur.fetchall()]

    def _get(self, pk: int) -> User:
        cur = self.cur
        cur.execute(self.select_pk, (pk,))
        return self.make(cur.fetchone())

    def w4_get(self, ids: list[int]) -> list[Any]:
        return [self._get(pk) for pk in ids]

    def w5_filter(self, ranges: list[tuple[int, int]]) -> int:
        cur, make, sql = self.cur, self.make, self.select_range
        total = 0
        for lo, hi in ranges:
            cur.execute(sql, (lo, hi))
            total += len([make(r) for r in cur.fetchall()])
        return total

    def w6_update(self, ids: list[int]) -> None:
        self._begin()
        for pk in ids:
            user = self._get(pk)
            user.score = user.score + 1.0
            self.cur.execute(self.update, (user.score, user.id))
        self._commit()

    def w7_delete(self, ids: list[int]) -> None:
        self._begin()
        for pk in ids:
            user = self._get(pk)
            self.cur.execute(self.delete, (user.id,))
        self._commit()

    def w8_eager(self) -> list[Any]:
        """Users, then their posts with one IN query, grouped onto each user (rhosocial's SQL)."""
        users = self.w3_load()
        by_id: dict[int, list[Post]] = {}
        for user in users:
            by_id[user.id] = user.posts = []  # type: ignore[attr-defined]
        ids = list(by_id)
        if self.ph is None:
            marks = ", ".join(f"${i}" for i in range(1, len(ids) + 1))
        else:
            marks = ", ".join([self.ph] * len(ids))
        self.cur.execute(f"SELECT id, user_id, title FROM {POSTS_TABLE} WHERE user_id IN ({marks}) ORDER BY id", ids)
        for row in self.cur.fetchall():
            by_id[row[1]].append(Post(*row))
        return users

    # -- bulk writes (bulk_writes.py) --------------------------------------------

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        """One transaction, in each database's faster form (measured): SQLite and PostgreSQL
        multi-row upserts of 500 rows (psycopg's pipelined ``executemany`` sends one statement
        a row); MariaDB ``executemany`` of the one-row upsert, which PyMySQL itself rewrites
        into multi-row statements of up to 1 MB."""
        params = [self._params(r) for r in rows]
        self._begin()
        if self.db.kind == "mysql":
            self.cur.executemany(self.upsert_one, params)
        else:
            for start in range(0, len(params), UPSERT_ROWS):
                chunk = params[start:start + UPSERT_ROWS]
                self.cur.execute(self._upsert_rows(len(chunk)), [v for row in chunk for v in row])
        self._commit()

    def _upsert_rows(self, count: int) -> str:
        """The upsert of ``count`` rows, built once per count."""
        sql = self._upserts.get(count)
        if sql is None:
            head = self.upsert_one.split(" VALUES ")[0]
            if self.ph:
                values = ", ".join(["(" + ", ".join([self.ph] * 6) + ")"] * count)
            else:
                values = ", ".join("(" + ", ".join(f"${r * 6 + i}" for i in range(1, 7)) + ")" for r in range(count))
            sql = self._upserts[count] = f"{head} VALUES {values}{self.upsert_tail}"
        return sql

    def prepare_bulk_update(self, values: dict[int, tuple[int, float]]) -> list[User]:
        """Untimed: every row loaded as an object, with its new age and score."""
        users = self.w3_load()
        for user in users:
            user.age, user.score = values[user.id]
        return users

    def bulk_update(self, users: list[User]) -> None:
        self._begin()
        self.cur.executemany(self.update_two, [(u.age, u.score, u.id) for u in users])
        self._commit()
