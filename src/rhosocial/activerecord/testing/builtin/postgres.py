"""PostgreSQL provider: one schema per test session, emptied after every test.

The server comes from ``RHOSOCIAL_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Each session creates a schema
named ``rhosocial_t_<pid>_<random>``, so parallel runs never meet; every
backend the provider makes has it as its ``search_path``.
"""

from __future__ import annotations

import os
import secrets
import weakref
from typing import Any

from ...backend.errors import DatabaseError, DriverNotInstalledError
from ..provider import BackendProvider, ProviderUnavailable, register_provider

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
HOW_TO_ENABLE = (
    "set RHOSOCIAL_TEST_POSTGRES_URL to a reachable server "
    f"(default {DEFAULT_URL}), or RHOSOCIAL_TEST_BACKENDS=sqlite to skip PostgreSQL"
)


class PostgresProvider(BackendProvider):
    """Gives tests backends on a private schema; ``reset`` drops and recreates it."""

    name = "postgres"
    needs_server = True

    def __init__(self) -> None:
        self.url = os.environ.get("RHOSOCIAL_TEST_POSTGRES_URL") or DEFAULT_URL
        self.schema: str | None = None
        self._admin: Any = None
        self._made: weakref.WeakSet = weakref.WeakSet()

    @property
    def application_name(self) -> str:
        """The application_name of test connections (used to find leaked sessions)."""
        return f"rhosocial-test-{self.schema}"

    def setup_session(self) -> None:
        try:
            from ...backend.impl.postgres import PostgresBackend

            admin = PostgresBackend(
                url=self.url,
                connect_timeout=5,
                lock_timeout=30,
                application_name="rhosocial-test-admin",
            )
            admin.connect()
        except DriverNotInstalledError as exc:
            raise ProviderUnavailable(f"psycopg is not installed ({exc}); {HOW_TO_ENABLE}") from exc
        except DatabaseError as exc:
            raise ProviderUnavailable(f"{exc}; {HOW_TO_ENABLE}") from exc
        self._admin = admin
        self.schema = f"rhosocial_t_{os.getpid()}_{secrets.token_hex(4)}"
        admin.execute(f"CREATE SCHEMA {admin.dialect.quote_identifier(self.schema)}")

    def create_backend(self, **options):
        """Return a backend on the session schema; ``options`` are extra backend settings."""
        from ...backend.impl.postgres import PostgresBackend

        if self.schema is None:
            self.setup_session()
        settings = {"search_path": self.schema, "application_name": self.application_name}
        settings.update(options)
        backend = PostgresBackend(url=self.url, **settings)
        self._made.add(backend)
        return backend

    def reset(self, backend) -> None:
        backend.disconnect()
        for other in list(self._made):
            other.disconnect()
        admin = self._admin
        if admin is None or self.schema is None:
            return
        # Sessions a test leaked (threads, forgotten backends) would block the DROP.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND pid <> pg_backend_pid()",
            [self.application_name],
        )
        q = admin.dialect.quote_identifier(self.schema)
        admin.execute(f"DROP SCHEMA IF EXISTS {q} CASCADE")
        admin.execute(f"CREATE SCHEMA {q}")

    def teardown_session(self) -> None:
        for other in list(self._made):
            other.disconnect()
        admin, self._admin = self._admin, None
        if admin is None or self.schema is None:
            return
        try:
            q = admin.dialect.quote_identifier(self.schema)
            admin.execute(f"DROP SCHEMA IF EXISTS {q} CASCADE")
        finally:
            admin.disconnect()


register_provider("postgres", PostgresProvider)
