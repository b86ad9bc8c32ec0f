"""Ready-made behaviours: timestamps, soft delete, optimistic locking, UUID keys."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from rhosocial.activerecord import (
    ActiveRecord,
    Field,
    OptimisticLockMixin,
    RecordNotFound,
    SoftDeleteMixin,
    StaleObjectError,
    TimestampMixin,
    UnsafeQueryError,
    UUIDPrimaryKeyMixin,
)

LONG_AGO = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)


class Entry(TimestampMixin, ActiveRecord):
    title: str = Field(max_length=50)


class Memo(SoftDeleteMixin, ActiveRecord):
    text: str = Field(max_length=50)


class Ledger(OptimisticLockMixin, ActiveRecord):
    balance: int = 0
    owner: str = Field("", max_length=50)


class Document(UUIDPrimaryKeyMixin, TimestampMixin, SoftDeleteMixin, OptimisticLockMixin, ActiveRecord):
    name: str = Field(max_length=50)


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Entry, Memo, Ledger, Document)


def backdate(record, **columns):
    """Set timestamp columns in the database (and the record) to fixed past values."""
    type(record).query().where(id=record.id).update_all(**columns)
    record.refresh()


# -- TimestampMixin --------------------------------------------------------------


def test_timestamps_are_set_on_create_in_utc():
    e = Entry.create(title="a")
    assert e.created_at is not None and e.created_at == e.updated_at
    assert e.created_at.utcoffset() == dt.timedelta(0)
    loaded = Entry.find(e.id)
    assert loaded.created_at == e.created_at and loaded.updated_at == e.updated_at
    assert loaded.created_at.tzinfo is not None and loaded.created_at.utcoffset() == dt.timedelta(0)


def test_update_keeps_created_at_and_bumps_updated_at():
    e = Entry.create(title="a")
    backdate(e, created_at=LONG_AGO, updated_at=LONG_AGO)
    e.update(title="b")
    assert e.created_at == LONG_AGO
    assert e.updated_at > LONG_AGO and e.updated_at.tzinfo is not None
    loaded = Entry.find(e.id)
    assert loaded.created_at == LONG_AGO and loaded.updated_at == e.updated_at


def test_updated_at_is_not_bumped_when_nothing_changed(backend):
    e = Entry.create(title="a")
    backdate(e, created_at=LONG_AGO, updated_at=LONG_AGO)
    with backend.capture_statements() as statements:
        e.save()
        e.update(title="a")
    assert statements == []
    assert Entry.find(e.id).updated_at == LONG_AGO


def test_explicit_created_at_is_kept():
    e = Entry.create(title="a", created_at=LONG_AGO)
    assert Entry.find(e.id).created_at == LONG_AGO


# -- SoftDeleteMixin -------------------------------------------------------------


def test_soft_delete_hides_rows_but_keeps_them(count_rows):
    keep, gone = Memo.create(text="keep"), Memo.create(text="gone")
    gone.delete()
    assert gone.is_deleted and gone.deleted_at is not None
    assert count_rows("memos") == 2  # the row is still there
    assert [m.text for m in Memo.all()] == ["keep"]
    assert Memo.count() == 1 and Memo.query().count() == 1
    assert Memo.query().where(text="gone").first() is None
    assert Memo.find_by(text="gone") is None
    assert not Memo.query().where(text="gone").exists()
    with pytest.raises(RecordNotFound):
        Memo.find(gone.id)
    assert Memo.find(keep.id).text == "keep"


def test_with_deleted_and_only_deleted():
    Memo.create(text="keep")
    Memo.create(text="gone").delete()
    assert sorted(m.text for m in Memo.with_deleted().all()) == ["gone", "keep"]
    assert sorted(m.text for m in Memo.query().with_deleted()) == ["gone", "keep"]
    assert [m.text for m in Memo.only_deleted().all()] == ["gone"]
    assert Memo.query().only_deleted().count() == 1
    assert Memo.query().with_deleted().where(text="gone").one().is_deleted


def test_restore_brings_a_row_back():
    m = Memo.create(text="back")
    m.delete()
    assert Memo.count() == 0
    m.restore()
    assert not m.is_deleted
    assert Memo.find(m.id).text == "back"


def test_hard_delete_removes_the_row(count_rows):
    m = Memo.create(text="x")
    m.hard_delete()
    assert count_rows("memos") == 0
    assert Memo.with_deleted().count() == 0


def test_hard_delete_runs_the_delete_hooks(bind):
    log: list[str] = []

    class Hooked(SoftDeleteMixin, ActiveRecord):
        text: str = Field(max_length=50)

        def before_delete(self):
            log.append("before_delete")

        def after_delete(self):
            log.append("after_delete")

    bind(Hooked)
    h = Hooked.create(text="x")
    h.hard_delete()
    assert log == ["before_delete", "after_delete"]
    assert Hooked.with_deleted().count() == 0


def test_delete_all_soft_deletes(count_rows):
    for text in ("a", "b", "c"):
        Memo.create(text=text)
    assert Memo.query().where(Memo.c.text.in_(["a", "b"])).delete_all() == 2
    assert count_rows("memos") == 3
    assert Memo.query().pluck("text") == ["c"]
    assert sorted(Memo.only_deleted().pluck("text")) == ["a", "b"]
    with pytest.raises(UnsafeQueryError):
        Memo.query().delete_all()
    assert Memo.query().delete_all(all_rows=True) == 1
    assert count_rows("memos") == 3 and Memo.count() == 0


def test_refresh_of_a_soft_deleted_record_still_works():
    m = Memo.create(text="x")
    Memo.find(m.id).delete()
    assert m.refresh().is_deleted


# -- OptimisticLockMixin ---------------------------------------------------------


def test_lock_version_counts_updates():
    account = Ledger.create(balance=10)
    assert account.lock_version == 0
    account.update(balance=20)
    assert account.lock_version == 1
    assert Ledger.find(account.id).lock_version == 1


def test_stale_save_raises_and_writes_nothing(backend):
    account = Ledger.create(balance=100)
    first, second = Ledger.find(account.id), Ledger.find(account.id)
    first.update(balance=150)
    second.balance = 50
    with pytest.raises(StaleObjectError):
        second.save()
    stored = Ledger.find(account.id)
    assert (stored.balance, stored.lock_version) == (150, 1)
    assert second.lock_version == 0 and second.is_dirty  # memory not bumped
    second.refresh()
    second.update(balance=second.balance - 50)
    assert Ledger.find(account.id).balance == 100


def test_stale_save_of_other_column_is_refused_too():
    account = Ledger.create(balance=1, owner="a")
    first, second = Ledger.find(account.id), Ledger.find(account.id)
    first.update(balance=2)
    with pytest.raises(StaleObjectError):
        second.update(owner="b")
    assert Ledger.find(account.id).owner == "a"


def test_stale_delete_raises_and_keeps_the_row(count_rows):
    account = Ledger.create(balance=1)
    first, second = Ledger.find(account.id), Ledger.find(account.id)
    first.update(balance=2)
    with pytest.raises(StaleObjectError):
        second.delete()
    assert count_rows("ledgers") == 1
    first.delete()
    assert count_rows("ledgers") == 0


def test_delete_of_a_row_already_deleted_is_stale():
    account = Ledger.create(balance=1)
    copy = Ledger.find(account.id)
    account.delete()
    with pytest.raises(StaleObjectError):
        copy.update(balance=5)


def test_two_connections_racing_with_optimistic_locks(backend, backend_factory):
    account = Ledger.create(balance=10)
    other = backend_factory()

    class LedgerElsewhere(OptimisticLockMixin, ActiveRecord):
        __tablename__ = "ledgers"
        balance: int = 0
        owner: str = Field("", max_length=50)

    LedgerElsewhere.configure(other)
    mine, theirs = Ledger.find(account.id), LedgerElsewhere.find(account.id)
    theirs.update(balance=11)
    with pytest.raises(StaleObjectError):
        mine.update(balance=12)
    assert Ledger.find(account.id).balance == 11


# -- all of them together ---------------------------------------------------------


def test_mixins_combine(count_rows):
    doc = Document.create(name="spec")
    assert isinstance(doc.id, uuid.UUID) and doc.created_at is not None and doc.lock_version == 0
    copy = Document.find(doc.id)
    doc.update(name="spec v2")
    assert doc.lock_version == 1
    with pytest.raises(StaleObjectError):
        copy.delete()  # a soft delete of a stale copy is refused as well
    assert Document.count() == 1
    doc.delete()
    assert Document.count() == 0 and count_rows("documents") == 1
    restored = Document.only_deleted().one()
    assert restored.id == doc.id and restored.lock_version == 2


def test_batches_over_uuid_keys_skip_soft_deleted_rows(backend):
    Document.insert_many([Document(name=f"d{i}") for i in range(11)])
    Document.query().where(name=["d1", "d2"]).delete_all()
    with backend.capture_statements() as statements:
        batches = list(Document.query().in_batches(3))
    assert [len(b) for b in batches] == [3, 3, 3]
    assert sorted(d.name for b in batches for d in b) == sorted(f"d{i}" for i in range(11) if i not in (1, 2))
    assert all("LIMIT" in s.upper() for s in statements)
    assert Document.with_deleted().count() == 11


def test_soft_delete_rolled_back_by_an_after_hook_leaves_the_record_undeleted(bind):
    class Fragile(SoftDeleteMixin, ActiveRecord):
        text: str = Field(max_length=50)

        def after_delete(self):
            raise RuntimeError("no")

    bind(Fragile)
    f = Fragile.create(text="x")
    with pytest.raises(RuntimeError):
        f.delete()
    assert Fragile.count() == 1
    assert not f.is_deleted and not f.is_dirty  # memory agrees with the database
