"""One object per model class holding what the ORM works out about it.

``Model.metadata()`` returns it: the table, the columns (field name, column
name, type, converters), the key, the associations and scopes, the
callbacks registered on the class, and the statements compiled for the
backend in use (:class:`~rhosocial.activerecord.model.schema.ModelSchema`).
Everything is computed on first use and kept here, on the class itself, so
nothing outside a model class refers to it: a model class defined in a
function is collected like any class once it is no longer used.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ..backend.base import StorageBackend
    from .base import ActiveRecord, ColumnNamespace
    from .fields import ColumnSpec
    from .schema import ModelSchema
    from .validation import ValidationInfo

Callback = Callable[[Any], Any]

#: Bumped whenever any callback is added or removed: cached resolutions older than it are stale
#: (a subclass's callbacks include its ancestors').
_lock = threading.Lock()
_version = [0]


class ModelMetadata:
    """What the ORM knows about one model class (see the module documentation)."""

    def __init__(self, model: type["ActiveRecord"]) -> None:
        self.model = model
        self._columns: dict[str, "ColumnSpec"] | None = None
        self._namespace: "ColumnNamespace | None" = None
        self._schema: "ModelSchema | None" = None
        self._scopes: dict[str, Callable[..., Any]] | None = None
        self._associations: dict[str, Any] | None = None
        self._dependents: tuple[Any, ...] | None = None
        #: Callbacks registered on this class itself, by event.
        self.own_callbacks: dict[str, tuple[Callback, ...]] = {}
        self._resolved: dict[str, tuple[Callback, ...]] = {}
        self._active: frozenset[str] | None = None
        self._seen_version = -1  # the callback version _resolved and _active were computed at
        self._validation: "ValidationInfo | None" = None
        self._announce_associations()

    def _announce_associations(self) -> None:
        """Tell the associations declared in the class body that the class has its metadata.

        One that keeps other rows right (a ``counter_cache=`` or ``touch=``
        belongs_to) registers its callbacks on it then; none of them looks at
        the other model yet.
        """
        from ..relation.descriptor import RelationDescriptor

        for value in list(vars(self.model).values()):
            if isinstance(value, RelationDescriptor):
                ready = getattr(value, "owner_ready", None)
                if ready is not None:
                    ready(self)

    # -- table and columns -----------------------------------------------------

    @property
    def table(self) -> str:
        """The table's name (a ``TableName`` when the model names a schema)."""
        return self.model.table_name()

    @property
    def keys(self) -> tuple[str, ...]:
        """The primary key's fields, in key order."""
        return self.model.primary_key_fields()

    @property
    def columns(self) -> dict[str, "ColumnSpec"]:
        """Each field's :class:`~rhosocial.activerecord.model.fields.ColumnSpec`, by field name."""
        found = self._columns
        if found is None:
            found = self._columns = self.model._resolve_columns()
        return found

    def column_name(self, field: str) -> str:
        """The database column of ``field`` (see ``Model.column_name``)."""
        return self.model.column_name(field)

    @property
    def namespace(self) -> "ColumnNamespace":
        """The ``Model.c`` column expressions."""
        found = self._namespace
        if found is None:
            from .base import ColumnNamespace

            found = self._namespace = ColumnNamespace(self.model)
        return found

    def schema(self, backend: "StorageBackend") -> "ModelSchema":
        """The statements, converters and loaders compiled for ``backend``."""
        found = self._schema
        if found is None or found.backend is not backend:
            from .schema import ModelSchema

            found = self._schema = ModelSchema(self.model, backend)
        return found

    @property
    def validation(self) -> "ValidationInfo":
        """What validation checks: the unique fields, the ``@validates`` rules, the input names."""
        found = self._validation
        if found is None:
            from .validation import ValidationInfo

            found = self._validation = ValidationInfo(self.model)
        return found

    def reader(self, backend: "StorageBackend", field: str) -> Callable[[Any], Any] | None:
        """How a value of ``field`` read from ``backend`` becomes the field's value (None: as it is)."""
        return self.schema(backend).readers.get(field)

    def writer(self, backend: "StorageBackend", field: str) -> Callable[[Any], Any] | None:
        """How a value of ``field`` becomes what ``backend``'s driver takes (None: as it is)."""
        return self.schema(backend).writers.get(field)

    # -- scopes and associations ------------------------------------------------

    @property
    def scopes(self) -> dict[str, Callable[..., Any]]:
        """The named scopes (``@scope`` class methods) of the class and its ancestors."""
        found = self._scopes
        if found is None:
            found = {}
            for klass in reversed(self.model.__mro__):
                for name, value in vars(klass).items():
                    if isinstance(value, classmethod) and hasattr(value.__func__, "__rhosocial_scope__"):
                        found[name] = value.__func__.__rhosocial_scope__
            self._scopes = found
        return found

    @property
    def associations(self) -> dict[str, Any]:
        """The associations declared on the class and its ancestors, by name."""
        found = self._associations
        if found is None:
            from ..relation.associations import Association

            found = {}
            for klass in reversed(self.model.__mro__):
                for name, value in vars(klass).items():
                    if isinstance(value, Association):
                        found[name] = value
            self._associations = found
        return found

    @property
    def dependents(self) -> tuple[Any, ...]:
        """The associations that act when a record is deleted."""
        found = self._dependents
        if found is None:
            from ..relation.linked import ManyToMany

            found = self._dependents = tuple(
                a for a in self.associations.values() if a.dependent is not None or isinstance(a, ManyToMany))
        return found

    def associations_changed(self) -> None:
        """Forget the associations worked out so far (one was added to the class)."""
        self._associations = None
        self._dependents = None

    # -- callbacks ---------------------------------------------------------------

    def add_callback(self, event: str, callback: Callback) -> None:
        """Register ``callback`` for ``event`` on this class (and its subclasses)."""
        with _lock:
            self.own_callbacks = {**self.own_callbacks,
                                  event: (*self.own_callbacks.get(event, ()), callback)}
            _version[0] += 1

    def remove_callback(self, event: str, callback: Callback) -> None:
        """Unregister a callback added with :meth:`add_callback`.

        Raises:
            ValueError: it was not registered for that event here.
        """
        with _lock:
            callbacks = list(self.own_callbacks.get(event, ()))
            callbacks.remove(callback)
            self.own_callbacks = {**self.own_callbacks, event: tuple(callbacks)}
            _version[0] += 1

    def callbacks(self, event: str) -> tuple[Callback, ...]:
        """The callbacks for ``event``, ancestors' first."""
        version = self._fresh()
        found = self._resolved.get(event)
        if found is None:
            collected: list[Callback] = []
            for klass in reversed(self.model.__mro__):
                meta = klass.__dict__.get("__meta__")
                if isinstance(meta, ModelMetadata):
                    collected.extend(meta.own_callbacks.get(event, ()))
            found = tuple(collected)
            with _lock:  # stored only if no callback came meanwhile, whoever refreshed since
                if _version[0] == version == self._seen_version:
                    self._resolved[event] = found
        return found

    def active_events(self) -> frozenset[str]:
        """The events with an overridden hook or a callback.

        Plus ``validate_record`` when saving has record checks to run: an
        overridden ``validate_record``, ``@validates`` rules or unique fields
        (so a model with none of them saves without validating).
        """
        version = self._fresh()
        found = self._active
        if found is not None:
            return found
        from .base import ActiveRecord
        from .events import EVENTS

        model = self.model
        events = {e for e in EVENTS if getattr(model, e) is not getattr(ActiveRecord, e) or self.callbacks(e)}
        if getattr(model, "validate_record") is not ActiveRecord.validate_record or self.validation.checks:
            events.add("validate_record")
        found = frozenset(events)
        with _lock:
            if _version[0] == version == self._seen_version:
                self._active = found
        return found

    def _fresh(self) -> int:
        """Drop resolved callbacks computed before the last registration anywhere; return the version."""
        version = _version[0]
        if self._seen_version == version:
            return version  # the common case: nothing registered since
        with _lock:
            version = _version[0]
            if self._seen_version != version:
                self._resolved = {}
                self._active = None
                self._seen_version = version
            return version

    def __repr__(self) -> str:
        return f"<ModelMetadata {self.model.__name__}>"


def metadata_of(model: type) -> ModelMetadata:
    """Return ``model``'s metadata (made by the model metaclass)."""
    found = model.__dict__.get("__meta__")
    if found is None:
        found = ModelMetadata(model)
        type.__setattr__(model, "__meta__", found)
    return found
