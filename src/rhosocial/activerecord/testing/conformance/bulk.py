"""Many rows at once through models: upserts, insert-or-ignore, RETURNING, bulk updates."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import ActiveRecord, Field, StaleObjectError
from rhosocial.activerecord.model.mixins import OptimisticLockMixin

from ..capability import requires


class KitMember(ActiveRecord):
    __tablename__ = "kit_members"
    email: str = Field(max_length=60, unique=True)
    name: str = Field("", max_length=40)
    score: int = 0


class KitVersion(OptimisticLockMixin, ActiveRecord):
    __tablename__ = "kit_version_rows"
    value: int = 0


class TestBulkWrites:
    """What ``insert_many``, ``upsert_all``, ``bulk_update`` and ``returning=`` promise on the backend."""

    @pytest.fixture
    def members(self, backend):
        for model in (KitMember, KitVersion):
            model.configure(backend)
            model.create_table()
        yield backend
        for model in (KitMember, KitVersion):
            type.__setattr__(model, "__backend__", None)

    def stored(self, backend):
        q = backend.dialect.quote_identifier
        return [tuple(r.values()) for r in backend.fetch_all(
            f"SELECT {q('email')}, {q('name')}, {q('score')} FROM {q('kit_members')} ORDER BY {q('email')}")]

    def test_upsert_inserts_and_updates(self, members):
        requires(members, "supports_upsert")
        KitMember.insert_many([{"email": "a", "name": "A", "score": 1}])
        assert KitMember.upsert_all([{"email": "a", "name": "A2", "score": 5}, {"email": "b", "name": "B"}],
                                    unique_by="email") == 2
        assert self.stored(members) == [("a", "A2", 5), ("b", "B", 0)]
        KitMember.upsert_all([{"email": "a", "name": "kept", "score": 9}], unique_by="email", update=["score"])
        assert self.stored(members) == [("a", "A2", 9), ("b", "B", 0)]

    def test_insert_or_ignore_counts_only_rows_inserted(self, members):
        requires(members, "supports_upsert")
        KitMember.insert_many([{"email": "a"}])
        assert KitMember.insert_many([{"email": "a", "name": "x"}, {"email": "b"}], ignore_duplicates=True) == 1
        assert KitMember.insert_many([{"email": "b"}], ignore_duplicates=True) == 0
        assert self.stored(members) == [("a", "", 0), ("b", "", 0)]

    def test_insert_and_upsert_return_records(self, members):
        requires(members, "supports_upsert")
        records = KitMember.insert_many([{"email": "a"}, {"email": "b"}], returning=True)
        assert [r.email for r in records] == ["a", "b"] and all(r.id is not None for r in records)
        back = KitMember.upsert_all([{"email": "a", "score": 3}, {"email": "c"}], unique_by="email",
                                    returning=True)
        assert [(r.email, r.score) for r in back] == [("a", 3), ("c", 0)]
        assert back[0].id == records[0].id

    def test_bulk_update_writes_each_records_values_and_checks_locks(self, members):
        KitVersion.insert_many([{"value": i} for i in range(5)])
        rows = KitVersion.order_by("id").all()
        for row in rows:
            row.value *= 10
        assert KitVersion.bulk_update(rows, ["value"]) == 5
        assert [r.value for r in KitVersion.order_by("id").all()] == [0, 10, 20, 30, 40]
        stale = KitVersion.order_by("id").all()
        KitVersion.find(stale[2].id).update(value=-1)
        for row in stale:
            row.value += 1
        with pytest.raises(StaleObjectError):
            KitVersion.bulk_update(stale, ["value"])
        assert [r.value for r in KitVersion.order_by("id").all()] == [0, 10, -1, 30, 40]

    def test_update_and_delete_return_rows(self, members):
        KitMember.insert_many([{"email": e, "score": i} for i, e in enumerate("abcd")])
        if not (members.capabilities.supports_update_returning or members.capabilities.supports_for_update):
            pytest.skip("neither supports_update_returning nor supports_for_update")
        changed = KitMember.where(KitMember.c.score >= 2).update_all(returning=True, name="hi")
        assert sorted((m.email, m.name) for m in changed) == [("c", "hi"), ("d", "hi")]
        if not (members.capabilities.supports_delete_returning or members.capabilities.supports_for_update):
            pytest.skip("neither supports_delete_returning nor supports_for_update")
        gone = KitMember.where(KitMember.c.score < 1).delete_all(returning=True)
        assert [m.email for m in gone] == ["a"] and gone[0].is_deleted
        assert [r[0] for r in self.stored(members)] == ["b", "c", "d"]
