"""The query features every backend compiles through its ``SQLCompiler``: functions, string
matching, JSON paths, windows, CTEs, set operations, derived tables and plans."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field, case, cast, func, literal, rows_between, table
from rhosocial.activerecord.backend.errors import NotSupportedError
from rhosocial.activerecord.backend.typing import DatabaseType

from ..capability import requires


class KitPerson(ActiveRecord):
    __tablename__ = "kit_people"
    name: str = Field(max_length=30)
    boss_id: Optional[int] = None
    team: str = Field("a", max_length=10)
    pay: int = 0
    joined: dt.datetime = dt.datetime(2020, 1, 1)


class KitDocument(ActiveRecord):
    __tablename__ = "kit_documents"
    data: dict = {}


PEOPLE = [("Ann", None, "a", 30, dt.datetime(2021, 5, 17, 10, 30, 45)),
          ("bo_b", 1, "a", 20, dt.datetime(2022, 2, 27, 8)),
          ("Cy%", 1, "b", 25, dt.datetime(2023, 12, 31, 23, 59, 59)),
          ("dee", 3, "b", 10, dt.datetime(2024, 1, 1))]


class TestReads:
    """What the query builder's reads promise, compiled by the backend's compiler."""

    @pytest.fixture
    def people(self, backend):
        KitPerson.configure(backend)
        KitPerson.create_table()
        for name, boss, team, pay, joined in PEOPLE:
            KitPerson.create(name=name, boss_id=boss, team=team, pay=pay, joined=joined)
        yield backend
        type.__setattr__(KitPerson, "__backend__", None)

    @staticmethod
    def values(expr):
        return KitPerson.query().order_by("id").pluck(expr.label("v"))

    def test_string_matching(self, people):
        c = KitPerson.c
        by_id = KitPerson.query().order_by("id")
        assert by_id.where(c.name.contains("_")).pluck("name") == ["bo_b"]
        assert by_id.where(c.name.contains("%")).pluck("name") == ["Cy%"]
        assert by_id.where(c.name.startswith("a")).pluck("name") == []
        assert by_id.where(c.name.istartswith("a")).pluck("name") == ["Ann"]
        assert by_id.where(c.name.endswith("e")).pluck("name") == ["dee"]
        assert by_id.where(c.name.icontains("Y%")).pluck("name") == ["Cy%"]
        assert by_id.where(c.name.ilike("_O%")).pluck("name") == ["bo_b"]

    def test_portable_functions(self, people):
        c = KitPerson.c
        assert self.values(func.lower(c.name)) == ["ann", "bo_b", "cy%", "dee"]
        assert self.values(func.length(c.name)) == [3, 4, 3, 3]
        assert self.values(func.substr(c.name, 2, 2)) == ["nn", "o_", "y%", "ee"]
        assert self.values(func.concat(c.name, "-", c.boss_id)) == ["Ann-", "bo_b-1", "Cy%-1", "dee-3"]
        assert self.values(func.coalesce(c.boss_id, 0)) == [0, 1, 1, 3]
        assert self.values(func.nullif(c.pay, 10)) == [30, 20, 25, None]
        assert self.values(func.greatest(c.boss_id, 2)) == [2, 2, 2, 3]
        assert self.values(func.least(c.boss_id, 2)) == [2, 1, 1, 2]
        assert self.values(func.abs(c.pay - 25)) == [5, 5, 0, 15]
        assert self.values(cast(c.pay, DatabaseType.TEXT)) == ["30", "20", "25", "10"]
        assert self.values(case((c.pay >= 25, "hi"), else_="lo")) == ["hi", "lo", "hi", "lo"]

    def test_dates(self, people):
        c = KitPerson.c
        assert self.values(func.extract("year", c.joined)) == [2021, 2022, 2023, 2024]
        assert self.values(func.extract("month", c.joined)) == [5, 2, 12, 1]
        assert self.values(func.extract("dow", c.joined)) == [1, 0, 0, 1]
        assert self.values(func.extract("week", c.joined)) == [20, 8, 52, 1]
        assert self.values(func.date_trunc("month", c.joined))[0] == dt.datetime(2021, 5, 1)
        assert self.values(func.date_trunc("week", c.joined))[2] == dt.datetime(2023, 12, 25)
        now = KitPerson.query().limit(1).pluck(func.now().label("v"))[0]
        assert isinstance(now, dt.datetime)

    def test_quarters_days_of_the_year_and_dates(self, people):
        c = KitPerson.c
        day = cast(c.joined, DatabaseType.DATE)
        assert self.values(func.extract("quarter", c.joined)) == [2, 1, 4, 1]
        assert self.values(func.extract("doy", c.joined)) == [137, 58, 365, 1]
        assert self.values(func.extract("hour", c.joined)) == [10, 8, 23, 0]
        assert self.values(func.date_trunc("quarter", c.joined)) == [
            dt.datetime(2021, 4, 1), dt.datetime(2022, 1, 1), dt.datetime(2023, 10, 1), dt.datetime(2024, 1, 1)]
        assert self.values(func.date_trunc("day", c.joined))[0] == dt.datetime(2021, 5, 17)
        assert self.values(day) == [dt.date(2021, 5, 17), dt.date(2022, 2, 27), dt.date(2023, 12, 31),
                                    dt.date(2024, 1, 1)]
        assert self.values(func.date_trunc("quarter", day)) == [
            dt.date(2021, 4, 1), dt.date(2022, 1, 1), dt.date(2023, 10, 1), dt.date(2024, 1, 1)]
        assert self.values(func.date_trunc("year", day))[0] == dt.date(2021, 1, 1)
        assert self.values(func.date_trunc("week", day))[2] == dt.date(2023, 12, 25)

    def test_casts_and_rounding(self, people):
        c = KitPerson.c
        assert self.values(cast(c.pay, DatabaseType.DOUBLE)) == [30.0, 20.0, 25.0, 10.0]
        assert self.values(cast(cast(c.pay, DatabaseType.TEXT), DatabaseType.INTEGER)) == [30, 20, 25, 10]
        assert self.values(cast(c.pay, DatabaseType.DECIMAL, precision=10, scale=2)) == [
            Decimal("30.00"), Decimal("20.00"), Decimal("25.00"), Decimal("10.00")]
        assert self.values(cast(cast(c.joined, DatabaseType.DATE), DatabaseType.DATETIME))[0] == \
            dt.datetime(2021, 5, 17)
        assert self.values(cast(c.name, DatabaseType.BLOB)) == [b"Ann", b"bo_b", b"Cy%", b"dee"]
        assert [float(v) for v in self.values(func.round(c.pay + 1, -1))] == [30.0, 20.0, 30.0, 10.0]
        assert [float(v) for v in self.values(func.round(cast(c.pay, DatabaseType.DOUBLE) / 7, 1))] == [
            4.3, 2.9, 3.6, 1.4]

    def test_in_lists_longer_than_a_statement_binds(self, people):
        c = KitPerson.c
        many = list(range(0, 5000, 5))  # 1,000 values: past where dialects pass a list as one parameter
        assert sorted(KitPerson.where(c.pay.in_(many)).pluck("name")) == ["Ann", "Cy%", "bo_b", "dee"]
        assert KitPerson.where(c.pay.not_in(many)).count() == 0
        names = [f"kit {i}" for i in range(1000)] + ["dee"]
        assert KitPerson.where(c.name.in_(names)).pluck("name") == ["dee"]
        assert KitPerson.where(c.name.not_in(names)).count() == 3

    def test_aggregate_filter_and_distinct(self, people):
        c = KitPerson.c
        rows = KitPerson.query().select(func.count().filter(c.pay > 15).label("n"),
                                        func.sum(c.pay).filter(c.team == "b").label("s"),
                                        func.count(c.team, distinct=True).label("t")).dicts()
        assert rows == [{"n": 3, "s": 35, "t": 2}]

    def test_window_functions(self, people):
        requires(people, "supports_window_functions")
        c = KitPerson.c
        rows = KitPerson.query().order_by("id").select(
            "name", func.rank().over(partition_by="team", order_by="-pay").label("rk"),
            func.sum(c.pay).over(order_by="id", frame=rows_between(-1, 0)).label("pair"),
            func.lag(c.name).over(order_by="id").label("before")).dicts()
        assert [(r["rk"], r["pair"], r["before"]) for r in rows] == [
            (1, 30, None), (2, 50, "Ann"), (1, 45, "bo_b"), (2, 35, "Cy%")]
        assert self.values(func.lead(c.pay, 1, 0).over(order_by="id")) == [20, 25, 10, 0]
        assert self.values(func.lag(c.name, 2, "-").over(order_by="id")) == ["-", "-", "Ann", "bo_b"]

    def test_recursive_cte(self, people):
        requires(people, "supports_cte")
        tree = table("tree")
        anchor = KitPerson.where(boss_id=None).select("id", "name", "boss_id", literal(0).label("depth"))
        step = KitPerson.query().join(tree, tree.c.id == KitPerson.c.boss_id).select(
            "id", "name", "boss_id", (tree.c.depth + 1).label("depth"))
        walked = KitPerson.from_cte("tree", anchor.union_all(step), recursive=True)
        assert [(r["name"], r["depth"]) for r in walked.select("name", "depth").order_by("depth", "name").dicts()] \
            == [("Ann", 0), ("Cy%", 1), ("bo_b", 1), ("dee", 2)]

    def test_set_operations_and_derived_tables(self, people):
        c = KitPerson.c
        team_a, paid = KitPerson.where(team="a"), KitPerson.where(c.pay >= 25)
        assert sorted(team_a.union(paid).pluck("name")) == ["Ann", "Cy%", "bo_b"]
        assert team_a.union_all(paid).count() == 4
        assert team_a.union(paid).order_by("-pay").limit(1).pluck("name") == ["Ann"]
        for combine, expected in (("intersect", ["Ann"]), ("except_", ["bo_b"])):
            try:
                assert getattr(team_a, combine)(paid).pluck("name") == expected
            except NotSupportedError:
                pass  # the compiler said the database lacks it, before any SQL
        richest = KitPerson.from_subquery(KitPerson.query().select("id", "name", "pay")).where(c.pay > 20)
        assert sorted(richest.pluck("name")) == ["Ann", "Cy%"]

    def test_self_join_through_an_alias(self, people):
        Boss = KitPerson.aliased("boss")
        q = KitPerson.query().join(Boss, Boss.c.id == KitPerson.c.boss_id).order_by("id")
        assert q.pluck("name", Boss.c.name) == [("bo_b", "Ann"), ("Cy%", "Ann"), ("dee", "Cy%")]

    def test_json_paths(self, backend):
        requires(backend, "supports_json")
        KitDocument.configure(backend)
        KitDocument.create_table()
        try:
            KitDocument.create(data={"city": "Oslo", "n": 31, "ok": True, "tags": ["x"]})
            KitDocument.create(data={"city": "Lima", "n": 9})
            d = KitDocument.c.data
            assert KitDocument.where(d["city"] == "Oslo").count() == 1
            assert KitDocument.where(d["n"] > 10).count() == 1
            assert KitDocument.where(d["ok"] == True).count() == 1  # noqa: E712
            assert KitDocument.where(d["ok"] == None).count() == 1  # noqa: E711
            assert KitDocument.query().order_by("id").pluck(d["tags"].label("t")) == [["x"], None]
            made = KitDocument.query().limit(1).pluck(cast(literal('{"a": [1, 2]}'), DatabaseType.JSON).label("j"))
            assert made == [{"a": [1, 2]}]
            try:
                assert KitDocument.where(d.contains({"city": "Oslo", "n": 31})).count() == 1
            except NotSupportedError:
                pass  # the compiler said the database has no containment test, before any SQL
        finally:
            type.__setattr__(KitDocument, "__backend__", None)

    def test_explain_returns_text(self, people):
        plan = KitPerson.where(name="Ann").explain()
        assert isinstance(plan, str) and plan.strip()
        try:
            analyzed = KitPerson.where(name="Ann").explain(analyze=True)
        except NotSupportedError:
            return  # the compiler said the database has no EXPLAIN ANALYZE, before any SQL
        assert isinstance(analyzed, str) and analyzed.strip()
