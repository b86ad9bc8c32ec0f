"""Collections reached through a link table: ``has_many(through=...)`` and ``many_to_many``.

Both join the target to a link table whose one column holds the owner's key;
they differ in what the link is (a join model with its own associations, or a
plain two-column table) and so in how ``add``/``remove`` write it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from ..backend.typing import ColumnDef
from ..errors import ModelDefinitionError
from ..query import expressions as ex
from .associations import (
    Association,
    BelongsTo,
    HasOwned,
    Scope,
    _in_transaction,
    association,
    associations,
)
from .registry import describe, polymorphic_name, single_key, singularize, underscore
from .state import (
    check_lazy_load,
    chunks,
    forget,
    in_batch_size,
    is_filtered,
    is_loaded,
    relations,
    unique,
)

if TYPE_CHECKING:
    from ..model.base import ActiveRecord
    from ..query.query import Query

#: The label of the owner-key column a batched load selects next to the target's columns.
OWNER_KEY = "_rh_owner_key"


@dataclass
class Link:
    """How the target joins a link table, and which link column holds the owner's key."""

    table: str
    owner_column: str
    on: ex.Expr  # target <-> link
    conditions: tuple[ex.Expr, ...] = ()

    def owner_key(self, owner: type) -> ex.Column:
        """Return the link's owner-key column, typed like the owner's key."""
        pk = owner.c[single_key(owner)]  # type: ignore[attr-defined]
        return ex.Column(self.table, self.owner_column, pk.db_type, pk.python_to_db)


class Linked(Association):
    """A collection whose rows are found through a link table."""

    collection = True
    to_many = True

    def __init__(
        self,
        class_name: str | type[ActiveRecord] | None = None,
        *,
        order_by: Any = None,
        scope: Scope | None = None,
        **keys: Any,
    ) -> None:
        super().__init__(class_name, scope=scope, **keys)
        self.order = (
            order_by if isinstance(order_by, (tuple, list)) else ((order_by,) if order_by else ())
        )
        self._link: Link | None = None

    @property
    def link(self) -> Link:
        """Return the resolved link description."""
        if self._link is None:
            self._link = self._make_link()
        return self._link

    def _make_link(self) -> Link:
        raise NotImplementedError

    @property
    def owner_key(self) -> str:
        """Return the owner's key column."""
        return single_key(self.model)

    def read(self, record: Any) -> Any:
        from .collection import CollectionProxy

        return CollectionProxy(record, self)

    def query_for(self, record: Any) -> Query[Any]:
        """Return the query of the target records linked to ``record``."""
        link = self.link
        query = (
            self.target.query()
            .join(link.table, link.on)
            .where(
                link.owner_key(self.model) == record.__dict__.get(self.owner_key), *link.conditions
            )
        )
        return self._scoped(query)

    def _ordered(self, query: Query[Any]) -> Query[Any]:
        if query.ordering:
            return query
        return (
            query.order_by(*self.order) if self.order else query.order_by(single_key(self.target))
        )

    def load(self, record: Any) -> list[Any]:
        """Return the cached records, loading them on first use."""
        cache = relations(record)
        found = cache.get(self.name)
        if found is None:
            forget(record, self.name)  # a full load: no longer filtered
            if record.__dict__.get(self.owner_key) is None:
                found = []
            else:
                check_lazy_load(record, self.name)
                found = self._ordered(self.query_for(record)).all()
            cache[self.name] = found
        return found

    def preload(self, records: Sequence[Any], base: Query[Any] | None = None) -> list[Any]:
        target, link = self.target, self.link
        start = target.query() if base is None else base
        owner_column = link.owner_key(self.model)
        backend = target.backend()
        read_key = self.model.metadata().reader(self.model.backend(), self.owner_key)
        groups: dict[Any, list[Any]] = {}
        seen: dict[Any, Any] = {}
        keys = unique(r.__dict__.get(self.owner_key) for r in records)
        for batch in chunks(keys, in_batch_size(target)):
            query = (
                start
                .join(link.table, link.on)
                .where(owner_column.in_(batch), *link.conditions)
            )
            query = self._ordered(self._scoped(query)).select(
                ex.Star(target.table_name()), owner_column.label(OWNER_KEY)
            )
            sql, params = query.to_sql()
            result = backend.execute(sql, params)
            position = list(result.columns).index(OWNER_KEY)
            pk = single_key(target)
            for row, loaded in zip(result.rows, target.from_rows(result.columns, result.rows)):
                record = seen.setdefault(loaded.__dict__[pk], loaded)  # one instance per target row
                key = row[position]
                if key is not None and read_key is not None:
                    key = read_key(key)
                groups.setdefault(key, []).append(record)
        for record in records:
            relations(record)[self.name] = list(groups.get(record.__dict__.get(self.owner_key), ()))
        return list(seen.values())

    def _owner_key_value(self, record: Any) -> Any:
        key = record.__dict__.get(self.owner_key)
        if key is None:
            raise ValueError(f"Save {describe(record)} before adding to {self}: it has no key yet")
        return key

    def _check_target(self, items: Sequence[Any]) -> None:
        for item in items:
            if not isinstance(item, self.target):
                raise TypeError(f"{self} takes {self.target.__name__} records, got {item!r}")
            if item.is_new_record:
                raise ValueError(f"Save {describe(item)} before linking it through {self}")

    def _remember(
        self, record: Any, added: Sequence[Any] = (), removed: Sequence[Any] = ()
    ) -> None:
        if is_filtered(record, self.name):
            forget(record, self.name)  # whether the added records pass the filter is the database's to say
        elif is_loaded(record, self.name):
            current = [r for r in relations(record)[self.name] if r not in removed]
            current.extend(r for r in added if r not in current)
            relations(record)[self.name] = current

    def create(self, record: Any, attributes: dict[str, Any]) -> Any:
        """Create a target record and link it to ``record``, in one transaction."""
        with self.model.backend().transaction():
            item = self.target.create(**attributes)
            self.add(record, [item])
        return item

    def build(self, record: Any, attributes: dict[str, Any]) -> Any:
        """Return a new, unsaved target record (link it with ``add`` once saved)."""
        return self.target(**attributes)

    def add(self, record: Any, items: Sequence[Any]) -> None:
        """Link ``items`` to ``record``."""
        raise NotImplementedError

    def remove(self, record: Any, items: Sequence[Any]) -> None:
        """Unlink ``items`` from ``record`` (the items themselves stay)."""
        raise NotImplementedError


