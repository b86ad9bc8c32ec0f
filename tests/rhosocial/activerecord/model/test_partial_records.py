"""Records loaded with some columns know which fields they lack; selected expressions are readable."""
from __future__ import annotations

from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field, UnloadedFieldError, func


class Person(ActiveRecord):
    __tablename__ = "partial_people"
    name: str = Field(max_length=40)
    age: int
    city: Optional[str] = Field(None, max_length=40)


def test_a_field_the_query_did_not_select_is_unloaded_not_none(bind):
    bind(Person)
    ada = Person.create(name="ada", age=36, city="London")
    partial = Person.query().select("id", "name").one()
    assert partial.name == "ada"
    with pytest.raises(UnloadedFieldError, match="age was not loaded"):
        partial.age  # noqa: B018
    assert not hasattr(partial, "city")
    assert partial.model_dump() == {"id": ada.id, "name": "ada"}
    partial.name = "Ada"
    partial.save()  # writes only what was loaded and changed
    fresh = Person.find(ada.id)
    assert (fresh.name, fresh.age, fresh.city) == ("Ada", 36, "London")
    partial.age = 37  # setting an unloaded field loads it, and saving writes it
    partial.save()
    assert Person.find(ada.id).age == 37 and Person.find(ada.id).city == "London"
    assert partial.refresh().city == "London"


def test_a_record_loaded_without_its_key_cannot_be_written(bind):
    bind(Person)
    Person.create(name="bob", age=5)
    keyless = Person.query().select("name", "age").one()
    keyless.age = 6
    with pytest.raises(UnloadedFieldError, match="loaded without id"):
        keyless.save()
    with pytest.raises(UnloadedFieldError):
        keyless.delete()
    assert Person.find_by(name="bob").age == 5


def test_selected_expressions_are_annotations_on_the_records(bind):
    bind(Person)
    for name, age, city in (("a", 10, "Oslo"), ("b", 20, "Oslo"), ("c", 30, "Rome")):
        Person.create(name=name, age=age, city=city)
    people = Person.query().select("id", "name", (Person.c.age * 2).label("twice")).order_by("name").all()
    assert [p.twice for p in people] == [20, 40, 60]
    assert people[0].annotations == {"twice": 20}
    groups = Person.query().select("city", func.count().label("n")).group_by("city").order_by("city").all()
    assert [(g.city, g.n) for g in groups] == [("Oslo", 2), ("Rome", 1)]
