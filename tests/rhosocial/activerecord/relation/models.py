"""Models shared by the relation tests; ``TABLES`` lists them in creation order."""

from __future__ import annotations

from rhosocial.activerecord import ActiveRecord, Field, belongs_to, has_many, has_one, many_to_many


class Base(ActiveRecord):
    __abstract__ = True


class User(Base):
    name: str = Field(max_length=50)
    posts = has_many("Post", dependent="destroy")  # Post.user_id, by the default name
    profile = has_one("Profile", dependent="destroy")
    notes = has_many("Note", as_="notable")


class Profile(Base):
    user_id: int | None = Field(None, references="users.id")
    bio: str = ""
    user = belongs_to("User")


class Post(Base):
    title: str = Field(max_length=100)
    user_id: int | None = Field(None, references="users.id")
    user = belongs_to("User")
    author = belongs_to("User", foreign_key="user_id")  # a second name for the same key
    comments = has_many("Comment", dependent="destroy")
    taggings = has_many("Tagging", dependent="delete_all")
    tags = has_many("Tag", through="taggings")
    labels = many_to_many("Label")
    notes = has_many("Note", as_="notable", dependent="nullify")


class Comment(Base):
    body: str = Field(max_length=100)
    post_id: int | None = Field(None, references="posts.id")
    post = belongs_to("Post")


class Tag(Base):
    name: str = Field(max_length=50)
    taggings = has_many("Tagging")
    posts = has_many("Post", through="taggings")


class Tagging(Base):
    post_id: int = Field(references="posts.id")
    tag_id: int = Field(references="tags.id")
    post = belongs_to("Post")
    tag = belongs_to("Tag")


class Label(Base):
    name: str = Field(max_length=50)
    posts = many_to_many("Post")


class Note(Base):
    body: str = Field(max_length=100)
    notable_type: str | None = Field(None, max_length=30)
    notable_id: int | None = None
    notable = belongs_to(polymorphic=True)


class Writer(Base):
    name: str = Field(max_length=50)
    books = has_many("Book")  # no writer_id: inferred from Book.author


class Book(Base):
    title: str = Field(max_length=100)
    author_id: int | None = Field(None, references="writers.id")
    author = belongs_to("Writer")


class Account(Base):
    """Strict by default: every lazy association load raises."""

    __strict_loading__ = True
    name: str = Field(max_length=50)
    members = has_many("Member", dependent="restrict")


class Member(Base):
    name: str = Field(max_length=50)
    account_id: int | None = None  # no references=: belongs_to works without a FOREIGN KEY
    account = belongs_to("Account")


class Group(Base):
    name: str = Field(max_length=50)
    people = has_many("Person", dependent="nullify")


class Person(Base):
    __tablename__ = "people"
    name: str = Field(max_length=50)
    group_id: int | None = Field(None, references="groups.id")
    group = belongs_to("Group")


class Category(Base):
    __tablename__ = "categories"
    name: str = Field(max_length=50)
    parent_id: int | None = Field(None, references="categories.id")
    parent = belongs_to("Category")
    children = has_many("Category", foreign_key="parent_id", inverse_of="parent")


TABLES = [
    User,
    Profile,
    Post,
    Comment,
    Tag,
    Tagging,
    Label,
    Note,
    Writer,
    Book,
    Account,
    Member,
    Group,
    Person,
    Category,
]
