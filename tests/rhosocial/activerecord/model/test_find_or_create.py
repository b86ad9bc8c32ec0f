"""find_or_create_by and friends: one row, whoever wins the race; every caller gets it."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import ActiveRecord, Field, RecordInvalid
from rhosocial.activerecord.backend.errors import UniqueViolationError
from rhosocial.activerecord.testing.threads import run_threads

THREADS = 8


class Tag(ActiveRecord):
    __tablename__ = "foc_tags"
    name: str = Field(max_length=40, unique=True)
    uses: int = 0
    color: str = ""
    code: str | None = Field(None, max_length=10, unique=True)

    def validate_record(self):
        return {"name": ["must not be blank"]} if not self.name.strip() else None


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Tag)


def test_find_or_initialize_by(backend):
    new = Tag.find_or_initialize_by(name="a")
    assert new.is_new_record and new.name == "a"
    new.save()
    assert Tag.find_or_initialize_by(name="a").id == new.id


def test_find_or_create_by_finds_or_creates_with_defaults(backend):
    made = Tag.find_or_create_by(name="a", defaults={"color": "red"})
    assert made.is_persisted and made.color == "red" and made.previously_new_record
    again = Tag.find_or_create_by(name="a", defaults={"color": "blue"})
    assert again.id == made.id and again.color == "red" and not again.previously_new_record
    assert backend.fetch_value("SELECT COUNT(*) FROM foc_tags") == 1


def test_create_or_find_by_inserts_first_and_finds_after_a_violation(backend):
    made = Tag.create_or_find_by(name="a")
    assert made.previously_new_record
    found = Tag.create_or_find_by(name="a", defaults={"color": "x"})
    assert found.id == made.id and found.color == ""


def test_create_or_find_by_inside_a_transaction_keeps_it_usable(backend):
    Tag.create(name="a")
    with Tag.transaction():
        found = Tag.create_or_find_by(name="a")  # the failed INSERT rolls back alone (a savepoint)
        Tag.create(name="b")
    assert found.name == "a"
    assert backend.fetch_value("SELECT COUNT(*) FROM foc_tags") == 2


def test_a_violation_of_another_unique_key_is_not_swallowed(backend):
    Tag.create(name="a", code="c1")
    with pytest.raises(UniqueViolationError):
        Tag.create_or_find_by(name="b", defaults={"code": "c1"})
    assert backend.fetch_value("SELECT COUNT(*) FROM foc_tags") == 1


def test_validation_errors_come_through(backend):
    with pytest.raises(RecordInvalid):
        Tag.find_or_create_by(name=" ")
    assert backend.fetch_value("SELECT COUNT(*) FROM foc_tags") == 0


def test_update_or_create(backend):
    made = Tag.update_or_create(name="a", defaults={"color": "red"})
    assert made.previously_new_record and made.color == "red"
    updated = Tag.update_or_create(name="a", defaults={"color": "blue"})
    assert updated.id == made.id and not updated.previously_new_record
    assert backend.fetch_value("SELECT color FROM foc_tags") == "blue"


@pytest.mark.parametrize("how", ["find_or_create_by", "create_or_find_by"])
def test_threads_racing_on_one_key_make_one_row_and_all_get_it(backend, how):
    if not backend.capabilities.supports_multiple_connections:
        pytest.skip("one connection: nothing runs at once")
    finder = getattr(Tag, how)
    for round_ in range(3):
        name = f"race-{how}-{round_}"
        got = run_threads(lambda i: finder(name=name, defaults={"color": f"t{i}"}), THREADS, timeout=60)
        assert backend.fetch_value("SELECT COUNT(*) FROM foc_tags WHERE name = ?".replace(
            "?", backend.dialect.placeholder(1)), [name]) == 1
        assert len({r.id for r in got}) == 1 and all(r.id is not None and r.name == name for r in got)
        assert sum(r.previously_new_record for r in got) == 1  # exactly one caller inserted it


def test_threads_racing_in_update_or_create_apply_every_update(backend):
    if not backend.capabilities.supports_multiple_connections:
        pytest.skip("one connection: nothing runs at once")

    def body(i):
        return Tag.update_or_create(name="hot", defaults={"color": f"t{i}"})

    got = run_threads(body, THREADS, timeout=60)
    assert backend.fetch_value("SELECT COUNT(*) FROM foc_tags") == 1
    assert len({r.id for r in got}) == 1
    stored = backend.fetch_value("SELECT color FROM foc_tags")
    assert stored in {f"t{i}" for i in range(THREADS)}


def test_asyncio_tasks_racing_on_one_key_make_one_row_and_count_every_use(backend):
    """8 tasks on one event loop: find_or_create_by races, then atomic increments of the winner's row."""
    import asyncio

    from rhosocial.activerecord.testing.aio import run_async

    async def main():
        async def work(i):
            tag = await Tag.afind_or_create_by(name="shared", defaults={"color": f"t{i}"})
            await tag.aincrement("uses")
            return tag

        return await asyncio.gather(*(work(i) for i in range(THREADS)))

    got = run_async(main, timeout=60)
    assert backend.fetch_value("SELECT COUNT(*) FROM foc_tags") == 1
    assert len({t.id for t in got}) == 1
    assert backend.fetch_value("SELECT uses FROM foc_tags") == THREADS
    assert sorted(t.uses for t in got) == list(range(1, THREADS + 1))  # each read its own increment back
