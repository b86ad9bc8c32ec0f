"""What a database says about its schema: tables, keys, indexes, foreign keys, constraints.

Every backend answers the same questions in the same shapes, so tools built
on them (``inspect``, schema checks, migrations) work on any backend. A
backend implements the ``_get_*`` hooks of
:class:`~rhosocial.activerecord.backend.base.StorageBackend` from its catalog;
the conformance kit's ``TestIntrospection`` checks them.

Names are the database's own (columns, tables, constraint names), in the
order the database keeps them. Foreign key actions are normalized to
``"CASCADE"``, ``"SET NULL"``, ``"SET DEFAULT"``, ``"RESTRICT"`` or
``"NO ACTION"``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .typing import ColumnInfo

FK_ACTIONS = ("CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION")


@dataclass(frozen=True)
class IndexInfo:
    """An index of a table (the primary key's own index is not listed).

    Attributes:
        name: the index name.
        columns: the indexed columns in order (an expression part is left out).
        unique: whether it enforces uniqueness.
        partial: the ``WHERE`` condition of a partial index, as SQL text, else ``None``.
        constraint: whether it is the index of a UNIQUE constraint (dropped with it).
    """

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    partial: str | None = None
    constraint: bool = False


@dataclass(frozen=True)
class ForeignKeyInfo:
    """A foreign key: ``columns`` of this table reference ``referenced_columns`` of another."""

    name: str | None
    columns: tuple[str, ...]
    referenced_table: str
    referenced_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True)
class ConstraintInfo:
    """A UNIQUE or CHECK constraint (``kind``); a CHECK's condition is ``definition``."""

    name: str | None
    kind: str
    columns: tuple[str, ...] = ()
    definition: str | None = None


@dataclass(frozen=True)
class TableInfo:
    """Everything :meth:`StorageBackend.inspect_table` reads about one table."""

    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[IndexInfo, ...] = ()
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()
    unique_constraints: tuple[ConstraintInfo, ...] = ()
    check_constraints: tuple[ConstraintInfo, ...] = ()
    view: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False)


def fk_action(text: object) -> str:
    """A foreign key action as the catalog spells it, in the one spelling used here."""
    if text is None:
        return "NO ACTION"
    value = " ".join(str(text).upper().replace("_", " ").split())
    return value if value in FK_ACTIONS else "NO ACTION"
