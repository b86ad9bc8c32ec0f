"""Time the kit's standard workloads on DuckDB: models against the backend's raw execute.

    python benchmarks/bench.py [--rows N] [--repeat K] [--database PATH]

The same as ``python -m rhosocial.activerecord bench duckdb``, written as a
backend package's own script would be: the kit's workloads imported and
run on a backend made here.
"""
from __future__ import annotations

import argparse
import os
import tempfile

from rhosocial.activerecord.testing.bench import format_table, run_benchmarks
from rhosocial.activerecord_duckdb import DuckDBBackend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", help="a DuckDB file (default: a scratch file, removed after)")
    args = parser.parse_args()
    scratch = None
    if args.database is None:
        scratch = tempfile.mkdtemp(prefix="duckdb-bench-")
        args.database = os.path.join(scratch, "bench.duckdb")
    backend = DuckDBBackend(database=args.database)
    backend.connect()
    try:
        results = run_benchmarks(backend, rows=args.rows, repeat=args.repeat)
        version = ".".join(map(str, backend.capabilities.server_version))
    finally:
        backend.disconnect()
        if scratch is not None:
            for name in os.listdir(scratch):
                os.remove(os.path.join(scratch, name))
            os.rmdir(scratch)
    print(format_table(results, f"duckdb {version}: {args.rows} rows, median of {args.repeat} rounds"))


if __name__ == "__main__":
    main()
