"""The SQLite backend on the standard library's ``sqlite3``."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from ...base import StorageBackend
from ...capabilities import ALL_ISOLATION_LEVELS, Capabilities
from ...errors import (
    CheckViolationError,
    ConfigurationError,
    ConnectionError,
    ConstraintViolationError,
    DatabaseError,
    DataError,
    ForeignKeyViolationError,
    LockTimeoutError,
    NotNullViolationError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    QueryTimeoutError,
    ReadOnlyError,
    UniqueViolationError,
)
from ...helpers import as_bool, base_type_name, check_options
from ...introspection import ConstraintInfo, ForeignKeyInfo, IndexInfo, fk_action
from ...transaction import TransactionStatus
from ...typing import NO_DEFAULT, ColumnDef, ColumnInfo, IsolationLevel, QueryResult, SQLDefault, split_table_name
from . import rebuild as _rebuild
from .dialect import SQLiteDialect
from .types import SQLITE_NATIVE_TYPES

_ACTIVE, _IDLE = TransactionStatus.ACTIVE, TransactionStatus.IDLE
_KNOWN_OPTIONS = frozenset({"timeout", "wal", "foreign_keys", "transaction_mode", "cached_statements",
                            "immutable", "check_same_thread", "attach"})

# sqlite_errorname -> error class; the longest matching prefix wins.
_ERROR_CLASSES: dict[str, type[DatabaseError]] = {
    "SQLITE_CONSTRAINT_UNIQUE": UniqueViolationError,
    "SQLITE_CONSTRAINT_PRIMARYKEY": UniqueViolationError,
    "SQLITE_CONSTRAINT_ROWID": UniqueViolationError,
    "SQLITE_CONSTRAINT_FOREIGNKEY": ForeignKeyViolationError,
    "SQLITE_CONSTRAINT_NOTNULL": NotNullViolationError,
    "SQLITE_CONSTRAINT_CHECK": CheckViolationError,
    "SQLITE_CONSTRAINT": ConstraintViolationError,
    "SQLITE_BUSY": LockTimeoutError,
    "SQLITE_LOCKED": LockTimeoutError,
    "SQLITE_READONLY": ReadOnlyError,
    "SQLITE_INTERRUPT": QueryTimeoutError,
    "SQLITE_CANTOPEN": ConnectionError,
    "SQLITE_NOTADB": ConnectionError,
    "SQLITE_TOOBIG": DataError,
    "SQLITE_MISMATCH": DataError,
    "SQLITE_RANGE": ProgrammingError,
    "SQLITE_AUTH": ProgrammingError,
    "SQLITE_FULL": OperationalError,
    "SQLITE_IOERR": OperationalError,
    "SQLITE_CORRUPT": OperationalError,
    "SQLITE_ERROR": ProgrammingError,
}


class SQLiteBackend(StorageBackend):
    """SQLite through ``sqlite3``: file or ``:memory:`` databases.

    Settings (keywords or ``options``):
        database: file path or ``":memory:"`` (the default).
        timeout: seconds to wait for a lock before ``LockTimeoutError`` (5).
        wal: write-ahead logging for a file database (on unless ``wal=False``):
            readers never wait for the writer, and the writer never waits for
            readers. The setting stays with the file (``-wal``/``-shm`` files
            appear beside it). Turn it off for a database on a network file
            system, or one that tools needing the rollback journal open.
        foreign_keys: enforce foreign keys (on by default).
        attach: ``{"archive": "archive.db"}``: more database files, attached
            under those schema names on every connection, so models name them
            with ``__table_schema__ = "archive"``.
        transaction_mode: the ``BEGIN`` mode: DEFERRED, IMMEDIATE or EXCLUSIVE.
            By default a read-write transaction begins IMMEDIATE (it takes the
            write lock at once, so concurrent writers queue behind the busy
            timeout instead of failing when a read turns into a write) and a
            read-only one DEFERRED.

    The driver's implicit transactions are off (``isolation_level=None``):
    statements outside ``begin_transaction`` commit on their own, and
    transactions start with an explicit ``BEGIN``.

    Threads: a file database gets a pool of connections like any backend
    (each used by one thread at a time, so ``check_same_thread`` is off);
    write-ahead logging lets readers run while one connection writes. An in-memory
    database lives in its one connection: the pool keeps exactly that one,
    and threads take turns on it.
    """

    name = "sqlite"
    driver_name = "sqlite3"
    dialect_class = SQLiteDialect

    def __init__(self, connection_config: Any = None, **kwargs: Any) -> None:
        super().__init__(connection_config, **kwargs)
        if not self.config.database:
            self.config.database = ":memory:"
        options = self.config.options
        check_options("SQLite", options, _KNOWN_OPTIONS, {
            "statement_timeout": "SQLite runs in your process; command_timeout=seconds interrupts "
                                 "a statement that runs longer",
            "lock_timeout": "use timeout=seconds, how long SQLite waits for a lock",
        })
        if as_bool(options.get("check_same_thread", False)):
            # The pool lends a connection to one thread at a time, whichever thread it is.
            raise ConfigurationError(
                "check_same_thread=True cannot hold: pooled connections serve every thread, one at a time")
        mode = options.get("transaction_mode")
        if mode is not None:
            mode = str(mode).upper()
            if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
                raise ConfigurationError(
                    f"transaction_mode must be DEFERRED, IMMEDIATE or EXCLUSIVE, got {mode!r}"
                )
        self._transaction_mode: str | None = mode
        attach = options.get("attach") or {}
        if not isinstance(attach, dict) or not all(
                isinstance(k, str) and k and isinstance(v, str) and v for k, v in attach.items()):
            raise ConfigurationError(f"attach takes {{schema name: database file}}, got {attach!r}")
        if {k.lower() for k in attach} & {"main", "temp"}:
            raise ConfigurationError("attach cannot use the schema names main or temp")
        self._attach: dict[str, str] = dict(attach)
        try:
            self._timeout = float(options.get("timeout", 5.0))
        except (TypeError, ValueError):
            raise ConfigurationError(f"timeout must be a number of seconds, got {options.get('timeout')!r}") from None

    @classmethod
    def scratch_settings(cls) -> dict[str, Any] | None:
        """Return settings for a private in-memory database."""
        return {"database": ":memory:"}

    def _driver_error_types(self) -> tuple[type[BaseException], ...]:
        # sqlite3 raises a bare OverflowError for an integer outside 64 bits.
        return (sqlite3.Error, OverflowError)

    def _connect(self) -> sqlite3.Connection:
        options = self.config.options
        connection = sqlite3.connect(
            self.config.database or ":memory:",
            timeout=self._timeout,
            isolation_level=None,
            # The pool lends a connection to one thread at a time, whichever thread it is.
            check_same_thread=False,
            cached_statements=int(options.get("cached_statements", 256)),
            uri=str(self.config.database).startswith("file:"),
        )
        return connection

    def _on_connect(self, connection: sqlite3.Connection) -> None:
        options = self.config.options
        foreign_keys = as_bool(options.get("foreign_keys", True))
        try:
            connection.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            # A mistyped "column" must be an error, not a string literal (SQLite's
            # double-quoted-string misfeature); sqlite3 can switch it off from Python 3.12.
            dqs_dml = getattr(sqlite3, "SQLITE_DBCONFIG_DQS_DML", None)
            if dqs_dml is not None and hasattr(connection, "setconfig"):
                connection.setconfig(dqs_dml, False)
            wal = options.get("wal")
            if as_bool(wal) or (wal is None and self._wal_by_default()):
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()
                if wal is not None and (not mode or str(mode[0]).lower() != "wal"):
                    raise ConfigurationError(
                        f"SQLite database {self.config.database!r} cannot use write-ahead logging "
                        f"(journal_mode stays {mode[0] if mode else '?'!r})")
            for schema, path in self._attach.items():
                connection.execute(f"ATTACH DATABASE ? AS {self.dialect.quote_identifier(schema)}", (path,))
            # Touch the schema so a file that is not a database fails now, not later.
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            # A file another connection holds locked is busy, not unreachable.
            cls = LockTimeoutError if issubclass(self._classify_error(exc), LockTimeoutError) \
                else ConnectionError
            raise cls(
                f"Cannot open SQLite database {self.config.database!r}: {exc}",
                original=exc, code=self._error_code(exc),
            ) from exc

    def _async_connections(self) -> str | None:
        """A file database: each async connection on a thread of its own (sqlite3 blocks).

        An in-memory database lives in one connection and does no I/O: async
        code shares the synchronous pool's connection and uses it directly.
        """
        return "direct" if self._in_memory() else "thread"

    def _in_memory(self) -> bool:
        database = str(self.config.database or "")
        return database in ("", ":memory:") or "mode=memory" in database

    def _wal_by_default(self) -> bool:
        """File databases use write-ahead logging unless ``wal=False`` (not memory, not read-only)."""
        database = str(self.config.database or "")
        return not (database in ("", ":memory:") or "mode=memory" in database or "mode=ro" in database
                    or as_bool(self.config.options.get("immutable", False)))

    def _close(self, connection: sqlite3.Connection) -> None:
        connection.close()

    def _detect_capabilities(self, connection: sqlite3.Connection) -> Capabilities:
        version = sqlite3.sqlite_version_info
        memory = self.config.database in (":memory:", "") or "mode=memory" in str(self.config.database)
        return Capabilities(
            supports_partial_indexes=True,
            supports_savepoints=True,
            isolation_levels=ALL_ISOLATION_LEVELS,
            supports_read_only_transactions=True,
            supports_returning=version >= (3, 35, 0),
            supports_update_returning=version >= (3, 35, 0),
            supports_delete_returning=version >= (3, 35, 0),
            supports_for_update=False,
            supports_foreign_keys=True,
            supports_json=True,
            supports_native_uuid=False,
            supports_native_decimal=False,
            supports_timezone_aware_datetime=True,
            supports_window_functions=version >= (3, 25, 0),
            supports_upsert=version >= (3, 24, 0),
            supports_computed_columns=version >= (3, 31, 0),
            supports_nul_in_text=True,
            supports_lock_timeout=True,
            supports_multiple_connections=not memory,
            serializes_write_transactions=self._transaction_mode != "DEFERRED",
            max_bind_parameters=connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            if hasattr(connection, "getlimit") else 999,
            server_version=tuple(version),
        )

    def _execute(self, connection: sqlite3.Connection, sql: str,
                 params: Sequence[Any] | None) -> QueryResult:
        cursor = connection.execute(sql, params) if params is not None else connection.execute(sql)
        description = cursor.description
        if description is not None:
            rows = cursor.fetchall()
            return QueryResult(rows, [d[0] for d in description], cursor.rowcount, cursor.lastrowid)
        return QueryResult(None, (), cursor.rowcount, cursor.lastrowid)

    # Streams use the default hooks: sqlite3 steps a statement one row per fetched row, so
    # fetchmany() on a plain cursor already reads lazily; the other statements of the
    # connection may run between two reads.

    def _error_code(self, error: BaseException) -> Any:
        return getattr(error, "sqlite_errorname", None)

    def _classify_error(self, error: BaseException) -> type[DatabaseError]:
        name = getattr(error, "sqlite_errorname", None)
        if name:
            found = _ERROR_CLASSES.get(name)
            if found is None:
                # Extended codes share the primary code's prefix (SQLITE_BUSY_SNAPSHOT ...).
                found = _ERROR_CLASSES.get(name.rsplit("_", 1)[0]) or _ERROR_CLASSES.get(
                    "_".join(name.split("_")[:2])
                )
            if found is not None:
                return found
        # Errors raised by the module itself carry no SQLite code.
        if isinstance(error, sqlite3.IntegrityError):
            return ConstraintViolationError
        if isinstance(error, (sqlite3.DataError, OverflowError)):
            return DataError
        if isinstance(error, (sqlite3.ProgrammingError, sqlite3.InterfaceError)):
            return ProgrammingError
        if isinstance(error, sqlite3.OperationalError):
            return OperationalError
        return DatabaseError

    # -- transactions --------------------------------------------------------

    def _begin(self, isolation_level: IsolationLevel | None, read_only: bool, **options: Any) -> None:
        """Open ``BEGIN <mode>``; every SQLite transaction is SERIALIZABLE.

        The SQL standard lets a database run a transaction at a stronger level
        than asked, so all four levels are accepted and run serializably.
        """
        mode = options.pop("mode", None) or self._transaction_mode or ("DEFERRED" if read_only else "IMMEDIATE")
        if options:
            raise TypeError(f"Unknown transaction options for SQLite: {', '.join(options)}")
        for sql in self.dialect.begin_sql(isolation_level, read_only, mode=mode):  # type: ignore[call-arg]
            self._run_internal(sql)

    def _commit(self) -> None:
        self._run_internal("COMMIT")

    def _rollback(self) -> None:
        if self._connection is not None and self._connection.in_transaction:
            self._run_internal("ROLLBACK")

    def _after_transaction(self) -> None:
        state = self._owned()
        if state is not None and state.read_only:
            self._run_internal("PRAGMA query_only = OFF")

    def _transaction_status(self, connection: sqlite3.Connection) -> TransactionStatus | None:
        return _ACTIVE if connection.in_transaction else _IDLE

    def _check_connection(self, connection: sqlite3.Connection) -> bool:
        return True  # in-process: nothing can break it behind our back

    def _interrupt(self, connection: sqlite3.Connection) -> None:
        """Abort the running statement (``QueryTimeoutError``); the connection stays usable."""
        connection.interrupt()

    # -- catalog -------------------------------------------------------------

    def _table_exists(self, table_name: str) -> bool:
        schema, name = split_table_name(table_name)
        if schema is not None:
            master = "sqlite_temp_master" if schema.lower() == "temp" else \
                f"{self.dialect.quote_identifier(schema)}.sqlite_master"
            return bool(self.execute_raw(
                f"SELECT 1 FROM {master} WHERE type IN ('table', 'view') AND name = ?", (name,)).rows)
        result = self.execute_raw(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ? "
            "UNION ALL SELECT 1 FROM sqlite_temp_master WHERE type IN ('table', 'view') AND name = ?",
            (table_name, table_name),
        )
        return bool(result.rows)

    def _get_columns(self, table_name: str) -> list[ColumnInfo]:
        result = self.execute_raw(
            # table_xinfo (SQLite 3.26) also lists computed columns: hidden 2 (virtual) or 3 (stored).
            'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?, ?) ORDER BY cid'
            if sqlite3.sqlite_version_info >= (3, 26) else
            'SELECT name, type, "notnull", dflt_value, pk, 0 FROM pragma_table_info(?, ?) ORDER BY cid',
            split_table_name(table_name)[::-1],
        )
        columns = []
        keys = sum(1 for row in result.rows if row[4])
        for name, declared, notnull, default, pk, hidden in result.rows:
            if hidden == 1:
                continue  # a virtual table's hidden column
            base = base_type_name(declared)
            columns.append(ColumnInfo(
                name=name,
                type=declared or "",
                nullable=not notnull and not pk,
                default=default,
                primary_key=bool(pk),
                db_type=SQLITE_NATIVE_TYPES.get(base),
                generated=hidden in (2, 3),
                # INTEGER PRIMARY KEY is the rowid: SQLite numbers new rows.
                autoincrement=bool(pk) and keys == 1 and (declared or "").upper() == "INTEGER",
            ))
        return columns

    # -- introspection ---------------------------------------------------------

    def _master(self, schema: str | None) -> str:
        if schema is None:
            return "sqlite_master"
        if schema.lower() == "temp":
            return "sqlite_temp_master"
        return f"{self.dialect.quote_identifier(schema)}.sqlite_master"

    def _get_tables(self, schema: str | None, views: bool) -> list[str]:
        rows = self.execute_raw(
            f"SELECT name FROM {self._master(schema)} WHERE type = ? AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            ("view" if views else "table",)).rows
        return [r[0] for r in rows]

    def _get_primary_key(self, table_name: str) -> list[str]:
        schema, name = split_table_name(table_name)
        rows = self.execute_raw("SELECT name, pk FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk",
                                (name, schema)).rows
        return [r[0] for r in rows]

    def _table_sql(self, table_name: str) -> str:
        schema, name = split_table_name(table_name)
        row = self.execute_raw(f"SELECT sql FROM {self._master(schema)} WHERE name = ?", (name,)).rows
        return str(row[0][0] or "") if row else ""

    def _get_indexes(self, table_name: str) -> list[IndexInfo]:
        schema, name = split_table_name(table_name)
        indexes = []
        for _seq, index, unique, origin, partial in self.execute_raw(
                "SELECT seq, name, \"unique\", origin, partial FROM pragma_index_list(?, ?)", (name, schema)).rows:
            if origin == "pk":
                continue
            columns = tuple(r[0] for r in self.execute_raw(
                "SELECT name FROM pragma_index_info(?, ?) WHERE name IS NOT NULL ORDER BY seqno",
                (index, schema)).rows)
            where = None
            if partial:
                sql = self.execute_raw(f"SELECT sql FROM {self._master(schema)} WHERE name = ?", (index,)).rows
                where = _after_keyword(str(sql[0][0]), "WHERE") if sql else None
            indexes.append(IndexInfo(name=index, columns=columns, unique=bool(unique), partial=where,
                                     constraint=origin == "u"))
        return indexes

    def _get_foreign_keys(self, table_name: str) -> list[ForeignKeyInfo]:
        schema, name = split_table_name(table_name)
        groups: dict[int, list[Any]] = {}
        for fk_id, _seq, target, column, referenced, on_update, on_delete in self.execute_raw(
                'SELECT id, seq, "table", "from", "to", on_update, on_delete '
                "FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq", (name, schema)).rows:
            groups.setdefault(fk_id, []).append((target, column, referenced, on_update, on_delete))
        keys = []
        for parts in groups.values():
            target = parts[0][0]
            referenced = tuple(p[2] for p in parts)
            if any(r is None for r in referenced):  # REFERENCES t without columns: its primary key
                referenced = tuple(self._get_primary_key(target))
            keys.append(ForeignKeyInfo(
                name=None, columns=tuple(p[1] for p in parts), referenced_table=target,
                referenced_columns=referenced, on_delete=fk_action(parts[0][4]), on_update=fk_action(parts[0][3])))
        return keys

    def _get_constraints(self, table_name: str) -> list[ConstraintInfo]:
        found = [ConstraintInfo(name=None, kind="unique", columns=index.columns)
                 for index in self._get_indexes(table_name) if index.constraint]
        found.extend(ConstraintInfo(name=name, kind="check", definition=condition)
                     for name, condition in _checks_of(self._table_sql(table_name)))
        return found

    # -- schema changes: what ALTER TABLE lacks is done by a rebuild ---------------

    @contextmanager
    def schema_transaction(self) -> Iterator["SQLiteBackend"]:
        """One ``BEGIN EXCLUSIVE`` transaction with foreign key enforcement off, checked before commit.

        SQLite ignores ``PRAGMA foreign_keys`` inside a transaction, so it is
        switched off before BEGIN and back on after; ``PRAGMA
        foreign_key_check`` must find nothing before the commit. Nested in a
        transaction already open, it is a savepoint of that one.
        """
        with self.connection():
            if self.in_transaction:
                with self.transaction():
                    yield self
                return
            enforced = bool(self.fetch_value("PRAGMA foreign_keys"))
            if enforced:
                self.execute_raw("PRAGMA foreign_keys = OFF")
            try:
                with self.transaction(mode="EXCLUSIVE"):
                    yield self
                    if enforced:
                        problems = self.execute_raw("PRAGMA foreign_key_check").rows
                        if problems:
                            from ...errors import ConstraintViolationError

                            shown = ", ".join(f"{r[0]} row {r[1]} -> {r[2]}" for r in problems[:5])
                            raise ConstraintViolationError(
                                f"The schema change leaves rows whose foreign keys point nowhere ({shown}); "
                                "it was rolled back")
            finally:
                if enforced:
                    self.execute_raw("PRAGMA foreign_keys = ON")

    def add_column(self, table: str, column: ColumnDef) -> None:
        """ADD COLUMN where SQLite allows it; a rebuild for a key, UNIQUE, NOT NULL without default or SQL default."""
        # SQLite's ADD COLUMN takes no key, UNIQUE, SQL default, NOT NULL without a default,
        # nor a foreign key with a non-NULL default.
        plain = not (column.primary_key or column.unique or column.generated
                     or isinstance(column.default, SQLDefault)
                     or (not column.nullable and column.default in (NO_DEFAULT, None))
                     or (column.references and column.default not in (NO_DEFAULT, None)))
        if plain:
            self._ddl(self.dialect.add_column_sql(table, column))
            return

        def add(shape: _rebuild.TableShape) -> None:
            shape.columns.append(column)
            if column.unique:
                shape.uniques.append(ConstraintInfo(None, "unique", (column.name,)))
            if column.references:
                shape.foreign_keys.append(ForeignKeyInfo(None, (column.name,), column.references[0],
                                                         (column.references[1],), column.on_delete or "NO ACTION"))
            if column.check:
                shape.checks.append(ConstraintInfo(None, "check", (), column.check))
        _rebuild.rebuild(self, table, add)

    def drop_column(self, table: str, column: str) -> None:
        """Rebuild the table without ``column`` (and the indexes and constraints that involve it)."""
        _rebuild.rebuild(self, table, lambda shape: shape.drop_column(column))

    def alter_column(self, table: str, column: ColumnDef, previous: ColumnDef | None = None) -> None:
        """Rebuild the table with ``column``'s new type, nullability and default; rows are copied as they are."""
        def alter(shape: _rebuild.TableShape) -> None:
            old = shape.column(column.name)
            shape.columns[shape.columns.index(old)] = column
        _rebuild.rebuild(self, table, alter)

    def add_foreign_key(self, table: str, columns: Sequence[str], referenced_table: str,
                        referenced_columns: Sequence[str] = ("id",), name: str | None = None,
                        on_delete: str | None = None, on_update: str | None = None) -> str:
        """Rebuild the table with the new foreign key (existing rows must satisfy it)."""
        name = name or self.dialect.constraint_name("fk", table, columns)
        key = ForeignKeyInfo(name, tuple(columns), referenced_table, tuple(referenced_columns),
                             fk_action(on_delete), fk_action(on_update))
        _rebuild.rebuild(self, table, lambda shape: shape.foreign_keys.append(key))
        return name

    def drop_foreign_key(self, table: str, name: str | None = None, columns: Sequence[str] | None = None) -> None:
        """Rebuild the table without the foreign key on ``columns`` (SQLite keeps no foreign key names)."""
        if columns is None:
            raise NotSupportedError("SQLite keeps no names of foreign keys: give the columns of the one to drop")
        key = tuple(columns)
        _rebuild.rebuild(self, table, lambda shape: shape.remove(
            "foreign_keys", lambda fk: tuple(fk.columns) == key, f"{table!r} has no foreign key on {key}"))

    def add_unique_constraint(self, table: str, columns: Sequence[str], name: str | None = None) -> str:
        """A UNIQUE index named ``name``: the same guarantee, with no rebuild, and it can be dropped by name."""
        name = name or self.dialect.constraint_name("uq", table, columns)
        self.create_index(table, columns, name, unique=True)
        return name

    def drop_unique_constraint(self, table: str, name: str | None = None,
                               columns: Sequence[str] | None = None) -> None:
        """Drop a UNIQUE index by name, or the UNIQUE constraint on ``columns`` (by a rebuild)."""
        for index in self.get_indexes(table):
            if index.unique and not index.constraint and (
                    index.name == name or (name is None and columns is not None
                                           and tuple(index.columns) == tuple(columns))):
                self.drop_index(table, index.name)
                return
        if columns is None:
            raise ProgrammingError(f"{table!r} has no unique index named {name!r} (a UNIQUE constraint of the "
                                   "table definition has no name in SQLite: give its columns)")
        key = tuple(columns)
        _rebuild.rebuild(self, table, lambda shape: shape.remove(
            "uniques", lambda u: tuple(u.columns) == key, f"{table!r} has no unique constraint on {key}"))

    def add_check_constraint(self, table: str, name: str, condition: str) -> None:
        """Rebuild the table with ``CONSTRAINT name CHECK (condition)`` (existing rows must pass it)."""
        _rebuild.rebuild(self, table, lambda shape: shape.checks.append(ConstraintInfo(name, "check", (), condition)))

    def drop_check_constraint(self, table: str, name: str) -> None:
        """Rebuild the table without the CHECK constraint ``name``."""
        _rebuild.rebuild(self, table, lambda shape: shape.remove(
            "checks", lambda c: c.name == name, f"{table!r} has no CHECK constraint named {name!r}"))


