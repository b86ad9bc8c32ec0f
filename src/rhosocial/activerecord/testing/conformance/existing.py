"""Tables the ORM did not create: mapped columns, composite keys, database defaults, computed columns.

What a backend supplies for these is small (``get_columns`` reporting
defaults and computed columns, the dialect's column DDL, row values or the
base's OR of ANDs), and all of it is exercised here through models.
"""
from __future__ import annotations

from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field, belongs_to, has_many
from rhosocial.activerecord.backend import ColumnDef, DatabaseType, NotSupportedError

from ..capability import requires


class KitShelf(ActiveRecord):
    __tablename__ = "KitShelf"
    __primary_key__ = ("room", "number")
    room: str = Field(max_length=10, column="Room")
    number: int = Field(column="Number")
    label: str = Field(max_length=30, column="Label")
    volumes = has_many("KitVolume", foreign_key=("room", "shelf_number"))


class KitVolume(ActiveRecord):
    __tablename__ = "KitVolume"
    __primary_key__ = "volume_id"
    volume_id: int = Field(column="VolumeId")
    room: str = Field(max_length=10, column="Room")
    shelf_number: int = Field(column="ShelfNumber")
    title: str = Field(max_length=40, column="Title")
    shelf = belongs_to("KitShelf", foreign_key=("room", "shelf_number"))


class KitStamped(ActiveRecord):  # declares no defaults: the table has them
    __tablename__ = "kit_stamped"
    id: Optional[int] = None
    name: str = Field(max_length=20)
    status: Optional[str] = Field(None, max_length=10)


class KitLine(ActiveRecord):
    __tablename__ = "kit_lines"
    id: Optional[int] = None
    qty: int
    cents: int
    total: int = Field(db_generated="qty * cents")
    tags: list[str] = Field(default_factory=list)


