"""A short tour of rhosocial ActiveRecord on SQLite: models, queries, validation, transactions.

Run it with ``python3 dev.py demo``.
"""
from __future__ import annotations

from typing import Optional

from pydantic import ValidationError, field_validator

from rhosocial.activerecord import ActiveRecord, Field, RecordInvalid, TimestampMixin, configure, func

configure(backend="sqlite", database=":memory:")


class User(TimestampMixin, ActiveRecord):
    __tablename__ = "users"

    name: str = Field(max_length=50)
    email: str = Field(max_length=255, unique=True)
    age: int = Field(ge=0, le=150)

    @field_validator("email")
    @classmethod
    def email_has_at(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("an e-mail address needs an @")
        return value.lower()


class Post(ActiveRecord):
    title: str = Field(max_length=200)
    user_id: int = Field(references="users.id", index=True)
    views: int = 0
    summary: Optional[str] = None


def section(title: str) -> None:
    print(f"\n== {title}")


section("create the tables from the models")
User.create_table()
Post.create_table()
print("tables:", User.table_name(), Post.table_name())

section("write")
alice = User.create(name="Alice", email="Alice@Example.com", age=34)
bob = User.create(name="Bob", email="bob@example.com", age=17)
for i, title in enumerate(["Hello", "Pluggable backends", "Dirty tracking"]):
    Post.create(title=title, user_id=alice.id, views=10 * (i + 1))
Post.create(title="First post", user_id=bob.id, views=3)
print(f"saved {User.count()} users and {Post.count()} posts; alice.id={alice.id}, email={alice.email!r}")

section("update only what changed")
alice.age = 35
print("changes before save:", alice.changes)
with User.backend().capture_statements() as statements:
    alice.save()
# (the timestamp hook runs in the same transaction as the UPDATE: BEGIN ... COMMIT around it)
print("SQL run:", next(sql for sql in statements if sql.startswith("UPDATE")))

section("query")
adults = User.where(User.c.age >= 18).order_by("name").all()
print("adults:", [u.name for u in adults])
popular = Post.where("views > ?", 15).order_by("-views").pluck("title")
print("posts with more than 15 views:", popular)
per_user = (Post.query()
            .select(Post.c.user_id, func.count().label("posts"), func.sum(Post.c.views).label("views"))
            .group_by("user_id").order_by("user_id").dicts())
print("posts per user:", per_user)
sql, params = User.where(name="Alice").to_sql()
print("to_sql():", sql, params)

section("validation errors write nothing")
try:
    User.create(name="Carol", email="no-at-sign", age=30)
except ValidationError as exc:
    print("rejected:", exc.errors()[0]["msg"])
print("users still:", User.count())

section("a failed transaction leaves nothing behind")
try:
    with User.transaction():
        User.create(name="Dave", email="dave@example.com", age=40)
        User.create(name="Dave again", email="dave@example.com", age=41)  # same e-mail
except RecordInvalid as exc:  # the unique e-mail is checked before the INSERT
    print("rolled back:", type(exc).__name__, "-", exc.errors)
print("Dave saved?", User.find_by(name="Dave") is not None)
