"""What a connected backend can do, decided once at connect."""
from __future__ import annotations

from dataclasses import dataclass, fields

from .typing import IsolationLevel

ALL_ISOLATION_LEVELS = frozenset(IsolationLevel)


@dataclass(frozen=True)
class Capabilities:
    """Feature flags of one backend connection.

    Model and query code consult these flags instead of asking which database
    is in use; the conformance kit skips the tests of a feature whose flag is
    false and holds a backend to every feature whose flag is true.
    """

    supports_transactions: bool = True
    supports_savepoints: bool = True
    isolation_levels: frozenset[IsolationLevel] = ALL_ISOLATION_LEVELS
    supports_read_only_transactions: bool = False
    supports_returning: bool = False  # INSERT ... RETURNING
    supports_update_returning: bool = False  # UPDATE ... RETURNING
    supports_delete_returning: bool = False  # DELETE ... RETURNING
    reports_last_insert_id: bool = True  # the driver reports the key of an INSERT (lastrowid)
    supports_for_update: bool = False
    supports_skip_locked: bool = False
    supports_foreign_keys: bool = True
    supports_foreign_key_actions: bool = True  # ON DELETE CASCADE / SET NULL
    supports_check_constraints: bool = True
    supports_partial_indexes: bool = False  # CREATE INDEX ... WHERE
    # DDL runs inside a transaction and rolls back with it (False: each DDL statement commits).
    supports_transactional_ddl: bool = True
    # Every schema change of the migration operations works, on tables with indexes and foreign
    # keys too (False: only plain tables can be altered; the kit checks those).
    supports_schema_changes: bool = True
    supports_json: bool = True
    supports_arrays: bool = False
    supports_computed_columns: bool = False  # GENERATED ALWAYS AS (...) STORED columns
    supports_native_uuid: bool = False
    supports_native_decimal: bool = True
    supports_timezone_aware_datetime: bool = False
    supports_window_functions: bool = True
    supports_cte: bool = True
    supports_upsert: bool = False
    supports_nul_in_text: bool = True
    supports_lock_timeout: bool = False
    supports_statement_timeout: bool = False
    supports_multiple_connections: bool = True  # False: the database lives in one connection (:memory:)
    # Write transactions run one at a time (the database takes its write lock at BEGIN), so a
    # read-then-write in a transaction cannot lose an update even without FOR UPDATE (SQLite).
    serializes_write_transactions: bool = False
    max_identifier_length: int = 0  # 0: no practical limit
    max_bind_parameters: int = 999  # parameters one statement may carry (eager loading sizes IN lists by it)
    server_version: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Return the flags as a plain dict (for tables and reports)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
