"""Private database servers: they answer, stop answering when frozen, answer again when
thawed, survive kill and restart, and leave no process behind when stopped.

Every test runs under a hard deadline (:func:`servers.hard_deadline`, as pytest-timeout
is not a dependency). Start and stop times are printed (``-s`` shows them) and recorded
as test properties (``--junitxml`` keeps them).
"""
from __future__ import annotations

import importlib
import os
import select
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import servers
from servers import (
    PrivateMariaDB,
    PrivatePostgres,
    PrivateServer,
    hard_deadline,
    in_ci,
    pid_alive,
    proc_info,
    start_or_skip,
)

# The fixtures, made visible to this module by name (a conftest can do the same).
private_postgres = servers.private_postgres
private_mariadb = servers.private_mariadb

#: Seconds any one test may take, server start and stop included.
TEST_DEADLINE = 90.0
SHARED_PORTS = {5432, 3306}


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    """Give every test in this module a hard deadline."""
    with hard_deadline(TEST_DEADLINE):
        yield


def _driver(name: str) -> ModuleType:
    """Import a database driver; skip without it (fail under ``CI=true``)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"driver {name!r} not installed (pip install -e '.[postgres,mysql]')"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _processes_naming(path: Path) -> list[int]:
    """Return live processes whose command line mentions ``path``."""
    found = []
    needle = str(path).encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and pid_alive(int(name)):
            found.append(int(name))
    return found


def _check_private(server: PrivateServer) -> None:
    """Assert the server is ours: own port, own temp dir, its main process runs on that dir."""
    assert server.port not in SHARED_PORTS
    assert server.base_dir is not None
    assert server.base_dir.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert server.pid is not None
    cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    assert str(server.data_dir).encode() in cmdline


def _states(server: PrivateServer) -> set[str]:
    """Return the set of process states of the server's processes."""
    return {info.state for pid in server.pids() if (info := proc_info(pid)) is not None}


def _report(server: PrivateServer, record_property: Any, label: str) -> None:
    """Print and record how long the server took to start and to stop."""
    start, stop = server.start_seconds, server.stop_seconds
    record_property(f"{label}_start_seconds", start)
    record_property(f"{label}_stop_seconds", stop)
    print(f"\n[timing] private {label}: start {start or 0:.2f}s, stop {stop or 0:.2f}s")


def _assert_stopped(server: PrivateServer, pids: list[int], base: Path) -> None:
    """Assert ``stop()`` left no process and no directory behind."""
    assert pids, "the server had no processes to check"
    assert [p for p in pids if pid_alive(p)] == []
    assert _processes_naming(base) == []
    assert not base.exists()
    assert server.pid is None


# --------------------------------------------------------------------------- PostgreSQL


def _pg_wait_result(conn: Any, timeout: float) -> bytes | None:
    """Read the pending result of ``send_query`` on ``conn`` within ``timeout`` seconds."""
    pgconn = conn.pgconn
    deadline = time.monotonic() + timeout
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        left = deadline - time.monotonic()
        assert left > 0, "no answer from the thawed server"
        select.select([conn.fileno()], [], [], left)
    result = pgconn.get_result()
    assert result is not None
    value: bytes | None = result.get_value(0, 0)
    while pgconn.get_result() is not None:  # drain to idle so psycopg can use it again
        pass
    return value


