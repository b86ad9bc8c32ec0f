"""Conditions on associations: ``joins("posts")`` (INNER JOIN) and ``where_assoc("posts", ...)`` (EXISTS).

``joins``: to-one steps (belongs_to, has_one) join plainly. A to-many step
(has_many, through, many-to-many) would repeat the parent once per matching
child, so the query becomes ``SELECT DISTINCT``: each parent comes back once.
With DISTINCT, several databases refuse ORDER BY on a column that is not
selected, so sort such queries by the parent's columns (sorting by a to-one
association's columns is fine). A table that is already in the query (a
self-reference) is joined under the association's name as its alias.

``where_assoc`` filters by a correlated ``EXISTS`` subquery per step instead:
no joins, no repeats, no DISTINCT (see :func:`association_exists`).
:func:`hop_on` and :func:`link_on` hold the join conditions of each kind of
association for both, and for joined eager loading (``relation.joined``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backend.typing import bare_table_name
from ..errors import ModelDefinitionError
from ..query import expressions as ex
from .aliases import retarget
from .associations import BelongsTo, HasOwned, association
from .linked import HasManyThrough, ManyToMany

if TYPE_CHECKING:
    from ..query.query import Query


def join_associations(query: Query[Any], paths: tuple[str, ...]) -> Query[Any]:
    """Return ``query`` with an INNER JOIN for every association along ``paths``."""
    # The names tables go by in SQL: a table in a schema is named by its bare name (see the compiler).
    names = {bare_table_name(query.model.table_name())} | {bare_table_name(n) for n in query.joined_tables}
    distinct = query.is_distinct
    for path in paths:
        model: Any = query.model
        current = model.table_name()
        for part in path.split("."):
            assoc = association(model, part)
            steps, current = _steps(assoc, current, names)
            for table, alias, on in steps:
                query = query.join(table, on, alias=alias)
            distinct = distinct or assoc.to_many
            model = assoc.target
    return query.distinct() if distinct else query


def _alias(table: str, wanted: str, names: set[str]) -> tuple[str, str | None]:
    if bare_table_name(table) not in names:
        names.add(bare_table_name(table))
        return table, None
    if wanted in names:
        raise ModelDefinitionError(
            f"Cannot join {table!r} a second time as {wanted!r}: that name is taken"
        )
    names.add(wanted)
    return wanted, wanted


def _with_scopes(on: ex.Expr, model: Any, aliased: bool) -> ex.Expr:
    scopes = list(model._default_scopes().values())
    return ex.And([on, *scopes]) if scopes and not aliased else on


def _steps(
    assoc: Any, source: str, names: set[str]
) -> tuple[list[tuple[str, str | None, ex.Expr]], str]:
    target = assoc.target
    if isinstance(assoc, (BelongsTo, HasOwned)):
        name, alias = _alias(target.table_name(), assoc.name, names)
        on = hop_on(assoc, source, name)
        return [(target.table_name(), alias, _with_scopes(on, target, alias is not None))], name
    if isinstance(assoc, (HasManyThrough, ManyToMany)):
        link = assoc.link
        if bare_table_name(link.table) in names or bare_table_name(target.table_name()) in names:
            raise ModelDefinitionError(
                f"joins({assoc.name!r}): {assoc} would join a table twice; use join() with aliases"
            )
        names.update((bare_table_name(link.table), bare_table_name(target.table_name())))
        first, second = link_on(assoc, source, link.table, target.table_name())
        second = _with_scopes(second, target, False)
        return [(link.table, None, first), (target.table_name(), None, second)], target.table_name()
    raise ModelDefinitionError(f"joins() cannot follow {assoc}")


def hop_on(assoc: Any, source: str, target: str) -> ex.Expr:
    """The condition tying the target rows (its table named ``target``) to the owner rows (named ``source``).

    For a belongs_to, has_one or has_many: the key columns, and the type
    column of an ``as_=`` association. The target's default scopes are not in it.
    """
    if isinstance(assoc, BelongsTo):
        foreign, aimed = assoc.keys_for(assoc.target)
        return aimed.joined(target, assoc.target, source, assoc.model, foreign)
    owner, foreign = assoc.keys
    on = foreign.joined(target, assoc.target, source, assoc.model, owner)
    return ex.And([on, *assoc.conditions(target)]) if assoc.as_ else on


def link_on(assoc: Any, source: str, link: str, target: str) -> tuple[ex.Expr, ex.Expr]:
    """The conditions of a through/many-to-many step: (link rows <-> owner rows, target rows <-> link rows).

    ``source``, ``link`` and ``target`` are the names the owner table, the
    link table and the target table go by. The first holds the link's own
    conditions (the join model's default scopes, a polymorphic type).
    """
    found = assoc.link
    first: ex.Expr = ex.Column(link, found.owner_column) == \
        ex.Column(source, assoc.model.column_name(assoc.owner_key))
    if found.conditions:
        first = ex.And([first, *retarget(found.conditions, _renamed({found.table: link}))])
    second = retarget(found.on, _renamed({found.table: link, assoc.target.table_name(): target}))
    return first, second


def _renamed(names: dict[str, str]) -> dict[str, str]:
    return {old: new for old, new in names.items() if old != new}


# -- where_assoc: EXISTS (SELECT 1 FROM child WHERE child.fk = parent.pk AND ...) ---------------


def where_assoc(query: Query[Any], path: str, conditions: tuple[Any, ...], equals: dict[str, Any]) -> Query[Any]:
    """``Query.where_assoc``: keep the rows with an associated record along ``path`` matching the conditions."""
    return query.where(association_exists(query.model, path, *conditions, **equals))


def association_exists(model: Any, path: str, *conditions: Any, **equals: Any) -> ex.Expr:
    """The condition "``model``'s row has an associated record along ``path`` matching the conditions".

    ``association_exists(User, "posts.comments", body="x")`` is ``EXISTS (SELECT 1
    FROM posts WHERE posts.user_id = users.id AND EXISTS (SELECT 1 FROM comments
    WHERE comments.post_id = posts.id AND comments.body = ?))``: each parent
    once, without joins or DISTINCT. The conditions apply to the last model
    of the path, as ``where()`` takes them (keywords: a list means IN, None
    IS NULL; expressions; a SQL fragment with ``?`` values), or as a query
    over that model (its conditions and ``unscoped()`` are used). Each
    step's default scopes (soft delete) and ``scope=`` apply. Negate it with
    ``~`` for "has none matching": ``User.where(~association_exists(User, "posts"))``.

    A step whose table is the owner's own (``Category.children``) cannot be
    correlated by name, so it is written as ``key IN (SELECT ...)`` instead,
    with the same meaning (NULL keys included).

    Raises:
        ValueError: an unknown association, or a polymorphic belongs_to on
            the path (its target model varies per row).
    """
    if not isinstance(path, str) or not path:
        raise TypeError(f"where_assoc() takes an association path such as 'posts.comments', got {path!r}")
    return _exists(model, model.table_name(), path.split("."), conditions, equals)


def _exists(model: Any, outer: str, parts: list[str], conditions: tuple[Any, ...], equals: dict[str, Any]) -> ex.Expr:
    assoc: Any = association(model, parts[0])
    if isinstance(assoc, BelongsTo) and assoc.polymorphic:
        raise ValueError(
            f"where_assoc() cannot follow {assoc}: a polymorphic belongs_to points at a different model per "
            f"row; filter one type at a time: where({assoc.foreign_type}='Post', "
            f"{assoc.foreign_key}=Post.where(...).select('id'))")
    target = assoc.target
    rest = parts[1:]
    if rest:
        base = target.query().where(_exists(target, target.table_name(), rest, conditions, equals))
    else:
        base = _conditions_query(target, conditions, equals)
    base = assoc._scoped(base)
    linked = isinstance(assoc, (HasManyThrough, ManyToMany))
    tables = {bare_table_name(target.table_name())} | ({bare_table_name(assoc.link.table)} if linked else set())
    if bare_table_name(outer) not in tables:
        if linked:
            first, second = link_on(assoc, outer, assoc.link.table, target.table_name())
            base = base.join(assoc.link.table, second)
        else:
            first = hop_on(assoc, outer, target.table_name())
        sub = base._replace(_where=(first, *base._where), _order=())  # the correlation first, for the reader
        return ex.Exists(sub.select(ex.Raw("1")))
    return _within(assoc, outer, base)


def _within(assoc: Any, outer: str, base: Query[Any]) -> ex.Expr:
    """``outer.key IN (SELECT key FROM target ...)``: a step back into the owner's own table."""
    target, model = assoc.target, assoc.model
    if isinstance(assoc, BelongsTo):
        foreign, aimed = assoc.keys_for(target)
        outer_fields, inner = foreign.fields, [target.c[f] for f in aimed.fields]
    elif isinstance(assoc, HasOwned):
        owner, foreign = assoc.keys
        outer_fields, inner = owner.fields, [target.c[f] for f in foreign.fields]
        base = base.where(*assoc.conditions())
    else:
        link = assoc.link
        outer_fields = (assoc.owner_key,)
        inner = [ex.Column(link.table, link.owner_column)]
        base = base.join(link.table, link.on).where(*link.conditions)
    columns = [ex.Column(outer, model.column_name(f)) for f in outer_fields]
    sub = base.where(*(c.is_not_null() for c in inner)).select(*inner)._replace(_order=())
    operand: ex.Expr = columns[0] if len(columns) == 1 else ex.Row(columns)
    return ex.And([*(c.is_not_null() for c in columns), ex.In(operand, ex.Subquery(sub), negated=False)])


def _conditions_query(target: Any, conditions: tuple[Any, ...], equals: dict[str, Any]) -> Query[Any]:
    """The target's query with the conditions of ``where_assoc``: a query over it, or what ``where()`` takes."""
    base = target.query()
    if conditions and _is_query(conditions[0]):
        given = conditions[0]
        if given.model is not target:
            raise TypeError(
                f"where_assoc() takes a query over {target.__name__} (the last model of the path), "
                f"got one over {given.model.__name__}")
        if given._limit is not None or given._offset or given._group:
            raise ValueError("where_assoc() takes the conditions of a query: no limit(), offset() or group_by()")
        base, conditions = given, conditions[1:]
    return base.where(*conditions, **equals) if conditions or equals else base


def _is_query(value: Any) -> bool:
    return hasattr(value, "_compile_into") and hasattr(value, "model")
