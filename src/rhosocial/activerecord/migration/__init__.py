"""Migrations: schema changes in files, applied in order, recorded, locked, linted and generated from models.

The Python API behind ``python -m rhosocial.activerecord new|makemigrations|migrate|rollback|status|inspect|schema-check``::

    from rhosocial.activerecord.migration import Migrator, make_migrations, check_schema

    make_migrations(backend, ["app.models"], "migrations", "add age")   # writes 0002_add_age.py
    Migrator(backend, "migrations").migrate()                          # applies what is pending
    check_schema(backend, ["app.models"])                              # [] when the database matches

See docs/migrations.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from . import operations as ops
from .autogen import TableDiff, describe, diff, load_models, render_lines
from .codegen import models_source
from .files import Migration, MigrationError, load_directory, write_new
from .lint import Finding
from .runner import HISTORY_TABLE, IrreversibleMigrationError, LintError, MigrationState, Migrator

if TYPE_CHECKING:
    from ..backend.base import StorageBackend

__all__ = [
    "Finding", "HISTORY_TABLE", "IrreversibleMigrationError", "LintError", "Migration", "MigrationError",
    "MigrationState", "Migrator", "TableDiff", "check_schema", "diff", "load_directory", "load_models",
    "make_migrations", "models_source", "new_migration", "ops",
]


def new_migration(directory: str | Path, name: str) -> Path:
    """Write an empty migration file after the directory's last one; return its path."""
    return write_new(directory, name, how=" by `new`")


def make_migrations(backend: "StorageBackend", models: str | Sequence[str] | Sequence[type],
                    directory: str | Path = "migrations", name: str = "auto",
                    renames: dict[str, str] | None = None) -> Path | None:
    """Write a migration with the operations that make the database match ``models``; ``None`` if it does.

    ``models`` are module names (packages are walked) or model classes.
    The database must have every migration of ``directory`` applied, since
    the comparison is with the database as it is.

    Raises:
        MigrationError: migrations of ``directory`` are not applied yet.
    """
    pending = Migrator(backend, directory).pending()
    if pending:
        raise MigrationError(f"Apply the pending migrations first ({', '.join(m.id for m in pending)}): "
                             "makemigrations compares the models with the database as it is")
    diffs = diff(backend, _models(models), renames)
    if not diffs:
        return None
    return write_new(directory, name, render_lines(diffs), how=" by `makemigrations`")


def check_schema(backend: "StorageBackend", models: str | Sequence[str] | Sequence[type],
                 renames: dict[str, str] | None = None) -> list[str]:
    """What differs between the database and ``models``, one readable line per change (empty: they match)."""
    return describe(diff(backend, _models(models), renames))


def _models(models: str | Sequence[str] | Sequence[type]) -> list[type]:
    if isinstance(models, str):
        return load_models(models)
    names = [m for m in models if isinstance(m, str)]
    classes = [m for m in models if isinstance(m, type)]
    return classes + (load_models(names) if names else [])
