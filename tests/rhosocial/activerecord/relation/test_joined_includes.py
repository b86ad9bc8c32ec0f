"""includes(strategy="join"): every level in the query's own statement, checked against hand-written SQL."""

from __future__ import annotations

import pytest

from rhosocial.activerecord import StrictLoadingError

from .assoc_data import (
    Invoice,
    Order,
    OrderItem,
    Shelf,
    Volume,
    column,
    raw,
    seed,
    seed_orders,
    seed_shelves,
)
from .models import Category, Comment, Label, Note, Post, Profile, Tag, User


def titles_by_user(backend):
    """{user name: [post titles by id]} from raw SQL, users without posts included."""
    out: dict[str, list[str]] = {}
    for name, title in raw(backend, "SELECT users.name, posts.title FROM users LEFT JOIN posts ON posts.user_id = "
                                    "users.id ORDER BY users.name, posts.id"):
        out.setdefault(name, [])
        if title is not None:
            out[name].append(title)
    return out


def test_belongs_to_in_one_statement(backend, statements):
    seed()
    sql, posts = statements(lambda: Post.query().includes("author", strategy="join").order_by("title").all())
    assert len(sql) == 1 and "LEFT JOIN" in sql[0]
    read, got = statements(lambda: [(p.title, p.author.name if p.author else None) for p in posts])
    assert read == []  # loaded: no query on reading
    expected = raw(backend, "SELECT posts.title, users.name FROM posts LEFT JOIN users ON users.id = posts.user_id "
                            "ORDER BY posts.title")
    assert got == expected
    assert ("orphan", None) in got  # a NULL foreign key: LEFT JOIN keeps the post
    ann = next(p.author for p in posts if p.title == "a1")
    assert next(p.author for p in posts if p.title == "a2") is ann  # one record per row of users


def test_has_many_parents_once_in_their_order(backend, statements):
    seed()
    query = User.query().includes("posts", strategy="join").order_by("-name")
    sql, users = statements(query.all)
    assert len(sql) == 1
    assert [u.name for u in users] == column(backend, "SELECT name FROM users ORDER BY name DESC")
    read, got = statements(lambda: {u.name: [p.title for p in u.posts] for u in users})
    assert read == [] and got == titles_by_user(backend)
    assert got["cy"] == []
    read, _ = statements(lambda: [p.author.name for u in users for p in u.posts])
    assert read == []  # the inverse side is set
    assert all(p.author is u for u in users for p in u.posts)


def test_same_records_as_batched_loading(statements):
    seed()
    paths = ("posts", "posts.comments", "posts.tags", "posts.labels", "profile", "notes")

    def tree(users):
        return [(u.name, u.profile.bio if u.profile else None, [n.body for n in u.notes],
                 [(p.title, [c.body for c in p.comments], [t.name for t in p.tags], [x.name for x in p.labels])
                  for p in u.posts]) for u in users]

    batch_sql, batched = statements(lambda: tree(User.query().order_by("name").includes(*paths).all()))
    joined_sql, joined = statements(lambda: tree(User.query().order_by("name").includes(*paths, strategy="join")
                                                 .all()))
    assert joined == batched
    assert len(batch_sql) == 1 + len(paths) and len(joined_sql) == 1


def test_nested_through_and_many_to_many(backend, statements):
    seed()
    sql, posts = statements(lambda: Post.query().includes("comments", "tags", "labels", "author.profile",
                                                         strategy="join").order_by("id").all())
    assert len(sql) == 1
    assert [p.title for p in posts] == column(backend, "SELECT title FROM posts ORDER BY id")
    got = {p.title: sorted(t.name for t in p.tags) for p in posts}
    for title, names in got.items():
        assert names == column(backend, "SELECT tags.name FROM tags INNER JOIN taggings ON taggings.tag_id = tags.id "
                                        "INNER JOIN posts ON posts.id = taggings.post_id WHERE posts.title = ? "
                                        "ORDER BY tags.name", title)
    labels = {p.title: [x.name for x in p.labels] for p in posts}
    assert labels["b1"] == ["L1", "L2"] and labels["a1"] == ["L1"] and labels["d1"] == []
    red = [t for p in posts for t in p.tags if t.name == "red"]
    assert len(red) == 2 and red[0] is red[1]  # a record shared by two owners is one object
    comments = {p.title: [c.body for c in p.comments] for p in posts}
    assert comments == {t: column(backend, "SELECT body FROM comments WHERE post_id = (SELECT id FROM posts WHERE "
                                           "title = ?) ORDER BY id", t) for t in comments}
    read, bios = statements(lambda: [p.author.profile.bio if p.author and p.author.profile else None for p in posts])
    assert read == [] and bios[:2] == ["ann's", "ann's"] and bios[-1] is None


