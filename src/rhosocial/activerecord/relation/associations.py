"""Association declarations: ``belongs_to``, ``has_one``, ``has_many`` and their resolution.

A declaration is a descriptor on the model class. Everything that needs the
other model (its class, keys, inverse) is worked out on first use, so models
may name each other before they exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import DeleteRestrictedError, ModelDefinitionError
from ..query import expressions as ex
from .counter_cache import ParentUpdates
from .descriptor import RelationDescriptor
from .keys import KeyFields, key_fields
from .registry import camelize, describe, polymorphic_name, resolve_model, singularize, underscore
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

DEPENDENT_ACTIONS = ("destroy", "delete_all", "nullify", "restrict")
Scope = Callable[["Query[Any]"], "Query[Any]"]


def associations(model: type) -> dict[str, Association]:
    """Return the associations declared on ``model`` and its ancestors, by name."""
    return model.metadata().associations  # type: ignore[attr-defined]


def association(model: type, name: str) -> Association:
    """Return association ``name`` of ``model``.

    Raises:
        ValueError: there is none (the message lists the ones there are).
    """
    found = associations(model).get(name)
    if found is None:
        known = ", ".join(associations(model)) or "none"
        raise ValueError(f"{model.__name__} has no association {name!r} (associations: {known})")
    return found


class Association(RelationDescriptor):
    """What every association knows: its name, owner model and target model."""

    collection: ClassVar[bool] = False
    to_many: ClassVar[bool] = False
    dependent: str | None = None

    def __init__(
        self,
        class_name: str | type[ActiveRecord] | None = None,
        *,
        foreign_key: str | tuple[str, ...] | None = None,
        inverse_of: str | None = None,
        scope: Scope | None = None,
    ) -> None:
        super().__init__()
        self.class_name = class_name
        self._foreign_key = foreign_key
        self._inverse_of = inverse_of
        self.scope = scope
        self.owner: type[ActiveRecord] | None = None
        self._target: type[ActiveRecord] | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner = owner
        self.name = name
        meta = owner.__dict__.get("__meta__")
        if meta is not None:
            meta.associations_changed()  # added after the class was made
            self.owner_ready(meta)

    def owner_ready(self, meta: Any) -> None:
        """Called once the owner class has its metadata (``ModelMetadata``); registers callbacks.

        Must not resolve the target model: it may not exist yet.
        """

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            return self.read(instance)
        except AttributeError as exc:  # would be masked by pydantic's __getattr__
            raise RuntimeError(f"{self}: {exc}") from exc

    def __set__(self, instance: Any, value: Any) -> None:
        self.write(instance, value)

    def __delete__(self, instance: Any) -> None:
        raise AttributeError(f"{self} cannot be deleted; assign None instead")

    def __repr__(self) -> str:
        owner = self.owner.__name__ if self.owner is not None else "?"
        return f"<{type(self).__name__} {owner}.{self.name}>"

    __str__ = __repr__

    # -- resolution ---------------------------------------------------------------

    @property
    def model(self) -> type[ActiveRecord]:
        """Return the model that declares this association."""
        if self.owner is None:
            raise ModelDefinitionError("An association must be declared in a model class body")
        return self.owner

    @property
    def target(self) -> type[ActiveRecord]:
        """Return the associated model class."""
        if self._target is None:
            self._target = resolve_model(self.class_name or self._default_class_name(), self.model)
        return self._target

    def _default_class_name(self) -> str:
        return camelize(singularize(self.name) if self.to_many else self.name)

    def _check_column(self, model: Any, column: Any, what: str) -> Any:
        for field in key_fields(column):
            if field not in model.model_fields:
                raise ModelDefinitionError(
                    f"{self}: {what} {field!r} is not a field of {model.__name__}; "
                    f"declare it (e.g. {field}: Optional[int] = None) or pass foreign_key="
                )
        return column

    def _check_widths(self, foreign: Any, target: Any) -> None:
        if len(key_fields(foreign)) != len(key_fields(target)):
            raise ModelDefinitionError(
                f"{self}: the foreign key {foreign!r} has {len(key_fields(foreign))} field(s) but the key it "
                f"points at, {target!r}, has {len(key_fields(target))}")

    def _scoped(self, query: Query[Any]) -> Query[Any]:
        return self.scope(query) if self.scope is not None else query

    # -- the interface the loaders use ----------------------------------------------

    def read(self, record: Any) -> Any:
        """Return the associated record(s), loading them on first use."""
        raise NotImplementedError

    def write(self, record: Any, value: Any) -> None:
        """Assign ``value`` to the association of ``record``."""
        raise AttributeError(f"{self} cannot be assigned; use its add() and remove()")

    def preload(self, records: Sequence[Any], base: Query[Any] | None = None) -> list[Any]:
        """Load this association for all ``records`` in batches; return the loaded records.

        ``base``, a query over the target, narrows (and may order) what is
        loaded: a filtered include (``includes(posts=Post.where(...))``).
        """
        raise NotImplementedError

    def check_restrict(self, record: Any) -> None:
        """Raise if ``dependent='restrict'`` forbids deleting ``record``."""

    def delete_dependents(self, record: Any) -> None:
        """Apply the ``dependent`` action before ``record``'s row is deleted."""


