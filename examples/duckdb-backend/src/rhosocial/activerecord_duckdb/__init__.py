"""DuckDB backend for rhosocial ActiveRecord.

This package provides:
- the DuckDB backend on the ``duckdb`` module
- the DuckDB dialect
- type mappings between generic types and DuckDB's types
"""
from .backend import DuckDBBackend
from .dialect import DuckDBDialect
from .types import DUCKDB_TYPE_MAPPINGS, DuckDBColumnType

__all__ = ["DUCKDB_TYPE_MAPPINGS", "DuckDBBackend", "DuckDBColumnType", "DuckDBDialect"]
