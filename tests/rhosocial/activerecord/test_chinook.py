"""An existing database: Chinook, loaded by the raw driver, answered through the models.

The Chinook scripts (``../shared/data/chinook/``, MIT licence) build the same
music store on each backend, with the names its authors chose: PascalCase on
SQLite and MySQL (``Album.ArtistId``), snake_case on PostgreSQL. One set of
model definitions serves all three through column mapping; every answer is
checked against the raw rows.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import pytest
from pydantic import NaiveDatetime

from rhosocial.activerecord import ActiveRecord, Field, belongs_to, func, has_many

SCRIPTS = {"sqlite": "Chinook_Sqlite.sql", "postgres": "Chinook_PostgreSql.sql", "mysql": "Chinook_MySql.sql"}


def _chinook_dir() -> Path | None:
    """Where the Chinook scripts are: $RHOSOCIAL_CHINOOK_DIR, ../shared beside the checkout, or /work/shared."""
    here = Path(__file__).resolve()
    candidates = [Path(os.environ["RHOSOCIAL_CHINOOK_DIR"])] if os.environ.get("RHOSOCIAL_CHINOOK_DIR") else []
    candidates += [parent / "shared" / "data" / "chinook" for parent in here.parents]
    candidates.append(Path("/work/shared/data/chinook"))
    return next((c for c in candidates if all((c / name).is_file() for name in SCRIPTS.values())), None)


CHINOOK = _chinook_dir()
if CHINOOK is None and os.environ.get("CI", "").lower() == "true":
    # Under CI a missing sample database fails the run, as a missing server does.
    raise RuntimeError("The Chinook scripts were not found: set RHOSOCIAL_CHINOOK_DIR to the folder "
                       "holding Chinook_Sqlite.sql, Chinook_PostgreSql.sql and Chinook_MySql.sql")
pytestmark = pytest.mark.skipif(
    CHINOOK is None, reason="the Chinook scripts were not found; set RHOSOCIAL_CHINOOK_DIR to their folder")


def load(backend) -> None:
    """Run the backend's Chinook script into the test's own database with the raw driver."""
    assert CHINOOK is not None
    text = (CHINOOK / SCRIPTS[backend.name]).read_text(encoding="utf-8")
    with backend.connection() as raw:
        if backend.name == "sqlite":
            raw.executescript(text)
            return
        # The scripts create and switch to a database of their own: stay in the test's.
        text = re.sub(r"^(DROP DATABASE|CREATE DATABASE|USE |\\c ).*$", "", text, flags=re.M)
        if backend.name == "postgres":
            raw.execute(text)
            return
        cursor = raw.cursor()
        for statement in re.split(r";\s*\n", text):
            body = re.sub(r"/\*.*?\*/", "", statement, flags=re.S).strip()
            if body:
                cursor.execute(body)
        cursor.close()


def make_models(pascal: bool) -> dict[str, Any]:
    """The Chinook models, once, for either naming of the tables and columns."""

    def column(field: str) -> str:
        return "".join(part.capitalize() for part in field.split("_")) if pascal else field

    def table(snake: str) -> str:
        return column(snake)

    def col(field: str, default: Any = ..., **kwargs: Any) -> Any:
        return Field(default, column=column(field), **kwargs)

    class Artist(ActiveRecord):
        __tablename__ = table("artist")
        __primary_key__ = "artist_id"
        artist_id: int = col("artist_id")
        name: Optional[str] = col("name", None, max_length=120)
        albums = has_many("Album", foreign_key="artist_id")

    class Album(ActiveRecord):
        __tablename__ = table("album")
        __primary_key__ = "album_id"
        album_id: int = col("album_id")
        title: str = col("title", max_length=160)
        artist_id: int = col("artist_id")
        artist = belongs_to("Artist", foreign_key="artist_id")
        tracks = has_many("Track", foreign_key="album_id")

    class Track(ActiveRecord):
        __tablename__ = table("track")
        __primary_key__ = "track_id"
        track_id: int = col("track_id")
        name: str = col("name", max_length=200)
        album_id: Optional[int] = col("album_id", None)
        milliseconds: int = col("milliseconds")
        unit_price: Decimal = col("unit_price", max_digits=10, decimal_places=2)

    class Employee(ActiveRecord):
        __tablename__ = table("employee")
        __primary_key__ = "employee_id"
        employee_id: int = col("employee_id")
        last_name: str = col("last_name", max_length=20)
        first_name: str = col("first_name", max_length=20)
        title: Optional[str] = col("title", None, max_length=30)
        reports_to: Optional[int] = col("reports_to", None)
        hire_date: Optional[NaiveDatetime] = col("hire_date", None)
        manager = belongs_to("Employee", foreign_key="reports_to")
        reports = has_many("Employee", foreign_key="reports_to")

    class Customer(ActiveRecord):
        __tablename__ = table("customer")
        __primary_key__ = "customer_id"
        customer_id: int = col("customer_id")
        first_name: str = col("first_name", max_length=40)
        last_name: str = col("last_name", max_length=20)
        country: Optional[str] = col("country", None, max_length=40)
        support_rep_id: Optional[int] = col("support_rep_id", None)

    class Invoice(ActiveRecord):
        __tablename__ = table("invoice")
        __primary_key__ = "invoice_id"
        invoice_id: int = col("invoice_id")
        customer_id: int = col("customer_id")
        invoice_date: NaiveDatetime = col("invoice_date")
        billing_country: Optional[str] = col("billing_country", None, max_length=40)
        total: Decimal = col("total", max_digits=10, decimal_places=2)

    class Playlist(ActiveRecord):
        __tablename__ = table("playlist")
        __primary_key__ = "playlist_id"
        playlist_id: int = col("playlist_id")
        name: Optional[str] = col("name", None, max_length=120)
        entries = has_many("PlaylistTrack", foreign_key="playlist_id")
        tracks = has_many("Track", through="entries", source="track")

    class PlaylistTrack(ActiveRecord):
        __tablename__ = table("playlist_track")
        __primary_key__ = ("playlist_id", "track_id")
        playlist_id: int = col("playlist_id")
        track_id: int = col("track_id")
        track = belongs_to("Track", foreign_key="track_id")

    return {m.__name__: m for m in (Artist, Album, Track, Employee, Customer, Invoice, Playlist, PlaylistTrack)}


@pytest.fixture
def chinook(backend):
    load(backend)
    models = make_models(pascal=backend.name != "postgres")
    for model in models.values():
        model.configure(backend)
    yield models
    for model in models.values():
        type.__setattr__(model, "__backend__", None)


def raw_rows(backend, model: Any, *fields: str) -> list[tuple[Any, ...]]:
    """The rows of ``model``'s table as the raw driver returns them (no model conversions)."""
    q = backend.dialect.quote_identifier
    columns = ", ".join(q(model.column_name(f)) for f in fields)
    return backend.execute(f"SELECT {columns} FROM {q(model.table_name())}").rows


