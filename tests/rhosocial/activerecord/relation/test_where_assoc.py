"""where_assoc(): filtering by an association path with EXISTS, checked against hand-written SQL."""

from __future__ import annotations

import pytest

from rhosocial.activerecord.relation import association_exists

from .assoc_data import Order, OrderItem, Shelf, Volume, column, seed, seed_orders, seed_shelves
from .models import Category, Comment, Label, Note, Post, Tag, User


def names(query):
    return sorted(query.pluck("name"))


def test_joins_with_a_condition_on_the_joined_model_keeps_working(backend):
    seed()
    got = User.query().joins("posts").where(Post.c.title == "a1").pluck("name")
    expected = column(backend, "SELECT DISTINCT users.name FROM users INNER JOIN posts ON posts.user_id = users.id "
                               "WHERE posts.title = ?", "a1")
    assert got == expected == ["ann"]


def test_has_many_by_keywords_each_owner_once(backend, statements):
    seed()
    query = User.query().where_assoc("posts", title=["a1", "a2", "b1"])
    sql, got = statements(lambda: query.order_by("name").pluck("name"))
    expected = column(backend, "SELECT name FROM users WHERE EXISTS (SELECT 1 FROM posts WHERE posts.user_id = "
                               "users.id AND posts.title IN (?, ?, ?)) ORDER BY name", "a1", "a2", "b1")
    assert got == expected == ["ann", "bob"]  # ann has two matching posts and comes back once
    assert len(sql) == 1 and "EXISTS (SELECT" in sql[0] and "JOIN" not in sql[0] and "DISTINCT" not in sql[0]
    assert query.count() == 2


def test_conditions_take_every_where_form(backend):
    seed()
    expected = column(backend, "SELECT name FROM users WHERE EXISTS (SELECT 1 FROM posts "
                               "WHERE posts.user_id = users.id AND posts.title LIKE ?) ORDER BY name", "b%")
    assert names(User.query().where_assoc("posts", Post.c.title.like("b%"))) == expected == ["bob"]
    assert names(User.query().where_assoc("posts", "title LIKE ?", "b%")) == expected
    assert names(User.query().where_assoc("posts", Post.query().where(Post.c.title.like("b%")))) == expected
    # None is IS NULL: comments on a post without a user
    expected = column(backend, "SELECT body FROM comments WHERE EXISTS (SELECT 1 FROM posts WHERE posts.id = "
                               "comments.post_id AND posts.user_id IS NULL)")
    assert Comment.query().where_assoc("post", user_id=None).pluck("body") == expected == ["c9"]
    # no condition: any associated row
    expected = column(backend, "SELECT name FROM users WHERE EXISTS (SELECT 1 FROM posts WHERE posts.user_id = "
                               "users.id) ORDER BY name")
    assert names(User.query().where_assoc("posts")) == expected == ["ann", "bob", "dee"]


def test_a_query_over_another_model_is_refused():
    with pytest.raises(TypeError, match="query over Post"):
        User.query().where_assoc("posts", Comment.query())


def test_nested_path(backend):
    seed()
    got = names(User.query().where_assoc("posts.comments", body="c1"))
    expected = column(backend, "SELECT name FROM users WHERE EXISTS (SELECT 1 FROM posts WHERE posts.user_id = "
                               "users.id AND EXISTS (SELECT 1 FROM comments WHERE comments.post_id = posts.id "
                               "AND comments.body = ?)) ORDER BY name", "c1")
    assert got == expected == ["ann", "bob"]
    got = sorted(Comment.query().where_assoc("post.author", name="bob").pluck("body"))
    expected = column(backend, "SELECT comments.body FROM comments INNER JOIN posts ON posts.id = comments.post_id "
                               "INNER JOIN users ON users.id = posts.user_id WHERE users.name = ? ORDER BY 1", "bob")
    assert got == expected == ["c1"]


def test_through_and_many_to_many(backend):
    seed()
    got = sorted(Post.query().where_assoc("tags", name="blue").pluck("title"))
    expected = column(backend, "SELECT title FROM posts WHERE EXISTS (SELECT 1 FROM taggings INNER JOIN tags ON "
                               "tags.id = taggings.tag_id WHERE taggings.post_id = posts.id AND tags.name = ?) "
                               "ORDER BY title", "blue")
    assert got == expected == ["a1", "b1"]
    got = sorted(Tag.query().where_assoc("posts", title="a2").pluck("name"))
    assert got == ["red"]
    got = sorted(Post.query().where_assoc("labels", name="L2").pluck("title"))
    expected = column(backend, "SELECT title FROM posts WHERE EXISTS (SELECT 1 FROM labels_posts lp INNER JOIN "
                               "labels ON labels.id = lp.label_id WHERE lp.post_id = posts.id AND labels.name = ?)",
                      "L2")
    assert got == expected == ["b1"]
    got = sorted(Label.query().where_assoc("posts.author", name="ann").pluck("name"))
    assert got == ["L1"]
    # users whose posts carry the red tag: has_many, then through
    got = names(User.query().where_assoc("posts.tags", name="red"))
    expected = column(backend, "SELECT DISTINCT users.name FROM users INNER JOIN posts ON posts.user_id = users.id "
                               "INNER JOIN taggings ON taggings.post_id = posts.id INNER JOIN tags ON tags.id = "
                               "taggings.tag_id WHERE tags.name = ? ORDER BY 1", "red")
    assert got == expected == ["ann"]