class HasManyThrough(Linked):
    """``has_many("Tag", through="taggings")``: targets reached through another association."""

    def __init__(
        self,
        class_name: str | type[ActiveRecord] | None = None,
        *,
        through: str,
        source: str | None = None,
        order_by: Any = None,
        scope: Scope | None = None,
    ) -> None:
        super().__init__(class_name, order_by=order_by, scope=scope)
        self.through = through
        self.source = source

    @property
    def through_association(self) -> HasOwned:
        """Return the owner's association that reaches the join model."""
        found = association(self.model, self.through)
        if not isinstance(found, HasOwned):
            raise ModelDefinitionError(
                f"{self}: through={self.through!r} must name a has_many or has_one"
            )
        return found

    @property
    def source_association(self) -> Association:
        """Return the join model's association that reaches the target."""
        join_model = self.through_association.target
        names = [self.source] if self.source else unique([singularize(self.name), self.name])
        for name in names:
            found = associations(join_model).get(name)
            if found is not None:
                return found
        raise ModelDefinitionError(
            f"{self}: {join_model.__name__} has no association {' or '.join(map(repr, names))}; pass source="
        )

    @property
    def target(self) -> type[ActiveRecord]:
        if self._target is None:
            source = self.source_association
            if isinstance(source, BelongsTo) and source.polymorphic:
                raise ModelDefinitionError(
                    f"{self}: a polymorphic belongs_to cannot be the source of through"
                )
            self._target = source.target
        return self._target

    def _make_link(self) -> Link:
        through, source, target = self.through_association, self.source_association, self.target
        join_model = through.target
        table = join_model.table_name()
        if isinstance(source, BelongsTo):
            on = ex.Column(table, join_model.column_name(source.foreign_key)) == target.c[source.target_key(target)]
        elif isinstance(source, HasOwned):
            on = target.c[source.foreign_key] == ex.Column(table, join_model.column_name(source.owner_key))
            on = ex.And([on, *source.conditions()]) if source.as_ else on
        else:
            raise ModelDefinitionError(f"{self}: the source {source} cannot be nested in through")
        conditions = (*through.conditions(table), *join_model._default_scopes().values())
        return Link(table, join_model.column_name(through.foreign_key), on, tuple(conditions))

    def add(self, record: Any, items: Sequence[Any]) -> None:
        source = self.source_association
        if not isinstance(source, BelongsTo):
            raise TypeError(f"{self} is read-only: its source {source} is not a belongs_to")
        self._check_target(items)
        owner = self.through_association
        key = self._owner_key_value(record)
        rows = []
        for item in items:
            values = {
                owner.foreign_key: key,
                source.foreign_key: item.__dict__[source.target_key(self.target)],
            }
            if owner.as_:
                values[owner.foreign_type or ""] = polymorphic_name(self.model)
            rows.append(owner.target(**values))
        _in_transaction(self.model, [row.save for row in rows])
        relations(record).pop(owner.name, None)
        self._remember(record, added=items)

    def remove(self, record: Any, items: Sequence[Any]) -> None:
        source = self.source_association
        if not isinstance(source, BelongsTo):
            raise TypeError(f"{self} is read-only: its source {source} is not a belongs_to")
        owner = self.through_association
        join_model = owner.target
        keys = [item.__dict__[source.target_key(self.target)] for item in items]
        query = owner.query_for(record).where(join_model.c[source.foreign_key].in_(keys))
        rows = query.all()
        _in_transaction(self.model, [row.delete for row in rows])
        relations(record).pop(owner.name, None)
        self._remember(record, removed=items)


