"""Lint: operations that lock, rewrite, fail or break the application, found before they run.

Checked for every pending migration (``migrate`` prints warnings; with
``strict`` they are errors and nothing runs):

- a NOT NULL column without a default added to a table that has rows
  (it fails, or on some databases fills every row with a zero value);
- where the dialect can build indexes concurrently (PostgreSQL), an index
  built on a table with rows without ``concurrently=True`` (it blocks writes
  while it builds);
- where a type change rewrites or copies the table (the dialect's
  ``type_change_rewrites``: PostgreSQL, MySQL/MariaDB), a type change that narrows the type or
  rewrites the table (or whose previous type is not given, so it cannot be
  judged);
- a column made NOT NULL while rows hold NULL in it (it fails);
- dropping or renaming a column or table a model still uses (when models
  are given).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..backend.typing import NO_DEFAULT, ColumnDef, DatabaseType
from . import operations as ops

if TYPE_CHECKING:
    from ..backend.base import StorageBackend
    from .files import Migration

INTEGER_WIDTH = {DatabaseType.TINYINT: 1, DatabaseType.SMALLINT: 2, DatabaseType.INTEGER: 4, DatabaseType.BIGINT: 8}
STRINGS = (DatabaseType.CHAR, DatabaseType.VARCHAR, DatabaseType.TEXT)


@dataclass(frozen=True)
class Finding:
    """One risky operation: where it is and what the risk is."""

    migration: str
    index: int
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.migration}, operation {self.index} ({self.operation}): {self.message}"


def lint_migration(migration: "Migration", backend: "StorageBackend", models: Sequence[type] = ()) -> list[Finding]:
    """The findings for one migration, checked against the database as it is now."""
    found = []
    rows: dict[str, bool] = {}

    def has_rows(table: str) -> bool:
        if table not in rows:
            rows[table] = backend.table_exists(table) and bool(
                backend.execute(f"SELECT 1 FROM {backend.dialect.quote_identifier(table)} LIMIT 1").rows)
        return rows[table]

    rewrites = backend.dialect.type_change_rewrites
    for index, op in enumerate(migration.operations, 1):
        for message in _risks(op, backend, has_rows, rewrites, models):
            found.append(Finding(migration.id, index, op.describe(), message))
    return found


def _risks(op: ops.Operation, backend: "StorageBackend", has_rows: Any, rewrites: str | None,
           models: Sequence[type]) -> list[str]:
    risks = []
    if isinstance(op, ops.AddColumn):
        c = op.column
        if not c.nullable and c.default is NO_DEFAULT and not c.generated and has_rows(op.table):
            risks.append(f"adds NOT NULL column {c.name!r} without a default to {op.table!r}, which has rows: it "
                         "fails (or fills them with a zero value); add it nullable, fill it, then make it NOT NULL, "
                         "or give it a default")
    elif isinstance(op, ops.AddIndex):
        if backend.dialect.concurrent_index_builds and not op.concurrently and has_rows(op.table):
            risks.append(f"builds an index on {op.table!r}, which has rows, without concurrently=True: writes to "
                         "the table wait until it is built")
    elif isinstance(op, ops.AlterColumn):
        if rewrites:
            risks.extend(_type_change_risks(op, rewrites))
        if not op.column.nullable and (op.previous is None or op.previous.nullable) and _has_nulls(
                backend, op.table, op.column.name):
            risks.append(f"makes {op.table}.{op.column.name} NOT NULL, but rows hold NULL there: it fails; "
                         "fill them first (a RunSQL or RunPython before it)")
    if isinstance(op, (ops.DropColumn, ops.RenameColumn)):
        column = op.name if isinstance(op, ops.DropColumn) else op.old
        for model_name, field in _users_of(models, op.table, column):
            verb = "drops" if isinstance(op, ops.DropColumn) else "renames"
            risks.append(f"{verb} column {op.table}.{column}, which {model_name}.{field} still uses")
    if isinstance(op, (ops.DropTable, ops.RenameTable)):
        for user in models:
            if _table_of(user) == op.table:
                verb = "drops" if isinstance(op, ops.DropTable) else "renames"
                risks.append(f"{verb} table {op.table!r}, which the model {user.__name__} still uses")
    return risks


def _has_nulls(backend: "StorageBackend", table: str, column: str) -> bool:
    q = backend.dialect.quote_identifier
    if not backend.table_exists(table):
        return False
    return bool(backend.execute(f"SELECT 1 FROM {q(table)} WHERE {q(column)} IS NULL LIMIT 1").rows)


def _type_change_risks(op: ops.AlterColumn, rewrites: str) -> list[str]:
    new, old = op.column, op.previous
    if old is None:
        return [f"changes column {op.table}.{new.name} without previous=: whether the type narrows or the table "
                "is rewritten cannot be judged"]
    if _same_type(new, old):
        return []
    risks = []
    narrows = _narrows(old, new)
    if narrows:
        risks.append(f"narrows {op.table}.{new.name} ({narrows}): values that do not fit fail the change or are cut")
    if not _keeps_storage(old, new):
        risks.append(f"changes the type of {op.table}.{new.name} from {_show(old)} to {_show(new)}: it {rewrites} the table "
                     "while holding a lock that blocks writes")
    return risks


def _same_type(a: ColumnDef, b: ColumnDef) -> bool:
    return a.db_type is b.db_type and a.type_params() == b.type_params()


def _narrows(old: ColumnDef, new: ColumnDef) -> str | None:
    if old.db_type in INTEGER_WIDTH and new.db_type in INTEGER_WIDTH:
        return f"{old.db_type.name} to {new.db_type.name}" if INTEGER_WIDTH[new.db_type] < INTEGER_WIDTH[old.db_type] else None
    if old.db_type in STRINGS and new.db_type in STRINGS:
        old_len = None if old.db_type is DatabaseType.TEXT else old.length
        new_len = None if new.db_type is DatabaseType.TEXT else new.length
        if new_len is not None and (old_len is None or new_len < old_len):
            return f"{_show(old)} to {_show(new)}"
        return None
    if old.db_type is DatabaseType.DECIMAL and new.db_type is DatabaseType.DECIMAL:
        if (new.precision or 0) < (old.precision or 0) or (new.scale or 0) < (old.scale or 0):
            return f"{_show(old)} to {_show(new)}"
        return None
    return f"{_show(old)} to {_show(new)}: values are converted"


def _keeps_storage(old: ColumnDef, new: ColumnDef) -> bool:
    """Whether the change is one the databases make without touching the rows (longer VARCHAR, VARCHAR to TEXT)."""
    if old.db_type is DatabaseType.VARCHAR and new.db_type is DatabaseType.VARCHAR:
        return (new.length or 0) >= (old.length or 0)
    return old.db_type is DatabaseType.VARCHAR and new.db_type is DatabaseType.TEXT


def _show(c: ColumnDef) -> str:
    params = [str(v) for k, v in c.type_params().items() if k in ("length", "precision", "scale")]
    return c.db_type.name + (f"({','.join(params)})" if params else "")


def _table_of(model: Any) -> str | None:
    try:
        return str(model.table_name())
    except Exception:
        return None


def _users_of(models: Sequence[type], table: str, column: str) -> list[tuple[str, str]]:
    users = []
    for model in models:
        if _table_of(model) != table:
            continue
        for field, spec in model.metadata().columns.items():  # type: ignore[attr-defined]
            if spec.column_name == column:
                users.append((model.__name__, field))
    return users
