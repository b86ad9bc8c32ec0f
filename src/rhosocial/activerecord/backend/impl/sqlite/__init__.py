"""SQLite backend for rhosocial ActiveRecord.

This module provides:
- the SQLite backend on the standard library's ``sqlite3``
- the SQLite dialect
- type mappings between generic types and SQLite's declared types
"""
from .backend import SQLiteBackend
from .dialect import SQLiteDialect, SQLiteSQLBuilder
from .types import SQLITE_TYPE_MAPPINGS, SQLiteColumnType, SQLiteTypes

__all__ = [
    # Dialect
    "SQLiteDialect",
    "SQLiteSQLBuilder",
    # Backend
    "SQLiteBackend",
    # Types
    "SQLITE_TYPE_MAPPINGS",
    "SQLiteColumnType",
    "SQLiteTypes",
]
