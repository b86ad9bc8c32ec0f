"""``ActiveRecord``: a pydantic model that is also a row of a table."""
from __future__ import annotations

import copy
import logging
import re
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Optional, Sequence, TypeVar

import pydantic
from pydantic import ConfigDict, PrivateAttr

try:  # how pydantic finds the names around a class statement (see ActiveRecordMeta.__new__)
    from pydantic._internal._model_construction import build_lenient_weakvaluedict as _lenient_namespace
    from pydantic._internal._typing_extra import parent_frame_namespace as _parent_frame_namespace
except ImportError:  # pragma: no cover - a pydantic that moved them keeps its own (off by one) lookup
    _parent_frame_namespace = None  # type: ignore[assignment]

try:  # pydantic's generic private-attribute setup, replaced per class below
    from pydantic._internal._model_construction import init_private_attributes as _pydantic_private_init
except ImportError:  # pragma: no cover - a pydantic that moved it keeps its own handling
    _pydantic_private_init = None  # type: ignore[assignment]

from ..backend.base import StorageBackend
from ..backend.errors import DatabaseError, DataError, DeadlockError, NotSupportedError, SerializationError
from ..backend.typing import IsolationLevel, TableName
from ..config import backend_from_settings, get_default_backend
from ..errors import (
    ModelDefinitionError,
    MultipleRecordsFound,
    ReadOnlyRecordError,
    RecordInvalid,
    RecordNotFound,
    StaleObjectError,
    UnloadedFieldError,
)
from ..query import expressions as ex
from ..query.query import Query
from ..relation import dependent as _relation_dependent
from ..relation import loading as _relation_loading
from ..relation.descriptor import RelationDescriptor
from . import bulk as _bulk
from .asynchronous import AsyncRecordMethods, settled as _settled
from .counters import CounterMethods
from .events import EVENTS, CallbackRegistry
from .fields import ColumnSpec, resolve_column
from .metadata import ModelMetadata, metadata_of
from .schema import IMMUTABLE_DEFAULTS, ModelSchema
from .validation import ValidationMethods, leave_uniqueness_to_the_database as _leave_uniqueness_to_the_database

T = TypeVar("T", bound="ActiveRecord")
R = TypeVar("R")

# What save() runs validate_record() and the validation hooks for (see CallbackRegistry.active).
_VALIDATION_HOOKS = ("before_validate", "validate_record", "after_validate")
# Hooks that make save() run in a transaction (the hooks, the write and the after-hooks together).
_SAVE_HOOKS = frozenset(("before_validate", "after_validate", "before_save", "after_save",
                         "before_create", "after_create", "before_update", "after_update"))
_DELETE_HOOKS = frozenset(("before_delete", "after_delete"))
_log = logging.getLogger("rhosocial.activerecord.model")
# Levels whose transactions read one snapshot: a row committed after it began stays unseen.
_SNAPSHOT_LEVELS = frozenset((IsolationLevel.REPEATABLE_READ, IsolationLevel.SERIALIZABLE))

if TYPE_CHECKING:
    from pydantic._internal._model_construction import ModelMetaclass as _ModelMetaclass
else:
    _ModelMetaclass = type(pydantic.BaseModel)


class _IntegerPrimaryKey(pydantic.BaseModel):
    """The default key: an auto-increment integer ``id``, ``None`` until saved."""

    id: Optional[int] = None


class ActiveRecordMeta(_ModelMetaclass):
    """Adds the default ``id`` key and gives classes their ``c`` column namespace."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        if bases and not namespace.get("__abstract__", False) and _needs_default_pk(bases, namespace):
            bases = bases + (_IntegerPrimaryKey,)
        if _parent_frame_namespace is not None and "__pydantic_reset_parent_namespace__" not in kwargs:
            # pydantic reads the names around the class statement from the frame two levels
            # up from its own __new__: this metaclass adds a level, so hand it the right ones
            # (a model defined in a function, under postponed annotations, needs them).
            namespace["__pydantic_parent_namespace__"] = _lenient_namespace(_parent_frame_namespace(parent_depth=2))
            kwargs["__pydantic_reset_parent_namespace__"] = False
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        type.__setattr__(cls, "__meta__", ModelMetadata(cls))  # everything worked out about the class
        if "__abstract__" not in namespace:
            type.__setattr__(cls, "__abstract__", False)
        _install_private_init(cls)
        if not cls.__dict__["__abstract__"] and getattr(cls, "__pydantic_complete__", False):
            cls._column_specs()  # type: ignore[attr-defined]  # a field no column can store fails here
        return cls

    @property
    def c(cls) -> "ColumnNamespace":
        """The model's columns as query expressions: ``User.c.age >= 18``."""
        return metadata_of(cls).namespace


_private_slot = pydantic.BaseModel.__dict__["__pydantic_private__"].__get__
_set_private_slot = pydantic.BaseModel.__dict__["__pydantic_private__"].__set__


def _install_private_init(cls: type) -> None:
    """Fill ``__pydantic_private__`` from a precomputed dict on every construction.

    Pydantic's own ``model_post_init`` resolves each private attribute's
    default anew for every instance, a fifth of the cost of building a record.
    When every private default is a plain immutable value (no factory) and no
    class defines its own ``model_post_init``, a copy of the defaults is the
    same result. Anything else keeps pydantic's handling.
    """
    current = cls.__dict__.get("model_post_init")
    if current is None or _pydantic_private_init is None:
        return
    if current is not _pydantic_private_init and not getattr(
        getattr(current, "__wrapped__", None), "__rhosocial_private_init__", False
    ):
        return
    defaults: dict[str, Any] = {}
    for attr_name, attr in (cls.__private_attributes__ or {}).items():  # type: ignore[attr-defined]
        if attr.default_factory is not None or not isinstance(attr.default, IMMUTABLE_DEFAULTS):
            return
        defaults[attr_name] = attr.default

    def model_post_init(self: Any, context: Any, /) -> None:
        try:
            # the slot itself: getattr() on an unset slot would run __getattr__ (two more exceptions)
            private = _private_slot(self)
        except AttributeError:
            private = None
        if private is None:
            _set_private_slot(self, defaults.copy())

    model_post_init.__rhosocial_private_init__ = True  # type: ignore[attr-defined]
    model_post_init.__qualname__ = f"{cls.__qualname__}.model_post_init"
    type.__setattr__(cls, "model_post_init", model_post_init)


def _changed_names(values: dict[str, Any], original: dict[str, Any]) -> list[str]:
    """Return the fields whose value differs from the database state ``original``.

    A field the record was loaded without, and then set, counts as changed.
    """
    try:
        return [k for k, v in values.items() if v is not original[k] and v != original[k]]
    except KeyError:  # loaded without some field, then given it
        return [k for k, v in values.items() if (o := original.get(k, _UNSET)) is _UNSET or (v is not o and v != o)]


_UNSET = object()


def _needs_default_pk(bases: tuple[type, ...], namespace: dict[str, Any]) -> bool:
    pk = namespace.get("__primary_key__") or next(
        (getattr(b, "__primary_key__") for b in bases if hasattr(b, "__primary_key__")), "id")
    if pk != "id":
        return False
    if "id" in namespace.get("__annotations__", {}):
        return False
    return not any("id" in getattr(b, "model_fields", {}) for b in bases)


