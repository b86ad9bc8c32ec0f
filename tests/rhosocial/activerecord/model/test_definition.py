"""Declaring models: the guide's example, table names, keys, per-model backends, DDL."""
from __future__ import annotations

import uuid

import pytest

from rhosocial.activerecord import (
    ActiveRecord,
    ModelDefinitionError,
    RecordNotFound,
    UUIDPrimaryKeyMixin,
    configure,
)
from rhosocial.activerecord.backend import DatabaseType
from rhosocial.activerecord.backend.errors import ConfigurationError


def test_guide_example_works_as_written(tmp_path):
    backend = configure(backend="sqlite", database=str(tmp_path / "app.db"))
    try:
        class User(ActiveRecord):
            __tablename__ = "users"
            name: str
            email: str

        User.create_table()
        alice = User(name="Alice", email="alice@example.com")
        alice.save()
        assert alice.id is not None
        assert User.find(alice.id).email == "alice@example.com"
        assert User.find_by(name="Alice") == alice
        assert (tmp_path / "app.db").exists()
    finally:
        backend.disconnect()


@pytest.mark.parametrize("class_name, table", [
    ("User", "users"), ("BlogPost", "blog_posts"), ("Category", "categories"),
    ("Address", "addresses"), ("Box", "boxes"), ("Day", "days"), ("HTTPRequest", "http_requests"),
])
def test_default_table_name_is_snake_case_plural(class_name, table):
    model = type(class_name, (ActiveRecord,), {"__annotations__": {"name": str}})
    assert model.table_name() == table


def test_tablename_overrides_the_default():
    class Person(ActiveRecord):
        __tablename__ = "folk"
        name: str

    assert Person.table_name() == "folk"


def test_default_auto_increment_id(bind, backend):
    class Widget(ActiveRecord):
        name: str

    bind(Widget)
    assert Widget.primary_key() == "id"
    assert next(iter(Widget.model_fields)) == "id"
    first, second = Widget.create(name="a"), Widget.create(name="b")
    assert isinstance(first.id, int) and isinstance(second.id, int)
    assert second.id > first.id
    columns = {c.name: c for c in backend.get_columns("widgets")}
    assert columns["id"].primary_key
    assert columns["id"].db_type in (DatabaseType.INTEGER, DatabaseType.BIGINT)


def test_custom_primary_key(bind, backend):
    class Country(ActiveRecord):
        __primary_key__ = "code"
        code: str
        name: str

    bind(Country)
    assert "id" not in Country.model_fields
    Country.create(code="FR", name="France")
    Country.create(code="JP", name="Japan")
    assert Country.find("JP").name == "Japan"
    france = Country.find("FR")
    france.update(name="République française")
    assert Country.find("FR").name == "République française"
    france.delete()
    with pytest.raises(RecordNotFound):
        Country.find("FR")
    assert [c.name for c in backend.get_columns("countries") if c.primary_key] == ["code"]


def test_primary_key_must_be_a_field():
    with pytest.raises(ModelDefinitionError, match="primary key 'code' is not a field"):
        class Broken(ActiveRecord):
            __primary_key__ = "code"
            name: str


def test_uuid_primary_key_mixin(bind):
    class Token(UUIDPrimaryKeyMixin, ActiveRecord):
        label: str

    bind(Token)
    token = Token(label="x")
    assert isinstance(token.id, uuid.UUID)  # generated at construction, before saving
    assert token.is_new_record
    key = token.id
    token.save()
    assert token.id == key
    other = Token.create(label="y")
    assert other.id != key
    found = Token.find(key)
    assert found.id == key and isinstance(found.id, uuid.UUID) and found.label == "x"
    assert Token.find_by(id=other.id).label == "y"
    found.update(label="z")
    assert Token.find(key).label == "z"


def test_abstract_base_shares_fields():
    class Base(ActiveRecord):
        __abstract__ = True
        name: str

    class Thing(Base):
        size: int = 0

    assert {"id", "name", "size"} <= set(Thing.model_fields)
    assert Thing.table_name() == "things"
    with pytest.raises(ModelDefinitionError):
        Base.create_table()


def test_create_table_if_not_exists_drop_and_exists(bind, backend):
    class Gadget(ActiveRecord):
        name: str

    configure(backend)
    assert not Gadget.table_exists()
    Gadget.create_table()
    assert Gadget.table_exists()
    Gadget.create_table(if_not_exists=True)  # no error the second time
    Gadget.create(name="kept")
    Gadget.create_table(if_not_exists=True)
    assert Gadget.count() == 1  # the existing table was left alone
    Gadget.drop_table()
    assert not Gadget.table_exists()
    Gadget.drop_table(if_exists=True)


def test_unconfigured_model_says_how_to_configure():
    class Lonely(ActiveRecord):
        name: str

    from rhosocial.activerecord import config

    saved, config._default_backend = config._default_backend, None
    try:
        with pytest.raises(ConfigurationError, match="configure"):
            Lonely.count()
    finally:
        config._default_backend = saved


def test_per_model_backend_talks_to_two_databases_at_once(bind, backend, tmp_path):
    """One model on the test's backend, another on a SQLite file; same table name, separate data."""

    class Note(ActiveRecord):
        __tablename__ = "notes"
        text: str

    class ArchivedNote(ActiveRecord):
        __tablename__ = "notes"
        text: str

    bind()  # the test's backend is the default
    archive = ArchivedNote.configure(backend="sqlite", database=str(tmp_path / "archive.db"))
    try:
        assert ArchivedNote.backend() is archive and Note.backend() is backend
        Note.create_table()
        ArchivedNote.create_table()
        Note.create(text="live")
        ArchivedNote.create(text="old 1")
        ArchivedNote.create(text="old 2")
        assert [n.text for n in Note.all()] == ["live"]
        assert [n.text for n in ArchivedNote.query().order_by("id")] == ["old 1", "old 2"]
        # interleaved use of both keeps each on its own database
        with Note.transaction():
            Note.create(text="live 2")
            ArchivedNote.find_by(text="old 1").delete()
        assert Note.count() == 2 and ArchivedNote.count() == 1
    finally:
        archive.disconnect()


def test_two_sqlite_files_with_per_model_configure(tmp_path):
    class Left(ActiveRecord):
        __tablename__ = "items"
        name: str

    class Right(ActiveRecord):
        __tablename__ = "items"
        name: str

    left = Left.configure(backend="sqlite", database=str(tmp_path / "left.db"))
    right = Right.configure(backend="sqlite", database=str(tmp_path / "right.db"))
    try:
        Left.create_table()
        Right.create_table()
        Left.create(name="l")
        Right.create(name="r1")
        Right.create(name="r2")
        assert Left.query().pluck("name") == ["l"]
        assert Right.query().order_by("id").pluck("name") == ["r1", "r2"]
    finally:
        left.disconnect()
        right.disconnect()


def test_subclass_inherits_its_parents_backend(tmp_path):
    class Stored(ActiveRecord):
        __abstract__ = True

    own = Stored.configure(backend="sqlite", database=str(tmp_path / "own.db"))
    try:
        class Crate(Stored):
            name: str

        assert Crate.backend() is own
        Crate.create_table()
        Crate.create(name="c")
        assert Crate.count() == 1
    finally:
        own.disconnect()
