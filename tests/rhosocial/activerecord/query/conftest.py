"""Fixtures for query-builder tests: bound models and a small seeded data set."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import configure

from .models import PEOPLE, Item, Post, User


@pytest.fixture
def tables(backend):
    """Make the test's backend the default and create the query models' tables."""
    configure(backend)
    for model in (User, Post, Item):
        model.create_table()
    return backend


@pytest.fixture
def people(tables):
    """Five users and three posts (ann wrote two, bob one); returns users by name."""
    users = {}
    for name, email, age, city, active in PEOPLE:
        users[name] = User.create(name=name, email=email, age=age, city=city, active=active)
    Post.create(user_id=users["ann"].id, title="ann 1", score=5)
    Post.create(user_id=users["ann"].id, title="ann 2", score=7)
    Post.create(user_id=users["bob"].id, title="bob 1", score=1)
    Post.create(user_id=None, title="orphan", score=0)
    return users


@pytest.fixture
def q(backend):
    """Return ``q(name)``: the identifier quoted by the backend's dialect."""
    return backend.dialect.quote_identifier
