"""A server that stops answering (frozen with SIGSTOP): every call is bounded by command_timeout.

A frozen server keeps its sockets open and the kernel still acknowledges
what the client sends, so neither TCP nor a server-side timeout ends the
wait; only the client-side bound does. These tests freeze private servers
started on their own ports (``servers.py``), never the shared ones.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import servers
from servers import hard_deadline

from rhosocial.activerecord.backend import (
    CommandTimeoutError,
    ConnectionError,
    ConnectionLostError,
    QueryTimeoutError,
)
from rhosocial.activerecord.config import backend_from_settings

private_postgres = servers.private_postgres
private_mariadb = servers.private_mariadb

BOUND = 1.0  # command_timeout in these tests
SLACK = 1.0  # the promise: within the bound plus a second


@pytest.fixture(params=["postgres", "mariadb"])
def frozen_target(request) -> Iterator[servers.PrivateServer]:
    server = request.getfixturevalue(f"private_{request.param}")
    server.ensure_running()
    with hard_deadline(60):
        yield server
    server.thaw()


def backend_on(server: servers.PrivateServer, **options: object):
    settings: dict[str, object] = {"command_timeout": BOUND, "connect_timeout": 2, **options}
    return backend_from_settings(url=server.url, **settings)


def timed(call) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        call()
    return info.value, time.monotonic() - started


def test_a_statement_to_a_frozen_server_is_bounded(frozen_target):
    backend = backend_on(frozen_target)
    try:
        assert backend.fetch_value("SELECT 1") == 1
        frozen_target.freeze()
        error, waited = timed(lambda: backend.fetch_value("SELECT 2"))
        assert isinstance(error, CommandTimeoutError), repr(error)
        assert isinstance(error, QueryTimeoutError) and isinstance(error, ConnectionLostError)
        assert BOUND - 0.05 <= waited <= BOUND + SLACK, f"waited {waited:.2f}s"
        assert "command_timeout=1s" in str(error)
        stats = backend.pool.stats()
        assert stats.discarded == 1 and stats.open == 0  # that connection is never lent again
        frozen_target.thaw()
        assert backend.fetch_value("SELECT 3") == 3  # a new connection, once the server answers
    finally:
        frozen_target.thaw()
        backend.disconnect()


def test_a_transaction_can_set_its_own_bound(frozen_target):
    backend = backend_on(frozen_target, command_timeout=30)
    try:
        def work() -> None:
            with backend.transaction(command_timeout=0.5):
                backend.fetch_value("SELECT 1")
                frozen_target.freeze()
                backend.fetch_value("SELECT 2")

        error, waited = timed(work)
        assert isinstance(error, CommandTimeoutError), repr(error)
        assert waited <= 0.5 + SLACK, f"waited {waited:.2f}s"
        assert not backend.in_transaction
        frozen_target.thaw()
        assert backend.fetch_value("SELECT 4") == 4
    finally:
        frozen_target.thaw()
        backend.disconnect()


def test_connecting_to_a_frozen_server_is_bounded_by_connect_timeout(frozen_target):
    backend = backend_on(frozen_target)
    try:
        frozen_target.freeze()
        error, waited = timed(backend.connect)
        assert isinstance(error, ConnectionError), repr(error)
        assert waited <= 2 + SLACK + 1, f"waited {waited:.2f}s"  # libpq counts whole seconds
    finally:
        frozen_target.thaw()
        backend.disconnect()


@pytest.fixture(scope="module")
def rollback_on_timeout_mariadb() -> Iterator[servers.PrivateServer]:
    """A private MariaDB where a lock wait timeout rolls back the whole transaction."""
    server = servers.PrivateMariaDB(server_args=("--innodb-rollback-on-timeout=ON",))
    servers.start_or_skip(server)
    try:
        yield server
    finally:
        server.stop()


def test_a_transaction_the_server_rolled_back_on_a_lock_timeout_writes_nothing_more(
        rollback_on_timeout_mariadb):
    """With innodb_rollback_on_timeout, error 1205 ends the transaction: what follows must not autocommit."""
    from rhosocial.activerecord.backend import LockTimeoutError, TransactionError

    url = rollback_on_timeout_mariadb.url
    holder = backend_from_settings(url=url, lock_timeout=1)
    victim = backend_from_settings(url=url, lock_timeout=1)
    try:
        holder.execute("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, n INT)")
        holder.execute("DELETE FROM t")
        holder.execute("INSERT INTO t VALUES (1, 0), (2, 0)")
        with hard_deadline(60):
            holder.begin_transaction()
            holder.execute("UPDATE t SET n = 1 WHERE id = 1")
            victim.begin_transaction()
            victim.execute("UPDATE t SET n = 5 WHERE id = 2")
            with pytest.raises(LockTimeoutError):
                victim.execute("UPDATE t SET n = 5 WHERE id = 1")
            with pytest.raises(TransactionError, match="transaction is gone"):
                victim.execute("INSERT INTO t VALUES (3, 3)")
            with pytest.raises(TransactionError):
                victim.commit_transaction()
            holder.rollback_transaction()
        assert holder.fetch_all("SELECT id, n FROM t ORDER BY id") == [{"id": 1, "n": 0}, {"id": 2, "n": 0}]
    finally:
        holder.disconnect()
        victim.disconnect()
