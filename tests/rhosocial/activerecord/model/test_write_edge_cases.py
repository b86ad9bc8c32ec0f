"""The edges of the issue-14 writes, each a defect a review reproduced before it was fixed."""
from __future__ import annotations

import threading
from typing import ClassVar, Optional

import pytest

from rhosocial.activerecord import (
    ActiveRecord,
    Field,
    ReadOnlyRecordError,
    SoftDeleteMixin,
    StaleObjectError,
    belongs_to,
)
from rhosocial.activerecord.backend import IsolationLevel
from rhosocial.activerecord.backend.errors import SerializationError, UniqueViolationError
from rhosocial.activerecord.model.mixins import OptimisticLockMixin
from rhosocial.activerecord.testing.threads import run_threads


class Entry(OptimisticLockMixin, ActiveRecord):
    __tablename__ = "we_entries"
    email: str = Field(max_length=40, unique=True)
    score: int = 0
    owner: str = Field("", max_length=20, readonly=True)
    status: Optional[str] = Field(max_length=10, db_default="new")


class Board(ActiveRecord):
    __tablename__ = "we_boards"
    pins_count: int = 0


class Pin(SoftDeleteMixin, ActiveRecord):
    __tablename__ = "we_pins"
    board_id: Optional[int] = None
    board = belongs_to(Board, counter_cache="pins_count")


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Entry, Board, Pin)


def stored(backend, sql):
    return [tuple(r.values()) for r in backend.fetch_all(sql)]


def test_a_failing_bulk_call_inside_the_callers_transaction_writes_nothing(backend):
    Entry.insert_many([{"email": f"{i}"} for i in range(4)])
    rows = Entry.order_by("id").all()
    Entry.find(rows[3].id).update(score=-1)  # rows[3] is stale: it is in the second batch
    for r in rows:
        r.score += 100
    with Entry.transaction():
        with pytest.raises(StaleObjectError):
            Entry.bulk_update(rows, ["score"], batch_size=2)
        with pytest.raises(UniqueViolationError):
            Entry.insert_many([{"email": f"n{i}"} for i in range(600)] + [{"email": "0"}])
        Entry.create(email="after")  # the caller's transaction goes on
    assert stored(backend, "SELECT score, lock_version FROM we_entries ORDER BY id") == [
        (0, 0), (0, 0), (0, 0), (-1, 1), (0, 0)]
    assert backend.fetch_value("SELECT COUNT(*) FROM we_entries WHERE email LIKE 'n%'") == 0
    assert all(r.is_dirty and r.lock_version == 0 for r in rows)


def test_bulk_changes_refuse_limit_and_offset(backend):
    Entry.insert_many([{"email": f"{i}"} for i in range(5)])
    for call in (lambda q: q.delete_all(), lambda q: q.delete_all(returning=True),
                 lambda q: q.update_all(score=1), lambda q: q.update_all(returning=True, score=1)):
        with pytest.raises(ValueError, match="limit"):
            call(Entry.where(Entry.c.score >= 0).order_by("id").limit(2))
    assert stored(backend, "SELECT COUNT(*), SUM(score) FROM we_entries") == [(5, 0)]


def test_insert_or_ignore_with_a_target_returns_only_rows_inserted(backend):
    Entry.create(email="a", score=7)
    got = Entry.insert_many([{"email": "a"}, {"email": "d"}, {"email": "d"}], ignore_duplicates=True,
                            unique_by="email", returning=True)
    assert [r.email for r in got] == ["d"]
    assert stored(backend, "SELECT email, score, lock_version FROM we_entries ORDER BY email") == [
        ("a", 7, 0), ("d", 0, 0)]


def test_unique_by_on_a_table_made_elsewhere_asks_the_catalog(backend):
    backend.execute("CREATE TABLE we_plain (id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL)")

    class Plain(ActiveRecord):
        __tablename__ = "we_plain"
        id: Optional[int] = None
        email: str = Field(max_length=40, unique=True)  # the table has no such constraint

    with pytest.raises(ValueError, match="neither the primary key nor a unique index"):
        Plain.upsert_all([{"id": 1, "email": "a"}], unique_by="email")
    with pytest.raises(ValueError, match="neither the primary key nor a unique index"):
        Plain.insert_many([{"id": 1, "email": "a"}], ignore_duplicates=True, unique_by="email")
    assert backend.fetch_value("SELECT COUNT(*) FROM we_plain") == 0


