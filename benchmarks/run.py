#!/usr/bin/env python3
"""Benchmark rhosocial.activerecord against the raw drivers, peewee and SQLAlchemy.

    python3 benchmarks/run.py                          every database, 10,000 rows, 3 runs
    python3 benchmarks/run.py --db sqlite --rows 2000 --repeat 5
    python3 benchmarks/run.py --quick                  SQLite micro-benchmark: rhosocial vs sqlite3

The first run creates ``.venv`` (as ``dev.py`` does) with the ``bench``,
``postgres`` and ``mysql`` extras and re-runs itself inside it. A server that
does not answer is skipped with a message. See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import common

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

LIBRARIES = {  # key -> module
    "raw": "lib_raw",
    "rhosocial": "lib_rhosocial",
    "peewee": "lib_peewee",
    "sqla_orm": "lib_sqla_orm",
    "sqla_core": "lib_sqla_core",
}
NEEDS = {"peewee": "peewee", "sqla_orm": "sqlalchemy", "sqla_core": "sqlalchemy"}
DRIVERS = {"sqlite": "sqlite3", "postgres": "psycopg", "mysql": "pymysql"}


def bootstrap(libs: list[str], dbs: list[str]) -> None:
    """Re-run inside the project's .venv with the bench extras when something is missing."""
    common.rerun_in_venv([NEEDS[k] for k in libs if k in NEEDS] + [DRIVERS[d] for d in dbs]
                         + ["rhosocial.activerecord"], __file__)


# -- workloads -----------------------------------------------------------------------


class Workload:
    def __init__(self, key: str, title: str, seeded: bool | str, run: Callable[[Any, Any], Any],
                 check: Callable[[Any, Any, Any, Any], Any]) -> None:
        self.key, self.title, self.seeded, self.run, self.check = key, title, seeded, run, check


def _count(admin: Any) -> int:
    from common import TABLE

    return int(admin.scalar(f"SELECT COUNT(*) FROM {TABLE}"))


def _expect(name: str, got: Any, want: Any) -> Any:
    if got != want:
        raise AssertionError(f"{name}: got {got!r}, expected {want!r}")
    return got


def _loaded(result: Any, inputs: Any, admin: Any, n: Any) -> Any:
    _expect("W3 rows", len(result), len(inputs.rows))
    first = min(result, key=lambda u: u.id)
    _expect("W3 types", (type(first.created_at).__name__, type(first.active).__name__), ("datetime", "bool"))
    return len(result)


def _score_sum(admin: Any) -> float:
    from common import TABLE

    return round(float(admin.scalar(f"SELECT SUM(score) FROM {TABLE}")), 3)


WORKLOADS = [
    Workload("W1", "W1 save() 10k rows one by one, one transaction", False,
             lambda lib, i: lib.w1_create(i.rows),
             lambda r, i, admin, n: _expect("W1 count", _count(admin), len(i.rows))),
    Workload("W2", "W2 bulk insert 10k rows", False,
             lambda lib, i: lib.w2_bulk(i.rows),
             lambda r, i, admin, n: _expect("W2 count", _count(admin), len(i.rows))),
    Workload("W3", "W3 load 10k rows as objects", True,
             lambda lib, i: lib.w3_load(), _loaded),
    Workload("W4", "W4 2k lookups by primary key", True,
             lambda lib, i: lib.w4_get(i.lookup_ids),
             lambda r, i, admin, n: _expect("W4 ids", [u.id for u in r], i.lookup_ids) and len(r)),
    Workload("W5", "W5 200 filtered queries (BETWEEN, ORDER BY, LIMIT 50)", True,
             lambda lib, i: lib.w5_filter(i.ranges),
             lambda r, i, admin, n: r),
    Workload("W6", "W6 2k load-change-save, one transaction", True,
             lambda lib, i: lib.w6_update(i.update_ids),
             lambda r, i, admin, n: _score_sum(admin)),
    Workload("W7", "W7 2k load-and-delete, one transaction", True,
             lambda lib, i: lib.w7_delete(i.delete_ids),
             lambda r, i, admin, n: _expect("W7 count", _count(admin), len(i.rows) - len(i.delete_ids))),
]

def _eager(result: Any, inputs: Any, admin: Any, n: Any) -> Any:
    from common import POSTS_PER_USER

    counts = [len(r[1]) if isinstance(r, tuple) else len(list(r.posts)) for r in result]
    _expect("W8 posts per user", set(counts), {POSTS_PER_USER})
    return len(counts), sum(counts)


