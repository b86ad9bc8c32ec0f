"""Helpers for backend-neutral tests: SQL written once, run on every backend.

Tests write SQL with neutral ``?`` placeholders and ``{name}`` slots for
identifiers. :func:`sql` converts the placeholders to the dialect's style
first and then fills the slots with quoted identifiers, so an identifier that
holds ``%`` or ``?`` is never rewritten twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rhosocial.activerecord.backend import ColumnDef, DatabaseType, StorageBackend


def sql(backend: StorageBackend, template: str, **identifiers: str) -> str:
    """Return ``template`` in the backend's dialect with ``{slot}`` identifiers quoted."""
    dialect = backend.dialect
    converted = dialect.convert_placeholders(template)
    if not identifiers:
        return converted
    return converted.format(**{k: dialect.quote_identifier(v) for k, v in identifiers.items()})


def run(backend: StorageBackend, template: str, params: Sequence[Any] | None = None,
        **identifiers: str):
    """Execute a neutral statement and return its QueryResult."""
    return backend.execute(sql(backend, template, **identifiers), params)


def id_column(name: str = "id") -> ColumnDef:
    """Return an auto-increment integer primary key column."""
    return ColumnDef(name, DatabaseType.INTEGER, primary_key=True, autoincrement=True)


def make_people(backend: StorageBackend, table: str = "people") -> str:
    """Create a small table (id, name unique not null, age) and return its name."""
    backend.create_table(table, [
        id_column(),
        ColumnDef("name", DatabaseType.VARCHAR, length=100, nullable=False, unique=True),
        ColumnDef("age", DatabaseType.INTEGER),
    ])
    return table


def insert_person(backend: StorageBackend, name: str, age: int | None = None,
                  table: str = "people"):
    """Insert one row into a table made by :func:`make_people`."""
    return run(backend, "INSERT INTO {t} ({n}, {a}) VALUES (?, ?)", [name, age],
               t=table, n="name", a="age")


def names(backend: StorageBackend, table: str = "people") -> list[str]:
    """Return the ``name`` column of every row, sorted."""
    rows = run(backend, "SELECT {n} FROM {t} ORDER BY {n}", None, t=table, n="name").rows
    return [r[0] for r in rows]


def count(backend: StorageBackend, table: str) -> int:
    """Return the number of rows in ``table``."""
    return int(backend.fetch_value(sql(backend, "SELECT COUNT(*) FROM {t}", t=table)))
