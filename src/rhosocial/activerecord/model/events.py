"""Lifecycle events: overridable hook methods plus registered callbacks.

Which events a model actually uses is worked out once per class (and again
after a callback is registered), so saving a model with no hooks pays for a
set lookup, not for calling empty methods.
"""
from __future__ import annotations

from typing import Any, Callable

from .metadata import _version, metadata_of

EVENTS = (
    "before_validate", "after_validate",
    "before_save", "after_save",
    "before_create", "after_create",
    "before_update", "after_update",
    "before_delete", "after_delete",
    "after_commit", "after_rollback",
)

Callback = Callable[[Any], Any]


class CallbackRegistry:
    """Callbacks registered per class; subclasses inherit their ancestors' callbacks.

    The callbacks live in each class's :class:`~rhosocial.activerecord.model.metadata.ModelMetadata`,
    so registering one keeps no class alive. Safe under threads: registering
    takes a lock and bumps a version, and a resolution computed from an older
    version is never stored, so a callback registered while another thread
    first saves a model is not lost.
    """

    @staticmethod
    def add(model: type, event: str, callback: Callback) -> None:
        """Register ``callback`` for ``event`` on ``model`` and its subclasses."""
        if event not in EVENTS:
            raise ValueError(f"Unknown event {event!r}; events are: {', '.join(EVENTS)}")
        if not callable(callback):
            raise TypeError(f"Callback for {event!r} must be callable, got {callback!r}")
        metadata_of(model).add_callback(event, callback)

    @staticmethod
    def remove(model: type, event: str, callback: Callback) -> None:
        """Unregister a callback added with :meth:`add`."""
        metadata_of(model).remove_callback(event, callback)

    @staticmethod
    def callbacks(model: type, event: str) -> tuple[Callback, ...]:
        """Return the callbacks for ``event`` on ``model``, ancestors' first."""
        return metadata_of(model).callbacks(event)

    @staticmethod
    def active(model: type) -> frozenset[str]:
        """Return the events for which ``model`` has an overridden hook or a callback.

        An overridden ``validate_record`` is listed too, so a save can skip validation
        that would find nothing.
        """
        # ModelMetadata.active_events' cached answer, read here without a call: every save asks.
        meta = model.__meta__  # type: ignore[attr-defined]  # every model class has its own
        found = meta._active
        if found is not None and meta._seen_version == _version[0]:
            return found
        return meta.active_events()