def test_limit_and_offset_count_owners_not_rows(backend, statements):
    seed()
    query = User.query().includes("posts.comments", strategy="join").order_by("name")
    sql, page = statements(lambda: query.limit(2).offset(1).all())
    assert len(sql) == 1  # the page of owners is a subquery
    assert [u.name for u in page] == column(backend, "SELECT name FROM users ORDER BY name LIMIT 2 OFFSET 1")
    assert [p.title for p in page[0].posts] == ["b1", "b2"]
    sql, first = statements(query.first)
    assert len(sql) == 1 and first.name == "ann" and [p.title for p in first.posts] == ["a1", "a2"]
    assert [c.body for c in first.posts[0].comments] == ["c1", "c2"]
    assert query.where(name="bob").one().posts[1].comments[0].body == "c1"
    assert query.last().name == "dee"
    # only belongs_to levels: the rows are the owners, the limit stays in place
    sql, posts = statements(lambda: Post.query().includes("author", strategy="join").order_by("id").limit(2).all())
    assert len(sql) == 1 and " IN (SELECT" not in sql[0] and [p.author.name for p in posts] == ["ann", "ann"]


def test_batches_of_a_joined_query(backend):
    seed()
    batches = list(User.query().includes("posts", strategy="join").in_batches(3))
    assert [len(b) for b in batches] == [3, 1]
    assert {u.name: [p.title for p in u.posts] for b in batches for u in b} == titles_by_user(backend)


def test_conditions_of_the_query_filter_owners_not_the_loaded_records(backend):
    seed()
    users = User.query().includes("posts", strategy="join").where_assoc("posts", title="a1").all()
    assert [(u.name, [p.title for p in u.posts]) for u in users] == [("ann", ["a1", "a2"])]
    users = User.query().joins("posts").where(Post.c.title == "b2").includes("posts", strategy="join").all()
    assert [(u.name, [p.title for p in u.posts]) for u in users] == [("bob", ["b1", "b2"])]


def test_count_pluck_and_exists_ignore_the_eager_joins(backend, statements):
    seed()
    query = User.query().includes("posts", strategy="join")
    assert query.count() == column(backend, "SELECT COUNT(*) FROM users")[0] == 4
    assert sorted(query.pluck("name")) == ["ann", "bob", "cy", "dee"]
    assert query.exists()
    sql, _ = statements(query.count)
    assert "JOIN" not in sql[0]
    assert "LEFT JOIN" in query.to_sql()[0]


def test_self_reference(backend):
    seed()
    categories = Category.query().includes("children.children", "parent", strategy="join").order_by("name").all()
    got = {c.name: ([k.name for k in c.children], c.parent.name if c.parent else None) for c in categories}
    expected = {name: (column(backend, "SELECT name FROM categories WHERE parent_id = (SELECT id FROM categories "
                                       "WHERE name = ?) ORDER BY id", name), parent)
                for name, parent in raw(backend, "SELECT c.name AS child, p.name AS parent FROM categories c LEFT JOIN categories p ON "
                                                 "p.id = c.parent_id")}
    assert got == expected
    root = next(c for c in categories if c.name == "root")
    assert [g.name for k in root.children for g in k.children] == ["g1"]
    assert all(k.parent is root for k in root.children)


def test_has_one_and_polymorphic_has_many(backend, statements):
    seed()
    sql, users = statements(lambda: User.query().includes("profile", "notes", strategy="join").order_by("name")
                            .all())
    assert len(sql) == 1
    assert [(u.name, u.profile.bio if u.profile else None) for u in users] == raw(
        backend, "SELECT users.name, profiles.bio FROM users LEFT JOIN profiles ON profiles.user_id = users.id "
                 "ORDER BY users.name")
    assert [[n.body for n in u.notes] for u in users] == [["on ann"], [], [], []]
    assert users[0].profile.user is users[0]


def test_polymorphic_belongs_to_cannot_be_joined():
    with pytest.raises(ValueError, match="polymorphic"):
        Note.query().includes("notable", strategy="join")
    assert Note.query().includes("notable")  # batched is fine


