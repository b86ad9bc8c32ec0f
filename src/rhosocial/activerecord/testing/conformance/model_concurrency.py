"""Models under threads, and records that tell the truth when a transaction rolls back."""
from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from rhosocial.activerecord import ActiveRecord, Field, RecordNotFound, StaleObjectError
from rhosocial.activerecord.backend import IsolationLevel, TransactionError, UniqueViolationError
from rhosocial.activerecord.model.mixins import OptimisticLockMixin

from ..capability import requires
from ..threads import run_threads

THREADS = 8


class KitItem(ActiveRecord):
    __tablename__ = "kit_items"
    thread: int
    seq: int
    value: int = 0


class KitCounter(ActiveRecord):
    __tablename__ = "kit_counters"
    n: int = 0


class KitVersioned(OptimisticLockMixin, ActiveRecord):
    __tablename__ = "kit_versioned"
    n: int = 0


class KitLog(ActiveRecord):
    __tablename__ = "kit_logs"
    message: str = Field(max_length=200)


class KitAccount(ActiveRecord):
    """Writes a log row in before_save and keeps a journal of its commit hooks."""

    __tablename__ = "kit_accounts"
    name: str = Field(max_length=80, unique=True)
    balance: int = 0
    journal: ClassVar[list[tuple[str, str]]] = []

    def before_save(self) -> None:
        KitLog.create(message=f"saving {self.name}")

    def after_commit(self) -> None:
        KitAccount.journal.append(("commit", self.name))

    def after_rollback(self) -> None:
        KitAccount.journal.append(("rollback", self.name))


MODELS = (KitItem, KitCounter, KitVersioned, KitLog, KitAccount)


class _KitModels:
    @pytest.fixture
    def kit_models(self, backend):
        for model in MODELS:
            model.configure(backend)
            model.create_table()
        KitAccount.journal = []
        yield backend
        for model in MODELS:
            type.__setattr__(model, "__backend__", None)


def _seed_counter(model: type[ActiveRecord]) -> Any:
    return model.create(n=0)


