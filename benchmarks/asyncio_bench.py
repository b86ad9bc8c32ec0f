#!/usr/bin/env python3
"""asyncio benchmark: N tasks on one event loop share one configured ORM and its pool.

    python3 benchmarks/asyncio_bench.py                             PostgreSQL and MariaDB, 50 tasks, pool 10
    python3 benchmarks/asyncio_bench.py --db postgres --tasks 20 --ops 4000 --repeat 5
    python3 benchmarks/asyncio_bench.py --libs raw,rhosocial --latency-calls 0

The workload is the threads benchmark's (threads.py; both run harness.py's), with tasks
instead of threads: together the tasks perform ``--ops`` operations, each drawn by a
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
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import common
import harness
from harness import FIND, UPDATE, WRITE_BASE, Entry, Outcome, Plan, describe

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


def bootstrap(libs: list[str], dbs: list[str]) -> None:
    """Re-run inside the project's .venv with the bench extras when something is missing."""
    wanted = [NEEDS[k] for k in libs if k in NEEDS] + [DRIVERS[d] for d in dbs] + ["rhosocial", "greenlet"]
    if "postgres" in dbs:
        wanted.append("psycopg_pool")
    if "mysql" in dbs:
        wanted.append("pymysql")  # the untimed admin connection, and rhosocial's error classes
    common.rerun_in_venv(wanted, __file__, " (the bench extra needs SQLAlchemy[asyncio], tortoise-orm, "
                                           "asyncmy, aiosqlite, greenlet and psycopg-pool)")


# -- one timed run -------------------------------------------------------------------


async def run_tasks(lib: Any, plan: Plan, timeout: float) -> tuple[Outcome, list[list[int]]]:
    """Run ``plan`` on ``plan.threads`` tasks started together once all are warm; time them."""
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
        misreads = harness.Misreads(f"task {t}", problems)
        i = 0
        try:
            for i, op in enumerate(plan.ops[t]):
                if stop[0]:
                    break
                kind = op[0]
                if kind == FIND:
                    row = await find(op[1])
                    if (row.id, row.name, row.email, row.age) != op[2]:
                        misreads.find(op, row)
                elif kind == UPDATE:
                    before = await update(op[1], op[2])
                    if before != op[3]:
                        misreads.update(op, before)
                else:
                    mine.append(await create(*op[1]))
            else:
                i = len(plan.ops[t])
        except Exception as exc:  # noqa: BLE001 - reported as FAILED
            problems.append(f"task {t}, operation {i}: {describe(exc)}")
            stop[0] = True
        finished[t] = time.perf_counter()
        done[t] = i
        misreads.close()
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
        return harness.not_started(problems, f"tasks were not ready to start within {timeout:.0f} s"), created
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
    return harness.finished(plan, problems, done, max(finished) - start, cpu), created


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5)


async def _bounded(coro: Any, seconds: float) -> str | None:
    """Await ``coro`` in this task (contextvars it sets stay visible); return why it failed, else None."""
    try:
        async with asyncio.timeout(seconds):
            await coro
    except TimeoutError:
        return f"did not finish within {seconds:.0f} s"
    except Exception as exc:  # noqa: BLE001
        return describe(exc)
    return None


# -- one database (runs in its own process) ------------------------------------------


async def run_one(entry: Entry, plan: Plan, timeout: float) -> Outcome:
    """Reset the table (untimed; nothing else runs on the loop meanwhile), run ``plan``, check the table."""
    failed = harness.reset(entry, plan)
    if failed is not None:
        return failed
    return harness.checked(entry, plan, *await run_tasks(entry.lib, plan, timeout))


