"""The example's benchmark script runs the kit's workloads and prints every one."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rhosocial.activerecord.testing.bench import WORKLOADS

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"


def test_bench_script_prints_every_workload():
    result = subprocess.run([sys.executable, str(SCRIPT), "--rows", "8", "--repeat", "1"], check=False,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("duckdb ") and "8 rows" in lines[0]
    assert [line.split()[0] for line in lines[3:]] == [name for name, _, _ in WORKLOADS]