def test_counts_stay_right_when_two_copies_of_a_child_are_written(backend):
    board, other = Board.create(), Board.create()
    pin = Pin.create(board_id=board.id)
    Pin.create(board_id=board.id)
    first, second = Pin.find(pin.id), Pin.find(pin.id)
    assert first.delete() is True
    assert second.delete() is False  # already soft-deleted: not uncounted twice
    assert backend.fetch_value(f"SELECT pins_count FROM we_boards WHERE id = {int(board.id)}") == 1
    third = Board.create()
    mover = Pin.create(board_id=board.id)
    a, b = Pin.find(mover.id), Pin.find(mover.id)
    a.board_id = other.id
    a.save()
    b.board_id = third.id  # a stale copy: the row is at `other` now
    b.save()
    counts = stored(backend, "SELECT id, pins_count FROM we_boards ORDER BY id")
    assert counts == [(board.id, 1), (other.id, 0), (third.id, 1)]


def test_composite_key_lists_past_a_thousand_rows(backend):
    class Cell(ActiveRecord):
        __tablename__ = "we_cells"
        __primary_key__ = ("x", "y")
        x: int
        y: int
        hits: int = 0

    Cell.create_table()
    Cell.insert_many([{"x": i % 40, "y": i // 40} for i in range(1200)])
    assert Cell.update_counters([(i % 40, i // 40) for i in range(1200)], hits=1) == 1200
    cells = Cell.all()
    for c in cells:
        c.hits += 1
    assert Cell.bulk_update(cells, ["hits"]) == 1200
    assert backend.fetch_value("SELECT SUM(hits) FROM we_cells") == 2400


def test_update_or_create_racing_on_a_missing_key_neither_deadlocks_nor_doubles(backend):
    if not backend.capabilities.supports_multiple_connections:
        pytest.skip("one connection: nothing runs at once")

    class Slot(ActiveRecord):
        __tablename__ = "we_slots"
        name: str = Field(max_length=20, unique=True)
        value: int = 0
        gate: ClassVar[Optional[threading.Barrier]] = None

        def before_create(self):
            if Slot.gate is not None:
                try:
                    Slot.gate.wait()  # both callers have looked before either inserts
                except threading.BrokenBarrierError:
                    pass

    Slot.create_table()
    Slot.create(name="other")
    if not backend.capabilities.serializes_write_transactions:  # (there the second waits at BEGIN)
        Slot.gate = threading.Barrier(2, timeout=5)
    got = run_threads(lambda i: Slot.update_or_create(name="k", defaults={"value": i + 1}), 2, timeout=60)
    Slot.gate = None
    assert backend.fetch_value("SELECT COUNT(*) FROM we_slots WHERE name = 'k'") == 1
    assert len({r.id for r in got}) == 1
    assert backend.fetch_value("SELECT value FROM we_slots WHERE name = 'k'") in (1, 2)


def test_losing_the_insert_race_under_a_snapshot_says_retry(backend):
    if backend.name != "postgres":
        pytest.skip("PostgreSQL's REPEATABLE READ cannot see a row committed after its snapshot")
    snapshot, committed = threading.Event(), threading.Event()
    outcome = {}

    def loser():
        try:
            with backend.transaction(isolation_level=IsolationLevel.REPEATABLE_READ):
                Entry.count()  # the snapshot is taken here
                snapshot.set()
                committed.wait(10)
                Entry.find_or_create_by(email="raced")
        except Exception as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    thread = threading.Thread(target=loser)
    thread.start()
    snapshot.wait(10)
    Entry.create(email="raced")
    committed.set()
    thread.join(30)
    assert isinstance(outcome.get("error"), SerializationError)
    assert "run the whole transaction again" in str(outcome["error"])
    assert Entry.run_in_transaction(lambda: Entry.find_or_create_by(email="raced")).email == "raced"


def test_a_caught_unique_violation_leaves_the_callers_transaction_usable(backend):
    class Named(ActiveRecord):
        __tablename__ = "we_named"
        name: str = Field(max_length=20, unique=True)

        def before_save(self):
            pass

    Named.create_table()
    Named.create(name="a")
    with Named.transaction():
        racer = Named(name="a")
        from rhosocial.activerecord.model.validation import leave_uniqueness_to_the_database

        leave_uniqueness_to_the_database(racer)  # as if another caller inserted after the check
        Named.query().exists()
        with pytest.raises(UniqueViolationError):
            with Named.transaction():
                racer.save()
        Named.create(name="c")
    assert sorted(r[0] for r in stored(backend, "SELECT name FROM we_named")) == ["a", "c"]


def test_read_only_records_and_fields_are_not_written_by_other_paths(backend):
    Entry.create(email="a", owner="ann")
    shown = Entry.query().readonly().first()
    shown.score = 5
    with pytest.raises(ReadOnlyRecordError):
        Entry.upsert_all([shown])
    with pytest.raises(ReadOnlyRecordError):
        Entry.insert_many([shown])
    with pytest.raises(ReadOnlyRecordError):
        shown.increment("score")
    with pytest.raises(ReadOnlyRecordError):
        shown.touch()
    Entry.upsert_all([{"email": "a", "owner": "bob", "score": 2}], unique_by="email")  # owner is kept
    assert stored(backend, "SELECT owner, score FROM we_entries") == [("ann", 2)]
    with pytest.raises(ReadOnlyRecordError):
        Entry.upsert_all([{"email": "a", "owner": "bob"}], unique_by="email", update=["owner"])


def test_records_an_upsert_returned_are_unsaved_again_after_a_rollback(backend):
    with pytest.raises(RuntimeError):
        with Entry.transaction():
            made = Entry.upsert(email="u", unique_by="email")
            got = Entry.insert_many([{"email": "v"}], ignore_duplicates=True, returning=True)
            raise RuntimeError
    assert made.is_new_record and made.id is None
    assert got[0].is_new_record and got[0].id is None
    made.save()  # inserts it now
    assert backend.fetch_value("SELECT COUNT(*) FROM we_entries") == 1


def test_update_names_a_field_the_rows_leave_to_its_default(backend):
    Entry.create(email="a", status="old")
    Entry.upsert_all([{"email": "a", "score": 1}], unique_by="email", update=["score", "status"])
    assert stored(backend, "SELECT score, status FROM we_entries") == [(1, "new")]
    Entry.upsert_all([{"email": "a", "score": 2}], unique_by="email")  # by default status is kept
    Entry.find_by(email="a").update_columns(status="kept")
    Entry.upsert_all([{"email": "a", "score": 3}], unique_by="email")
    assert stored(backend, "SELECT score, status FROM we_entries") == [(3, "kept")]


# How each server names a session and ends one (as in backend/test_lost_connections.py).
SESSIONS = {"postgres": ("SELECT pg_backend_pid()", "SELECT pg_terminate_backend({})"),
            "mysql": ("SELECT CONNECTION_ID()", "KILL {}")}


@pytest.mark.parametrize("call", ["bulk_update", "insert_many"])
def test_a_connection_lost_between_batches_leaves_no_record_claiming_a_write(backend, backend_factory, call):
    from rhosocial.activerecord.backend import ConnectionLostError

    if backend.name not in SESSIONS:
        pytest.skip(f"{backend.name}: no server sessions to end")
    admin = backend_factory()
    Entry.insert_many([{"email": f"{i}"} for i in range(4)])
    rows = Entry.order_by("id").all()
    for r in rows:
        r.score += 1
    fresh = [Entry(email=f"new{i}") for i in range(600)]  # two INSERTs of 500 and 100 rows
    fired = []

    def after(sql, params, seconds):
        if not fired and sql.lstrip().upper().startswith(("UPDATE", "INSERT")):
            fired.append(sql)  # the first batch ran: the server ends the session before the second
            me, kill = SESSIONS[backend.name]
            admin.execute(kill.format(int(backend.fetch_value(me))))

    backend.add_listener(after)
    try:
        with pytest.raises(ConnectionLostError):
            if call == "bulk_update":
                Entry.bulk_update(rows, ["score"], batch_size=2)
            else:
                Entry.insert_many(fresh, returning=True)
    finally:
        backend.remove_listener(after)
    assert fired
    q = backend.dialect.quote_identifier
    assert admin.fetch_value(f"SELECT SUM({q('score')}) FROM {q('we_entries')}") == 0
    assert admin.fetch_value(f"SELECT COUNT(*) FROM {q('we_entries')}") == 4
    assert all(r.is_dirty and r.lock_version == 0 and r.previous_changes == {} for r in rows)
    assert all(f.is_new_record and f.id is None for f in fresh)
    Entry.bulk_update(rows, ["score"])  # on a fresh connection it goes through
    assert admin.fetch_value(f"SELECT SUM({q('score')}) FROM {q('we_entries')}") == 4
