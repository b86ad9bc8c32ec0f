"""The migration runner on a backend: history, reversal, and what a failure halfway leaves.

A backend whose DDL is transactional (``Capabilities.supports_transactional_ddl``)
must roll a failed migration back whole; one whose DDL commits by itself must
leave a history row that says exactly how many operations ran. Tables are
named ``kit_mig_*``; the history table is dropped afterwards if the test made it.
"""
from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhosocial.activerecord.migration import HISTORY_TABLE, MigrationError, Migrator

HEADER = ("from rhosocial.activerecord.backend import ColumnDef, DatabaseType, SQLDefault\n"
          "from rhosocial.activerecord.migration import ops\n")


def write(directory: Path, migration_id: str, previous: str | None, body: str) -> Path:
    """Write ``directory/<id>.py`` holding ``body`` (operations, a down(), ...) after ``previous``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{migration_id}.py"
    path.write_text(HEADER + f"previous = {previous!r}\n" + textwrap.dedent(body), encoding="utf-8")
    return path


class TestMigrationRunner:
    """Migrations applied in order, recorded, rolled back; a failure halfway is whole or recorded."""

    @pytest.fixture
    def runner(self, backend, tmp_path) -> Iterator[Migrator]:
        had_history = backend.table_exists(HISTORY_TABLE)
        for table in ("kit_mig_items", "kit_mig_half"):
            backend.drop_table(table, if_exists=True)
        yield Migrator(backend, tmp_path / "migrations", out=lambda line: None)
        for table in ("kit_mig_items", "kit_mig_half"):
            backend.drop_table(table, if_exists=True)
        if not had_history:
            backend.drop_table(HISTORY_TABLE, if_exists=True)

    def test_migrate_and_roll_back(self, backend, runner):
        d = runner.directory
        write(d, "0001_items", None, """
            operations = [
                ops.CreateTable("kit_mig_items", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True),
                                                  ColumnDef("label", DatabaseType.VARCHAR, length=20)]),
                ops.RunSQL("INSERT INTO kit_mig_items (id, label) VALUES (1, 'a')", "DELETE FROM kit_mig_items"),
            ]
        """)
        write(d, "0002_qty", "0001_items", """
            operations = [ops.AddColumn("kit_mig_items", ColumnDef("qty", DatabaseType.INTEGER, default=3))]
        """)
        assert runner.migrate() == ["0001_items", "0002_qty"]
        assert [s.state for s in runner.status()] == ["applied", "applied"]
        assert [tuple(r) for r in backend.execute("SELECT id, label, qty FROM kit_mig_items").rows] == [(1, "a", 3)]
        assert runner.migrate() == []
        assert runner.rollback(2) == ["0002_qty", "0001_items"]
        assert not backend.table_exists("kit_mig_items")
        assert [s.state for s in runner.status()] == ["pending", "pending"]

    def test_a_failure_halfway_is_whole_or_recorded(self, backend, runner):
        write(runner.directory, "0001_half", None, """
            operations = [
                ops.CreateTable("kit_mig_half", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True)]),
                ops.RunSQL("INSERT INTO kit_mig_no_such_table (id) VALUES (1)"),
            ]
        """)
        with pytest.raises(MigrationError, match="operation 2 of 2"):
            runner.migrate()
        (state,) = runner.status()
        if backend.capabilities.supports_transactional_ddl:
            assert not backend.table_exists("kit_mig_half")
            assert state.state == "pending"
        else:
            assert backend.table_exists("kit_mig_half")
            assert (state.state, state.operations_done) == ("partial", 1)
            assert runner.rollback() == ["0001_half"]
            assert not backend.table_exists("kit_mig_half")
