"""List fields: native arrays on PostgreSQL, JSON elsewhere; saved, loaded and filtered alike."""
from __future__ import annotations

from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field
from rhosocial.activerecord.backend import DatabaseType


class Song(ActiveRecord):
    __tablename__ = "list_songs"
    id: Optional[int] = None
    title: str = Field(max_length=40)
    tags: list[str] = Field(default_factory=list, db_type=DatabaseType.ARRAY)
    ratings: list[int] = Field(default_factory=list, db_type=DatabaseType.ARRAY)
    moods: list[str] = Field(default_factory=list)  # JSON everywhere


def _titles(query) -> list[str]:
    return sorted(query.pluck("title"))


def test_array_fields_save_load_and_filter(bind, backend):
    bind(Song)
    native = {c.name: c for c in backend.get_columns("list_songs")}
    if backend.dialect.native_arrays:
        assert native["tags"].db_type is DatabaseType.ARRAY and native["tags"].type.lower().startswith("text")
    Song.create(title="a", tags=["rock", "live"], ratings=[5, 4], moods=["happy"])
    Song.create(title="b", tags=["jazz"], ratings=[3], moods=["sad", "calm"])
    Song.create(title="c", tags=[], ratings=[], moods=[])
    assert Song.where(title="a").one().tags == ["rock", "live"]
    assert Song.where(title="a").one().ratings == [5, 4]

    c = Song.c
    for column in (c.tags, c.moods):
        first = "rock" if column is c.tags else "happy"
        assert _titles(Song.where(column.contains([first]))) == ["a"]
        assert _titles(Song.where(column.any(first))) == ["a"]
        assert _titles(Song.where(column.overlaps([first, "jazz", "sad"]))) == ["a", "b"]
        assert _titles(Song.where(column.contains([]))) == ["a", "b", "c"]
        assert _titles(Song.where(~column.any(first))) == ["b", "c"]
    assert _titles(Song.where(c.ratings.contains([4, 5]))) == ["a"]
    assert _titles(Song.where(c.ratings.any(3))) == ["b"]
    assert _titles(Song.where(c.ratings.overlaps([1, 3, 9]))) == ["b"]

    song = Song.where(title="b").one()
    song.tags.append("live")  # changed in place: noticed and saved
    song.save()
    assert _titles(Song.where(c.tags.contains(["live"]))) == ["a", "b"]


def test_list_tests_reject_what_they_cannot_mean():
    with pytest.raises(TypeError, match="list of items"):
        Song.c.tags.contains("rock")
    with pytest.raises(TypeError, match="one item"):
        Song.c.tags.any(["rock"])
    with pytest.raises(TypeError, match="None"):
        Song.c.tags.overlaps([None])


def test_array_fields_must_be_lists_of_simple_items():
    from rhosocial.activerecord import ModelDefinitionError

    with pytest.raises(ModelDefinitionError, match="ARRAY field"):
        class Bad(ActiveRecord):
            __tablename__ = "list_bad"
            tags: dict = Field(db_type=DatabaseType.ARRAY)


def test_a_list_field_over_an_existing_native_array_column_saves_loads_and_filters(backend):
    if not backend.dialect.native_arrays:
        pytest.skip(f"{backend.name} has no native arrays: a list field is JSON there")
    backend.execute('CREATE TABLE "list_existing" (id BIGSERIAL PRIMARY KEY, labels TEXT[] NOT NULL, '
                    'scores INTEGER[])')

    class Existing(ActiveRecord):  # declared like any list field: the column is found to be an array
        __tablename__ = "list_existing"
        id: Optional[int] = None
        labels: list[str]
        scores: Optional[list[int]] = None

    Existing.configure(backend)
    assert Existing.where(Existing.c.labels.contains(["x"])).count() == 0  # filters before any write
    row = Existing.create(labels=["x", "y"], scores=[1, 2])
    assert Existing.where(Existing.c.labels.contains(["y"])).count() == 1
    assert Existing.where(Existing.c.labels.any("x"), Existing.c.scores.overlaps([2, 9])).count() == 1
    assert Existing.find(row.id).labels == ["x", "y"]
    row.labels = ["z"]
    row.save()
    assert Existing.find(row.id).labels == ["z"] and Existing.find(row.id).scores == [1, 2]
    assert Existing.insert_many([{"labels": ["p"]}]) == 1
    assert backend.fetch_value('SELECT labels[1] FROM "list_existing" WHERE scores IS NULL') == "p"
