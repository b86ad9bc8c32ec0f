"""Real violations raise the specific error classes, with the statement attached."""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import (
    CheckViolationError,
    ColumnDef,
    DatabaseError,
    DatabaseType,
    ForeignKeyViolationError,
    NotNullViolationError,
    NotSupportedError,
    ProgrammingError,
    UniqueViolationError,
)

from ..capability import requires
from .utils import id_column, insert_person, make_people, names, run, sql


def assert_wrapped(error: DatabaseError, sql_text: str, params):
    """The error keeps the statement, its parameters and the driver's exception."""
    assert error.sql == sql_text
    if params is None:
        assert error.params is None
    else:
        assert error.params is not None and list(error.params) == list(params)
    assert error.original is not None
    assert error.__cause__ is error.original
    assert not isinstance(error.original, DatabaseError)  # the driver's own class
    assert error.code is not None
    assert sql_text[:50] in str(error)


class TestErrors:
    """Provoke real violations and check the specific error classes."""

    @pytest.fixture
    def people(self, backend):
        make_people(backend)
        insert_person(backend, "ada", 36)
        return backend

    @pytest.fixture
    def family(self, backend):
        backend.create_table("parents", [id_column(), ColumnDef("name", DatabaseType.VARCHAR, length=50)])
        backend.create_table("children", [
            id_column(),
            ColumnDef("parent_id", DatabaseType.INTEGER, nullable=False, references=("parents", "id")),
        ])
        run(backend, "INSERT INTO {p} ({n}) VALUES (?)", ["p1"], p="parents", n="name")
        return backend

    def test_unique_violation(self, people):
        text = sql(people, "INSERT INTO {t} ({n}, {a}) VALUES (?, ?)", t="people", n="name", a="age")
        with pytest.raises(UniqueViolationError) as info:
            people.execute(text, ["ada", 1])
        assert_wrapped(info.value, text, ["ada", 1])
        assert names(people) == ["ada"]

    def test_primary_key_violation(self, backend):
        backend.create_table("keyed", [ColumnDef("k", DatabaseType.INTEGER, primary_key=True)])
        text = sql(backend, "INSERT INTO {t} ({k}) VALUES (?)", t="keyed", k="k")
        backend.execute(text, [1])
        with pytest.raises(UniqueViolationError) as info:
            backend.execute(text, [1])
        assert_wrapped(info.value, text, [1])

    def test_unique_index_violation(self, backend):
        backend.create_table("tags", [ColumnDef("a", DatabaseType.INTEGER),
                                      ColumnDef("b", DatabaseType.INTEGER)],
                             unique_indexes=[("a", "b")])
        text = sql(backend, "INSERT INTO {t} ({a}, {b}) VALUES (?, ?)", t="tags", a="a", b="b")
        backend.execute(text, [1, 1])
        backend.execute(text, [1, 2])
        with pytest.raises(UniqueViolationError):
            backend.execute(text, [1, 1])

    def test_foreign_key_violation_on_insert(self, family):
        requires(family, "supports_foreign_keys")
        text = sql(family, "INSERT INTO {c} ({p}) VALUES (?)", c="children", p="parent_id")
        family.execute(text, [1])
        with pytest.raises(ForeignKeyViolationError) as info:
            family.execute(text, [999])
        assert_wrapped(info.value, text, [999])

    def test_foreign_key_violation_on_delete_of_a_parent(self, family):
        requires(family, "supports_foreign_keys")
        run(family, "INSERT INTO {c} ({p}) VALUES (?)", [1], c="children", p="parent_id")
        with pytest.raises(ForeignKeyViolationError):
            run(family, "DELETE FROM {t}", None, t="parents")

    def test_foreign_key_on_delete_cascade(self, backend):
        requires(backend, "supports_foreign_keys")
        backend.create_table("owners", [id_column()])
        pets = [
            id_column(),
            ColumnDef("owner_id", DatabaseType.INTEGER, references=("owners", "id"), on_delete="cascade"),
        ]
        if not backend.capabilities.supports_foreign_key_actions:
            with pytest.raises(NotSupportedError):
                backend.create_table("pets", pets)
            assert not backend.table_exists("pets")
            return
        backend.create_table("pets", pets)
        run(backend, "INSERT INTO {t} ({id}) VALUES (?)", [1], t="owners", id="id")
        run(backend, "INSERT INTO {t} ({o}) VALUES (?)", [1], t="pets", o="owner_id")
        run(backend, "DELETE FROM {t}", None, t="owners")
        assert backend.fetch_value(sql(backend, "SELECT COUNT(*) FROM {t}", t="pets")) == 0

    def test_not_null_violation(self, people):
        text = sql(people, "INSERT INTO {t} ({n}, {a}) VALUES (?, ?)", t="people", n="name", a="age")
        with pytest.raises(NotNullViolationError) as info:
            people.execute(text, [None, 3])
        assert_wrapped(info.value, text, [None, 3])

    def test_check_violation(self, backend):
        requires(backend, "supports_check_constraints")
        backend.create_table("ages", [ColumnDef("age", DatabaseType.INTEGER, check="age >= 0")])
        text = sql(backend, "INSERT INTO {t} ({a}) VALUES (?)", t="ages", a="age")
        backend.execute(text, [0])
        with pytest.raises(CheckViolationError) as info:
            backend.execute(text, [-1])
        assert_wrapped(info.value, text, [-1])

    def test_syntax_error_is_a_programming_error(self, backend):
        text = "SELEC 1"
        with pytest.raises(ProgrammingError) as info:
            backend.execute(text)
        assert_wrapped(info.value, text, None)

    def test_unknown_table_is_a_programming_error(self, backend):
        text = sql(backend, "SELECT * FROM {t} WHERE {c} = ?", t="no_such_table", c="x")
        with pytest.raises(ProgrammingError) as info:
            backend.execute(text, [1])
        assert_wrapped(info.value, text, [1])

    def test_unknown_column_is_a_programming_error(self, people):
        # Written where no string literal may stand: SQLite reads an unknown quoted
        # name in a SELECT list as a string (see sqlite/test_sqlite_errors.py).
        with pytest.raises(ProgrammingError):
            run(people, "INSERT INTO {t} ({c}) VALUES (?)", [1], c="no_such_column", t="people")
        with pytest.raises(ProgrammingError):
            run(people, "UPDATE {t} SET {c} = ?", [1], c="no_such_column", t="people")

    def test_wrong_number_of_parameters_is_a_database_error(self, people):
        """A driver never lets a bare exception escape, even for a caller's mistake."""
        with pytest.raises(DatabaseError):
            run(people, "SELECT {n} FROM {t} WHERE {n} = ? AND {a} = ?", ["ada"], n="name",
                t="people", a="age")

    def test_execute_many_errors_are_wrapped(self, people):
        text = sql(people, "INSERT INTO {t} ({n}) VALUES (?)", t="people", n="name")
        with pytest.raises(UniqueViolationError) as info:
            people.execute_many(text, [("x",), ("ada",)])
        assert info.value.sql == text
        assert info.value.__cause__ is info.value.original

    def test_connection_is_usable_after_errors(self, people):
        for _ in range(2):
            with pytest.raises(DatabaseError):
                people.execute("SELEC 1")
            with pytest.raises(UniqueViolationError):
                insert_person(people, "ada")
        insert_person(people, "bob")
        assert names(people) == ["ada", "bob"]
