"""The migration runner on each database: history, reversal, failures halfway, the lock, two processes at once."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from rhosocial.activerecord.backend import DatabaseError
from rhosocial.activerecord.migration import (
    IrreversibleMigrationError, MigrationError, Migrator, load_directory,
)

from .conftest import cli, url_of, write_migration


def history_ids(backend) -> list[str]:
    if not backend.table_exists("rhosocial_migrations"):
        return []
    return sorted(r[0] for r in backend.execute('SELECT id FROM rhosocial_migrations').rows)


def two_migrations(directory) -> None:
    write_migration(directory, "0001_people", None, """
        operations = [
            ops.CreateTable("m_people", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True),
                                         ColumnDef("name", DatabaseType.VARCHAR, length=40)]),
            ops.RunSQL("INSERT INTO m_people (id, name) VALUES (1, 'ann')", "DELETE FROM m_people"),
        ]
    """)
    write_migration(directory, "0002_age", "0001_people", """
        operations = [ops.AddColumn("m_people", ColumnDef("age", DatabaseType.INTEGER, default=30))]
    """)


def test_migrate_records_history_and_rolls_back(backend, migrations_dir):
    two_migrations(migrations_dir)
    lines: list[str] = []
    runner = Migrator(backend, migrations_dir, out=lines.append)
    assert [s.state for s in runner.status()] == ["pending", "pending"]
    assert runner.migrate("1") == ["0001_people"]
    assert runner.migrate() == ["0002_age"]
    assert runner.migrate() == []
    assert history_ids(backend) == ["0001_people", "0002_age"]
    assert [s.state for s in runner.status()] == ["applied", "applied"]
    assert any(line.startswith("  0002_age done in ") and line.endswith(" s") for line in lines)
    assert backend.execute("SELECT id, name, age FROM m_people").rows == [(1, "ann", 30)]
    assert runner.rollback() == ["0002_age"]
    assert [c.name for c in backend.get_columns("m_people")] == ["id", "name"]
    assert runner.rollback(5) == ["0001_people"]
    assert not backend.table_exists("m_people") and history_ids(backend) == []


def test_an_irreversible_migration_needs_down(backend, migrations_dir):
    write_migration(migrations_dir, "0001_t", None, """
        operations = [ops.CreateTable("m_t", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True)])]
    """)
    write_migration(migrations_dir, "0002_data", "0001_t", """
        operations = [ops.RunSQL("INSERT INTO m_t (id) VALUES (7)")]
    """)
    runner = Migrator(backend, migrations_dir, out=lambda line: None)
    runner.migrate()
    with pytest.raises(IrreversibleMigrationError, match="down"):
        runner.rollback(2)
    assert history_ids(backend) == ["0001_t", "0002_data"]  # nothing was undone
    write_migration(migrations_dir, "0002_data", "0001_t", """
        operations = [ops.RunSQL("INSERT INTO m_t (id) VALUES (7)")]

        def down(backend):
            backend.execute("DELETE FROM m_t WHERE id = 7")
    """)
    assert runner.rollback() == ["0002_data"]
    assert backend.execute("SELECT COUNT(*) FROM m_t").rows[0][0] == 0


def test_a_migration_failing_halfway(backend, migrations_dir):
    write_migration(migrations_dir, "0001_half", None, """
        operations = [
            ops.CreateTable("m_half", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True)]),
            ops.AddColumn("m_half", ColumnDef("extra", DatabaseType.INTEGER)),
            ops.RunSQL("INSERT INTO m_no_such_table (id) VALUES (1)"),
        ]
    """)
    runner = Migrator(backend, migrations_dir, out=lambda line: None)
    with pytest.raises(MigrationError, match="operation 3 of 3") as failed:
        runner.migrate()
    if backend.capabilities.supports_transactional_ddl:
        assert "rolled back whole" in str(failed.value)
        assert not backend.table_exists("m_half")
        assert history_ids(backend) == []
        assert [s.state for s in runner.status()] == ["pending"]
    else:  # MySQL/MariaDB: DDL committed as it ran; the history says exactly how far
        assert "Operations 1-2 ran and are recorded" in str(failed.value)
        assert [c.name for c in backend.get_columns("m_half")] == ["id", "extra"]
        (state,) = runner.status()
        assert (state.state, state.operations_done) == ("partial", 2)
        out = cli("status", "--url", url_of(backend), "--dir", str(migrations_dir), cwd=migrations_dir.parent)
        assert "partial  0001_half (2 of 3 operations)" in out.stdout
    # Fixed, it runs (resuming after what ran), and rolls back whole.
    write_migration(migrations_dir, "0001_half", None, """
        operations = [
            ops.CreateTable("m_half", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True)]),
            ops.AddColumn("m_half", ColumnDef("extra", DatabaseType.INTEGER)),
            ops.RunSQL("INSERT INTO m_half (id, extra) VALUES (1, 2)", "DELETE FROM m_half"),
        ]
    """)
    lines: list[str] = []
    Migrator(backend, migrations_dir, out=lines.append).migrate()
    assert backend.execute("SELECT id, extra FROM m_half").rows == [(1, 2)]
    assert ("resuming after operation 2" in lines[0]) == (not backend.capabilities.supports_transactional_ddl)
    assert [s.state for s in runner.status()] == ["applied"]
    runner.rollback()
    assert not backend.table_exists("m_half") and history_ids(backend) == []


def test_two_heads_are_named(tmp_path):
    d = tmp_path / "m"
    write_migration(d, "0001_a", None, "operations = []\n")
    write_migration(d, "0002_b", "0001_a", "operations = []\n")
    write_migration(d, "0003_c", "0001_a", "operations = []\n")
    with pytest.raises(MigrationError, match="two heads: 0002_b and 0003_c both follow 0001_a"):
        load_directory(d)
    write_migration(d, "0003_c", "0009_missing", "operations = []\n")
    with pytest.raises(MigrationError, match="0003_c follows '0009_missing'"):
        load_directory(d)


def test_two_processes_migrating_at_once_run_each_migration_once(backend, migrations_dir):
    write_migration(migrations_dir, "0001_slow", None, """
        import time

        def slowly(backend):
            backend.execute("INSERT INTO m_runs (n) VALUES (1)")
            time.sleep(1.5)

        operations = [
            ops.CreateTable("m_runs", [ColumnDef("n", DatabaseType.INTEGER)]),
            ops.RunPython(slowly),
        ]
    """)
    write_migration(migrations_dir, "0002_more", "0001_slow", """
        operations = [ops.RunSQL("INSERT INTO m_runs (n) VALUES (2)")]
    """)
    args = [sys.executable, "-m", "rhosocial.activerecord", "migrate", "--url", url_of(backend),
            "--dir", str(migrations_dir)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    deadline = time.monotonic() + 120
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=max(deadline - time.monotonic(), 1))
        outs.append((p.returncode, out, err))
    assert [code for code, _, _ in outs] == [0, 0], outs
    assert sorted(r[0] for r in backend.execute("SELECT n FROM m_runs").rows) == [1, 2]
    assert history_ids(backend) == ["0001_slow", "0002_more"]
    applied = [out.count("Applying") for _, out, _ in outs]
    assert sorted(applied) in ([0, 2], [1, 1]), outs  # each migration ran in exactly one process


def test_the_lock_times_out_with_its_own_exit_code(backend, migrations_dir):
    if backend.name == "sqlite":
        pytest.skip("SQLite has no session lock: each migration is an exclusive transaction")
    two_migrations(migrations_dir)
    with backend.migration_lock() as held:
        assert held
        out = cli("migrate", "--url", url_of(backend), "--dir", str(migrations_dir), "--lock-timeout", "0.3",
                  cwd=migrations_dir.parent)
    assert out.returncode == 4, out
    assert "held by another session" in out.stderr
    assert history_ids(backend) == []


def test_concurrent_index_on_postgres_runs_outside_a_transaction(backend, migrations_dir):
    if backend.name != "postgres":
        pytest.skip("CREATE INDEX CONCURRENTLY is PostgreSQL's")
    write_migration(migrations_dir, "0001_t", None, """
        operations = [
            ops.CreateTable("m_big", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True),
                                      ColumnDef("v", DatabaseType.INTEGER)]),
            ops.RunSQL("INSERT INTO m_big (id, v) SELECT g, g % 7 FROM generate_series(1, 500) g",
                       "DELETE FROM m_big"),
            ops.AddIndex("m_big", ("v",), concurrently=True),
        ]
    """)
    lines: list[str] = []
    runner = Migrator(backend, migrations_dir, out=lines.append)
    runner.migrate()
    assert "each recorded as it completes" in lines[0]
    assert [i.columns for i in backend.get_indexes("m_big")] == [("v",)]
    # A down() of such a migration runs outside a transaction too.
    write_migration(migrations_dir, "0002_by_hand", "0001_t", """
        operations = [ops.RunSQL("CREATE INDEX CONCURRENTLY ix_by_hand ON m_big (id, v)")]
        atomic = False

        def down(backend):
            backend.drop_index("m_big", "ix_by_hand", concurrently=True)
    """)
    assert runner.migrate() == ["0002_by_hand"]
    assert runner.rollback() == ["0002_by_hand"]
    assert runner.rollback() == ["0001_t"]  # DROP INDEX CONCURRENTLY, outside a transaction too
    assert not backend.table_exists("m_big") and history_ids(backend) == []


def test_cli_usage_errors_and_status(backend, migrations_dir):
    two_migrations(migrations_dir)
    cwd = migrations_dir.parent
    missing = cli("migrate", "--dir", str(migrations_dir), cwd=cwd)
    assert missing.returncode == 2 and "DATABASE_URL" in missing.stderr
    url = url_of(backend)
    out = cli("status", cwd=cwd, env={"DATABASE_URL": url})
    assert out.returncode == 0 and out.stdout.split() == ["pending", "0001_people", "pending", "0002_age"], out
    out = cli("migrate", cwd=cwd, env={"DATABASE_URL": url})
    assert out.returncode == 0 and "0002_age done in" in out.stdout, out
    made = cli("new", "add index", "--dir", str(migrations_dir), cwd=cwd)
    assert made.returncode == 0 and made.stdout.strip().endswith("0003_add_index.py")
    assert "previous = '0002_age'" in (migrations_dir / "0003_add_index.py").read_text()
    out = cli("rollback", "2", cwd=cwd, env={"DATABASE_URL": url})  # 0003 is pending: 0002 and 0001 go
    assert out.returncode == 0, out
    assert history_ids(backend) == []


def test_settings_from_pyproject(backend, tmp_path):
    two_migrations(tmp_path / "db" / "migs")
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.rhosocial.activerecord]\nurl = "{url_of(backend)}"\nmigrations = "db/migs"\n', encoding="utf-8")
    out = cli("migrate", cwd=tmp_path)
    assert out.returncode == 0 and "0002_age done in" in out.stdout, out
    assert cli("status", cwd=tmp_path).stdout.split() == ["applied", "0001_people", "applied", "0002_age"]


def scaled_table(backend) -> None:
    from rhosocial.activerecord.backend import ColumnDef, DatabaseType as T

    backend.create_table("m_money", [ColumnDef("id", T.INTEGER, primary_key=True), ColumnDef("cents", T.BIGINT)])
    backend.execute("INSERT INTO m_money (id, cents) VALUES (1, 5)")


SCALE = """
    def up(backend):
        import time
        backend.execute("UPDATE m_money SET cents = cents * 100")
        time.sleep(0.3)

    def down_(backend):
        import time
        backend.execute("UPDATE m_money SET cents = cents / 100")
        time.sleep(0.3)

    operations = [ops.RunPython(up, down_), ops.RunSQL("UPDATE m_money SET cents = cents + 1",
                                                        "UPDATE m_money SET cents = cents - 1")]
