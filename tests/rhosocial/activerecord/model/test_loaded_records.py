"""Records built by the row loader behave as pydantic models and track their changes."""
from __future__ import annotations

import copy
import pickle

import pytest
from pydantic import ConfigDict, PrivateAttr, ValidationError

from rhosocial.activerecord import ActiveRecord, Field


class Gadget(ActiveRecord):
    name: str = Field(max_length=50)
    size: int = 0
    _notes: list = PrivateAttr(default_factory=list)
    _label: str = PrivateAttr(default="plain")


class LooseGadget(ActiveRecord):
    """Assignment without validation writes into ``__dict__`` in place."""

    __tablename__ = "gadgets"
    model_config = ConfigDict(validate_assignment=False)

    name: str = Field(max_length=50)
    size: int = 0


class Box(ActiveRecord):
    label: str = Field(max_length=50)
    items: list = Field(default_factory=list)


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Gadget, Box)


@pytest.fixture
def loaded():
    Gadget.create(name="a", size=1)
    Gadget.create(name="b", size=2)
    return Gadget.query().order_by("id").all()


def test_loaded_record_is_a_complete_pydantic_model(loaded):
    a = loaded[0]
    assert a.model_fields_set == {"id", "name", "size"}
    assert a.model_dump() == {"id": a.id, "name": "a", "size": 1}
    assert a.model_dump(exclude_unset=True) == {"id": a.id, "name": "a", "size": 1}
    assert '"name":"a"' in a.model_dump_json()
    assert a.model_extra is None
    assert repr(a) == f"Gadget(id={a.id}, name='a', size=1)"
    assert a == Gadget.find(a.id) and a != loaded[1]


def test_loaded_records_get_their_own_private_defaults(loaded):
    a, b = loaded
    a._notes.append("x")
    assert b._notes == [] and a._notes == ["x"]
    assert a._label == "plain"


def test_assignment_is_validated_and_tracked(loaded):
    a = loaded[0]
    with pytest.raises(ValidationError):
        a.size = "big"
    assert not a.is_dirty
    a.size = 5
    assert a.changes == {"size": (1, 5)}
    assert "size" in a.model_fields_set
    a.save()
    assert not a.is_dirty
    a.name = "c"
    assert a.changes == {"name": ("a", "c")}


def test_copies_keep_their_own_state(loaded):
    a = loaded[0]
    shallow, deep = a.model_copy(), copy.deepcopy(a)
    pickled = pickle.loads(pickle.dumps(a))
    a.size = 9
    for other in (shallow, deep, pickled):
        assert other == a and not other.is_dirty and other.size == 1
    shallow.size = 3
    assert shallow.changes == {"size": (1, 3)}
    assert a.model_copy(update={"size": 4}).changes == {"size": (1, 4)}


def test_refresh_leaves_copies_alone(loaded):
    a = loaded[0]
    twin = a.model_copy()
    Gadget.where(id=a.id).update_all(size=7)
    a.refresh()
    assert a.size == 7 and not a.is_dirty
    assert twin.size == 1 and not twin.is_dirty
    twin.size = 2
    assert twin.changes == {"size": (1, 2)}


def test_assignment_without_validation_is_still_tracked(backend):
    Gadget.create(name="a", size=1)
    LooseGadget.configure(backend)
    try:
        loose = LooseGadget.query().first()
        assert loose is not None
        loose.size = 2
        assert loose.changes == {"size": (1, 2)}
        loose.save()
        assert Gadget.find(loose.id).size == 2
        loose.size = 3
        assert loose.changes == {"size": (2, 3)}
    finally:
        type.__setattr__(LooseGadget, "__backend__", None)


def test_in_place_change_of_a_mutable_field_is_tracked():
    Box.create(label="a", items=[1])
    box = Box.query().first()
    assert box is not None
    box.items.append(2)
    assert box.changes == {"items": ([1], [1, 2])}
    box.save()
    assert Box.find(box.id).items == [1, 2]
