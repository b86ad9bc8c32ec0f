"""Models shared by the query-builder tests."""
from __future__ import annotations

from typing import Optional

from rhosocial.activerecord import ActiveRecord, Field, scope


class User(ActiveRecord):
    name: str = Field(max_length=50)
    email: Optional[str] = Field(None, max_length=100)
    age: Optional[int] = None
    city: Optional[str] = Field(None, max_length=30)
    active: bool = True

    @scope
    def adults(query):  # noqa: N805 - a scope takes the query
        return query.where(query.model.c.age >= 18)

    @scope
    def in_city(query, city):  # noqa: N805
        return query.where(city=city)

    @scope
    def oldest_first(query):  # noqa: N805
        return query.order_by("-age")


class Post(ActiveRecord):
    user_id: Optional[int] = None
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
