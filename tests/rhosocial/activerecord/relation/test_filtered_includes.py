"""Filtered includes: includes(posts=<query over Post>) loads only the matching children, in both strategies."""

from __future__ import annotations

import pytest

from .assoc_data import Shelf, Volume, column, seed, seed_shelves
from .models import Comment, Post, Tag, User

STRATEGIES = ["batch", "join"]


def matching_titles(backend, pattern):
    """{user: [titles LIKE pattern by id]}, every user present, from raw SQL."""
    out = {name: [] for name in column(backend, "SELECT name FROM users")}
    for name in out:
        out[name] = column(backend, "SELECT posts.title FROM posts INNER JOIN users ON users.id = posts.user_id "
                                    "WHERE users.name = ? AND posts.title LIKE ? ORDER BY posts.id", name, pattern)
    return out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_only_the_matching_children_are_loaded(backend, statements, strategy):
    seed()
    query = User.query().includes(posts=Post.query().where(Post.c.title.like("%2")), strategy=strategy)
    sql, users = statements(query.order_by("name").all)
    assert len(sql) == (1 if strategy == "join" else 2)
    read, got = statements(lambda: {u.name: [p.title for p in u.posts] for u in users})
    assert read == [] and got == matching_titles(backend, "%2")
    assert [u.name for u in users] == ["ann", "bob", "cy", "dee"]  # owners without matches stay, with none
    ann = users[0]
    assert ann.posts.filtered and ann.posts.loaded and "filtered" in repr(ann.posts)
    assert all(p.author is ann for p in ann.posts)
    # queries on the collection see every row: the filter is only what was loaded
    assert ann.posts.count() == column(backend, "SELECT COUNT(*) FROM posts WHERE user_id = ?", ann.id)[0] == 2
    assert ann.posts.where(title="a1").exists()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_condition_and_the_filter_s_order(backend, strategy):
    seed()
    users = User.query().includes(posts=Post.c.title != "a1", strategy=strategy).where(name="ann").all()
    assert [p.title for p in users[0].posts] == ["a2"]
    ordered = Post.query().where(Post.c.title.like("%")).order_by("-title")
    users = User.query().includes(posts=ordered, strategy=strategy).order_by("name").all()
    assert [p.title for p in users[0].posts] == column(
        backend, "SELECT title FROM posts WHERE user_id = ? ORDER BY title DESC", users[0].id) == ["a2", "a1"]
    assert users[0].posts.filtered  # a filter that happens to let every row through is still a filter


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_nested_filter(backend, statements, strategy):
    seed()
    query = User.query().includes("posts", strategy=strategy).includes(
        **{"posts.comments": Comment.query().where(body="c1")}, strategy=strategy)
    sql, users = statements(query.order_by("name").all)
    assert len(sql) == (1 if strategy == "join" else 3)
    got = {p.title: [c.body for c in p.comments] for u in users for p in u.posts}
    expected = {t: column(backend, "SELECT comments.body FROM comments INNER JOIN posts ON posts.id = "
                                   "comments.post_id WHERE posts.title = ? AND comments.body = ?", t, "c1")
                for t in got}
    assert got == expected and got["a1"] == ["c1"] and got["a2"] == []
    assert not users[0].posts.filtered and users[0].posts[0].comments.filtered


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_through_and_many_to_many_filters(backend, strategy):
    seed()
    posts = Post.query().includes(tags=Tag.query().where(name="red"), strategy=strategy).order_by("id").all()
    got = {p.title: [t.name for t in p.tags] for p in posts}
    assert got == {t: column(backend, "SELECT tags.name FROM tags INNER JOIN taggings ON taggings.tag_id = tags.id "
                                      "INNER JOIN posts ON posts.id = taggings.post_id WHERE posts.title = ? AND "
                                      "tags.name = ?", t, "red") for t in got}
    assert got["a1"] == ["red"] and got["b1"] == []
    tags = Tag.query().includes(posts=Post.query().where(Post.c.title.like("a%")), strategy=strategy).order_by(
        "name").all()
    assert [(t.name, [p.title for p in t.posts]) for t in tags] == [
        ("blue", ["a1"]), ("green", []), ("red", ["a1", "a2"])]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_writes_forget_a_filtered_list(backend, statements, strategy):
    seed()
    ann = User.query().includes(posts=Post.query().where(title="a1"), strategy=strategy).where(name="ann").one()
    assert [p.title for p in ann.posts] == ["a1"]
    ann.posts.create(title="a3")  # does it pass the filter? the database decides: the list is forgotten
    assert not ann.posts.loaded and not ann.posts.filtered
    sql, titles = statements(lambda: [p.title for p in ann.posts])
    assert len(sql) == 1 and titles == column(backend, "SELECT title FROM posts WHERE user_id = ? ORDER BY id",
                                              ann.id) == ["a1", "a2", "a3"]
    assert not ann.posts.filtered
    bob = User.query().includes(posts=Post.query().where(title="b1"), strategy=strategy).where(name="bob").one()
    bob.posts.remove(bob.posts[0])
    assert not bob.posts.loaded and [p.title for p in bob.posts] == ["b2"]
    post = Post.query().includes(tags=Tag.query().where(name="red"), strategy=strategy).where(title="a1").one()
    post.tags.add(Tag.find_by(name="green"))
    assert not post.tags.loaded and sorted(t.name for t in post.tags) == ["blue", "green", "red"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_reload_loads_everything(backend, strategy):
    seed()
    ann = User.query().includes(posts=Post.query().where(title="a1"), strategy=strategy).where(name="ann").one()
    assert [p.title for p in ann.posts.reload()] == ["a1", "a2"] and not ann.posts.filtered
    ann = User.query().includes(posts=Post.query().where(title="a1"), strategy=strategy).where(name="ann").one()
    ann.posts.reset()
    assert not ann.posts.filtered and len(ann.posts) == 2


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_default_scopes_can_be_lifted_by_the_filter(backend, bind, strategy):
    seed_shelves(bind)
    shelves = Shelf.query().includes(volumes=Volume.query().with_deleted(), strategy=strategy).order_by("name").all()
    got = {s.name: [v.title for v in s.volumes] for s in shelves}
    assert got == {name: column(backend, "SELECT v.title FROM ja_volumes v INNER JOIN ja_shelves s ON s.id = "
                                         "v.shelf_id WHERE s.name = ? ORDER BY v.id", name) for name in got}
    assert got["first"] == ["v1", "v2", "v3"]
    # scope= of the association and the filter both apply
    shelves = Shelf.query().includes(short_volumes=Volume.query().with_deleted(), strategy=strategy).order_by(
        "name").all()
    assert [[v.title for v in s.short_volumes] for s in shelves] == [[], ["v1", "v3"], ["v4"]]


def test_the_last_filter_of_a_path_wins(backend):
    seed()
    query = User.query().includes(posts=Post.query().where(title="a1")).includes(posts=Post.query().where(title="a2"))
    assert [p.title for p in query.where(name="ann").one().posts] == ["a2"]
    assert query.included == ("posts",)


def test_filters_are_checked_when_given():
    with pytest.raises(ValueError, match="not a collection"):
        Post.query().includes(author=User.query().where(name="ann"))
    with pytest.raises(TypeError, match="query over Post"):
        User.query().includes(posts=Comment.query())
    with pytest.raises(TypeError, match="query over Post"):
        User.query().includes(posts="title = 'a1'")
    with pytest.raises(ValueError, match="limit"):
        User.query().includes(posts=Post.query().limit(3))
    with pytest.raises(ValueError, match="no association 'nope'"):
        User.query().includes(nope=Post.query())
    with pytest.raises(ValueError, match="SQL fragment"):
        User.query().includes(posts=Post.query().where("title = ?", "a1"), strategy="join")


def test_a_sql_fragment_filters_a_batched_level(backend):
    seed()
    ann = User.query().includes(posts=Post.query().where("title = ?", "a2")).where(name="ann").one()
    assert [p.title for p in ann.posts] == ["a2"]


def test_strict_records_read_their_filtered_collections(backend):
    seed()
    users = User.query().strict_loading().includes(posts=Post.query().where(title="b2"), strategy="join").all()
    assert [p.title for u in users for p in u.posts] == ["b2"]
