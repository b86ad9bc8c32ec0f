#!/usr/bin/env python3
"""Multi-threaded benchmark: T threads share one configured ORM and its connections.

    python3 benchmarks/threads.py                                  PostgreSQL and MariaDB, 8 threads
    python3 benchmarks/threads.py --db sqlite,postgres --threads 4 --ops 4000 --repeat 5
    python3 benchmarks/threads.py --libs raw,rhosocial --threads-for rhosocial=1

Together the threads perform ``--ops`` operations, each drawn by a seeded RNG
per thread: 70% find a row by key (its content is checked), 20%
load-change-save of one integer column outside a transaction (each key has a
single writer thread), 10% create a row. Every run starts from a fresh table
of ``--rows`` rows and ends with a check of the whole table; a library that
fails a check is FAILED, one that does not finish in ``--timeout`` seconds
is TIMEOUT. Each database runs in its own process (Django reads its settings
once per process). The first run creates ``.venv`` like run.py. See
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import harness
from harness import FIND, UPDATE, WRITE_BASE, Entry, Outcome, Plan, describe

LIBRARIES = {  # key -> module
    "raw": "thr_raw",
    "rhosocial": "thr_rhosocial",
    "sqla_orm": "thr_sqla_orm",
    "django": "thr_django",
    "peewee": "thr_peewee",
}
PEERS = ("sqla_orm", "django", "peewee")  # "best ORM peer" is the fastest of these
NEEDS = {"sqla_orm": "sqlalchemy", "django": "django", "peewee": "peewee"}
DRIVERS = {"sqlite": "sqlite3", "postgres": "psycopg", "mysql": "pymysql"}
DISTRIBUTIONS = ("rhosocial-activerecord", "pydantic", "pydantic-core", "SQLAlchemy", "Django", "peewee",
                 "psycopg", "psycopg-binary", "psycopg-pool", "PyMySQL", "mysqlclient")


def bootstrap(libs: list[str], dbs: list[str]) -> None:
    """Re-run inside the project's .venv with the bench extras when something is missing."""
    wanted = [NEEDS[k] for k in libs if k in NEEDS] + [DRIVERS[d] for d in dbs] + ["rhosocial"]
    if "raw" in libs and "postgres" in dbs:
        wanted.append("psycopg_pool")
    common.rerun_in_venv(wanted, __file__,
                         " (the bench extra needs Django and psycopg-pool besides peewee and SQLAlchemy)")


# -- one timed run -------------------------------------------------------------------


def run_threads(lib: Any, plan: Plan, timeout: float) -> tuple[Outcome, list[list[int]]]:
    """Run ``plan`` on ``plan.threads`` daemon threads started behind a barrier; time them."""
    n = plan.threads
    barrier = threading.Barrier(n + 1)
    stop = threading.Event()
    created: list[list[int]] = [[] for _ in range(n)]
    done = [0] * n
    finished = [0.0] * n
    problems: list[str] = []

    def body(t: int) -> None:
        try:
            worker = lib.worker()
            worker.find(1)  # untimed: this thread's connection is open, the pool warm
        except BaseException as exc:  # noqa: BLE001 - reported as FAILED
            problems.append(f"thread {t} setup: {describe(exc)}")
            barrier.abort()
            return
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            _quietly(worker.close)
            return
        find, update, create, mine = worker.find, worker.update, worker.create, created[t]
        misreads = harness.Misreads(f"thread {t}", problems)
        i = 0
        try:
            for i, op in enumerate(plan.ops[t]):
                if stop.is_set():
                    break
                kind = op[0]
                if kind == FIND:
                    row = find(op[1])
                    if (row.id, row.name, row.email, row.age) != op[2]:
                        misreads.find(op, row)
                elif kind == UPDATE:
                    before = update(op[1], op[2])
                    if before != op[3]:
                        misreads.update(op, before)
                else:
                    mine.append(create(*op[1]))
            else:
                i = len(plan.ops[t])
        except BaseException as exc:  # noqa: BLE001 - reported as FAILED
            problems.append(f"thread {t}, operation {i}: {describe(exc)}")
            stop.set()
        finished[t] = time.perf_counter()
        done[t] = i
        misreads.close()
        try:
            worker.close()
        except BaseException as exc:  # noqa: BLE001
            problems.append(f"thread {t} close: {describe(exc)}")

    threads = [threading.Thread(target=body, args=(t,), name=f"thr-{lib.key}-{t}", daemon=True)
               for t in range(n)]
    gc.collect()
    deadline = time.monotonic() + timeout
    for th in threads:
        th.start()
    try:
        barrier.wait(timeout=timeout)
    except threading.BrokenBarrierError:
        stop.set()
        for th in threads:
            th.join(max(0.0, min(5.0, deadline - time.monotonic())))
        return harness.not_started(problems, f"threads did not reach the start within {timeout:.0f} s"), created
    start = time.perf_counter()
    for th in threads:
        th.join(max(0.0, deadline - time.monotonic()))
    hung = sum(th.is_alive() for th in threads)
    if hung:
        stop.set()
        return Outcome("TIMEOUT", message=f"{hung} of {n} threads still running after {timeout:.0f} s"), created
    return harness.finished(plan, problems, done, max(finished) - start), created


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except BaseException:  # noqa: BLE001, S110 - cleanup after a failure already reported
        pass


# -- one database (runs in its own process) ------------------------------------------


def call_with_timeout(fn: Callable[[], Any], seconds: float) -> str | None:
    """Run ``fn`` on a daemon thread; return why it failed or did not return, else ``None``."""
    error: list[str] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001
            error.append(describe(exc))

    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(seconds)
    if th.is_alive():
        return f"did not return within {seconds:.0f} s"
    return error[0] if error else None