class TestExistingSchemas:
    """Models over tables made by someone else, with other names and keys than the ORM would choose."""

    @pytest.fixture
    def shelves(self, backend):
        backend.create_table("KitShelf", [
            ColumnDef("Room", DatabaseType.VARCHAR, length=10, nullable=False, primary_key=True),
            ColumnDef("Number", DatabaseType.INTEGER, nullable=False, primary_key=True),
            ColumnDef("Label", DatabaseType.VARCHAR, length=30, nullable=False),
        ])
        backend.create_table("KitVolume", [
            ColumnDef("VolumeId", DatabaseType.INTEGER, primary_key=True),
            ColumnDef("Room", DatabaseType.VARCHAR, length=10, nullable=False),
            ColumnDef("ShelfNumber", DatabaseType.INTEGER, nullable=False),
            ColumnDef("Title", DatabaseType.VARCHAR, length=40, nullable=False),
        ])
        for model in (KitShelf, KitVolume):
            model.configure(backend)
        yield backend
        for model in (KitShelf, KitVolume):
            type.__setattr__(model, "__backend__", None)

    def test_mapped_columns_and_a_composite_key(self, shelves):
        for room, number in (("A", 1), ("A", 2), ("B", 1)):
            KitShelf.create(room=room, number=number, label=f"{room}{number}")
        shelf = KitShelf.find(("A", 2))
        assert shelf.label == "A2" and KitShelf.where(room="A").order_by("-number").pluck("number") == [2, 1]
        shelf.update(label="second")
        assert KitShelf.find(("A", 2)).label == "second" and KitShelf.find(("A", 1)).label == "A1"
        assert KitShelf.find(("B", 1)).delete() is True
        assert KitShelf.count() == 2  # one row went, not every shelf numbered 1

    def test_associations_through_a_composite_key(self, shelves):
        for room, number in (("A", 1), ("B", 1)):
            KitShelf.create(room=room, number=number, label=f"{room}{number}")
        for i, (room, title) in enumerate((("A", "x"), ("A", "y"), ("B", "z")), 1):
            KitVolume.create(volume_id=i, room=room, shelf_number=1, title=title)
        with shelves.capture_statements(this_thread_only=True) as statements:
            found = KitShelf.query().includes("volumes").order_by("room").all()
            assert [[v.title for v in s.volumes] for s in found] == [["x", "y"], ["z"]]
        assert len(statements) == 2
        assert KitVolume.find(3).shelf.label == "B1"

    def test_defaults_of_an_existing_table_are_read_back(self, backend):
        caps = backend.capabilities
        if not (caps.supports_returning or caps.reports_last_insert_id):
            pytest.skip(f"{backend.name}: neither supports_returning nor reports_last_insert_id")
        backend.create_table("kit_stamped", [
            ColumnDef("id", DatabaseType.INTEGER, primary_key=True, autoincrement=True),
            ColumnDef("name", DatabaseType.VARCHAR, length=20, nullable=False),
            ColumnDef("status", DatabaseType.VARCHAR, length=10, nullable=False, default="new"),
        ])
        assert any(c.name == "status" and c.default is not None for c in backend.get_columns("kit_stamped")), \
            "get_columns() must report a column's default"
        KitStamped.configure(backend)
        try:
            row = KitStamped.create(name="a")
            assert row.status == "new" and KitStamped.find(row.id).status == "new"
        finally:
            type.__setattr__(KitStamped, "__backend__", None)

    def test_computed_columns(self, backend):
        requires(backend, "supports_computed_columns")
        KitLine.configure(backend)
        try:
            KitLine.create_table()
            assert [c.generated for c in backend.get_columns("kit_lines")] == [False, False, False, True, False], \
                "get_columns() must report computed columns (ColumnInfo.generated)"
            line = KitLine.create(qty=3, cents=5)
            assert line.total == 15
            line.qty = 4
            line.save()
            assert KitLine.find(line.id).total == 20 == line.total
        finally:
            type.__setattr__(KitLine, "__backend__", None)

    def test_list_filters(self, backend):
        """``contains``/``overlaps``/``any`` on a JSON list; a dialect without them raises NotSupportedError."""
        requires(backend, "supports_json")

        class KitTagged(ActiveRecord):
            __tablename__ = "kit_tagged"
            id: Optional[int] = None
            tags: list[str] = Field(default_factory=list)

        KitTagged.configure(backend)
        try:
            KitTagged.create_table()
            try:
                KitTagged.where(KitTagged.c.tags.any("a")).to_sql()
            except NotSupportedError as exc:
                pytest.skip(str(exc))
            KitTagged.create(tags=["a", "b"])
            KitTagged.create(tags=["c"])
            c = KitTagged.c
            assert KitTagged.where(c.tags.contains(["b", "a"])).count() == 1
            assert KitTagged.where(c.tags.overlaps(["c", "z"])).count() == 1
            assert KitTagged.where(c.tags.any("a")).count() == 1
            assert KitTagged.where(~c.tags.any("a")).count() == 1
        finally:
            type.__setattr__(KitTagged, "__backend__", None)

    def test_list_filters_on_native_arrays(self, backend):
        """The same filters on ``Field(db_type=DatabaseType.ARRAY)`` columns, where the database has arrays."""
        requires(backend, "supports_arrays")

        class KitArrayed(ActiveRecord):
            __tablename__ = "kit_arrayed"
            id: int | None = None
            tags: list[str] = Field(default_factory=list, db_type=DatabaseType.ARRAY)
            scores: list[int] = Field(default_factory=list, db_type=DatabaseType.ARRAY)

        KitArrayed.configure(backend)
        try:
            KitArrayed.create_table()
            KitArrayed.create(tags=["a", "b"], scores=[1, 2])
            KitArrayed.create(tags=["c"], scores=[3])
            c = KitArrayed.c
            assert KitArrayed.where(c.tags.contains(["b", "a"])).count() == 1
            assert KitArrayed.where(c.tags.overlaps(["c", "z"])).count() == 1
            assert KitArrayed.where(c.scores.any(3)).pluck("tags") == [["c"]]
            assert KitArrayed.where(~c.tags.any("a")).count() == 1
        finally:
            type.__setattr__(KitArrayed, "__backend__", None)