def test_polymorphic(backend):
    seed()
    got = names(User.query().where_assoc("notes"))
    expected = column(backend, "SELECT name FROM users WHERE EXISTS (SELECT 1 FROM notes WHERE notes.notable_id = "
                               "users.id AND notes.notable_type = ?)", "User")
    assert got == expected == ["ann"]
    assert Post.query().where_assoc("notes", body="on a1").pluck("title") == ["a1"]
    with pytest.raises(ValueError, match="polymorphic"):
        Note.query().where_assoc("notable", name="ann")


def test_negation_with_association_exists(backend):
    seed()
    got = names(User.query().where(~association_exists(User, "posts")))
    expected = column(backend, "SELECT name FROM users WHERE NOT EXISTS (SELECT 1 FROM posts "
                               "WHERE posts.user_id = users.id) ORDER BY name")
    assert got == expected == ["cy"]
    got = names(User.query().where(~association_exists(User, "posts.comments", body="c1")))
    assert got == ["cy", "dee"]
    either = association_exists(User, "profile") | association_exists(User, "posts", title="d1")
    assert names(User.query().where(either)) == ["ann", "dee"]
    # a belongs_to without a key has no author named ann
    got = sorted(Post.query().where(~association_exists(Post, "author", name="ann")).pluck("title"))
    expected = column(backend, "SELECT title FROM posts WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.id = "
                               "posts.user_id AND users.name = ?) ORDER BY title", "ann")
    assert got == expected == ["b1", "b2", "d1", "orphan"]


def test_self_reference_is_correlated_by_key(backend, statements):
    seed()
    sql, got = statements(lambda: names(Category.query().where_assoc("children", name="k1")))
    expected = column(backend, "SELECT name FROM categories c WHERE EXISTS (SELECT 1 FROM categories k WHERE "
                               "k.parent_id = c.id AND k.name = ?)", "k1")
    assert got == expected == ["root"]
    assert " IN (SELECT" in sql[0]
    assert names(Category.query().where_assoc("children.children")) == ["root"]
    assert names(Category.query().where_assoc("parent", name="root")) == ["k1", "k2"]
    # negated: NULL keys and NULL parent_ids in the subquery do not swallow rows
    expected = column(backend, "SELECT name FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE "
                               "k.parent_id = c.id) ORDER BY name")
    assert names(Category.query().where(~association_exists(Category, "children"))) == expected == ["g1", "k2"]
    assert names(Category.query().where(~association_exists(Category, "parent"))) == ["root"]


def test_default_scopes_and_association_scopes_of_the_target(backend, bind):
    seed_shelves(bind)
    got = names(Shelf.query().where_assoc("volumes"))
    expected = column(backend, "SELECT name FROM ja_shelves s WHERE EXISTS (SELECT 1 FROM ja_volumes v WHERE "
                               "v.shelf_id = s.id AND v.deleted_at IS NULL) ORDER BY name")
    assert got == expected == ["first"]  # second's only volume is soft-deleted
    assert names(Shelf.query().where_assoc("volumes", Volume.query().with_deleted())) == ["first", "second"]
    assert names(Shelf.query().where_assoc("volumes", Volume.query().with_deleted(), title="v4")) == ["second"]
    # scope= of the association: volumes under 100 pages (v3 and v4 are deleted)
    assert names(Shelf.query().where_assoc("short_volumes")) == ["first"]
    assert names(Shelf.query().where_assoc("short_volumes", title="v2")) == []
    assert sorted(Volume.query().where_assoc("shelf", name="first").pluck("title")) == ["v1", "v2"]


def test_composite_keys(backend, bind):
    seed_orders(bind)
    got = sorted(Order.query().where_assoc("items", sku="apple").pluck("customer"))
    expected = column(backend, "SELECT customer FROM ja_orders o WHERE EXISTS (SELECT 1 FROM ja_order_items i "
                               "WHERE i.region = o.region AND i.number = o.number AND i.sku = ?) ORDER BY 1", "apple")
    assert got == expected == ["ann", "cy"]
    assert sorted(Order.query().where_assoc("invoice").pluck("customer")) == ["bob"]
    got = sorted(OrderItem.query().where_assoc("order", customer="ann").pluck("sku"))
    assert got == ["apple", "pear"]
    got = Order.query().where(~association_exists(Order, "items")).pluck("customer")
    assert got == ["bob"]


def test_where_assoc_in_writes_and_aggregates(backend):
    seed()
    assert Post.query().where_assoc("comments", body="c1").count() == 2
    changed = Post.query().where_assoc("tags", name="red").update_all(title="tagged")
    assert changed == 2
    expected = column(backend, "SELECT title FROM posts WHERE id IN (SELECT post_id FROM taggings t INNER JOIN "
                               "tags ON tags.id = t.tag_id WHERE tags.name = ?) ORDER BY title", "red")
    assert expected == ["tagged", "tagged"]


def test_unknown_association_lists_the_known_ones():
    with pytest.raises(ValueError, match="associations: posts"):
        User.query().where_assoc("post")
    with pytest.raises(ValueError, match="no association 'nope'"):
        User.query().where_assoc("posts.nope")