"""


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "in-steps"])
def test_racing_runs_never_apply_or_undo_twice(backend, backend_factory, migrations_dir, atomic):
    """Four runners at once, each on its own connections: the data is scaled once, and unscaled once."""
    from rhosocial.activerecord.testing.threads import run_threads

    scaled_table(backend)
    write_migration(migrations_dir, "0001_scale", None, SCALE + ("" if atomic else "    atomic = False\n"))
    runners = [Migrator(backend_factory(), migrations_dir, out=lambda line: None) for _ in range(4)]
    applied = run_threads(lambda i: runners[i].migrate(), 4, timeout=60)
    assert backend.execute("SELECT cents FROM m_money").rows[0][0] == 501
    assert history_ids(backend) == ["0001_scale"]
    undone = run_threads(lambda i: runners[i].rollback(), 4, timeout=60)
    assert backend.execute("SELECT cents FROM m_money").rows[0][0] == 5
    assert history_ids(backend) == []
    # One runner did it; in steps without a session lock (SQLite) runners may share the steps.
    for reported in (applied, undone):
        counts = sorted(len(r) for r in reported)
        assert counts == [0, 0, 0, 1] if atomic or backend.name != "sqlite" else sum(counts) >= 1


def test_a_partly_run_migration_resumes_even_when_made_atomic(backend, migrations_dir):
    scaled_table(backend)
    body = """
        operations = [
            ops.RunSQL("UPDATE m_money SET cents = cents * 100", "UPDATE m_money SET cents = cents / 100"),
            ops.RunSQL({second!r}, "SELECT 1"),
        ]
    """
    write_migration(migrations_dir, "0001_steps", None,
                    body.format(second="UPDATE m_no_such_table SET x = 1") + "    atomic = False\n")
    runner = Migrator(backend, migrations_dir, out=lambda line: None)
    with pytest.raises(MigrationError, match="Operations 1-1 ran and are recorded"):
        runner.migrate()
    assert [(s.state, s.operations_done) for s in runner.status()] == [("partial", 1)]
    write_migration(migrations_dir, "0001_steps", None, body.format(second="UPDATE m_money SET cents = cents + 1"))
    runner.migrate()
    assert backend.execute("SELECT cents FROM m_money").rows[0][0] == 501  # the first step ran once
    runner.rollback()
    assert backend.execute("SELECT cents FROM m_money").rows[0][0] == 5


def test_sqlite_runners_wait_their_turn_past_the_busy_timeout(sqlite_backend, tmp_path):
    """A step longer than the connection's busy timeout: the other runners begin again, nothing fails."""
    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend
    from rhosocial.activerecord.testing.threads import run_threads

    scaled_table(sqlite_backend)
    d = tmp_path / "migrations"
    write_migration(d, "0001_slow", None, """
        def slow(backend):
            import time
            backend.execute("UPDATE m_money SET cents = cents * 100")
            time.sleep(1.0)

        operations = [ops.RunPython(slow, slow)]
    """)
    runners = [Migrator(SQLiteBackend(database=sqlite_backend.config.database, timeout=0.2), d, out=lambda l: None)
               for _ in range(3)]
    try:
        applied = run_threads(lambda i: runners[i].migrate(), 3, timeout=60)
        assert sorted(len(a) for a in applied) == [0, 0, 1]
        assert sqlite_backend.execute("SELECT cents FROM m_money").rows[0][0] == 500
        impatient = Migrator(SQLiteBackend(database=sqlite_backend.config.database, timeout=0.1), d,
                             out=lambda l: None, lock_timeout=0.3)
        with sqlite_backend.transaction(mode="EXCLUSIVE"):
            from rhosocial.activerecord.backend.alter import MigrationLockTimeout

            with pytest.raises(MigrationLockTimeout):
                impatient.rollback()
        impatient.backend.disconnect()
    finally:
        for r in runners:
            r.backend.disconnect()


