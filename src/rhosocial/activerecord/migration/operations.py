"""Migration operations: neutral schema changes, each run through the backend and reversible where it can be.

An operation names what changes (``AddColumn("users", ColumnDef("age", DatabaseType.INTEGER))``);
the backend's dialect says it in SQL (:mod:`rhosocial.activerecord.backend.alter`).
``reverse()`` returns the operation that undoes it, or ``None`` when it cannot
be undone from what it holds (a ``DropColumn`` that does not keep the column's
definition, a ``RunPython`` without ``backward``): such a migration needs a
``down()``. ``repr()`` of an operation is the Python that makes it again, which
is how ``makemigrations`` writes files.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

from ..backend.introspection import ForeignKeyInfo
from ..backend.typing import NO_DEFAULT, ColumnDef, DatabaseType

if TYPE_CHECKING:
    from ..backend.base import StorageBackend


class Operation:
    """One schema or data change of a migration."""

    #: Loses data when run (dropping a table or a column).
    destructive: ClassVar[bool] = False
    #: The fields ``repr()`` writes without their names, in order.
    _positional: ClassVar[tuple[str, ...]] = ()

    def apply(self, backend: "StorageBackend") -> None:
        """Make the change on ``backend``."""
        raise NotImplementedError

    def reverse(self) -> "Operation | None":
        """Return the operation that undoes this one, or ``None`` when it cannot be undone by itself."""
        return None

    def describe(self) -> str:
        """A one-line account of the change, for progress output and errors."""
        return repr(self)

    @property
    def transactional(self) -> bool:
        """Whether the operation may run inside a transaction (False: CREATE INDEX CONCURRENTLY)."""
        return True

    def __repr__(self) -> str:
        args = []
        positional = self._positional
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name not in positional:
                default = f.default if f.default is not MISSING else (
                    f.default_factory() if f.default_factory is not MISSING else MISSING)
                if default is not MISSING and value == default:
                    continue
            shown = code_of(value)
            args.append(shown if f.name in positional else f"{f.name}={shown}")
        return f"ops.{type(self).__name__}({', '.join(args)})"


# -- tables ---------------------------------------------------------------------

@dataclass(repr=False)
class CreateTable(Operation):
    """Create ``table`` with ``columns``; ``indexes`` are column lists (``unique_indexes`` too)."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "columns")

    table: str
    columns: list[ColumnDef]
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    unique_indexes: list[tuple[str, ...]] = field(default_factory=list)

    def apply(self, backend: "StorageBackend") -> None:
        backend.create_table(self.table, self.columns, indexes=self.indexes, unique_indexes=self.unique_indexes)

    def reverse(self) -> Operation:
        return DropTable(self.table, list(self.columns), list(self.indexes), list(self.unique_indexes))

    def describe(self) -> str:
        return f"create table {self.table} ({', '.join(c.name for c in self.columns)})"


@dataclass(repr=False)
class DropTable(Operation):
    """Drop ``table``; with its ``columns`` given the drop can be reversed (the rows cannot)."""

    _positional: ClassVar[tuple[str, ...]] = ("table",)

    table: str
    columns: list[ColumnDef] | None = None
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    unique_indexes: list[tuple[str, ...]] = field(default_factory=list)
    destructive: ClassVar[bool] = True

    def apply(self, backend: "StorageBackend") -> None:
        backend.drop_table(self.table)

    def reverse(self) -> Operation | None:
        if not self.columns:
            return None
        return CreateTable(self.table, list(self.columns), list(self.indexes), list(self.unique_indexes))

    def describe(self) -> str:
        return f"drop table {self.table}"


