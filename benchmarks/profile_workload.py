#!/usr/bin/env python3
"""Profile one library's workload with cProfile and print the top functions.

    .venv/bin/python benchmarks/profile_workload.py W1 [--db sqlite] [--lib rhosocial] [--rows 10000] [--top 25]
    .venv/bin/python benchmarks/profile_workload.py bulk_update [--db postgres]    (bulk_writes.py's workloads)

Only the workload's timed part is profiled.
"""
from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import bulk_writes  # noqa: E402
import common  # noqa: E402
from run import LIBRARIES, W8, WORKLOADS  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--lib", default="rhosocial")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime")
    args = parser.parse_args(argv)
    bulk = {w.key: w for w in bulk_writes.WORKLOADS}
    if args.workload in bulk:
        return profile_bulk(bulk[args.workload], args)
    workload = next(w for w in WORKLOADS + [W8] if w.key == args.workload.upper())
    inputs = common.make_inputs(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        db = _database(args.db, tmp)
        admin = common.Admin(db)
        lib = importlib.import_module(LIBRARIES[args.lib]).Library(db)
        lib.open()
        try:
            def reset() -> None:
                if workload.seeded == "eager":
                    admin.reset(inputs.rows[:common.EAGER_USERS], common.POSTS_PER_USER)
                else:
                    admin.reset(inputs.rows if workload.seeded else None)

            reset()
            workload.run(lib, common.make_inputs(min(args.rows, 300), seed=7))  # warm caches
            reset()
            profiler = cProfile.Profile()
            profiler.enable()
            workload.run(lib, inputs)
            profiler.disable()
        finally:
            lib.close()
            admin.close()
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    return 0


def _database(name: str, tmp: str) -> Any:
    """The database to profile on: a SQLite file in ``tmp``, or the configured server."""
    if name == "sqlite":
        return replace(common.Database("sqlite"), path=f"{tmp}/profile.db")
    return common.server_databases()[name]


def profile_bulk(workload: bulk_writes.Workload, args: argparse.Namespace) -> int:
    """Profile the bulk call of one of bulk_writes.py's workloads (seeding and loading untimed)."""
    inputs = bulk_writes.make_inputs(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        db = _database(args.db, tmp)
        admin = common.Admin(db)
        lib = importlib.import_module(bulk_writes.LIBRARIES[args.lib]).Library(db)
        lib.open()
        try:
            warm = bulk_writes.make_inputs(min(args.rows, bulk_writes.WARM_ROWS))
            admin.reset(workload.seed(warm), unique_email=True)
            workload.run(lib, workload.prepare(lib, warm))  # warm caches
            admin.reset(workload.seed(inputs), unique_email=True)
            given = workload.prepare(lib, inputs)
            profiler = cProfile.Profile()
            profiler.enable()
            workload.run(lib, given)
            profiler.disable()
            workload.check(admin, inputs)
        finally:
            lib.close()
            admin.close()
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