def test_a_history_going_back_under_a_run_stops_it(sqlite_backend, tmp_path):
    """SQLite has no session lock: a rollback can finish between two steps of a run. The run must stop."""
    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

    scaled_table(sqlite_backend)
    d = tmp_path / "migrations"
    write_migration(d, "0001_steps", None, """
        operations = [
            ops.RunSQL("UPDATE m_money SET cents = cents + 1", "UPDATE m_money SET cents = cents - 1"),
            ops.RunSQL("UPDATE m_money SET cents = cents + 10", "UPDATE m_money SET cents = cents - 10"),
        ]
        atomic = False
    """)
    other = Migrator(SQLiteBackend(database=sqlite_backend.config.database), d, out=lambda line: None)

    class BetweenSteps(Migrator):
        """Lets the other run roll back just before this run's second step begins."""

        steps = 0

        def _step(self, op=None, migration=None):
            self.steps += 1
            if self.steps == 2:
                assert other.rollback() == ["0001_steps"]
            return super()._step(op, migration)

    run = BetweenSteps(SQLiteBackend(database=sqlite_backend.config.database), d, out=lambda line: None)
    try:
        with pytest.raises(MigrationError, match="went back to 0 operation"):
            run.migrate()
        assert sqlite_backend.execute("SELECT cents FROM m_money").rows[0][0] == 5  # step 2 never ran alone
        assert history_ids(sqlite_backend) == []
    finally:
        run.backend.disconnect()
        other.backend.disconnect()