@dataclass(repr=False)
class RenameTable(Operation):
    """Rename ``table`` to ``new_name``."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "new_name")

    table: str
    new_name: str

    def apply(self, backend: "StorageBackend") -> None:
        backend.rename_table(self.table, self.new_name)

    def reverse(self) -> Operation:
        return RenameTable(self.new_name, self.table)

    def describe(self) -> str:
        return f"rename table {self.table} to {self.new_name}"


# -- columns --------------------------------------------------------------------

@dataclass(repr=False)
class AddColumn(Operation):
    """Add ``column`` to ``table``."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "column")

    table: str
    column: ColumnDef

    def apply(self, backend: "StorageBackend") -> None:
        backend.add_column(self.table, self.column)

    def reverse(self) -> Operation:
        return DropColumn(self.table, self.column.name, self.column)

    def describe(self) -> str:
        return f"add column {self.table}.{self.column.name}"


@dataclass(repr=False)
class DropColumn(Operation):
    """Drop column ``name``; with its definition (``column``) the drop can be reversed (the values cannot)."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "name")

    table: str
    name: str
    column: ColumnDef | None = None
    destructive: ClassVar[bool] = True

    def apply(self, backend: "StorageBackend") -> None:
        backend.drop_column(self.table, self.name)

    def reverse(self) -> Operation | None:
        if self.column is None:
            return None
        # Added back it holds no values, so it cannot be NOT NULL without a default.
        column = self.column
        if not column.nullable and column.default is NO_DEFAULT:
            from dataclasses import replace

            column = replace(column, nullable=True)
        return AddColumn(self.table, column)

    def describe(self) -> str:
        return f"drop column {self.table}.{self.name}"


@dataclass(repr=False)
class RenameColumn(Operation):
    """Rename column ``old`` of ``table`` to ``new``."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "old", "new")

    table: str
    old: str
    new: str

    def apply(self, backend: "StorageBackend") -> None:
        backend.rename_column(self.table, self.old, self.new)

    def reverse(self) -> Operation:
        return RenameColumn(self.table, self.new, self.old)

    def describe(self) -> str:
        return f"rename column {self.table}.{self.old} to {self.new}"


@dataclass(repr=False)
class AlterColumn(Operation):
    """Give a column the type, nullability and default of ``column``; ``previous`` (as it was) makes it reversible."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "column")

    table: str
    column: ColumnDef
    previous: ColumnDef | None = None

    def apply(self, backend: "StorageBackend") -> None:
        backend.alter_column(self.table, self.column, self.previous)

    def reverse(self) -> Operation | None:
        return None if self.previous is None else AlterColumn(self.table, self.previous, self.column)

    def describe(self) -> str:
        return f"alter column {self.table}.{self.column.name}"


# -- indexes --------------------------------------------------------------------

@dataclass(repr=False)
class AddIndex(Operation):
    """Create an index; ``concurrently`` (PostgreSQL) builds it without blocking writes, outside a transaction."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "columns")

    table: str
    columns: tuple[str, ...]
    name: str | None = None
    unique: bool = False
    where: str | None = None
    concurrently: bool = False

    def apply(self, backend: "StorageBackend") -> None:
        backend.create_index(self.table, self.columns, self.name, unique=self.unique, where=self.where,
                             concurrently=self.concurrently)

    def index_name(self, backend: "StorageBackend") -> str:
        return self.name or backend.dialect.index_name(self.table, self.columns)

    def reverse(self) -> Operation:
        return DropIndex(self.table, self.name, self.columns, self.unique, self.where, self.concurrently)

    @property
    def transactional(self) -> bool:
        return not self.concurrently

    def describe(self) -> str:
        kind = "unique index" if self.unique else "index"
        return f"add {kind} on {self.table} ({', '.join(self.columns)})"


