"""Bind the relation test models to the test's backend and create their tables."""

from __future__ import annotations

import pytest

from .models import TABLES, Base, Post


@pytest.fixture(autouse=True)
def tables(backend):
    """Create every table (parents first) on a fresh database."""
    Base.configure(backend)
    for model in TABLES:
        model.create_table()
    Post.labels.create_join_table()
    yield backend
    type.__setattr__(Base, "__backend__", None)


@pytest.fixture
def statements(backend):
    """Return a function that runs a block and returns the SQL it executed."""

    def run(block):
        with backend.capture_statements() as captured:
            result = block()
        return captured, result

    return run
