"""Composite primary keys, keys the user supplies, and writes that must touch exactly one row."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import (
    ActiveRecord,
    Field,
    MultipleRecordsFound,
    OptimisticLockMixin,
    RecordNotFound,
)
from rhosocial.activerecord.backend import ColumnDef, DatabaseType


class PlaylistTrack(ActiveRecord):
    __tablename__ = "playlist_track"
    __primary_key__ = ("playlist_id", "track_id")
    playlist_id: int
    track_id: int
    position: int = 0


class Versioned(OptimisticLockMixin, ActiveRecord):
    __tablename__ = "versioned_pairs"
    __primary_key__ = ("a", "b")
    a: str = Field(max_length=10)
    b: int
    note: str = ""


class Code(ActiveRecord):
    """A single key the user supplies (no auto-increment)."""

    __tablename__ = "codes"
    __primary_key__ = "code"
    code: str = Field(max_length=8)
    label: str


def test_composite_key_crud(bind, backend, count_rows):
    bind(PlaylistTrack)
    assert {c.name for c in backend.get_columns("playlist_track") if c.primary_key} == {"playlist_id", "track_id"}
    for playlist, track in ((1, 11), (1, 12), (2, 11)):
        PlaylistTrack.create(playlist_id=playlist, track_id=track)
    row = PlaylistTrack.find((1, 12))
    assert (row.playlist_id, row.track_id) == (1, 12)
    with pytest.raises(RecordNotFound):
        PlaylistTrack.find((2, 12))
    with pytest.raises(TypeError, match="tuple of 2 values"):
        PlaylistTrack.find(1)
    row.update(position=5)
    assert PlaylistTrack.find((1, 12)).position == 5 and PlaylistTrack.find((1, 11)).position == 0
    assert row.refresh().position == 5
    assert row == PlaylistTrack.find((1, 12)) and row != PlaylistTrack.find((1, 11))
    assert len({row, PlaylistTrack.find((1, 12)), PlaylistTrack.find((2, 11))}) == 2
    assert row.delete() is True
    assert count_rows("playlist_track") == 2  # one row: not every track of playlist 1
    assert [(r.playlist_id, r.track_id) for r in PlaylistTrack.query().all()] == [(1, 11), (2, 11)]
    assert (PlaylistTrack.query().last().playlist_id, PlaylistTrack.query().first().playlist_id) == (2, 1)
    PlaylistTrack.insert_many([{"playlist_id": 3, "track_id": t} for t in range(5)])
    batches = list(PlaylistTrack.query().in_batches(2))
    assert [len(b) for b in batches] == [2, 2, 2, 1]
    seen = [(r.playlist_id, r.track_id) for b in batches for r in b]
    assert seen == sorted(seen) and len(set(seen)) == 7


def test_optimistic_locking_by_the_full_key(bind):
    bind(Versioned)
    first = Versioned.create(a="x", b=1, note="one")
    Versioned.create(a="x", b=2)
    stale = Versioned.find(("x", 1))
    first.update(note="changed")
    from rhosocial.activerecord import StaleObjectError

    with pytest.raises(StaleObjectError):
        stale.update(note="lost")
    assert Versioned.find(("x", 1)).note == "changed" and Versioned.find(("x", 2)).lock_version == 0


def test_a_key_the_user_supplies(bind):
    bind(Code)
    Code.create(code="EUR", label="euro")
    assert Code.find("EUR").label == "euro"
    Code.find("EUR").update(label="Euro")
    assert [c.label for c in Code.all()] == ["Euro"]


class Loose(ActiveRecord):
    """Declared with half of the table's real key: a key that does not identify a row."""

    __tablename__ = "loose_pairs"
    __primary_key__ = "playlist_id"
    playlist_id: int
    track_id: int
    position: int = 0


def test_a_write_that_would_touch_several_rows_is_undone(backend, bind, count_rows):
    bind()
    backend.create_table("loose_pairs", [
        ColumnDef("playlist_id", DatabaseType.INTEGER, primary_key=True),
        ColumnDef("track_id", DatabaseType.INTEGER, primary_key=True),
        ColumnDef("position", DatabaseType.INTEGER, nullable=False, default=0),
    ])
    Loose.configure(backend)
    try:
        for track in (1, 2, 3):
            Loose.create(playlist_id=7, track_id=track)
        row = Loose.where(track_id=2).one()
        with pytest.raises(MultipleRecordsFound, match="matched 3 rows"):
            row.delete()
        assert count_rows("loose_pairs") == 3  # the DELETE was rolled back
        row.position = 9
        with pytest.raises(MultipleRecordsFound):
            row.save()
        assert Loose.where(position=9).count() == 0
        with pytest.raises(MultipleRecordsFound), Loose.transaction():
            Loose.where(track_id=3).one().delete()
        assert count_rows("loose_pairs") == 3
    finally:
        type.__setattr__(Loose, "__backend__", None)