@dataclass(repr=False)
class DropIndex(Operation):
    """Drop an index by name (or, without one, the default name of ``columns``); ``columns`` make it reversible."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "name")

    table: str
    name: str | None
    columns: tuple[str, ...] | None = None
    unique: bool = False
    where: str | None = None
    concurrently: bool = False

    def apply(self, backend: "StorageBackend") -> None:
        name = self.name
        if name is None:
            if not self.columns:
                raise ValueError("DropIndex needs the index name or its columns")
            name = backend.dialect.index_name(self.table, self.columns)
        backend.drop_index(self.table, name, concurrently=self.concurrently)

    def reverse(self) -> Operation | None:
        if not self.columns:
            return None
        return AddIndex(self.table, tuple(self.columns), self.name, self.unique, self.where, self.concurrently)

    @property
    def transactional(self) -> bool:
        return not self.concurrently

    def describe(self) -> str:
        return f"drop index {self.name or ', '.join(self.columns or ())} of {self.table}"


# -- constraints ----------------------------------------------------------------

@dataclass(repr=False)
class AddForeignKey(Operation):
    """Add a foreign key from ``columns`` to ``referenced_table`` (``referenced_columns``)."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "columns", "referenced_table")

    table: str
    columns: tuple[str, ...]
    referenced_table: str
    referenced_columns: tuple[str, ...] = ("id",)
    name: str | None = None
    on_delete: str | None = None
    on_update: str | None = None

    def apply(self, backend: "StorageBackend") -> None:
        backend.add_foreign_key(self.table, self.columns, self.referenced_table, self.referenced_columns,
                                self.name, self.on_delete, self.on_update)

    def reverse(self) -> Operation:
        return DropForeignKey(self.table, self.name, self.columns, self.referenced_table,
                              self.referenced_columns, self.on_delete, self.on_update)

    def describe(self) -> str:
        return f"add foreign key {self.table} ({', '.join(self.columns)}) -> {self.referenced_table}"


@dataclass(repr=False)
class DropForeignKey(Operation):
    """Drop a foreign key by name or by its ``columns``; what it referenced makes it reversible."""

    _positional: ClassVar[tuple[str, ...]] = ("table",)

    table: str
    name: str | None = None
    columns: tuple[str, ...] | None = None
    referenced_table: str | None = None
    referenced_columns: tuple[str, ...] = ("id",)
    on_delete: str | None = None
    on_update: str | None = None

    def apply(self, backend: "StorageBackend") -> None:
        backend.drop_foreign_key(self.table, self.name, self.columns)

    def reverse(self) -> Operation | None:
        if self.referenced_table is None or not self.columns:
            return None
        return AddForeignKey(self.table, tuple(self.columns), self.referenced_table,
                             tuple(self.referenced_columns), self.name, self.on_delete, self.on_update)

    def describe(self) -> str:
        return f"drop foreign key {self.name or ', '.join(self.columns or ())} of {self.table}"

    @classmethod
    def of(cls, table: str, key: ForeignKeyInfo) -> "DropForeignKey":
        """The operation dropping ``key`` as the catalog describes it (reversible)."""
        def action(text: str) -> str | None:
            return None if text == "NO ACTION" else text
        return cls(table, key.name, tuple(key.columns), key.referenced_table, tuple(key.referenced_columns),
                   action(key.on_delete), action(key.on_update))


@dataclass(repr=False)
class AddUniqueConstraint(Operation):
    """Make ``columns`` unique together (on SQLite: a UNIQUE index)."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "columns")

    table: str
    columns: tuple[str, ...]
    name: str | None = None

    def apply(self, backend: "StorageBackend") -> None:
        backend.add_unique_constraint(self.table, self.columns, self.name)

    def reverse(self) -> Operation:
        return DropUniqueConstraint(self.table, self.name, self.columns)

    def describe(self) -> str:
        return f"add unique constraint on {self.table} ({', '.join(self.columns)})"


@dataclass(repr=False)
class DropUniqueConstraint(Operation):
    """Drop a UNIQUE constraint by name or by its ``columns``."""

    _positional: ClassVar[tuple[str, ...]] = ("table",)

    table: str
    name: str | None = None
    columns: tuple[str, ...] | None = None

    def apply(self, backend: "StorageBackend") -> None:
        backend.drop_unique_constraint(self.table, self.name, self.columns)  # it finds one by its columns

    def reverse(self) -> Operation | None:
        return AddUniqueConstraint(self.table, tuple(self.columns), self.name) if self.columns else None

    def describe(self) -> str:
        return f"drop unique constraint {self.name or ', '.join(self.columns or ())} of {self.table}"


@dataclass(repr=False)
class AddCheckConstraint(Operation):
    """Add ``CHECK (condition)`` named ``name`` (trusted SQL)."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "name", "condition")

    table: str
    name: str
    condition: str

    def apply(self, backend: "StorageBackend") -> None:
        backend.add_check_constraint(self.table, self.name, self.condition)

    def reverse(self) -> Operation:
        return DropCheckConstraint(self.table, self.name, self.condition)

    def describe(self) -> str:
        return f"add check {self.name} on {self.table}"


