"""Ready-made behaviours: timestamps, soft delete, optimistic locking, UUID keys.

Mixins go before ``ActiveRecord`` in the bases so their hooks run and call on
to the next class: ``class Post(TimestampMixin, SoftDeleteMixin, ActiveRecord)``.
"""
from __future__ import annotations

import datetime as _dt
import uuid
from typing import Any, ClassVar, Optional

import pydantic

from ..query import expressions as ex
from .base import scope


def utc_now() -> _dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return _dt.datetime.now(_dt.timezone.utc)


class TimestampMixin(pydantic.BaseModel):
    """``created_at`` set on insert, ``updated_at`` on every insert and changing update (UTC, aware)."""

    created_at: Optional[_dt.datetime] = None
    updated_at: Optional[_dt.datetime] = None

    def before_create(self) -> None:
        """Stamp both times."""
        now = utc_now()
        if self.created_at is None:
            self.created_at = now
        self.updated_at = now
        super().before_create()  # type: ignore[misc]

    @classmethod
    def _bulk_timestamps(cls) -> tuple[str, ...]:
        return ("created_at", "updated_at")

    def before_update(self) -> None:
        """Stamp ``updated_at`` when something else changed."""
        if self.changes:  # type: ignore[attr-defined]
            self.updated_at = utc_now()
        super().before_update()  # type: ignore[misc]


class SoftDeleteMixin(pydantic.BaseModel):
    """``delete()`` sets ``deleted_at`` instead of removing the row; queries hide deleted rows.

    ``Model.with_deleted()`` / ``query().with_deleted()`` include them,
    ``only_deleted()`` shows only them, ``restore()`` undeletes and
    ``hard_delete()`` removes the row for good.

    Only a row not deleted yet is marked: deleting through a second copy
    returns ``False``, as a hard delete of a gone row does (so counter
    caches count it once), or under optimistic locking raises
    ``StaleObjectError``. Without a lock the delete writes ``deleted_at``
    alone and other unsaved changes stay unsaved; with one, they are saved
    with the mark and the version goes up.
    """

    deleted_at: Optional[_dt.datetime] = None

    @classmethod
    def _default_scopes(cls) -> dict[str, ex.Expr]:
        scopes = dict(super()._default_scopes())  # type: ignore[misc]
        scopes["soft_delete"] = cls.c.deleted_at.is_null()  # type: ignore[attr-defined]
        return scopes

    @classmethod
    def _soft_delete_values(cls) -> dict[str, Any] | None:
        return {"deleted_at": utc_now()}

    @scope
    def with_deleted(query: Any) -> Any:  # noqa: N805 - a scope takes the query
        """Include soft-deleted rows."""
        return query.unscoped("soft_delete")

    @scope
    def only_deleted(query: Any) -> Any:  # noqa: N805
        """Show only soft-deleted rows."""
        return query.unscoped("soft_delete").where(query.model.c.deleted_at.is_not_null())

    @property
    def is_deleted(self) -> bool:
        """Whether the record is soft-deleted (or its row was removed for good)."""
        return self.deleted_at is not None or bool(self.__pydantic_private__.get("_deleted"))  # type: ignore[union-attr]

    def _delete_row(self, schema: Any) -> bool:
        if self.__pydantic_private__.get("_hard_delete"):  # type: ignore[union-attr]
            return super()._delete_row(schema)  # type: ignore[misc]
        from ..errors import RecordNotFound

        cls: Any = type(self)
        if cls.__lock_column__ is None:
            # Only a row not deleted yet is marked: a second delete through another copy finds
            # none and says so (False), as a hard delete of a gone row does. Other unsaved
            # changes stay unsaved.
            original = self.__pydantic_private__["_original"]  # type: ignore[index]
            now = utc_now()
            key = {k: original[k] for k in cls.primary_key_fields()}
            if not cls.query().unscoped().where(cls.c.deleted_at.is_null(), **key).update_all(deleted_at=now):
                return False
            object.__setattr__(self, "__dict__", {**self.__dict__, "deleted_at": now})
            self._saved_as({**original, "deleted_at": now})  # type: ignore[attr-defined]
            return True
        self.deleted_at = utc_now()  # the version check refuses a stale copy, a second delete too
        try:
            self._update(schema)  # type: ignore[attr-defined]
        except RecordNotFound:
            return False  # the row is gone already
        return True

    def hard_delete(self) -> None:
        """Remove the row for good (runs the delete hooks)."""
        private = self.__pydantic_private__
        assert private is not None
        private["_hard_delete"] = True
        try:
            self.delete()  # type: ignore[attr-defined]
        finally:
            private.pop("_hard_delete", None)

    def restore(self) -> Any:
        """Undelete a soft-deleted record."""
        self.deleted_at = None
        return self.save()  # type: ignore[attr-defined]


class OptimisticLockMixin(pydantic.BaseModel):
    """A ``lock_version`` column: an update or delete of a stale copy raises ``StaleObjectError``."""

    lock_version: int = 0
    __lock_column__: ClassVar[str | None] = "lock_version"


class UUIDPrimaryKeyMixin(pydantic.BaseModel):
    """A random UUID primary key ``id``, generated on construction."""

    id: uuid.UUID = pydantic.Field(default_factory=uuid.uuid4)
