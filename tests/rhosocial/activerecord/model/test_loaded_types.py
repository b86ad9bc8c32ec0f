"""Loaded values have their fields' types, whatever type an existing column stores them as."""
from __future__ import annotations

import datetime as dt

import pytest

from rhosocial.activerecord import ActiveRecord, Field
from rhosocial.activerecord.backend import ColumnDef, DataError, DatabaseType


class Legacy(ActiveRecord):
    __tablename__ = "legacy_values"
    year: int
    active: bool
    code: str = Field(max_length=10)
    born: dt.date


def make_legacy(backend) -> None:
    backend.create_table("legacy_values", [
        ColumnDef("id", DatabaseType.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("year", DatabaseType.VARCHAR, length=4),       # a number kept as text
        ColumnDef("active", DatabaseType.CHAR, length=1),        # a flag kept as '1'/'0'
        ColumnDef("code", DatabaseType.INTEGER),                 # text kept as a number
        ColumnDef("born", DatabaseType.DATETIME),                # a date kept with a time
    ])


def test_values_stored_as_other_types_load_as_the_fields_types(backend):
    make_legacy(backend)
    q = backend.dialect.quote_identifier
    backend.execute(backend.dialect.convert_placeholders(
        f"INSERT INTO {q('legacy_values')} ({q('year')}, {q('active')}, {q('code')}, {q('born')}) "
        "VALUES (?, ?, ?, ?), (?, ?, ?, ?)"),
        ["2006", "1", 42, dt.datetime(1990, 5, 17, 0, 0), "1999", "0", 7, dt.datetime(1970, 1, 1, 12, 0)])
    Legacy.configure(backend)
    try:
        rows = Legacy.query().order_by("id").all()
        assert [(r.year, r.active, r.code, r.born) for r in rows] == [
            (2006, True, "42", dt.date(1990, 5, 17)), (1999, False, "7", dt.date(1970, 1, 1))]
        assert all(type(r.year) is int and type(r.active) is bool and type(r.born) is dt.date for r in rows)
        found = Legacy.find(rows[0].id)
        assert (found.year, found.active, found.born) == (2006, True, dt.date(1990, 5, 17))
    finally:
        type.__setattr__(Legacy, "__backend__", None)


def test_a_stored_value_that_is_not_of_the_fields_type_is_a_clear_error(backend):
    make_legacy(backend)
    q = backend.dialect.quote_identifier
    backend.execute(backend.dialect.convert_placeholders(
        f"INSERT INTO {q('legacy_values')} ({q('year')}, {q('active')}, {q('code')}, {q('born')}) "
        "VALUES (?, ?, ?, ?)"), ["MMVI", "1", 1, dt.datetime(1990, 5, 17)])
    Legacy.configure(backend)
    try:
        with pytest.raises(DataError, match=r"Legacy\.year: the database holds 'MMVI'"):
            Legacy.query().all()
    finally:
        type.__setattr__(Legacy, "__backend__", None)


def test_a_sqlite_column_holding_several_types_loads_every_row_as_the_field_type(sqlite_backend):
    sqlite_backend.execute('CREATE TABLE "mixed_values" (id INTEGER PRIMARY KEY, n, t, b)')  # untyped columns
    sqlite_backend.execute("INSERT INTO \"mixed_values\" VALUES (1, 5, 'x', 0), (2, '12', 42, '1'), "
                           "(3, 7, x'68656c6c6f', 'no')")

    class Mixed(ActiveRecord):
        __tablename__ = "mixed_values"
        n: int
        t: str
        b: bool

    Mixed.configure(sqlite_backend)
    try:
        # One at a time, in either order, and all at once: the same values, of the field's types.
        singles = [Mixed.find(i) for i in (1, 2, 3)] + [Mixed.find(i) for i in (3, 2, 1)]
        together = Mixed.query().order_by("id").all()
        expected = [(5, "x", False), (12, "42", True), (7, "hello", False)]
        assert [(r.n, r.t, r.b) for r in together] == expected
        assert [(r.n, r.t, r.b) for r in singles] == expected + expected[::-1]
        assert all(type(r.n) is int and type(r.t) is str and type(r.b) is bool for r in singles + together)
    finally:
        type.__setattr__(Mixed, "__backend__", None)
