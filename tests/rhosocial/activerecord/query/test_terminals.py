"""Running queries: fetching, counting, aggregating, plucking, batching and bulk writes."""
from __future__ import annotations

from decimal import Decimal

import pytest

from rhosocial.activerecord import MultipleRecordsFound, RecordNotFound, UnsafeQueryError
from rhosocial.activerecord.backend.errors import NotSupportedError

from .models import Item, Post, User

pytestmark = pytest.mark.usefixtures("tables")


def test_all_returns_typed_clean_records(people):
    users = User.query().order_by("name").all()
    assert [u.name for u in users] == ["ann", "bob", "cid", "dee", "eve"]
    assert all(isinstance(u, User) and not u.is_new_record and not u.is_dirty for u in users)
    assert users[2].age is None and users[2].active is False


def test_first_and_last(people):
    assert User.query().first().name == "ann"  # by primary key
    assert User.query().last().name == "eve"
    assert User.query().where(User.c.age.is_not_null()).order_by("-age").first().name == "dee"
    assert User.query().where(User.c.age.is_not_null()).order_by("age").last().name == "dee"
    assert User.query().where(name="nobody").first() is None
    assert User.query().where(name="nobody").last() is None


def test_one(people):
    assert User.query().where(name="bob").one().age == 17
    with pytest.raises(RecordNotFound):
        User.query().where(name="nobody").one()
    with pytest.raises(MultipleRecordsFound):
        User.query().where(city="Paris").one()


def test_exists(people, backend):
    assert User.query().where(city="Rome").exists()
    assert not User.query().where(city="Oslo").exists()
    with backend.capture_statements() as statements:
        User.query().exists()
    assert len(statements) == 1


def test_count_variants(people):
    assert User.count() == 5
    assert User.query().where(city="London").count() == 2
    assert User.query().limit(2).count() == 2
    assert User.query().offset(4).count() == 1
    assert User.query().order_by("name").limit(10).offset(3).count() == 2
    assert User.query().select("city").distinct().count() == 3
    assert User.query().distinct().count() == 5
    assert User.query().where(city="Oslo").count() == 0
    assert User.query().join(Post, Post.c.user_id == User.c.id).count() == 3


def test_aggregates(people):
    assert User.query().sum("age") == 30 + 17 + 45 + 18
    assert User.query().min("age") == 17
    assert User.query().max("age") == 45
    average = User.query().avg("age")
    assert type(average) is float and average == 27.5  # float on every backend for a non-DECIMAL column
    assert User.query().where(city="Paris").sum(User.c.age) == 30  # NULLs are skipped
    assert User.query().where(city="Oslo").sum("age") is None
    assert User.query().where(city="Oslo").max("age") is None
    assert User.query().max("name") == "eve"
    assert User.query().where(User.c.age.is_not_null()).order_by("age").limit(2).sum("age") == 35
    assert User.query().order_by("name").offset(3).max("age") == 45  # dee, eve
    assert isinstance(User.query().sum("age"), int)
    assert User.query().where(User.c.age.is_not_null()).order_by("-age").limit(2).sum("age") == 75


def test_pluck(people):
    assert User.query().order_by("name").pluck("name") == ["ann", "bob", "cid", "dee", "eve"]
    assert User.query().where(city="Paris").order_by("name").pluck("name", "age") == [("ann", 30), ("cid", None)]
    assert User.query().where(name="ann").pluck(User.c.active, "email") == [(True, "ann@example.com")]
    assert User.query().where(name="cid").pluck("active") == [False]
    with pytest.raises(ValueError):
        User.query().pluck()


def test_dicts(people):
    rows = User.query().select("name", "city").where(User.c.age > 20).order_by("name").dicts()
    assert rows == [{"name": "ann", "city": "Paris"}, {"name": "dee", "city": "Rome"}]
    full = User.query().where(name="bob").dicts()
    assert full[0]["name"] == "bob" and set(full[0]) == set(User.model_fields)


def make_items(n):
    Item.insert_many([{"n": i} for i in range(n)])


def test_in_batches_pages_with_limits(backend):
    make_items(23)
    with backend.capture_statements() as statements:
        batches = list(Item.query().in_batches(5))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(i.n for b in batches for i in b) == list(range(23))
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == len(statements) == 5
    assert all("LIMIT" in s.upper() for s in selects)  # no statement loads the whole table


def test_in_batches_stops_after_an_exact_multiple(backend):
    make_items(10)
    with backend.capture_statements() as statements:
        sizes = [len(b) for b in Item.query().in_batches(5)]
    assert sizes == [5, 5]
    assert len(statements) == 3 and all("LIMIT" in s.upper() for s in statements)