class ColumnNamespace:
    """Attribute access to a model's columns (``User.c.name``, ``User.c["name"]``)."""

    def __init__(self, model: type["ActiveRecord"], table: str | None = None) -> None:
        self._model = model
        #: The name the columns are qualified by: the table's, or an alias (``Model.aliased``).
        self._table = table
        self._columns: dict[str, ex.Column] = {}

    def __getitem__(self, name: str) -> ex.Column:
        column = self._columns.get(name)
        if column is None:
            specs = self._model._column_specs()
            spec = specs.get(name)
            if spec is None:
                mapped = next((s.name for s in specs.values() if s.column_name == name), None)
                hint = f" ({name!r} is the column of field {mapped!r}: use the field's name)" if mapped else ""
                raise AttributeError(
                    f"{self._model.__name__} has no field {name!r}{hint}; fields: {', '.join(specs)}"
                )
            column = ex.Column(self._table or self._model.table_name(), spec.column_name, spec.db_type, spec.to_db,
                               spec.check, spec.column.item_type, self._model)
            self._columns[name] = column
        return column

    def __getattr__(self, name: str) -> ex.Column:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[ex.Column]:
        return (self[n] for n in self._model._column_specs())


class AliasedModel:
    """A model under another name in one query, for self-joins: ``Manager = Employee.aliased("manager")``.

    ``Manager.c.<field>`` are the model's columns qualified by the alias,
    typed and checked like ``Employee.c``; ``join(Manager, ...)`` joins the
    table under the alias.
    """

    def __init__(self, model: type["ActiveRecord"], alias: str) -> None:
        if not isinstance(alias, str) or not alias:
            raise ValueError(f"An alias is a non-empty name, got {alias!r}")
        self.model = model
        self.alias_name = alias
        self.c = ColumnNamespace(model, alias)

    def table_name(self) -> Any:
        """The aliased model's table."""
        return self.model.table_name()

    def __repr__(self) -> str:
        return f"<{self.model.__name__} as {self.alias_name!r}>"


def scope(function: Callable[..., Query[Any]]) -> Any:
    """Declare a reusable named scope: ``User.adults()`` and ``User.query().adults()``.

    The function takes a query (and any arguments) and returns a refined query.
    """

    def apply(cls: type["ActiveRecord"], *args: Any, **kwargs: Any) -> Query[Any]:
        return function(cls.query(), *args, **kwargs)

    apply.__rhosocial_scope__ = function  # type: ignore[attr-defined]
    apply.__name__ = function.__name__
    apply.__doc__ = function.__doc__
    return classmethod(apply)


