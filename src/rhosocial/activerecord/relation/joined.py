"""Joined eager loading: ``includes("posts", strategy="join")`` in the query's own statement.

Each joined level becomes a ``LEFT JOIN`` under an alias of its own
(``_rh0_posts``; a through or many-to-many level joins its link table too),
with the target's default scopes, the association's ``scope=`` and a filter
in its ``ON`` clause, and its columns selected under labels (``_rh0_3``).
The parent rows come back once per child row; :func:`split` turns the rows
into distinct owners (in the query's order), one record per child row, and
fills the caches as batched loading does (inverse sides included).

The aliases keep the eager joins out of the rest of the query: a condition
on ``Post.c.title`` does not filter the loaded posts (that is what a filter
is for: ``includes(posts=..., strategy="join")``) and needs ``joins("posts")``
as before.

LIMIT and OFFSET count rows, and a to-many join repeats each owner: applied
to the joined statement they would cut collections short. So when a level
can repeat the owner (anything but ``belongs_to``) and the query is limited
(``first()``, ``one()``, pages), the limit moves into a subquery choosing the
owners, ``WHERE id IN (SELECT id FROM (SELECT id ... ORDER BY ... LIMIT n) AS
t)``, and the joined statement is unlimited: still one statement.

Queries with ``includes(strategy="join")`` are :class:`JoinedQuery`: only
``all()`` (and ``to_sql()``, which shows what it runs) differ, so ``count()``,
``pluck()``, ``exists()`` and bulk writes ignore the eager joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..query import expressions as ex
from ..query.query import Query
from .aliases import NotRetargetable, retarget
from .associations import BelongsTo, HasOne, HasOwned, association
from .joins import hop_on, link_on
from .keys import KeyFields
from .linked import Linked
from .state import mark_strict, relations, set_filtered

if TYPE_CHECKING:
    from ..model.base import ActiveRecord
    from .loading import Tree

M = TypeVar("M", bound="ActiveRecord")

#: Longest alias written (identifiers are limited to 63 characters in some databases).
_ALIAS_LENGTH = 48


class JoinedQuery(Query[M]):
    """A query whose ``all()`` loads its joined includes in the same statement."""

    __slots__ = ()

    def all(self) -> list[M]:
        """Run the joined statement: the records with their includes, each once."""
        return Query.all(joined_statement(self))

    def to_sql(self) -> tuple[str, list[Any]]:
        """Return the joined SELECT that ``all()`` runs."""
        return Query.to_sql(joined_statement(self))


_TYPES: dict[type, type] = {}


def joined_query(query: Query[Any]) -> Query[Any]:
    """``query`` as a :class:`JoinedQuery` (of its own query class)."""
    cls = type(query)
    if issubclass(cls, JoinedQuery):
        return query
    joined = _TYPES.get(cls)
    if joined is None:
        joined = JoinedQuery if cls is Query else type(f"Joined{cls.__name__}", (JoinedQuery, cls), {"__slots__": ()})
        _TYPES[cls] = joined
    clone = query._replace()
    clone.__class__ = joined  # same slots: only the methods change
    return clone


@dataclass
class Level:
    """One joined level of the includes tree."""

    path: str
    assoc: Any
    parent: int | None  # index of the level above in the plan; None: the query's own model
    alias: str
    link_alias: str | None
    columns: tuple[str, ...]  # the target's columns ...
    labels: tuple[str, ...]  # ... and the labels they are selected under
    key: tuple[int, ...]  # positions of the target's primary key among ``columns``

    @property
    def repeats_owner(self) -> bool:
        """Whether one owner row can meet several rows of this level (a belongs_to meets one)."""
        return not isinstance(self.assoc, BelongsTo)


def plan(model: Any, tree: Tree, joined: set[str]) -> list[Level]:
    """The joined levels of ``tree`` (their paths in ``joined``), parents before children."""
    levels: list[Level] = []
    _plan(model, tree, joined, "", None, levels)
    return levels


def _plan(model: Any, tree: Tree, joined: set[str], prefix: str, parent: int | None, levels: list[Level]) -> None:
    for name, subtree in tree.items():
        path = prefix + name
        if path not in joined:
            continue
        assoc = association(model, name)
        target = assoc.target
        n = len(levels)
        columns = tuple(column.name for column in target.c)
        key_columns = [target.column_name(f) for f in target.primary_key_fields()]
        levels.append(Level(
            path=path, assoc=assoc, parent=parent,
            alias=f"_rh{n}_{name}"[:_ALIAS_LENGTH],
            link_alias=f"_rhl{n}" if isinstance(assoc, Linked) else None,
            columns=columns,
            labels=tuple(f"_rh{n}_{i}" for i in range(len(columns))),
            key=tuple(columns.index(c) for c in key_columns),
        ))
        _plan(target, subtree, joined, path + ".", n, levels)


def joined_statement(query: Query[Any]) -> Query[Any]:
    """The joined SELECT for ``query`` (``query`` itself when it joins nothing).

    Raises:
        ValueError: the query is grouped or locks rows; a joined level's
            target uses another database; a condition that cannot move into
            the join (a SQL fragment in a filter or scope).
    """
    from .loading import level_options, parse_paths

    model = query.model
    filters, joined = level_options(query)
    levels = plan(model, parse_paths(query.included), joined) if joined else []
    if not levels:
        return query
    if query._group or query._having:
        raise ValueError("includes(strategy='join') cannot load into a grouped query; use strategy='batch'")
    if query._lock is not None:
        raise ValueError(
            "includes(strategy='join') with a row lock would lock the loaded rows too (or be refused); "
            "use strategy='batch'")
    repeats = any(level.repeats_owner for level in levels)
    statement = query
    if repeats and (query._limit is not None or query._offset):
        statement = query._replace(_limit=None, _offset=None).where(_page(query))
    select = list(query._select) or [ex.Star(model.table_name())]
    order = list(query.ordering)
    if repeats and not order:
        order = [model.c[f].asc() for f in model.primary_key_fields()]
    for level in levels:
        statement, child_order = _join_level(statement, model, levels, level, filters.get(level.path))
        select.extend(ex.Column(level.alias, c).label(label) for c, label in zip(level.columns, level.labels))
        if level.repeats_owner:
            order.extend(child_order)
    return statement._replace(_select=tuple(select), _order=tuple(order))


def _page(query: Query[Any]) -> ex.Expr:
    """``key IN (SELECT key FROM (<the query's page of owners>) AS t)``.

    The derived table carries the LIMIT: several databases refuse a LIMIT
    directly inside ``IN (...)``.
    """
    model = query.model
    columns: list[Any] = [model.c[f] for f in model.primary_key_fields()]
    chosen: list[Any] = list(columns)
    if query.is_distinct:  # DISTINCT wants the sort columns selected
        chosen.extend(term.expr.label(f"_rh_sort{i}") for i, term in enumerate(query.ordering))
    page = query._replace(_includes=(), _include_options=(), _strict=None, _readonly=False).select(*chosen)
    keys = model.query().from_subquery(page).select(*columns)
    operand: ex.Expr = columns[0] if len(columns) == 1 else ex.Row(columns)
    return ex.In(operand, ex.Subquery(keys), negated=False)


def _join_level(statement: Query[Any], model: Any, levels: list[Level], level: Level,
                found: Any) -> tuple[Query[Any], list[ex.OrderBy]]:
    assoc = level.assoc
    target = assoc.target
    if target.backend() is not model.backend():
        raise ValueError(
            f"includes({level.path!r}, strategy='join'): {target.__name__} uses another database than "
            f"{model.__name__}; load it with strategy='batch'")
    scoped = assoc._scoped(found if found is not None else target.query())
    if scoped._joins or scoped._limit is not None or scoped._offset or scoped._group:
        raise ValueError(
            f"includes({level.path!r}, strategy='join'): the scope of {assoc} adds joins, a limit or "
            "grouping, which cannot move into a JOIN's condition; use strategy='batch'")
    source = model.table_name() if level.parent is None else levels[level.parent].alias
    aimed = {target.table_name(): level.alias}
    try:
        conditions = list(retarget(tuple(scoped._all_conditions()), aimed))
        ordering = scoped.ordering or target.query().order_by(*_default_order(assoc)).ordering
        child_order = list(retarget(tuple(ordering), aimed))
    except NotRetargetable as exc:
        raise ValueError(f"includes({level.path!r}, strategy='join'): {exc}; or use strategy='batch'") from None
    if isinstance(assoc, Linked):
        assert level.link_alias is not None
        first, second = link_on(assoc, source, level.link_alias, level.alias)
        statement = statement.left_join(assoc.link.table, first, alias=level.link_alias)
        on: ex.Expr = ex.And([second, *conditions])
    else:
        on = hop_on(assoc, source, level.alias)
        on = ex.And([on, *conditions]) if conditions else on
    return statement.left_join(target.table_name(), on, alias=level.alias), child_order


def _default_order(assoc: Any) -> tuple[Any, ...]:
    order = getattr(assoc, "order", ())
    return tuple(order) if order else assoc.target.primary_key_fields()


def split(model: Any, records: list[Any], levels: list[Level], strict: bool,
          filters: dict[str, Any]) -> dict[str, list[Any]]:
    """Turn the joined rows in ``records`` into distinct owners (in place) and cache each level's records.

    Returns each joined path's loaded records, for the levels loaded below them.
    """
    rows = [_take(record, levels) for record in records]
    repeats = any(level.repeats_owner for level in levels)
    if repeats:
        owners: dict[Any, Any] = {}
        read = KeyFields(model.primary_key_fields()).read
        row_owner = []
        for record in records:
            key = read(record)
            if key is None:
                raise ValueError(
                    f"includes(strategy='join') tells {model.__name__} records apart by their primary key: "
                    "select it too")
            row_owner.append(owners.setdefault(key, record))
        distinct = list(owners.values())
    else:
        row_owner = list(records)
        distinct = row_owner
    instances: list[list[Any]] = []  # per level: the record each row holds (or None)
    loaded: dict[str, list[Any]] = {}
    for index, level in enumerate(levels):
        found: dict[Any, tuple[Any, ...]] = {}
        keys: list[Any] = []
        for values in rows:
            part = values[index]
            key = tuple(part[i] for i in level.key)
            if None in key:
                keys.append(None)
            else:
                keys.append(key)
                found.setdefault(key, part)
        made = dict(zip(found, level.assoc.target.from_rows(level.columns, list(found.values()))))
        instances.append([None if key is None else made[key] for key in keys])
        owners_above = row_owner if level.parent is None else instances[level.parent]
        parents = distinct if level.parent is None else loaded[levels[level.parent].path]
        _assign(level, parents, owners_above, instances[index])
        children = list(made.values())
        if strict:
            mark_strict(children)
        if level.path in filters:
            set_filtered(parents, level.assoc.name)
        loaded[level.path] = children
    records[:] = distinct
    return loaded


def _take(record: Any, levels: list[Level]) -> list[tuple[Any, ...]]:
    """Pop the joined levels' values from the annotations ``record`` was loaded with."""
    private = record.__pydantic_private__
    values = private["_annotations"]
    out = [tuple(values.pop(label) for label in level.labels) for level in levels]
    if not values:
        del private["_annotations"]
    return out


def _assign(level: Level, parents: list[Any], owners: list[Any], children: list[Any]) -> None:
    """Cache on each parent the children its rows met, in row order, each once."""
    met: dict[int, dict[int, Any]] = {id(parent): {} for parent in parents}
    for owner, child in zip(owners, children):
        if owner is not None and child is not None:
            met[id(owner)].setdefault(id(child), child)
    assoc = level.assoc
    name = assoc.name
    for parent in parents:
        found = list(met[id(parent)].values())
        if assoc.collection:
            relations(parent)[name] = found
            if isinstance(assoc, HasOwned):
                assoc._set_inverse(parent, found)
        elif isinstance(assoc, HasOne):
            relations(parent)[name] = found[0] if found else None
            assoc._set_inverse(parent, found[:1])
        else:
            value = found[0] if found else None
            relations(parent)[name] = value
            if value is not None:
                assoc._set_inverse(parent, value)
