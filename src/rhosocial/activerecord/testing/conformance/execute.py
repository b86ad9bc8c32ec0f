"""Statements through ``execute``: CRUD, results, fetch helpers, listeners."""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import QueryResult

from ..capability import requires
from .utils import count, insert_person, make_people, names, run, sql


class TestExecute:
    """Run statements through execute."""

    @pytest.fixture
    def people(self, backend):
        make_people(backend)
        for name, age in (("ada", 36), ("bob", 25), ("cy", None)):
            insert_person(backend, name, age)
        return backend

    def test_insert_reports_one_affected_row(self, backend):
        make_people(backend)
        result = insert_person(backend, "ada", 36)
        assert isinstance(result, QueryResult)
        assert result.affected_rows == 1
        assert result.rows == [] and len(result) == 0

    def test_last_insert_id_or_returning(self, backend):
        make_people(backend)
        result = insert_person(backend, "ada", 36)
        stored = backend.fetch_value(sql(backend, "SELECT {id} FROM {t} WHERE {n} = ?", id="id",
                                         t="people", n="name"), ["ada"])
        if result.last_insert_id is not None:
            assert result.last_insert_id == stored
            second = insert_person(backend, "bob", 1)
            assert second.last_insert_id == stored + 1
        else:
            # A backend without a generated-key report must offer RETURNING instead.
            assert backend.capabilities.supports_returning
            returned = run(backend, "INSERT INTO {t} ({n}) VALUES (?) RETURNING {id}", ["bob"],
                           t="people", n="name", id="id")
            assert returned.scalar() == stored + 1

    def test_insert_returning(self, backend):
        requires(backend, "supports_returning")
        make_people(backend)
        sql_text = backend.dialect.insert_sql("people", ["name", "age"], returning=["id", "name"])
        result = backend.execute(sql_text, ["ada", 36])
        assert result.columns == ("id", "name")
        assert result.first() == {"id": 1, "name": "ada"}

    def test_select_rows_columns_and_helpers(self, people):
        b = people
        result = run(b, "SELECT {n}, {a} FROM {t} ORDER BY {n}", None, n="name", a="age", t="people")
        assert result.columns == ("name", "age")
        assert result.rows == [("ada", 36), ("bob", 25), ("cy", None)]
        assert list(result) == result.rows and len(result) == 3
        assert result.dicts()[1] == {"name": "bob", "age": 25}
        assert result.first() == {"name": "ada", "age": 36}
        assert result.scalar() == "ada"
        assert result.duration > 0

    def test_empty_result_helpers(self, people):
        result = run(people, "SELECT {n} FROM {t} WHERE {a} > ?", [1000], n="name", t="people", a="age")
        assert result.rows == [] and result.dicts() == []
        assert result.first() is None and result.scalar() is None

    def test_fetch_helpers(self, people):
        b = people
        query = sql(b, "SELECT {n}, {a} FROM {t} WHERE {a} >= ? ORDER BY {a}", n="name", a="age",
                    t="people")
        assert b.fetch_all(query, [20]) == [{"name": "bob", "age": 25}, {"name": "ada", "age": 36}]
        assert b.fetch_one(query, [30]) == {"name": "ada", "age": 36}
        assert b.fetch_one(query, [99]) is None
        assert b.fetch_value(query, [30]) == "ada"
        assert b.fetch_value(query, [99]) is None

    def test_update_counts_matching_rows(self, people):
        result = run(people, "UPDATE {t} SET {a} = {a} + ? WHERE {a} IS NOT NULL", [1],
                     t="people", a="age")
        assert result.affected_rows == 2
        ages = run(people, "SELECT {a} FROM {t} WHERE {a} IS NOT NULL ORDER BY {a}", None,
                   a="age", t="people").rows
        assert ages == [(26,), (37,)]

    def test_update_with_no_match(self, people):
        result = run(people, "UPDATE {t} SET {a} = ? WHERE {n} = ?", [1, "nobody"], t="people",
                     a="age", n="name")
        assert result.affected_rows == 0

    def test_delete(self, people):
        result = run(people, "DELETE FROM {t} WHERE {n} IN (?, ?)", ["ada", "cy"], t="people", n="name")
        assert result.affected_rows == 2
        assert names(people) == ["bob"]

    def test_dialect_dml_templates_run(self, backend):
        make_people(backend)
        d = backend.dialect
        backend.execute(d.insert_sql("people", ["name", "age"]), ["ada", 1])
        assert backend.execute(d.update_sql("people", ["age"], ["name"]), [2, "ada"]).affected_rows == 1
        assert backend.fetch_value(sql(backend, "SELECT {a} FROM {t}", a="age", t="people")) == 2
        assert backend.execute(d.delete_sql("people", ["name"]), ["ada"]).affected_rows == 1
        assert count(backend, "people") == 0

    def test_execute_many(self, backend):
        make_people(backend)
        query = sql(backend, "INSERT INTO {t} ({n}, {a}) VALUES (?, ?)", t="people", n="name", a="age")
        result = backend.execute_many(query, [("a", 1), ("b", 2), ("c", None)])
        assert result.affected_rows == 3
        assert result.duration > 0
        assert names(backend) == ["a", "b", "c"]

    def test_execute_many_with_a_generator_and_no_rows(self, backend):
        make_people(backend)
        query = sql(backend, "INSERT INTO {t} ({n}) VALUES (?)", t="people", n="name")
        backend.execute_many(query, ((f"n{i}",) for i in range(5)))
        assert count(backend, "people") == 5

    def test_column_types_leave_nulls_alone(self, people):
        result = people.execute(
            sql(people, "SELECT {a} FROM {t} ORDER BY {n}", a="age", t="people", n="name"),
            column_types={"age": lambda v: v * 2},
        )
        assert result.rows == [(72,), (50,), (None,)]

    def test_column_types_accept_a_callable(self, people):
        result = people.execute(
            sql(people, "SELECT {n} FROM {t} ORDER BY {n}", n="name", t="people"),
            column_types={"name": str.upper},
        )
        assert [r[0] for r in result.rows] == ["ADA", "BOB", "CY"]

    def test_listener_sees_sql_params_and_time(self, people):
        seen = []

        def listener(sql_text, params, seconds):
            seen.append((sql_text, list(params) if params is not None else None, seconds))

        people.add_listener(listener)
        query = sql(people, "SELECT {n} FROM {t} WHERE {a} = ?", n="name", t="people", a="age")
        people.execute(query, [36])
        people.remove_listener(listener)
        people.execute(query, [25])
        assert len(seen) == 1
        assert seen[0][0] == query and seen[0][1] == [36] and seen[0][2] > 0

    def test_capture_statements(self, people):
        query = sql(people, "SELECT COUNT(*) FROM {t}", t="people")
        many = sql(people, "INSERT INTO {t} ({n}) VALUES (?)", t="people", n="name")
        with people.capture_statements() as captured:
            people.execute(query)
            people.execute_many(many, [("x",), ("y",)])
        people.execute(query)
        assert captured == [query, many]

    def test_capture_statements_sees_transaction_control(self, backend):
        with backend.capture_statements() as captured, backend.transaction():
            backend.execute("SELECT 1")
        assert "SELECT 1" in captured
        assert len(captured) >= 2  # something opened and closed the transaction

    def test_statements_outside_a_transaction_commit_on_their_own(self, backend, backend_factory):
        requires(backend, "supports_multiple_connections")
        make_people(backend)
        insert_person(backend, "autocommitted")
        other = backend_factory()
        assert names(other) == ["autocommitted"]