def test_rolling_back_a_migration_that_failed_at_its_first_step(backend, migrations_dir):
    write_migration(migrations_dir, "0001_bad", None, """
        operations = [ops.RunSQL("UPDATE m_no_such_table SET x = 1", "SELECT 1")]
        atomic = False
    """)
    runner = Migrator(backend, migrations_dir, out=lambda line: None)
    with pytest.raises(MigrationError, match="No operation ran"):
        runner.migrate()
    if backend.name == "sqlite":  # each step is a transaction there (it is the lock): the row went with it
        assert [s.state for s in runner.status()] == ["pending"] and runner.rollback() == []
    else:  # atomic = False: no transaction; the row was written before the step. Rolling back removes it
        assert [(s.state, s.operations_done) for s in runner.status()] == [("partial", 0)]
        assert runner.rollback() == ["0001_bad"]
    assert history_ids(backend) == []


def test_migrate_plans_again_under_the_lock(backend, backend_factory, migrations_dir):
    """Another run rolls back between this run's first look and its lock: both migrations apply, in order."""
    two_migrations(migrations_dir)
    Migrator(backend, migrations_dir, out=lambda line: None).migrate("1")
    other = Migrator(backend_factory(), migrations_dir, out=lambda line: None)

    class SlowToLock(Migrator):
        def lint(self, migrations=None):  # runs after the first plan, before the lock
            assert other.rollback() == ["0001_people"]
            return super().lint(migrations)

    run = SlowToLock(backend_factory(), migrations_dir, out=lambda line: None)
    assert run.migrate() == ["0001_people", "0002_age"]
    assert history_ids(backend) == ["0001_people", "0002_age"]
    assert backend.execute("SELECT id, name, age FROM m_people").rows == [(1, "ann", 30)]


