"""``belongs_to(counter_cache=..., touch=...)``: keep the parent's count and ``updated_at`` right.

The owner model (the child, ``Comment``) gets lifecycle callbacks when its
class is made; they change the parent row (``Post``) with one atomic
``UPDATE posts SET comments_count = COALESCE(comments_count, 0) + ?`` in the
child's own save or delete transaction, so a rollback undoes both. Creating,
deleting (soft deletes too) and moving a child to another parent change the
counts; a soft-deleted child is not counted. The parent changes happen before
the child's INSERT or UPDATE, so the parent row is locked first: concurrent
children of one parent then queue on it instead of deadlocking on the
foreign-key check (MySQL, MariaDB). Bulk writes (``insert_many``,
``update_all``, ``delete_all``) run no callbacks and leave counts alone.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..errors import ModelDefinitionError
from ..model.counters import (
    counter_spec,
    now_values,
    store,
    time_fields,
    touch_names,
    undo_on_rollback,
    update_rows,
)
from .state import relations

if TYPE_CHECKING:
    from .associations import BelongsTo

#: Where a child keeps its database state from before_delete until after_delete.
_BEFORE_DELETE = "_parent_updates_state"


class ParentUpdates:
    """The counter cache and touch of one ``belongs_to``, run by the child model's callbacks."""

    def __init__(self, association: BelongsTo, counter_cache: bool | str, touch: bool | str) -> None:
        if not isinstance(counter_cache, (bool, str)) or counter_cache == "":
            raise ModelDefinitionError(f"counter_cache= takes True or a field name, got {counter_cache!r}")
        if not isinstance(touch, (bool, str)) or touch == "":
            raise ModelDefinitionError(f"touch= takes True or a field name, got {touch!r}")
        self.association = association
        self.counter_cache = counter_cache
        self.touch = touch_names(touch)
        self._checked: dict[Any, tuple[str | None, tuple[str, ...]]] = {}

    def register(self, meta: Any) -> None:
        """Add the callbacks to the child model's metadata (its class is being made)."""
        meta.add_callback("before_create", self.before_create)
        meta.add_callback("before_update", self.before_update)
        meta.add_callback("before_delete", self.before_delete)
        meta.add_callback("after_delete", self.after_delete)

    def column(self) -> str:
        """The parent's counter field: the one named, else the child's table name + ``_count``."""
        if isinstance(self.counter_cache, str):
            return self.counter_cache
        table = self.association.model.table_name()
        return f"{getattr(table, 'name', table)}_count"

    def _fields(self, target: Any) -> tuple[str | None, tuple[str, ...]]:
        """The parent's counter field (``None``: no counter cache) and touched fields, checked once."""
        found = self._checked.get(target)
        if found is None:
            counter = None
            try:
                if self.counter_cache:
                    counter = self.column()
                    counter_spec(target, counter)
                touched = time_fields(target, self.touch)
            except (TypeError, ValueError) as exc:
                hint = (f" (declare {counter}: int = 0 on {target.__name__}, or name the field with "
                        "counter_cache=...)" if counter and counter not in target.model_fields else "")
                raise ModelDefinitionError(f"{self.association}: {exc}{hint}") from None
            found = self._checked[target] = (counter, touched)
        return found

    # -- what a child's state says ---------------------------------------------------------

    def _parent(self, values: dict[str, Any] | None) -> tuple[type, tuple[str, ...], Any] | None:
        """The parent model, the fields its key is in, and the key, that these child values point at."""
        if values is None:
            return None
        view = SimpleNamespace(**values)
        association = self.association
        target = association.target_for(view)
        if target is None:
            return None
        foreign, aimed = association.keys_for(target)
        key = foreign.read(view)
        return None if key is None else (target, aimed.fields, key)

    @staticmethod
    def _counted(model: Any, values: dict[str, Any] | None) -> bool:
        """Whether a child in this state counts: it exists and is not soft-deleted."""
        if values is None:
            return False
        soft = model._soft_delete_values()
        return soft is None or all(values.get(name) is None for name in soft)

    # -- callbacks ---------------------------------------------------------------------

    def before_create(self, record: Any) -> None:
        """Count the new child at its parent and touch the parent."""
        values = record.__dict__
        parent = self._parent(values)
        if parent is not None:
            self._apply(record, [(parent, 1 if self._counted(type(record), values) else 0)])

    def before_update(self, record: Any) -> None:
        """Move the count when the child changes parent (or is soft-deleted, or restored); touch."""
        original = record.__pydantic_private__["_original"]
        if record.__dict__ is original or not record.changes:
            return  # nothing to write
        cls = type(record)
        old, new = self._parent(original), self._parent(record.__dict__)
        if self.counter_cache and (old != new or self._counted(cls, original) != self._counted(cls, record.__dict__)):
            # The count moves: take the parent from the row, locked, not from this copy, which
            # may be stale (another copy moved or deleted the child since this one was read).
            original = self._current(record, original)
            if original is None:
                return  # the row is gone: the UPDATE raises RecordNotFound and nothing is counted
            old = self._parent(original)
        changes = []
        if old is not None:
            changes.append((old, -1 if self._counted(cls, original) else 0))
        if new is not None:
            changes.append((new, 1 if self._counted(cls, record.__dict__) else 0))
        self._apply(record, changes)

    @staticmethod
    def _current(record: Any, original: dict[str, Any]) -> dict[str, Any] | None:
        """The child's row as stored now (read FOR UPDATE where the database locks rows)."""
        cls = type(record)
        keys = cls.primary_key_fields()
        query = cls.query().unscoped().where(**{k: original[k] for k in keys})
        if cls.backend().capabilities.supports_for_update:
            query = query.for_update()
        found = query.first()
        return None if found is None else found.__dict__

    def before_delete(self, record: Any) -> None:
        """Remember the row as it is: a soft delete changes the record before after_delete."""
        private = record.__pydantic_private__
        private[_BEFORE_DELETE] = private["_original"]

    def after_delete(self, record: Any) -> None:
        """Uncount the deleted child and touch its parent (unless someone else deleted it first)."""
        private = record.__pydantic_private__
        # read, not popped: every counted belongs_to of the child reads it (before_delete renews it)
        before = private.get(_BEFORE_DELETE) or private["_original"]
        if not private.get("_row_deleted", True):
            return
        parent = self._parent(before)
        if parent is not None:
            self._apply(record, [(parent, -1 if self._counted(type(record), before) else 0)])

    # -- the parent rows ---------------------------------------------------------------

    def _apply(self, record: Any, changes: list[tuple[tuple[type, tuple[str, ...], Any], int]]) -> None:
        """Add each delta to its parent's counter and touch the parents, one UPDATE per parent.

        Parents go in a fixed order, so two transactions moving children
        between the same parents lock them in the same order.
        """
        merged: dict[tuple[type, tuple[str, ...], Any], int] = {}
        for parent, delta in changes:
            merged[parent] = merged.get(parent, 0) + delta
        for (target, fields, key), delta in sorted(
                merged.items(), key=lambda item: (item[0][0].__name__, repr(item[0][2]))):
            counter, touched = self._fields(target)
            deltas = {counter: delta} if counter is not None and delta else {}
            if not deltas and not touched:
                continue
            schema = target._schema()  # type: ignore[attr-defined]
            times = now_values(schema, touched)
            if update_rows(schema, fields, [key], deltas, times):
                self._refresh_cached(record, target, fields, key, schema, deltas, times)

    def _refresh_cached(self, record: Any, target: Any, fields: tuple[str, ...], key: Any, schema: Any,
                        deltas: dict[str, Any], times: dict[str, Any]) -> None:
        """Give the parent cached on the child (``comment.post``) the values just written."""
        cached: Any = relations(record).get(self.association.name)
        if cached is None or type(cached) is not target or cached.is_new_record:
            return
        values = cached.__dict__
        if (values.get(fields[0]) if len(fields) == 1 else tuple(values.get(f) for f in fields)) != key:
            return
        fresh = dict(times)
        if deltas:
            names = tuple(deltas)
            original = cached.__pydantic_private__["_original"]
            if any(f not in original for f in schema.keys):
                return
            rows = schema.backend.execute_raw(schema.reread_sql(names), schema.key_params(original)).rows
            if not rows:
                return
            schema.read_into(fresh, names, rows[0])
        transaction = schema.backend.current_transaction()
        if transaction is not None:
            undo_on_rollback(transaction, cached, tuple(fresh))
        store(cached, schema, fresh)