def _after_keyword(sql: str, keyword: str) -> str | None:
    """The text after the last top-level ``keyword`` of ``sql`` (a partial index's condition)."""
    upper = sql.upper()
    at = upper.rfind(f" {keyword} ")
    return sql[at + len(keyword) + 2:].strip() or None if at >= 0 else None


def _checks_of(sql: str) -> list[tuple[str | None, str]]:
    """The ``CHECK (...)`` conditions of a CREATE TABLE statement, with their constraint names.

    SQLite keeps no catalog of CHECK constraints, only the statement text.
    Quoted names and strings are skipped while scanning.
    """
    found: list[tuple[str | None, str]] = []
    i, n = 0, len(sql)
    last_name: str | None = None
    tokens: list[str] = []
    while i < n:
        ch = sql[i]
        if ch in "'\"`[":
            close = {"'": "'", '"': '"', "`": "`", "[": "]"}[ch]
            j = sql.find(close, i + 1)
            while j != -1 and close != "]" and j + 1 < n and sql[j + 1] == close:
                j = sql.find(close, j + 2)
            j = n - 1 if j == -1 else j
            tokens.append(sql[i:j + 1])
            if ch != "'" and len(tokens) >= 2 and tokens[-2].upper() == "CONSTRAINT":
                last_name = sql[i + 1:j].replace(close * 2, close)
            i = j + 1
            continue
        if ch.isalnum() or ch == "_":
            j = i
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            word = sql[i:j]
            i = j
            if word.upper() == "CHECK":
                k = i
                while k < n and sql[k].isspace():
                    k += 1
                if k < n and sql[k] == "(":
                    depth, m = 0, k
                    while m < n:
                        if sql[m] in "'\"`":
                            q = sql.find(sql[m], m + 1)
                            m = n if q == -1 else q + 1
                            continue
                        if sql[m] == "(":
                            depth += 1
                        elif sql[m] == ")":
                            depth -= 1
                            if depth == 0:
                                break
                        m += 1
                    name = last_name if len(tokens) >= 2 and tokens[-2].upper() == "CONSTRAINT" else None
                    found.append((name, sql[k + 1:m].strip()))
                    i = m + 1
                    tokens.clear()
                    last_name = None
                    continue
            tokens.append(word)
            if len(tokens) >= 2 and tokens[-2].upper() == "CONSTRAINT":
                last_name = word
            continue
        if ch == ",":
            tokens.clear()
            last_name = None
        i += 1
    return found
