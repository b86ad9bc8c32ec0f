"""The kit's performance step: ``run_benchmarks`` on every backend, and ``bench`` as a user runs it.

Tiny sizes: these tests check that every workload runs and is checked, never how fast it is
(speed is measured by running the command, see docs/backends/custom.md).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from rhosocial.activerecord.testing.bench import (
    WORKLOADS, BenchmarkFailed, Measurement, _measure, _Workloads, format_table, run_benchmarks,
)

NAMES = [w[0] for w in WORKLOADS]


def bench(*args: str, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, "-m", "rhosocial.activerecord", "bench", *args], check=False,
                          capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def test_run_benchmarks_measures_every_workload(backend):
    results = run_benchmarks(backend, rows=12, repeat=1)
    assert [m.workload for m in results] == NAMES
    for m in results:
        assert isinstance(m, Measurement)
        if m.skipped:
            assert m.skipped.endswith("is false") and m.orm_seconds is None
            continue
        assert m.orm_seconds > 0 and m.raw_seconds > 0 and m.statements > 0
        assert m.overhead == m.orm_seconds / m.raw_seconds
        assert set(m.as_dict()) >= {"workload", "statements", "orm_seconds", "raw_seconds", "overhead",
                                    "per_statement_us", "skipped"}
    ran = {m.workload: m for m in results if not m.skipped}
    assert ran["find_by_key"].statements == 12 and ran["load_all"].statements == 1
    assert "upsert" in ran or not backend.capabilities.supports_upsert
    assert not any(backend.table_exists(t) for t in ("kit_bench_people", "kit_bench_posts", "kit_bench_members"))
    table = format_table(results)
    assert all(name in table for name in NAMES)


def test_a_wrong_result_fails_the_benchmark(backend):
    """A workload whose model side answers wrongly is a failure, not a fast time."""
    from rhosocial.activerecord.testing import bench as kit

    class Broken(_Workloads):
        def find_by_key(self):
            setup, orm, raw, check = super().find_by_key()
            return setup, (lambda: orm()[1:]), raw, check  # one record lost

    for model in (kit.BenchPerson, kit.BenchPost):
        model.configure(backend)
        model.create_table()
    try:
        with pytest.raises(BenchmarkFailed, match="find_by_key"):
            _measure(backend, Broken(backend, 5), "find_by_key", "", (), 1)
    finally:
        for model in (kit.BenchPost, kit.BenchPerson):
            model.drop_table(if_exists=True)
            type.__setattr__(model, "__backend__", None)


def test_bad_arguments_are_refused(backend):
    with pytest.raises(ValueError, match="rows"):
        run_benchmarks(backend, rows=0)
    with pytest.raises(ValueError, match="Unknown workloads"):
        run_benchmarks(backend, rows=2, workloads=["nope"])


def test_bench_command_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = bench("sqlite", f"database={tmp_path / 'bench.db'}", "--rows", "10", "--repeat", "1",
                   "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("sqlite ") and "10 rows, median of 1" in lines[0]
    assert lines[1].split() == ["workload", "statements", "rhosocial", "s", "raw", "s", "overhead", "us/statement"]
    assert [line.split()[0] for line in lines[3:]] == NAMES
    data = json.loads(out.read_text())
    assert data["backend"] == "sqlite" and data["rows"] == 10
    assert [m["workload"] for m in data["measurements"]] == NAMES


@pytest.mark.skipif(importlib.util.find_spec("rhosocial.activerecord_duckdb") is None,
                    reason="the DuckDB example is not installed (pip install -e examples/duckdb-backend)")
def test_bench_runs_on_the_duckdb_example(tmp_path):
    result = bench("duckdb", f"database={tmp_path / 'bench.duckdb'}", "--rows", "10", "--repeat", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[3:]}
    assert set(rows) == set(NAMES)
    assert "skipped" not in rows["find_by_key"]
    skipped = [name for name, line in rows.items() if "skipped" in line]
    assert all("is false" in rows[name] for name in skipped)  # each says which capability rules it out
