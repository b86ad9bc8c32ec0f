"""Counters and touch: increment/decrement, update_counters, touch(), belongs_to counter_cache/touch.

Counts are checked with plain SQL as well as through the model layer.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

import pytest

from rhosocial.activerecord import (
    ActiveRecord,
    Field,
    ModelDefinitionError,
    OptimisticLockMixin,
    RecordNotFound,
    SoftDeleteMixin,
    StaleObjectError,
    TimestampMixin,
    belongs_to,
)
from rhosocial.activerecord.backend.errors import UniqueViolationError
from rhosocial.activerecord.testing.aio import run_async
from rhosocial.activerecord.testing.threads import run_threads

LONG_AGO = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)


class CtArticle(TimestampMixin, ActiveRecord):
    __tablename__ = "ct_articles"
    title: str = Field("", max_length=50)
    views: int = 0
    likes: int | None = None
    score: Decimal = Field(Decimal("0"), max_digits=10, decimal_places=2)
    reviewed_at: dt.datetime | None = None
    ct_notes_count: int = 0  # CtNote's counter cache: its table's name + "_count"
    remarks: int = 0  # CtRemark's, named
    ct_tags_count: int = 0
    ct_votes_count: int = 0


class CtNote(SoftDeleteMixin, ActiveRecord):
    __tablename__ = "ct_notes"
    article_id: int | None = Field(None, references="ct_articles.id")
    body: str = Field("", max_length=50)
    article = belongs_to("CtArticle", counter_cache=True)


class CtRemark(ActiveRecord):
    __tablename__ = "ct_remarks"
    article_id: int | None = Field(None, references="ct_articles.id")
    text: str = Field("", max_length=50)
    article = belongs_to("CtArticle", counter_cache="remarks", touch=True)


class CtTag(ActiveRecord):
    __tablename__ = "ct_tags"
    target_id: int | None = None
    target_type: str | None = Field(None, max_length=20)
    target = belongs_to(polymorphic=True, counter_cache=True)


class CtVote(SoftDeleteMixin, ActiveRecord):
    __tablename__ = "ct_votes"
    article_id: int | None = None
    voter_id: int | None = None
    article = belongs_to("CtArticle", counter_cache=True)
    voter = belongs_to("CtHooked", counter_cache=True)


class CtLocked(OptimisticLockMixin, TimestampMixin, ActiveRecord):
    __tablename__ = "ct_locked"
    name: str = Field("", max_length=20)


class CtPair(ActiveRecord):
    __tablename__ = "ct_pairs"
    __primary_key__ = ("a", "b")
    a: int
    b: int
    hits: int = 0


HOOKS: list[str] = []


class CtHooked(TimestampMixin, ActiveRecord):
    __tablename__ = "ct_hooked"
    name: str = Field("", max_length=20)
    ct_tags_count: int = 0
    ct_votes_count: int = 0

    def before_save(self) -> None:
        HOOKS.append("before_save")

    def validate_record(self):
        HOOKS.append("validate")


@pytest.fixture(autouse=True)
def tables(bind):
    HOOKS.clear()
    return bind(CtArticle, CtNote, CtRemark, CtTag, CtVote, CtLocked, CtPair, CtHooked)


@pytest.fixture
def raw(backend):
    """Return ``raw(table, column, id)``: one value read with plain SQL."""

    def raw(table: str, column: str, key: int):
        q = backend.dialect.quote_identifier
        return backend.fetch_value(
            f"SELECT {q(column)} FROM {q(table)} WHERE {q('id')} = {backend.dialect.placeholder(1)}", [key])

    return raw


def count(record) -> int:
    """The counter columns of an article, read with plain SQL."""
    backend = type(record).backend()
    q = backend.dialect.quote_identifier
    return int(backend.fetch_value(
        f"SELECT {q('ct_notes_count')} FROM {q('ct_articles')} WHERE {q('id')} = {backend.dialect.placeholder(1)}",
        [record.id]))


def remarks(record) -> int:
    backend = type(record).backend()
    q = backend.dialect.quote_identifier
    return int(backend.fetch_value(
        f"SELECT {q('remarks')} FROM {q('ct_articles')} WHERE {q('id')} = {backend.dialect.placeholder(1)}",
        [record.id]))


def backdate(*articles) -> None:
    for article in articles:
        CtArticle.query().where(id=article.id).update_all(updated_at=LONG_AGO)
        article.refresh()


# -- increment / decrement ------------------------------------------------------------


def test_increment_is_atomic_and_each_copy_reads_the_fresh_value(backend, raw):
    a = CtArticle.create(title="a")
    copy = CtArticle.find(a.id)
    with backend.capture_statements() as statements:
        assert a.increment("views") is a
    updates = [s for s in statements if s.startswith("UPDATE")]
    assert len(updates) == 1 and "COALESCE" in updates[0] and '+ 1' not in updates[0]  # the amount is bound
    assert not any(s.startswith("SELECT") for s in statements[:statements.index(updates[0])])  # no read first
    copy.increment("views")  # a stale copy (views 0 in memory) still adds to what the row holds
    assert (a.views, copy.views) == (1, 2)
    assert raw("ct_articles", "views", a.id) == 2
    a.increment("views", by=5)
    assert a.views == 7 and raw("ct_articles", "views", a.id) == 7
    assert not a.is_dirty and not copy.is_dirty
    a.decrement("views", 3)
    assert a.views == 4 and raw("ct_articles", "views", a.id) == 4 and not a.is_dirty


def test_null_counters_start_from_zero_and_decimals_stay_exact(raw):
    a = CtArticle.create()
    assert a.likes is None
    a.decrement("likes", 2)
    assert a.likes == -2 and raw("ct_articles", "likes", a.id) == -2
    a.increment("score", Decimal("1.25")).increment("score", Decimal("0.50"))
    assert a.score == Decimal("1.75") and isinstance(a.score, Decimal)
    assert CtArticle.find(a.id).score == Decimal("1.75")


def test_other_unsaved_changes_stay_unsaved_and_dirty(raw):
    a = CtArticle.create(title="first")
    a.title = "draft"
    a.increment("views")
    assert a.title == "draft" and a.changes == {"title": ("first", "draft")}
    assert raw("ct_articles", "title", a.id) == "first" and raw("ct_articles", "views", a.id) == 1
    a.save()
    assert raw("ct_articles", "title", a.id) == "draft" and raw("ct_articles", "views", a.id) == 1
    assert not a.is_dirty


def test_increment_refuses_unsaved_records_unknown_fields_and_bad_amounts(backend):
    a = CtArticle.create()
    with backend.capture_statements() as statements:
        with pytest.raises(RecordNotFound, match="unsaved"):
            CtArticle(title="new").increment("views")
        with pytest.raises(ValueError, match="no field 'nope'"):
            a.increment("nope")
        with pytest.raises(TypeError, match="not a number field"):
            a.increment("title")
        with pytest.raises(TypeError, match="part of the primary key"):
            a.increment("id")
        with pytest.raises(TypeError, match="must be an int"):
            a.increment("views", 1.5)
        with pytest.raises(TypeError, match="must be a number"):
            a.increment("views", True)
    assert statements == []


def test_increment_of_a_gone_row_raises_and_changes_nothing(backend, raw):
    a = CtArticle.create(views=3)
    CtArticle.query().where(id=a.id).delete_all()
    with pytest.raises(RecordNotFound, match="no longer exists"):
        a.increment("views")
    assert a.views == 3 and not a.is_dirty


def test_increment_in_a_rolled_back_transaction_is_undone_on_the_record_too(raw):
    a = CtArticle.create(views=1)
    with pytest.raises(RuntimeError), CtArticle.transaction():
        a.increment("views", 10)
        assert a.views == 11
        raise RuntimeError("roll back")
    assert raw("ct_articles", "views", a.id) == 1
    assert a.views == 1 and not a.is_dirty


# -- update_counters -------------------------------------------------------------------


def test_update_counters_changes_several_counters_of_several_rows_in_one_statement(backend, raw):
    a, b, c = (CtArticle.create(title=t) for t in "abc")
    with backend.capture_statements() as statements:
        assert CtArticle.update_counters(a.id, views=2, likes=-1) == 1
    assert len(statements) == 1 and statements[0].startswith("UPDATE")
    assert (raw("ct_articles", "views", a.id), raw("ct_articles", "likes", a.id)) == (2, -1)
    assert CtArticle.update_counters([a.id, b.id], views=1) == 2
    assert [raw("ct_articles", "views", x.id) for x in (a, b, c)] == [3, 1, 0]
    assert CtArticle.update_counters(10_000, views=1) == 0
    assert a.views == 0  # loaded records are not changed: refresh them
    assert a.refresh().views == 3


def test_update_counters_touch_sets_updated_at(raw):
    a, b = CtArticle.create(), CtArticle.create()
    backdate(a, b)
    assert CtArticle.update_counters(a.id, views=1, touch=True) == 1
    assert CtArticle.find(a.id).updated_at > LONG_AGO
    assert CtArticle.find(b.id).updated_at == LONG_AGO
    assert CtArticle.update_counters(b.id, touch="reviewed_at") == 1  # touching alone is allowed
    found = CtArticle.find(b.id)
    assert found.updated_at > LONG_AGO and found.reviewed_at == found.updated_at and found.views == 0


def test_update_counters_refuses_bad_requests_before_sql(backend):
    a = CtArticle.create()
    with backend.capture_statements() as statements:
        with pytest.raises(ValueError, match="at least one counter"):
            CtArticle.update_counters(a.id)
        with pytest.raises(TypeError, match="not a number field"):
            CtArticle.update_counters(a.id, title=1)
        with pytest.raises(TypeError, match="not a date or time-stamp"):
            CtArticle.update_counters(a.id, views=1, touch="title")
        with pytest.raises(ValueError, match="no updated_at"):
            CtPair.update_counters((1, 1), touch=True)
    assert statements == []


def test_update_counters_with_composite_keys(backend):
    for a, b in ((1, 1), (1, 2), (2, 1)):
        CtPair.create(a=a, b=b)
    assert CtPair.update_counters((1, 2), hits=3) == 1
    assert CtPair.update_counters([(1, 1), (2, 1)], hits=1) == 2
    q = backend.dialect.quote_identifier
    rows = backend.fetch_all(f"SELECT {q('a')}, {q('b')}, {q('hits')} FROM {q('ct_pairs')} ORDER BY 1, 2")
    assert [(r["a"], r["b"], r["hits"]) for r in rows] == [(1, 1, 1), (1, 2, 3), (2, 1, 1)]
    with pytest.raises(TypeError, match="tuple of 2 values"):
        CtPair.update_counters(5, hits=1)
    pair = CtPair.find((1, 2))
    assert pair.increment("hits").hits == 4


# -- touch -----------------------------------------------------------------------------


def test_touch_sets_updated_at_and_nothing_else(backend, raw):
    a = CtArticle.create(title="kept")
    backdate(a)
    before = raw("ct_articles", "updated_at", a.id)
    a.title = "unsaved"
    with backend.capture_statements() as statements:
        assert a.touch() is a
    assert len(statements) == 1 and statements[0].startswith("UPDATE") and "title" not in statements[0]
    assert raw("ct_articles", "updated_at", a.id) != before
    assert raw("ct_articles", "title", a.id) == "kept"
    assert a.updated_at > LONG_AGO and a.changes == {"title": ("kept", "unsaved")}
    assert CtArticle.find(a.id).updated_at == a.updated_at
    a.touch("reviewed_at")
    found = CtArticle.find(a.id)
    assert found.reviewed_at == a.reviewed_at == a.updated_at == found.updated_at


def test_touch_runs_no_validation_or_save_hooks():
    h = CtHooked.create(name="h")
    HOOKS.clear()
    old = h.updated_at
    h.touch()
    assert HOOKS == [] and h.updated_at > old and not h.is_dirty


def test_touch_refuses_unsaved_records_and_non_time_fields(backend):
    a = CtArticle.create()
    with backend.capture_statements() as statements:
        with pytest.raises(RecordNotFound, match="unsaved"):
            CtArticle().touch()
        with pytest.raises(TypeError, match="not a date or time-stamp"):
            a.touch("views")
        with pytest.raises(ValueError, match="no updated_at"):
            CtPair(a=1, b=1).save().touch()
    assert [s for s in statements if not s.startswith("INSERT")] == []
    CtArticle.query().where(id=a.id).delete_all()
    with pytest.raises(RecordNotFound):
        a.touch()


def test_touch_bumps_the_lock_version_and_a_stale_copy_raises(raw):
    doc = CtLocked.create(name="d")
    copy = CtLocked.find(doc.id)
    doc.touch()
    assert doc.lock_version == 1 and raw("ct_locked", "lock_version", doc.id) == 1 and not doc.is_dirty
    stamp = raw("ct_locked", "updated_at", doc.id)
    with pytest.raises(StaleObjectError):
        copy.touch()
    assert copy.lock_version == 0
    assert raw("ct_locked", "lock_version", doc.id) == 1 and raw("ct_locked", "updated_at", doc.id) == stamp
    doc.update(name="e")  # the bumped version is the record's: its next save passes the lock
    assert raw("ct_locked", "lock_version", doc.id) == 2


# -- belongs_to(counter_cache=...) -----------------------------------------------------


def test_default_counter_cache_column_is_the_child_table_plus_count():
    assert CtNote.article.parent_updates.column() == "ct_notes_count"
    assert CtRemark.article.parent_updates.column() == "remarks"


def test_counter_cache_counts_creates_and_ignores_children_without_parent(backend):
    art = CtArticle.create()
    CtNote.create(article_id=art.id)
    CtNote.create(article_id=art.id)
    assert count(art) == 2
    with backend.capture_statements() as statements:
        orphan = CtNote.create(body="alone")
    assert not any("ct_articles" in s for s in statements)
    assert orphan.article_id is None and count(art) == 2
    assert art.ct_notes_count == 0  # a loaded parent is not changed: refresh it
    assert art.refresh().ct_notes_count == 2


def test_counter_cache_follows_deletes_soft_deletes_and_restores():
    art = CtArticle.create()
    first, second = CtNote.create(article_id=art.id), CtNote.create(article_id=art.id)
    first.delete()  # a soft delete
    assert count(art) == 1
    first.restore()
    assert count(art) == 2
    first.delete()
    first.hard_delete()  # already uncounted
    assert count(art) == 1
    second.hard_delete()
    assert count(art) == 0


def test_counter_cache_is_not_decremented_twice_for_a_row_deleted_by_someone_else():
    art = CtArticle.create()
    remark = CtRemark.create(article_id=art.id)
    copy = CtRemark.find(remark.id)
    assert remark.delete() is True
    assert copy.delete() is False
    assert remarks(art) == 0


def test_counter_cache_moves_with_the_foreign_key():
    old, new = CtArticle.create(title="old"), CtArticle.create(title="new")
    note = CtNote.create(article_id=old.id)
    note.article_id = new.id
    note.save()
    assert (count(old), count(new)) == (0, 1)
    note.article = old  # through the association
    note.save()
    assert (count(old), count(new)) == (1, 0)
    note.article = None
    note.save()
    assert (count(old), count(new)) == (0, 0)
    note.body = "no move"
    note.save()
    assert (count(old), count(new)) == (0, 0)


def test_polymorphic_counter_cache_counts_at_each_record_type(backend):
    art, hooked = CtArticle.create(), CtHooked.create(name="h")
    tag = CtTag.create(target_id=art.id, target_type="CtArticle")
    CtTag.create(target_id=hooked.id, target_type="CtHooked")
    assert (art.refresh().ct_tags_count, hooked.refresh().ct_tags_count) == (1, 1)
    tag.target = hooked  # same key column, another type
    tag.save()
    assert hooked.ct_tags_count == 2 and not hooked.is_dirty  # the target cached on the tag is updated
    assert (art.refresh().ct_tags_count, hooked.refresh().ct_tags_count) == (0, 2)
    tag.delete()
    assert hooked.refresh().ct_tags_count == 1


def test_two_counter_caches_on_one_child_both_follow_a_soft_delete():
    art, voter = CtArticle.create(), CtHooked.create(name="v")
    vote = CtVote.create(article_id=art.id, voter_id=voter.id)
    assert (art.refresh().ct_votes_count, voter.refresh().ct_votes_count) == (1, 1)
    vote.delete()
    assert (art.refresh().ct_votes_count, voter.refresh().ct_votes_count) == (0, 0)


def test_counter_cache_updates_the_parent_cached_on_the_child():
    art = CtArticle.create()
    CtNote.create(article_id=art.id)
    note = CtNote(body="x")
    note.article = art  # cached on the note
    note.save()
    assert art.ct_notes_count == 2 == count(art) and not art.is_dirty
    note.delete()
    assert art.ct_notes_count == 1 == count(art) and not art.is_dirty


def test_counter_cache_rolls_back_with_the_child():
    art = CtArticle.create()
    CtNote.create(article_id=art.id)
    with pytest.raises(RuntimeError), CtArticle.transaction():
        CtNote.create(article_id=art.id)
        assert count(art) == 2
        raise RuntimeError("roll back")
    assert count(art) == 1 and CtNote.count() == 1


def test_counter_cache_of_a_failed_insert_is_undone(backend):
    art = CtArticle.create()
    note = CtNote.create(article_id=art.id)
    twin = CtNote(id=note.id, article_id=art.id)  # the same key: the INSERT fails after the count
    with pytest.raises(UniqueViolationError):
        twin.save()
    assert count(art) == 1 and twin.is_new_record


def test_a_counter_cache_on_a_missing_field_is_a_clear_definition_error():
    class CtStray(ActiveRecord):
        __tablename__ = "ct_strays"
        article_id: int | None = None
        article = belongs_to("CtArticle", counter_cache=True)

    CtStray.create_table()
    art = CtArticle.create()
    with pytest.raises(ModelDefinitionError, match="ct_strays_count"):
        CtStray.create(article_id=art.id)
    assert CtStray.count() == 0


# -- belongs_to(touch=True) ------------------------------------------------------------


def test_touch_parent_on_create_update_delete_and_move():
    a, b = CtArticle.create(title="a"), CtArticle.create(title="b")
    backdate(a, b)
    remark = CtRemark.create(article_id=a.id)
    assert CtArticle.find(a.id).updated_at > LONG_AGO and CtArticle.find(b.id).updated_at == LONG_AGO
    backdate(a)
    remark.save()  # nothing changed: nothing written, nothing touched
    assert CtArticle.find(a.id).updated_at == LONG_AGO
    remark.text = "edited"
    remark.save()
    assert CtArticle.find(a.id).updated_at > LONG_AGO
    backdate(a)
    remark.article_id = b.id
    remark.save()
    assert CtArticle.find(a.id).updated_at > LONG_AGO and CtArticle.find(b.id).updated_at > LONG_AGO
    assert (remarks(a), remarks(b)) == (0, 1)
    backdate(a, b)
    remark.delete()
    assert CtArticle.find(a.id).updated_at == LONG_AGO and CtArticle.find(b.id).updated_at > LONG_AGO
    assert remarks(b) == 0


# -- concurrency -----------------------------------------------------------------------


def test_8_threads_creating_25_children_each_count_200(backend):
    art = CtArticle.create()

    def work(i: int) -> int:
        for n in range(25):
            CtNote.create(article_id=art.id, body=f"{i}-{n}")
        return 25

    assert sum(run_threads(work, 8, timeout=60)) == 200
    assert count(art) == 200
    q = backend.dialect.quote_identifier
    assert int(backend.fetch_value(f"SELECT COUNT(*) FROM {q('ct_notes')}")) == 200


def test_concurrent_increments_lose_nothing(backend, raw):
    art = CtArticle.create()

    def work(i: int) -> list[int]:
        copy = CtArticle.find(art.id)
        seen = []
        for _ in range(25):
            seen.append(copy.increment("views").views)
        return seen

    results = run_threads(work, 4, timeout=60)
    assert raw("ct_articles", "views", art.id) == 100
    every = sorted(v for seen in results for v in seen)
    assert every == list(range(1, 101))  # each increment read back its own result


# -- async -----------------------------------------------------------------------------


def test_async_twins(raw):
    art = CtArticle.create()

    async def main() -> None:
        await art.aincrement("views", 4)
        await art.adecrement("views")
        assert await CtArticle.aupdate_counters(art.id, likes=2) == 1
        await art.atouch()

    pytest.importorskip("greenlet")
    run_async(main, timeout=60)
    assert art.views == 3 and raw("ct_articles", "views", art.id) == 3
    assert raw("ct_articles", "likes", art.id) == 2
