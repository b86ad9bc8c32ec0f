"""Lifecycle events: overridable hook methods plus registered callbacks.

Which events a model actually uses is worked out once per class (and again
after a callback is registered), so saving a model with no hooks pays for a
set lookup, not for calling empty methods.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

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

    Safe under threads: registering takes a lock and bumps a version, and a
    cache entry computed from an older version is never stored, so a
    callback registered while another thread first saves a model is not lost.
    """

    _callbacks: dict[type, dict[str, list[Callback]]] = {}
    _active: dict[type, frozenset[str]] = {}
    _resolved: dict[tuple[type, str], tuple[Callback, ...]] = {}
    _lock = threading.Lock()
    _version = 0

    @classmethod
    def add(cls, model: type, event: str, callback: Callback) -> None:
        """Register ``callback`` for ``event`` on ``model`` and its subclasses."""
        if event not in EVENTS:
            raise ValueError(f"Unknown event {event!r}; events are: {', '.join(EVENTS)}")
        if not callable(callback):
            raise TypeError(f"Callback for {event!r} must be callable, got {callback!r}")
        with cls._lock:
            callbacks = cls._callbacks.setdefault(model, {}).setdefault(event, [])
            cls._callbacks[model][event] = [*callbacks, callback]  # readers may hold the old list
            cls._changed()

    @classmethod
    def remove(cls, model: type, event: str, callback: Callback) -> None:
        """Unregister a callback added with :meth:`add`."""
        with cls._lock:
            callbacks = list(cls._callbacks.get(model, {}).get(event, []))
            callbacks.remove(callback)
            cls._callbacks[model][event] = callbacks
            cls._changed()

    @classmethod
    def _changed(cls) -> None:
        # called with the lock held
        CallbackRegistry._version += 1
        cls._active.clear()
        cls._resolved.clear()

    @classmethod
    def callbacks(cls, model: type, event: str) -> tuple[Callback, ...]:
        """Return the callbacks for ``event`` on ``model``, ancestors' first."""
        key = (model, event)
        found = cls._resolved.get(key)
        if found is None:
            version = CallbackRegistry._version
            collected: list[Callback] = []
            for klass in reversed(model.__mro__):
                collected.extend(cls._callbacks.get(klass, {}).get(event, ()))
            found = tuple(collected)
            with cls._lock:
                if version == CallbackRegistry._version:
                    cls._resolved[key] = found
        return found

    @classmethod
    def active(cls, model: type) -> frozenset[str]:
        """Return the events for which ``model`` has an overridden hook or a callback.

        An overridden ``validate_record`` is listed too, so a save can skip validation
        that would find nothing.
        """
        found = cls._active.get(model)
        if found is None:
            from .base import ActiveRecord

            version = CallbackRegistry._version
            events = set()
            for event in EVENTS:
                if getattr(model, event) is not getattr(ActiveRecord, event) or cls.callbacks(model, event):
                    events.add(event)
            if getattr(model, "validate_record") is not ActiveRecord.validate_record:
                events.add("validate_record")
            found = frozenset(events)
            with cls._lock:
                if version == CallbackRegistry._version:
                    cls._active[model] = found
        return found
