#!/usr/bin/env python3
"""Benchmark bulk writes (upsert, bulk_update) against the raw drivers, peewee, SQLAlchemy and Django.

    python3 benchmarks/bulk_writes.py                          every database, 10,000 rows, median of 3
    python3 benchmarks/bulk_writes.py --db sqlite --rows 2000 --repeat 5
    python3 benchmarks/bulk_writes.py --workloads upsert --libs rhosocial,django

upsert: ``--rows`` rows go in with one call; half of them are in the table
already (found by ``email``, a unique index) and get a new name and age, the
other half are new. bulk_update: each of ``--rows`` loaded records has got
its own new age and score, written with one call. Only that call is timed:
seeding the table, and for bulk_update loading and changing the records,
happen before the clock starts. Every run ends with a check of every row,
and the libraries must agree. Each database runs in its own process (Django
reads its settings once per process). The first run creates ``.venv`` like
run.py. See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import zip_longest
from pathlib import Path
from typing import Any

import common

LIBRARIES = {  # key -> module
    "raw": "lib_raw",
    "rhosocial": "lib_rhosocial",
    "peewee": "lib_peewee",
    "sqla_core": "lib_sqla_core",
    "sqla_orm": "lib_sqla_orm",
    "django": "lib_django",
}
NEEDS = {"peewee": "peewee", "sqla_core": "sqlalchemy", "sqla_orm": "sqlalchemy", "django": "django"}
DRIVERS = {"sqlite": "sqlite3", "postgres": "psycopg", "mysql": "pymysql"}
DISTRIBUTIONS = ("rhosocial-activerecord", "pydantic", "pydantic-core", "peewee", "SQLAlchemy", "Django",
                 "psycopg", "psycopg-binary", "PyMySQL", "mysqlclient")
RAW_TARGET = 1.5  # rhosocial within 1.5x of the raw driver's time, and faster than every ORM peer
ORM_PEERS = ("peewee", "sqla_orm", "django")  # SQLAlchemy Core builds statements, not records
WARM_ROWS = 300


def bootstrap(libs: list[str], dbs: list[str]) -> None:
    """Re-run inside the project's .venv with the bench extras when something is missing."""
    common.rerun_in_venv([NEEDS[k] for k in libs if k in NEEDS] + [DRIVERS[d] for d in dbs]
                         + ["rhosocial.activerecord"], __file__,
                         " (the bench extra needs Django besides peewee and SQLAlchemy)")


# -- the inputs and the expected table ------------------------------------------------


@dataclass
class Inputs:
    """The inputs of one run, identical for every library."""

    stored: list[dict[str, Any]]  # upsert: the rows in the table before (ids 1..n/2)
    upserts: list[dict[str, Any]]  # upsert: a changed stored row, a new row, a changed one, ...
    rows: list[dict[str, Any]]  # bulk_update: the rows in the table before (ids 1..n)
    new_values: dict[int, tuple[int, float]]  # bulk_update: id -> (age, score)


def make_inputs(count: int) -> Inputs:
    half = count // 2
    stored = common.make_rows(half)
    changed = [dict(r, name=f"{r['name']} renamed", age=r["age"] + 100) for r in stored]
    new = common.make_rows(count - half, start=half)
    upserts = [row for pair in zip_longest(changed, new) for row in pair if row is not None]
    return Inputs(stored, upserts, common.make_rows(count),
                  {pk: (1000 + pk, pk * 0.5 + 0.25) for pk in range(1, count + 1)})


def _fail(name: str, problems: list[str], total: int) -> None:
    if problems:
        more = f" ({total} rows wrong in all)" if total > len(problems) else ""
        raise AssertionError(f"{name}: " + "; ".join(problems) + more)


def check_upsert(admin: common.Admin, inputs: Inputs) -> tuple[int, int]:
    """Every row as the upsert leaves it, stored rows under their old id; return (rows, SUM(age))."""
    want = {r["email"]: (r["name"], r["age"], r["score"]) for r in inputs.upserts}
    stored_id = {r["email"]: pk for pk, r in enumerate(inputs.stored, 1)}
    got = admin.fetchall(f"SELECT id, email, name, age, score FROM {common.TABLE}")
    wrong = []
    for pk, email, *values in got:
        expected_id = stored_id.get(email)
        id_ok = pk == expected_id if expected_id is not None else pk > len(stored_id)
        if want.get(email) != tuple(values) or not id_ok:
            wrong.append(f"row {pk} {email}: {tuple(values)}, expected {want.get(email)}"
                         + (f" with id {expected_id}" if expected_id else " with a new id"))
    if len(got) != len(want):
        wrong.insert(0, f"{len(got)} rows, expected {len(want)}")
    _fail("upsert", wrong[:3], len(wrong))
    return len(got), sum(r[3] for r in got)


