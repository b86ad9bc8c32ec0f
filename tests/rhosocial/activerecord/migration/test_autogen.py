"""Autogenerate round trips and lint, on each database.

Models change (a field added, a mapped column, an index, a composite-key
table, a field dropped, a rename asked for); ``makemigrations`` writes the
file, ``migrate`` runs it and ``schema-check`` then finds nothing.
"""
from __future__ import annotations

import sys
import textwrap
import uuid

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType as T
from rhosocial.activerecord.migration import (
    LintError, Migrator, check_schema, load_directory, load_models, make_migrations, ops,
)
from rhosocial.activerecord.migration.files import Migration

from .conftest import cli, url_of

V1 = """
    from typing import Optional
    from rhosocial.activerecord import ActiveRecord, Field

    class Author(ActiveRecord):
        __tablename__ = "ag_authors"
        id: Optional[int] = None
        name: str = Field(max_length=80)
        bio: Optional[str] = None
"""

V2 = """
    from typing import Optional
    from rhosocial.activerecord import ActiveRecord, Field

    class Author(ActiveRecord):
        __tablename__ = "ag_authors"
        id: Optional[int] = None
        name: str = Field(max_length=80, index=True)
        display_name: Optional[str] = Field(None, max_length=40, column="DisplayName")
        email: Optional[str] = Field(None, max_length=120, unique=True)

    class Membership(ActiveRecord):
        __tablename__ = "ag_memberships"
        __primary_key__ = ("author_id", "group_id")
        author_id: int = Field(references="ag_authors.id")
        group_id: int
        role: str = Field("member", max_length=20)
"""

V3 = V2.replace('name: str = Field(max_length=80, index=True)', 'full_name: str = Field(max_length=120, index=True)')


@pytest.fixture
def models(tmp_path):
    """``models(source)`` writes a module of models and returns its name (imported fresh each time)."""
    made = []
    sys.path.insert(0, str(tmp_path))

    def write(source: str) -> str:
        name = f"ag_models_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        made.append(name)
        return name

    yield write
    sys.path.remove(str(tmp_path))
    for name in made:
        sys.modules.pop(name, None)


def bound(name: str, backend) -> dict[str, type]:
    found = {m.__name__: m for m in load_models(name)}
    for model in found.values():
        model.configure(backend)
    return found


def test_autogenerate_round_trip(backend, models, tmp_path):
    d = tmp_path / "migrations"
    quiet = lambda line: None  # noqa: E731
    v1 = models(V1)
    assert make_migrations(backend, v1, d, "initial") is not None
    Migrator(backend, d, out=quiet).migrate()
    assert check_schema(backend, v1) == []
    assert make_migrations(backend, v1, d, "nothing") is None
    Author = bound(v1, backend)["Author"]
    Author(name="ann", bio="wrote things").save()
    Author(name="bob").save()

    v2 = models(V2)
    # Before the migration exists, schema-check fails with a readable diff.
    out = cli("schema-check", "--url", url_of(backend), "--models", v2, cwd=tmp_path)
    assert out.returncode == 1, out
    assert "ag_authors: add column ag_authors.DisplayName" in out.stdout
    assert "ag_authors: drop column ag_authors.bio  [destructive]" in out.stdout
    assert "ag_memberships: create table ag_memberships" in out.stdout

    path = make_migrations(backend, v2, d, "authors grow")
    text = path.read_text()
    assert path.name == "0002_authors_grow.py" and "previous = '0001_initial'" in text
    assert "# DESTRUCTIVE: drop column ag_authors.bio; its data is lost" in text
    assert "# NOTE: bio dropped and DisplayName, email added in ag_authors" in text
    (migration,) = [m for m in load_directory(d) if m.id == "0002_authors_grow"]
    kinds = [type(op).__name__ for op in migration.operations]
    assert sorted(kinds) == sorted(["AddColumn", "AddColumn", "DropColumn", "AddIndex", "CreateTable"])
    Migrator(backend, d, out=quiet).migrate()
    assert check_schema(backend, v2) == []
    out = cli("schema-check", "--url", url_of(backend), "--models", v2, cwd=tmp_path)
    assert (out.returncode, out.stdout.strip()) == (0, "The database matches the models."), out
    m2 = bound(v2, backend)
    assert sorted(a.name for a in m2["Author"].all()) == ["ann", "bob"]
    ann = m2["Author"].find_by(name="ann")
    m2["Membership"](author_id=ann.id, group_id=7).save()
    assert m2["Membership"].find((ann.id, 7)).role == "member"
    cols = {c.name for c in backend.get_columns("ag_authors")}
    assert "DisplayName" in cols and "bio" not in cols

    # A rename is asked for, never guessed: the data stays.
    v3 = models(V3)
    path = make_migrations(backend, v3, d, "rename name", renames={"ag_authors.name": "full_name"})
    (migration,) = [m for m in load_directory(d) if m.id == path.stem]
    assert [type(op).__name__ for op in migration.operations] == ["RenameColumn", "AlterColumn"]
    runner = Migrator(backend, d, out=quiet)
    assert runner.lint([migration]) == []  # a longer VARCHAR: nothing to warn of
    runner.migrate()
    assert check_schema(backend, v3) == []
    assert sorted(a.full_name for a in bound(v3, backend)["Author"].all()) == ["ann", "bob"]

    # Back to the first models: every step reverses.
    runner.rollback(2)
    assert check_schema(backend, v1) == []
    assert not backend.table_exists("ag_memberships")
    assert sorted(a.name for a in bound(v1, backend)["Author"].all()) == ["ann", "bob"]


