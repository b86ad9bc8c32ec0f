"""Autogenerate: compare the models with the database and write the operations that make them agree.

What is compared, per model table:

- the table: missing -> ``CreateTable`` (with the model's indexes);
- columns: missing -> ``AddColumn``; in the database only -> ``DropColumn``
  (destructive, marked in the file); a different type family, length,
  precision/scale or nullability -> ``AlterColumn`` with the previous
  definition, so it can be reversed;
- indexes of ``Field(index=True)`` -> ``AddIndex``; a single-column index
  with the default name that no field declares any more -> ``DropIndex``
  (composite and partial indexes, which fields cannot declare, are left alone);
- ``Field(unique=True)`` -> ``AddUniqueConstraint``; ``Field(references=...)``
  -> ``AddForeignKey``.

Renames are never guessed: a column in the database only and a new one in
the model are a drop and an add unless ``renames`` says otherwise
(``{"users.name": "full_name"}`` for a column, ``{"people": "users"}`` for a
table; ``--rename`` on the command line). Left alone on purpose: tables no
model maps, defaults, and UNIQUE constraints and foreign keys the models do
not declare (an existing database often has more than its models say).
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..backend.typing import NO_DEFAULT, ColumnDef, ColumnInfo, DatabaseType, SQLDefault
from . import operations as ops

if TYPE_CHECKING:
    from ..backend.base import StorageBackend

SIZE = re.compile(r"\((\d+)(?:\s*,\s*(\d+))?\)")
SIZED = (DatabaseType.CHAR, DatabaseType.VARCHAR, DatabaseType.DECIMAL)


def load_models(modules: str | Sequence[str]) -> list[type]:
    """Import ``modules`` (names; a package's submodules too) and return their model classes with tables."""
    from ..model.base import ActiveRecord

    names = [modules] if isinstance(modules, str) else list(modules)
    found: dict[type, None] = {}
    for name in names:
        module = importlib.import_module(name)
        loaded = [module]
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{module.__name__}."):
                loaded.append(importlib.import_module(info.name))
        for mod in loaded:
            for value in vars(mod).values():
                if (isinstance(value, type) and issubclass(value, ActiveRecord)
                        and not value.__dict__.get("__abstract__", False) and value.__module__ == mod.__name__):
                    found[value] = None
    return list(found)


def column_from_info(info: ColumnInfo) -> ColumnDef:
    """A ``ColumnDef`` that makes the column ``info`` describes again (its native type when not a known one)."""
    params: dict[str, Any] = {}
    db_type = info.db_type
    size = SIZE.search(info.type or "")
    if db_type in SIZED and size:
        if db_type is DatabaseType.DECIMAL:
            params["precision"] = int(size.group(1))
            if size.group(2) is not None:
                params["scale"] = int(size.group(2))
        else:
            params["length"] = int(size.group(1))
    if db_type is None:
        db_type, params["custom_type"] = DatabaseType.CUSTOM, info.type
    return ColumnDef(info.name, db_type, nullable=info.nullable, primary_key=info.primary_key,
                     default=SQLDefault(str(info.default)) if info.default is not None else NO_DEFAULT, **params)


@dataclass
class TableDiff:
    """The operations for one table, with notes for the file (possible renames)."""

    table: str
    operations: list[ops.Operation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def diff(backend: "StorageBackend", models: Iterable[Any], renames: dict[str, str] | None = None) -> list[TableDiff]:
    """Compare ``models`` with the database: the operations that make the database match them, per table."""
    renames = dict(renames or {})
    table_renames = {new: old for old, new in renames.items() if "." not in old}
    out = []
    seen: set[str] = set()
    for model in models:
        table = str(model.table_name())
        if table in seen:
            continue
        seen.add(table)
        changes = TableDiff(table)
        source = table
        old = table_renames.get(table)
        if old is not None and backend.table_exists(old) and not backend.table_exists(table):
            changes.operations.append(ops.RenameTable(old, model.table_name()))
            source = old
        if not backend.table_exists(source):
            changes.operations.append(_create(model))
        else:
            _compare(backend, model, source, changes, renames)
        if changes.operations:
            out.append(changes)
    return out


def _specs(model: Any) -> list[Any]:
    return list(model.metadata().columns.values())


def _create(model: Any) -> ops.Operation:
    specs = _specs(model)
    indexes: list[tuple[str, ...]] = [(s.column_name,) for s in specs if s.options.index and not s.options.unique]
    return ops.CreateTable(model.table_name(), [s.column for s in specs], indexes=indexes)


def _compare(backend: "StorageBackend", model: Any, source: str, changes: TableDiff, renames: dict[str, str]) -> None:
    table = model.table_name()
    info = backend.inspect_table(source)
    in_db = {c.name: c for c in info.columns}
    renamed_to = {new: old.split(".", 1)[1] for old, new in renames.items()
                  if "." in old and old.split(".", 1)[0] in (str(table), source)}
    specs = _specs(model)
    wanted = {s.column_name for s in specs}
    added: list[str] = []
    for spec in specs:
        column = spec.column
        current = in_db.get(column.name)
        if current is None and renamed_to.get(column.name) in in_db:
            current = in_db[renamed_to[column.name]]
            changes.operations.append(ops.RenameColumn(table, current.name, column.name))
        if current is None:
            changes.operations.append(ops.AddColumn(table, column))
            added.append(column.name)
            continue
        if _differs(backend, column, current):
            previous = column_from_info(current)
            previous.name = column.name
            # Defaults are not compared, so the change keeps the one the database has.
            changes.operations.append(ops.AlterColumn(table, replace(column, default=previous.default), previous))
    dropped = [c for name, c in in_db.items() if name not in wanted and name not in renamed_to.values()]
    for gone in dropped:
        changes.operations.append(ops.DropColumn(table, gone.name, column_from_info(gone)))
    if dropped and added:
        changes.notes.append(
            f"{', '.join(c.name for c in dropped)} dropped and {', '.join(added)} added in {table}: if a column was "
            f"renamed, run makemigrations again with --rename {table}.OLD=NEW instead (a drop loses its data)")
    fresh = set(added)
    # The database's names as they will be once the renames have run.
    after = {old: new for new, old in renamed_to.items() if old in in_db}
    _compare_indexes(table, specs, info, fresh, changes, lambda cols: tuple(after.get(c, c) for c in cols),
                     lambda t, cols: backend.dialect.index_name(t, cols))


def _compare_indexes(table: Any, specs: list[Any], info: Any, fresh: set[str], changes: TableDiff,
                     renamed: Any, index_name: Any) -> None:
    plain = {renamed(i.columns) for i in info.indexes if not i.unique}
    unique = {renamed(i.columns) for i in info.indexes if i.unique} | {
        renamed(u.columns) for u in info.unique_constraints}
    if len(info.primary_key) == 1:
        unique.add(renamed(info.primary_key))
    keys = {renamed(fk.columns) for fk in info.foreign_keys}
    declared = set()
    for spec in specs:
        name = spec.column_name
        cols = (name,)
        if spec.options.index and not spec.options.unique:
            declared.add(cols)
            if cols not in plain and cols not in unique:
                changes.operations.append(ops.AddIndex(table, cols))
        if name in fresh or spec.column.primary_key:
            continue  # a new column arrives with its UNIQUE and foreign key
        if spec.column.unique and cols not in unique:
            changes.operations.append(ops.AddUniqueConstraint(table, cols))
        if spec.column.references and cols not in keys:
            ref_table, ref_column = spec.column.references
            changes.operations.append(ops.AddForeignKey(table, cols, ref_table, (ref_column,),
                                                        on_delete=spec.column.on_delete))
    for index in info.indexes:
        cols = renamed(index.columns)
        # Only an index Field(index=True) would have made: one column, not partial, the default name.
        if (not index.unique and not index.constraint and index.partial is None and len(cols) == 1
                and index.name == index_name(table, index.columns) and cols not in declared):
            changes.operations.append(ops.DropIndex(table, index.name, cols))


def _differs(backend: "StorageBackend", column: ColumnDef, current: ColumnInfo) -> bool:
    if column.nullable != current.nullable and not column.primary_key:
        return True
    if column.db_type is DatabaseType.CUSTOM or current.db_type is None or column.autoincrement:
        return False
    expected = backend.dialect.read_back_types.get(column.db_type, column.db_type)
    if expected is not current.db_type:
        return True
    if column.db_type in SIZED:
        size = SIZE.search(current.type or "")
        if size is None:
            return False
        if column.db_type is DatabaseType.DECIMAL:
            return (column.precision is not None and column.precision != int(size.group(1))) or (
                column.scale is not None and size.group(2) is not None and column.scale != int(size.group(2)))
        return column.length is not None and column.length != int(size.group(1))
    return False


def render_lines(diffs: Sequence[TableDiff]) -> list[str]:
    """The lines of ``operations = [...]`` for ``diffs``: each operation, destructive ones marked."""
    lines: list[str] = []
    for d in diffs:
        lines.append(f"# {d.table}")
        for note in d.notes:
            lines.append(f"# NOTE: {note}")
        for op in d.operations:
            if op.destructive:
                lines.append(f"# DESTRUCTIVE: {op.describe()}; its data is lost")
            lines.extend(_code_lines(op))
    return lines


def describe(diffs: Sequence[TableDiff]) -> list[str]:
    """A readable account of what differs, one line per operation (for schema-check)."""
    lines = []
    for d in diffs:
        for op in d.operations:
            lines.append(f"{d.table}: {op.describe()}{'  [destructive]' if op.destructive else ''}")
    return lines


def _code_lines(op: ops.Operation) -> list[str]:
    """An operation's code; a table's columns one per line."""
    if isinstance(op, ops.CreateTable) and op.columns:
        rest = repr(ops.CreateTable(op.table, [], op.indexes, op.unique_indexes))
        tail = rest[rest.index("[]") + 2:]  # ", indexes=[...])" or ")"
        return ([f"ops.CreateTable({op.table!r}, ["] + [f"    {ops.column_code(c)}," for c in op.columns]
                + [f"]{tail},"])
    return [f"{op!r},"]
