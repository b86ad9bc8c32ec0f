"""Connections the server ends: replaced when idle, reported and never reused mid-transaction.

These run on the server backends only: killing one session from another
(``pg_terminate_backend``, ``KILL``) is how a server restart, a failover or an
administrator ends connections, and SQLite has no sessions to kill.
"""
from __future__ import annotations

import threading
import time

import pytest

from rhosocial.activerecord import ActiveRecord, Field
from rhosocial.activerecord.backend import (
    ConnectionLostError,
    DatabaseError,
    DeadlockError,
    TransactionError,
)
from rhosocial.activerecord.testing.conformance.utils import insert_person, make_people, names

# How each server names a session and ends one.
SESSIONS = {
    "postgres": ("SELECT pg_backend_pid()", "SELECT pg_terminate_backend({})",
                 "SELECT count(*) FROM pg_stat_activity WHERE pid = {}"),
    "mysql": ("SELECT CONNECTION_ID()", "KILL {}",
              "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = {}"),
}


class Note(ActiveRecord):
    __tablename__ = "lost_notes"
    text: str = Field(max_length=80)


@pytest.fixture
def server(backend):
    if backend.name not in SESSIONS:
        pytest.skip(f"{backend.name}: no server sessions to end")
    return backend


@pytest.fixture
def admin(server, backend_factory):
    return backend_factory()


def session_of(backend) -> int:
    return int(backend.fetch_value(SESSIONS[backend.name][0]))


def end_session(admin, session: int) -> None:
    """End ``session`` from another connection and wait until the server has let it go."""
    _, kill, alive = SESSIONS[admin.name]
    admin.execute(kill.format(int(session)))
    deadline = time.monotonic() + 10
    while admin.fetch_value(alive.format(int(session))):
        assert time.monotonic() < deadline, "the server did not end the session"
        time.sleep(0.02)


def test_an_idle_pooled_connection_the_server_ended_is_replaced_unseen(server, admin):
    before = session_of(server)
    end_session(admin, before)
    time.sleep(server.pool_settings.pool_pre_ping + 0.05)  # idle past the check threshold
    assert session_of(server) != before  # no error: the dead connection was vetted out
    stats = server.pool.stats()
    assert stats.discarded == 1 and stats.open == 1


def test_every_idle_connection_the_server_ended_is_replaced(server, admin):
    hold = threading.Barrier(3, timeout=30)
    release = threading.Event()
    sessions: list[int] = []

    def borrow() -> None:
        with server.connection():
            sessions.append(session_of(server))
            hold.wait()
            assert release.wait(30)

    workers = [threading.Thread(target=borrow, daemon=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    hold.wait()
    release.set()
    for worker in workers:
        worker.join(30)
    assert server.pool.stats().idle >= 2
    for session in sessions:
        end_session(admin, session)
    time.sleep(server.pool_settings.pool_pre_ping + 0.05)
    fresh = {session_of(server) for _ in range(3)}
    assert fresh.isdisjoint(sessions)
    assert server.pool.stats().discarded >= 2


def test_killed_mid_transaction_loses_the_writes_restores_the_records_and_drops_the_connection(server, admin):
    Note.configure(server)
    try:
        Note.create_table()
        kept = Note.create(text="before")
        with pytest.raises(ConnectionLostError):
            with Note.transaction():
                lost = Note.create(text="lost")
                kept.update(text="changed")
                end_session(admin, session_of(server))
                Note.create(text="never")
        assert lost.is_new_record and lost.id is None
        assert kept.is_dirty and kept.changes == {"text": ("before", "changed")}
        assert admin.fetch_value(f"SELECT count(*) FROM {server.dialect.quote_identifier('lost_notes')}") == 1
        stats = server.pool.stats()
        assert stats.discarded == 1 and stats.checked_out == 0
        assert stats.open == stats.idle  # the broken connection is not among them
        kept.save()  # the next write runs on a fresh connection
        assert Note.find(kept.id).text == "changed"
    finally:
        type.__setattr__(Note, "__backend__", None)


def test_statements_after_a_lost_connection_never_run_outside_the_transaction(server, admin):
    make_people(server)
    server.begin_transaction()
    insert_person(server, "in-transaction")
    end_session(admin, session_of(server))
    with pytest.raises(ConnectionLostError):
        insert_person(server, "lost")
    for _ in range(2):  # refused, not autocommitted on a new connection
        with pytest.raises(TransactionError, match="transaction is gone"):
            insert_person(server, "would-autocommit")
    with pytest.raises(TransactionError, match="nothing in it was saved"):
        server.commit_transaction()
    assert names(admin) == []


def test_after_a_deadlock_nothing_more_of_that_transaction_is_written(server, backend_factory):
    make_people(server)
    insert_person(server, "a", 1)
    insert_person(server, "b", 1)
    first, second = backend_factory(), backend_factory()
    both_locked = threading.Barrier(2, timeout=20)
    outcome: dict[str, object] = {}
    q = server.dialect.quote_identifier
    update = server.dialect.convert_placeholders(f"UPDATE {q('people')} SET {q('age')} = ? WHERE {q('name')} = ?")

    def transfer(backend, label: str, mine: str, theirs: str) -> None:
        try:
            with backend.transaction():
                backend.execute(update, [2, mine])
                both_locked.wait()
                try:
                    backend.execute(update, [2, theirs])
                except DeadlockError as exc:
                    outcome[label] = exc
                    # Carrying on after the victim's error must not write anything.
                    try:
                        insert_person(backend, f"after-deadlock-{label}")
                    except DatabaseError as refused:
                        outcome[label + "-next"] = refused
        except DatabaseError as exc:
            outcome[label + "-commit"] = exc

    threads = [threading.Thread(target=transfer, args=(first, "x", "a", "b"), daemon=True),
               threading.Thread(target=transfer, args=(second, "y", "b", "a"), daemon=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    victims = [label for label in ("x", "y") if label in outcome]
    assert len(victims) == 1, outcome
    victim = victims[0]
    assert isinstance(outcome[victim + "-next"], TransactionError)  # refused (MySQL) or aborted (PostgreSQL)
    assert isinstance(outcome[victim + "-commit"], TransactionError)  # COMMIT refused, not silent
    assert names(server) == ["a", "b"]  # no row from after the deadlock
