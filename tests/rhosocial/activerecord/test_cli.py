"""``python -m rhosocial.activerecord``: the backend listing and the conformance check, as a user runs them."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, "-m", "rhosocial.activerecord", *args],
                          check=False, capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={**os.environ, **(env or {})})


def test_backends_lists_builtins_with_driver_and_capabilities():
    result = cli("backends")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header == ["backend", "class", "driver", "installed", "source"]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.strip()}
    assert rows["sqlite"][2:] == ["sqlite3", "yes", "built-in"]
    assert rows["postgres"][2] == "psycopg" and rows["mysql"][2] == "pymysql"
    caps = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("supports_")}
    assert "supports_savepoints" in caps and "supports_returning" in caps
    capability_header = next(line.split() for line in lines if line.startswith("capability"))
    sqlite_column = capability_header.index("sqlite") - 1
    postgres_column = capability_header.index("postgres") - 1
    assert caps["supports_savepoints"][sqlite_column] == "yes"  # connected in memory
    assert caps["supports_savepoints"][postgres_column] == "?"  # a server: decided at connect
    assert "decided at connect" in result.stdout


def test_check_runs_the_kit_and_summarises(tmp_path):
    result = cli("check", "sqlite", f"database={tmp_path / 'check.db'}", "--", "-k",
                 "TestConnection or TestDialectOnBackend")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = [line for line in result.stdout.splitlines() if line.startswith("sqlite: ")]
    assert summary and " 0 failed" in summary[0]
    assert int(summary[0].split()[1]) > 10
    assert "skipped   1: sqlite: supports_for_update is false" in result.stdout


def test_check_an_unknown_backend_lists_the_known_ones():
    result = cli("check", "oracle-ish")
    assert result.returncode != 0
    assert "sqlite" in result.stderr and "oracle-ish" in result.stderr


LIAR = '''
from rhosocial.activerecord.backend import Capabilities
from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend


class LiarBackend(SQLiteBackend):
    """Claims to reject NUL in text, which SQLite stores."""

    name = "liar"

    def _detect_capabilities(self, connection):
        caps = super()._detect_capabilities(connection)
        return Capabilities(**{**caps.as_dict(), "supports_nul_in_text": False})
'''


def test_check_fails_a_backend_whose_flags_lie(tmp_path):
    (tmp_path / "liar_backend.py").write_text(textwrap.dedent(LIAR))
    result = cli("check", "liar_backend:LiarBackend", f"database={tmp_path / 'liar.db'}", "--",
                 "-k", "nul_in_text", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "liar: " in result.stdout and "1 failed" in result.stdout
    assert "FAILED: TestTypeRoundTrips::test_nul_in_text[liar]" in result.stdout


@pytest.mark.parametrize("args", [["nonsense"], []])
def test_bad_usage_exits_with_2(args):
    assert cli(*args).returncode == 2


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


needs_duckdb = pytest.mark.skipif(
    not _installed("rhosocial.activerecord_duckdb") or not _installed("coverage"),
    reason="needs the DuckDB example and coverage.py: pip install pytest-cov -e examples/duckdb-backend "
           "(python3 dev.py test installs both)")
FIGURES = re.compile(r"^duckdb: coverage of rhosocial\.activerecord_duckdb: ([\d.]+)% of lines, ([\d.]+)% of branches "
                     r"\((\d+) statements, (\d+) missing; (\d+) branches, (\d+) missing\)$", re.MULTILINE)


@needs_duckdb
def test_check_coverage_reports_lines_and_branches_of_the_backend_package(tmp_path):
    """The kit's run reaches 90% of the DuckDB example's lines.

    TestModelsUnderThreads is left out: its two tests take half the run (DuckDB's write
    conflicts, retried) and cover nothing else of the package. Coverage only grows with
    more tests, so this subset's figure is a lower bound of the whole kit's.
    """
    result = cli("check", "duckdb", "--coverage", "--", "-k", "not TestModelsUnderThreads", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = FIGURES.search(result.stdout)
    assert found, result.stdout[-3000:]
    lines, branches, statements, missing, arcs, missed = found.groups()
    assert float(lines) >= 90, result.stdout[-3000:]
    assert 0 < float(branches) <= 100 and int(arcs) > int(missed)
    assert int(statements) > 150 and int(missing) < int(statements) // 10
    assert "activerecord_duckdb/backend.py" in result.stdout  # the report names the files and their missing lines


@needs_duckdb
def test_coverage_fail_under_fails_a_run_below_it(tmp_path):
    result = cli("check", "duckdb", "--coverage-fail-under", "99.5", "--", "-k", "TestConnection", cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"^duckdb: \d+ passed, 0 failed", result.stdout, re.MULTILINE)  # the 1 is coverage's
    assert "is under --coverage-fail-under 99.5" in result.stdout and FIGURES.search(result.stdout)
