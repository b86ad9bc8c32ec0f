"""Validation: bad values are refused before anything is written."""
from __future__ import annotations

import pydantic
import pytest

from rhosocial.activerecord import ActiveRecord, Field, RecordInvalid


class Account(ActiveRecord):
    name: str = Field(max_length=20)
    email: str = Field(max_length=100)
    age: int = Field(0, ge=0)
    nickname: str | None = None

    @pydantic.field_validator("email")
    @classmethod
    def must_have_at(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("must contain @")
        return value

    def validate_record(self):
        errors = {}
        if self.nickname is not None and self.nickname == self.name:
            errors["nickname"] = ["must differ from name"]
        if self.name == "taken" and Account.find_by(name="taken") not in (None, self):
            errors.setdefault("name", []).append("is taken")
        return errors


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Account)


def test_bad_type_at_construction_writes_nothing(count_rows):
    with pytest.raises(pydantic.ValidationError):
        Account(name="a", email="a@x", age="old")
    with pytest.raises(pydantic.ValidationError):
        Account.create(name="a", email="no-at-sign")
    with pytest.raises(pydantic.ValidationError):
        Account.create(name="a", email="a@x", age=-1)
    assert count_rows("accounts") == 0


def test_bad_assignment_is_refused_and_leaves_the_record_alone(count_rows):
    a = Account.create(name="a", email="a@x", age=5)
    with pytest.raises(pydantic.ValidationError):
        a.age = "five"
    with pytest.raises(pydantic.ValidationError):
        a.name = "x" * 21
    assert (a.age, a.name) == (5, "a")
    assert not a.is_dirty
    assert Account.find(a.id).age == 5


def test_values_are_coerced_like_pydantic_does():
    a = Account(name="a", email="a@x", age="7")
    assert a.age == 7


def test_validate_record_errors_raise_record_invalid_and_write_nothing(count_rows, backend):
    a = Account(name="same", email="a@x", nickname="same")
    with backend.capture_statements() as statements, pytest.raises(RecordInvalid) as info:
        a.save()
    assert statements == []
    assert info.value.errors == {"nickname": ["must differ from name"]}
    assert info.value.record is a
    assert "nickname" in str(info.value)
    assert a.is_new_record and a.id is None
    assert count_rows("accounts") == 0


def test_validate_record_runs_on_update_too(count_rows):
    a = Account.create(name="n", email="a@x")
    a.nickname = "n"
    with pytest.raises(RecordInvalid):
        a.save()
    assert Account.find(a.id).nickname is None
    assert a.is_dirty  # the change is kept in memory to be fixed


def test_validate_record_may_query_the_database():
    Account.create(name="taken", email="a@x")
    with pytest.raises(RecordInvalid) as info:
        Account.create(name="taken", email="b@x")
    assert info.value.errors == {"name": ["is taken"]}
    assert Account.count() == 1


def test_save_without_validation_skips_validate_record():
    a = Account(name="same", email="a@x", nickname="same")
    a.save(validate=False)
    assert Account.find(a.id).nickname == "same"


def test_update_with_one_invalid_value_changes_nothing(backend):
    a = Account.create(name="a", email="a@x", age=1)
    with backend.capture_statements() as statements, pytest.raises(pydantic.ValidationError):
        a.update(name="renamed", age="not a number")
    assert statements == []
    assert (a.name, a.age) == ("a", 1)
    assert not a.is_dirty
    stored = Account.find(a.id)
    assert (stored.name, stored.age) == ("a", 1)


def test_update_failing_validate_record_writes_nothing():
    a = Account.create(name="a", email="a@x")
    with pytest.raises(RecordInvalid):
        a.update(nickname="a")
    assert Account.find(a.id).nickname is None


class NoShouting(pydantic.BaseModel):
    """A mixin that brings its own record rule."""

    def validate_record(self):
        return {"title": ["no shouting"]} if self.title.isupper() else None


class Notice(NoShouting, ActiveRecord):
    title: str = Field(max_length=20)


def test_validate_record_from_a_mixin_runs_at_save(bind):
    bind(Notice)
    with pytest.raises(RecordInvalid):
        Notice(title="LOUD").save()
    assert Notice(title="calm").save().id is not None
