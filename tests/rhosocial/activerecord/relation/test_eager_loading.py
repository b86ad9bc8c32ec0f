"""includes(), strict loading and joins(): statement counts are asserted, not just results."""

from __future__ import annotations

import pytest

from rhosocial.activerecord import StrictLoadingError
from rhosocial.activerecord.relation import state

from .models import Account, Category, Comment, Label, Member, Post, Profile, Tag, User


def seed(users: int) -> None:
    """``users`` users with two posts each (the first with two comments, two tags and a label)."""
    red, blue = Tag.create(name="red"), Tag.create(name="blue")
    label = Label.create(name="l")
    for i in range(users):
        user = User.create(name=f"u{i:02d}")
        first = user.posts.create(title=f"u{i:02d}-1")
        user.posts.create(title=f"u{i:02d}-2")
        first.comments.create(body="c1")
        first.comments.create(body="c2")
        first.tags.add(red, blue)
        first.labels.add(label)
    User.create(name="zz-no-posts")


def walk(users: list[User]) -> list[tuple]:
    """Touch every loaded association, as a template would."""
    return [
        (
            u.name,
            [
                (
                    p.title,
                    p.user.name,
                    p.author.name,
                    [c.body for c in p.comments],
                    [c.post.title for c in p.comments],
                )
                for p in u.posts
            ],
        )
        for u in users
    ]


@pytest.mark.parametrize("users", [3, 12])
def test_includes_costs_one_statement_per_level(users, statements):
    seed(users)
    sql, loaded = statements(
        lambda: User.query().order_by("name").includes("posts", "posts.comments").all()
    )
    assert len(sql) == 3  # users, posts, comments: independent of the row count
    assert "IN (" in sql[1] and "IN (" in sql[2]
    sql, tree = statements(lambda: walk(loaded))
    assert sql == []  # inverse sides (post.user, post.author, comment.post) were set too
    assert tree[0] == (
        "u00",
        [
            ("u00-1", "u00", "u00", ["c1", "c2"], ["u00-1", "u00-1"]),
            ("u00-2", "u00", "u00", [], []),
        ],
    )
    assert tree[-1] == ("zz-no-posts", [])
    assert len(tree) == users + 1


def test_includes_belongs_to_and_has_one(statements):
    seed(3)
    Post.create(title="orphan")
    sql, posts = statements(lambda: Post.query().includes("author").all())
    assert len(sql) == 2
    sql, names = statements(lambda: [p.author.name if p.author else None for p in posts])
    assert sql == [] and names[-1] is None and names[0] == "u00"
    User.find_by(name="u01").profile = Profile(bio="b")
    sql, users = statements(lambda: User.query().order_by("name").includes("profile").all())
    assert len(sql) == 2
    sql, profiles = statements(lambda: [u.profile.bio if u.profile else None for u in users])
    assert sql == [] and profiles[:3] == [None, "b", None]
    sql, owner = statements(lambda: users[1].profile.user)
    assert sql == [] and owner is users[1]


def test_includes_through_and_many_to_many(statements):
    seed(4)
    sql, posts = statements(lambda: Post.query().includes("tags", "labels").order_by("id").all())
    assert len(sql) == 3
    sql, tags = statements(
        lambda: [([t.name for t in p.tags], [x.name for x in p.labels]) for p in posts]
    )
    assert sql == []
    assert tags[0] == (["red", "blue"], ["l"]) and tags[1] == ([], [])
    # the same tag row shared by many posts is one object
    assert posts[0].tags[0] is posts[2].tags[0]


def test_nested_includes_from_the_child_side(statements):
    seed(2)
    sql, comments = statements(lambda: Comment.query().includes("post.user.posts").all())
    assert len(sql) == 4
    sql, names = statements(lambda: [[p.title for p in c.post.user.posts] for c in comments])
    assert sql == [] and names[0] == ["u00-1", "u00-2"]


