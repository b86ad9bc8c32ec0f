"""The error hierarchy every backend raises.

A driver error never escapes a backend: it is translated into one of these
classes by driver error code (SQLSTATE, MySQL errno, SQLite's extended result
name), chained with ``raise ... from`` so the original stays reachable, and
carries the SQL and parameters of the statement that failed.
"""
from __future__ import annotations

from typing import Any, Sequence


class DatabaseError(Exception):
    """Root of every error raised by this package's database layer.

    Attributes:
        sql: the statement that failed, if any.
        params: its parameters, if any.
        original: the driver's exception, if any (also ``__cause__``).
        code: the driver's error code (SQLSTATE, errno or SQLite error name).
    """

    def __init__(
        self,
        message: str = "",
        *,
        sql: str | None = None,
        params: Sequence[Any] | None = None,
        original: BaseException | None = None,
        code: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sql = sql
        self.params = params
        self.original = original
        self.code = code

    def __str__(self) -> str:
        text = self.message
        if self.code is not None and str(self.code) not in text:
            text = f"{text} [{self.code}]"
        if self.sql:
            sql = self.sql if len(self.sql) <= 300 else self.sql[:297] + "..."
            text = f"{text}\nSQL: {sql}"
        return text


class ConfigurationError(DatabaseError):
    """A backend was configured with settings it cannot use."""


class BackendNotFoundError(ConfigurationError):
    """No backend is registered under the requested name."""


class DriverNotInstalledError(ConfigurationError):
    """The driver a backend needs is not installed; the message names the extra."""


class ConnectionError(DatabaseError):  # noqa: A001 - the guide fixes this name
    """The database could not be reached, refused the login, or went away."""


class ConnectionLostError(ConnectionError):
    """An open connection broke; the transaction in progress is gone."""


class PoolTimeoutError(ConnectionError):
    """No pooled connection became free within ``pool_timeout``; the message names the pool's size."""


class OperationalError(DatabaseError):
    """The database could not run a statement for a reason outside the SQL."""


class ProgrammingError(DatabaseError):
    """The SQL is wrong: syntax error, unknown table or column."""


class DataError(DatabaseError):
    """A value could not be stored: out of range, too long, not encodable."""


class IntegrityError(DatabaseError):
    """Common base of constraint violations (kept for DB-API familiarity)."""


class ConstraintViolationError(IntegrityError):
    """A constraint rejected the write."""


class UniqueViolationError(ConstraintViolationError):
    """A UNIQUE or PRIMARY KEY constraint rejected a duplicate."""


class ForeignKeyViolationError(ConstraintViolationError):
    """A FOREIGN KEY constraint rejected the write."""


class NotNullViolationError(ConstraintViolationError):
    """A NOT NULL column was given no value."""


class CheckViolationError(ConstraintViolationError):
    """A CHECK constraint rejected the write."""


class TransactionError(DatabaseError):
    """A transaction was used wrongly (commit without begin, and the like)."""


class IsolationLevelError(TransactionError, ValueError):
    """An isolation level is unknown or not accepted here."""


class DeadlockError(OperationalError):
    """The database chose this transaction as a deadlock victim."""


class SerializationError(OperationalError):
    """A SERIALIZABLE transaction could not be serialized; retry it."""


class LockTimeoutError(OperationalError):
    """Waiting for a lock took longer than the configured limit."""


class QueryTimeoutError(OperationalError):
    """The statement was cancelled because it ran too long."""


class CommandTimeoutError(QueryTimeoutError, ConnectionLostError):
    """The server did not answer within ``command_timeout``; the connection was dropped.

    Both a :class:`QueryTimeoutError` (the call took too long) and a
    :class:`ConnectionLostError` (the connection, and any transaction open on
    it, is gone: the server may or may not have run the statement).
    """


class ReadOnlyError(OperationalError):
    """A write was attempted in a read-only transaction or database."""


class NotSupportedError(DatabaseError):
    """The backend does not support the requested feature."""


class InvalidIdentifierError(ProgrammingError, ValueError):
    """A table or column name cannot be used as an identifier (empty, NUL, not a string)."""
