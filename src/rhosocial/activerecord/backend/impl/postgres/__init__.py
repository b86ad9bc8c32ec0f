"""PostgreSQL backend for rhosocial ActiveRecord.

This module provides:
- the PostgreSQL backend on psycopg 3 (``pip install "rhosocial-activerecord[postgres]"``)
- the PostgreSQL dialect
- type mappings between generic types and PostgreSQL's types

It imports without psycopg; creating a backend then raises
``DriverNotInstalledError``.
"""

from .backend import PostgresBackend
from .dialect import PostgresDialect, PostgresSQLBuilder
from .types import POSTGRES_TYPE_MAPPINGS, Array, PostgresColumnType, PostgresTypes

__all__ = [
    # Dialect
    "PostgresDialect",
    "PostgresSQLBuilder",
    # Backend
    "PostgresBackend",
    # Types
    "Array",
    "POSTGRES_TYPE_MAPPINGS",
    "PostgresColumnType",
    "PostgresTypes",
]
