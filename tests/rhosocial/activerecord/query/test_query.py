"""Building queries: immutability, the three where forms, ordering, joins, grouping, subqueries."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import Query, exists, func, raw

from .models import Post, User

pytestmark = pytest.mark.usefixtures("tables")


def names(query):
    return sorted(u.name for u in query.all())


# -- immutability ----------------------------------------------------------------


def test_every_builder_call_returns_a_new_query_and_leaves_the_original_alone(people, backend):
    base = User.query()
    before = base.to_sql()
    derived = [
        base.where(name="ann"), base.where("age > ?", 1), base.where(User.c.age > 1),
        base.order_by("age"), base.limit(1), base.offset(1), base.select("name"), base.distinct(),
        base.group_by("city"), base.having(func.count() > 1), base.join(Post, Post.c.user_id == User.c.id),
        base.left_join(Post, Post.c.user_id == User.c.id), base.for_update(), base.adults(),
    ]
    for query in derived:
        assert query is not base and isinstance(query, Query)
    # (SQLite has no row locks and compiles for_update() to the plain SELECT)
    changed = derived if backend.capabilities.supports_for_update else [d for d in derived if not d._lock]
    assert all(query.to_sql() != before for query in changed)
    assert base.to_sql() == before
    assert len(base.all()) == 5


def test_a_derived_query_carries_every_part_of_its_origin():
    base = (
        User.query().where(name="ann").select("name").distinct().join(Post, Post.c.user_id == User.c.id)
        .group_by("name").having(func.count() > 1).order_by("name").limit(2).offset(1)
        .for_update().unscoped().strict_loading()._replace(_includes=("posts",))
    )
    copy = base._replace()
    for slot in Query.__slots__:
        assert getattr(copy, slot) is getattr(base, slot), slot
    assert base._replace(_limit=7)._limit == 7 and base._limit == 2


def test_a_query_can_be_branched(people):
    adults = User.query().where(User.c.age >= 18)
    paris = adults.where(city="Paris")
    london = adults.where(city="London")
    assert names(paris) == ["ann"]
    assert names(london) == ["eve"]
    assert names(adults) == ["ann", "dee", "eve"]


def test_nothing_runs_until_a_terminal(backend, people):
    with backend.capture_statements() as statements:
        query = User.query().where(name="ann").order_by("age").limit(3)
        query.to_sql()
    assert statements == []
    assert [u.name for u in query] == ["ann"]


# -- where: keywords -------------------------------------------------------------


def test_where_keywords(people):
    assert names(User.where(name="ann")) == ["ann"]
    assert names(User.query().where(city="Paris", active=True)) == ["ann"]
    assert names(User.query().where(age=None)) == ["cid"]
    assert names(User.query().where(email=None)) == ["cid"]
    assert names(User.query().where(name=["ann", "bob", "zed"])) == ["ann", "bob"]
    assert names(User.query().where(name=("eve",))) == ["eve"]
    assert names(User.query().where(name=[])) == []
    assert names(User.query().where(city="Paris").where(active=False)) == ["cid"]


def test_where_keyword_with_an_unknown_column_says_which_columns_exist():
    with pytest.raises(AttributeError, match="name"):
        User.query().where(nmae="ann")


# -- where: fragments ------------------------------------------------------------


def test_where_fragment_with_bound_values(people, backend):
    assert names(User.query().where("age >= ?", 18)) == ["ann", "dee", "eve"]
    assert names(User.query().where("age BETWEEN ? AND ?", 17, 18)) == ["bob", "eve"]
    assert names(User.query().where("city = ? AND age > ?", "London", 17)) == ["eve"]
    sql, params = User.query().where("age >= ?", 18).where(name="ann").to_sql()
    assert params[:1] == [18] and "ann" in params
    assert "18" not in sql


def test_fragments_combine_with_other_forms(people):
    query = User.query().where("age > ?", 17).where(User.c.city == "London").where(active=False)
    assert names(query) == ["eve"]


def test_raw_fragment_inside_an_expression(people):
    assert names(User.query().where(raw("age < ?", 18) | (User.c.name == "dee"))) == ["bob", "dee"]


# -- where: expressions ----------------------------------------------------------


def test_comparison_operators(people):
    c = User.c
    assert names(User.query().where(c.age >= 18)) == ["ann", "dee", "eve"]
    assert names(User.query().where(c.age > 18)) == ["ann", "dee"]
    assert names(User.query().where(c.age < 18)) == ["bob"]
    assert names(User.query().where(c.age <= 18)) == ["bob", "eve"]
    assert names(User.query().where(c.age == 30)) == ["ann"]
    assert names(User.query().where(c.age != 30)) == ["bob", "dee", "eve"]  # NULL is neither


def test_and_or_not(people):
    c = User.c
    assert names(User.query().where((c.age >= 18) & (c.city == "London"))) == ["eve"]
    assert names(User.query().where((c.city == "Rome") | (c.age < 18))) == ["bob", "dee"]
    assert names(User.query().where(~(c.city == "Paris"))) == ["bob", "dee", "eve"]
    assert names(User.query().where(((c.city == "Paris") | (c.city == "Rome")) & (c.age > 40))) == ["dee"]
    assert names(User.query().where((c.city == "Paris") | ((c.city == "Rome") & (c.age > 50)))) == ["ann", "cid"]


def test_conditions_refuse_python_boolean_operators():
    with pytest.raises(TypeError, match="&"):
        (User.c.age > 1) and (User.c.age < 5)  # noqa: B018


def test_in_not_in_like_between_null(people):
    c = User.c
    assert names(User.query().where(c.name.in_(["ann", "dee"]))) == ["ann", "dee"]
    assert names(User.query().where(c.name.not_in(["ann", "dee"]))) == ["bob", "cid", "eve"]
    assert names(User.query().where(c.name.not_in([]))) == ["ann", "bob", "cid", "dee", "eve"]
    assert names(User.query().where(c.email.like("%@example.com"))) == ["ann", "bob", "dee", "eve"]
    assert names(User.query().where(c.name.like("_n_"))) == ["ann"]
    assert names(User.query().where(c.name.not_like("%e%"))) == ["ann", "bob", "cid"]
    assert names(User.query().where(c.age.between(17, 30))) == ["ann", "bob", "eve"]
    assert names(User.query().where(c.age.is_null())) == ["cid"]
    assert names(User.query().where(c.age.is_not_null())) == ["ann", "bob", "dee", "eve"]
    assert names(User.query().where(c.age == None)) == ["cid"]


def test_column_arithmetic_and_functions(people):
    assert names(User.query().where(User.c.age + 1 == 19)) == ["eve"]
    assert names(User.query().where(func.upper(User.c.name) == "BOB")) == ["bob"]
    assert names(User.query().where(func.lower(User.c.city) == "rome")) == ["dee"]


def test_hostile_values_are_data(people, backend):
    hostile = ["'); DROP TABLE users; --", "%", "?", "_", "a'b", 'x"y', "\\", "$1", "%s", ":name"]
    for value in hostile:
        User.create(name=value)
    for value in hostile:
        assert [u.name for u in User.query().where(name=value)] == [value]
        assert [u.name for u in User.query().where("name = ?", value)] == [value]
        assert [u.name for u in User.query().where(User.c.name == value)] == [value]
        _, params = User.query().where(name=value).to_sql()
        assert value in params
    assert User.table_exists() and User.count() == 5 + len(hostile)
    assert backend.table_exists("users")
    # a '?' inside a quoted literal of a fragment is text, not a placeholder
    assert names(User.query().where("name = '?'")) == ["?"]
    assert names(User.query().where("name = ? OR name = '?'", "ann")) == ["?", "ann"]


# -- ordering, paging, projections ----------------------------------------------


def test_order_by_limit_offset(people):
    assert [u.name for u in User.query().where(User.c.age.is_not_null()).order_by("age")] == \
        ["bob", "eve", "ann", "dee"]
    assert [u.name for u in User.query().where(User.c.age.is_not_null()).order_by("-age")] == \
        ["dee", "ann", "eve", "bob"]
    assert [u.name for u in User.query().order_by(User.c.city.asc(), User.c.name.desc())] == \
        ["eve", "bob", "cid", "ann", "dee"]
    assert [u.name for u in User.query().order_by("city", "-name")] == ["eve", "bob", "cid", "ann", "dee"]
    assert [u.name for u in User.query().order_by("name").limit(2)] == ["ann", "bob"]
    assert [u.name for u in User.query().order_by("name").limit(2).offset(2)] == ["cid", "dee"]
    assert [u.name for u in User.query().order_by("name").offset(3)] == ["dee", "eve"]
    assert [u.name for u in User.query().order_by("name").reorder("-name").limit(1)] == ["eve"]
    assert User.query().limit(0).all() == []


def test_limit_and_offset_refuse_bad_values():
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(ValueError):
            User.query().limit(bad)
        with pytest.raises(ValueError):
            User.query().offset(bad)


def test_select_and_distinct(people):
    rows = User.query().select("name", "age").where(name="ann").dicts()
    assert rows == [{"name": "ann", "age": 30}]
    cities = User.query().select("city").distinct().order_by("city").pluck("city")
    assert cities == ["London", "Paris", "Rome"]
    assert User.query().select(User.c.city).distinct().count() == 3
    labelled = User.query().select(User.c.name.label("who")).where(name="bob").dicts()
    assert labelled == [{"who": "bob"}]


def test_group_by_and_having(people):
    rows = (User.query().select("city", func.count().label("n")).group_by("city")
            .having(func.count() > 1).order_by("city").dicts())
    assert [(r["city"], r["n"]) for r in rows] == [("London", 2), ("Paris", 2)]
    rows = (User.query().select("city", func.max(User.c.age).label("oldest")).group_by("city")
            .having("COUNT(*) >= ?", 1).order_by("city").dicts())
    assert [(r["city"], r["oldest"]) for r in rows] == [("London", 18), ("Paris", 30), ("Rome", 45)]
    # A grouped count (and sum/avg/min/max) answers per group, as Rails' group(:city).count does.
    assert User.query().group_by("city").count() == {"London": 2, "Paris": 2, "Rome": 1}
    assert User.query().group_by("city").max("age") == {"London": 18, "Paris": 30, "Rome": 45}
    by_two = User.query().group_by("city", "active").count()
    assert sum(by_two.values()) == 5 and all(isinstance(k, tuple) and len(k) == 2 for k in by_two)
    assert User.where(city="Rome").group_by("city").having(func.count() > 5).count() == {}


def test_the_same_function_in_select_and_group_by_is_one_expression(people):
    """A constant word argument is written as a literal, so both uses are the same SQL."""
    rows = (User.query().select(func.substr(User.c.city, 1, 2).label("p"), func.count().label("n"))
            .group_by(func.substr(User.c.city, 1, 2)).order_by(func.substr(User.c.city, 1, 2)).dicts())
    assert [(r["p"], r["n"]) for r in rows] == [("Lo", 2), ("Pa", 2), ("Ro", 1)]
    sql, params = User.query().select(func.coalesce(User.c.city, "nowhere")).to_sql()
    assert "'nowhere'" in sql and params == []
    sql, params = User.query().select(func.coalesce(User.c.city, "no where; --")).to_sql()
    assert "no where" not in sql and params == ["no where; --"]  # not a plain word: bound


# -- joins ---------------------------------------------------------------------


def test_inner_join(people):
    authors = User.query().join(Post, Post.c.user_id == User.c.id).distinct()
    assert names(authors) == ["ann", "bob"]
    high = User.query().join(Post, Post.c.user_id == User.c.id).where(Post.c.score > 4)
    assert [u.name for u in high] == ["ann", "ann"]
    rows = (User.query().select(User.c.name, Post.c.title).join(Post, Post.c.user_id == User.c.id)
            .order_by(Post.c.title).dicts())
    assert [(r["name"], r["title"]) for r in rows] == [("ann", "ann 1"), ("ann", "ann 2"), ("bob", "bob 1")]


def test_left_join(people):
    rows = (User.query().select(User.c.name, func.count(Post.c.id).label("posts"))
            .left_join(Post, Post.c.user_id == User.c.id).group_by(User.c.name).order_by("name").dicts())
    assert [(r["name"], r["posts"]) for r in rows] == [("ann", 2), ("bob", 1), ("cid", 0), ("dee", 0), ("eve", 0)]
    silent = User.query().left_join(Post, Post.c.user_id == User.c.id).where(Post.c.id.is_null())
    assert names(silent) == ["cid", "dee", "eve"]


def test_join_with_a_fragment_and_joined_count(people):
    assert User.query().join(Post, "posts.user_id = users.id").count() == 3
    assert User.query().join(Post, Post.c.user_id == User.c.id).where(name="ann").count() == 2


def test_join_needs_a_condition():
    with pytest.raises(ValueError):
        User.query().join(Post)
    with pytest.raises(ValueError):
        User.query().join(Post, Post.c.user_id == User.c.id, kind="outer")


# -- subqueries -----------------------------------------------------------------


def test_in_subquery(people):
    authors = User.query().where(User.c.id.in_(Post.query().select("user_id")))
    assert names(authors) == ["ann", "bob"]
    not_authors = User.query().where(User.c.id.not_in(Post.query().select("user_id").where(
        Post.c.user_id.is_not_null())))
    assert names(not_authors) == ["cid", "dee", "eve"]
    keyword = User.query().where(id=Post.query().select("user_id").where(Post.c.score > 4))
    assert names(keyword) == ["ann"]


def test_subquery_parameters_are_numbered_with_the_outer_query(people):
    query = (User.query().where(User.c.age > 1)
             .where(User.c.id.in_(Post.query().select("user_id").where(Post.c.score > 4)))
             .where(User.c.city == "Paris"))
    _, params = query.to_sql()
    assert params == [1, 4, "Paris"]
    assert names(query) == ["ann"]


def test_exists_subquery(people):
    has_posts = exists(Post.query().where(Post.c.user_id == User.c.id))
    assert names(User.query().where(has_posts)) == ["ann", "bob"]
    assert names(User.query().where(~has_posts)) == ["cid", "dee", "eve"]
    good = exists(Post.query().where((Post.c.user_id == User.c.id) & (Post.c.score >= 7)))
    assert names(User.query().where(good)) == ["ann"]


# -- scopes ---------------------------------------------------------------------


def test_named_scopes(people):
    assert names(User.adults()) == ["ann", "dee", "eve"]
    assert names(User.query().adults()) == ["ann", "dee", "eve"]
    assert names(User.in_city("London")) == ["bob", "eve"]
    assert names(User.query().where(active=True).in_city("London")) == ["bob"]


def test_chaining_scopes(people):
    assert names(User.adults().in_city("London")) == ["eve"]
    assert names(User.in_city("Paris").adults()) == ["ann"]
    assert [u.name for u in User.adults().oldest_first().limit(2)] == ["dee", "ann"]
    assert User.adults().in_city("Paris").count() == 1


def test_unknown_scope_is_an_attribute_error():
    with pytest.raises(AttributeError, match="teenagers"):
        User.query().teenagers()
