"""Tables in another schema: a PostgreSQL schema, a MySQL/MariaDB database, an attached SQLite file."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field, belongs_to, has_many
from rhosocial.activerecord.backend import ConfigurationError, TableName, create_backend

SCHEMA = "rhosocial_elsewhere"


class Label(ActiveRecord):
    __tablename__ = "schema_labels"
    __table_schema__ = SCHEMA
    id: Optional[int] = None
    name: str = Field(max_length=30, index=True)
    releases = has_many("Release", foreign_key="label_id")


class Release(ActiveRecord):  # in the default schema, pointing into the other one
    __tablename__ = "schema_releases"
    id: Optional[int] = None
    title: str = Field(max_length=30)
    label_id: int
    label = belongs_to("Label", foreign_key="label_id")


@contextmanager
def bound(backend, *models):
    """Bind ``models`` to ``backend`` for the block; drop their tables afterwards (last first)."""
    for model in models:
        model.configure(backend)
    try:
        yield
    finally:
        for model in reversed(models):
            model.drop_table(if_exists=True)
            type.__setattr__(model, "__backend__", None)


@pytest.fixture
def elsewhere(backend, tmp_path):
    """A backend that can see the schema SCHEMA; dropped afterwards."""
    q = backend.dialect.quote_identifier
    if backend.name == "sqlite":
        other = create_backend("sqlite", database=str(tmp_path / "main.db"),
                               attach={SCHEMA: str(tmp_path / "elsewhere.db")})
        yield other
        other.disconnect()
        return
    if backend.name == "postgres":
        backend.execute(f"DROP SCHEMA IF EXISTS {q(SCHEMA)} CASCADE")
        backend.execute(f"CREATE SCHEMA {q(SCHEMA)}")
        drop = f"DROP SCHEMA IF EXISTS {q(SCHEMA)} CASCADE"
    elif backend.name == "mysql":
        backend.execute(f"DROP DATABASE IF EXISTS {q(SCHEMA)}")
        backend.execute(f"CREATE DATABASE {q(SCHEMA)}")
        drop = f"DROP DATABASE IF EXISTS {q(SCHEMA)}"
    else:
        pytest.skip(f"{backend.name}: no schema test")
    try:
        yield backend
    finally:
        backend.execute(drop)


def test_a_model_in_another_schema(elsewhere):
    b = elsewhere
    with bound(b, Label, Release):
        Label.create_table()
        Release.create_table()
        assert b.table_exists(TableName("schema_labels", SCHEMA))
        assert not b.table_exists("schema_labels")  # not in the default schema
        assert [c.name for c in b.get_columns(Label.table_name())] == ["id", "name"]
        assert Label.table_exists()

        sql, _ = Label.where(name="x").to_sql()
        q = b.dialect.quote_identifier
        assert f"{q(SCHEMA)}.{q('schema_labels')}" in sql

        emi = Label.create(name="EMI")
        Release.create(title="Abbey Road", label_id=emi.id)
        Release.create(title="Let It Be", label_id=emi.id)
        assert Label.find(emi.id).name == "EMI"
        assert [r.title for r in Label.query().includes("releases").one().releases] == ["Abbey Road", "Let It Be"]
        assert Release.query().joins("label").where(Label.c.name == "EMI").count() == 2
        assert Release.where(title="Let It Be").one().label.name == "EMI"
        emi.update(name="EMI Records")
        assert Label.where(name="EMI Records").count() == 1
        assert emi.delete() and Label.count() == 0


def test_postgres_schema_setting_is_where_unqualified_tables_live(backend):
    if backend.name != "postgres":
        pytest.skip("the schema setting is PostgreSQL's search_path")
    q = backend.dialect.quote_identifier
    backend.execute(f"DROP SCHEMA IF EXISTS {q(SCHEMA)} CASCADE")
    backend.execute(f"CREATE SCHEMA {q(SCHEMA)}")
    try:
        config = backend.config
        scoped = create_backend("postgres", host=config.host, port=config.port, user=config.user,
                                password=config.password, database=config.database, schema=SCHEMA)
        scoped.execute('CREATE TABLE "plain_here" (id INTEGER PRIMARY KEY)')
        assert backend.table_exists(TableName("plain_here", SCHEMA))
        assert not backend.table_exists("plain_here")
        assert scoped.table_exists("plain_here")
        scoped.disconnect()
    finally:
        backend.execute(f"DROP SCHEMA IF EXISTS {q(SCHEMA)} CASCADE")


def test_bad_schema_settings_are_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="attach"):
        create_backend("sqlite", database=str(tmp_path / "x.db"), attach=["a.db"])
    with pytest.raises(ConfigurationError, match="main or temp"):
        create_backend("sqlite", database=str(tmp_path / "x.db"), attach={"main": "a.db"})
    with pytest.raises(ValueError, match="schema name"):
        TableName("t", "")


def test_a_schema_name_is_quoted_like_any_identifier(backend):
    q = backend.dialect.quote_identifier
    table, schema = 'a"b`c', 'we"ird'
    assert q(TableName(table, schema)) == q(schema) + "." + q(table)


def test_a_foreign_key_into_another_schema(elsewhere):
    from rhosocial.activerecord.backend import ForeignKeyViolationError, NotSupportedError

    class Pressing(ActiveRecord):
        __tablename__ = "schema_pressings"
        id: Optional[int] = None
        label_id: int = Field(references=f"{SCHEMA}.schema_labels.id")

    b = elsewhere
    with bound(b, Label, Pressing):
        Label.create_table()
        if b.name == "sqlite":
            with pytest.raises(NotSupportedError, match="another database"):
                Pressing.create_table()
            return
        Pressing.create_table()
        label = Label.create(name="Decca")
        Pressing.create(label_id=label.id)
        with pytest.raises(ForeignKeyViolationError):
            Pressing.create(label_id=label.id + 100)


def test_tables_of_one_name_in_two_schemas_join_under_an_alias(elsewhere):
    class Original(ActiveRecord):
        __tablename__ = "schema_items"
        __table_schema__ = SCHEMA
        id: Optional[int] = None
        name: str = Field(max_length=20)

    class Copy(ActiveRecord):
        __tablename__ = "schema_items"  # the same name, in the default schema
        id: Optional[int] = None
        name: str = Field(max_length=20)
        original_id: int
        original = belongs_to(Original, foreign_key="original_id")

    b = elsewhere
    with bound(b, Original, Copy):
        Original.create_table()
        Copy.create_table()
        first = Original.create(name="first")
        Copy.create(name="copy of first", original_id=first.id)
        q = b.dialect.quote_identifier
        query = Copy.query().joins("original")
        assert f"{q('schema_items')} {q('original')} ON" in query.to_sql()[0]  # aliased
        assert query.pluck("name") == ["copy of first"]
        assert Copy.query().includes("original").one().original.name == "first"