def test_makemigrations_refuses_while_migrations_are_pending(backend, models, tmp_path):
    from rhosocial.activerecord.migration import MigrationError

    d = tmp_path / "migrations"
    v1 = models(V1)
    make_migrations(backend, v1, d, "initial")
    with pytest.raises(MigrationError, match="Apply the pending migrations first"):
        make_migrations(backend, v1, d, "again")
    out = cli("makemigrations", "--url", url_of(backend), "--models", v1, "--dir", str(d), cwd=tmp_path)
    assert out.returncode == 1 and "pending" in out.stderr


def lint_of(backend, *operations, models=()) -> list[str]:
    m = Migration("0009_lint", __import__("pathlib").Path("0009_lint.py"), None, list(operations))
    return [f.message for f in Migrator(backend, "unused", models=models).lint([m])]


def test_lint_flags_each_risky_case_and_nothing_else(backend, models):
    backend.create_table("lint_t", [ColumnDef("id", T.INTEGER, primary_key=True),
                                    ColumnDef("name", T.VARCHAR, length=50)])
    backend.create_table("lint_empty", [ColumnDef("id", T.INTEGER, primary_key=True)])
    backend.execute("INSERT INTO lint_t (id, name) VALUES (1, 'x')")
    server = backend.name in ("postgres", "mysql")

    # NOT NULL without a default on a table with rows: flagged everywhere; the safe forms are quiet.
    assert any("without a default" in m for m in lint_of(
        backend, ops.AddColumn("lint_t", ColumnDef("n", T.INTEGER, nullable=False))))
    assert lint_of(backend, ops.AddColumn("lint_t", ColumnDef("n", T.INTEGER))) == []
    assert lint_of(backend, ops.AddColumn("lint_t", ColumnDef("n", T.INTEGER, nullable=False, default=0))) == []
    assert lint_of(backend, ops.AddColumn("lint_empty", ColumnDef("n", T.INTEGER, nullable=False))) == []

    # An index without CONCURRENTLY on a table with rows: PostgreSQL only.
    flagged = lint_of(backend, ops.AddIndex("lint_t", ("name",)))
    assert bool(flagged) == (backend.name == "postgres")
    if backend.name == "postgres":
        assert "concurrently=True" in flagged[0]
        assert lint_of(backend, ops.AddIndex("lint_t", ("name",), concurrently=True)) == []
    assert lint_of(backend, ops.AddIndex("lint_empty", ("id",))) == []

    # Type changes that narrow or rewrite (PostgreSQL, MySQL); widening a VARCHAR is quiet.
    v50, v10, v90 = (ColumnDef("name", T.VARCHAR, length=n) for n in (50, 10, 90))
    narrowed = lint_of(backend, ops.AlterColumn("lint_t", v10, previous=v50))
    assert bool(narrowed) == server and (not server or "narrows" in narrowed[0])
    rewritten = lint_of(backend, ops.AlterColumn("lint_t", ColumnDef("name", T.INTEGER), previous=v50))
    assert bool(rewritten) == server
    assert not server or any("rewrites the table" in m or "copies the table" in m for m in rewritten)
    assert lint_of(backend, ops.AlterColumn("lint_t", v90, previous=v50)) == []
    assert bool(lint_of(backend, ops.AlterColumn("lint_t", v90))) == server  # previous unknown

    # NOT NULL over rows that hold NULL fails: flagged everywhere; quiet once there are none.
    backend.execute("INSERT INTO lint_t (id, name) VALUES (2, NULL)")
    strict_name = ColumnDef("name", T.VARCHAR, length=50, nullable=False)
    assert any("rows hold NULL" in m for m in lint_of(backend, ops.AlterColumn("lint_t", strict_name, previous=v50)))
    backend.execute("DELETE FROM lint_t WHERE id = 2")
    assert lint_of(backend, ops.AlterColumn("lint_t", strict_name, previous=v50)) == []

    # Dropping or renaming a column a model still uses.
    name = models("""
        from rhosocial.activerecord import ActiveRecord, Field
        class LintT(ActiveRecord):
            __tablename__ = "lint_t"
            __primary_key__ = "id"
            id: int
            name: str = Field(max_length=50)
    """)
    used = load_models(name)
    assert "LintT.name still uses" in lint_of(backend, ops.DropColumn("lint_t", "name"), models=used)[0]
    assert "LintT.name still uses" in lint_of(backend, ops.RenameColumn("lint_t", "name", "title"), models=used)[0]
    assert lint_of(backend, ops.DropColumn("lint_t", "other"), models=used) == []
    assert "model LintT still uses" in lint_of(backend, ops.DropTable("lint_t"), models=used)[0]


