"""Data and raw-SQL answers shared by the where_assoc, joined-include and filtered-include tests.

The expected results are computed with hand-written SQL through
``backend.fetch_all``, never through the ORM under test.
"""

from __future__ import annotations

from typing import Any

from rhosocial.activerecord import (
    ActiveRecord,
    Field,
    SoftDeleteMixin,
    belongs_to,
    has_many,
    has_one,
)

from .models import Category, Comment, Label, Note, Post, Profile, Tag, User


def raw(backend: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run hand-written SQL (``?`` placeholders) and return the rows as tuples."""
    return [tuple(row.values()) for row in backend.fetch_all(backend.dialect.convert_placeholders(sql), list(params))]


def column(backend: Any, sql: str, *params: Any) -> list[Any]:
    """The first column of a raw query."""
    return [row[0] for row in raw(backend, sql, *params)]


def seed() -> dict[str, Any]:
    """Users with posts, comments, tags, labels, notes and profiles; categories in a tree.

    ann: a1 (comments c1, c2; tags red, blue; label L1), a2 (comment c3; tag red)
    bob: b1 (tag blue; labels L1, L2), b2 (comment c1)
    cy: no posts; dee: d1; and a post without a user (comment c9)
    """
    ann, bob, cy, dee = (User.create(name=n) for n in ("ann", "bob", "cy", "dee"))
    red, blue = Tag.create(name="red"), Tag.create(name="blue")
    Tag.create(name="green")
    l1, l2 = Label.create(name="L1"), Label.create(name="L2")
    a1 = ann.posts.create(title="a1")
    a2 = ann.posts.create(title="a2")
    b1 = bob.posts.create(title="b1")
    b2 = bob.posts.create(title="b2")
    dee.posts.create(title="d1")
    orphan = Post.create(title="orphan")
    for post, body in ((a1, "c1"), (a1, "c2"), (a2, "c3"), (b2, "c1"), (orphan, "c9")):
        post.comments.create(body=body)
    a1.tags.add(red, blue)
    a2.tags.add(red)
    b1.tags.add(blue)
    a1.labels.add(l1)
    b1.labels.add(l1, l2)
    ann.notes.create(body="on ann")
    a1.notes.create(body="on a1")
    ann.profile = Profile(bio="ann's")
    root = Category.create(name="root")
    k1 = Category.create(name="k1", parent_id=root.id)
    Category.create(name="k2", parent_id=root.id)
    Category.create(name="g1", parent_id=k1.id)
    Comment.create(body="loose")  # a comment without a post
    Note.create(body="on nothing")
    return {"ann": ann, "bob": bob, "cy": cy, "dee": dee, "red": red, "blue": blue}


# -- models with a default scope (soft delete), an association scope= and composite keys ----------


class Shelf(ActiveRecord):
    __tablename__ = "ja_shelves"
    name: str = Field(max_length=20)
    volumes = has_many("Volume", foreign_key="shelf_id")
    short_volumes = has_many("Volume", foreign_key="shelf_id", scope=lambda q: q.where(Volume.c.pages < 100))


class Volume(SoftDeleteMixin, ActiveRecord):
    __tablename__ = "ja_volumes"
    title: str = Field(max_length=20)
    pages: int = 0
    shelf_id: int | None = None
    shelf = belongs_to("Shelf", foreign_key="shelf_id")


class Order(ActiveRecord):
    __tablename__ = "ja_orders"
    __primary_key__ = ("region", "number")
    region: int
    number: int
    customer: str = Field(max_length=20)
    items = has_many("OrderItem", foreign_key=("region", "number"))
    invoice = has_one("Invoice", foreign_key=("region", "number"))


class OrderItem(ActiveRecord):
    __tablename__ = "ja_order_items"
    id: int | None = None
    region: int | None = None
    number: int | None = None
    sku: str = Field(max_length=20)
    order = belongs_to("Order", foreign_key=("region", "number"))


class Invoice(ActiveRecord):
    __tablename__ = "ja_invoices"
    id: int | None = None
    region: int
    number: int
    total: int = 0
    order = belongs_to("Order", foreign_key=("region", "number"))


def seed_shelves(bind: Any) -> None:
    """Two shelves; one volume of the first is soft-deleted; the second shelf's only volume too."""
    bind(Shelf, Volume)
    first, second = Shelf.create(name="first"), Shelf.create(name="second")
    Shelf.create(name="empty")
    Volume.create(title="v1", pages=50, shelf_id=first.id)
    Volume.create(title="v2", pages=500, shelf_id=first.id)
    Volume.create(title="v3", pages=70, shelf_id=first.id).delete()
    Volume.create(title="v4", pages=10, shelf_id=second.id).delete()


def seed_orders(bind: Any) -> None:
    """Orders (1, 1), (1, 2), (2, 1): items on (1, 1) and (2, 1), an invoice on (1, 2)."""
    bind(Order, OrderItem, Invoice)
    for region, number, customer in ((1, 1, "ann"), (1, 2, "bob"), (2, 1, "cy")):
        Order.create(region=region, number=number, customer=customer)
    for region, number, sku in ((1, 1, "apple"), (1, 1, "pear"), (2, 1, "apple")):
        OrderItem.create(region=region, number=number, sku=sku)
    OrderItem.create(sku="loose")
    Invoice.create(region=1, number=2, total=30)
