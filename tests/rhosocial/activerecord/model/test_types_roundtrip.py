"""Values of every supported Python type survive save and load through models on every backend."""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Literal

import pydantic
import pytest

from rhosocial.activerecord import ActiveRecord, Field


class Color(enum.Enum):
    RED = "red"
    DARK_GREEN = "dark-green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 10


class Dimensions(pydantic.BaseModel):
    width: int
    height: int
    unit: str = "cm"


IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


class Sample(ActiveRecord):
    moment: dt.datetime
    aware: pydantic.AwareDatetime
    naive: pydantic.NaiveDatetime
    day: dt.date
    clock: dt.time
    amount: Decimal = Field(max_digits=18, decimal_places=6)
    key: uuid.UUID
    data: dict
    items: list
    flag: bool
    blob: bytes
    color: Color
    priority: Priority
    size: Dimensions
    ratio: float
    big: int
    kind: Literal["a", "bb"] = "a"
    maybe_day: dt.date | None = None
    maybe_data: dict | None = None


def values(**overrides):
    base = dict(  # noqa: C408 - reads as the model's fields
        moment=dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=IST),
        aware=dt.datetime(2024, 6, 30, 23, 59, 59, tzinfo=dt.UTC),
        naive=dt.datetime(1999, 12, 31, 23, 59, 59, 500000),
        day=dt.date(2024, 2, 29),
        clock=dt.time(23, 59, 58, 250000),
        amount=Decimal("-123456789012.123456"),
        key=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        data={"name": "ü ñ 🐍", "nested": {"list": [1, 2.5, None, True]}, "empty": {}},
        items=[1, "two", [3], {"four": 4}],
        flag=True,
        blob=bytes(range(256)),
        color=Color.DARK_GREEN,
        priority=Priority.HIGH,
        size=Dimensions(width=3, height=4),
        ratio=0.1,
        big=2**53 + 1,
        kind="bb",
    )
    base.update(overrides)
    return base


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Sample)


def test_every_type_round_trips():
    original = Sample.create(**values())
    loaded = Sample.find(original.id)
    for name in Sample.model_fields:
        assert getattr(loaded, name) == getattr(original, name), name
        if getattr(original, name) is not None:
            assert type(getattr(loaded, name)) is type(getattr(original, name)), name
    assert not loaded.is_dirty


def test_aware_datetimes_keep_their_instant_and_stay_aware():
    s = Sample.create(**values())
    loaded = Sample.find(s.id)
    for name in ("moment", "aware"):
        value = getattr(loaded, name)
        assert value.tzinfo is not None and value.utcoffset() is not None
        assert value == getattr(s, name)
    assert loaded.moment.astimezone(dt.UTC) == dt.datetime(2024, 1, 1, 21, 34, 5, 123456,
                                                                    tzinfo=dt.UTC)
    assert loaded.naive.tzinfo is None


def test_false_empty_and_zero_values_round_trip():
    s = Sample.create(**values(flag=False, blob=b"", data={}, items=[], amount=Decimal(0), ratio=0.0,
                               big=0, clock=dt.time(0, 0), color=Color.RED, priority=Priority.LOW))
    loaded = Sample.find(s.id)
    assert (loaded.flag, loaded.blob, loaded.data, loaded.items) == (False, b"", {}, [])
    assert (loaded.amount, loaded.ratio, loaded.big, loaded.clock) == (Decimal(0), 0.0, 0, dt.time(0, 0))
    assert (loaded.color, loaded.priority) == (Color.RED, Priority.LOW)


def test_optional_values_round_trip_as_none_and_as_values():
    s = Sample.create(**values())
    assert Sample.find(s.id).maybe_day is None and Sample.find(s.id).maybe_data is None
    s.update(maybe_day=dt.date(2000, 1, 1), maybe_data={"k": [1]})
    loaded = Sample.find(s.id)
    assert loaded.maybe_day == dt.date(2000, 1, 1) and loaded.maybe_data == {"k": [1]}
    loaded.update(maybe_day=None, maybe_data=None)
    assert Sample.find(s.id).maybe_day is None and Sample.find(s.id).maybe_data is None


def test_updates_of_each_type_round_trip():
    s = Sample.create(**values())
    s.update(
        moment=dt.datetime(2030, 5, 6, 7, 8, 9, tzinfo=dt.UTC), day=dt.date(1970, 1, 1),
        amount=Decimal("0.000001"), key=uuid.UUID(int=1), data={"x": "y"}, items=[None],
        flag=False, blob=b"\x00", color=Color.RED, priority=Priority.LOW,
        size=Dimensions(width=1, height=2, unit="m"), clock=dt.time(12, 0, 0, 1),
    )
    loaded = Sample.find(s.id)
    for name in Sample.model_fields:
        assert getattr(loaded, name) == getattr(s, name), name


def test_queries_compare_typed_values_like_the_column_stores_them():
    s = Sample.create(**values())
    Sample.create(**values(key=uuid.uuid4(), color=Color.RED, priority=Priority.LOW, day=dt.date(2020, 1, 1),
                           amount=Decimal("1.5"), flag=False,
                           moment=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    assert Sample.find_by(key=s.key).id == s.id
    assert Sample.find_by(color=Color.DARK_GREEN).id == s.id
    assert Sample.find_by(priority=Priority.HIGH).id == s.id
    assert Sample.find_by(day=dt.date(2024, 2, 29)).id == s.id
    assert Sample.find_by(amount=Decimal("-123456789012.123456")).id == s.id
    assert Sample.find_by(flag=True).id == s.id
    assert Sample.query().where(Sample.c.moment == s.moment).one().id == s.id
    assert Sample.query().where(Sample.c.moment > dt.datetime(2021, 1, 1, tzinfo=dt.UTC)).count() == 1
    assert Sample.query().where(Sample.c.key.in_([s.key, uuid.UUID(int=7)])).count() == 1


def test_aggregates_and_pluck_return_column_types():
    Sample.create(**values(amount=Decimal("1.25")))
    Sample.create(**values(amount=Decimal("2.50"), day=dt.date(2030, 1, 1)))
    assert Sample.query().sum("amount") == Decimal("3.75")
    assert Sample.query().max("day") == dt.date(2030, 1, 1)
    assert isinstance(Sample.query().min("day"), dt.date)
    assert sorted(Sample.query().pluck("amount")) == [Decimal("1.25"), Decimal("2.50")]
    keys = Sample.query().pluck("key")
    assert all(isinstance(k, uuid.UUID) for k in keys)