class TestModelsUnderThreads(_KitModels):
    """One configure(), many threads: no errors, no wrong rows, no lost increments."""

    def test_create_find_update_from_eight_threads(self, kit_models):
        per_thread = 300
        wrong: list[str] = []

        def work(t: int) -> None:
            for i in range(per_thread):
                item = KitItem.create(thread=t, seq=i)
                found = KitItem.find(item.id)
                if (found.thread, found.seq) != (t, i):
                    wrong.append(f"thread {t} seq {i} read {found.thread}/{found.seq}")
                found.value = i * 2
                found.save()

        run_threads(work, THREADS, timeout=300)
        assert wrong == []
        rows = KitItem.query().all()
        assert len(rows) == THREADS * per_thread
        assert {(r.thread, r.seq) for r in rows} == {(t, i) for t in range(THREADS) for i in range(per_thread)}
        assert all(r.value == r.seq * 2 for r in rows)

    def test_increments_in_transactions_with_row_locks(self, kit_models):
        caps = kit_models.capabilities
        if not (caps.supports_for_update or caps.serializes_write_transactions):
            pytest.skip(f"{kit_models.name}: supports_for_update and serializes_write_transactions are false")
        counter = _seed_counter(KitCounter)

        def work(t: int) -> None:
            for _ in range(200):
                with KitCounter.transaction():
                    row = KitCounter.where(id=counter.id).for_update().one()
                    row.update(n=row.n + 1)

        run_threads(work, THREADS, timeout=300)
        assert KitCounter.find(counter.id).n == THREADS * 200

    def test_increments_with_optimistic_locking_and_retries(self, kit_models):
        counter = _seed_counter(KitVersioned)
        conflicts: list[int] = []

        def increment() -> None:
            row = KitVersioned.find(counter.id)
            row.n += 1
            try:
                row.save()
            except StaleObjectError:
                conflicts.append(1)
                raise

        def work(t: int) -> None:
            for _ in range(200):
                KitVersioned.run_in_transaction(increment, retries=1000, backoff=0.001, max_backoff=0.02)

        run_threads(work, THREADS, timeout=600)
        final = KitVersioned.find(counter.id)
        assert final.n == THREADS * 200
        assert final.lock_version == THREADS * 200  # every increment, and only they, bumped it

    def test_increments_serializable_with_retries(self, kit_models):
        requires(kit_models, "SERIALIZABLE")
        counter = _seed_counter(KitCounter)

        def increment() -> None:
            row = KitCounter.find(counter.id)
            row.update(n=row.n + 1)

        def work(t: int) -> None:
            for _ in range(200):
                KitCounter.run_in_transaction(increment, retries=1000, backoff=0.001, max_backoff=0.02,
                                              isolation_level=IsolationLevel.SERIALIZABLE)

        run_threads(work, THREADS, timeout=600)
        assert KitCounter.find(counter.id).n == THREADS * 200

    def test_transactions_in_other_threads_do_not_undo_each_other(self, kit_models):
        requires(kit_models, "supports_multiple_connections")
        if kit_models.capabilities.serializes_write_transactions:
            pytest.skip(f"{kit_models.name}: serializes_write_transactions is true (one writer at a time)")
        inside, done = threading.Event(), threading.Event()
        kept: list[Any] = []

        def other() -> None:
            assert inside.wait(30)
            kept.append(KitItem.create(thread=1, seq=1))  # autocommitted while thread 0 is in a transaction
            done.set()

        worker = threading.Thread(target=other, daemon=True)
        worker.start()
        with pytest.raises(KeyError), KitItem.transaction():
            lost = KitItem.create(thread=0, seq=0)
            inside.set()
            assert done.wait(30)
            raise KeyError("thread 0 rolls back")
        worker.join(30)
        assert lost.is_new_record and lost.id is None
        assert [(r.thread, r.seq) for r in KitItem.query().all()] == [(1, 1)]
        assert kept[0].is_persisted

    def test_models_defined_and_first_used_by_many_threads_at_once(self, kit_models):
        def define(name: str) -> Any:
            return type(name, (ActiveRecord,), {
                "__module__": __name__, "__tablename__": "kit_items",
                "__annotations__": {"thread": int, "seq": int, "value": int}, "value": 0})

        shared = define("KitLateShared")
        shared.configure(kit_models)
        fired: list[int] = []

        def work(t: int) -> None:
            own = define(f"KitLate{t}")  # classes built side by side
            own.configure(kit_models)
            # registered while other threads make their first saves of the same class
            shared.on("after_save", lambda record, t=t: fired.append(t))
            for i in range(20):
                model = own if i % 2 else shared
                record = model.create(thread=t, seq=i)
                assert model.find(record.id).seq == i

        run_threads(work, THREADS, timeout=120)
        assert KitItem.count() == THREADS * 20
        fired.clear()
        shared.create(thread=99, seq=0)
        assert sorted(fired) == list(range(THREADS))  # no registration was lost to a race


