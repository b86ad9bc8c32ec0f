"""belongs_to, has_one and has_many: reading, caching, writing, key inference."""

from __future__ import annotations

import pytest

from rhosocial.activerecord import ActiveRecord, Field, ModelDefinitionError, belongs_to, has_many
from rhosocial.activerecord.backend.errors import ForeignKeyViolationError, IntegrityError

from .models import Account, Book, Category, Member, Post, Profile, User, Writer


@pytest.fixture
def ann():
    user = User.create(name="ann")
    Post.create(title="first", user_id=user.id)
    Post.create(title="second", user_id=user.id)
    return user


# -- belongs_to -------------------------------------------------------------------


def test_belongs_to_loads_once_and_caches(ann, statements):
    post = Post.find_by(title="first")
    sql, author = statements(lambda: post.author)
    assert author == ann and author.name == "ann"
    assert len(sql) == 1
    sql, again = statements(lambda: post.author)
    assert again is author and sql == []


def test_belongs_to_without_key_is_none_without_a_query(statements):
    post = Post.create(title="orphan")
    sql, author = statements(lambda: post.author)
    assert author is None and sql == []


def test_assigning_belongs_to_sets_the_key_and_caches(ann, statements):
    bob = User.create(name="bob")
    post = Post.find_by(title="first")
    post.author = bob
    assert post.user_id == bob.id
    sql, author = statements(lambda: post.author)
    assert author is bob and sql == []
    post.save()
    assert Post.find(post.id).user_id == bob.id
    post.author = None
    assert post.user_id is None and post.author is None


def test_belongs_to_reloads_when_the_key_changes(ann):
    bob = User.create(name="bob")
    post = Post.find_by(title="first")
    assert post.author == ann
    post.user_id = bob.id
    assert post.author == bob


def test_assigning_unsaved_or_wrong_records_is_refused(ann):
    post = Post.find_by(title="first")
    with pytest.raises(ValueError, match="Save the User"):
        post.author = User(name="new")
    with pytest.raises(TypeError, match="takes a User"):
        post.author = post
    assert post.user_id == ann.id


def test_belongs_to_works_without_a_foreign_key_constraint():
    account = Account.create(name="acme")
    member = Member.create(name="m", account_id=account.id)
    assert Member.find(member.id).account == account


def test_foreign_key_constraint_is_created(backend):
    assert backend.capabilities.supports_foreign_keys
    with pytest.raises((ForeignKeyViolationError, IntegrityError)):
        Post.create(title="dangling", user_id=999999)


# -- has_many ----------------------------------------------------------------------


def test_has_many_reads_as_a_list_and_caches(ann, statements):
    user = User.find(ann.id)
    sql, titles = statements(lambda: [p.title for p in user.posts])
    assert titles == ["first", "second"] and len(sql) == 1
    sql, _ = statements(
        lambda: (len(user.posts), user.posts[0], list(user.posts), user.posts.all())
    )
    assert sql == []
    assert user.posts.loaded


def test_has_many_sets_the_inverse_on_lazy_load(ann, statements):
    user = User.find(ann.id)
    posts = list(user.posts)
    sql, parents = statements(lambda: [(p.user, p.author) for p in posts])
    assert sql == [] and all(u is user and a is user for u, a in parents)


def test_has_many_is_a_chainable_query(ann, statements):
    Post.create(title="elsewhere", user_id=User.create(name="bob").id)
    assert [p.title for p in ann.posts.where(Post.c.title.like("s%")).order_by("-title").all()] == [
        "second"
    ]
    assert ann.posts.count() == 2
    assert ann.posts.exists()
    assert ann.posts.order_by("-id").first().title == "second"
    assert ann.posts.pluck("title") == ["first", "second"] or sorted(ann.posts.pluck("title")) == [
        "first",
        "second",
    ]
    sql, count = statements(lambda: ann.posts.count())
    assert count == 2 and len(sql) == 1 and "COUNT" in sql[0].upper()


