"""Fields mapped to differently named columns: Python names everywhere, the column's name in SQL."""
from __future__ import annotations

import warnings
from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field, belongs_to, func, has_many


class Artist(ActiveRecord):
    __tablename__ = "Artist"
    __primary_key__ = "artist_id"
    artist_id: Optional[int] = Field(None, column="ArtistId")
    name: str = Field(max_length=120, column="Name", index=True)
    albums = has_many("Album", foreign_key="artist_id")


class Album(ActiveRecord):
    __tablename__ = "Album"
    __primary_key__ = "album_id"
    album_id: Optional[int] = Field(None, column="AlbumId")
    title: str = Field(max_length=160, column="Title")
    artist_id: int = Field(column="ArtistId", references="Artist.ArtistId")
    artist = belongs_to("Artist", foreign_key="artist_id")


def test_python_names_in_code_column_names_in_sql(bind, backend):
    bind(Artist, Album)
    assert [c.name for c in backend.get_columns("Artist")] == ["ArtistId", "Name"]
    acdc = Artist.create(name="AC/DC")
    assert acdc.artist_id is not None
    Album.create(title="Back in Black", artist_id=acdc.artist_id)
    Album.create(title="Highway to Hell", artist_id=acdc.artist_id)
    sql, _ = Album.where(artist_id=acdc.artist_id).order_by("-title").to_sql()
    q = backend.dialect.quote_identifier
    assert q("ArtistId") in sql and q("Title") in sql and "artist_id" not in sql
    found = Album.where(Album.c.title.like("High%")).one()
    assert found.title == "Highway to Hell" and Album.find(found.album_id).artist_id == acdc.artist_id
    assert Album.where(artist_id=acdc.artist_id).order_by("title").pluck("title") == [
        "Back in Black", "Highway to Hell"]
    assert Album.query().select("title", func.count().label("n")).group_by("title").order_by(
        "title").dicts()[0] == {"title": "Back in Black", "n": 1}
    assert set(Album.query().dicts()[0]) == {"album_id", "title", "artist_id"}
    found.update(title="Highway To Hell")
    assert Album.find(found.album_id).title == "Highway To Hell"
    assert Album.where(artist_id=acdc.artist_id).update_all(title="x") == 2
    assert Album.query().unscoped().sum("album_id") == sum(a.album_id for a in Album.all())
    found.delete()
    assert Album.count() == 1


def test_relations_and_joins_use_the_mapping(bind, backend):
    bind(Artist, Album)
    a = Artist.create(name="Queen")
    Album.create(title="Jazz", artist_id=a.artist_id)
    with backend.capture_statements() as statements:
        artists = Artist.query().includes("albums").all()
        assert [al.title for al in artists[0].albums] == ["Jazz"]
    assert len(statements) == 2
    assert Album.query().includes("artist").first().artist.name == "Queen"
    assert [x.name for x in Artist.query().joins("albums").where(Album.c.title == "Jazz").all()] == ["Queen"]
    assert Artist.find(a.artist_id).albums.count() == 1


def test_a_column_name_where_a_field_name_belongs_says_so(bind):
    bind(Artist)
    with pytest.raises(AttributeError, match="'ArtistId' is the column of field 'artist_id'"):
        Artist.where(ArtistId=1)
    assert Artist.column_name("artist_id") == "ArtistId"


def test_an_alias_keeps_its_pydantic_meaning_and_never_names_the_column(bind, backend):
    class Book(ActiveRecord):
        __tablename__ = "books_with_alias"
        book_title: str = Field(max_length=50, alias="BookTitle")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bind(Book)
        by_field = Book.create(book_title="Dune")
        by_alias = Book.create(BookTitle="Emma")
    assert sorted(c.name for c in backend.get_columns("books_with_alias")) == ["book_title", "id"]
    assert Book.find(by_field.id).book_title == "Dune" and Book.find(by_alias.id).book_title == "Emma"
    assert Book.find(by_alias.id).model_dump(by_alias=True)["BookTitle"] == "Emma"
