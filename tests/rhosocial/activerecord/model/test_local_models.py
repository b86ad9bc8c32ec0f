"""Models defined inside functions, under postponed annotations, resolve like plain pydantic models.

Tests (and factories) often define a model in a function; with ``from
__future__ import annotations`` every annotation is a string that must be
resolved in the function's namespace.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

import pydantic

from rhosocial.activerecord import ActiveRecord, Field


def test_a_model_defined_in_a_function_sees_the_functions_names(bind):
    Stamp = dt.datetime  # a name only this function has

    class Plain(pydantic.BaseModel):
        at: Optional[Stamp] = None

    class Event(ActiveRecord):
        __tablename__ = "local_events"
        title: str = Field(max_length=40)
        at: Optional[Stamp] = None

    bind(Event)
    when = dt.datetime(2021, 1, 1, 12, 30, tzinfo=dt.timezone.utc)
    saved = Event.create(title="new year", at=when)
    assert Event.find(saved.id).at == when
    assert Plain(at=when).at == Event.find(saved.id).at


def test_local_models_refer_to_each_other(bind):
    class Owner(ActiveRecord):
        __tablename__ = "local_owners"
        name: str = Field(max_length=40)

    class Pet(ActiveRecord):
        __tablename__ = "local_pets"
        owner_id: int = Field(references="local_owners.id")
        kind: Optional[str] = Field(None, max_length=20)

    bind(Owner, Pet)
    ada = Owner.create(name="ada")
    Pet.create(owner_id=ada.id, kind="cat")
    assert [p.kind for p in Pet.where(owner_id=ada.id).all()] == ["cat"]
