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


# -- validation without saving: is_valid(), errors, build, contexts, uniqueness --------

import datetime as _dt  # noqa: E402

from rhosocial.activerecord import Errors, ModelDefinitionError, SoftDeleteMixin, validates  # noqa: E402
from rhosocial.activerecord.backend.errors import UniqueViolationError  # noqa: E402
from rhosocial.activerecord.model.events import CallbackRegistry  # noqa: E402
from rhosocial.activerecord.testing.aio import run_async  # noqa: E402

INT_MESSAGE = "Input should be a valid integer, unable to parse string as an integer"


class Member(ActiveRecord):
    """Every kind of rule: types, constraints, validators, validate_record, uniqueness."""

    __tablename__ = "v_members"
    name: str = Field(max_length=10)
    email: str = Field(max_length=100, unique=True)
    handle: str | None = Field(None, max_length=20, unique=True)
    age: int = Field(0, ge=0)
    nickname: str | None = None

    @pydantic.field_validator("email")
    @classmethod
    def must_have_at(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("must contain @")
        return value

    @pydantic.model_validator(mode="after")
    def not_thirteen(self):
        if self.age == 13:
            raise ValueError("age 13 is not allowed")
        return self

    def validate_record(self):
        if self.nickname is not None and self.nickname == self.name:
            return {"nickname": ["must differ from name"]}
        return None


class Period(ActiveRecord):
    """A model rule over two fields, for assigning them together."""

    __tablename__ = "v_periods"
    starts: int
    ends: int

    @pydantic.model_validator(mode="after")
    def ordered(self):
        if self.ends < self.starts:
            raise ValueError("ends before it starts")
        return self


class Signup(ActiveRecord):
    """Rules for one context each."""

    __tablename__ = "v_signups"
    login: str = Field(max_length=20)
    terms: bool = False
    note: str = ""

    @validates("login", on="create")
    def login_not_reserved(self):
        if self.login == "admin":
            return "is reserved"

    @validates("terms", on=("signup",))
    def terms_accepted(self):
        return None if self.terms else ["must be accepted"]

    def validate_record(self):
        if self.validation_context == "update" and self.note == "frozen":
            return {"note": ["cannot be set on update"]}
        return None


class Plain(ActiveRecord):
    """No unique field, no hook, no rule: saving must not validate at all."""

    __tablename__ = "v_plain"
    title: str = Field(max_length=20)


class Tag(SoftDeleteMixin, ActiveRecord):
    __tablename__ = "v_tags"
    label: str = Field(max_length=20, unique=True)


@pytest.fixture
def models(bind):
    return bind(Member, Period, Signup, Plain, Tag)


def _rows(backend, sql):
    return [tuple(row.values()) for row in backend.fetch_all(sql)]


def _writes(statements):
    return [s for s in statements if not s.lstrip().upper().startswith(("SELECT", "WITH"))]


# -- is_valid and errors ------------------------------------------------------------


def test_errors_is_empty_before_any_validation(models):
    m = Member(name="a", email="a@x")
    assert isinstance(m.errors, Errors)
    assert not m.errors and len(m.errors) == 0 and m.errors == {}
    assert m.errors["email"] == []
    assert "email" not in m.errors


def test_is_valid_reports_each_kind_of_rule_and_writes_nothing(models, backend, count_rows):
    Member.create(name="taken", email="taken@x")
    m = Member.build(name="x" * 11, email="taken@x", age="old", nickname=None)
    assert not m.is_valid()
    assert m.errors == {
        "name": ["String should have at most 10 characters"],
        "age": [INT_MESSAGE],
        "email": ["has already been taken"],
    }
    m2 = Member.build(name="b", email="no-at-sign", age=-1)
    with backend.capture_statements() as statements:
        assert m2.is_valid() is False
    assert _writes(statements) == []
    assert m2.errors["email"] == ["must contain @"]
    assert m2.errors["age"] == ["Input should be greater than or equal to 0"]
    m3 = Member.build(name="c", email="c@x", age=13)
    assert not m3.is_valid()
    assert m3.errors == {"__all__": ["age 13 is not allowed"]}
    m4 = Member(name="same", email="d@x", nickname="same")
    assert not m4.is_valid()
    assert m4.errors == {"nickname": ["must differ from name"]}
    assert count_rows("v_members") == 1
    assert all(r.is_new_record for r in (m, m2, m3, m4))


def test_full_messages_read_as_sentences(models):
    Member.create(name="taken", email="taken@x")
    m = Member.build(name="ok", email="taken@x", age="old")
    assert not m.is_valid()
    assert m.errors.full_messages() == [
        "Age input should be a valid integer, unable to parse string as an integer",
        "Email has already been taken",
    ]
    whole = Member.build(name="c", email="c@x", age=13)
    assert whole.errors.full_messages() == ["Age 13 is not allowed"]


def test_errors_object_api():
    errors = Errors({"email": ["has already been taken"]})
    errors.add("first_name", "is too short")
    errors.add("__all__", "dates overlap")
    assert list(errors) == ["email", "first_name", "__all__"]
    assert errors["first_name"] == ["is too short"] and errors["nope"] == []
    assert errors.get("nope") is None and errors.get("email") == ["has already been taken"]
    assert errors.to_dict() == {"email": ["has already been taken"], "first_name": ["is too short"],
                                "__all__": ["dates overlap"]}
    assert errors.full_messages() == ["Email has already been taken", "First name is too short",
                                      "Dates overlap"]
    errors["email"].append("ignored")  # a copy: add() is the way to add
    assert errors["email"] == ["has already been taken"]
    with pytest.raises(TypeError, match="non-empty string"):
        errors.add("email", "")
    with pytest.raises(TypeError, match="field name"):
        errors.add(None, "x")


def test_a_valid_record_is_valid_and_errors_clear(models):
    m = Member(name="same", email="a@x", nickname="same")
    assert not m.is_valid()
    m.nickname = "other"
    assert m.is_valid() and m.errors == {}


def test_save_leaves_its_errors_on_the_record(models, count_rows):
    Member.create(name="a", email="a@x")
    m = Member(name="b", email="a@x")
    with pytest.raises(RecordInvalid) as info:
        m.save()
    assert info.value.errors == {"email": ["has already been taken"]} == m.errors
    assert count_rows("v_members") == 1


# -- build and assign_attributes --------------------------------------------------------


def test_build_keeps_good_values_and_the_bad_ones_as_given(models):
    m = Member.build(name="ok", email="e@x", age="old", handle="h" * 21)
    assert (m.name, m.email) == ("ok", "e@x")
    assert m.age == "old" and m.handle == "h" * 21  # shown back to the user as typed
    assert set(m.errors) == {"age", "handle"}
    assert m.is_new_record
    good = Member.build(name="ok", email="e@x", age="7")
    assert good.age == 7 and good.errors == {} and good.is_valid()


def test_build_reports_a_missing_required_field(models):
    m = Member.build(email="e@x")
    assert m.errors == {"name": ["Field required"]}
    assert m.name is None


def test_build_refuses_unknown_names(models):
    with pytest.raises(TypeError, match=r"Member.build\(\) got an unknown field 'emial'; fields: .*email"):
        Member.build(name="a", emial="a@x")


def test_a_built_record_with_bad_input_is_never_written(models, backend, count_rows):
    m = Member.build(name="a", email="a@x", age="old")
    with backend.capture_statements() as statements:
        with pytest.raises(RecordInvalid) as info:
            m.save()
        assert info.value.errors == {"age": [INT_MESSAGE]}
        with pytest.raises(RecordInvalid):
            m.save(validate=False)  # a value that failed its type is never written
    assert _writes(statements) == []
    assert count_rows("v_members") == 0 and m.is_new_record and m.id is None
    m.age = 30  # fixed by a valid assignment
    assert m.save().id is not None
    assert count_rows("v_members") == 1
    assert backend.fetch_value("SELECT age FROM v_members") == 30


def test_a_model_validator_error_from_build_blocks_saving_until_fixed(models, count_rows):
    m = Member.build(name="a", email="a@x", age=13)
    with pytest.raises(RecordInvalid) as info:
        m.save(validate=False)
    assert info.value.errors == {"__all__": ["age 13 is not allowed"]}
    assert count_rows("v_members") == 0
    m.age = 14
    m.save()
    assert count_rows("v_members") == 1


def test_assign_attributes_takes_good_values_and_refuses_bad_ones(models, backend, count_rows):
    m = Member.create(name="a", email="a@x", age=5)
    m.assign_attributes(name="renamed", age="old")
    assert m.name == "renamed"
    assert m.age == 5  # not assigned: the record only ever holds valid values
    assert m.errors == {"age": [INT_MESSAGE]}
    assert not m.is_valid()
    with backend.capture_statements() as statements:
        with pytest.raises(RecordInvalid):
            m.save()
        with pytest.raises(RecordInvalid):
            m.save(validate=False)  # saving now would silently drop the refused age
    assert _writes(statements) == []
    assert _rows(backend, "SELECT name, age FROM v_members") == [("a", 5)]
    m.assign_attributes(age=6)  # fixed
    assert m.errors == {}
    m.save()
    assert _rows(backend, "SELECT name, age FROM v_members") == [("renamed", 6)]
    assert count_rows("v_members") == 1


def test_a_refused_field_is_fixed_by_plain_assignment_or_refresh(models):
    m = Member.create(name="a", email="a@x", age=5)
    m.assign_attributes(age="old")
    m.age = 40
    assert m.is_valid()
    m.assign_attributes(age="old")
    m.refresh()
    assert m.is_valid() and m.age == 5


def test_assign_attributes_runs_model_validators_on_the_new_values_together(models, count_rows):
    p = Period.create(starts=1, ends=2)
    p.assign_attributes(starts=5, ends=6)  # one at a time, starts=5 > ends=2 would fail
    assert p.errors == {} and (p.starts, p.ends) == (5, 6)
    p.save()
    p.assign_attributes(starts=9, ends=7)
    assert (p.starts, p.ends) == (5, 6)  # none taken
    assert p.errors == {"__all__": ["ends before it starts"]}
    with pytest.raises(RecordInvalid):
        p.save()
    assert _rows(Period.backend(), "SELECT starts, ends FROM v_periods") == [(5, 6)]


def test_assign_attributes_refuses_unknown_names(models):
    m = Member(name="a", email="a@x")
    with pytest.raises(TypeError, match="unknown field 'colour'"):
        m.assign_attributes(colour="red")


# -- contexts ------------------------------------------------------------------------


def test_a_rule_on_create_only(models):
    s = Signup(login="admin")
    assert not s.is_valid() and s.errors == {"login": ["is reserved"]}
    with pytest.raises(RecordInvalid):
        s.save()
    s.login = "root"
    s.save()
    s.login = "admin"
    assert s.is_valid()  # context "update": the rule does not apply
    s.save()
    assert Signup.find(s.id).login == "admin"


def test_a_rule_on_update_only(models):
    s = Signup(login="a", note="frozen")
    assert s.is_valid()
    s.save()
    s.note = "thawed"
    s.save()
    s.note = "frozen"
    assert not s.is_valid()
    assert s.errors == {"note": ["cannot be set on update"]}
    with pytest.raises(RecordInvalid):
        s.save()
    assert Signup.find(s.id).note == "thawed"


def test_a_custom_context_and_explicit_contexts(models):
    s = Signup(login="admin")
    assert s.is_valid(on="update")  # neither the create rule nor the signup rule
    assert not s.is_valid(on="signup")
    assert s.errors == {"terms": ["must be accepted"]}
    assert not s.is_valid(on="create")
    assert s.errors == {"login": ["is reserved"]}
    s.login = "root"
    s.save()  # save's context is "create": the signup rule does not run
    with pytest.raises(TypeError, match="context name"):
        s.is_valid(on=1)


def test_validation_context_is_set_only_while_validating(models):
    seen = []

    class Ctx(ActiveRecord):
        __tablename__ = "v_ctx"
        n: int = 0

        def validate_record(self):
            seen.append(self.validation_context)

    Ctx.create_table()
    c = Ctx()
    assert c.validation_context is None
    c.is_valid(on="import")
    c.save()
    c.n = 1
    c.save()
    assert seen == ["import", "create", "update"]
    assert c.validation_context is None


def test_validates_checks_its_declaration():
    class Bad(ActiveRecord):
        __tablename__ = "v_bad"
        a: int = 0

        @validates("b")
        def check(self):
            return None

    with pytest.raises(ModelDefinitionError, match=r"Bad.check: @validates names 'b'"):
        Bad(a=1).is_valid()
    with pytest.raises(TypeError, match="field names"):
        validates(3)
    with pytest.raises(TypeError, match="context name"):
        validates("a", on=[1])


def test_a_rule_returning_something_else_fails_clearly(bind):
    class Odd(ActiveRecord):
        __tablename__ = "v_odd"
        a: int = 0

        @validates("a")
        def check(self):
            return 42

    bind(Odd)
    with pytest.raises(TypeError, match=r"Odd.check\(\) returned 42"):
        Odd().is_valid()


def test_rules_skip_fields_that_hold_refused_input(bind):
    calls = []

    class Rated(ActiveRecord):
        __tablename__ = "v_rated"
        stars: int = Field(ge=1, le=5)

        @validates("stars")
        def not_three(self):
            calls.append(self.stars)
            return "cannot be 3" if self.stars == 3 else None

    bind(Rated)
    r = Rated.build(stars="many")
    assert not r.is_valid() and calls == []  # never called with a str
    r.stars = 3
    assert not r.is_valid() and r.errors == {"stars": ["cannot be 3"]} and calls == [3]


# -- uniqueness ----------------------------------------------------------------------


def test_unique_on_create(models, count_rows):
    Member.create(name="a", email="a@x")
    with pytest.raises(RecordInvalid) as info:
        Member.create(name="b", email="a@x")
    assert info.value.errors == {"email": ["has already been taken"]}
    assert count_rows("v_members") == 1


def test_unique_on_update(models, backend):
    Member.create(name="a", email="a@x")
    b = Member.create(name="b", email="b@x")
    b.email = "a@x"
    with pytest.raises(RecordInvalid):
        b.save()
    assert backend.fetch_value("SELECT email FROM v_members WHERE name = 'b'") == "b@x"
    b.email = "b@x"  # its own value
    b.name = "bee"
    assert b.is_valid()
    b.save()
    assert backend.fetch_value("SELECT name FROM v_members WHERE email = 'b@x'") == "bee"


def test_a_record_never_collides_with_its_own_row(models):
    Member.create(name="a", email="a@x")
    partial = Member.query().select("id", "name", "handle", "age", "nickname").first()  # without email
    partial.email = "a@x"  # its own row's value: not a duplicate
    assert partial.is_valid(), partial.errors
    partial.save()
    assert Member.count() == 1


def test_own_row_with_a_composite_key(bind):
    class Seat(ActiveRecord):
        __tablename__ = "v_seats"
        __primary_key__ = ("hall", "number")
        hall: str = Field(max_length=10)
        number: int
        code: str = Field(max_length=10, unique=True)

    bind(Seat)
    Seat.create(hall="a", number=1, code="A1")
    Seat.create(hall="a", number=2, code="A2")
    partial = Seat.query().select("hall", "number").where(number=1).first()
    partial.code = "A1"
    assert partial.is_valid(), partial.errors
    partial.code = "A2"
    assert not partial.is_valid() and partial.errors == {"code": ["has already been taken"]}


def test_unchanged_unique_fields_are_not_queried(models, backend):
    m = Member.create(name="a", email="a@x", handle="h")
    m.age = 3
    with backend.capture_statements() as statements:
        m.save()
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE")
    with backend.capture_statements() as statements:
        assert m.is_valid()
    assert statements == []


def test_null_is_never_a_duplicate(models, count_rows):
    Member.create(name="a", email="a@x", handle=None)
    Member.create(name="b", email="b@x", handle=None)
    assert count_rows("v_members") == 2
    c = Member.create(name="c", email="c@x", handle="h")
    c.handle = None
    c.save()


def test_a_soft_deleted_row_still_holds_its_unique_value(models, count_rows):
    t = Tag.create(label="red")
    t.delete()
    assert Tag.count() == 0 and count_rows("v_tags") == 1
    again = Tag(label="red")
    assert not again.is_valid()
    assert again.errors == {"label": ["has already been taken"]}


def test_the_database_constraint_still_decides_a_race(models, backend, backend_factory, count_rows):
    """The check passes, then another connection commits the same value before the INSERT."""
    other = backend_factory()
    q = backend.dialect.quote_identifier
    raced = []

    def listener(sql, params, seconds):
        if not raced and sql.lstrip().upper().startswith("SELECT") and "v_members" in sql:
            raced.append(sql)
            other.execute(f"INSERT INTO {q('v_members')} (name, email, age) VALUES ('x', 'r@x', 0)", ())

    m = Member(name="m", email="r@x")
    backend.add_listener(listener)
    try:
        with pytest.raises(UniqueViolationError):
            m.save()
    finally:
        backend.remove_listener(listener)
    assert raced  # the pre-check ran, and found nothing
    assert m.is_new_record and m.id is None
    assert count_rows("v_members") == 1  # only the other connection's row


def test_a_taken_value_leaves_the_callers_transaction_usable(bind, count_rows):
    """The uniqueness SELECT wrote nothing: RecordInvalid must not doom the transaction."""
    log = []

    class Hooked(ActiveRecord):
        __tablename__ = "v_hooked"
        code: str = Field(max_length=10, unique=True)

        def before_save(self):
            log.append(self.code)

    bind(Hooked)
    with Hooked.transaction():
        Hooked.create(code="a")
        with pytest.raises(RecordInvalid):
            Hooked.create(code="a")
        Hooked.create(code="b")
    assert count_rows("v_hooked") == 2 and log == ["a", "b"]


def test_records_checked_before_either_saves(models, count_rows):
    a = Member(name="a", email="same@x")
    b = Member(name="b", email="same@x")
    assert a.is_valid() and b.is_valid()  # neither is saved yet
    a.save()
    with pytest.raises(RecordInvalid):
        b.save()  # save checks again
    with pytest.raises(UniqueViolationError):
        b.save(validate=False)  # and without the check the database refuses it
    assert count_rows("v_members") == 1 and b.is_new_record


def test_a_model_without_checks_saves_without_validating(models, backend):
    assert "validate_record" not in CallbackRegistry.active(Plain)
    assert "validate_record" in CallbackRegistry.active(Tag)  # it has a unique field
    with backend.capture_statements() as statements:
        Plain(title="a").save()
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT")


# -- async ---------------------------------------------------------------------------


def test_ais_valid(models):
    pytest.importorskip("greenlet")
    Member.create(name="a", email="a@x")

    async def main():
        m = Member(name="b", email="a@x")
        return await m.ais_valid(), m.errors.to_dict(), await Member(name="c", email="c@x").ais_valid()

    assert run_async(main, timeout=60) == (False, {"email": ["has already been taken"]}, True)
