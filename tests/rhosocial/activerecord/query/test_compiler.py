"""The query tree is vendor-neutral: dialects alone decide placeholders and quoting.

These tests compile queries with dialect classes directly; no server is needed.
"""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

import rhosocial.activerecord as package
from rhosocial.activerecord import exists, func
from rhosocial.activerecord.backend.impl.mysql.dialect import MySQLDialect
from rhosocial.activerecord.backend.impl.postgres.dialect import PostgresDialect
from rhosocial.activerecord.backend.impl.sqlite.dialect import SQLiteDialect
from rhosocial.activerecord.query.compiler import SQLCompiler

from .models import Post, User

DIALECTS = [SQLiteDialect, PostgresDialect, MySQLDialect]


def compile_with(dialect_class, query):
    dialect = dialect_class()
    compiler_class = getattr(dialect, "compiler_class", None) or SQLCompiler
    return compiler_class(dialect).select(query)


def sample_query():
    posts = Post.query().select("user_id").where(Post.c.score > 3)
    return (User.query()
            .select("name", func.count(Post.c.id).label("n"))
            .left_join(Post, Post.c.user_id == User.c.id)
            .where(User.c.age.between(18, 65), city=["Paris", "Rome"])
            .where((User.c.name.like("a%")) | ~(User.c.email == None))
            .where("age <> ?", 40)
            .where(User.c.id.in_(posts))
            .group_by("name").having(func.count(Post.c.id) >= 1)
            .order_by("-name").limit(10).offset(5))


def neutral(sql):
    """Replace each dialect's placeholders with ``?`` and its identifier quotes with ``"``."""
    sql = re.sub(r"\$\d+", "?", sql)
    return sql.replace("%s", "?").replace("`", '"')


def test_sqlite_and_postgres_differ_only_in_placeholders():
    lite_sql, lite_params = compile_with(SQLiteDialect, sample_query())
    pg_sql, pg_params = compile_with(PostgresDialect, sample_query())
    assert lite_params == pg_params == [18, 65, "Paris", "Rome", "a%", 40, 3, 1]
    assert "?" in lite_sql and "$1" not in lite_sql
    assert "$1" in pg_sql and "?" not in pg_sql
    n = len(pg_params)
    assert f"${n}" in pg_sql and f"${n + 1}" not in pg_sql  # numbered in order, subquery included
    assert lite_sql != pg_sql
    assert neutral(pg_sql) == neutral(lite_sql)


@pytest.mark.parametrize("dialect_class", DIALECTS)
def test_every_dialect_compiles_the_same_structure(dialect_class):
    sql, params = compile_with(dialect_class, sample_query())
    reference_sql, reference_params = compile_with(SQLiteDialect, sample_query())
    assert params == reference_params
    assert neutral(sql) == neutral(reference_sql)
    for value in ("Paris", "Rome", "a%"):
        assert value not in sql  # bound, not inlined


def test_values_are_parameters_for_every_clause():
    hostile = "'); DROP TABLE users; --"
    query = User.query().where(name=hostile).where("email = ?", "?").where(User.c.city.like("%"))
    for dialect_class in DIALECTS:
        sql, params = compile_with(dialect_class, query)
        assert params == [hostile, "?", "%"]
        assert "DROP" not in sql


def test_exists_and_subquery_parameters_share_one_numbering():
    query = (User.query().where(User.c.age > 1)
             .where(exists(Post.query().where((Post.c.user_id == User.c.id) & (Post.c.score > 2))))
             .where(User.c.city == "x"))
    sql, params = compile_with(PostgresDialect, query)
    assert params == [1, 2, "x"]
    assert re.findall(r"\$\d+", sql) == ["$1", "$2", "$3"]


def test_fragment_placeholders_are_converted_per_dialect():
    query = User.query().where("age > ? AND name <> ?", 3, "z")
    assert "age > ? AND name <> ?" in compile_with(SQLiteDialect, query)[0]
    assert "age > $1 AND name <> $2" in compile_with(PostgresDialect, query)[0]
    assert "age > %s AND name <> %s" in compile_with(MySQLDialect, query)[0]


VENDOR = re.compile(r"sqlite|postgres|psycopg|mysql|mariadb|pymysql|oracle|mssql", re.IGNORECASE)


@pytest.mark.parametrize("folder", ["model", "query"])
def test_model_and_query_code_name_no_vendor(folder):
    """Outside comments, model and query code never mention a database product."""
    root = Path(package.__file__).parent / folder
    offenders = []
    for path in sorted(root.glob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        for token in tokens:
            if token.type in (tokenize.NAME, tokenize.STRING) and VENDOR.search(token.string):
                offenders.append(f"{path.name}:{token.start[0]}: {token.string[:60]}")
    assert offenders == []


@pytest.mark.parametrize("url, driver", [("postgresql://nobody@127.0.0.1:1/none", "psycopg"),
                                         ("mysql://nobody@127.0.0.1:1/none", "pymysql")])
def test_compiling_never_connects(url, driver, monkeypatch):
    """to_sql() and repr() need only the dialect: a server nobody can reach is never asked."""
    import rhosocial.activerecord.config as config
    from rhosocial.activerecord.config import backend_from_settings

    pytest.importorskip(driver)  # (the oldest-pydantic run installs no drivers)

    backend = backend_from_settings(url=url, connect_timeout=1)
    monkeypatch.setattr(config, "_default_backend", backend)
    query = User.where(User.c.name == "ada").order_by("-id").limit(3)
    sql, params = query.to_sql()
    assert params == ["ada"] and "LIMIT" in sql
    assert "ada" in repr(query)
    assert backend.is_connected() is False and backend.pool.stats().opened == 0


def test_a_terminal_resolves_the_backend_once(backend, monkeypatch):
    import rhosocial.activerecord.config as config
    import rhosocial.activerecord.model.base as model_base

    monkeypatch.setattr(config, "_default_backend", backend)
    User.create_table()
    calls: list[int] = []
    real = model_base.get_default_backend

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(model_base, "get_default_backend", counting)
    for name in ("all", "count", "exists", "dicts", "first", "pluck"):
        calls.clear()
        terminal = getattr(User.where(name="ada"), name)
        terminal("name") if name == "pluck" else terminal()
        assert len(calls) == 1, name