def run_one(entry: Entry, plan: Plan, timeout: float) -> Outcome:
    """Reset the table, run ``plan``, check the table."""
    failed = harness.reset(entry, plan)
    if failed is not None:
        return failed
    return harness.checked(entry, plan, *run_threads(entry.lib, plan, timeout))


def bench_database(kind: str, args: argparse.Namespace, libs: list[str], counts: dict[str, int],
                   workdir: Path) -> dict[str, Any]:
    """Run every library on ``kind``; return the results by library key."""
    lineup = harness.Lineup(kind, LIBRARIES, workdir)
    plans: dict[int, Plan] = {}
    warms: dict[int, Plan] = {}
    notes: dict[str, str] = {}
    try:
        for key in libs:
            n = counts[key]
            if n not in plans:
                plans[n] = harness.make_plan(n, args.ops, args.rows, args.seed)
                warms[n] = harness.make_plan(n, min(args.ops, max(n, 1000)), args.rows, args.seed + 1)
            entry = lineup.add(key, n, plans[n], warms[n])
            if entry is not None:
                try:
                    entry.lib.setup()
                except Exception as exc:  # noqa: BLE001 - reported as FAILED
                    entry.failure = Outcome("FAILED", message=f"setup: {describe(exc)}")
        lineup.run(args.repeat, lambda entry, plan: run_one(entry, plan, args.timeout))
    finally:
        for entry in lineup.entries:
            why = call_with_timeout(entry.lib.teardown, 15)
            if why:
                notes[entry.key] = f"teardown: {why}"
        for entry in lineup.entries:
            why = call_with_timeout(lambda e=entry: e.admin.drop(e.table), 30)  # type: ignore[misc]
            if why:
                print(f"warning: could not drop {entry.table}: {why}", file=sys.stderr)
        lineup.close()
    return {e.key: harness.summary(e, notes, threads=counts[e.key]) for e in lineup.entries}


# -- reporting -----------------------------------------------------------------------


def table(results: dict[str, Any], rhosocial_target: tuple[float, float] = harness.TARGETS) -> str:
    """The Markdown table for one database, with the targets and notes under it."""
    ranking = harness.Ranking.of(results, PEERS)
    lines = ["| library | threads | ops/s | vs best ORM peer | vs raw driver |", "|---|---:|---:|---:|---:|"]
    for r in results.values():
        lines.append(f"| {r['name']} | {r['threads']} | " + " | ".join(ranking.cells(r)) + " |")
    lines.append("")
    more = []
    if ranking.speed.get("rhosocial"):
        others = {results[k]["threads"] for k in ranking.speed if k != "rhosocial"}
        if others and others != {results["rhosocial"]["threads"]}:
            more.append(f"(threads: rhosocial {results['rhosocial']['threads']}, the others "
                        f"{', '.join(map(str, sorted(others)))}: not a like-for-like comparison)")
    lines += ranking.target_lines(rhosocial_target, tuple(more))
    lines += harness.note_lines(results)
    return "\n".join(lines)


def parse_counts(text: str, default: int, libs: list[str]) -> dict[str, int]:
    """``--threads-for rhosocial=1,django=4`` -> a thread count for every library."""
    counts = dict.fromkeys(libs, default)
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if key not in counts or not value.isdigit() or int(value) < 1:
            raise ValueError(f"bad --threads-for entry {part!r} (libraries: {', '.join(libs)})")
        counts[key] = int(value)
    return counts


def child(kind: str, args: argparse.Namespace, libs: list[str], counts: dict[str, int]) -> int:
    """Benchmark one database in this process; print its section and write its results."""
    results = harness.child(kind, args, "rhosocial-threads-",
                            lambda workdir: bench_database(kind, args, libs, counts, workdir),
                            lambda results: f"## {kind}\n\n{table(results)}\n")
    if any(isinstance(r, dict) and r.get("status") == "TIMEOUT" for r in results.values()):
        # hung daemon threads may sit in a driver call; do not let interpreter shutdown wait on them
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def own_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=8, help="threads sharing one configured library")
    parser.add_argument("--threads-for", default="", metavar="LIB=N,...",
                        help="another thread count for some libraries, e.g. rhosocial=1")


def main(argv: list[str]) -> int:
    parser = harness.argument_parser(__doc__, "threads", LIBRARIES, own_arguments)
    args = parser.parse_args(argv)
    dbs, libs = common.selection(parser, args, LIBRARIES, DRIVERS)
    try:
        counts = parse_counts(args.threads_for, args.threads, libs)
    except ValueError as exc:
        parser.error(str(exc))
    if min(counts.values()) < 1 or args.ops < max(counts.values()) or args.rows < max(counts.values()):
        parser.error("need at least one thread, and at least as many operations and rows as threads")
    if args.rows >= WRITE_BASE or args.repeat < 1:
        parser.error(f"--rows must be below {WRITE_BASE:,} and --repeat at least 1")
    bootstrap(libs, dbs)
    common.use_sources()
    if args.child:
        return child(args.child, args, libs, counts)

    versions = common.versions(DISTRIBUTIONS)
    common.print_header("threads benchmark", "threads.py", argv, versions)
    print(f"workload: {args.ops:,} operations over {args.threads} threads ({harness.mix_text()}) on "
          f"{args.rows:,} seeded rows; median of {args.repeat} interleaved runs, operations per second "
          "(higher is better)\n", flush=True)
    return harness.parent(__file__, argv, args, dbs, libs, versions, {"threads": counts}, 120, "threads-")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
