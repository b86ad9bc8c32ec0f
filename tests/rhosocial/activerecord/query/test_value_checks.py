"""Query values are checked against their column's type before any SQL is sent."""
from __future__ import annotations

import datetime as dt

import pytest

from rhosocial.activerecord import RecordNotFound
from rhosocial.activerecord.backend import DataError

from .models import User


def test_a_value_of_the_wrong_type_names_the_column(people, backend):
    with backend.capture_statements() as sent:
        with pytest.raises(DataError, match=r"User\.age cannot be compared with 'abc'"):
            User.where(age="abc").all()
        with pytest.raises(DataError, match="User.age"):
            User.where(age=[1, "x"]).all()  # not silently age IN (1)
        with pytest.raises(DataError):
            User.where(User.c.age > "old").count()
        with pytest.raises(DataError):
            User.where(name="ann").update_all(age="many")
        with pytest.raises(DataError, match="User.id"):
            User.find("abc")
    assert sent == []  # nothing reached the database


def test_values_that_convert_are_accepted(people):
    assert User.where(age="30").pluck("name") == User.where(age=30).pluck("name")
    assert User.where(User.c.age.in_(["18", 45])).count() == User.where(User.c.age.in_([18, 45])).count()
    with pytest.raises(RecordNotFound):
        User.find("999999")  # a numeric string is a key like any other


def test_dates_compare_with_datetime_columns(backend):
    from rhosocial.activerecord import ActiveRecord
    from rhosocial.activerecord.model.mixins import TimestampMixin

    class Stamped(TimestampMixin, ActiveRecord):
        __tablename__ = "value_checks_stamped"
        label: str = "x"

    Stamped.configure(backend)
    Stamped.create_table()
    Stamped.create()
    assert Stamped.where(Stamped.c.created_at >= dt.date(2000, 1, 1)).count() == 1