def test_find_each_keeps_conditions_and_batches(backend):
    make_items(30)
    with backend.capture_statements() as statements:
        seen = [i.n for i in Item.query().where(Item.c.n >= 7).find_each(batch_size=4)]
    assert seen == list(range(7, 30))
    assert len(statements) == 6  # 23 rows in batches of 4
    assert all("LIMIT" in s.upper() for s in statements)


def test_batches_refuse_their_own_ordering_and_bad_sizes():
    with pytest.raises(ValueError):
        list(Item.query().order_by("n").in_batches(10))
    with pytest.raises(ValueError):
        list(Item.query().in_batches(0))


def test_update_all(people):
    assert User.query().where(city="London").update_all(active=True, city="Leeds") == 2
    assert sorted(User.query().where(city="Leeds").pluck("name")) == ["bob", "eve"]
    assert User.query().where(active=False).count() == 1
    assert User.query().where(User.c.age < 18).update_all(age=User.c.age + 1) == 1
    assert User.find_by(name="bob").age == 18
    assert User.query().where(city="Nowhere").update_all(active=False) == 0


def test_update_all_and_delete_all_refuse_without_a_condition(people):
    with pytest.raises(UnsafeQueryError):
        User.query().update_all(active=False)
    with pytest.raises(UnsafeQueryError):
        User.query().order_by("name").limit(1).delete_all()
    assert User.count() == 5 and User.query().where(active=False).count() == 2
    assert User.query().update_all(all_rows=True, active=False) == 5
    assert User.query().where(active=True).count() == 0
    assert User.query().delete_all(all_rows=True) == 5
    assert User.count() == 0


def test_delete_all(people):
    assert Post.query().where(Post.c.score < 5).delete_all() == 2
    assert sorted(Post.query().pluck("title")) == ["ann 1", "ann 2"]
    ann = people["ann"]
    assert Post.query().where(Post.c.user_id.in_(User.query().select("id").where(name="ann"))).delete_all() == 2
    assert Post.count() == 0 and User.find(ann.id)


def test_bulk_writes_refuse_joins(people):
    joined = User.query().join(Post, Post.c.user_id == User.c.id).where(Post.c.score > 1)
    with pytest.raises(NotSupportedError):
        joined.update_all(active=False)
    with pytest.raises(NotSupportedError):
        joined.delete_all()


def test_for_update_compiles_and_runs_in_a_transaction(people, backend):
    query = User.query().where(name="ann").for_update()
    sql, params = query.to_sql()
    if backend.capabilities.supports_for_update:
        assert "FOR UPDATE" in sql.upper()
    assert params == ["ann"]
    with User.transaction():
        locked = query.one()
        locked.update(age=31)
    assert User.find_by(name="ann").age == 31
    if backend.capabilities.supports_skip_locked:
        assert "SKIP LOCKED" in User.query().for_update(skip_locked=True).to_sql()[0].upper()
        with User.transaction():
            assert len(User.query().for_update(skip_locked=True).all()) == 5
    with pytest.raises(ValueError):
        User.query().for_update(nowait=True, skip_locked=True)


def test_to_sql_binds_values_instead_of_inlining_them(backend):
    sql, params = (User.query().where(name="O'Brien").where(User.c.age > 41)
                   .where("city = ?", "Zürich").order_by("-age").limit(7).to_sql())
    assert isinstance(sql, str) and isinstance(params, list)
    assert params[:3] == ["O'Brien", 41, "Zürich"]
    assert "O'Brien" not in sql and "Zürich" not in sql and "41" not in sql
    assert sql.upper().startswith("SELECT") and "ORDER BY" in sql.upper()
    q = backend.dialect.quote_identifier
    assert q("users") in sql and q("age") in sql


def test_find_by_sql(people, backend):
    q = backend.dialect.quote_identifier
    sql = f"SELECT * FROM {q('users')} WHERE {q('age')} > ? AND {q('city')} <> ? ORDER BY {q('age')}"
    found = User.find_by_sql(sql, [17, "Rome"])
    assert [u.name for u in found] == ["eve", "ann"]
    assert all(isinstance(u, User) and not u.is_dirty for u in found)
    hostile = "'); DROP TABLE users; --"
    assert User.find_by_sql(f"SELECT * FROM {q('users')} WHERE {q('name')} = ?", [hostile]) == []
    assert User.count() == 5
    partial = User.find_by_sql(f"SELECT {q('id')}, {q('name')} FROM {q('users')} WHERE {q('name')} = ?", ["bob"])
    assert partial[0].name == "bob"


def test_iteration_runs_the_query(people):
    assert sorted(u.name for u in User.query().where(city="Paris")) == ["ann", "cid"]