W8 = Workload("W8", "W8 eager load 1k users with 10 posts each", "eager",
              lambda lib, i: lib.w8_eager(), _eager)


def relations_available() -> bool:
    try:
        return importlib.util.find_spec("rhosocial.activerecord.relation") is not None
    except ModuleNotFoundError:
        return False


# -- measuring -----------------------------------------------------------------------


def import_time(modules: str, repeat: int = 5) -> float:
    """Median seconds to import ``modules`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT / "src")]))
    times = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=HERE)
        if out.returncode != 0:
            raise RuntimeError(f"import {modules} failed: {out.stderr.strip()}")
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


class Bench:
    """Runs every workload for every library on one database."""

    def __init__(self, kind: str, libs: list[str], workloads: list[Workload], rows: int, repeat: int,
                 workdir: Path) -> None:
        import common

        self.kind, self.rows, self.repeat, self.workloads = kind, rows, repeat, workloads
        self.inputs = common.make_inputs(rows)
        self.warm_inputs = common.make_inputs(min(rows, 300), seed=7)
        base = common.Database("sqlite") if kind == "sqlite" else common.server_databases()[kind]
        self.libs = []
        self.admins = {}
        for key in libs:
            db = replace(base, path=str(workdir / f"bench_{key}.db")) if kind == "sqlite" else base
            if kind == "sqlite" and os.path.exists(db.path):
                os.remove(db.path)
            lib = importlib.import_module(LIBRARIES[key]).Library(db)
            self.libs.append(lib)
            self.admins[key] = common.Admin(db) if kind == "sqlite" or not self.admins else \
                next(iter(self.admins.values()))
        self.times: dict[tuple[str, str], list[float]] = {}

    def run_one(self, lib: Any, workload: Workload, inputs: Any) -> tuple[float, Any]:
        import common

        admin = self.admins[lib.key]
        if workload.seeded == "eager":
            admin.reset(inputs.rows[:common.EAGER_USERS], common.POSTS_PER_USER)
        else:
            admin.reset(inputs.rows if workload.seeded else None)
        gc.collect()
        start = time.perf_counter()
        result = workload.run(lib, inputs)
        elapsed = time.perf_counter() - start
        return elapsed, workload.check(result, inputs, admin, lib)

    def run(self, progress: bool = True) -> None:
        for lib in self.libs:
            lib.open()
        try:
            # an untimed round on a small table: every library warms its caches
            for workload in self.workloads:
                for lib in self.libs:
                    self.run_one(lib, workload, self.warm_inputs)
            for rep in range(self.repeat):
                for workload in self.workloads:
                    order = self.libs[rep % len(self.libs):] + self.libs[:rep % len(self.libs)]
                    outcomes = {}
                    for lib in order:
                        elapsed, outcome = self.run_one(lib, workload, self.inputs)
                        self.times.setdefault((workload.key, lib.key), []).append(elapsed)
                        outcomes[lib.key] = outcome
                    if len(set(map(repr, outcomes.values()))) > 1:
                        raise AssertionError(f"{self.kind} {workload.key}: libraries disagree: {outcomes}")
                    if progress:
                        print(f"  [{self.kind}] run {rep + 1}/{self.repeat} {workload.key}: " + ", ".join(
                            f"{k}={self.times[(workload.key, k)][-1]:.3f}s" for k in outcomes), file=sys.stderr,
                            flush=True)
        finally:
            for lib in self.libs:
                lib.close()

    def memory(self) -> dict[str, int]:
        """Peak traced bytes while each library runs W3 (untimed, tracemalloc)."""
        load = next(w for w in WORKLOADS if w.key == "W3")
        peaks = {}
        for lib in self.libs:
            lib.open()
            try:
                self.admins[lib.key].reset(self.inputs.rows)
                gc.collect()
                tracemalloc.start()
                result = load.run(lib, self.inputs)
                peaks[lib.key] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                del result
            finally:
                lib.close()
        return peaks

    def close(self) -> None:
        for admin in {id(a): a for a in self.admins.values()}.values():
            admin.close()

    def median(self, workload: str, lib: str) -> float:
        return statistics.median(self.times[(workload, lib)])


# -- reporting -----------------------------------------------------------------------


DISTRIBUTIONS = ("rhosocial-activerecord", "pydantic", "pydantic-core", "peewee", "SQLAlchemy", "psycopg",
                 "psycopg-binary", "PyMySQL")


def table(bench: Bench, names: dict[str, str], w8: str | None) -> str:
    keys = [lib.key for lib in bench.libs]
    lines = ["| workload | " + " | ".join(names[k] for k in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    for workload in bench.workloads:
        base = bench.median(workload.key, "raw") if "raw" in keys else None
        cells = []
        for k in keys:
            t = bench.median(workload.key, k)
            cells.append(f"{t:.3f}" + (f" ({t / base:.2f}x)" if base else ""))
        lines.append(f"| {workload.title} | " + " | ".join(cells) + " |")
    if w8:
        lines.append(f"| {W8.title} | " + " | ".join("pending" for _ in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres,mysql", help="databases, comma separated")
    parser.add_argument("--rows", type=int, default=10_000, help="rows for W1-W3 and the table size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per cell (median reported)")
    parser.add_argument("--libs", default=",".join(LIBRARIES), help="libraries, comma separated")
    parser.add_argument("--workloads", default="W1,W2,W3,W4,W5,W6,W7,W8", help="workloads, comma separated")
    parser.add_argument("--quick", action="store_true",
                        help="SQLite only, rhosocial vs sqlite3: W1 save(), W3 load, W4 lookups")
    parser.add_argument("--no-extras", action="store_true", help="skip import time and peak memory")
    parser.add_argument("--json", help="also write the raw timings to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.db, args.libs, args.workloads, args.no_extras = "sqlite", "raw,rhosocial", "W1,W3,W4", True
    dbs, libs = common.selection(parser, args, LIBRARIES, DRIVERS)
    bootstrap(libs, dbs)
    common.use_sources()

    wanted = {w.strip().upper() for w in args.workloads.split(",")}
    if wanted & {"UPSERT", "BULK_UPDATE"}:
        parser.error("upsert and bulk_update run with peers of their own (Django too): "
                     "python3 benchmarks/bulk_writes.py --workloads upsert,bulk_update")
    workloads = [w for w in WORKLOADS if w.key in wanted]
    w8 = None
    if "W8" in wanted:
        if relations_available():
            workloads.append(W8)
        else:
            w8 = "pending"
    names = {k: importlib.import_module(LIBRARIES[k]).Library.name for k in libs}

    versions = common.versions(DISTRIBUTIONS)
    common.print_header("benchmarks", "run.py", argv, versions)
    print(f"rows: {args.rows}, lookups: {min(common.LOOKUPS, args.rows)}, filtered queries: {common.FILTERS}, "
          f"median of {args.repeat} interleaved runs, seconds (ratio to the raw driver)\n")
    dump: dict[str, Any] = {"versions": versions, "machine": common.machine(), "rows": args.rows, "results": {}}
    extras: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="rhosocial-bench-") as tmp:
        for kind in dbs:
            if kind != "sqlite":
                why = common.reachable(common.server_databases()[kind])
                if why:
                    print(f"## {kind}\n\nskipped: server unreachable ({why})\n", flush=True)
                    continue
            bench = Bench(kind, libs, workloads, args.rows, args.repeat, Path(tmp))
            try:
                bench.run()
                print(f"## {kind}\n\n{table(bench, names, w8)}\n", flush=True)
                dump["results"][kind] = {f"{w}/{k}": v for (w, k), v in bench.times.items()}
                if not args.no_extras:
                    peaks = bench.memory()
                    for lib in bench.libs:
                        row = extras.setdefault(lib.key, {})
                        row[f"import {kind}"] = import_time(f"{lib.imports}, {DRIVERS[kind]}")
                        row[f"W3 peak {kind}"] = peaks[lib.key]
            finally:
                bench.close()
    if w8:
        print("W8 is pending: rhosocial.activerecord.relation (includes()) has not landed yet.\n")
    if extras:
        cols = sorted({c for row in extras.values() for c in row}, key=lambda c: (not c.startswith("import"), c))
        print("## import time and peak memory\n")
        print("import: median of 5 fresh interpreters importing the library and the driver; "
              "peak: tracemalloc peak while loading the table as objects (W3, untimed run)\n")
        print("| library | " + " | ".join(cols) + " |")
        print("|---|" + "---:|" * len(cols))
        for key, row in extras.items():
            cells = [(f"{row[c] * 1000:.0f} ms" if c.startswith("import") else f"{row[c] / 2**20:.1f} MiB")
                     if c in row else "" for c in cols]
            print(f"| {names[key]} | " + " | ".join(cells) + " |")
        dump["extras"] = extras
    if args.json:
        Path(args.json).write_text(json.dumps(dump, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
