"""Associations through composite keys: belongs_to / has_many / has_one with a tuple of fields."""
from __future__ import annotations

from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field, ModelDefinitionError, belongs_to, has_many, has_one


class OrderLine(ActiveRecord):
    __tablename__ = "ck_order_lines"
    __primary_key__ = ("order_no", "line_no")
    order_no: int
    line_no: int
    sku: str = Field(max_length=20)
    notes = has_many("LineNote", foreign_key=("order_no", "line_no"), dependent="destroy")
    shipment = has_one("LineShipment", foreign_key=("order_no", "line_no"))


class LineNote(ActiveRecord):
    __tablename__ = "ck_line_notes"
    id: Optional[int] = None
    order_no: Optional[int] = None
    line_no: Optional[int] = None
    text: str = Field(max_length=40)
    line = belongs_to("OrderLine", foreign_key=("order_no", "line_no"))


class LineShipment(ActiveRecord):
    __tablename__ = "ck_line_shipments"
    id: Optional[int] = None
    order_no: int
    line_no: int
    carrier: str = Field(max_length=20)
    line = belongs_to("OrderLine", foreign_key=("order_no", "line_no"))


def _setup(bind):
    bind(OrderLine, LineNote, LineShipment)
    lines = [OrderLine.create(order_no=o, line_no=n, sku=f"{o}-{n}") for o in (1, 2) for n in (1, 2)]
    LineNote.create(order_no=1, line_no=1, text="fragile")
    LineNote.create(order_no=1, line_no=1, text="gift")
    LineNote.create(order_no=1, line_no=2, text="late")
    LineNote.create(order_no=2, line_no=1, text="other order")
    LineShipment.create(order_no=2, line_no=2, carrier="DHL")
    return lines


def test_reading_through_a_composite_key_matches_every_part(bind, backend):
    lines = _setup(bind)
    first = OrderLine.find((1, 1))
    assert sorted(n.text for n in first.notes) == ["fragile", "gift"]
    assert [n.text for n in OrderLine.find((2, 1)).notes] == ["other order"]  # same line_no, other order
    assert LineNote.where(text="late").one().line.sku == "1-2"
    assert OrderLine.find((2, 2)).shipment.carrier == "DHL" and OrderLine.find((1, 1)).shipment is None
    assert len(lines) == 4


def test_eager_loading_uses_one_statement_per_level(bind, backend):
    _setup(bind)
    with backend.capture_statements() as statements:
        lines = OrderLine.query().includes("notes", "shipment").order_by("order_no", "line_no").all()
        got = {(ln.order_no, ln.line_no): (sorted(n.text for n in ln.notes),
                                           ln.shipment.carrier if ln.shipment else None) for ln in lines}
    assert len(statements) == 3
    assert got == {(1, 1): (["fragile", "gift"], None), (1, 2): (["late"], None),
                   (2, 1): (["other order"], None), (2, 2): ([], "DHL")}
    with backend.capture_statements() as statements:
        notes = LineNote.query().includes("line").order_by("id").all()
        assert [n.line.sku for n in notes] == ["1-1", "1-1", "1-2", "2-1"]
    assert len(statements) == 2


def test_without_row_values_the_lookup_is_an_or_of_ands(bind, backend, monkeypatch):
    _setup(bind)
    monkeypatch.setattr(backend.dialect, "supports_row_values", False)
    with backend.capture_statements() as statements:
        notes = LineNote.query().includes("line").order_by("id").all()
        assert [n.line.sku for n in notes] == ["1-1", "1-1", "1-2", "2-1"]
    assert " OR " in statements[-1] and "IN" not in statements[-1].split("WHERE", 1)[1].replace("INNER", "")


def test_joins_assignment_and_dependents_use_the_whole_key(bind, backend):
    _setup(bind)
    assert LineNote.query().joins("line").where(OrderLine.c.sku == "1-1").count() == 2
    assert OrderLine.query().joins("notes").where(LineNote.c.text == "late").pluck("sku") == ["1-2"]

    note = LineNote.create(text="moved")
    note.line = OrderLine.find((2, 2))
    note.save()
    assert (LineNote.find(note.id).order_no, LineNote.find(note.id).line_no) == (2, 2)
    note.line = None
    assert (note.order_no, note.line_no) == (None, None)

    line = OrderLine.find((2, 2))
    created = line.notes.create(text="via collection")
    assert (created.order_no, created.line_no) == (2, 2)
    line.notes.remove(created)
    assert (LineNote.find(created.id).order_no, LineNote.find(created.id).line_no) == (None, None)

    OrderLine.find((1, 1)).delete()  # dependent="destroy": its two notes go, the rest stay
    assert sorted(LineNote.query().pluck("text")) == ["late", "moved", "other order", "via collection"]


def test_a_composite_key_needs_a_foreign_key_of_the_same_width():
    class Holder(ActiveRecord):
        __tablename__ = "ck_holders"
        __primary_key__ = ("a", "b")
        a: int
        b: int
        items = has_many("HolderItem")
        wrong = has_many("HolderItem", foreign_key="a")

    class HolderItem(ActiveRecord):
        __tablename__ = "ck_holder_items"
        id: Optional[int] = None
        a: int
        holder = belongs_to("Holder", foreign_key="a")

    with pytest.raises(ModelDefinitionError, match="composite key.*foreign_key="):
        Holder.metadata().associations["items"].keys  # noqa: B018
    with pytest.raises(ModelDefinitionError, match="has 1 field.*has 2"):
        Holder.metadata().associations["wrong"].keys  # noqa: B018
    with pytest.raises(ModelDefinitionError, match="has 1 field.*has 2"):
        HolderItem.metadata().associations["holder"].keys_for(Holder)
