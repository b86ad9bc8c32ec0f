"""Backend providers: how a test suite gets a clean database on each backend.

A provider prepares an isolated place once per test session (a temporary
directory, a PostgreSQL schema, a MySQL database), hands each test a fresh
backend pointed at it, empties it after each test and removes it at the end.
Third-party backends subclass :class:`BackendProvider` and register it (entry-point
group ``rhosocial.activerecord.test_providers``) to run the conformance kit.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

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


class GenericProvider(BackendProvider):
    """Runs tests on a database the caller names, for any registered backend.

    Every backend it makes shares the given connection settings; after each
    test it drops the tables that test created through ``create_table`` and
    nothing else, so pointing it at a scratch database is safe. Used by
    ``python -m rhosocial.activerecord check`` when connection options are given.
    """

    needs_server = True

    def __init__(self, backend_name: str, **options: Any) -> None:
        self.name = backend_name
        self.options = options
        self._created: list[tuple[StorageBackend, str]] = []
        self._made: list[StorageBackend] = []

    def setup_session(self) -> None:
        """Connect once to prove the database is reachable."""
        from ..backend.errors import DatabaseError
        from ..backend.registry import create_backend

        try:
            with create_backend(self.name, **self.options) as probe:
                probe.ping()
        except DatabaseError as exc:
            raise ProviderUnavailable(f"cannot use {self.name} with {self.options!r}: {exc}") from exc

    def create_backend(self) -> StorageBackend:
        """Return a backend that remembers the tables it creates."""
        from ..backend.registry import create_backend

        backend = create_backend(self.name, **self.options)
        create_table = backend.create_table
        created = self._created

        def tracked_create_table(table_name: str, *args: Any, **kwargs: Any) -> None:
            create_table(table_name, *args, **kwargs)
            created.append((backend, table_name))

        backend.create_table = tracked_create_table  # type: ignore[method-assign]
        self._made.append(backend)
        return backend

    def reset(self, backend: StorageBackend) -> None:
        """Drop the tables created during the test, newest first, then disconnect."""
        for made in self._made:
            if made.in_transaction:
                made.disconnect()
        created, self._created = self._created, []
        for owner, table in reversed(created):
            owner.drop_table(table, if_exists=True)
        for made in self._made:
            made.disconnect()
        self._made = []


ENTRY_POINT_GROUP = "rhosocial.activerecord.test_providers"

_providers: dict[str, Callable[[], BackendProvider]] = {}
_loaded = False


def register_provider(name: str, factory: Callable[[], BackendProvider]) -> None:
    """Register a provider factory (a ``BackendProvider`` subclass will do) under a backend name."""
    _providers[name] = factory


def registered_providers() -> list[str]:
    """Return the names of every registered provider: built-in ones and entry points."""
    _load_builtins()
    return list(_providers)


def provider_names(default: str | None = None) -> list[str]:
    """Return the backends to test.

    ``RHOSOCIAL_TEST_BACKENDS`` wins; then ``default`` (the ``rhosocial_backends``
    ini setting); then every registered provider.
    """
    wanted = os.environ.get("RHOSOCIAL_TEST_BACKENDS") or default
    if wanted:
        return [n.strip() for n in wanted.split(",") if n.strip()]
    return registered_providers()


def get_provider(name: str) -> BackendProvider:
    """Create the provider registered under ``name``."""
    _load_builtins()
    try:
        factory = _providers[name]
    except KeyError:
        raise KeyError(f"No test provider for backend {name!r}; known: {', '.join(_providers)}") from None
    return factory()


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from . import builtin  # noqa: F401  (registers the built-in providers)

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _providers:
            _providers[ep.name] = _lazy(ep.value)


def _lazy(target: str) -> Callable[[], BackendProvider]:
    def factory() -> BackendProvider:
        module_name, _, attr = target.partition(":")
        return getattr(importlib.import_module(module_name), attr)()

    return factory
