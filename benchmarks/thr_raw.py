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
from harness import FORMAT_PARAMS, PG_PARAMS, QMARK_PARAMS, Row, pg_conninfo, statements

TABLE = "bench_thr_raw"


class PoolWorker:
    """PostgreSQL: a pooled connection per operation."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.select, self.update_sql, self.insert = statements(TABLE, PG_PARAMS, returning=True)

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
            ph = QMARK_PARAMS
        else:
            self.conn = connect_raw(db)
            ph = FORMAT_PARAMS
        self.cur = self.conn.cursor()
        self.select, self.update_sql, self.insert = statements(TABLE, ph)

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

        self.pool = ConnectionPool(pg_conninfo(self.db), min_size=self.threads, max_size=self.threads,
                                   open=True, kwargs={"autocommit": True, "cursor_factory": psycopg.RawCursor})
        self.pool.wait(timeout=30)

    def worker(self) -> PoolWorker | ConnectionWorker:
        return PoolWorker(self.pool) if self.pool is not None else ConnectionWorker(self.db)

    def teardown(self) -> None:
        if self.pool is not None:
            self.pool.close(timeout=5)
