"""has_many through a join model, many-to-many through a join table, polymorphic belongs_to."""

from __future__ import annotations

import pytest

from .models import Label, Note, Post, Tag, Tagging, User


@pytest.fixture
def post():
    return Post.create(title="p", user_id=User.create(name="ann").id)


# -- has_many through ----------------------------------------------------------------


def test_through_reads_and_writes_join_records(post, statements):
    red, blue = Tag.create(name="red"), Tag.create(name="blue")
    post.tags.add(red, blue)
    assert Tagging.count() == 2
    fresh = Post.find(post.id)
    sql, names = statements(lambda: [t.name for t in fresh.tags])
    assert names == ["red", "blue"] and len(sql) == 1
    assert fresh.tags.where(name="blue").count() == 1
    assert [p.title for p in Tag.find(red.id).posts] == ["p"]
    fresh.tags.remove(red)
    assert [t.name for t in fresh.tags] == ["blue"]
    assert Tagging.count() == 1 and Tag.count() == 2


def test_through_create_makes_target_and_join_record(post):
    green = post.tags.create(name="green")
    assert not green.is_new_record
    assert Tagging.find_by(post_id=post.id).tag_id == green.id


def test_through_add_refuses_unsaved_records(post):
    with pytest.raises(ValueError, match="Save"):
        post.tags.add(Tag(name="new"))


# -- many-to-many through a join table ---------------------------------------------------


def test_many_to_many_add_remove(post, backend, statements):
    a, b = Label.create(name="a"), Label.create(name="b")
    post.labels.add(a, b)
    post.labels.add(a)  # already linked: no second row
    assert (
        backend.fetch_value(
            "SELECT COUNT(*) FROM " + backend.dialect.quote_identifier("labels_posts")
        )
        == 2
    )
    fresh = Post.find(post.id)
    sql, names = statements(lambda: [x.name for x in fresh.labels])
    assert names == ["a", "b"] and len(sql) == 1
    assert [p.title for p in Label.find(a.id).posts] == ["p"]
    assert fresh.labels.where(name="b").count() == 1
    fresh.labels.remove(a)
    assert [x.name for x in fresh.labels] == ["b"]
    assert [x.name for x in Post.find(post.id).labels] == ["b"]
    assert Label.count() == 2


def test_many_to_many_create_and_join_rows_go_with_the_owner(post, backend):
    created = post.labels.create(name="c")
    assert [x.name for x in post.labels] == ["c"]
    Label.find(created.id).delete()  # its join rows go first, so the foreign key holds
    assert (
        backend.fetch_value(
            "SELECT COUNT(*) FROM " + backend.dialect.quote_identifier("labels_posts")
        )
        == 0
    )
    post.labels.add(Label.create(name="d"))
    post.delete()
    assert (
        backend.fetch_value(
            "SELECT COUNT(*) FROM " + backend.dialect.quote_identifier("labels_posts")
        )
        == 0
    )
    assert Label.count() == 1


def test_join_table_has_foreign_keys(post, backend):
    from rhosocial.activerecord.backend.errors import ForeignKeyViolationError, IntegrityError

    q = backend.dialect.quote_identifier
    sql = f"INSERT INTO {q('labels_posts')} ({q('post_id')}, {q('label_id')}) VALUES (?, ?)"
    with pytest.raises((ForeignKeyViolationError, IntegrityError)):
        backend.execute(backend.dialect.convert_placeholders(sql), [post.id, 999999])


# -- polymorphic belongs_to -------------------------------------------------------------


def test_polymorphic_belongs_to_reads_and_writes(post, statements):
    user = User.find(post.user_id)
    on_post = Note(body="on post")
    on_post.notable = post
    on_post.save()
    assert (on_post.notable_type, on_post.notable_id) == ("Post", post.id)
    on_user = user.notes.create(body="on user")
    assert (on_user.notable_type, on_user.notable_id) == ("User", user.id)
    assert Note.find(on_post.id).notable == post
    assert Note.find(on_user.id).notable == user
    assert [n.body for n in Post.find(post.id).notes] == ["on post"]
    assert [n.body for n in User.find(user.id).notes] == ["on user"]
    user.notes.reset()
    notes = list(user.notes)
    sql, parent = statements(lambda: notes[0].notable)
    assert parent is user and sql == []  # the inverse of notes is notable


def test_polymorphic_belongs_to_with_ids_colliding_across_types(statements):
    user = User.create(name="u")
    post = Post.create(title="t")
    assert user.id == post.id  # the first row of each table
    user.notes.create(body="u")
    post.notes.create(body="p")
    assert [n.body for n in User.find(user.id).notes] == ["u"]
    sql, notes = statements(lambda: Note.query().includes("notable").order_by("id").all())
    assert len(sql) == 3  # notes, then one query per type
    assert isinstance(notes[0].notable, User) and isinstance(notes[1].notable, Post)


def test_polymorphic_none_is_none(statements):
    note = Note.create(body="alone")
    note.notable = None
    assert note.notable_type is None and note.notable is None
