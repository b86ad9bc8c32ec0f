"""One metadata object per model; nothing outside a model class keeps it alive."""
from __future__ import annotations

import gc
import weakref
from typing import Optional

from rhosocial.activerecord import ActiveRecord, Field, has_many
from rhosocial.activerecord.model.metadata import ModelMetadata
from rhosocial.activerecord.testing.threads import run_threads


def _make_model(events: list[str]) -> type:
    class Shortlived(ActiveRecord):
        __tablename__ = "metadata_shortlived"
        id: Optional[int] = None
        name: str = Field(max_length=20, column="Name")
        children = has_many("Shortlived", foreign_key="id")

    Shortlived.on("before_save", lambda record: events.append("saved"))
    Shortlived.c.name  # noqa: B018 - fill the caches
    Shortlived.metadata().associations  # noqa: B018
    return Shortlived


def test_metadata_holds_what_the_orm_knows(bind, backend):
    events: list[str] = []
    model = _make_model(events)
    meta = model.metadata()
    assert isinstance(meta, ModelMetadata) and meta.model is model
    assert meta.column_name("name") == "Name" and meta.keys == ("id",)
    assert meta.table == "metadata_shortlived" and list(meta.columns) == ["id", "name"]
    assert set(meta.associations) == {"children"}
    assert meta.namespace is model.c
    bind(model)
    model.create(name="x")
    assert events == ["saved"] and "before_save" in meta.active_events()
    assert meta.reader(backend, "id") is meta.schema(backend).readers.get("id")
    assert meta.schema(backend) is meta.schema(backend)  # compiled once per backend


def test_a_model_class_with_callbacks_is_collected_when_unused(bind, backend):
    events: list[str] = []
    model = _make_model(events)
    bind(model)
    model.create(name="y")
    ref = weakref.ref(model)
    del model
    for _ in range(3):
        gc.collect()
    assert ref() is None, gc.get_referrers(ref())


def test_subclasses_see_callbacks_registered_on_their_ancestors_later():
    class Parent(ActiveRecord):
        __tablename__ = "metadata_parents"
        id: Optional[int] = None

    class Child(Parent):
        __tablename__ = "metadata_children"

    assert Child.metadata().callbacks("after_save") == ()
    assert "after_save" not in Child.metadata().active_events()
    hook = lambda record: None  # noqa: E731
    Parent.on("after_save", hook)
    assert Child.metadata().callbacks("after_save") == (hook,)
    assert "after_save" in Child.metadata().active_events()


def test_callbacks_registered_from_many_threads_are_all_kept():
    class Busy(ActiveRecord):
        __tablename__ = "metadata_busy"
        id: Optional[int] = None

    hooks = [(lambda i: (lambda record: i))(i) for i in range(200)]

    def register(i: int) -> None:
        for hook in hooks[i::4]:
            Busy.on("before_save", hook)
            Busy.metadata().active_events()

    run_threads(register, 4, timeout=20)
    assert set(Busy.metadata().callbacks("before_save")) == set(hooks)
