"""IN lists of any length work on every backend (a statement binds at most so many parameters)."""
from __future__ import annotations

import pytest

from .models import User


@pytest.mark.parametrize("count", [3, 1_500, 100_000])
def test_in_lists_of_any_length(people, count):
    ids = [u.id for u in people.values()]
    wanted = ids[:3] + list(range(10**6, 10**6 + count - 3))
    found = User.where(id=wanted).order_by("id").pluck("id")
    assert found == sorted(ids[:3])
    assert User.where(User.c.id.not_in(wanted)).count() == len(ids) - 3
    names = [u.name for u in people.values()][:2] + [f"nobody-{i}" for i in range(count - 2)]
    assert sorted(User.where(name=names).pluck("name")) == sorted(names[:2])
