"""``query().joins("posts")``: INNER JOIN by association name.

To-one steps (belongs_to, has_one) join plainly. A to-many step (has_many,
through, many-to-many) would repeat the parent once per matching child, so the
query becomes ``SELECT DISTINCT``: each parent comes back once. With DISTINCT,
PostgreSQL and MySQL refuse ORDER BY on a column that is not selected, so sort
such queries by the parent's columns (sorting by a to-one association's
columns is fine). A table that is already in the query (a self-reference) is
joined under the association's name as its alias.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ModelDefinitionError
from ..backend.typing import split_table_name
from ..query import expressions as ex
from .associations import BelongsTo, HasOwned, association
from .linked import HasManyThrough, ManyToMany

if TYPE_CHECKING:
    from ..query.query import Query


def join_associations(query: Query[Any], paths: tuple[str, ...]) -> Query[Any]:
    """Return ``query`` with an INNER JOIN for every association along ``paths``."""
    # The names tables go by in SQL: a table in a schema is named by its bare name (see the compiler).
    names = {_bare(query.model.table_name())} | {_bare(n) for n in query.joined_tables}
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


def _bare(table: str) -> str:
    return split_table_name(table)[1]


def _alias(table: str, wanted: str, names: set[str]) -> tuple[str, str | None]:
    if _bare(table) not in names:
        names.add(_bare(table))
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
    if isinstance(assoc, BelongsTo):
        name, alias = _alias(target.table_name(), assoc.name, names)
        foreign, aimed = assoc.keys_for(target)
        on = aimed.joined(name, target, source, assoc.model, foreign)
        return [(target.table_name(), alias, _with_scopes(on, target, alias is not None))], name
    if isinstance(assoc, HasOwned):
        name, alias = _alias(target.table_name(), assoc.name, names)
        owner, foreign = assoc.keys
        on = foreign.joined(name, target, source, assoc.model, owner)
        if assoc.as_:
            on = ex.And([on, *assoc.conditions(name)])
        return [(target.table_name(), alias, _with_scopes(on, target, alias is not None))], name
    if isinstance(assoc, (HasManyThrough, ManyToMany)):
        link = assoc.link
        if _bare(link.table) in names or _bare(target.table_name()) in names:
            raise ModelDefinitionError(
                f"joins({assoc.name!r}): {assoc} would join a table twice; use join() with aliases"
            )
        names.update((_bare(link.table), _bare(target.table_name())))
        first = ex.Column(link.table, link.owner_column) == \
            ex.Column(source, assoc.model.column_name(assoc.owner_key))
        if link.conditions:
            first = ex.And([first, *link.conditions])
        second = _with_scopes(link.on, target, False)
        return [(link.table, None, first), (target.table_name(), None, second)], target.table_name()
    raise ModelDefinitionError(f"joins() cannot follow {assoc}")


def where_assoc(query: Query[Any], path: str, conditions: tuple[Any, ...], equals: dict[str, Any]) -> Query[Any]:
    """``Query.where_assoc``: filter by an association path (EXISTS)."""
    raise NotImplementedError("where_assoc() is being built")