def test_postgres_answers_freezes_thaws_and_stops(record_property: Any) -> None:
    """SELECT 1 works; frozen, no byte comes back within 1 s; thawed, the same connection answers."""
    psycopg = _driver("psycopg")
    server = PrivatePostgres()
    try:
        start_or_skip(server)
        _check_private(server)
        assert server.url == f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        with psycopg.connect(server.url, autocommit=True, connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid in server.backend_pids()

            server.freeze()
            assert server.frozen and _states(server) == {"T"}
            conn.pgconn.send_query(b"SELECT 1")
            while conn.pgconn.flush():  # the connection is non-blocking
                select.select([], [conn.fileno()], [], 1.0)
            began = time.monotonic()
            readable, _, _ = select.select([conn.fileno()], [], [], 1.0)
            assert readable == [], "a frozen server answered"
            assert time.monotonic() - began >= 0.9
            with pytest.raises(psycopg.OperationalError):  # new connections hang too
                psycopg.connect(server.url, connect_timeout=2)

            server.thaw()
            assert not server.frozen and "T" not in _states(server)
            assert _pg_wait_result(conn, timeout=10) == b"1"
            assert conn.execute("SELECT 2").fetchone() == (2,)
        pids, base = server.pids(), server.base_dir
        assert base is not None and len(pids) > 1
    finally:
        server.stop()
    _assert_stopped(server, pids, base)
    _report(server, record_property, "postgres")


# --------------------------------------------------------------------------- MariaDB


def _my_query(conn: Any, sql: str) -> tuple[Any, ...] | None:
    """Run ``sql`` on a PyMySQL connection and return the first row."""
    with conn.cursor() as cur:
        cur.execute(sql)
        row: tuple[Any, ...] | None = cur.fetchone()
        return row


def test_mariadb_answers_freezes_thaws_and_stops(record_property: Any) -> None:
    """SELECT 1 works; frozen, a 1 s read timeout fires and a query waits; thawed, it answers."""
    pymysql = _driver("pymysql")
    server = PrivateMariaDB()
    try:
        start_or_skip(server)
        _check_private(server)
        assert server.url == f"mysql://root@127.0.0.1:{server.port}/test"
        main = pymysql.connect(**server.params, connect_timeout=5, read_timeout=15,
                               write_timeout=15)
        short = pymysql.connect(**server.params, connect_timeout=5, read_timeout=1,
                                write_timeout=1)
        try:
            assert _my_query(main, "SELECT 1") == (1,)
            assert _my_query(short, "SELECT DATABASE()") == ("test",)

            server.freeze()
            assert server.frozen and _states(server) == {"T"}
            began = time.monotonic()
            with pytest.raises(pymysql.err.OperationalError):
                _my_query(short, "SELECT 1")
            assert 0.9 <= time.monotonic() - began < 5

            # The same connection, waiting in a thread: no answer while frozen, one after thaw.
            box: dict[str, Any] = {}

            def query() -> None:
                try:
                    box["row"] = _my_query(main, "SELECT 1")
                except pymysql.err.Error as exc:  # reported by the assertions below
                    box["error"] = exc

            waiter = threading.Thread(target=query, daemon=True)
            waiter.start()
            waiter.join(1.0)
            assert waiter.is_alive() and not box, f"a frozen server answered: {box}"

            server.thaw()
            waiter.join(10.0)
            assert box == {"row": (1,)}
            assert _my_query(main, "SELECT 2") == (2,)
        finally:
            for conn in (main, short):
                if conn.open:
                    conn.close()
        pids, base = server.pids(), server.base_dir
        assert base is not None and pids
    finally:
        server.stop()
    _assert_stopped(server, pids, base)
    _report(server, record_property, "mariadb")


# --------------------------------------------------------------------------- both


@pytest.mark.parametrize("factory", [PrivatePostgres, PrivateMariaDB], ids=["postgres", "mariadb"])
def test_stop_works_on_a_frozen_server(factory: type[PrivateServer],
                                       record_property: Any) -> None:
    """stop() of a frozen server resumes it, shuts it down, and leaves nothing behind."""
    server = start_or_skip(factory())
    try:
        server.freeze()
        pids, base = server.pids(), server.base_dir
        assert base is not None and _states(server) == {"T"}
    finally:
        server.stop()
    _assert_stopped(server, pids, base)
    assert server.stop_seconds is not None and server.stop_seconds < server.stop_timeout
    _report(server, record_property, f"{server.kind}-frozen")


def test_fixtures_give_private_running_servers(private_postgres: PrivatePostgres,
                                               private_mariadb: PrivateMariaDB) -> None:
    """The module-scoped fixtures hand out started private servers."""
    for server in (private_postgres, private_mariadb):
        _check_private(server)
        assert server.is_running() and not server.frozen
    assert private_postgres.url.startswith("postgresql://postgres@127.0.0.1:")
    assert private_mariadb.url.startswith("mysql://root@127.0.0.1:")


def test_postgres_kill_and_restart_keep_data(private_postgres: PrivatePostgres) -> None:
    """kill() ends every process at once; start() recovers the data on the same port."""
    psycopg = _driver("psycopg")
    server = private_postgres
    port = server.port
    try:
        with psycopg.connect(server.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE TABLE kept (n int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        before = server.pids()
        server.kill()
        assert [p for p in before if pid_alive(p)] == [] and server.pid is None
        server.start()
        assert server.port == port
        server.restart()
        assert server.port == port and server.pid not in before
        with psycopg.connect(server.url, autocommit=True, connect_timeout=5) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]
            conn.execute("DROP TABLE kept")
    finally:
        server.ensure_running()


def test_mariadb_kill_and_restart_keep_data(private_mariadb: PrivateMariaDB) -> None:
    """kill() of a frozen server ends it; start() recovers committed data on the same port."""
    pymysql = _driver("pymysql")
    server = private_mariadb
    port = server.port
    try:
        conn = pymysql.connect(**server.params, autocommit=True, connect_timeout=5,
                               read_timeout=10)
        with conn:
            _my_query(conn, "CREATE TABLE kept (n int) ENGINE=InnoDB")
            _my_query(conn, "INSERT INTO kept VALUES (42)")
        before = server.pids()
        server.freeze()
        server.kill()
        assert [p for p in before if pid_alive(p)] == [] and server.pid is None
        server.start()
        assert server.port == port
        server.restart()
        assert server.port == port and server.pid not in before
        conn = pymysql.connect(**server.params, autocommit=True, connect_timeout=5,
                               read_timeout=10)
        with conn:
            assert _my_query(conn, "SELECT n FROM kept") == (42,)
            _my_query(conn, "DROP TABLE kept")
    finally:
        server.ensure_running()