def test_large_in_lists_are_batched(statements, monkeypatch):
    seed(7)
    monkeypatch.setattr(state, "IN_BATCH_SIZE", 3)
    sql, users = statements(lambda: User.query().includes("posts").all())
    assert len(sql) == 1 + 3  # 8 users -> IN lists of 3, 3 and 2 keys
    assert sum(len(u.posts) for u in users) == 14


def test_includes_rejects_unknown_names_at_once():
    with pytest.raises(ValueError, match="no association 'postz'"):
        User.query().includes("postz")
    with pytest.raises(ValueError, match="no association 'nope'"):
        User.query().includes("posts.nope")


def test_lazy_loading_costs_a_statement_per_row(statements):
    seed(3)
    users = User.query().all()
    sql, _ = statements(lambda: [list(u.posts) for u in users])
    assert len(sql) == 4  # the N+1 that includes() avoids


# -- strict loading -----------------------------------------------------------------------


def test_strict_loading_query_raises_on_lazy_loads():
    seed(2)
    users = User.query().strict_loading().all()
    with pytest.raises(StrictLoadingError, match="includes\\('posts'\\)"):
        list(users[0].posts)
    with pytest.raises(StrictLoadingError):
        _ = users[0].profile
    # explicit queries are not lazy loads
    assert users[0].posts.count() == 2


def test_strict_loading_passes_with_includes_and_covers_nested_records():
    seed(2)
    users = User.query().strict_loading().includes("posts").all()
    post = users[0].posts[0]
    assert post.user is users[0]
    with pytest.raises(StrictLoadingError):
        list(post.comments)


def test_non_strict_query_is_unaffected():
    seed(1)
    assert len(User.query().first().posts) == 2


def test_model_level_strict_loading():
    account = Account.create(name="a")
    Member.create(name="m", account_id=account.id)
    loaded = Account.find(account.id)
    with pytest.raises(StrictLoadingError):
        len(loaded.members)
    assert len(Account.query().includes("members").first().members) == 1
    # Member is not strict: its own lazy load is fine
    assert Member.query().first().account == account


# -- joins -----------------------------------------------------------------------------


def test_joins_filters_without_duplicate_parents(statements):
    seed(3)
    query = User.query().joins("posts").where(Post.c.title.like("u0%")).order_by("name")
    sql, users = statements(lambda: query.all())
    assert len(sql) == 1 and "JOIN" in sql[0] and "DISTINCT" in sql[0]
    assert [u.name for u in users] == ["u00", "u01", "u02"]
    assert query.count() == 3


def test_joins_to_one_orders_by_the_association():
    seed(2)
    posts = Post.query().joins("author").order_by(User.c.name.desc(), Post.c.title.desc()).all()
    assert [p.title for p in posts] == ["u01-2", "u01-1", "u00-2", "u00-1"]


def test_joins_nested_through_and_many_to_many():
    seed(3)
    assert User.query().joins("posts.comments").where(Comment.c.body == "c2").count() == 3
    assert [
        p.title
        for p in Post.query().joins("tags").where(Tag.c.name == "red").order_by("title").all()
    ] == ["u00-1", "u01-1", "u02-1"]
    assert Post.query().joins("labels").where(Label.c.name == "l").count() == 3


def test_joins_self_reference_uses_an_alias():
    from rhosocial.activerecord.query.expressions import Column

    root = Category.create(name="root")
    root.children.create(name="a")
    Category.create(name="other")
    found = Category.query().joins("parent").where(Column("parent", "name") == "root").all()
    assert [c.name for c in found] == ["a"]


def test_joins_and_includes_combine(statements):
    seed(2)
    sql, users = statements(
        lambda: User.query().joins("posts").includes("posts").where(Post.c.title == "u01-2").all()
    )
    assert len(sql) == 2
    assert [u.name for u in users] == ["u01"] and len(users[0].posts) == 2