def test_has_many_create_add_remove(ann):
    user = User.find(ann.id)
    assert len(user.posts) == 2
    third = user.posts.create(title="third")
    assert third.user_id == user.id and not third.is_new_record
    assert third in user.posts and len(user.posts) == 3
    loose = Post.create(title="loose")
    user.posts.add(loose)
    assert Post.find(loose.id).user_id == user.id
    user.posts.remove(third, loose)
    assert Post.find(third.id).user_id is None and Post.find(loose.id).user_id is None
    assert [p.title for p in user.posts] == ["first", "second"]
    assert User.find(ann.id).posts.count() == 2


def test_has_many_build_does_not_save(ann):
    post = ann.posts.build(title="draft")
    assert post.is_new_record and post.user_id == ann.id and post.user is ann
    assert ann.posts.count() == 2


def test_has_many_of_an_unsaved_owner_is_empty_without_a_query(statements):
    user = User(name="new")
    sql, posts = statements(lambda: list(user.posts))
    assert posts == [] and sql == []
    with pytest.raises(ValueError, match="Save"):
        user.posts.create(title="x")


def test_remove_refuses_records_of_another_owner(ann):
    other = Post.create(title="other")
    with pytest.raises(ValueError, match="not in"):
        ann.posts.remove(other)


# -- has_one -------------------------------------------------------------------------


def test_has_one_read_and_assign(ann, statements):
    assert ann.profile is None
    first = Profile(bio="one")
    ann.profile = first
    assert not first.is_new_record and first.user_id == ann.id
    sql, profile = statements(lambda: ann.profile)
    assert profile is first and sql == []
    assert User.find(ann.id).profile == first
    # dependent="destroy": a replaced profile is deleted
    ann.profile = Profile(bio="two")
    assert Profile.count() == 1 and Profile.find_by(bio="two").user_id == ann.id
    loaded = User.find(ann.id).profile
    assert loaded.user.name == "ann"


# -- inference and declaration errors ---------------------------------------------------


def test_foreign_key_inferred_from_the_only_belongs_to():
    writer = Writer.create(name="w")
    book = writer.books.create(title="b")
    assert book.author_id == writer.id
    assert Writer.books.foreign_key == "author_id"
    assert Writer.books.inverse_names() == ["author"]
    assert [b.title for b in Writer.find(writer.id).books] == ["b"]
    assert Book.find(book.id).author == writer


def test_defaults_and_inverse_names():
    assert Post.author.foreign_key == "user_id"
    assert User.posts.foreign_key == "user_id"
    assert sorted(User.posts.inverse_names()) == ["author", "user"]
    assert User.posts.target is Post
    assert Category.children.inverse_names() == ["parent"]


def test_self_reference():
    root = Category.create(name="root")
    leaf = root.children.create(name="leaf")
    assert leaf.parent is root
    assert Category.find(leaf.id).parent == root
    assert [c.name for c in Category.find(root.id).children] == ["leaf"]


def test_ambiguous_foreign_key_is_reported():
    class Judge(ActiveRecord):
        cases = has_many("Case")

    class Case(ActiveRecord):
        plaintiff_id: int | None = None
        defendant_id: int | None = None
        plaintiff = belongs_to("Judge")
        defendant = belongs_to("Judge")

    with pytest.raises(
        ModelDefinitionError, match="defendant_id, plaintiff_id|plaintiff_id, defendant_id"
    ):
        _ = Judge.cases.foreign_key


def test_missing_foreign_key_column_is_reported():
    class Shelf(ActiveRecord):
        owner = belongs_to("Writer")

    with pytest.raises(ModelDefinitionError, match="owner_id"):
        _ = Shelf.owner.foreign_key


def test_unknown_class_name_is_reported():
    class Lonely(ActiveRecord):
        friend = belongs_to("NoSuchModel")

    with pytest.raises(ModelDefinitionError, match="NoSuchModel"):
        _ = Lonely.friend.target


def test_models_may_refer_to_classes_defined_later():
    class Early(ActiveRecord):
        lates = has_many("Late")

    class Late(ActiveRecord):
        early_id: int | None = Field(None)
        early = belongs_to("Early")

    assert Early.lates.target is Late and Late.early.target is Early
    assert Early.lates.inverse_names() == ["early"]
