"""MySQL and MariaDB backend for rhosocial ActiveRecord.

This module provides:
- the MySQL/MariaDB backend on PyMySQL (``pip install "rhosocial-activerecord[mysql]"``)
- the MySQL dialect (backtick identifiers, ``%s`` placeholders)
- type mappings between generic types and MySQL's native types

The module imports without PyMySQL; creating a backend then raises
``DriverNotInstalledError``.
"""
from .backend import MySQLBackend, MySQLDeadlockError
from .dialect import MySQLDialect, MySQLSQLBuilder
from .types import MYSQL_TYPE_MAPPINGS, MySQLColumnType, MySQLTypes

__all__ = [
    # Dialect
    "MySQLDialect",
    "MySQLSQLBuilder",
    # Backend
    "MySQLBackend",
    "MySQLDeadlockError",
    # Types
    "MYSQL_TYPE_MAPPINGS",
    "MySQLColumnType",
    "MySQLTypes",
]
