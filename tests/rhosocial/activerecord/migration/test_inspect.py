"""``inspect`` on a database this project did not create: Chinook, on each backend.

The printed models import; every table's row count through them equals the
raw count; a relation made from a foreign key loads the row the key names;
and ``schema-check`` of the printed models against the database passes.
"""
from __future__ import annotations

import importlib
import sys

import pytest

from rhosocial.activerecord.migration import check_schema, models_source

from test_chinook import CHINOOK, load  # tests/rhosocial/activerecord is on sys.path
from .conftest import cli, url_of

pytestmark = pytest.mark.skipif(CHINOOK is None, reason="the Chinook scripts were not found; "
                                "set RHOSOCIAL_CHINOOK_DIR to their folder")


@pytest.fixture
def chinook_models(backend, tmp_path):
    load(backend)
    out = cli("inspect", "--url", url_of(backend), "--output", str(tmp_path / "chinook_models.py"), cwd=tmp_path)
    assert out.returncode == 0, out
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("chinook_models")
        yield backend, module, (tmp_path / "chinook_models.py").read_text()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("chinook_models", None)


def test_inspected_chinook_models_work(chinook_models):
    from rhosocial.activerecord import ActiveRecord

    backend, module, source = chinook_models
    assert source == models_source(backend)  # the CLI prints what the API returns
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, ActiveRecord) and v.__module__ == module.__name__]
    assert len(found) == 11
    q = backend.dialect.quote_identifier
    for model in found:
        model.configure(backend)
        raw = backend.execute(f"SELECT COUNT(*) FROM {q(model.table_name())}").rows[0][0]
        assert model.count() == raw > 0, model.__name__
        assert len(model.query().limit(50).all()) == min(50, raw)
    by_table = {m.table_name().lower().replace("_", ""): m for m in found}
    PlaylistTrack = by_table["playlisttrack"]
    assert isinstance(PlaylistTrack.primary_key(), tuple) and len(PlaylistTrack.primary_key()) == 2
    # A belongs_to and a has_many made from the foreign keys load the rows the keys name.
    Album, Artist, Employee = by_table["album"], by_table["artist"], by_table["employee"]
    album = Album.query().order_by(Album.primary_key()).first()
    artist = album.artist
    assert artist is not None and getattr(artist, Artist.primary_key()) == album.artist_id
    assert album in artist.albums.all()
    # The self-reference: an employee's manager, and the manager's reports.
    field = next(name for name in Employee.metadata().columns if name.startswith("reports_to"))
    employee = Employee.where(getattr(Employee.c, field).is_not_null()).first()
    assert "class Employee(ActiveRecord)" in source and "belongs_to(\"Employee\"" in source
    manager_relation = next(n for n in Employee.metadata().associations if n.startswith("reports_to"))
    manager = getattr(employee, manager_relation)
    assert getattr(manager, Employee.primary_key()) == getattr(employee, field)
    # Mapped columns where the names are not snake_case (PascalCase on SQLite and MySQL).
    if backend.name != "postgres":
        assert 'column="AlbumId"' in source or "column='AlbumId'" in source
    for model in found:
        type.__setattr__(model, "__backend__", None)


def test_inspected_models_pass_schema_check(chinook_models):
    backend, module, _ = chinook_models
    assert check_schema(backend, [module.__name__]) == []
