"""Lifecycle events: hook methods and registered callbacks, their order and their power to abort."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import ActiveRecord, Field, RecordInvalid

SAVE_EVENTS = ["before_validate", "after_validate", "before_save"]


def make_hooked_model(log: list):
    """Return a model whose every hook method appends its name to ``log``."""

    class Hooked(ActiveRecord):
        __tablename__ = "hooked"
        name: str = Field(max_length=40)

        def before_validate(self):
            log.append("before_validate")

        def validate_record(self):
            log.append("validate_record")

        def after_validate(self):
            log.append("after_validate")

        def before_save(self):
            log.append("before_save")

        def after_save(self):
            log.append("after_save")

        def before_create(self):
            log.append("before_create")

        def after_create(self):
            log.append("after_create")

        def before_update(self):
            log.append("before_update")

        def after_update(self):
            log.append("after_update")

        def before_delete(self):
            log.append("before_delete")

        def after_delete(self):
            log.append("after_delete")

    return Hooked


def test_hook_methods_fire_in_order(bind):
    log: list[str] = []
    Hooked = make_hooked_model(log)
    bind(Hooked)
    record = Hooked.create(name="a")
    assert log == ["before_validate", "validate_record", "after_validate", "before_save",
                   "before_create", "after_create", "after_save"]
    log.clear()
    record.update(name="b")
    assert log == ["before_validate", "validate_record", "after_validate", "before_save",
                   "before_update", "after_update", "after_save"]
    log.clear()
    record.delete()
    assert log == ["before_delete", "after_delete"]


def test_callbacks_registered_with_on_fire_in_order(bind):
    class Listened(ActiveRecord):
        __tablename__ = "listened"
        name: str = Field(max_length=40)

    bind(Listened)
    log: list[tuple[str, str]] = []
    events = ["before_validate", "after_validate", "before_save", "after_save", "before_create",
              "after_create", "before_update", "after_update", "before_delete", "after_delete"]
    for event in events:
        Listened.on(event, lambda record, event=event: log.append((event, record.name)))

    record = Listened.create(name="a")
    assert [e for e, _ in log] == ["before_validate", "after_validate", "before_save", "before_create",
                                   "after_create", "after_save"]
    assert all(name == "a" for _, name in log)
    log.clear()
    record.update(name="b")
    assert [e for e, _ in log] == ["before_validate", "after_validate", "before_save", "before_update",
                                   "after_update", "after_save"]
    log.clear()
    record.delete()
    assert [e for e, _ in log] == ["before_delete", "after_delete"]


def test_on_as_decorator_and_method_hooks_run_before_callbacks(bind):
    log: list[str] = []

    class Both(ActiveRecord):
        __tablename__ = "both"
        name: str = Field(max_length=40)

        def before_save(self):
            log.append("method")

    @Both.on("before_save")
    def first(record):
        log.append("callback 1")

    Both.on("before_save", lambda record: log.append("callback 2"))
    bind(Both)
    Both.create(name="x")
    assert log == ["method", "callback 1", "callback 2"]


def test_callbacks_are_inherited_but_not_shared_with_siblings(bind):
    log: list[str] = []

    class Parent(ActiveRecord):
        __abstract__ = True
        name: str = Field(max_length=40)

    class Child(Parent):
        pass

    class Sibling(Parent):
        pass

    Parent.on("after_create", lambda r: log.append(f"parent:{type(r).__name__}"))
    Child.on("after_create", lambda r: log.append("child"))
    bind(Child, Sibling)
    Child.create(name="c")
    Sibling.create(name="s")
    assert log == ["parent:Child", "child", "parent:Sibling"]


def test_unknown_event_name_is_refused():
    class Plain(ActiveRecord):
        name: str

    with pytest.raises(ValueError, match="before_save"):
        Plain.on("before_saving", lambda r: None)


def test_hook_may_change_the_record_before_it_is_written(bind):
    class Slugged(ActiveRecord):
        title: str = Field(max_length=40)
        slug: str = Field("", max_length=40)

        def before_save(self):
            self.slug = self.title.lower().replace(" ", "-")

    bind(Slugged)
    s = Slugged.create(title="Hello World")
    assert Slugged.find(s.id).slug == "hello-world"
    s.update(title="Bye Now")
    assert Slugged.find(s.id).slug == "bye-now"


@pytest.mark.parametrize("event", ["before_validate", "before_save", "before_create"])
def test_exception_in_a_before_hook_aborts_the_insert(bind, count_rows, event):
    class Guarded(ActiveRecord):
        __tablename__ = "guarded"
        name: str = Field(max_length=40)

    def refuse(record):
        raise RuntimeError("no")

    Guarded.on(event, refuse)
    bind(Guarded)
    record = Guarded(name="x")
    with pytest.raises(RuntimeError):
        record.save()
    assert count_rows("guarded") == 0
    assert record.is_new_record


@pytest.mark.parametrize("event", ["before_save", "before_update"])
def test_exception_in_a_before_hook_aborts_the_update(bind, event):
    class Guarded(ActiveRecord):
        __tablename__ = "guarded"
        name: str = Field(max_length=40)

    bind(Guarded)
    record = Guarded.create(name="old")

    def refuse(r):
        raise RuntimeError("no")

    Guarded.on(event, refuse)
    with pytest.raises(RuntimeError):
        record.update(name="new")
    assert Guarded.query().pluck("name") == ["old"]


def test_exception_in_before_delete_keeps_the_row(bind, count_rows):
    class Guarded(ActiveRecord):
        __tablename__ = "guarded"
        name: str = Field(max_length=40)

        def before_delete(self):
            raise RuntimeError("keep me")

    bind(Guarded)
    record = Guarded.create(name="x")
    with pytest.raises(RuntimeError):
        record.delete()
    assert count_rows("guarded") == 1


def test_exception_in_after_save_rolls_back_the_insert(bind, count_rows):
    class Audited(ActiveRecord):
        __tablename__ = "audited"
        name: str = Field(max_length=40)

        def after_save(self):
            raise RuntimeError("audit failed")

    bind(Audited)
    record = Audited(name="x")
    with pytest.raises(RuntimeError, match="audit failed"):
        record.save()
    assert count_rows("audited") == 0
    assert record.is_new_record and record.id is None  # memory agrees with the database


def test_exception_in_after_update_rolls_back_the_update(bind):
    fail = []

    class Audited(ActiveRecord):
        __tablename__ = "audited"
        name: str = Field(max_length=40)

        def after_update(self):
            if fail:
                raise RuntimeError("audit failed")

    bind(Audited)
    record = Audited.create(name="old")
    fail.append(True)
    record.name = "new"
    with pytest.raises(RuntimeError):
        record.save()
    assert Audited.query().pluck("name") == ["old"]
    assert record.is_dirty and record.changes == {"name": ("old", "new")}  # still to be saved
    fail.clear()
    record.save()
    assert Audited.query().pluck("name") == ["new"]


def test_exception_in_after_delete_rolls_back_the_delete(bind, count_rows):
    class Audited(ActiveRecord):
        __tablename__ = "audited"
        name: str = Field(max_length=40)

    bind(Audited)
    record = Audited.create(name="x")

    def refuse(r):
        raise RuntimeError("no")

    Audited.on("after_delete", refuse)
    with pytest.raises(RuntimeError):
        record.delete()
    assert count_rows("audited") == 1


def test_after_create_hook_sees_the_new_key_and_can_write_in_the_same_transaction(bind, count_rows):
    class Parent(ActiveRecord):
        __tablename__ = "parents"
        name: str = Field(max_length=40)

        def after_create(self):
            Log.create(parent_id=self.id)

    class Log(ActiveRecord):
        __tablename__ = "logs"
        parent_id: int

    bind(Parent, Log)
    p = Parent.create(name="p")
    assert Log.query().pluck("parent_id") == [p.id]


def test_failed_validation_runs_no_save_hooks(bind):
    log: list[str] = []

    class Checked(ActiveRecord):
        name: str = Field(max_length=40)

        def validate_record(self):
            return {"name": ["bad"]}

        def before_save(self):
            log.append("before_save")

    Checked.on("after_validate", lambda r: log.append("after_validate"))
    bind(Checked)
    with pytest.raises(RecordInvalid):
        Checked.create(name="x")
    assert log == []
