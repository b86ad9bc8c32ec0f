"""Process-wide default backend, set by :func:`configure`."""
from __future__ import annotations

from typing import Any

from .backend.base import StorageBackend
from .backend.errors import ConfigurationError
from .backend.registry import create_backend
from .backend.typing import URL_SCHEMES

_default_backend: StorageBackend | None = None


def backend_from_settings(backend: "str | StorageBackend | None" = None, **settings: Any) -> StorageBackend:
    """Build a backend from a name or URL plus settings (or pass an instance through)."""
    if isinstance(backend, StorageBackend):
        if settings:
            raise ConfigurationError("Settings cannot be combined with a backend instance")
        return backend
    url = settings.get("url")
    if backend is None and url:
        scheme = str(url).split(":", 1)[0].split("+", 1)[0].lower()
        backend = URL_SCHEMES.get(scheme, scheme)
    if backend is None:
        raise ConfigurationError("configure() needs backend='sqlite' (or another name) or url='...'")
    return create_backend(backend, **settings)


def configure(backend: "str | StorageBackend | None" = None, **settings: Any) -> StorageBackend:
    """Set the default backend every model uses unless it has its own.

    Examples::

        configure(backend="sqlite", database="app.db")
        configure(url="postgresql://postgres@127.0.0.1/test")

    Returns the backend, which connects on first use. A previous default
    backend is disconnected.
    """
    global _default_backend
    new = backend_from_settings(backend, **settings)
    old, _default_backend = _default_backend, new
    if old is not None and old is not new:
        old.disconnect()
    return new


def get_default_backend() -> StorageBackend:
    """Return the backend set by :func:`configure`.

    Raises:
        ConfigurationError: :func:`configure` has not been called.
    """
    if _default_backend is None:
        raise ConfigurationError(
            "No database configured: call rhosocial.activerecord.configure(backend='sqlite', "
            "database='app.db') first, or give the model its own backend"
        )
    return _default_backend
