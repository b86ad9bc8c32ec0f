"""Migration files: Python modules in a directory, one linear history.

A file ``0002_add_age.py`` is the migration ``0002_add_age``. It holds::

    previous = "0001_initial"        # the migration it follows (None for the first)
    operations = [ops.AddColumn(...), ...]
    def down(backend): ...           # optional: undo what the operations cannot undo themselves
    atomic = True                    # optional: False runs it outside one transaction

The ids sort in the order the files were made (a four-digit number first);
the history is linear: every migration but the first names the one before it,
and no two name the same one.
"""
from __future__ import annotations

import datetime as _dt
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import ActiveRecordError
from .operations import Operation

FILE_NAME = re.compile(r"^(\d{4,})_([A-Za-z0-9_]+)\.py$")


class MigrationError(ActiveRecordError):
    """A migration could not be loaded, planned or run; the message says which and why."""


@dataclass
class Migration:
    """One migration file, loaded."""

    id: str
    path: Path
    previous: str | None
    operations: list[Operation]
    down: Callable[[Any], Any] | None = None
    atomic: bool = True
    doc: str = ""

    @property
    def number(self) -> int:
        return int(self.id.split("_", 1)[0])


def load_file(path: Path) -> Migration:
    """Import one migration file."""
    match = FILE_NAME.match(path.name)
    if match is None:
        raise MigrationError(f"{path}: a migration file is named NNNN_name.py")
    name = f"_rhosocial_migration_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(f"{path} could not be imported: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(name, None)
    operations = getattr(module, "operations", [])
    if not isinstance(operations, (list, tuple)) or not all(isinstance(o, Operation) for o in operations):
        raise MigrationError(f"{path}: `operations` must be a list of operations (rhosocial.activerecord.migration.ops)")
    if not hasattr(module, "previous"):
        raise MigrationError(f"{path}: set `previous` to the id of the migration before it (None for the first)")
    return Migration(path.stem, path, module.previous, list(operations), getattr(module, "down", None),
                     bool(getattr(module, "atomic", True)), (module.__doc__ or "").strip())


def load_directory(directory: str | Path) -> list[Migration]:
    """Load every migration of ``directory`` in history order.

    Raises:
        MigrationError: a file does not load, two files share an id, a
            ``previous`` names no migration, or the history has two heads.
    """
    root = Path(directory)
    if not root.is_dir():
        return []
    found: dict[str, Migration] = {}
    for path in sorted(root.glob("*.py")):
        if path.name == "__init__.py":
            continue
        migration = load_file(path)
        found[migration.id] = migration
    return order(list(found.values()))


def order(migrations: list[Migration]) -> list[Migration]:
    """Put ``migrations`` in the order of their ``previous`` links, checking the history is one line."""
    by_id = {m.id: m for m in migrations}
    children: dict[str | None, list[Migration]] = {}
    for m in migrations:
        if m.previous is not None and m.previous not in by_id:
            raise MigrationError(f"{m.id} follows {m.previous!r}, which is not a migration in {m.path.parent}")
        children.setdefault(m.previous, []).append(m)
    for parent, kids in children.items():
        if len(kids) > 1:
            names = " and ".join(sorted(k.id for k in kids))
            raise MigrationError(
                f"The history has two heads: {names} both follow {parent or 'the start'}. Make one follow the "
                "other (set its `previous`) and renumber it")
    line, at = [], None
    while at in children:
        (m,) = children[at]
        line.append(m)
        at = m.id
    if len(line) != len(migrations):
        stray = sorted(set(by_id) - {m.id for m in line})
        raise MigrationError(f"Migrations {', '.join(stray)} are not on the history line (a loop of `previous`?)")
    return line


def slug(name: str) -> str:
    """``"Add user age"`` -> ``"add_user_age"``."""
    text = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower()
    return text or "migration"


def next_id(migrations: list[Migration], name: str) -> str:
    """The id a new migration named ``name`` gets: the next number."""
    number = max((m.number for m in migrations), default=0) + 1
    return f"{number:04d}_{slug(name)}"


TEMPLATE = '''"""{title}

Made {when}{how}.
"""
import datetime  # noqa: F401  (for date defaults)
from decimal import Decimal  # noqa: F401

from rhosocial.activerecord.backend import ColumnDef, DatabaseType, SQLDefault, TableName  # noqa: F401
from rhosocial.activerecord.migration import ops

previous = {previous!r}

operations = [
{body}]
{down}'''

DOWN_HINT = '''
# def down(backend):
#     """Undo what the operations cannot undo by themselves (a data step, a dropped column's values)."""
'''


def render(title: str, previous: str | None, lines: list[str], how: str = "", down: str = DOWN_HINT) -> str:
    """The text of a migration file with ``lines`` (operation code, comments) in ``operations``."""
    body = "".join(f"    {line}\n" for line in lines)
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return TEMPLATE.format(title=title, when=when, how=how, previous=previous, body=body, down=down)


def write_new(directory: str | Path, name: str, lines: list[str] | None = None, how: str = "") -> Path:
    """Write the next migration file of ``directory`` (created if missing) and return its path."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    migrations = load_directory(root)
    migration_id = next_id(migrations, name)
    previous = migrations[-1].id if migrations else None
    path = root / f"{migration_id}.py"
    path.write_text(render(name, previous, lines or [], how), encoding="utf-8")
    return path