class TestRecordsAfterRollback(_KitModels):
    """A record written in a transaction that rolls back returns to its state before it."""

    def test_a_created_record_is_new_again(self, kit_models):
        with pytest.raises(KeyError), KitItem.transaction():
            item = KitItem.create(thread=0, seq=1)
            assert item.id is not None and item.is_persisted
            raise KeyError("roll back")
        assert item.is_new_record and item.id is None and not item.is_persisted
        item.save()  # saving again inserts it for real
        assert KitItem.find(item.id).seq == 1 and KitItem.count() == 1

    def test_an_updated_record_is_dirty_again(self, kit_models):
        item = KitItem.create(thread=0, seq=1, value=5)
        with pytest.raises(KeyError), KitItem.transaction():
            item.value = 6
            item.save()
            assert not item.is_dirty
            raise KeyError("roll back")
        assert item.is_dirty and item.changes == {"value": (5, 6)}
        assert KitItem.find(item.id).value == 5
        item.save()
        assert KitItem.find(item.id).value == 6

    def test_a_deleted_record_is_not_deleted(self, kit_models):
        item = KitItem.create(thread=0, seq=1)
        with pytest.raises(KeyError), KitItem.transaction():
            assert item.delete() is True
            assert item.is_deleted
            raise KeyError("roll back")
        assert not item.is_deleted and item.is_persisted
        assert KitItem.find(item.id).seq == 1
        assert item.delete() is True and KitItem.count() == 0

    def test_the_lock_version_goes_back_too(self, kit_models):
        row = KitVersioned.create(n=1)
        with pytest.raises(KeyError), KitVersioned.transaction():
            row.update(n=2)
            assert row.lock_version == 1
            raise KeyError("roll back")
        assert row.lock_version == 0 and row.n == 2 and row.is_dirty
        row.save()  # no false StaleObjectError: the version matches the row again
        assert KitVersioned.find(row.id).n == 2

    @pytest.mark.requires("supports_savepoints")
    def test_a_failed_savepoint_restores_only_its_own_records(self, kit_models):
        with KitItem.transaction():
            kept = KitItem.create(thread=0, seq=1)
            with pytest.raises(KeyError), KitItem.transaction():
                undone = KitItem.create(thread=0, seq=2)
                kept.update(value=9)
                raise KeyError("inner fails")
            assert undone.is_new_record and undone.id is None
            assert kept.is_persisted and kept.is_dirty and kept.changes == {"value": (0, 9)}
        assert kept.is_persisted and KitItem.find(kept.id).value == 0
        assert KitItem.count() == 1

    @pytest.mark.requires("supports_savepoints")
    def test_a_released_savepoint_hands_its_records_to_the_outer_level(self, kit_models):
        with pytest.raises(KeyError), KitItem.transaction():
            with KitItem.transaction():
                inner = KitItem.create(thread=0, seq=1)
            assert inner.is_persisted
            raise KeyError("outer fails")
        assert inner.is_new_record and KitItem.count() == 0

    def test_a_save_of_a_row_deleted_by_someone_else_raises(self, kit_models):
        item = KitItem.create(thread=0, seq=1)
        KitItem.where(id=item.id).delete_all()
        item.value = 3
        with pytest.raises(RecordNotFound, match="no longer exists"):
            item.save()
        assert item.delete() is False  # nothing left to delete, and it says so

    def test_before_save_writes_and_the_write_are_atomic(self, kit_models):
        KitAccount.create(name="ada")
        assert KitLog.count() == 1
        with pytest.raises(UniqueViolationError):
            KitAccount(name="ada").save(validate=False)  # its before_save logged first, then the insert failed
        assert KitLog.count() == 1 and KitAccount.count() == 1

    def test_after_commit_runs_once_after_the_outer_commit(self, kit_models):
        with KitAccount.transaction():
            ada = KitAccount.create(name="ada")
            ada.update(balance=5)
            if kit_models.capabilities.supports_savepoints:
                with KitAccount.transaction():
                    KitAccount.create(name="bob")
                assert KitAccount.journal == []  # a savepoint release is not a commit
            assert KitAccount.journal == []
        expected = [("commit", "ada"), ("commit", "bob")]
        assert KitAccount.journal == (expected if kit_models.capabilities.supports_savepoints else expected[:1])
        KitAccount.journal.clear()
        ada.update(balance=6)  # its own transaction
        assert KitAccount.journal == [("commit", "ada")]

    def test_after_rollback_runs_and_after_commit_does_not(self, kit_models):
        with pytest.raises(KeyError), KitAccount.transaction():
            KitAccount.create(name="ada")
            raise KeyError("roll back")
        assert KitAccount.journal == [("rollback", "ada")]
        assert KitAccount.count() == 0 and KitLog.count() == 0

    def test_a_save_that_failed_half_way_in_your_transaction_cannot_be_committed(self, kit_models):
        with pytest.raises(TransactionError, match="can only be rolled back"):
            with KitAccount.transaction():
                first = KitAccount.create(name="ada")
                with pytest.raises(UniqueViolationError):
                    KitAccount(name="ada").save(validate=False)  # logged in before_save, then failed
        assert first.is_new_record and KitAccount.count() == 0 and KitLog.count() == 0

    def test_a_caught_failure_never_leaves_records_and_rows_disagreeing(self, kit_models):
        try:
            with KitItem.transaction():
                first = KitItem.create(thread=0, seq=1)
                try:
                    KitItem.create(thread=None, seq=2)  # invalid: nothing is sent
                except Exception:  # noqa: BLE001 - the point is what happens next
                    pass
        except TransactionError:
            pass
        assert first.is_persisted == (KitItem.count() == 1)
