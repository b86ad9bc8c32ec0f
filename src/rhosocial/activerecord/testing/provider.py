"""Backend providers: how a test suite gets a clean database on each backend.

A provider prepares an isolated place once per test session (a temporary
directory, a PostgreSQL schema, a MySQL database), hands each test a fresh
backend pointed at it, empties it after each test and removes it at the end.
Third-party backends subclass :class:`BackendProvider` to run the shared suite.
"""
from __future__ import annotations

import os
from typing import Callable

from ..backend.base import StorageBackend


class ProviderUnavailable(Exception):
    """The provider's database cannot be reached; the message says how to enable it."""


class BackendProvider:
    """Gives tests fresh backends of one kind.

    Subclasses set ``name`` and implement :meth:`create_backend`; server
    backends also implement :meth:`setup_session`, :meth:`reset` and
    :meth:`teardown_session`.
    """

    name: str = ""
    #: Whether this provider talks to a server (a server that is down fails under CI).
    needs_server: bool = False

    def setup_session(self) -> None:
        """Prepare the isolated database once per session.

        Raises:
            ProviderUnavailable: the database cannot be reached.
        """

    def create_backend(self) -> StorageBackend:
        """Return a new backend connected to the isolated database."""
        raise NotImplementedError

    def reset(self, backend: StorageBackend) -> None:
        """Remove everything a test created, through ``backend`` or a new connection."""
        backend.disconnect()

    def teardown_session(self) -> None:
        """Remove the isolated database."""


_providers: dict[str, Callable[[], BackendProvider]] = {}


def register_provider(name: str, factory: Callable[[], BackendProvider]) -> None:
    """Register a provider factory under a backend name."""
    _providers[name] = factory


def provider_names() -> list[str]:
    """Return the backends to test: ``RHOSOCIAL_TEST_BACKENDS`` or every built-in one."""
    _load_builtins()
    wanted = os.environ.get("RHOSOCIAL_TEST_BACKENDS")
    if wanted:
        return [n.strip() for n in wanted.split(",") if n.strip()]
    return list(_providers)


def get_provider(name: str) -> BackendProvider:
    """Create the provider registered under ``name``."""
    _load_builtins()
    try:
        return _providers[name]()
    except KeyError:
        raise KeyError(f"No test provider for backend {name!r}; known: {', '.join(_providers)}") from None


def _load_builtins() -> None:
    if _providers:
        return
    from . import builtin  # noqa: F401  (registers the built-in providers)