async def bench_database(kind: str, args: argparse.Namespace, libs: list[str],
                         workdir: Path) -> dict[str, Any]:
    """Run every library on ``kind`` (one event loop); return the results by library key."""
    lineup = harness.Lineup(kind, LIBRARIES, workdir)
    plan = harness.make_plan(args.tasks, args.ops, args.rows, args.seed)
    warm = harness.make_plan(args.tasks, min(args.ops, max(args.tasks, 1000)), args.rows, args.seed + 1)
    notes: dict[str, str] = {}
    latency: dict[str, Any] = {}
    try:
        for key in libs:
            entry = lineup.add(key, args.pool, plan, warm)
            if entry is not None:
                why = await _bounded(entry.lib.setup(), 60)
                if why:
                    entry.failure = Outcome("FAILED", message=f"setup: {why}")
        runs = lineup.rounds(args.repeat)
        with contextlib.suppress(StopIteration):
            due = next(runs)
            while True:
                due = runs.send(await run_one(*due, args.timeout))
        by_key = {e.key: e for e in lineup.entries}
        if args.latency_calls and all(k in by_key and by_key[k].failure is None for k in ("raw", "rhosocial")):
            latency = await measure_latency(by_key["rhosocial"], by_key["raw"], lineup.base, args)
    finally:
        for entry in lineup.entries:
            why = await _bounded(entry.lib.teardown(), 15)
            if why:
                notes[entry.key] = f"teardown: {why}"
        for entry in lineup.entries:
            try:
                entry.admin.drop(entry.table)
            except Exception as exc:  # noqa: BLE001
                print(f"warning: could not drop {entry.table}: {describe(exc)}", file=sys.stderr)
        server = server_version(lineup.admins[0]) if lineup.admins else ""
        lineup.close()
    results = {e.key: harness.summary(e, notes, cpu=True, tasks=args.tasks,
                                      pool=getattr(e.lib, "connections", args.pool))
               for e in lineup.entries}
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

        sync_conn = common.connect_raw(db, cursor_factory=psycopg.RawCursor)
        sql = harness.statements(raw.table, harness.PG_PARAMS)[0]
    elif db.kind == "mysql":
        sync_conn = common.connect_raw(db)
        sql = harness.statements(raw.table, harness.FORMAT_PARAMS)[0]
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
            if (row.id, row.name, row.email, row.age) != (keys[0],) + harness.seeded(keys[0])[:3]:
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
    ranking = harness.Ranking.of(results, PEERS)
    lines = ["| library | tasks | pool | ops/s | vs best ORM peer | vs raw driver | client CPU us/op |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results.values():
        cpu = f"{statistics.median(r['cpu_us_per_op']):,.0f}" if r["median"] else ""
        lines.append(f"| {r['name']} | {r['tasks']} | {r['pool']} | "
                     + " | ".join([*ranking.cells(r), cpu]) + " |")
    lines.append("")
    lines += ranking.target_lines()
    if ranking.speed.get("rhosocial"):
        ratios = [a / b for a, b in zip(results["rhosocial"]["ops_per_s"], results.get("raw", {}).get(
            "ops_per_s", []))]
        if len(ratios) > 1:
            lines.append("rhosocial / raw driver within each run: " + ", ".join(f"{x:.2f}x" for x in ratios)
                         + " (the machine's load changes between runs; each run times every library once)  ")
    lines += harness.note_lines(results, runs=True)
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


def section(kind: str, results: dict[str, Any]) -> str:
    """The report's section on one database: its throughput table and its latency table."""
    title = {"postgres": "PostgreSQL", "mysql": "MariaDB / MySQL", "sqlite": "SQLite"}[kind]
    text = f"## {title}" + (f" ({results['server']})" if results["server"] else "")
    text += f"\n\nthroughput, operations per second (higher is better)\n\n{throughput_table(results['libraries'])}\n"
    if results["latency"]:
        text += f"\nlatency, microseconds (lower is better)\n\n{latency_table(results['latency'])}\n"
    return text


def own_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", type=int, default=50, help="asyncio tasks sharing one configured library")
    parser.add_argument("--pool", type=int, default=10, help="connections in every library's pool")


def late_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latency-calls", type=int, default=5000,
                        help="lookups per latency measure (0: no latency table)")


def main(argv: list[str]) -> int:
    parser = harness.argument_parser(__doc__, "tasks", LIBRARIES, own_arguments, late_arguments)
    args = parser.parse_args(argv)
    dbs, libs = common.selection(parser, args, LIBRARIES, DRIVERS)
    if args.tasks < 1 or args.pool < 1 or args.ops < args.tasks or args.rows < args.tasks:
        parser.error("need at least one task and one connection, and at least as many operations and rows "
                     "as tasks")
    if args.repeat < 1 or args.latency_calls < 0 or 0 < args.latency_calls < 500:
        parser.error("--repeat must be at least 1, --latency-calls 0 or at least 500")
    if args.rows >= WRITE_BASE:
        parser.error(f"--rows must be below {WRITE_BASE:,}")
    bootstrap(libs, dbs)
    common.use_sources()
    if args.child:
        harness.child(args.child, args, "rhosocial-asyncio-",
                      lambda workdir: asyncio.run(bench_database(args.child, args, libs, workdir)),
                      lambda results: section(args.child, results))
        return 0

    versions = common.versions(DISTRIBUTIONS)
    common.print_header("asyncio benchmark", "asyncio_bench.py", argv, versions)
    print(f"workload: {args.ops:,} operations over {args.tasks} asyncio tasks on one event loop "
          f"({harness.mix_text()}) on {args.rows:,} seeded rows; median of {args.repeat} interleaved runs  ")
    loop = asyncio.new_event_loop()
    loop_name = type(loop).__name__
    loop.close()
    print(f"pool: every library has the same pool of {args.pool} connections, no overflow; the event loop "
          f"is asyncio's default ({loop_name})  ")
    print("client CPU us/op: CPU time of the benchmark process (all its threads) in the timed section per "
          "operation, median; the database servers' CPU is not in it, and it moves less than ops/s when "
          "other work shares the machine\n", flush=True)
    return harness.parent(__file__, argv, args, dbs, libs, versions, {"tasks": args.tasks, "pool": args.pool},
                          300, "asyncio-")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