class ManyToMany(Linked):
    """``many_to_many("Tag")``: targets linked through a plain two-column join table."""

    def __init__(
        self,
        class_name: str | type[ActiveRecord] | None = None,
        *,
        join_table: str | None = None,
        foreign_key: str | None = None,
        target_key: str | None = None,
        order_by: Any = None,
        scope: Scope | None = None,
    ) -> None:
        super().__init__(class_name, order_by=order_by, scope=scope, foreign_key=foreign_key)
        self._join_table = join_table
        self._target_key = target_key

    @property
    def join_table(self) -> str:
        """Return the join table (default: both table names, sorted, joined by ``_``)."""
        return self._join_table or "_".join(
            sorted((self.model.table_name(), self.target.table_name()))
        )

    @property
    def foreign_key(self) -> str:
        """Return the join-table column holding the owner's key (default ``<owner>_id``)."""
        if self._foreign_key is not None and not isinstance(self._foreign_key, str):
            raise ModelDefinitionError(f"{self}: a many_to_many join column is one column, got {self._foreign_key!r}")
        return self._foreign_key or f"{underscore(self.model.__name__)}_id"

    @property
    def target_key(self) -> str:
        """Return the join-table column holding the target's key (default ``<target>_id``)."""
        key = self._target_key or f"{underscore(self.target.__name__)}_id"
        if key == self.foreign_key:
            raise ModelDefinitionError(
                f"{self}: both join columns would be {key!r}; pass foreign_key= and target_key="
            )
        return key

    def _make_link(self) -> Link:
        target = self.target
        on = ex.Column(self.join_table, self.target_key) == target.c[single_key(target)]
        return Link(self.join_table, self.foreign_key, on)

    def create_join_table(self, if_not_exists: bool = False) -> None:
        """Create the join table: both key columns, their foreign keys and a composite primary key."""
        columns = []
        for column, model in ((self.foreign_key, self.model), (self.target_key, self.target)):
            spec = model.metadata().columns[single_key(model)]
            columns.append(
                ColumnDef(
                    column,
                    spec.db_type,
                    nullable=False,
                    primary_key=True,
                    references=(model.table_name(), single_key(model)),
                    **spec.column.type_params(),
                )
            )
        self.model.backend().create_table(self.join_table, columns, if_not_exists=if_not_exists)

    def _param(self, model: Any, value: Any) -> Any:
        writer = model.metadata().writer(model.backend(), single_key(model))
        return writer(value) if writer is not None and value is not None else value

    def add(self, record: Any, items: Sequence[Any]) -> None:
        self._check_target(items)
        key = self._param(self.model, self._owner_key_value(record))
        existing = (
            set(
                self.query_for(record)
                .where(
                    self.target.c[single_key(self.target)].in_(
                        [i.__dict__[single_key(self.target)] for i in items]
                    )
                )
                .pluck(single_key(self.target))
            )
            if items
            else set()
        )
        new = unique(i for i in items if i.__dict__[single_key(self.target)] not in existing)
        if new:
            backend = self.model.backend()
            sql = backend.dialect.insert_sql(self.join_table, [self.foreign_key, self.target_key])
            rows = [
                [key, self._param(self.target, i.__dict__[single_key(self.target)])] for i in new
            ]
            _in_transaction(self.model, [partial(backend.execute_raw, sql, row) for row in rows])
        self._remember(record, added=items)

    def remove(self, record: Any, items: Sequence[Any]) -> None:
        key = self._param(self.model, self._owner_key_value(record))
        backend = self.model.backend()
        sql = backend.dialect.delete_sql(self.join_table, [self.foreign_key, self.target_key])
        rows = [
            [key, self._param(self.target, i.__dict__[single_key(self.target)])] for i in items
        ]
        _in_transaction(self.model, [partial(backend.execute_raw, sql, row) for row in rows])
        self._remember(record, removed=items)

    def delete_dependents(self, record: Any) -> None:
        """Delete the join rows of ``record`` (the linked records stay)."""
        backend = self.model.backend()
        key = self._param(self.model, record.__dict__.get(self.owner_key))
        backend.execute_raw(backend.dialect.delete_sql(self.join_table, [self.foreign_key]), [key])
        relations(record).pop(self.name, None)