def check_bulk_update(admin: common.Admin, inputs: Inputs) -> tuple[int, int, float]:
    """Every row with its new age and score, the rest untouched; return (rows, SUM(age), SUM(score))."""
    got = admin.fetchall(f"SELECT id, name, age, score FROM {common.TABLE}")
    wrong = [f"row {pk}: {(name, age, score)}" for pk, name, age, score in got
             if (name, age, score) != (inputs.rows[pk - 1]["name"],) + inputs.new_values[pk]]
    if len(got) != len(inputs.rows):
        wrong.insert(0, f"{len(got)} rows, expected {len(inputs.rows)}")
    _fail("bulk_update", wrong[:3], len(wrong))
    return len(got), sum(r[2] for r in got), sum(r[3] for r in got)


# -- workloads -------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    key: str
    libs: tuple[str, ...]  # who takes part: the ORM's own API for it, or the raw driver
    title: Callable[[int], str]
    seed: Callable[[Inputs], list[dict[str, Any]]]
    prepare: Callable[[Any, Inputs], Any]  # untimed, returns what ``run`` takes
    run: Callable[[Any, Any], Any]
    check: Callable[[common.Admin, Inputs], Any]


WORKLOADS = [
    Workload("upsert", ("raw", "rhosocial", "peewee", "sqla_core", "django"),
             lambda n: f"upsert {n:,} rows by unique email, {n // 2:,} stored (new name, age), {n - n // 2:,} new",
             lambda i: i.stored, lambda lib, i: i.upserts, lambda lib, rows: lib.upsert(rows), check_upsert),
    Workload("bulk_update", ("raw", "rhosocial", "peewee", "sqla_orm", "django"),
             lambda n: f"bulk_update {n:,} loaded records, own new age and score each",
             lambda i: i.rows, lambda lib, i: lib.prepare_bulk_update(i.new_values),
             lambda lib, records: lib.bulk_update(records), check_bulk_update),
]


# -- one database ----------------------------------------------------------------------


class Bench:
    """Runs the workloads for every library taking part, on one database."""

    def __init__(self, kind: str, libs: list[str], workloads: list[Workload], rows: int, repeat: int,
                 workdir: Path) -> None:
        self.kind, self.rows, self.repeat, self.workloads = kind, rows, repeat, workloads
        self.inputs = make_inputs(rows)
        self.warm_inputs = make_inputs(min(rows, WARM_ROWS))
        base = common.Database("sqlite") if kind == "sqlite" else common.server_databases()[kind]
        self.libs: dict[str, Any] = {}
        self.admins: dict[str, common.Admin] = {}
        for key in libs:
            if not any(key in w.libs for w in workloads):
                continue
            db = replace(base, path=str(workdir / f"bulk_{key}.db")) if kind == "sqlite" else base
            self.libs[key] = importlib.import_module(LIBRARIES[key]).Library(db)
            if kind == "sqlite":
                self.admins[key] = common.Admin(db)
                # rhosocial opens SQLite files in WAL mode; the mode stays with the file, so every
                # library's file gets it (the others would commit through a rollback journal)
                self.admins[key].scalar("PRAGMA journal_mode = WAL")
            else:
                self.admins[key] = next(iter(self.admins.values())) if self.admins else common.Admin(db)
        self.times: dict[tuple[str, str], list[float]] = {}
        self.outcomes: dict[str, Any] = {}

    def run_one(self, lib: Any, workload: Workload, inputs: Inputs) -> tuple[float, Any]:
        admin = self.admins[lib.key]
        admin.reset(workload.seed(inputs), unique_email=True)
        given = workload.prepare(lib, inputs)
        if self.kind == "sqlite":  # an empty WAL: no run pays for a checkpoint of the seeding
            admin.scalar("PRAGMA wal_checkpoint(TRUNCATE)")
        gc.collect()
        start = time.perf_counter()
        workload.run(lib, given)
        elapsed = time.perf_counter() - start
        del given
        return elapsed, workload.check(admin, inputs)

    def run(self) -> None:
        for lib in self.libs.values():
            lib.open()
        try:
            for workload in self.workloads:  # an untimed round on a small table: caches warm, checked
                for key in self.taking_part(workload):
                    self.run_one(self.libs[key], workload, self.warm_inputs)
            for rep in range(self.repeat):
                for workload in self.workloads:
                    keys = self.taking_part(workload)
                    order = keys[rep % len(keys):] + keys[:rep % len(keys)]
                    outcomes = {}
                    for key in order:
                        elapsed, outcomes[key] = self.run_one(self.libs[key], workload, self.inputs)
                        self.times.setdefault((workload.key, key), []).append(elapsed)
                    if len(set(map(repr, outcomes.values()))) > 1:
                        raise AssertionError(f"{self.kind} {workload.key}: libraries disagree: {outcomes}")
                    self.outcomes[workload.key] = next(iter(outcomes.values()))
                    print(f"  [{self.kind}] run {rep + 1}/{self.repeat} {workload.key}: " + ", ".join(
                        f"{k}={self.times[(workload.key, k)][-1]:.3f}s" for k in keys), file=sys.stderr, flush=True)
        finally:
            for lib in self.libs.values():
                lib.close()
            for admin in {id(a): a for a in self.admins.values()}.values():
                admin.close()

    def taking_part(self, workload: Workload) -> list[str]:
        return [k for k in self.libs if k in workload.libs]

    def results(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "names": {k: lib.name for k, lib in self.libs.items()},
            "notes": {k: lib.note for k, lib in self.libs.items() if getattr(lib, "note", "")},
            "workloads": {w.key: {"title": w.title(self.rows), "outcome": repr(self.outcomes.get(w.key)),
                                  "times": {k: self.times[(w.key, k)] for k in self.taking_part(w)}}
                          for w in self.workloads},
        }


