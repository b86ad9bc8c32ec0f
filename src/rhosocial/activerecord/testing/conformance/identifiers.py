"""Hostile identifiers and values: quoting and binding keep every name and value intact."""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType, DataError, InvalidIdentifierError

from .utils import count, insert_person, make_people, names, run, sql

HOSTILE_NAMES = [
    'a"b',
    "a`b",
    "a'b",
    "per % cent",
    "q?mark",
    "with space",
    "dollar$1",
    "order",
    "select",
    "group",
    "naïve_données_表",  # MySQL allows only the BMP in identifiers, so no emoji here
]

HOSTILE_VALUES = [
    "'); DROP TABLE people; --",
    "%s",
    "%(name)s",
    "%%",
    "?",
    "??",
    "$1",
    ":name",
    "\\",
    "\\'",
    "''",
    '"',
    "`",
    "' OR '1'='1",
    "{t}",
]


class TestHostileInput:
    """Keep hostile identifiers and values intact through quoting and binding."""

    @pytest.mark.parametrize("name", HOSTILE_NAMES)
    def test_hostile_table_and_column_names(self, backend, name):
        backend.create_table(name, [
            ColumnDef("id", DatabaseType.INTEGER, primary_key=True, autoincrement=True),
            ColumnDef(name, DatabaseType.VARCHAR, length=50, nullable=False),
            ColumnDef("n", DatabaseType.INTEGER),
        ])
        assert backend.table_exists(name)
        run(backend, "INSERT INTO {t} ({c}, {n}) VALUES (?, ?)", [name, 1], t=name, c=name, n="n")
        run(backend, "INSERT INTO {t} ({c}, {n}) VALUES (?, ?)", ["other", 2], t=name, c=name, n="n")
        result = run(backend, "SELECT {c}, {n} FROM {t} WHERE {c} = ?", [name], t=name, c=name, n="n")
        assert result.columns == (name, "n")
        assert result.rows == [(name, 1)]
        run(backend, "UPDATE {t} SET {n} = ? WHERE {c} = ?", [5, name], t=name, c=name, n="n")
        assert backend.fetch_value(sql(backend, "SELECT {n} FROM {t} WHERE {c} = ?", t=name, c=name,
                                       n="n"), [name]) == 5
        columns = backend.get_columns(name)
        assert [c.name for c in columns] == ["id", name, "n"]
        assert columns[1].nullable is False
        backend.create_index(name, [name], name=f"ix {name}", unique=True)
        run(backend, "DELETE FROM {t} WHERE {c} = ?", ["other"], t=name, c=name)
        assert count(backend, name) == 1
        backend.drop_table(name)
        assert not backend.table_exists(name)

    def test_similar_names_stay_distinct(self, backend):
        for name in ("x", 'x"', "x`", "x'"):
            backend.create_table(name, [ColumnDef("v", DatabaseType.VARCHAR, length=10)])
            run(backend, "INSERT INTO {t} ({v}) VALUES (?)", [name], t=name, v="v")
        for name in ("x", 'x"', "x`", "x'"):
            assert backend.fetch_value(sql(backend, "SELECT {v} FROM {t}", t=name, v="v")) == name

    @pytest.mark.parametrize("bad", ["", "a\x00b", "\x00", None, 42])
    def test_invalid_identifiers_are_rejected(self, backend, bad):
        with pytest.raises(InvalidIdentifierError) as info:
            backend.dialect.quote_identifier(bad)
        assert isinstance(info.value, ValueError)
        with pytest.raises(InvalidIdentifierError):
            backend.create_table(bad, [ColumnDef("v", DatabaseType.INTEGER)])
        with pytest.raises(InvalidIdentifierError):
            backend.create_table("fine", [ColumnDef(bad, DatabaseType.INTEGER)])
        assert not backend.table_exists("fine")

    def test_identifier_over_the_backend_limit_is_rejected(self, backend):
        limit = backend.dialect.max_identifier_length or backend.capabilities.max_identifier_length
        if not limit:
            pytest.skip("max_identifier_length is 0: no identifier length limit")
        with pytest.raises(InvalidIdentifierError):
            backend.dialect.quote_identifier("x" * (limit + 1))
        assert backend.dialect.quote_identifier("x" * limit)

    @pytest.mark.parametrize("value", HOSTILE_VALUES)
    def test_hostile_values_are_data(self, backend, value):
        make_people(backend)
        insert_person(backend, value, 1)
        insert_person(backend, "plain", 2)
        query = sql(backend, "SELECT {n}, {a} FROM {t} WHERE {n} = ?", n="name", a="age", t="people")
        assert backend.execute(query, [value]).rows == [(value, 1)]
        assert backend.table_exists("people")
        assert sorted(names(backend)) == sorted([value, "plain"])

    @pytest.mark.parametrize("value", ["\ud800", "bad \udfff end", "\udcff"])
    def test_text_that_is_not_unicode_is_a_data_error_and_harms_nothing(self, backend, value):
        make_people(backend)
        with pytest.raises(DataError):
            insert_person(backend, value)
        with backend.transaction():
            insert_person(backend, "ok")
            with pytest.raises(DataError):
                insert_person(backend, value)
            insert_person(backend, "still ok")  # the transaction and its connection are fine
        assert names(backend) == ["ok", "still ok"]

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
    def test_non_finite_floats_are_stored_or_refused_never_changed(self, backend, value):
        backend.create_table("floats", [ColumnDef("v", DatabaseType.DOUBLE)])
        try:
            run(backend, "INSERT INTO {t} ({v}) VALUES (?)", [value], t="floats", v="v")
        except DataError:
            assert count(backend, "floats") == 0  # refused: this database cannot hold it
            return
        got = run(backend, "SELECT {v} FROM {t}", t="floats", v="v").scalar()
        assert got is not None, "the database turned the value into NULL"
        assert (got != got) if value != value else got == value

    def test_placeholder_characters_inside_string_literals(self, backend):
        result = run(backend, "SELECT ?, 'a?b', 'per % cent', '$1' ", ["bound"])
        assert result.rows == [("bound", "a?b", "per % cent", "$1")]

    def test_percent_in_a_literal_without_parameters(self, backend):
        assert run(backend, "SELECT 'per % cent'").scalar() == "per % cent"
        assert run(backend, "SELECT '100%%'").scalar() == "100%%"

    def test_percent_in_like_with_parameters(self, backend):
        make_people(backend)
        for name in ("50% off", "half", "100%"):
            insert_person(backend, name)
        # '!' as the escape character: a backslash means different things in MySQL literals.
        found = run(backend, "SELECT {n} FROM {t} WHERE {n} LIKE '%!%%' ESCAPE '!' AND {n} <> ? "
                    "ORDER BY {n}", ["x"], n="name", t="people").rows
        assert [r[0] for r in found] == ["100%", "50% off"]
