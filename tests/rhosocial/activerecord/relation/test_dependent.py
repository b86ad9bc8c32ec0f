"""dependent= on delete: destroy, delete_all, nullify, restrict; all inside the delete's transaction."""

from __future__ import annotations

import pytest

from rhosocial.activerecord import DeleteRestrictedError

from .models import Account, Comment, Group, Member, Note, Person, Post, Profile, Tag, Tagging, User


@pytest.fixture
def ann():
    user = User.create(name="ann")
    for title in ("a", "b"):
        post = user.posts.create(title=title)
        post.comments.create(body=f"{title}1")
        post.tags.add(Tag.create(name=f"t{title}"))
        post.notes.create(body="n")
    user.profile = Profile(bio="x")
    return user


def test_destroy_cascades_through_each_childs_delete(ann):
    deleted = []

    def record(comment):
        deleted.append(comment.body)

    Comment.on("after_delete", record)
    try:
        ann.delete()
    finally:
        from rhosocial.activerecord.model.events import CallbackRegistry

        CallbackRegistry.remove(Comment, "after_delete", record)
    assert sorted(deleted) == ["a1", "b1"]  # hooks ran: destroy goes through delete()
    assert (User.count(), Post.count(), Comment.count(), Profile.count()) == (0, 0, 0, 0)
    assert Tagging.count() == 0 and Tag.count() == 2  # delete_all on taggings; tags stay
    assert Note.count() == 2 and Note.query().where(notable_id=None).count() == 2  # nullify


def test_failing_child_hook_rolls_everything_back(ann):
    def refuse(comment):
        raise RuntimeError("keep me")

    Comment.on("before_delete", refuse)
    try:
        with pytest.raises(RuntimeError, match="keep me"):
            ann.delete()
    finally:
        from rhosocial.activerecord.model.events import CallbackRegistry

        CallbackRegistry.remove(Comment, "before_delete", refuse)
    assert (User.count(), Post.count(), Comment.count(), Profile.count(), Tagging.count()) == (
        1,
        2,
        2,
        1,
        2,
    )


def test_nullify_sets_keys_to_null():
    group = Group.create(name="g")
    people = [Person.create(name=n, group_id=group.id) for n in ("p", "q")]
    group.delete()
    assert Group.count() == 0
    assert [Person.find(p.id).group_id for p in people] == [None, None]


def test_restrict_refuses_and_deletes_nothing(statements):
    account = Account.create(name="a")
    member = Member.create(name="m", account_id=account.id)
    with pytest.raises(DeleteRestrictedError, match="members") as info:
        account.delete()
    assert info.value.record is account and info.value.association == "members"
    assert Account.count() == 1 and Member.count() == 1
    member.delete()
    account.delete()
    assert Account.count() == 0


def test_models_without_dependents_do_not_pay_for_them(statements):
    tag = Tag.create(name="t")
    sql, _ = statements(tag.delete)
    assert len(sql) == 1 and sql[0].upper().startswith("DELETE")
