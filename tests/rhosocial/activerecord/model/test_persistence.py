"""Saving, finding, updating, deleting and refreshing records; dirty tracking."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import ActiveRecord, Field, RecordNotFound
from rhosocial.activerecord.backend import DatabaseError


class Member(ActiveRecord):
    name: str = Field(max_length=50)
    email: str | None = Field(None, max_length=100)
    age: int | None = None
    tags: list = Field(default_factory=list)


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Member)


def test_save_inserts_then_updates(backend, count_rows):
    m = Member(name="ann", age=30)
    assert m.is_new_record and m.id is None
    assert m.save() is m
    assert not m.is_new_record and m.id is not None
    assert count_rows("members") == 1
    m.age = 31
    m.save()
    assert count_rows("members") == 1
    assert Member.find(m.id).age == 31


def test_update_names_only_the_changed_columns(backend):
    m = Member.create(name="ann", email="a@x", age=30)
    m.age = 31
    with backend.capture_statements() as statements:
        m.save()
    assert len(statements) == 1
    update = statements[0]
    q = backend.dialect.quote_identifier
    assert update.upper().startswith("UPDATE")
    set_clause = update[update.upper().index(" SET "):update.upper().index(" WHERE ")]
    assert q("age") in set_clause
    assert q("name") not in set_clause and q("email") not in set_clause and q("tags") not in set_clause


def test_saving_an_unchanged_record_runs_no_sql(backend):
    m = Member.create(name="ann")
    with backend.capture_statements() as statements:
        m.save()
        Member.find(m.id).save()
    assert statements == [s for s in statements if s.upper().startswith("SELECT")]
    assert len(statements) == 1  # only find()'s SELECT


def test_setting_a_field_back_to_its_value_is_not_a_change(backend):
    m = Member.create(name="ann", age=30)
    m.age = 99
    m.age = 30
    assert not m.is_dirty
    with backend.capture_statements() as statements:
        m.save()
    assert statements == []


def test_dirty_tracking():
    m = Member(name="ann", age=30)
    assert m.is_dirty  # a new record is always dirty
    m.save()
    assert not m.is_dirty and m.changes == {} and m.changed_fields == []
    m.name = "anne"
    m.age = None
    assert m.is_dirty
    assert m.changes == {"name": ("ann", "anne"), "age": (30, None)}
    assert m.changed_fields == ["name", "age"]
    m.save()
    assert not m.is_dirty and m.changes == {}


def test_in_place_change_of_json_list_is_detected():
    m = Member.create(name="ann", tags=["a"])
    m.tags.append("b")
    assert m.changes == {"tags": (["a"], ["a", "b"])}
    m.save()
    assert Member.find(m.id).tags == ["a", "b"]
    loaded = Member.find(m.id)
    loaded.tags.append("c")
    assert loaded.is_dirty


def test_loaded_record_is_clean():
    Member.create(name="ann")
    loaded = Member.find_by(name="ann")
    assert not loaded.is_new_record and not loaded.is_dirty


def test_create_update_delete():
    m = Member.create(name="bob", age=20)
    assert Member.find(m.id).name == "bob"
    m.update(name="robert", age=21)
    fresh = Member.find(m.id)
    assert (fresh.name, fresh.age) == ("robert", 21)
    m.delete()
    with pytest.raises(RecordNotFound):
        Member.find(m.id)
    assert Member.count() == 0


def test_find_raises_record_not_found():
    with pytest.raises(RecordNotFound) as info:
        Member.find(12345)
    assert info.value.model is Member and info.value.key == 12345
    assert isinstance(info.value, LookupError)


def test_find_by_returns_record_or_none():
    Member.create(name="ann", age=30)
    Member.create(name="bob", age=30)
    assert Member.find_by(name="bob").name == "bob"
    assert Member.find_by(name="nobody") is None
    assert Member.find_by(age=30, name="ann").name == "ann"
    assert Member.find_by(email=None, name="ann").name == "ann"


def test_refresh_reloads_and_drops_unsaved_changes(backend):
    m = Member.create(name="ann", age=30)
    other = Member.find(m.id)
    other.update(age=40)
    m.name = "unsaved"
    assert m.refresh() is m
    assert (m.name, m.age) == ("ann", 40)
    assert not m.is_dirty


def test_refresh_of_a_deleted_row_raises():
    m = Member.create(name="ann")
    Member.find(m.id).delete()
    with pytest.raises(RecordNotFound):
        m.refresh()


def test_unsaved_records_cannot_be_deleted_or_refreshed():
    with pytest.raises(RecordNotFound):
        Member(name="x").delete()
    with pytest.raises(RecordNotFound):
        Member(name="x").refresh()


def test_equality_follows_the_primary_key():
    a = Member.create(name="ann")
    assert Member.find(a.id) == a
    assert Member.create(name="ann") != a
    assert Member(name="new") != Member(name="new")
    assert len({a, Member.find(a.id)}) == 1


def test_all_and_count():
    for name in ("a", "b", "c"):
        Member.create(name=name)
    assert Member.count() == 3
    assert sorted(m.name for m in Member.all()) == ["a", "b", "c"]


def test_saved_values_are_stored_not_just_kept_in_memory(backend):
    m = Member.create(name="ann", email="ann@example.com", age=30, tags=["x"])
    q = backend.dialect.quote_identifier
    sql = backend.dialect.convert_placeholders(
        f"SELECT {q('name')}, {q('email')}, {q('age')} FROM {q('members')} WHERE {q('id')} = ?")
    assert tuple(backend.execute(sql, [m.id]).rows[0]) == ("ann", "ann@example.com", 30)


def test_insert_many():
    assert Member.insert_many([Member(name="a"), {"name": "b", "age": 2}]) == 2
    assert sorted(Member.query().pluck("name")) == ["a", "b"]


def test_insert_many_splits_rows_over_statements_in_one_transaction(backend, monkeypatch):
    from rhosocial.activerecord.model import schema

    monkeypatch.setattr(schema, "ROWS_PER_INSERT", 3)
    with backend.capture_statements() as statements:
        assert Member.insert_many([{"name": f"m{i}", "age": i} for i in range(7)]) == 7
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 3 and len(statements) > 3  # 3 + 3 + 1 rows, inside BEGIN ... COMMIT
    assert sorted(Member.query().pluck("age")) == list(range(7))


def test_insert_many_writes_all_rows_or_none(backend, monkeypatch):
    from rhosocial.activerecord.model import schema

    monkeypatch.setattr(schema, "ROWS_PER_INSERT", 2)
    rows = [Member(name=f"m{i}") for i in range(5)] + [Member.model_construct(name=None, tags=[])]
    with pytest.raises(DatabaseError):  # NOT NULL, in the third statement
        Member.insert_many(rows)
    assert Member.count() == 0
