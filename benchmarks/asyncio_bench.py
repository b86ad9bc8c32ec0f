#!/usr/bin/env python3
"""asyncio benchmark: N tasks on one event loop share one configured ORM and its pool.

    python3 benchmarks/asyncio_bench.py                             PostgreSQL and MariaDB, 50 tasks, pool 10
    python3 benchmarks/asyncio_bench.py --db postgres --tasks 20 --ops 4000 --repeat 5
    python3 benchmarks/asyncio_bench.py --libs raw,rhosocial --latency-calls 0

The workload is the threads benchmark's (threads.py), with tasks instead of
threads: together the tasks perform ``--ops`` operations, each drawn by a
seeded RNG per task: 70% find a row by key (its content is checked), 20%
load-change-save of one integer column outside a transaction (each key has a
single writer task), 10% create a row. Every library gets a pool of
``--pool`` connections and no overflow, so the comparison is of the same
resources. Every run starts from a fresh table of ``--rows`` rows and ends
with a check of the whole table; a library that fails a check is FAILED,
one that does not finish in ``--timeout`` seconds is TIMEOUT.

A second table gives the latency of one lookup by key, made sequentially
in one task: ``await Model.afind(pk)``, the synchronous ``Model.find(pk)`` of
the same model, and the raw drivers (median of ``--latency-calls`` calls).

Each database runs in its own process. The first run creates ``.venv`` like
run.py. See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

LIBRARIES = {  # key -> module
    "raw": "aio_raw",
    "rhosocial": "aio_rhosocial",
    "sqla": "aio_sqla",
    "tortoise": "aio_tortoise",
}
PEERS = ("sqla", "tortoise")  # "best ORM peer" is the faster of these
NEEDS = {"rhosocial": "greenlet", "sqla": "sqlalchemy", "tortoise": "tortoise"}
DRIVERS = {"sqlite": "aiosqlite", "postgres": "psycopg", "mysql": "asyncmy"}
DISTRIBUTIONS = ("rhosocial-activerecord", "pydantic", "pydantic-core", "greenlet", "SQLAlchemy",
                 "tortoise-orm", "pypika-tortoise", "psycopg", "psycopg-binary", "psycopg-pool", "asyncmy",
                 "aiosqlite", "PyMySQL")
TARGETS = (1.0, 0.75)  # rhosocial >= the best ORM peer, >= 0.75x the raw driver


def bootstrap(libs: list[str], dbs: list[str]) -> None:
    """Re-run inside the project's .venv with the bench extras when something is missing."""
    sys.path.insert(0, str(HERE))
    from common import rerun_in_venv

    wanted = [NEEDS[k] for k in libs if k in NEEDS] + [DRIVERS[d] for d in dbs] + ["rhosocial", "greenlet"]
    if "postgres" in dbs:
        wanted.append("psycopg_pool")
    if "mysql" in dbs:
        wanted.append("pymysql")  # the untimed admin connection, and rhosocial's error classes
    rerun_in_venv(wanted, __file__, " (the bench extra needs SQLAlchemy[asyncio], tortoise-orm, asyncmy, "
                                    "aiosqlite, greenlet and psycopg-pool)")


# -- one timed run -------------------------------------------------------------------


@dataclass
class Outcome:
    """As in threads.py, plus the CPU time this process spent in the timed section."""

    status: str  # ok | FAILED | TIMEOUT
    seconds: float = 0.0
    message: str = ""
    cpu: float = 0.0


