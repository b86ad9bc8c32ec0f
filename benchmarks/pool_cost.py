#!/usr/bin/env python3
"""What the pool costs per statement: lend and return, and a pooled statement against the driver.

    python3 benchmarks/pool_cost.py [--db sqlite,postgres,mysql] [--n 20000] [--repeat 7]

Prints, per database, microseconds per operation (best of ``--repeat`` runs,
the loops interleaved): the pool's acquire+release of an idle connection;
``SELECT 1`` through the raw driver on one connection; the same through
``backend.execute_raw`` outside a transaction (a connection borrowed and
returned for the statement) and inside one (the transaction's connection).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def best(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def settings_for(kind: str) -> dict[str, Any]:
    """Connection settings for ``kind``, from the same environment variables as run.py."""
    if kind == "sqlite":
        import tempfile

        return {"database": str(Path(tempfile.mkdtemp(prefix="pool-cost-")) / "cost.db")}
    from common import server_databases

    db = server_databases()[kind]
    return {"host": db.host, "port": db.port, "user": db.user, "password": db.password or None,
            "database": db.database}


def measure(kind: str, n: int, repeat: int) -> dict[str, float] | None:
    from rhosocial.activerecord.backend.registry import create_backend

    backend = create_backend(kind, **settings_for(kind))
    try:
        backend.connect()
    except Exception as exc:  # noqa: BLE001 - a server that is down is reported, not fatal
        print(f"{kind}: skipped ({exc})")
        return None
    pool = backend.pool
    with backend.connection() as raw:
        driver = _driver_select(kind, raw)
    cells: dict[str, list[float]] = {}
    loops: dict[str, Callable[[], Any]] = {"raw driver SELECT 1": driver}
    loops["pool acquire+release"] = lambda: pool.release(pool.acquire())
    loops["execute_raw SELECT 1, pooled"] = lambda: backend.execute_raw("SELECT 1")

    for _ in range(repeat):
        for name, fn in loops.items():
            if name == "raw driver SELECT 1":
                with backend.connection():  # the same connection, held, as a driver user would
                    cells.setdefault(name, []).append(best(fn, n))
            else:
                cells.setdefault(name, []).append(best(fn, n))
        with backend.transaction():
            backend.execute_raw("SELECT 1")
            cells.setdefault("execute_raw SELECT 1, in a transaction", []).append(
                best(lambda: backend.execute_raw("SELECT 1"), n))
    backend.disconnect()
    return {name: min(values) for name, values in cells.items()}


def _driver_select(kind: str, connection: Any) -> Callable[[], Any]:
    if kind == "postgres":
        cursor = connection.cursor()
        return lambda: (cursor.execute("SELECT 1"), cursor.fetchall())
    if kind == "mysql":
        def run() -> Any:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            rows = cursor.fetchall()
            cursor.close()
            return rows
        return run
    return lambda: connection.execute("SELECT 1").fetchall()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres,mysql")
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("# pool cost per statement (microseconds, best of runs)\n")
    for kind in args.db.split(","):
        found = measure(kind.strip(), args.n, args.repeat)
        if not found:
            continue
        raw = found["raw driver SELECT 1"]
        print(f"## {kind}\n\n| operation | us | over the raw driver |\n|---|---:|---:|")
        for name, value in found.items():
            extra = "" if name.startswith("pool") or name.startswith("raw") else f"{value - raw:+.2f}"
            print(f"| {name} | {value:.2f} | {extra} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