def money(value: Any) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(Decimal("0.01"))


def test_chinook_questions_match_the_raw_rows(chinook, backend):
    m = chinook
    Invoice, Customer, Employee = m["Invoice"], m["Customer"], m["Employee"]
    invoices = [(dt.datetime.fromisoformat(str(d).replace("/", "-")) if not isinstance(d, dt.datetime) else d,
                 money(t), c) for d, t, c in raw_rows(backend, Invoice, "invoice_date", "total", "customer_id")]
    assert len(invoices) == 412

    # All sales: an exact Decimal, on every backend.
    total = sum(t for _, t, _ in invoices)
    assert Invoice.query().sum("total") == total == Decimal("2328.60")

    # Revenue per month of 2021, by date ranges: the first second of each month counts.
    for month in range(1, 13):
        start = dt.datetime(2021, month, 1)
        end = dt.datetime(2021 + month // 12, month % 12 + 1, 1)
        expected = sum((t for d, t, _ in invoices if start <= d < end), Decimal("0.00"))
        got = Invoice.where(Invoice.c.invoice_date >= start, Invoice.c.invoice_date < end).sum("total")
        assert (got or Decimal("0.00")) == expected, (month, got, expected)
    assert Invoice.where(invoice_date=dt.datetime(2021, 1, 1)).count() == 1

    # Sales per support agent: invoices joined to customers, grouped by the customer's rep.
    rep_of = dict(raw_rows(backend, Customer, "customer_id", "support_rep_id"))
    expected_per_rep: dict[int, Decimal] = defaultdict(Decimal)
    for _, t, customer in invoices:
        expected_per_rep[rep_of[customer]] += t
    rows = (Invoice.query()
            .join(Customer, Customer.c.customer_id == Invoice.c.customer_id)
            .select(Customer.c.support_rep_id.label("rep"), func.sum(Invoice.c.total).label("sales"))
            .group_by(Customer.c.support_rep_id).dicts())
    assert {r["rep"]: money(r["sales"]) for r in rows} == dict(expected_per_rep)
    agents = {e.employee_id: e for e in Employee.where(Employee.c.employee_id.in_(list(expected_per_rep))).all()}
    assert {agents[r].title for r in expected_per_rep} == {"Sales Support Agent"}

    # The employee hierarchy, through a self-referencing belongs_to/has_many.
    reports_to = dict(raw_rows(backend, Employee, "employee_id", "reports_to"))
    boss = Employee.where(reports_to=None).one()
    assert sorted(e.employee_id for e in boss.reports) == sorted(k for k, v in reports_to.items() if v == boss.employee_id)
    for employee in Employee.query().includes("manager").all():
        assert (employee.manager.employee_id if employee.manager else None) == reports_to[employee.employee_id]


def test_chinook_composite_keys_and_eager_loading(chinook, backend):
    m = chinook
    Artist, PlaylistTrack, Playlist = m["Artist"], m["PlaylistTrack"], m["Playlist"]

    # The playlist with the most tracks, through the composite-key join table.
    counts = Counter(p for p, _ in raw_rows(backend, PlaylistTrack, "playlist_id", "track_id"))
    top_id, top_count = counts.most_common(1)[0]
    n = func.count().label("n")
    top = PlaylistTrack.query().select("playlist_id", n).group_by("playlist_id").order_by(
        func.count().desc(), "playlist_id").limit(1).dicts()[0]
    assert (top["playlist_id"], top["n"]) == (top_id, top_count)
    assert Playlist.find(top_id).name is not None

    # The same through the association: Playlist.tracks goes through the composite-key table.
    assert len(Playlist.find(top_id).tracks) == top_count
    with backend.capture_statements(this_thread_only=True) as statements:
        playlists = Playlist.query().includes("tracks").all()
        per_playlist = {p.playlist_id: len(p.tracks) for p in playlists}
    assert len(statements) == 2
    assert {k: v for k, v in per_playlist.items() if v} == dict(counts)

    # An artist's albums with their tracks: three statements, however many albums.
    wanted = Artist.where(name="Iron Maiden").one()
    with backend.capture_statements(this_thread_only=True) as statements:
        artist = Artist.where(artist_id=wanted.artist_id).includes("albums", "albums.tracks").one()
        track_count = sum(len(album.tracks) for album in artist.albums)
    assert len(statements) == 3
    assert len(artist.albums) > 1 and track_count == m["Track"].where(
        m["Track"].c.album_id.in_([a.album_id for a in artist.albums])).count()

    # Deleting one playlist_track row deletes one row, not the whole playlist.
    before = sum(counts.values())
    link = PlaylistTrack.where(playlist_id=top_id).first()
    assert link.delete() is True
    assert PlaylistTrack.query().count() == before - 1
    assert PlaylistTrack.where(playlist_id=top_id).count() == top_count - 1

