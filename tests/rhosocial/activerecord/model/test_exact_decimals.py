"""DECIMAL aggregates come back exact, as Decimals of the declared scale, on every backend.

SQLite has no decimal arithmetic: SUM and AVG of a NUMERIC(10,2) column are
floats (``2328.600000000004``), and tables other tools made store prices
with NUMERIC affinity as floats too. Rounded to the declared scale they are
the exact answer; PostgreSQL and MySQL compute it exactly already.
"""
from __future__ import annotations

from decimal import Decimal

from rhosocial.activerecord import ActiveRecord, Field, func

PRICES = [Decimal("0.99"), Decimal("1.99"), Decimal("0.99"), Decimal("13.86"), Decimal("8.91"),
          Decimal("1.98"), Decimal("3.96"), Decimal("5.94"), Decimal("0.99")] * 37


class Sale(ActiveRecord):
    __tablename__ = "exact_sales"
    city: str = Field(max_length=20)
    total: Decimal = Field(max_digits=10, decimal_places=2)


def test_sum_avg_min_max_are_exact_decimals_of_the_scale(bind):
    bind(Sale)
    Sale.insert_many([{"city": "Oslo" if i % 3 else "Lima", "total": p} for i, p in enumerate(PRICES)])
    exact = sum(PRICES)
    got = Sale.query().sum("total")
    assert got == exact and got.as_tuple().exponent == -2, got
    assert Sale.query().min("total") == Decimal("0.99") and Sale.query().max("total") == Decimal("13.86")
    average = Sale.query().avg("total")
    assert isinstance(average, Decimal) and average == (exact / len(PRICES)).quantize(Decimal("0.01"))
    assert Sale.query().pluck(func.sum(Sale.c.total)) == [exact]
    per_city = {r["city"]: r["s"] for r in Sale.query().select(
        "city", func.sum(Sale.c.total).label("s")).group_by("city").dicts()}
    lima = sum(p for i, p in enumerate(PRICES) if not i % 3)
    assert per_city == {"Lima": lima, "Oslo": exact - lima}
    assert all(isinstance(v, Decimal) for v in per_city.values())


def test_values_other_tools_stored_as_floats_load_exact(bind, backend):
    """A NUMERIC(10,2) column made outside the ORM: SQLite keeps 0.99 as the float 0.99."""
    bind(Sale)
    q = backend.dialect.quote_identifier
    backend.execute(backend.dialect.convert_placeholders(
        f"INSERT INTO {q('exact_sales')} ({q('city')}, {q('total')}) VALUES (?, 0.99), (?, 1.1)"), ["a", "b"])
    assert [s.total for s in Sale.query().order_by("id").all()] == [Decimal("0.99"), Decimal("1.10")]
    assert Sale.query().sum("total") == Decimal("2.09")