def test_sqlite_rollback_stops_when_a_later_migration_arrived_meanwhile(sqlite_backend, tmp_path):
    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

    d = tmp_path / "migrations"
    two_migrations(d)
    path = sqlite_backend.config.database
    Migrator(SQLiteBackend(database=path), d, out=lambda line: None).migrate()
    write_migration(d, "0003_more", "0002_age", """
        operations = [ops.AddColumn("m_people", ColumnDef("city", DatabaseType.VARCHAR, length=20))]
    """)
    other = Migrator(SQLiteBackend(database=path), d, out=lambda line: None)

    class Slow(Migrator):
        def _undo_plan(self, state):  # after this run chose 0002_age, another run applies 0003
            assert other.migrate() == ["0003_more"]
            return super()._undo_plan(state)

    run = Slow(SQLiteBackend(database=path), d, out=lambda line: None)
    try:
        with pytest.raises(MigrationError, match="0003_more was applied after 0002_age meanwhile"):
            run.rollback()
        assert history_ids(sqlite_backend) == ["0001_people", "0002_age", "0003_more"]
        assert "age" in [c.name for c in sqlite_backend.get_columns("m_people")]
    finally:
        run.backend.disconnect()
        other.backend.disconnect()


def test_failures_in_down_and_at_commit_name_the_migration(backend, migrations_dir):
    write_migration(migrations_dir, "0001_t", None, """
        operations = [ops.CreateTable("m_t", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True)])]

        def down(backend):
            backend.execute("DROP TABLE m_no_such_table")
    """)
    runner = Migrator(backend, migrations_dir, out=lambda line: None)
    runner.migrate()
    with pytest.raises(MigrationError, match="Rolling back 0001_t failed in down"):
        runner.rollback()
    assert history_ids(backend) == ["0001_t"] and backend.table_exists("m_t")


