"""The backend layer: the storage contract, dialects, types, errors and the registry."""
from __future__ import annotations

from .base import ColumnTypes, StorageBackend
from .capabilities import Capabilities
from .dialect import ColumnType, SQLBuilder, SQLDialectBase, TypeMapping
from .errors import (
    BackendNotFoundError,
    CheckViolationError,
    CommandTimeoutError,
    ConfigurationError,
    ConnectionError,
    ConnectionLostError,
    ConstraintViolationError,
    DatabaseError,
    DataError,
    DeadlockError,
    DriverNotInstalledError,
    ForeignKeyViolationError,
    IntegrityError,
    InvalidIdentifierError,
    IsolationLevelError,
    LockTimeoutError,
    NotNullViolationError,
    NotSupportedError,
    OperationalError,
    PoolTimeoutError,
    ProgrammingError,
    QueryTimeoutError,
    ReadOnlyError,
    SerializationError,
    TransactionError,
    UniqueViolationError,
)
from .introspection import ConstraintInfo, ForeignKeyInfo, IndexInfo, TableInfo
from .pool import ConnectionPool, PoolSettings, PoolStats
from .transaction import Transaction, TransactionStatus
from .helpers import format_decimal, format_with_length, format_with_precision
from .registry import available_backends, create_backend, get_backend_class, register_backend
from .typing import (
    NO_DEFAULT,
    ColumnDef,
    ColumnInfo,
    ConnectionConfig,
    DatabaseType,
    IsolationLevel,
    QueryResult,
    SQLDefault,
    TableName,
)

__all__ = [
    "BackendNotFoundError", "Capabilities", "CheckViolationError", "ColumnDef", "ColumnInfo", "ConstraintInfo", "ForeignKeyInfo", "IndexInfo", "TableInfo",
    "CommandTimeoutError", "ConnectionPool", "PoolSettings", "PoolStats", "PoolTimeoutError",
    "Transaction", "TransactionStatus",
    "ColumnType", "ColumnTypes", "ConfigurationError", "ConnectionConfig", "ConnectionError",
    "ConnectionLostError", "ConstraintViolationError", "DataError", "DatabaseError", "DatabaseType",
    "DeadlockError", "DriverNotInstalledError", "ForeignKeyViolationError", "IntegrityError",
    "InvalidIdentifierError", "IsolationLevel", "IsolationLevelError", "LockTimeoutError",
    "NO_DEFAULT", "NotNullViolationError", "NotSupportedError", "OperationalError",
    "ProgrammingError", "QueryResult", "QueryTimeoutError", "ReadOnlyError", "SQLBuilder", "SQLDefault", "TableName",
    "SQLDialectBase", "SerializationError", "StorageBackend", "TransactionError", "TypeMapping",
    "UniqueViolationError", "available_backends", "create_backend", "format_decimal",
    "format_with_length", "format_with_precision", "get_backend_class", "register_backend",
]