async def run_tasks(lib: Any, plan: Any, timeout: float) -> tuple[Any, list[list[int]]]:
    """Run ``plan`` on ``plan.threads`` tasks started together once all are warm; time them."""
    from threads import FIND, UPDATE, describe

    n = plan.threads
    go = asyncio.Event()
    ready = [0]
    all_ready = asyncio.Event()
    stop = [False]
    created: list[list[int]] = [[] for _ in range(n)]
    done = [0] * n
    finished = [0.0] * n
    problems: list[str] = []

    async def body(t: int) -> None:
        worker: Any = None
        try:
            worker = lib.worker()
            await worker.find(1)  # untimed: the pool is open and every task has been scheduled once
        except Exception as exc:  # noqa: BLE001 - reported as FAILED
            problems.append(f"task {t} setup: {describe(exc)}")
            stop[0] = True
        finally:
            ready[0] += 1
            if ready[0] == n:
                all_ready.set()
        await go.wait()
        if stop[0]:
            if worker is not None:
                await worker.close()
            return
        find, update, create, mine = worker.find, worker.update, worker.create, created[t]
        wrong = 0
        i = 0
        try:
            for i, op in enumerate(plan.ops[t]):
                if stop[0]:
                    break
                kind = op[0]
                if kind == FIND:
                    row = await find(op[1])
                    got = (row.id, row.name, row.email, row.age)
                    if got != op[2]:
                        wrong += 1
                        if wrong <= 3:
                            problems.append(f"task {t}: find({op[1]}) read {got}, expected {op[2]}")
                elif kind == UPDATE:
                    before = await update(op[1], op[2])
                    if before != op[3]:
                        wrong += 1
                        if wrong <= 3:
                            problems.append(f"task {t}: update({op[1]}) loaded score {before!r}, "
                                            f"expected {op[3]} (this task's last write)")
                else:
                    mine.append(await create(*op[1]))
            else:
                i = len(plan.ops[t])
        except Exception as exc:  # noqa: BLE001 - reported as FAILED
            problems.append(f"task {t}, operation {i}: {describe(exc)}")
            stop[0] = True
        finished[t] = time.perf_counter()
        done[t] = i
        if wrong > 3:
            problems.append(f"task {t}: {wrong} wrong reads in all")
        try:
            await worker.close()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"task {t} close: {describe(exc)}")

    gc.collect()
    deadline = time.monotonic() + timeout
    tasks = [asyncio.create_task(body(t), name=f"aio-{lib.key}-{t}") for t in range(n)]
    waiting = asyncio.create_task(all_ready.wait())
    await asyncio.wait([waiting, *tasks], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if not all_ready.is_set():
        waiting.cancel()
        await _cancel(tasks)
        if problems:
            return Outcome("FAILED", message="; ".join(problems[:4])), created
        return Outcome("TIMEOUT", message=f"tasks were not ready to start within {timeout:.0f} s"), created
    start = time.perf_counter()
    cpu_start = time.process_time()
    go.set()
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    cpu = time.process_time() - cpu_start
    if pending:
        stop[0] = True
        await _cancel(list(pending))
        return Outcome("TIMEOUT", message=f"{len(pending)} of {n} tasks still running after "
                                          f"{timeout:.0f} s"), created
    for task in tasks:
        if task.exception() is not None:  # an exception the body did not catch (a bug here)
            problems.append(f"{task.get_name()}: {describe(task.exception())}")
    elapsed = max(finished) - start
    if problems:
        return Outcome("FAILED", elapsed, "; ".join(problems[:4])), created
    if sum(done) != plan.total:
        return Outcome("FAILED", elapsed, f"{sum(done)} of {plan.total} operations done"), created
    return Outcome("ok", elapsed, cpu=cpu), created


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5)


async def _bounded(coro: Any, seconds: float) -> str | None:
    """Await ``coro`` in this task (contextvars it sets stay visible); return why it failed, else None."""
    from threads import describe

    try:
        async with asyncio.timeout(seconds):
            await coro
    except TimeoutError:
        return f"did not finish within {seconds:.0f} s"
    except Exception as exc:  # noqa: BLE001
        return describe(exc)
    return None


# -- one database (runs in its own process) ------------------------------------------


@dataclass
class Entry:
    key: str
    lib: Any
    table: str
    admin: Any
    speeds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU microseconds per operation
    failure: Any = None


async def run_one(entry: Entry, plan: Any, timeout: float) -> Any:
    """Reset the table, run ``plan``, check the table."""
    from threads import describe, verify

    try:
        entry.admin.reset(entry.table, plan.rows)  # untimed; nothing else runs on the loop meanwhile
    except Exception as exc:  # noqa: BLE001 - e.g. a lock a failed run left behind
        return Outcome("FAILED", message=f"resetting the table: {describe(exc)}")
    outcome, created = await run_tasks(entry.lib, plan, timeout)
    if outcome.status == "ok":
        try:
            problems = verify(entry.admin, entry.table, plan, created)
        except Exception as exc:  # noqa: BLE001
            problems = [f"reading the table back: {describe(exc)}"]
        if problems:
            speed = plan.total / outcome.seconds if outcome.seconds else 0.0
            return Outcome("FAILED", outcome.seconds, f"check after a run at {speed:,.0f} ops/s: "
                           + "; ".join(problems))
    return outcome