def test_sqlite_a_foreign_key_broken_by_a_migration_fails_it_whole(sqlite_backend, tmp_path):
    from rhosocial.activerecord.backend import ColumnDef, DatabaseType as T

    b = sqlite_backend
    b.create_table("m_p", [ColumnDef("id", T.INTEGER, primary_key=True)])
    b.create_table("m_c", [ColumnDef("id", T.INTEGER, primary_key=True),
                           ColumnDef("p_id", T.INTEGER, references=("m_p", "id"))])
    b.execute("INSERT INTO m_p (id) VALUES (1)")
    b.execute("INSERT INTO m_c (id, p_id) VALUES (1, 1)")
    d = tmp_path / "migrations"
    write_migration(d, "0001_orphan", None, """
        operations = [ops.RunSQL("DELETE FROM m_p")]   # foreign keys are off during a migration
    """)
    with pytest.raises(MigrationError, match="0001_orphan failed as it committed.*foreign keys point nowhere"):
        Migrator(b, d, out=lambda line: None).migrate()
    assert b.execute("SELECT COUNT(*) FROM m_p").rows[0][0] == 1 and history_ids(b) == []


def test_a_connection_lost_halfway_leaves_a_true_history(backend, migrations_dir, tmp_path):
    """The server ends the migration's session mid-way: nothing claims to have run that did not."""
    if backend.name == "sqlite":
        pytest.skip("an in-process SQLite connection cannot be lost")
    flag = tmp_path / "killed-once"
    kill = {"postgres": "SELECT pg_terminate_backend(pg_backend_pid())", "mysql": "KILL CONNECTION_ID()"}[backend.name]
    write_migration(migrations_dir, "0001_lost", None, f"""
        import pathlib

        def lose_the_connection_once(backend):
            flag = pathlib.Path({str(flag)!r})
            if not flag.exists():
                flag.write_text("x")
                backend.execute({kill!r})

        operations = [
            ops.CreateTable("m_lost", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True)]),
            ops.RunPython(lose_the_connection_once, lose_the_connection_once),
            ops.AddColumn("m_lost", ColumnDef("extra", DatabaseType.INTEGER)),
        ]
    """)
    runner = Migrator(backend, migrations_dir, out=lambda line: None, lock_timeout=30)
    with pytest.raises(MigrationError, match="operation 2 of 3") as lost:
        runner.migrate()
    assert isinstance(lost.value.__cause__, DatabaseError)  # the driver's error, translated, kept as the cause
    fresh = Migrator(type(backend)(backend.config), migrations_dir, out=lambda line: None, lock_timeout=30)
    try:
        if backend.capabilities.supports_transactional_ddl:  # rolled back with the session
            assert not backend.table_exists("m_lost") and history_ids(backend) == []
        else:  # the CREATE committed; the history says exactly that
            assert backend.table_exists("m_lost")
            assert [(s.state, s.operations_done) for s in fresh.status()] == [("partial", 1)]
        assert fresh.migrate() == ["0001_lost"]  # the lock died with the session; the rest runs once
        assert [c.name for c in backend.get_columns("m_lost")] == ["id", "extra"]
        assert [s.state for s in fresh.status()] == ["applied"]
    finally:
        fresh.backend.disconnect()