# -- reporting -------------------------------------------------------------------------


def section(kind: str, results: dict[str, Any]) -> str:
    """The report on one database: the table, the targets, the notes."""
    names = results["names"]
    keys = list(names)
    lines = [f"## {kind}", "", "| workload | " + " | ".join(names[k] for k in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    targets = []
    for wkey, w in results["workloads"].items():
        median = {k: statistics.median(v) for k, v in w["times"].items()}
        raw = median.get("raw")
        cells = [(f"{median[k]:.3f}" + (f" ({median[k] / raw:.2f}x)" if raw else "")) if k in median else "n/a"
                 for k in keys]
        lines.append(f"| {w['title']} | " + " | ".join(cells) + " |")
        mine = median.get("rhosocial")
        if mine is None:
            continue
        parts = []
        orms = {k: t for k, t in median.items() if k in ORM_PEERS}
        if orms:
            best = min(orms, key=orms.__getitem__)
            parts.append(f"{orms[best] / mine:.2f}x as fast as the fastest ORM ({names[best]}), "
                         + ("met" if mine < orms[best] else "missed"))
        if raw:
            parts.append(f"{mine / raw:.2f}x the raw driver's time (target <= {RAW_TARGET:.1f}x), "
                         + ("met" if mine <= RAW_TARGET * raw else "missed"))
        if "sqla_core" in median:
            parts.append(f"{median['sqla_core'] / mine:.2f}x as fast as SQLAlchemy Core")
        targets.append(f"targets, {wkey}: rhosocial " + "; ".join(parts) + "  ")
    lines += ["", *targets]
    notes = [f"- {names[k]}: {note}" for k, note in results["notes"].items()]
    if any("n/a" in line for line in lines):
        notes.append("- n/a: not a peer for that workload (SQLAlchemy's upsert is Core's insert construct, "
                     "its bulk UPDATE by key the ORM's)")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


# -- processes ---------------------------------------------------------------------------


def child(kind: str, args: argparse.Namespace, libs: list[str], workloads: list[Workload]) -> int:
    """Benchmark one database in this process, print its section, write its results."""
    import harness

    def bench(workdir: Path) -> dict[str, Any]:
        b = Bench(kind, libs, workloads, args.rows, args.repeat, workdir)
        b.run()
        return b.results()

    harness.child(kind, args, "rhosocial-bulk-", bench, lambda results: section(kind, results))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgres,mysql", help="databases, comma separated")
    parser.add_argument("--rows", type=int, default=10_000, help="rows upserted; rows bulk-updated")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per cell (median reported)")
    parser.add_argument("--libs", default=",".join(LIBRARIES), help="libraries, comma separated")
    parser.add_argument("--workloads", default=",".join(w.key for w in WORKLOADS),
                        help="workloads, comma separated: " + ", ".join(w.key for w in WORKLOADS))
    parser.add_argument("--json", help="also write every timing to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    dbs, libs = common.selection(parser, args, LIBRARIES, DRIVERS)
    wanted = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in {x.key for x in WORKLOADS}]
    if unknown or not wanted:
        parser.error(f"unknown workload: {', '.join(unknown) or '(none)'}")
    if args.rows < 2 or args.repeat < 1:
        parser.error("--rows must be at least 2 and --repeat at least 1")
    workloads = [w for w in WORKLOADS if w.key in wanted]
    bootstrap(libs, dbs)
    common.use_sources()
    if args.child:
        return child(args.child, args, libs, workloads)

    versions = common.versions(DISTRIBUTIONS)
    common.print_header("bulk writes benchmark", "bulk_writes.py", argv, versions)
    print(f"rows: {args.rows:,}; median of {args.repeat} interleaved runs, seconds of the bulk call alone "
          "(ratio to the raw driver)\n", flush=True)
    dump: dict[str, Any] = {"machine": common.machine(), "versions": versions, "argv": argv, "rows": args.rows,
                            "repeat": args.repeat, "results": {}}
    failed = False
    for kind in dbs:
        with tempfile.NamedTemporaryFile(prefix="rhosocial-bulk-", suffix=".json", delete=False) as tmp:
            out = Path(tmp.name)
        cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--child", kind, "--child-json", str(out)]
        try:
            code = subprocess.run(cmd, check=False).returncode
            if out.stat().st_size:
                dump["results"][kind] = json.loads(out.read_text())
            if code:
                print(f"## {kind}\n\nerror: the benchmark process exited with {code}\n", flush=True)
                failed = True
        finally:
            out.unlink(missing_ok=True)
    if args.json:
        Path(args.json).write_text(json.dumps(dump, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