def _default_table_name(class_name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", class_name).lower()
    return _pluralize(snake)


def _pluralize(word: str) -> str:
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


class ActiveRecord(CounterMethods, ValidationMethods, AsyncRecordMethods, pydantic.BaseModel,
                   metaclass=ActiveRecordMeta):
    """Base class of persistent models.

    Declare fields as pydantic annotations; ``__tablename__`` names the table
    (default: the snake_case plural of the class name) and ``__primary_key__``
    the key column (default ``id``, an auto-increment integer added for you).
    """

    # populate_by_name: a field with a pydantic alias (its name in JSON) still takes its own name.
    model_config = ConfigDict(validate_assignment=True, extra="forbid", revalidate_instances="never",
                              ignored_types=(RelationDescriptor,), populate_by_name=True)

    __abstract__: ClassVar[bool] = True
    __tablename__: ClassVar[str]
    __primary_key__: ClassVar[str | tuple[str, ...]] = "id"
    __backend__: ClassVar[StorageBackend | None] = None
    __lock_column__: ClassVar[str | None] = None
    __strict_loading__: ClassVar[bool] = False
    #: The schema (PostgreSQL), database (MySQL/MariaDB) or attached database (SQLite) of the table.
    __table_schema__: ClassVar[str | None] = None

    _original: Optional[dict] = PrivateAttr(default=None)
    _relations: Optional[dict] = PrivateAttr(default=None)

    if TYPE_CHECKING:
        # Always set for records (the loader and __init__ fill it); pydantic types it Optional.
        __pydantic_private__: dict[str, Any]
        # The default key the metaclass adds; declared here so type checkers see it.
        id: Any
    else:

        def __getattr__(self, item: str) -> Any:
            # Loaded records leave pydantic's fields set unset until first use (the
            # loader skips building a set per record): every field was set.
            if item == "__pydantic_fields_set__":
                fields = set(type(self).model_fields) - self.__pydantic_private__.get("_unloaded", set())
                object.__setattr__(self, item, fields)
                return fields
            try:
                private = object.__getattribute__(self, "__pydantic_private__")
            except AttributeError:
                private = None
            if private is not None:
                if item in private.get("_unloaded", ()):
                    raise UnloadedFieldError(
                        f"{type(self).__name__}.{item} was not loaded: the query that loaded this record "
                        f"did not select it. Select it too, or call refresh() to load every field")
                annotations = private.get("_annotations")
                if annotations is not None and item in annotations:
                    return annotations[item]
            return super().__getattr__(item)

    # -- class configuration -------------------------------------------------

    @classmethod
    def configure(cls, backend: "str | StorageBackend | None" = None, **settings: Any) -> StorageBackend:
        """Give this model (and its subclasses) its own backend instead of the default."""
        instance = backend_from_settings(backend, **settings)
        type.__setattr__(cls, "__backend__", instance)
        return instance

    @classmethod
    def backend(cls) -> StorageBackend:
        """Return the backend this model uses: its own, an ancestor's, or the default."""
        return cls.__backend__ or get_default_backend()

    @classmethod
    def table_name(cls) -> str:
        """Return the table name: ``__tablename__`` or the snake_case plural of the class name.

        With ``__table_schema__`` it is a :class:`~rhosocial.activerecord.backend.TableName`
        (a ``str``, ``"schema.table"``) that SQL quotes as ``"schema"."table"``.
        """
        name = cls.__dict__.get("__tablename__")
        if name is None:
            name = _default_table_name(cls.__name__)
            type.__setattr__(cls, "__tablename__", name)
        schema = cls.__table_schema__
        if schema is not None:
            return TableName(name, schema)  # quoted as "schema"."table"
        return name

    @classmethod
    def primary_key(cls) -> Any:
        """Return the primary key field's name, or a tuple of names for a composite key."""
        return cls.__primary_key__

    @classmethod
    def primary_key_fields(cls) -> tuple[str, ...]:
        """Return the primary key's fields, in key order (one for a single key)."""
        pk = cls.__primary_key__
        return (pk,) if isinstance(pk, str) else tuple(pk)

    @classmethod
    def column_name(cls, field: str) -> str:
        """Return the database column of ``field`` (its own name unless ``Field(column=...)``).

        Raises:
            AttributeError: the model has no such field.
        """
        return cls.c[field].name

    @classmethod
    def metadata(cls) -> ModelMetadata:
        """What the ORM knows about this model: table, columns, key, associations, scopes, callbacks."""
        return cls.__dict__["__meta__"]

    @classmethod
    def _column_specs(cls) -> dict[str, ColumnSpec]:
        return cls.__dict__["__meta__"].columns

    @classmethod
    def _resolve_columns(cls) -> dict[str, ColumnSpec]:
        """Work out every field's column (once, for :attr:`ModelMetadata.columns`)."""
        if cls.__abstract__:
            raise ModelDefinitionError(f"{cls.__name__} is abstract and has no table")
        keys = cls.__primary_key__
        if not (isinstance(keys, str) or (isinstance(keys, tuple) and keys and
                                          all(isinstance(k, str) for k in keys))):
            raise ModelDefinitionError(
                f"{cls.__name__}: __primary_key__ must be a field name or a tuple of them, got {keys!r}")
        for key in cls.primary_key_fields():
            if key not in cls.model_fields:
                raise ModelDefinitionError(f"{cls.__name__}: primary key {key!r} is not a field")
        if len(set(cls.primary_key_fields())) != len(cls.primary_key_fields()):
            raise ModelDefinitionError(f"{cls.__name__}: primary key {keys!r} names a field twice")
        specs = {name: resolve_column(name, info, cls.primary_key_fields())
                 for name, info in cls.model_fields.items()}
        for spec in specs.values():
            spec.model = cls.__name__
        return specs

    @classmethod
    def _schema(cls) -> ModelSchema:
        backend = cls.__backend__ or get_default_backend()
        meta = cls.__meta__  # type: ignore[attr-defined]  # set on every model class by the metaclass
        schema = meta._schema
        if schema is None or schema.backend is not backend:
            schema = meta.schema(backend)
        return schema

    @classmethod
    def _default_scopes(cls) -> dict[str, ex.Expr]:
        """Return the named conditions every query of this model gets (see ``unscoped``)."""
        return {}

    @classmethod
    def _named_scopes(cls) -> dict[str, Callable[..., Query[Any]]]:
        return cls.__dict__["__meta__"].scopes

    @classmethod
    def _soft_delete_values(cls) -> dict[str, Any] | None:
        """Return the column values that mark a row deleted, or ``None`` for hard deletes."""
        return None

    # -- events --------------------------------------------------------------

    @classmethod
    def on(cls, event: str, callback: Callable[["ActiveRecord"], Any] | None = None) -> Any:
        """Register ``callback(record)`` for ``event`` (also usable as a decorator)."""
        if callback is None:
            return lambda fn: cls.on(event, fn)
        CallbackRegistry.add(cls, event, callback)
        return callback

    def _fire(self, event: str) -> None:
        result = getattr(self, event)()
        if result is not None:  # an async def hook returned its coroutine
            _settled(result, self, event)
        for callback in CallbackRegistry.callbacks(type(self), event):
            result = callback(self)
            if result is not None:
                _settled(result, self, event)

    def before_validate(self) -> None:
        """Run before validation at save."""

    def after_validate(self) -> None:
        """Run after validation at save."""

    def before_save(self) -> None:
        """Run before every insert or update; raising aborts the write."""

    def after_save(self) -> None:
        """Run after every insert or update, inside the same transaction."""

    def before_create(self) -> None:
        """Run before an insert; raising aborts it."""

    def after_create(self) -> None:
        """Run after an insert."""

    def before_update(self) -> None:
        """Run before an update; raising aborts it."""

    def after_update(self) -> None:
        """Run after an update."""

    def before_delete(self) -> None:
        """Run before a delete; raising aborts it."""

    def after_delete(self) -> None:
        """Run after a delete."""

    def after_commit(self) -> None:
        """Run once the transaction that saved or deleted this record commits.

        Outside a transaction, right after the write. Never after a rollback;
        an exception here is logged and the committed data stays.
        """

    def after_rollback(self) -> None:
        """Run when the transaction (or savepoint) that wrote this record rolls back.

        The record has already returned to its state before that write.
        """

    def validate_record(self) -> dict[str, list[str]] | None:
        """Check rules that span fields or need the database; return ``{field: [messages]}``.

        Field types and pydantic validators already ran when values were set;
        this runs at every ``save()`` and ``is_valid()``. Any returned error
        aborts the save with :class:`RecordInvalid`. ``self.validation_context``
        says which validation runs (``"create"``, ``"update"``, your own).
        """
        return None

    # -- state ---------------------------------------------------------------

    @property
    def is_new_record(self) -> bool:
        """Whether this record has not been saved (or loaded) yet.

        A record saved in a transaction that then rolled back is new again.
        """
        return self.__pydantic_private__["_original"] is None

    @property
    def is_deleted(self) -> bool:
        """Whether :meth:`delete` removed this record's row (undone if its transaction rolls back)."""
        return bool(self.__pydantic_private__.get("_deleted"))

    @property
    def is_persisted(self) -> bool:
        """Whether this record stands for a row that exists: saved or loaded, and not deleted."""
        return not self.is_new_record and not self.is_deleted

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        """Map each changed field to ``(old, new)`` since the last load or save."""
        original = self.__pydantic_private__["_original"]
        values = self.__dict__
        if original is None:
            return {k: (None, v) for k, v in values.items() if v is not None}
        return {k: (original.get(k), values[k]) for k in _changed_names(values, original)}

    @property
    def previous_changes(self) -> dict[str, tuple[Any, Any]]:
        """What the last save wrote: each field it changed, as ``(old, new)``.

        After an insert, every field that is not ``None``. Empty before the
        first save and after a load or ``refresh()``. When the transaction (or
        savepoint) of a save rolls back, that save wrote nothing in the end:
        this goes back to what the save before it wrote.
        """
        last = self.__pydantic_private__.get("_last_save")
        if last is None:
            return {}
        before, after = last
        if before is None:
            return {k: (None, v) for k, v in after.items() if v is not None}
        return {k: (before.get(k), after[k]) for k in _changed_names(after, before)}

    @property
    def previously_new_record(self) -> bool:
        """Whether the last save inserted this record (it was new before it)."""
        last = self.__pydantic_private__.get("_last_save")
        return last is not None and last[0] is None

    @property
    def saved_changes(self) -> dict[str, tuple[Any, Any]]:
        """Alias of :attr:`previous_changes` (Rails' name for it)."""
        return self.previous_changes

    def restore_attributes(self, *fields: str) -> None:
        """Discard unsaved changes (of ``fields``, or all): values go back to the database state.

        On a new record, fields go back to their defaults.
        """
        cls = type(self)
        names = fields or tuple(cls.model_fields)
        for name in names:
            if name not in cls.model_fields:
                raise AttributeError(f"{cls.__name__} has no field {name!r}")
        private = self.__pydantic_private__
        original = private["_original"]
        restored = dict(self.__dict__)
        if original is None:
            names = tuple(n for n in names if not cls.model_fields[n].is_required())  # no default to go back to
            for name in names:
                restored[name] = cls.model_fields[name].get_default(call_default_factory=True)
        else:
            mutable = cls._schema().mutable
            unloaded = private.get("_unloaded") or ()
            for name in names:
                if name in original and name not in unloaded:
                    value = original[name]
                    # a JSON value changes in place: the snapshot must keep its own copy
                    restored[name] = copy.deepcopy(value) if name in mutable else value
        object.__setattr__(self, "__dict__", restored)
        if "_invalid" in private:  # input build()/assign_attributes() refused is discarded too
            self.__pydantic_fields_set__.update(names)

    @property
    def annotations(self) -> dict[str, Any]:
        """Values the loading query selected besides the fields (aggregates, expressions), by label."""
        return dict(self.__pydantic_private__.get("_annotations") or {})

    @property
    def is_dirty(self) -> bool:
        """Whether any field differs from the database state (always true for new records)."""
        return self.is_new_record or bool(self.changes)

    @property
    def changed_fields(self) -> list[str]:
        """Names of the changed fields."""
        return list(self.changes)

    def _key(self) -> Any:
        """This record's key: the value, a tuple for a composite key; ``None`` if incomplete."""
        pk = type(self).__primary_key__
        values = self.__dict__
        if isinstance(pk, str):
            return values.get(pk)
        key = tuple(values.get(k) for k in pk)
        return None if None in key else key

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        mine = self._key()
        if mine is None or self.is_new_record:
            return self is other
        return mine == other._key() and not other.is_new_record

    def __hash__(self) -> int:
        key = self._key()
        return hash((type(self), key)) if key is not None else id(self)

    # -- persistence ---------------------------------------------------------

    def save(self: T, validate: bool = True) -> T:
        """Insert the record if new, else update its changed columns; return it.

        Runs the validate, save and create/update hooks. When the model has
        hooks, they and the write run in one transaction (the caller's, if
        one is open), so a failing hook leaves nothing behind. If the
        transaction the write belongs to rolls back, the record returns to
        its state before it: a created record is new again, an updated one
        dirty again. ``after_commit`` hooks run once it commits.

        Validation (unless ``validate=False``) runs ``validate_record``, the
        ``@validates`` rules and the ``Field(unique=True)`` checks in the
        context ``"create"`` or ``"update"`` (see ``is_valid``). Input that
        ``build``/``assign_attributes`` refused is never written, even with
        ``validate=False``.

        Raises:
            RecordInvalid: validation found errors, or refused input is pending (nothing written).
            RecordNotFound: the record's row no longer exists (nothing written).
            StaleObjectError: optimistic locking found the row changed.
            DatabaseError: the database refused the write.
        """
        cls = type(self)
        schema = cls._schema()
        backend = schema.backend
        active = CallbackRegistry.active(cls)
        if "_invalid" in self.__pydantic_private__ and not (validate and not active.isdisjoint(_VALIDATION_HOOKS)):
            self._refuse_input_errors()  # input build()/assign_attributes() refused (validation reports it too)
        transaction = backend.current_transaction()
        if active.isdisjoint(_SAVE_HOOKS):
            # One statement, atomic on its own: no transaction of its own needed, and a
            # failure leaves the record as it was.
            if validate and "validate_record" in active:
                self._run_validation(active)
            if transaction is None:
                if self._write(schema, active) and "after_commit" in active:
                    self._committed_outside_transaction()
                return self
            private = self.__pydantic_private__
            values = self.__dict__
            lock = cls.__lock_column__
            generated = schema.generated_key
            before = (private["_original"], private.get("_deleted"), generated,
                      values.get(generated) if generated is not None else None,
                      values.get(lock) if lock is not None else None, None, private.get("_last_save"))
            if self._write(schema, active):
                transaction.enlist(id(self), self, before, "after_commit" in active)
            return self
        if transaction is None:
            with backend.transaction():
                self._save_in(backend.current_transaction(), schema, active, validate)
        else:
            self._save_in(transaction, schema, active, validate)
        return self

    def _save_in(self, transaction: Any, schema: ModelSchema, active: frozenset[str], validate: bool) -> None:
        """Validate and write inside ``transaction``; enlist the record so a rollback restores it."""
        before = self._write_state(schema)
        mark = transaction.statements
        try:
            if validate and not active.isdisjoint(_VALIDATION_HOOKS):
                self._run_validation(active)
            wrote = self._write(schema, active)
        except BaseException as exc:
            self._transaction_rolled_back(before, fire=False)
            # the uniqueness SELECTs wrote nothing: a failed save after them leaves nothing to undo
            ran = transaction.statements - mark - self.__pydantic_private__.pop("_check_reads", 0)
            if ran:
                # Part of this save ran: the rest of the transaction must not commit without it.
                transaction.set_rollback_only(exc)
            raise
        if wrote or transaction.statements != mark:
            transaction.enlist(id(self), self, before, "after_commit" in active)

    def _write_state(self, schema: ModelSchema, full: bool = False) -> tuple[Any, ...]:
        """Return what a rollback restores: the database state, the deleted mark, the key the
        database generates and its value, the lock version, (``full``, for deletes) every
        field value, and what the last save before wrote (``previous_changes``)."""
        private = self.__pydantic_private__
        values = self.__dict__
        lock = self.__lock_column__
        generated = schema.generated_key
        return (private["_original"], private.get("_deleted"), generated,
                values.get(generated) if generated is not None else None,
                values.get(lock) if lock is not None else None, dict(values) if full else None,
                private.get("_last_save"))

    def _transaction_rolled_back(self, state: tuple[Any, ...], fire: bool = True) -> None:
        """Return to ``state`` after the transaction that wrote this record rolled back.

        The database state, the key the database generated, the lock version
        and the deleted mark go back; the other field values stay, so the
        changes of a rolled-back update are pending again (a delete puts every
        field back: a soft delete changed some).
        """
        original, deleted, generated, key, lock_value, values, last_save = state
        private = self.__pydantic_private__
        private["_original"] = original
        if last_save is None:
            private.pop("_last_save", None)
        else:
            private["_last_save"] = last_save  # the save before the one undone is the last again
        if deleted:
            private["_deleted"] = True
        else:
            private.pop("_deleted", None)
        cls = type(self)
        # a new dict: the current one may be a database-state snapshot (ModelSchema.snapshot)
        restored = dict(values) if values is not None else dict(self.__dict__)
        if generated is not None:
            restored[generated] = key
        if cls.__lock_column__ is not None:
            restored[cls.__lock_column__] = lock_value
        object.__setattr__(self, "__dict__", restored)
        if fire and "after_rollback" in CallbackRegistry.active(cls):
            self._fire("after_rollback")

    def _transaction_committed(self) -> None:
        """Run the ``after_commit`` hooks (once per record and transaction)."""
        if "after_commit" in CallbackRegistry.active(type(self)):
            self._fire("after_commit")

    def _committed_outside_transaction(self) -> None:
        """Run the ``after_commit`` hooks after a write that committed on its own; log their errors."""
        try:
            self._fire("after_commit")
        except Exception:  # noqa: BLE001 - the write is committed: report and go on
            _log.exception("error in an after_commit hook of %s (the write was committed)", type(self).__name__)

    def _run_validation(self, active: frozenset[str]) -> None:
        """Validate in the save's context (``"create"`` or ``"update"``); raise RecordInvalid on errors."""
        context = "create" if self.__pydantic_private__["_original"] is None else "update"
        errors = self._validation_errors(active, context)
        if errors:
            raise RecordInvalid(self, errors.to_dict())

    def _write(self, schema: ModelSchema, active: frozenset[str]) -> bool:
        """Run the save hooks and the INSERT or UPDATE; return whether a statement was written."""
        if "_readonly" in self.__pydantic_private__:
            raise self._read_only("saved")
        if "before_save" in active:
            self._fire("before_save")
        if self.__pydantic_private__["_original"] is None:
            if "before_create" in active:
                self._fire("before_create")
            self._insert(schema)
            wrote = True
            if "after_create" in active:
                self._fire("after_create")
        else:
            if "before_update" in active:
                self._fire("before_update")
            wrote = self._update(schema)
            if "after_update" in active:
                self._fire("after_update")
        if "after_save" in active:
            self._fire("after_save")
        return wrote

    def _insert(self, schema: ModelSchema) -> None:
        values = self.__dict__
        pk = schema.generated_key
        generate = pk is not None and values.get(pk) is None
        if not schema.writes_prepared:
            schema.prepare_writes()
        if not schema.plain_inserts:
            read = self._filled_by_database(schema)
            if read:
                self._insert_reading(schema, read, generate)
                return
        sql, build = schema.insert(schema.names_without_pk if generate else schema.insert_names)
        result = schema.backend.execute_raw(sql, build(values))
        if not result.affected_rows and not result.rows:
            raise DatabaseError(
                f"The INSERT of a {type(self).__name__} stored no row (a rule or trigger on {schema.table!r} "
                "skipped it); the record stays unsaved")
        if generate:
            assert pk is not None
            key = result.rows[0][0] if result.rows else result.last_insert_id
            reader = schema.readers.get(pk)
            values[pk] = reader(key) if (reader is not None and key is not None) else key
        self._saved_as(schema.snapshot(values))

    def _filled_by_database(self, schema: ModelSchema) -> tuple[str, ...]:
        """The fields this insert leaves to the database: computed ones, and unset ones with a default."""
        values = self.__dict__
        given = self.__pydantic_fields_set__
        return tuple(n for n in schema.db_defaults if values.get(n) is None and n not in given) \
            + schema.generated_fields

    def _insert_reading(self, schema: ModelSchema, read: tuple[str, ...], generate: bool) -> None:
        """INSERT without the fields the database fills in, then read their values back.

        With RETURNING the INSERT reads them itself; otherwise they are
        selected by key right after, in the same transaction.
        """
        values = self.__dict__
        pk = schema.generated_key
        columns = tuple(n for n in (schema.names_without_pk if generate else schema.insert_names)
                        if n not in read)
        sql, build, returning = schema.insert_reading(columns, read, generate)
        backend = schema.backend
        if returning:
            returned = backend.execute_raw(sql, build(values)).rows
            if not returned:
                raise DatabaseError(
                    f"The INSERT of a {type(self).__name__} returned no row (a rule or trigger on "
                    f"{schema.table!r} replaced it), so the values the database filled in are unknown")
            row = returned[0]
            if generate:
                assert pk is not None
                schema.read_into(values, (pk,), row[:1])
                row = row[1:]
            schema.read_into(values, read, row)
        else:
            with backend.transaction():
                result = backend.execute_raw(sql, build(values))
                if generate:
                    assert pk is not None
                    if result.last_insert_id is None:
                        raise NotSupportedError(
                            f"{backend.name} reported no key for the new {type(self).__name__}, so the "
                            "values the database filled in cannot be read back")
                    schema.read_into(values, (pk,), (result.last_insert_id,))
                rows = backend.execute_raw(schema.reread_sql(read), schema.key_params(values)).rows
                if not rows:
                    raise DatabaseError(
                        f"The new {type(self).__name__} {schema.key_of(values)!r} cannot be read back from "
                        f"{schema.table!r}, so the values the database filled in are unknown; nothing was kept")
            schema.read_into(values, read, rows[0])
        self._saved_as(schema.snapshot(values))

    def _reread_generated(self, schema: ModelSchema) -> None:
        """Read the computed fields again after an UPDATE changed what they are computed from."""
        fields = schema.generated_fields
        rows = schema.backend.execute_raw(schema.reread_sql(fields), schema.key_params(self.__dict__)).rows
        if rows:
            schema.read_into(self.__dict__, fields, rows[0])

    def _update(self, schema: ModelSchema) -> bool:
        """UPDATE the changed columns; return whether there were any."""
        values = self.__dict__
        original = self.__pydantic_private__["_original"]
        if values is original:
            return False  # still the loaded or saved dict: nothing assigned since (ModelSchema.snapshot)
        changed = tuple(_changed_names(values, original))
        if not changed:
            return False
        if schema.readonly_fields and not schema.readonly_fields.isdisjoint(changed):
            names = ", ".join(n for n in changed if n in schema.readonly_fields)
            raise ReadOnlyRecordError(
                f"{type(self).__name__}.{names} is read-only: it is set when the record is created and "
                "cannot change; nothing was saved (restore_attributes() discards the change)")
        if "_unloaded" in self.__pydantic_private__:
            self._check_key_loaded(schema)
        if not schema.writes_prepared:
            schema.prepare_writes()
        if schema.generated_fields:
            written = [n for n in changed if n in schema.generated_fields]
            if written:
                raise DataError(
                    f"{type(self).__name__}.{written[0]} is computed by the database and cannot be "
                    "written; nothing was saved")
        lock = self.__lock_column__
        if lock is None:
            sql, build = schema.update(changed, schema.keys)
            params = build(values, original)
            result = schema.backend.execute_raw(sql, params) if schema._key_verified \
                else self._run_one(schema, sql, params)
            if result.affected_rows == 0:
                raise self._no_row(schema)
        else:
            # Optimistic locking: bump the version and require the one we read.
            if lock not in changed:
                changed += (lock,)
            values[lock] = (original[lock] or 0) + 1
            sql, build = schema.update(changed, schema.lock_where)
            try:
                result = self._run_one(schema, sql, build(values, original))
            except BaseException:
                values[lock] = original[lock]
                raise
            if result.affected_rows == 0:
                values[lock] = original[lock]
                raise StaleObjectError(
                    f"{type(self).__name__} {schema.key_of(values)!r} was changed or deleted by someone "
                    f"else since it was read ({lock}={original[lock]!r}); reload it and try again"
                )
        if schema.generated_fields:
            self._reread_generated(schema)
        self._saved_as(schema.snapshot(values))
        return True

    def _read_only(self, what: str) -> ReadOnlyRecordError:
        return ReadOnlyRecordError(
            f"This {type(self).__name__} was loaded read-only (query.readonly()) and cannot be {what}; "
            "load it without readonly() to change it")

    @property
    def is_readonly(self) -> bool:
        """Whether this record was loaded with ``query.readonly()`` (saving or deleting it raises)."""
        return "_readonly" in self.__pydantic_private__

    def _saved_as(self, state: dict[str, Any]) -> None:
        """Make ``state`` the record's database state after a write (kept for ``previous_changes``)."""
        private = self.__pydantic_private__
        private["_last_save"] = (private["_original"], state)
        private["_original"] = state

    def _check_key_loaded(self, schema: ModelSchema) -> None:
        unloaded = self.__pydantic_private__.get("_unloaded")
        if unloaded and not unloaded.isdisjoint(schema.lock_where):
            missing = ", ".join(k for k in schema.lock_where if k in unloaded)
            raise UnloadedFieldError(
                f"Cannot write this {type(self).__name__}: it was loaded without {missing}, which "
                "says which row it is. Select it too, or find() the record")

    def _run_one(self, schema: ModelSchema, sql: str, params: list[Any]) -> Any:
        """Run the UPDATE or DELETE of this one record; refuse (and undo) one that hit several rows.

        A model's key may not be the table's (a table made elsewhere, declared
        with part of its key): then the statement runs in a transaction, and
        touching more than one row rolls it back.
        """
        backend = schema.backend
        if schema._key_verified or schema.key_is_unique:
            return backend.execute_raw(sql, params)
        transaction = backend.current_transaction()
        if transaction is None:
            with backend.transaction():
                return self._run_checked(schema, sql, params, None)
        return self._run_checked(schema, sql, params, transaction)

    def _run_checked(self, schema: ModelSchema, sql: str, params: list[Any], transaction: Any) -> Any:
        result = schema.backend.execute_raw(sql, params)
        if result.affected_rows > 1:
            key = schema.key_of(self.__pydantic_private__["_original"])
            error = MultipleRecordsFound(
                f"The key {'/'.join(schema.keys)}={key!r} of {type(self).__name__} matched "
                f"{result.affected_rows} rows of {schema.table!r}, so "
                "the change was undone: the key does not identify one row. Declare the table's real "
                "primary key in __primary_key__ (a tuple for a composite key).")
            if transaction is not None:
                transaction.set_rollback_only(error)
            raise error
        return result

    def _no_row(self, schema: ModelSchema) -> RecordNotFound:
        key = schema.key_of(self.__pydantic_private__["_original"])
        return RecordNotFound(
            f"{type(self).__name__} {key!r} was not saved: its row no longer exists "
            "(deleted by someone else?)", type(self), key)

    def update(self: T, **attributes: Any) -> T:
        """Set several fields (validated together) and save.

        If any value is invalid, no field changes and nothing is written.
        """
        backup = dict(self.__dict__)
        try:
            for name, value in attributes.items():
                setattr(self, name, value)
        except BaseException:
            self.__dict__.update(backup)
            raise
        return self.save()

    def update_columns(self: T, **values: Any) -> T:
        """Write these fields straight to the row: no ``validate_record``, no hooks, no lock check.

        Values are still checked against the fields' types (a wrong one
        fails and nothing is written); other unsaved changes stay unsaved.
        ``updated_at`` is not stamped and the optimistic lock's version is
        neither checked nor raised. For what ``save()`` is too much for
        (a flag set by a background job); prefer ``save()`` elsewhere.

        Raises:
            RecordNotFound: the record was never saved, or its row is gone.
        """
        cls = type(self)
        if not values:
            raise ValueError("update_columns() needs at least one field=value")
        private = self.__pydantic_private__
        if private["_original"] is None:
            raise RecordNotFound(f"Cannot update_columns of an unsaved {cls.__name__}; save() it", cls)
        if "_readonly" in private:
            raise self._read_only("updated")
        schema = cls._schema()
        for name in values:
            if name not in schema.columns:
                raise AttributeError(f"{cls.__name__} has no field {name!r}; fields: {', '.join(schema.names)}")
            if name in schema.keys or name in schema.generated_fields or name in schema.readonly_fields:
                raise ReadOnlyRecordError(f"update_columns: {cls.__name__}.{name} cannot be changed")
        backup = dict(self.__dict__)
        try:
            for name, value in values.items():
                setattr(self, name, value)  # type-checked by pydantic
        except BaseException:
            object.__setattr__(self, "__dict__", backup)
            raise
        if "_unloaded" in private:
            self._check_key_loaded(schema)
        names = tuple(values)
        sql, build = schema.update(names, schema.keys)
        original = private["_original"]
        try:
            result = self._run_one(schema, sql, build(self.__dict__, original))
        except BaseException:
            object.__setattr__(self, "__dict__", backup)
            raise
        if result.affected_rows == 0:
            object.__setattr__(self, "__dict__", backup)
            raise self._no_row(schema)
        transaction = schema.backend.current_transaction()
        if transaction is not None:
            transaction.enlist(id(self), self, self._write_state(schema), False)
        saved = dict(original)
        for name in names:
            value = self.__dict__[name]
            saved[name] = copy.deepcopy(value) if name in schema.mutable else value
        self._saved_as(saved)
        return self

    def delete(self) -> bool:
        """Delete the record's row (soft-delete models mark it deleted instead).

        Runs the delete hooks and the ``dependent=`` rules; with either, they
        and the delete run in one transaction. If the transaction rolls back,
        the record is not deleted after all.

        Returns:
            Whether a row was deleted (``False``: someone else deleted it first).

        Raises:
            RecordNotFound: the record was never saved.
            StaleObjectError: optimistic locking found the row changed.
        """
        cls = type(self)
        if self.__pydantic_private__["_original"] is None:
            raise RecordNotFound(f"Cannot delete an unsaved {cls.__name__}", cls)
        if "_readonly" in self.__pydantic_private__:
            raise self._read_only("deleted")
        schema = cls._schema()
        backend = schema.backend
        active = CallbackRegistry.active(cls)
        dependents = _relation_dependent.has_dependents(cls)
        transaction = backend.current_transaction()
        if transaction is None and not dependents and active.isdisjoint(_DELETE_HOOKS):
            deleted = self._delete_row(schema)
            if deleted and "after_commit" in active:
                self._committed_outside_transaction()
            return deleted
        if transaction is None:
            with backend.transaction():
                return self._delete_in(backend.current_transaction(), schema, active, dependents)
        return self._delete_in(transaction, schema, active, dependents)

    def _delete_in(self, transaction: Any, schema: ModelSchema, active: frozenset[str], dependents: bool) -> bool:
        before = self._write_state(schema, full=True)  # a soft delete changes fields too
        mark = transaction.statements
        try:
            if "before_delete" in active:
                self._fire("before_delete")
            if dependents:
                _relation_dependent.delete_dependents(self)
            deleted = self._delete_row(schema)
            if "after_delete" in active:
                # whether a row went (False: someone else deleted it first); counter caches read it
                self.__pydantic_private__["_row_deleted"] = deleted
                self._fire("after_delete")
        except BaseException as exc:
            self._transaction_rolled_back(before, fire=False)
            if transaction.statements != mark:
                transaction.set_rollback_only(exc)
            raise
        transaction.enlist(id(self), self, before, deleted and "after_commit" in active)
        return deleted

    def _delete_row(self, schema: ModelSchema) -> bool:
        """Delete the row and mark the record deleted; return whether a row went."""
        values = self.__dict__
        private = self.__pydantic_private__
        lock = self.__lock_column__
        if "_unloaded" in private:
            self._check_key_loaded(schema)
        key = schema.key_params(private["_original"])
        if lock is None:
            deleted = self._run_one(schema, schema.delete_by_pk_sql, key).affected_rows > 0
        else:
            assert schema.delete_locked_sql is not None  # set whenever the model has a lock column
            result = self._run_one(schema, schema.delete_locked_sql, [*key, values[lock]])
            if result.affected_rows == 0:
                raise StaleObjectError(
                    f"{type(self).__name__} {schema.key_of(values)!r} was changed or deleted by someone else"
                )
            deleted = True
        private["_deleted"] = True
        return deleted

    def refresh(self: T) -> T:
        """Reload every field from the database, dropping unsaved changes.

        Raises:
            RecordNotFound: the row no longer exists.
        """
        if self.is_new_record:
            raise RecordNotFound(f"Cannot refresh an unsaved {type(self).__name__}", type(self))
        cls = type(self)
        original = self.__pydantic_private__["_original"]
        keys = cls.primary_key_fields()
        fresh = cls.query().unscoped().where(**{k: original[k] for k in keys}).first()
        if fresh is None:
            key = original[keys[0]] if len(keys) == 1 else tuple(original[k] for k in keys)
            raise RecordNotFound(f"{cls.__name__} {key!r} no longer exists", cls, key)
        # a new dict, not an update in place: the old one may be a snapshot (ModelSchema.snapshot)
        object.__setattr__(self, "__dict__", fresh.__dict__)
        private = self.__pydantic_private__
        private["_original"] = fresh.__pydantic_private__["_original"]
        private["_relations"] = None
        private.pop("_unloaded", None)
        private.pop("_annotations", None)
        private.pop("_last_save", None)
        object.__setattr__(self, "__pydantic_fields_set__", set(cls.model_fields))
        return self

    # -- class-level reading and writing ---------------------------------------

    @classmethod
    def create(cls: type[T], **attributes: Any) -> T:
        """Build a record from ``attributes`` (validated) and save it."""
        return cls(**attributes).save()

    @classmethod
    def aliased(cls, alias: str) -> AliasedModel:
        """Return this model under ``alias``, to join its table a second time (a self-join)."""
        return AliasedModel(cls, alias)

    @classmethod
    def from_subquery(cls: type[T], query: Query[Any]) -> Query[T]:
        """A query over the rows of ``query`` (a derived table) as records of this model."""
        return cls.query().from_subquery(query)

    @classmethod
    def from_cte(cls: type[T], name: str, query: Query[Any] | None = None, recursive: bool = False,
                 columns: Sequence[str] = ()) -> Query[T]:
        """A query over the rows of the CTE ``WITH name AS (query)`` as records of this model."""
        return cls.query().from_cte(name, query, recursive, columns)

    @classmethod
    def query(cls: type[T]) -> Query[T]:
        """Return a new query over this model."""
        query: Query[T] = Query(cls)
        if cls.__strict_loading__:
            query = query._replace(_strict=True)
        return query

    @classmethod
    def where(cls: type[T], *conditions: Any, **equals: Any) -> Query[T]:
        """Shortcut for ``query().where(...)``."""
        return cls.query().where(*conditions, **equals)

    @classmethod
    def order_by(cls: type[T], *terms: Any) -> Query[T]:
        """Shortcut for ``query().order_by(...)``."""
        return cls.query().order_by(*terms)

    @classmethod
    def all(cls: type[T]) -> list[T]:
        """Return every record (default scopes apply)."""
        return cls.query().all()

    @classmethod
    def count(cls) -> int:
        """Return the number of records (default scopes apply)."""
        return cls.query().count()

    @classmethod
    def find(cls: type[T], pk: Any) -> T:
        """Return the record with primary key ``pk`` (a tuple in key order for a composite key).

        Raises:
            RecordNotFound: there is none.
            TypeError: a composite key was not given as a tuple of its values.
        """
        schema = cls._schema()
        writer = schema.pk_writer
        if schema.pk is not None:
            spec = schema.columns[schema.pk]
            if pk.__class__ is not spec.annotation and pk is not None:
                pk = spec.check(pk)  # find("abc") on an integer key fails here, clearly
            params = [pk if writer is None or pk is None else writer(pk)]
        else:
            params = schema.lookup_params(pk)
        if cls._default_scopes() or cls.__strict_loading__:
            keys = pk if schema.pk is None else (pk,)
            record = cls.query().where(**dict(zip(schema.keys, keys))).first()
        else:
            result = schema.backend.execute_raw(schema.select_by_pk_sql, params)
            rows = result.rows
            record = schema.row_loader(result.columns)(rows[0]) if rows else None
        if record is None:
            raise RecordNotFound(f"{cls.__name__} with {'/'.join(schema.keys)}={pk!r} not found", cls, pk)
        return record

    @classmethod
    def find_by(cls: type[T], **equals: Any) -> T | None:
        """Return the first record whose fields equal ``equals``, or ``None``."""
        return cls.query().where(**equals).first()

    @classmethod
    def find_or_initialize_by(cls: type[T], defaults: dict[str, Any] | None = None, **attributes: Any) -> T:
        """Return the first record matching ``attributes``, or a new unsaved one built from them and ``defaults``."""
        found = cls.find_by(**attributes)
        return found if found is not None else cls(**{**(defaults or {}), **attributes})

    @classmethod
    def find_or_create_by(cls: type[T], defaults: dict[str, Any] | None = None, **attributes: Any) -> T:
        """Return the first record matching ``attributes``, creating it (with ``defaults`` too) if none.

        Safe under races when a unique index covers ``attributes``: a caller
        that loses the race to insert finds the winner's row and returns it,
        so exactly one row exists and every caller gets it.
        """
        found = cls.find_by(**attributes)
        if found is not None:
            return found
        return cls._create_or_find(attributes, defaults)

    @classmethod
    def create_or_find_by(cls: type[T], defaults: dict[str, Any] | None = None, **attributes: Any) -> T:
        """Insert a record from ``attributes`` (and ``defaults``); if a unique index refuses it, find it.

        The race-safe form for rows that usually do not exist yet: one
        INSERT, and a read only after a unique violation. It needs a unique
        index over ``attributes`` (without one, it always inserts).
        """
        return cls._create_or_find(attributes, defaults)

    @classmethod
    def update_or_create(cls: type[T], defaults: dict[str, Any] | None = None, **attributes: Any) -> T:
        """Update the record matching ``attributes`` with ``defaults``, or create it from both.

        A row found is read again ``FOR UPDATE`` where the database has it, in
        one transaction with the write, so concurrent callers apply their
        updates one after the other; a lost race to insert updates the
        winner's row. ``record.previously_new_record`` tells which happened.
        """
        backend = cls.backend()
        defaults = dict(defaults or {})
        locking = backend.capabilities.supports_for_update
        with backend.transaction():
            query = cls.query().where(**attributes)
            # A plain read first: a locking read that finds nothing locks the gap on some databases
            # (InnoDB), and two callers that both then insert deadlock. A row found is locked next.
            found = query.first()
            if found is not None and locking:
                found = query.for_update().first()
            if found is None:
                found = cls._create_or_find(attributes, {**defaults})
                if found.previously_new_record:
                    return found
            return found.update(**defaults)

    @classmethod
    def _create_or_find(cls: type[T], attributes: dict[str, Any], defaults: dict[str, Any] | None) -> T:
        """Create from ``attributes`` and ``defaults``; after a unique violation, return the row found."""
        from ..backend.errors import UniqueViolationError

        backend = cls.backend()
        record = cls(**{**(defaults or {}), **attributes})
        _leave_uniqueness_to_the_database(record)  # INSERT first: the unique index decides, not a SELECT
        try:
            with backend.transaction():  # a savepoint inside the caller's: the failed INSERT goes alone
                return record.save()
        except UniqueViolationError:
            query = cls.query().where(**attributes)
            if backend.in_transaction and backend.capabilities.supports_for_update:
                query = query.for_update()  # a locking read sees the winner's row under REPEATABLE READ too
            found = query.first()
            if found is None:
                transaction = backend.current_transaction()
                level = getattr(transaction, "isolation_level", None)
                if level in _SNAPSHOT_LEVELS:
                    from ..backend.errors import SerializationError

                    raise SerializationError(
                        f"Another transaction inserted this {cls.__name__} after this {level.name} transaction "
                        "began, so its snapshot cannot see the row it has to return: run the whole "
                        "transaction again (run_in_transaction retries it)") from None
                raise  # the conflict was on another unique key: nothing to find by these attributes
            return found

    @classmethod
    def find_by_sql(cls: type[T], sql: str, params: Sequence[Any] = ()) -> list[T]:
        """Load records from your own SELECT (neutral ``?`` placeholders)."""
        backend = cls.backend()
        result = backend.execute(backend.dialect.convert_placeholders(sql), list(params))
        return cls._load_rows(result.columns, result.rows)

    @classmethod
    def insert_many(cls, records: Sequence[Any], *, ignore_duplicates: bool = False, returning: bool = False,
                    unique_by: Any = None) -> Any:
        """Insert many records (or dicts of fields) with multi-row INSERTs.

        Values are validated; hooks do not run. As many rows go in one
        statement as the backend binds parameters for (up to 500); several
        statements run in one transaction, so the call is all or nothing.

        Args:
            ignore_duplicates: skip rows whose primary key or a unique index
                is taken, instead of failing (``unique_by`` names the one index
                where the dialect can; ``ON DUPLICATE KEY`` skips on any).
            returning: return the saved records with their keys and the
                values the database filled in (RETURNING where the database
                has it; elsewhere row by row in one transaction). Records
                given are updated in place and returned; with
                ``ignore_duplicates``, new records of the rows inserted.

        Returns:
            The number of rows inserted, or the records (``returning``).
        """
        return _bulk.insert_many(cls, records, ignore_duplicates, returning, unique_by)

    @classmethod
    def upsert_all(cls, records: Sequence[Any], *, unique_by: Any = None, update: Any = None,
                   returning: bool = False) -> Any:
        """Insert rows, updating the stored row instead where ``unique_by`` is taken.

        ``ON CONFLICT (...) DO UPDATE``, or ``ON DUPLICATE KEY UPDATE`` where
        the dialect has that instead (which updates on a conflict with any
        unique key). Values are validated, hooks do not run, and the whole
        call is one transaction.

        Args:
            unique_by: the field (or tuple of fields) of the primary key or a
                unique index/constraint the conflict is on (default: the key);
                anything else fails before SQL is sent.
            update: the fields a conflict overwrites (default: every field
                written except the key, ``unique_by`` and ``created_at``);
                ``()`` keeps stored rows as they are.
            returning: return the written records (inserted and updated).

        Returns:
            The number of rows written (inserted or updated), or the records.
        """
        return _bulk.upsert_all(cls, records, unique_by, update, returning)

    @classmethod
    def upsert(cls: type[T], *, unique_by: Any = None, update: Any = None, **attributes: Any) -> T:
        """Insert one record or update the row holding its ``unique_by`` values; return it as stored."""
        return _bulk.upsert(cls, unique_by, update, attributes)  # type: ignore[return-value]

    @classmethod
    def bulk_update(cls, records: Sequence[Any], fields: Sequence[str] | str, *,
                    batch_size: int | None = None) -> int:
        """Write each record's own values of ``fields`` with one UPDATE per batch (no hooks).

        The batches run in one transaction. With optimistic locking, every
        record's version is checked and raised; if any record is stale (or
        its row gone) nothing of the call is written and ``StaleObjectError``
        (``RecordNotFound``) is raised. Returns the number of rows updated.
        """
        return _bulk.bulk_update(cls, records, fields, batch_size)

    @classmethod
    def _bulk_timestamps(cls) -> tuple[str, ...]:
        """Fields bulk writes stamp with the current time (``created_at`` first); see TimestampMixin."""
        return ()

    @classmethod
    def transaction(cls, isolation_level: Any = None, read_only: bool = False, **options: Any) -> Any:
        """Return the backend's transaction context manager (nestable through savepoints)."""
        return cls.backend().transaction(isolation_level, read_only, **options)

    @classmethod
    def run_in_transaction(cls, fn: Callable[[], R], *, retries: int = 3, **options: Any) -> R:
        """Run ``fn()`` in a transaction, re-running it when a concurrent transaction wins.

        Retries on serialization failures, deadlocks and :class:`StaleObjectError`
        (optimistic locking), since each means "read again and redo"; see
        ``StorageBackend.run_in_transaction`` for the options.
        """
        options.setdefault("retry_on", (SerializationError, DeadlockError, StaleObjectError))
        return cls.backend().run_in_transaction(fn, retries=retries, **options)

    @classmethod
    def create_table(cls, if_not_exists: bool = False) -> None:
        """Create this model's table (and its indexes) from the field declarations."""
        specs = cls._column_specs()
        indexes = [(spec.column_name,) for spec in specs.values() if spec.options.index and not spec.options.unique]
        cls.backend().create_table(
            cls.table_name(), [s.column for s in specs.values()],
            if_not_exists=if_not_exists, indexes=indexes,
        )
        if not if_not_exists:
            cls._schema().key_created()  # its primary key is the model's: no need to ask the catalog

    @classmethod
    def drop_table(cls, if_exists: bool = False) -> None:
        """Drop this model's table."""
        cls.backend().drop_table(cls.table_name(), if_exists=if_exists)

    @classmethod
    def table_exists(cls) -> bool:
        """Return whether this model's table exists."""
        return cls.backend().table_exists(cls.table_name())

    # -- loading ---------------------------------------------------------------

    @classmethod
    def from_rows(cls: type[T], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[T]:
        """Turn driver rows (tuples, with these column names) into loaded records.

        Columns are the database's names; values are read as the model's
        fields read them, and fields the rows lack are unloaded.
        """
        if not rows:
            return []
        return cls._schema().loader(tuple(columns))(rows)

    _load_rows = from_rows

    @classmethod
    def _after_load(cls, records: list[Any], query: Query[Any]) -> None:
        """Post-process loaded records (eager loading, strict mode); a hook for relations."""
        _relation_loading.after_load(cls, records, query)
