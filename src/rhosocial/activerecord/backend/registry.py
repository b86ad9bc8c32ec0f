"""Find backends by name: built-in ones lazily, third-party ones by entry point."""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from .errors import BackendNotFoundError, ConfigurationError, DriverNotInstalledError

if TYPE_CHECKING:
    from .base import StorageBackend

ENTRY_POINT_GROUP = "rhosocial.activerecord.backends"

# name -> class or "module:Class"; aliases point at the same target.
_registry: dict[str, Any] = {
    "sqlite": "rhosocial.activerecord.backend.impl.sqlite:SQLiteBackend",
    "postgres": "rhosocial.activerecord.backend.impl.postgres:PostgresBackend",
    "mysql": "rhosocial.activerecord.backend.impl.mysql:MySQLBackend",
}
_aliases: dict[str, str] = {
    "sqlite3": "sqlite",
    "postgresql": "postgres",
    "pg": "postgres",
    "mariadb": "mysql",
}
_entry_points_loaded = False


def register_backend(name: str, target: "type[StorageBackend] | str") -> None:
    """Register a backend class, or a lazy ``"module:Class"`` path, under ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError("Backend name must be a non-empty string")
    if not (isinstance(target, str) and ":" in target) and not isinstance(target, type):
        raise TypeError(f"Backend target must be a class or 'module:Class', got {target!r}")
    _registry[name.lower()] = target


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _registry.setdefault(ep.name.lower(), ep.value)


def available_backends() -> list[str]:
    """Return the registered backend names, built-in and discovered."""
    _load_entry_points()
    return sorted(_registry)


def resolve_backend_name(name: str) -> str:
    """Return the canonical registry name for ``name`` or an alias of it."""
    key = name.lower()
    return _aliases.get(key, key)


def get_backend_class(name: str) -> "type[StorageBackend]":
    """Return the backend class registered under ``name``, importing it if needed.

    Raises:
        BackendNotFoundError: nothing is registered under ``name``.
        DriverNotInstalledError: the backend's driver is missing.
    """
    if not isinstance(name, str):
        raise BackendNotFoundError(f"Backend name must be a string, got {name!r}")
    _load_entry_points()
    key = resolve_backend_name(name)
    target = _registry.get(key)
    if target is None:
        raise BackendNotFoundError(
            f"Unknown backend {name!r}. Available backends: {', '.join(available_backends())}"
        )
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except DriverNotInstalledError:
            raise
        except ImportError as exc:
            raise BackendNotFoundError(f"Backend {name!r} could not be imported from {target!r}: {exc}") from exc
        try:
            target = getattr(module, attr)
        except AttributeError as exc:
            raise BackendNotFoundError(f"Backend {name!r}: {module_name} has no {attr!r}") from exc
        _registry[key] = target
    return target


def create_backend(backend_type: str, **config: Any) -> "StorageBackend":
    """Create a backend by registry name with connection settings.

    Example: ``create_backend("sqlite", database=":memory:")``.
    """
    if backend_type is None:
        raise ConfigurationError("No backend given")
    cls = get_backend_class(backend_type)
    return cls(**config)