async def bench_database(kind: str, args: argparse.Namespace, libs: list[str],
                         workdir: Path) -> dict[str, Any]:
    """Run every library on ``kind`` (one event loop); return the results by library key."""
    import common
    from threads import Admin, describe, make_plan

    base = common.Database("sqlite") if kind == "sqlite" else common.server_databases()[kind]
    plan = make_plan(args.tasks, args.ops, args.rows, args.seed)
    warm = make_plan(args.tasks, min(args.ops, max(args.tasks, 1000)), args.rows, args.seed + 1)
    entries: list[Entry] = []
    admins: list[Any] = []
    notes: dict[str, str] = {}
    latency: dict[str, Any] = {}
    try:
        for key in libs:
            module = importlib.import_module(LIBRARIES[key])
            db = replace(base, path=str(workdir / f"{module.TABLE}.db")) if kind == "sqlite" else base
            if kind == "sqlite" or not admins:
                admins.append(Admin(db))
            entry = Entry(key, module.Library(db, args.pool), module.TABLE, admins[-1])
            entries.append(entry)
            try:
                entry.admin.reset(entry.table, args.rows)
            except Exception as exc:  # noqa: BLE001 - reported as FAILED
                entry.failure = Outcome("FAILED", message=f"setup: {describe(exc)}")
                continue
            why = await _bounded(entry.lib.setup(), 60)
            if why:
                entry.failure = Outcome("FAILED", message=f"setup: {why}")
        for entry in entries:  # untimed warm-up round, checked like the others
            if entry.failure is None:
                outcome = await run_one(entry, warm, args.timeout)
                if outcome.status != "ok":
                    entry.failure = replace(outcome, message="warm-up: " + outcome.message)
        for rep in range(args.repeat):
            order = entries[rep % len(entries):] + entries[:rep % len(entries)]
            cells = []
            for entry in order:
                if entry.failure is not None:
                    cells.append(f"{entry.key}={entry.failure.status}")
                    continue
                outcome = await run_one(entry, plan, args.timeout)
                if outcome.status == "ok":
                    entry.speeds.append(plan.total / outcome.seconds)
                    entry.cpu.append(outcome.cpu / plan.total * 1e6)
                    cells.append(f"{entry.key}={entry.speeds[-1]:,.0f}/s")
                else:
                    entry.failure = outcome
                    cells.append(f"{entry.key}={outcome.status}")
            print(f"  [{kind}] run {rep + 1}/{args.repeat}: " + ", ".join(cells), file=sys.stderr, flush=True)
        by_key = {e.key: e for e in entries}
        if args.latency_calls and all(k in by_key and by_key[k].failure is None for k in ("raw", "rhosocial")):
            latency = await measure_latency(by_key["rhosocial"], by_key["raw"], base, args)
    finally:
        for entry in entries:
            why = await _bounded(entry.lib.teardown(), 15)
            if why:
                notes[entry.key] = f"teardown: {why}"
        for entry in entries:
            try:
                entry.admin.drop(entry.table)
            except Exception as exc:  # noqa: BLE001
                print(f"warning: could not drop {entry.table}: {describe(exc)}", file=sys.stderr)
        server = server_version(admins[0]) if admins else ""
        for admin in admins:
            with contextlib.suppress(Exception):
                admin.close()
    results = {e.key: {"name": e.lib.name, "tasks": args.tasks, "pool": getattr(e.lib, "connections", args.pool),
                       "ops_per_s": e.speeds, "cpu_us_per_op": e.cpu,
                       "median": statistics.median(e.speeds) if e.speeds and e.failure is None else None,
                       "status": e.failure.status if e.failure else "ok",
                       "message": e.failure.message if e.failure else "",
                       "note": "; ".join(filter(None, [getattr(e.lib, "note", ""), notes.get(e.key, "")]))}
               for e in entries}
    return {"server": server, "libraries": results, "latency": latency}


