"""Errors of the model and query layer (database errors live in ``backend.errors``)."""
from __future__ import annotations

from typing import Any


class ActiveRecordError(Exception):
    """Root of the model layer's own errors."""


class RecordNotFound(ActiveRecordError, LookupError):
    """``find`` or ``one`` found no record."""

    def __init__(self, message: str, model: type | None = None, key: Any = None) -> None:
        super().__init__(message)
        self.model = model
        self.key = key


class MultipleRecordsFound(ActiveRecordError, LookupError):
    """``one`` found more than one record."""


class RecordInvalid(ActiveRecordError, ValueError):
    """A record failed validation at save; nothing was written.

    ``errors`` maps field names (or ``"__all__"``) to messages.
    """

    def __init__(self, record: Any, errors: dict[str, list[str]]) -> None:
        self.record = record
        self.errors = errors
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
        super().__init__(f"{type(record).__name__} is invalid: {detail}")


class UnloadedFieldError(ActiveRecordError, AttributeError):
    """A field the query that loaded the record did not select was read (or is needed to save)."""


class StaleObjectError(ActiveRecordError):
    """An optimistic-locking update found the row changed by someone else; nothing was written."""


class ReadOnlyRecordError(ActiveRecordError):
    """A read-only record (``query.readonly()``) or field (``Field(readonly=True)``) was written; nothing was."""


class UnsafeQueryError(ActiveRecordError):
    """``update_all``/``delete_all`` without a condition (pass ``all_rows=True`` to mean it)."""


class StrictLoadingError(ActiveRecordError):
    """A lazy load happened where strict loading forbids it (an N+1 query in the making)."""


class AsyncLazyLoadError(StrictLoadingError):
    """A lazy association read in async code, where it would block the event loop.

    Load it with ``includes()`` or ``await record.aload(name)`` instead.
    """


class ModelDefinitionError(ActiveRecordError, TypeError):
    """A model class is declared in a way the ORM cannot map."""


class DeleteRestrictedError(ActiveRecordError):
    """A ``dependent='restrict'`` association still has records, so the owner was not deleted."""

    def __init__(self, message: str, record: Any = None, association: str | None = None) -> None:
        super().__init__(message)
        self.record = record
        self.association = association
