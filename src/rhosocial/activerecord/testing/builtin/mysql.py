"""MySQL/MariaDB provider: one uniquely named database per test session.

The server comes from ``RHOSOCIAL_TEST_MYSQL_URL`` (default
``mysql://root@127.0.0.1:3306/test``); the database in the URL is used only
to log in, tests run in ``rhosocial_t_<pid>_<random>``, which is emptied
after each test and dropped at the end.
"""
from __future__ import annotations

import os
import secrets
import weakref
from typing import Any

from ...backend.errors import ConnectionLostError, DatabaseError, DriverNotInstalledError
from ...backend.typing import ConnectionConfig
from ..provider import BackendProvider, ProviderUnavailable, register_provider

DEFAULT_URL = "mysql://root@127.0.0.1:3306/test"
ENABLE_HINT = (
    "set RHOSOCIAL_TEST_MYSQL_URL=mysql://user:password@host:port/db to a reachable "
    "MySQL/MariaDB server, or RHOSOCIAL_TEST_BACKENDS=sqlite to skip MySQL"
)


class MySQLProvider(BackendProvider):
    """Each session gets its own database; each test starts with it empty."""

    name = "mysql"
    needs_server = True

    def __init__(self, url: str | None = None) -> None:
        self.url = url or os.environ.get("RHOSOCIAL_TEST_MYSQL_URL") or DEFAULT_URL
        self.database: str | None = None
        self._admin: Any = None
        self._made: weakref.WeakSet[Any] = weakref.WeakSet()

    def _backend(self, database: str | None, **options: Any) -> Any:
        from ...backend.impl.mysql import MySQLBackend

        config = ConnectionConfig.from_url(self.url)
        config.database = database
        config.options.setdefault("connect_timeout", 5)
        config.options.update(options)
        return MySQLBackend(config)

    def setup_session(self) -> None:
        """Create ``rhosocial_t_<pid>_<random>`` on the server.

        Raises:
            ProviderUnavailable: PyMySQL is missing or the server cannot be reached.
        """
        if self.database is not None:
            return
        try:
            admin = self._backend(ConnectionConfig.from_url(self.url).database)
            admin.connect()
        except DriverNotInstalledError as exc:
            raise ProviderUnavailable(f"PyMySQL is not installed ({exc}); {ENABLE_HINT}") from exc
        except DatabaseError as exc:
            # The driver's message names the server without the password; the URL may hold it.
            raise ProviderUnavailable(f"{exc}; {ENABLE_HINT}") from exc
        name = f"rhosocial_t_{os.getpid()}_{secrets.token_hex(4)}"
        q = admin.dialect.quote_identifier
        admin.execute(f"CREATE DATABASE {q(name)} DEFAULT CHARACTER SET utf8mb4 "
                      f"COLLATE {admin.dialect.collation}", ())
        self._admin = admin
        self.database = name

    def create_backend(self, **options: Any) -> Any:
        """Return a backend on the session database (``options`` as for ``MySQLBackend``)."""
        if self.database is None:
            self.setup_session()
        backend = self._backend(self.database, **options)
        self._made.add(backend)
        return backend

    _LIST_TABLES = ("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = %s")

    def reset(self, backend: Any) -> None:
        """Disconnect every backend of the test, then drop every table and view."""
        backend.disconnect()
        for other in list(self._made):
            other.disconnect()
        self._made = weakref.WeakSet()
        admin = self._admin
        if admin is None:
            return
        try:
            rows = admin.execute(self._LIST_TABLES, (self.database,)).rows
        except ConnectionLostError:  # the next statement reconnects
            rows = admin.execute(self._LIST_TABLES, (self.database,)).rows
        if not rows:
            return
        q = admin.dialect.quote_identifier
        db = q(self.database)
        views = [f"{db}.{q(name)}" for name, kind in rows if kind == "VIEW"]
        tables = [f"{db}.{q(name)}" for name, kind in rows if kind != "VIEW"]
        # A reset must not hang behind a lock a broken test left behind.
        admin.execute("SET SESSION foreign_key_checks = 0, lock_wait_timeout = 10")
        try:
            if views:
                admin.execute("DROP VIEW IF EXISTS " + ", ".join(views), ())
            if tables:
                admin.execute("DROP TABLE IF EXISTS " + ", ".join(tables), ())
        finally:
            admin.execute("SET SESSION foreign_key_checks = 1")

    def teardown_session(self) -> None:
        """Drop the session database."""
        for other in list(self._made):
            other.disconnect()
        admin, self._admin = self._admin, None
        if admin is not None and self.database is not None:
            try:
                admin.execute(f"DROP DATABASE IF EXISTS {admin.dialect.quote_identifier(self.database)}", ())
            finally:
                admin.disconnect()
        self.database = None


register_provider("mysql", MySQLProvider)
