"""Ordinary models on DuckDB, chosen by name through the entry point."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from rhosocial.activerecord import ActiveRecord, Field, config, configure
from rhosocial.activerecord.backend import NotSupportedError, available_backends


class Book(ActiveRecord):
    __tablename__ = "books"
    title: str = Field(max_length=100, unique=True)
    price: Decimal = Field(max_digits=10, decimal_places=2)
    published: dt.date | None = None


@pytest.fixture
def duckdb_file(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "_default_backend", None)
    backend = configure(backend="duckdb", database=str(tmp_path / "x.duckdb"))
    yield backend
    backend.disconnect()


def test_the_entry_point_registers_duckdb():
    assert "duckdb" in available_backends()


def test_create_query_update_delete(duckdb_file):
    Book.create_table()
    first = Book.create(title="Dune", price=Decimal("9.99"), published=dt.date(1965, 8, 1))
    Book.create(title="Emma", price=Decimal("4.50"))
    assert first.id == 1
    assert [b.title for b in Book.where(Book.c.price > Decimal(5)).all()] == ["Dune"]
    first.price = Decimal("12.00")
    first.save()
    assert Book.find(first.id).price == Decimal("12.00")
    first.delete()
    assert Book.count() == 1


def test_transactions_through_models(duckdb_file):
    Book.create_table()
    with pytest.raises(RuntimeError), duckdb_file.transaction():
        Book.create(title="Lost", price=Decimal("1.00"))
        raise RuntimeError("undo")
    assert Book.count() == 0
    with duckdb_file.transaction():
        Book.create(title="Kept", price=Decimal("1.00"))
        with pytest.raises(NotSupportedError):  # supports_savepoints is false
            duckdb_file.begin_transaction()
    assert Book.count() == 1
