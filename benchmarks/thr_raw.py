"""Threads benchmark, the floor: the DB-API drivers with the least a web app needs.

PostgreSQL: psycopg 3 with a ``psycopg_pool.ConnectionPool`` of ``threads``
connections in autocommit mode, one connection checked out per operation
(``RawCursor``, ``$n`` placeholders, as rhosocial's backend binds).
MariaDB: PyMySQL, one autocommit connection per thread.
SQLite: ``sqlite3``, one autocommit connection per thread.
"""
from __future__ import annotations

import sqlite3
from typing import Any

from common import Database, connect_raw

TABLE = "bench_thr_raw"
COLS = "id, name, email, age, score"


class Row:
    """A plain row object."""

    __slots__ = ("age", "email", "id", "name", "score")

    def __init__(self, id: int, name: str, email: str, age: int, score: int) -> None:
        self.id = id
        self.name = name
        self.email = email
        self.age = age
        self.score = score


def _sql(ph: list[str]) -> tuple[str, str, str]:
    return (f"SELECT {COLS} FROM {TABLE} WHERE id = {ph[0]}",
            f"UPDATE {TABLE} SET score = {ph[0]} WHERE id = {ph[1]}",
            f"INSERT INTO {TABLE} (name, email, age, score) VALUES ({', '.join(ph[:4])})")


class PoolWorker:
    """PostgreSQL: a pooled connection per operation."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.select, self.update_sql, insert = _sql(["$1", "$2", "$3", "$4"])
        self.insert = insert + " RETURNING id"

    def find(self, pk: int) -> Row:
        with self.pool.connection() as conn:
            return Row(*conn.execute(self.select, (pk,)).fetchone())

    def update(self, pk: int, score: int) -> int:
        with self.pool.connection() as conn:
            row = Row(*conn.execute(self.select, (pk,)).fetchone())
            old, row.score = row.score, score
            conn.execute(self.update_sql, (row.score, row.id))
        return old

    def create(self, name: str, email: str, age: int, score: int) -> int:
        with self.pool.connection() as conn:
            return int(conn.execute(self.insert, (name, email, age, score)).fetchone()[0])

    def close(self) -> None:
        pass


class ConnectionWorker:
    """MariaDB and SQLite: this thread's own autocommit connection."""

    def __init__(self, db: Database) -> None:
        if db.kind == "sqlite":
            self.conn: Any = sqlite3.connect(db.path, isolation_level=None, timeout=30)
            ph = ["?"] * 4
        else:
            self.conn = connect_raw(db)
            ph = ["%s"] * 4
        self.cur = self.conn.cursor()
        self.select, self.update_sql, self.insert = _sql(ph)

    def find(self, pk: int) -> Row:
        cur = self.cur
        cur.execute(self.select, (pk,))
        return Row(*cur.fetchone())

    def update(self, pk: int, score: int) -> int:
        row = self.find(pk)
        old, row.score = row.score, score
        self.cur.execute(self.update_sql, (row.score, row.id))
        return old

    def create(self, name: str, email: str, age: int, score: int) -> int:
        cur = self.cur
        cur.execute(self.insert, (name, email, age, score))
        return int(cur.lastrowid)

    def close(self) -> None:
        self.cur.close()
        self.conn.close()


class Library:
    key = "raw"
    name = "raw driver"

    def __init__(self, db: Database, threads: int) -> None:
        self.db, self.threads = db, threads
        self.pool: Any = None
        self.note = {"postgres": "psycopg_pool.ConnectionPool, a connection per operation",
                     "mysql": "PyMySQL, a connection per thread",
                     "sqlite": "sqlite3, a connection per thread"}[db.kind]

    def setup(self) -> None:
        if self.db.kind != "postgres":
            return
        import psycopg
        from psycopg_pool import ConnectionPool

        db = self.db
        conninfo = psycopg.conninfo.make_conninfo(host=db.host, port=db.port, user=db.user,
                                                  password=db.password or None, dbname=db.database)
        self.pool = ConnectionPool(conninfo, min_size=self.threads, max_size=self.threads, open=True,
                                   kwargs={"autocommit": True, "cursor_factory": psycopg.RawCursor})
        self.pool.wait(timeout=30)

    def worker(self) -> PoolWorker | ConnectionWorker:
        return PoolWorker(self.pool) if self.pool is not None else ConnectionWorker(self.db)

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.close(timeout=5)
