"""Backend-layer facts that need no database: the error hierarchy, level parsing, logging setup."""
from __future__ import annotations

import logging

import pytest

from rhosocial.activerecord.backend import (
    CheckViolationError,
    ConstraintViolationError,
    DatabaseError,
    ForeignKeyViolationError,
    IntegrityError,
    IsolationLevel,
    NotNullViolationError,
    ProgrammingError,
    UniqueViolationError,
    errors,
)

LOGGER = "rhosocial.activerecord.backend"


@pytest.mark.parametrize("spelling, expected", [
    ("Read_Committed", IsolationLevel.READ_COMMITTED),
    ("  repeatable   read ", IsolationLevel.REPEATABLE_READ),
    ("serializable", IsolationLevel.SERIALIZABLE),
])
def test_isolation_level_parsing(spelling, expected):
    assert IsolationLevel.parse(spelling) is expected


def test_hierarchy():
    for cls in (UniqueViolationError, ForeignKeyViolationError, NotNullViolationError,
                CheckViolationError):
        assert issubclass(cls, ConstraintViolationError)
        assert issubclass(cls, IntegrityError)
        assert issubclass(cls, DatabaseError)
    for cls in (errors.DeadlockError, errors.SerializationError, errors.LockTimeoutError,
                errors.QueryTimeoutError, errors.ReadOnlyError):
        assert issubclass(cls, errors.OperationalError)
    assert issubclass(errors.ConnectionLostError, errors.ConnectionError)
    assert issubclass(errors.InvalidIdentifierError, ProgrammingError)
    assert issubclass(errors.BackendNotFoundError, errors.ConfigurationError)
    assert issubclass(errors.IsolationLevelError, errors.TransactionError)
    assert errors.ConnectionError is not ConnectionError  # ours, not the builtin


def test_error_without_statement_has_a_plain_message():
    err = DatabaseError("plain")
    assert str(err) == "plain"
    assert (err.sql, err.params, err.original, err.code) == (None, None, None, None)
    coded = DatabaseError("boom", code="E42", sql="SELECT 1")
    assert str(coded) == "boom [E42]\nSQL: SELECT 1"
    long_sql = "SELECT " + "x, " * 200 + "1"
    assert str(DatabaseError("m", sql=long_sql)).endswith("...")


def test_the_package_adds_no_handlers():
    logger = logging.getLogger(LOGGER)
    assert all(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert not logger.isEnabledFor(logging.DEBUG) or logging.getLogger().level <= logging.DEBUG