def test_strict_lint_runs_nothing(backend, tmp_path):
    from .conftest import write_migration

    backend.create_table("lint_s", [ColumnDef("id", T.INTEGER, primary_key=True)])
    backend.execute("INSERT INTO lint_s (id) VALUES (1)")
    d = tmp_path / "migrations"
    write_migration(d, "0001_risky", None, """
        operations = [ops.AddColumn("lint_s", ColumnDef("n", DatabaseType.INTEGER, nullable=False))]
    """)
    lines: list[str] = []
    with pytest.raises(LintError):
        Migrator(backend, d, out=lines.append).migrate(strict=True)
    assert lines[0].startswith("error: 0001_risky, operation 1 (add column lint_s.n): adds NOT NULL column")
    assert [c.name for c in backend.get_columns("lint_s")] == ["id"]
    assert not backend.table_exists("rhosocial_migrations")
    out = cli("migrate", "--strict", "--url", url_of(backend), "--dir", str(d), cwd=tmp_path)
    assert out.returncode == 3 and "error: 0001_risky" in out.stdout, out


def test_autogenerate_keeps_defaults_and_indexes_models_cannot_declare(backend, models, tmp_path):
    backend.create_table("ag_orders", [
        ColumnDef("id", T.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("status", T.VARCHAR, length=10, default="new"),
        ColumnDef("total", T.INTEGER),
    ], indexes=[("status", "total")])
    if backend.capabilities.supports_partial_indexes:
        backend.create_index("ag_orders", ["total"], where="total > 100")  # named ix_ag_orders_total
    name = models("""
        from typing import Optional
        from rhosocial.activerecord import ActiveRecord, Field
        from rhosocial.activerecord.backend import DatabaseType

        class Order(ActiveRecord):
            __tablename__ = "ag_orders"
            id: Optional[int] = None
            status: Optional[str] = Field(None, max_length=20)
            total: Optional[int] = Field(None, db_type=DatabaseType.INTEGER)
    """)
    path = make_migrations(backend, name, tmp_path / "migrations", "wider status")
    (migration,) = load_directory(tmp_path / "migrations")
    assert [type(op).__name__ for op in migration.operations] == ["AlterColumn"], path.read_text()
    Migrator(backend, tmp_path / "migrations", out=lambda line: None).migrate()
    assert check_schema(backend, name) == []
    backend.execute("INSERT INTO ag_orders (total) VALUES (5)")
    assert backend.execute("SELECT status FROM ag_orders").rows[0][0] == "new"  # the default stayed
    assert {i.columns for i in backend.get_indexes("ag_orders")} >= {("status", "total")}