class BelongsTo(Association):
    """The owner row holds the key: ``Post.author_id -> User.id``."""

    def __init__(
        self,
        class_name: str | type[ActiveRecord] | None = None,
        *,
        foreign_key: str | tuple[str, ...] | None = None,
        primary_key: str | tuple[str, ...] | None = None,
        inverse_of: str | None = None,
        polymorphic: bool = False,
        foreign_type: str | None = None,
        scope: Scope | None = None,
        counter_cache: bool | str = False,
        touch: bool | str = False,
    ) -> None:
        super().__init__(class_name, foreign_key=foreign_key, inverse_of=inverse_of, scope=scope)
        #: Keeps the parent's counter (``counter_cache=``) and ``updated_at`` (``touch=``) right.
        self.parent_updates = ParentUpdates(self, counter_cache, touch) if (counter_cache or touch) else None
        if polymorphic and class_name is not None:
            raise ModelDefinitionError(
                "A polymorphic belongs_to names no class: the type column does"
            )
        self.polymorphic = polymorphic
        self._primary_key = primary_key
        self._foreign_type = foreign_type
        self._types: dict[str, type[ActiveRecord]] = {}
        self._inverses: dict[type, list[HasOwned]] = {}
        self._key_fields: dict[type, tuple[KeyFields, KeyFields]] = {}

    def owner_ready(self, meta: Any) -> None:
        if self.parent_updates is not None:
            self.parent_updates.register(meta)

    @property
    def foreign_key(self) -> Any:
        """Return the owner's field holding the target's key (default ``<name>_id``; a tuple for a composite key)."""
        return self._check_column(self.model, self._foreign_key or f"{self.name}_id", "foreign key")

    def keys_for(self, target: type) -> tuple[KeyFields, KeyFields]:
        """The owner's foreign key fields and the target's fields they point at."""
        found = self._key_fields.get(target)
        if found is None:
            foreign, aimed = self.foreign_key, self.target_key(target)
            self._check_widths(foreign, aimed)
            found = self._key_fields[target] = (KeyFields(foreign), KeyFields(aimed))
        return found

    @property
    def foreign_type(self) -> str:
        """Return the polymorphic type column (default ``<name>_type``)."""
        return self._check_column(
            self.model, self._foreign_type or f"{self.name}_type", "type column"
        )

    def target_key(self, target: type) -> Any:
        """Return the target field(s) the foreign key points at (its primary key by default)."""
        return self._primary_key or target.primary_key()  # type: ignore[attr-defined]

    def target_for(self, record: Any) -> type[ActiveRecord] | None:
        """Return the model ``record`` points at (read from the type column if polymorphic)."""
        if not self.polymorphic:
            return self.target
        type_name = record.__dict__.get(self.foreign_type)
        if type_name is None:
            return None
        model = self._types.get(type_name)
        if model is None:
            model = self._types[type_name] = resolve_model(type_name, self.model)
        return model

    @property
    def target(self) -> type[ActiveRecord]:
        if self.polymorphic:
            raise ModelDefinitionError(
                f"{self} is polymorphic: its model depends on each record's type column"
            )
        return super().target

    def inverses(self, target: type) -> list[HasOwned]:
        """Return the has_one/has_many associations of ``target`` that this one mirrors."""
        found = self._inverses.get(target)
        if found is None:
            found = self._inverses[target] = self._find_inverses(target)
        return found

    def _find_inverses(self, target: type) -> list[HasOwned]:
        found = []
        for other in associations(target).values():
            if isinstance(other, HasOwned):
                try:
                    if other.target is self.model and self.name in other.inverse_names():
                        found.append(other)
                except ModelDefinitionError:
                    continue
        return found

    def _target_is(self, model: type) -> bool:
        try:
            return self.target is model
        except ModelDefinitionError:
            return False

    def _foreign_key_name(self) -> Any:
        return self._foreign_key or f"{self.name}_id"

    def _cached(self, record: Any, key: Any) -> tuple[bool, Any]:
        cache = relations(record)
        if self.name not in cache:
            return False, None
        value = cache[self.name]
        if value is None:
            return key is None, None
        fresh = self.keys_for(type(value))[1].read(value) == key
        if fresh and self.polymorphic:
            fresh = polymorphic_name(type(value)) == record.__dict__.get(self.foreign_type)
        return fresh, value

    def read(self, record: Any) -> Any:
        target = self.target_for(record)
        key = self.keys_for(target)[0].read(record) if target is not None else None
        hit, value = self._cached(record, key)
        if hit:
            return value
        if target is None or key is None:
            relations(record)[self.name] = None
            return None
        check_lazy_load(record, self.name)
        rows = (
            self._scoped(target.query())
            .where(self.keys_for(target)[1].equals(target, key))
            .limit(1)
            .all()
        )
        value = rows[0] if rows else None
        relations(record)[self.name] = value
        if value is not None:
            self._set_inverse(record, value)
        return value

    def write(self, record: Any, value: Any) -> None:
        if value is None:
            KeyFields(self.foreign_key).assign(record, None)
            if self.polymorphic:
                setattr(record, self.foreign_type, None)
            relations(record)[self.name] = None
            return
        target = type(value) if self.polymorphic else self.target
        if not isinstance(value, target):
            raise TypeError(f"{self} takes a {target.__name__} record, got {value!r}")
        foreign, aimed = self.keys_for(target)
        key = aimed.read(value)
        if key is None:
            raise ValueError(
                f"Save the {target.__name__} before assigning it to {self}: it has no key yet"
            )
        foreign.assign(record, key)
        if self.polymorphic:
            setattr(record, self.foreign_type, polymorphic_name(target))
        relations(record)[self.name] = value
        self._set_inverse(record, value)

    def _set_inverse(self, record: Any, value: Any) -> None:
        for inverse in self.inverses(type(value)):
            if isinstance(inverse, HasOne):
                relations(value)[inverse.name] = record

    def preload(self, records: Sequence[Any], base: Query[Any] | None = None) -> list[Any]:
        groups: dict[type, list[Any]] = {}
        keyed: list[tuple[Any, type, Any]] = []
        for record in records:
            target = self.target_for(record)
            key = self.keys_for(target)[0].read(record) if target is not None else None
            if target is None or key is None:
                relations(record)[self.name] = None
            else:
                groups.setdefault(target, []).append(key)
                keyed.append((record, target, key))
        found: dict[tuple[type, Any], Any] = {}
        for target, keys in groups.items():
            aimed = self.keys_for(target)[1]
            for batch in chunks(unique(keys), max(1, in_batch_size(target) // len(aimed))):
                start = base if base is not None and base.model is target else target.query()
                for row in self._scoped(start).where(aimed.within(target, batch)).all():
                    found[(target, aimed.read(row))] = row
        for record, target, key in keyed:
            value = found.get((target, key))
            relations(record)[self.name] = value
            if value is not None:
                self._set_inverse(record, value)
        return list(found.values())


class HasOwned(Association):
    """Shared part of has_one and has_many: the target row holds the owner's key."""

    def __init__(
        self,
        class_name: str | type[ActiveRecord] | None = None,
        *,
        foreign_key: str | tuple[str, ...] | None = None,
        primary_key: str | tuple[str, ...] | None = None,
        inverse_of: str | None = None,
        as_: str | None = None,
        dependent: str | None = None,
        order_by: Any = None,
        scope: Scope | None = None,
    ) -> None:
        super().__init__(class_name, foreign_key=foreign_key, inverse_of=inverse_of, scope=scope)
        if dependent is not None and dependent not in DEPENDENT_ACTIONS:
            raise ModelDefinitionError(
                f"dependent must be one of {', '.join(DEPENDENT_ACTIONS)}, got {dependent!r}"
            )
        self.dependent = dependent
        self._primary_key = primary_key
        self.as_ = as_
        self.order = (
            order_by if isinstance(order_by, (tuple, list)) else ((order_by,) if order_by else ())
        )
        self._resolved_fk: Any = None
        self._inverse_names: list[str] | None = None
        self._keys: tuple[KeyFields, KeyFields] | None = None

    @property
    def owner_key(self) -> Any:
        """Return the owner's field(s) the foreign key holds (its primary key by default)."""
        return self._primary_key or self.model.primary_key()

    @property
    def foreign_key(self) -> Any:
        """Return the target's field(s) holding the owner's key, inferred when not given."""
        if self._resolved_fk is None:
            self._resolved_fk = self._infer_foreign_key()
        return self._resolved_fk

    @property
    def keys(self) -> tuple[KeyFields, KeyFields]:
        """The owner's key fields and the target's fields holding them."""
        found = self._keys
        if found is None:
            owner, foreign = self.owner_key, self.foreign_key
            self._check_widths(foreign, owner)
            found = self._keys = (KeyFields(owner), KeyFields(foreign))
        return found

    def _infer_foreign_key(self) -> Any:
        target = self.target
        if self._foreign_key:
            return self._check_column(target, self._foreign_key, "foreign key")
        if not isinstance(self.owner_key, str):
            raise ModelDefinitionError(
                f"{self}: {self.model.__name__} has the composite key {self.owner_key}; name the "
                f"{target.__name__} fields that hold it with foreign_key=(...)")
        if self.as_:
            return self._check_column(target, f"{self.as_}_id", "foreign key")
        if self._inverse_of:
            inverse = association(target, self._inverse_of)
            if not isinstance(inverse, BelongsTo):
                raise ModelDefinitionError(
                    f"{self}: inverse_of={self._inverse_of!r} is not a belongs_to"
                )
            return inverse.foreign_key
        default = f"{underscore(self.model.__name__)}_id"
        candidates = [
            a
            for a in associations(target).values()
            if isinstance(a, BelongsTo) and not a.polymorphic and a._target_is(self.model)
        ]
        keys = unique(a.foreign_key for a in candidates)
        if default in target.model_fields or default in keys:
            return default
        if len(keys) == 1:
            return keys[0]
        hint = f" (candidates: {', '.join(keys)})" if keys else ""
        raise ModelDefinitionError(
            f"{self}: cannot tell which column of {target.__name__} points at {self.model.__name__}{hint}; "
            f"pass foreign_key="
        )

    @property
    def foreign_type(self) -> str | None:
        """Return the target's polymorphic type column, for ``as_=`` associations."""
        if not self.as_:
            return None
        return self._check_column(self.target, f"{self.as_}_type", "type column")

    def inverse_names(self) -> list[str]:
        """Return the names of the target's belongs_to associations that point back here."""
        if self._inverse_names is None:
            self._inverse_names = self._find_inverses()
        return self._inverse_names

    def _find_inverses(self) -> list[str]:
        target = self.target
        if self._inverse_of:
            return [self._inverse_of]
        if self.as_:
            return [self.as_] if self.as_ in associations(target) else []
        fk = self.foreign_key
        return [
            a.name
            for a in associations(target).values()
            if isinstance(a, BelongsTo)
            and not a.polymorphic
            and a._foreign_key_name() == fk
            and a._target_is(self.model)
        ]

    def conditions(self, table: str | None = None) -> list[ex.Expr]:
        """Return the target-side conditions other than the key (the polymorphic type)."""
        if not self.as_:
            return []
        target = self.target
        column = ex.Column(table or target.table_name(), target.column_name(self.foreign_type or ""))
        return [column == polymorphic_name(self.model)]

    def query_for(self, record: Any) -> Query[Any]:
        """Return the query of the target records that belong to ``record``."""
        target = self.target
        owner, foreign = self.keys
        key = owner.read(record)
        if key is None:
            return self._scoped(target.query().where(ex.Raw("1 = 0")))  # no key yet: nothing belongs to it
        query = target.query().where(foreign.equals(target, key), *self.conditions())
        return self._scoped(query)

    def _ordered(self, query: Query[Any]) -> Query[Any]:
        if query.ordering:
            return query
        return (
            query.order_by(*self.order) if self.order else query.order_by(*self.target.primary_key_fields())
        )

    def _set_inverse(self, owner: Any, children: Sequence[Any]) -> None:
        names = self.inverse_names()
        if names:
            for child in children:
                cache = relations(child)
                for name in names:
                    cache[name] = owner

    def _load(self, record: Any) -> list[Any]:
        if self.keys[0].read(record) is None:
            return []
        check_lazy_load(record, self.name)
        query = self._ordered(self.query_for(record))
        children = query.limit(1).all() if not self.collection else query.all()
        self._set_inverse(record, children)
        return children

    def preload(self, records: Sequence[Any], base: Query[Any] | None = None) -> list[Any]:
        target = self.target
        start = target.query() if base is None else base
        owner, foreign = self.keys
        groups: dict[Any, list[Any]] = {}
        keys = unique(owner.read(r) for r in records)
        for batch in chunks(keys, max(1, in_batch_size(target) // len(foreign))):
            query = start.where(foreign.within(target, batch), *self.conditions())
            for child in self._ordered(self._scoped(query)).all():
                key = foreign.read(child)
                group = groups.get(key)
                if group is None:
                    groups[key] = [child]
                else:
                    group.append(child)
        loaded: list[Any] = []
        done: set[Any] = set()  # owner keys whose children are in ``loaded`` (records may share a key)
        for record in records:
            key = owner.read(record)
            children = groups.get(key, []) if key is not None else []
            if not self.collection:
                children = children[:1]
            relations(record)[self.name] = (
                list(children) if self.collection else (children[0] if children else None)
            )
            self._set_inverse(record, children)
            if key not in done:
                done.add(key)
                loaded.extend(children)
        return loaded

    def check_restrict(self, record: Any) -> None:
        if self.dependent == "restrict" and self.query_for(record).exists():
            raise DeleteRestrictedError(
                f"Cannot delete {describe(record)}: its {self.name} still exist "
                f"({self} has dependent='restrict'); delete or reassign them first",
                record,
                self.name,
            )

    def delete_dependents(self, record: Any) -> None:
        action = self.dependent
        if action is None or action == "restrict":
            return
        query = self.query_for(record)
        if action == "destroy":
            for child in self._ordered(query).all():
                child.delete()
        elif action == "delete_all":
            query.delete_all()
        else:
            values: dict[str, Any] = dict.fromkeys(self.keys[1].fields)
            if self.as_:
                values[self.foreign_type or ""] = None
            query.update_all(**values)
        relations(record).pop(self.name, None)

    def _attach(self, record: Any, child: Any) -> None:
        owner, foreign = self.keys
        key = owner.read(record)
        if key is None:
            raise ValueError(f"Save {describe(record)} before adding to {self}: it has no key yet")
        if not isinstance(child, self.target):
            raise TypeError(f"{self} takes {self.target.__name__} records, got {child!r}")
        foreign.assign(child, key)
        if self.as_:
            setattr(child, self.foreign_type or "", polymorphic_name(self.model))

    def _detach(self, child: Any) -> None:
        self.keys[1].assign(child, None)
        if self.as_:
            setattr(child, self.foreign_type or "", None)
        cache = relations(child)
        for name in self.inverse_names():
            cache.pop(name, None)


class HasOne(HasOwned):
    """The target row holds the owner's key, and there is at most one: ``User.profile``."""

    def read(self, record: Any) -> Any:
        cache = relations(record)
        if self.name in cache:
            return cache[self.name]
        found = self._load(record)
        value = cache[self.name] = found[0] if found else None
        return value

    def write(self, record: Any, value: Any) -> None:
        if value is not None:
            self._attach(record, value)
        previous = [r for r in self.query_for(record).all() if value is None or r != value]
        backend = self.model.backend()
        with backend.transaction():
            for old in previous:
                if self.dependent in ("destroy", "delete_all"):
                    old.delete()
                else:
                    self._detach(old)
                    old.save()
            if value is not None:
                value.save()
        relations(record)[self.name] = value
        if value is not None:
            self._set_inverse(record, [value])


class HasMany(HasOwned):
    """The target rows hold the owner's key: ``User.posts``; reads return a collection."""

    collection = True
    to_many = True

    def read(self, record: Any) -> Any:
        from .collection import CollectionProxy

        return CollectionProxy(record, self)

    def load(self, record: Any) -> list[Any]:
        """Return the cached records, loading them on first use."""
        cache = relations(record)
        found = cache.get(self.name)
        if found is None:
            forget(record, self.name)  # a full load: no longer filtered
            found = cache[self.name] = self._load(record)
        return found

    def add(self, record: Any, children: Sequence[Any]) -> None:
        """Point each child's key at ``record`` and save it."""
        for child in children:
            self._attach(record, child)
        _in_transaction(self.model, [child.save for child in children])
        self._set_inverse(record, children)
        if is_filtered(record, self.name):
            forget(record, self.name)  # whether the new children pass the filter is the database's to say
        elif is_loaded(record, self.name):
            loaded = relations(record)[self.name]
            loaded.extend(c for c in children if c not in loaded)

    def remove(self, record: Any, children: Sequence[Any]) -> None:
        """Set each child's key to NULL and save it."""
        owner, foreign = self.keys
        key = owner.read(record)
        for child in children:
            if foreign.read(child) != key:
                raise ValueError(f"{describe(child)} is not in {describe(record)}.{self.name}")
            self._detach(child)
        _in_transaction(self.model, [child.save for child in children])
        if is_filtered(record, self.name):
            forget(record, self.name)
        elif is_loaded(record, self.name):
            relations(record)[self.name] = [
                c for c in relations(record)[self.name] if c not in children
            ]

    def create(self, record: Any, attributes: dict[str, Any]) -> Any:
        """Build a child pointing at ``record`` and save it."""
        child = self.build(record, attributes)
        self.add(record, [child])
        return child

    def build(self, record: Any, attributes: dict[str, Any]) -> Any:
        """Return a new, unsaved child pointing at ``record``."""
        owner, foreign = self.keys
        key = owner.read(record)
        if key is not None:  # given at construction: a required foreign key field validates
            attributes = {**attributes, **foreign.values(key)}
        child = self.target(**attributes)
        self._attach(record, child)
        self._set_inverse(record, [child])
        return child


def _in_transaction(model: Any, steps: Sequence[Callable[[], Any]]) -> None:
    """Run ``steps``: one under save()'s own rules, several in one transaction."""
    if len(steps) == 1:
        steps[0]()
    elif steps:
        with model.backend().transaction():
            for step in steps:
                step()