def server_version(admin: Any) -> str:
    try:
        if admin.kind == "postgres":
            return "PostgreSQL " + str(admin._run("SHOW server_version")[0][0]).split()[0]
        if admin.kind == "mysql":
            return "MySQL/MariaDB " + str(admin._run("SELECT VERSION()")[0][0])
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (WAL)"
    except Exception:  # noqa: BLE001 - only for the report
        return ""


# -- latency of one lookup by key ----------------------------------------------------


async def measure_latency(mine: Entry, raw: Entry, db: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Median microseconds of one lookup by key, sequential in one task, interleaved in rounds."""
    from common import connect_raw
    from threads import seeded

    mine.admin.reset(mine.table, args.rows)
    if raw.admin is not mine.admin or raw.table != mine.table:
        raw.admin.reset(raw.table, args.rows)
    rng = random.Random(args.seed + 7)
    keys = [rng.randint(1, args.rows) for _ in range(args.latency_calls)]
    rounds = 5
    chunks = [keys[r::rounds] for r in range(rounds)]
    lib, raw_lib = mine.lib, raw.lib
    raw_worker = raw_lib.worker()
    times: dict[str, list[int]] = {}
    ns = time.perf_counter_ns

    async def aloop(name: str, fetch: Any, chunk: list[int]) -> None:
        out = times.setdefault(name, [])
        for pk in chunk:
            t0 = ns()
            await fetch(pk)
            out.append(ns() - t0)

    def sloop(name: str, fetch: Any, chunk: list[int]) -> None:
        out = times.setdefault(name, [])
        for pk in chunk:
            t0 = ns()
            fetch(pk)
            out.append(ns() - t0)

    sync_raw: Any = None
    if db.kind == "postgres":
        import psycopg

        sync_conn = connect_raw(db, cursor_factory=psycopg.RawCursor)
        sql = f"SELECT id, name, email, age, score FROM {raw.table} WHERE id = $1"
    elif db.kind == "mysql":
        sync_conn = connect_raw(db)
        sql = f"SELECT id, name, email, age, score FROM {raw.table} WHERE id = %s"
    else:
        sync_conn = None
    if sync_conn is not None:
        sync_cur = sync_conn.cursor()

        def sync_raw(pk: int) -> Any:
            sync_cur.execute(sql, (pk,))
            return sync_cur.fetchone()

    names = {
        "afind": "rhosocial: await Model.afind(pk)",
        "find": "rhosocial: Model.find(pk), synchronous",
        "raw_pool": "raw async driver, a connection from its pool per call",
        "raw_held": "raw async driver, one connection held",
        "raw_sync": "raw sync driver, one connection held (" + ("psycopg" if db.kind == "postgres" else "PyMySQL")
                    + ")",
    }
    try:
        async with raw_lib.held() as held:
            runners: list[tuple[str, Any, bool]] = [("afind", lib.afind, True), ("find", lib.find, False),
                                                    ("raw_pool", raw_worker.find, True),
                                                    ("raw_held", held, True)]
            if sync_raw is not None:
                runners.append(("raw_sync", sync_raw, False))
            warm = keys[:200]
            for name, fetch, is_async in runners:  # untimed: statements prepared, connections open
                if is_async:
                    await aloop(name, fetch, warm)
                else:
                    sloop(name, fetch, warm)
                times[name].clear()
            row = await lib.afind(keys[0])
            if (row.id, row.name, row.email, row.age) != (keys[0],) + seeded(keys[0])[:3]:
                raise RuntimeError(f"afind({keys[0]}) read the wrong row")
            gc.collect()
            for r, chunk in enumerate(chunks):
                for name, fetch, is_async in runners[r % len(runners):] + runners[:r % len(runners)]:
                    if is_async:
                        await aloop(name, fetch, chunk)
                    else:
                        sloop(name, fetch, chunk)
    finally:
        await raw_worker.close()
        if sync_conn is not None:
            sync_conn.close()
    found = {key: {"name": names[key], "calls": len(values), "median_us": statistics.median(values) / 1000,
                   "p90_us": sorted(values)[int(len(values) * 0.9)] / 1000}
             for key, values in times.items()}
    found["raw_pool"]["note"] = raw_lib.note
    return found


# -- reporting -----------------------------------------------------------------------


def throughput_table(results: dict[str, Any]) -> str:
    """The Markdown table for one database, with the targets and notes under it."""
    speed = {k: r["median"] for k, r in results.items() if r["median"]}
    peers = {k: v for k, v in speed.items() if k in PEERS}
    best = max(peers, key=peers.__getitem__) if peers else None
    raw = speed.get("raw")
    lines = ["| library | tasks | pool | ops/s | vs best ORM peer | vs raw driver | client CPU us/op |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results.values():
        if r["median"]:
            v = r["median"]
            cells = [f"{v:,.0f}", f"{v / peers[best]:.2f}x" if best else "", f"{v / raw:.2f}x" if raw else "",
                     f"{statistics.median(r['cpu_us_per_op']):,.0f}"]
        else:
            cells = [r["status"], "", "", ""]
        lines.append(f"| {r['name']} | {r['tasks']} | {r['pool']} | " + " | ".join(cells) + " |")
    lines.append("")
    mine = speed.get("rhosocial")
    if "rhosocial" in results:
        if mine is None:
            lines.append(f"targets: not measured, rhosocial {results['rhosocial']['status']}  ")
        else:
            parts = []
            if best:
                r = mine / peers[best]
                parts.append(f"rhosocial >= best ORM peer ({results[best]['name']}): {r:.2f}x, "
                             + ("met" if r >= TARGETS[0] else "missed"))
            if raw:
                r = mine / raw
                parts.append(f"rhosocial >= {TARGETS[1]:.2f}x raw driver: {r:.2f}x, "
                             + ("met" if r >= TARGETS[1] else "missed"))
            lines.append("targets: " + "; ".join(parts) + "  ")
            ratios = [a / b for a, b in zip(results["rhosocial"]["ops_per_s"], results.get("raw", {}).get(
                "ops_per_s", []))]
            if len(ratios) > 1:
                lines.append("rhosocial / raw driver within each run: " + ", ".join(f"{x:.2f}x" for x in ratios)
                             + " (the machine's load changes between runs; each run times every library once)  ")
    for r in results.values():
        if r["ops_per_s"]:
            runs = ", ".join(f"{v:,.0f}" for v in r["ops_per_s"])
            r = dict(r, note="; ".join(filter(None, [r["note"], f"runs {runs}"])))
        text = "; ".join(filter(None, [r["note"], f"{r['status']}: {r['message']}" if r["message"] else ""]))
        if text:
            lines.append(f"- {r['name']}: {text}")
    return "\n".join(lines)


def latency_table(latency: dict[str, Any]) -> str:
    base = latency.get("raw_pool", {}).get("median_us")
    lines = ["| one lookup by key, sequential in one task | calls | median us | p90 us | vs raw async, pooled |",
             "|---|---:|---:|---:|---:|"]
    for r in latency.values():
        ratio = f"{r['median_us'] / base:.2f}x" if base else ""
        lines.append(f"| {r['name']} | {r['calls']:,} | {r['median_us']:,.0f} | {r['p90_us']:,.0f} | {ratio} |")
    if latency.get("raw_pool", {}).get("note"):
        lines.append(f"\nraw async driver: {latency['raw_pool']['note']}  ")
    if "afind" in latency and "find" in latency:
        a, s = latency["afind"]["median_us"], latency["find"]["median_us"]
        lines.append(f"afind() - find(): {a - s:+,.0f} us a call ({a / s:.2f}x the synchronous call)")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    import sqlite3
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}
    for dist in DISTRIBUTIONS:
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return found


def child(kind: str, args: argparse.Namespace, libs: list[str]) -> int:
    """Benchmark one database in this process; print its section and write its results."""
    import common

    results: dict[str, Any] = {}
    if kind != "sqlite":
        why = common.reachable(common.server_databases()[kind])
        if why:
            print(f"## {kind}\n\nskipped: server unreachable ({why})\n", flush=True)
            results = {"skipped": why}
    if not results:
        workdir = Path(tempfile.mkdtemp(prefix="rhosocial-asyncio-"))
        try:
            results = asyncio.run(bench_database(kind, args, libs, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        title = {"postgres": "PostgreSQL", "mysql": "MariaDB / MySQL", "sqlite": "SQLite"}[kind]
        text = f"## {title}" + (f" ({results['server']})" if results["server"] else "")
        text += f"\n\nthroughput, operations per second (higher is better)\n\n{throughput_table(results['libraries'])}\n"
        if results["latency"]:
            text += f"\nlatency, microseconds (lower is better)\n\n{latency_table(results['latency'])}\n"
        print(text, flush=True)
    Path(args.child_json).write_text(json.dumps(results, indent=1))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="postgres,mysql", help="databases, comma separated (also: sqlite)")
    parser.add_argument("--tasks", type=int, default=50, help="asyncio tasks sharing one configured library")
    parser.add_argument("--pool", type=int, default=10, help="connections in every library's pool")
    parser.add_argument("--ops", type=int, default=16_000, help="operations in all tasks together")
    parser.add_argument("--rows", type=int, default=10_000, help="seeded rows")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per library (median reported)")
    parser.add_argument("--libs", default=",".join(LIBRARIES), help="libraries, comma separated")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one run may take")
    parser.add_argument("--latency-calls", type=int, default=5000,
                        help="lookups per latency measure (0: no latency table)")
    parser.add_argument("--seed", type=int, default=20240101, help="seed of the operation plan")
    parser.add_argument("--json", help="also write every timing to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    libs = [k.strip() for k in args.libs.split(",") if k.strip()]
    unknown = [d for d in dbs if d not in DRIVERS] + [k for k in libs if k not in LIBRARIES]
    if unknown:
        parser.error(f"unknown database or library: {', '.join(unknown)}")
    if "raw" not in libs:
        libs.insert(0, "raw")
    if args.tasks < 1 or args.pool < 1 or args.ops < args.tasks or args.rows < args.tasks:
        parser.error("need at least one task and one connection, and at least as many operations and rows "
                     "as tasks")
    if args.repeat < 1 or args.latency_calls < 0 or 0 < args.latency_calls < 500:
        parser.error("--repeat must be at least 1, --latency-calls 0 or at least 500")
    bootstrap(libs, dbs)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT / "src"))
    from threads import MIX, WRITE_BASE

    if args.rows >= WRITE_BASE:
        parser.error(f"--rows must be below {WRITE_BASE:,}")
    if args.child:
        return child(args.child, args, libs)

    from run import machine

    print(f"# rhosocial.activerecord asyncio benchmark\n\nmachine: {machine()}  ")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "  ")
    print(f"command: python3 benchmarks/asyncio_bench.py {' '.join(argv)}".rstrip() + "  ")
    mix = ", ".join(f"{p:.0%} {w}" for p, w in zip(MIX, ("find by key", "load-change-save", "create")))
    print(f"workload: {args.ops:,} operations over {args.tasks} asyncio tasks on one event loop ({mix}) on "
          f"{args.rows:,} seeded rows; median of {args.repeat} interleaved runs  ")
    loop = asyncio.new_event_loop()
    loop_name = type(loop).__name__
    loop.close()
    print(f"pool: every library has the same pool of {args.pool} connections, no overflow; the event loop "
          f"is asyncio's default ({loop_name})  ")
    print("client CPU us/op: CPU time of the benchmark process (all its threads) in the timed section per "
          "operation, median; the database servers' CPU is not in it, and it moves less than ops/s when "
          "other work shares the machine\n", flush=True)
    dump: dict[str, Any] = {"machine": machine(), "versions": versions(), "argv": argv, "tasks": args.tasks,
                            "pool": args.pool, "ops": args.ops, "rows": args.rows, "repeat": args.repeat,
                            "results": {}}
    failed = False
    for kind in dbs:
        with tempfile.NamedTemporaryFile(prefix="asyncio-", suffix=".json", delete=False) as tmp:
            out = Path(tmp.name)
        cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--child", kind, "--child-json", str(out)]
        limit = (args.repeat + 2) * len(libs) * (args.timeout + 60) + 300
        try:
            code = subprocess.run(cmd, check=False, timeout=limit).returncode
            if out.stat().st_size:
                dump["results"][kind] = json.loads(out.read_text())
            if code:
                print(f"## {kind}\n\nerror: the benchmark process exited with {code}\n", flush=True)
                failed = True
        except subprocess.TimeoutExpired:
            print(f"## {kind}\n\nerror: the benchmark process did not finish within {limit:.0f} s\n", flush=True)
            failed = True
        finally:
            out.unlink(missing_ok=True)
    if args.json:
        Path(args.json).write_text(json.dumps(dump, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