@dataclass(repr=False)
class DropCheckConstraint(Operation):
    """Drop the CHECK constraint ``name``; its ``condition`` makes it reversible."""

    _positional: ClassVar[tuple[str, ...]] = ("table", "name")

    table: str
    name: str
    condition: str | None = None

    def apply(self, backend: "StorageBackend") -> None:
        backend.drop_check_constraint(self.table, self.name)

    def reverse(self) -> Operation | None:
        return None if self.condition is None else AddCheckConstraint(self.table, self.name, self.condition)

    def describe(self) -> str:
        return f"drop check {self.name} of {self.table}"


# -- SQL and data ---------------------------------------------------------------

@dataclass(repr=False)
class RunSQL(Operation):
    """Run SQL (one statement or a list, trusted text); ``reverse_sql`` undoes it."""

    _positional: ClassVar[tuple[str, ...]] = ("sql",)

    sql: str | list[str]
    reverse_sql: str | list[str] | None = None

    def apply(self, backend: "StorageBackend") -> None:
        for statement in [self.sql] if isinstance(self.sql, str) else self.sql:
            backend.execute_raw(statement)

    def reverse(self) -> Operation | None:
        return None if self.reverse_sql is None else RunSQL(self.reverse_sql, self.sql)

    def describe(self) -> str:
        text = self.sql if isinstance(self.sql, str) else "; ".join(self.sql)
        return "run SQL: " + (text if len(text) <= 60 else text[:57] + "...")


@dataclass(repr=False)
class RunPython(Operation):
    """A data step: ``forward(backend)``; ``backward(backend)`` undoes it.

    It runs in the migration's transaction where DDL is transactional. Use
    the backend (``execute``, ``fetch_all``) or models of the migration's
    own, not the application's models, whose fields may be ahead of the
    schema this migration sees.
    """

    _positional: ClassVar[tuple[str, ...]] = ("forward",)

    forward: Callable[["StorageBackend"], Any]
    backward: Callable[["StorageBackend"], Any] | None = None

    def apply(self, backend: "StorageBackend") -> None:
        self.forward(backend)

    def reverse(self) -> Operation | None:
        return None if self.backward is None else RunPython(self.backward, self.forward)

    def describe(self) -> str:
        return f"run {getattr(self.forward, '__name__', 'a data step')}()"


# -- writing operations as code ---------------------------------------------------

def code_of(value: Any) -> str:
    """Python source that makes ``value`` again (columns, enums, tuples, literals)."""
    if isinstance(value, ColumnDef):
        return column_code(value)
    if isinstance(value, DatabaseType):
        return f"DatabaseType.{value.name}"
    if isinstance(value, list):
        return "[" + ", ".join(code_of(v) for v in value) + "]"
    if isinstance(value, tuple) and type(value) is tuple:
        inner = ", ".join(code_of(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return repr(value)


def column_code(column: ColumnDef) -> str:
    """``ColumnDef("age", DatabaseType.INTEGER, nullable=False)``: only what differs from the defaults."""
    args = [repr(column.name), code_of(column.db_type)]
    for f in fields(ColumnDef):
        if f.name in ("name", "db_type"):
            continue
        value = getattr(column, f.name)
        if value is NO_DEFAULT or value == f.default:
            continue
        args.append(f"{f.name}={code_of(value)}")
    return f"ColumnDef({', '.join(args)})"


def reverse_all(operations: Sequence[Operation]) -> list[Operation] | None:
    """The operations that undo ``operations``, last first; ``None`` if one of them cannot be undone."""
    undo = []
    for operation in reversed(operations):
        back = operation.reverse()
        if back is None:
            return None
        undo.append(back)
    return undo
