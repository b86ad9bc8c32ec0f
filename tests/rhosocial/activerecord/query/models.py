"""Models shared by the query-builder tests."""
from __future__ import annotations

from rhosocial.activerecord import ActiveRecord, Field, scope


class User(ActiveRecord):
    name: str = Field(max_length=50)
    email: str | None = Field(None, max_length=100)
    age: int | None = None
    city: str | None = Field(None, max_length=30)
    active: bool = True

    @scope
    def adults(query):
        return query.where(query.model.c.age >= 18)

    @scope
    def in_city(query, city):
        return query.where(city=city)

    @scope
    def oldest_first(query):
        return query.order_by("-age")


class Post(ActiveRecord):
    user_id: int | None = None
    title: str = Field(max_length=100)
    score: int = 0


class Item(ActiveRecord):
    """A plain table for batching tests."""

    n: int


PEOPLE = [
    # name, email, age, city, active
    ("ann", "ann@example.com", 30, "Paris", True),
    ("bob", "bob@example.com", 17, "London", True),
    ("cid", None, None, "Paris", False),
    ("dee", "dee@example.com", 45, "Rome", True),
    ("eve", "eve@example.com", 18, "London", False),
]