def test_default_scopes_of_the_target_stay_in_the_join(backend, bind, statements):
    seed_shelves(bind)
    sql, shelves = statements(lambda: Shelf.query().includes("volumes", "short_volumes", strategy="join")
                              .order_by("name").all())
    assert len(sql) == 1
    got = [(s.name, [v.title for v in s.volumes], [v.title for v in s.short_volumes]) for s in shelves]
    expected = raw(backend, "SELECT s.name, v.title FROM ja_shelves s LEFT JOIN ja_volumes v ON v.shelf_id = s.id "
                            "AND v.deleted_at IS NULL ORDER BY s.name, v.id")
    assert [(name, titles) for name, titles, _ in got] == [
        (name, [t for n, t in expected if n == name and t is not None]) for name in ("empty", "first", "second")]
    assert got[1][2] == ["v1"]  # scope=: under 100 pages, deleted v3 excluded
    assert got[2] == ("second", [], [])  # its only volume is deleted: still loaded, with none
    volumes = Volume.query().with_deleted().includes("shelf", strategy="join").order_by("title").all()
    assert [v.shelf.name for v in volumes] == ["first", "first", "first", "second"]


def test_composite_keys(backend, bind, statements):
    seed_orders(bind)
    sql, orders = statements(lambda: Order.query().includes("items", "invoice", strategy="join")
                             .order_by("region", "number").all())
    assert len(sql) == 1
    got = [(o.customer, [i.sku for i in o.items], o.invoice.total if o.invoice else None) for o in orders]
    assert got == [("ann", ["apple", "pear"], None), ("bob", [], 30), ("cy", ["apple"], None)]
    assert [i.sku for i in orders[0].items] == column(
        backend, "SELECT sku FROM ja_order_items WHERE region = ? AND number = ? ORDER BY id", 1, 1)
    items = OrderItem.query().includes("order", strategy="join").order_by("id").all()
    assert [i.order.customer if i.order else None for i in items] == ["ann", "ann", "cy", None]
    assert Invoice.query().includes("order", strategy="join").one().order.customer == "bob"
    assert Order.query().includes("items", strategy="join").order_by("customer").first().customer == "ann"


def test_strict_loading_and_batched_levels_below_a_joined_one(backend, statements):
    seed()
    query = User.query().strict_loading().includes("posts", strategy="join").includes("posts.comments", "profile")
    sql, users = statements(query.order_by("name").all)
    assert len(sql) == 3  # users+posts joined; comments and profiles batched
    assert [c.body for p in users[0].posts for c in p.comments] == ["c1", "c2", "c3"]
    with pytest.raises(StrictLoadingError):
        list(users[0].posts[0].tags)
    # a joined path joins the levels above it
    sql, _ = statements(User.query().includes("posts").includes("posts.comments", strategy="join").all)
    assert len(sql) == 1


def test_selects_and_refusals(backend):
    seed()
    users = User.query().select("id", "name").includes("posts", strategy="join").order_by("name").all()
    assert [u.name for u in users] == ["ann", "bob", "cy", "dee"] and users[0].annotations == {}
    assert len(users[0].posts) == 2
    with pytest.raises(ValueError, match="primary key"):
        User.query().select("name").includes("posts", strategy="join").all()
    with pytest.raises(ValueError, match="grouped"):
        User.query().group_by("name").includes("posts", strategy="join").all()
    with pytest.raises(ValueError, match="row lock"):
        User.query().for_update().includes("posts", strategy="join").all()
    with pytest.raises(ValueError, match="strategy must be"):
        User.query().includes("posts", strategy="eager")


def test_an_empty_result_and_a_readonly_query(backend):
    seed()
    assert User.query().where(name="nobody").includes("posts", strategy="join").all() == []
    users = User.query().readonly().includes("posts", strategy="join").order_by("name").all()
    assert users[0].is_readonly and [p.title for p in users[0].posts] == ["a1", "a2"]


def test_through_join_with_a_link_row_whose_target_is_gone(backend):
    seed()
    Profile.create(bio="lonely")
    label = Label.create(name="solo")
    post = Post.find_by(title="d1")
    post.labels.add(label)
    posts = Post.query().includes("labels", "comments", strategy="join").where(title="d1").all()
    assert [x.name for x in posts[0].labels] == ["solo"] and posts[0].comments.all() == []
    assert Comment.query().includes("post.tags", strategy="join").where(body="c9").one().post.tags.all() == []
    assert Tag.query().includes("posts", strategy="join").where(name="green").one().posts.all() == []
