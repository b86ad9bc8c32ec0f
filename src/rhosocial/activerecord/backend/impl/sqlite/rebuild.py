"""SQLite's missing ALTER TABLE forms, done by rebuilding the table with its data.

SQLite can rename a table, rename a column and add a plain column; for
everything else (change a column, drop one, add or drop a constraint) the
table is rebuilt, as SQLite's documentation describes: create the new shape
under a temporary name, copy the rows, drop the old table, rename the new one,
then restore its indexes and triggers. It runs inside one transaction with
foreign key enforcement off (:meth:`SQLiteBackend.schema_transaction`), and
``PRAGMA foreign_key_check`` must come out clean before it commits, so a
failure anywhere leaves the table as it was.

The new table is written from the catalog. Kept: column types as declared,
NOT NULL, defaults (expressions too), the primary key (AUTOINCREMENT and its
high-water mark too), rowids, UNIQUE, CHECK and foreign keys with their
actions, indexes (partial ones too), triggers, ``WITHOUT ROWID`` and
``STRICT``. Not kept: column collations and ``DEFERRABLE`` clauses. Refused:
tables with computed columns, and dropping a column that a trigger, or a
CHECK that also tests other columns, still uses (drop those first). Indexes,
UNIQUE constraints, foreign keys and single-column CHECKs on a dropped column
go with it, as in PostgreSQL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from ...errors import ConstraintViolationError, NotSupportedError
from ...introspection import ConstraintInfo, ForeignKeyInfo
from ...typing import NO_DEFAULT, ColumnDef, DatabaseType, SQLDefault, split_table_name

if TYPE_CHECKING:
    from .backend import SQLiteBackend


@dataclass
class TableShape:
    """A table as the rebuild writes it again; a change edits it in place."""

    columns: list[ColumnDef]
    primary_key: tuple[str, ...]
    autoincrement: bool
    foreign_keys: list[ForeignKeyInfo]
    uniques: list[ConstraintInfo]
    checks: list[ConstraintInfo]
    suffix: str = ""
    #: Each index's columns, as the table had them (an index on a dropped column goes with it).
    index_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def column(self, name: str) -> ColumnDef:
        for column in self.columns:
            if column.name == name:
                return column
        raise NotSupportedError(f"No column {name!r} in the table")

    def remove(self, part: str, matches: Callable[[Any], bool], missing: str) -> None:
        """Drop the items of ``part`` (``"foreign_keys"``, ``"uniques"``, ``"checks"``) that match.

        Raises:
            ProgrammingError: none matched (``missing`` says what was looked for).
        """
        items = getattr(self, part)
        left = [item for item in items if not matches(item)]
        if len(left) == len(items):
            from ...errors import ProgrammingError

            raise ProgrammingError(missing)
        setattr(self, part, left)

    def drop_column(self, name: str) -> None:
        """Remove a column and every key, constraint and check that involves it (as PostgreSQL does)."""
        self.column(name)
        if name in self.primary_key:
            raise NotSupportedError(f"Column {name!r} is part of the primary key: it cannot be dropped")
        others = [c.name for c in self.columns if c.name != name]
        for check in self.checks:
            text = check.definition or ""
            if mentions(text, name) and any(mentions(text, other) for other in others):
                raise NotSupportedError(
                    f"Column {name!r} is used by the CHECK {check.name or text!r}, which also tests other "
                    "columns: drop or change that constraint first")
        self.columns = [c for c in self.columns if c.name != name]
        self.foreign_keys = [fk for fk in self.foreign_keys if name not in fk.columns]
        self.uniques = [u for u in self.uniques if name not in u.columns]
        # A CHECK on this column alone goes with it, as in PostgreSQL.
        self.checks = [c for c in self.checks if not mentions(c.definition or "", name)]


#: A default SQLite takes without parentheses: a number, a string or blob literal, NULL, TRUE/FALSE, CURRENT_*.
LITERAL = re.compile(r"^(?:[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[xX]'[0-9A-Fa-f]*'"
                     r"|NULL|TRUE|FALSE"
                     r"|CURRENT_TIMESTAMP|CURRENT_DATE|CURRENT_TIME)$", re.I)
STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")


def mentions(sql: str, name: str) -> bool:
    """Whether ``sql`` names the column ``name`` (bare or quoted), outside string literals."""
    sql = STRING_LITERAL.sub("''", sql)
    return bool(re.search(rf'(?<![\w"`\]])(?:{re.escape(name)}|"{re.escape(name)}"|`{re.escape(name)}`|'
                          rf'\[{re.escape(name)}\])(?![\w"`\[])', sql, flags=re.I))


def read_shape(backend: "SQLiteBackend", table: str) -> TableShape:
    """Read ``table``'s shape from the catalog."""
    info = backend.inspect_table(table)
    if any(c.generated for c in info.columns):
        raise NotSupportedError(
            f"SQLite must rebuild {table!r} for this change, and it has computed columns, which a rebuild "
            "cannot copy: recreate the table by hand")
    sql = backend._table_sql(table)
    autoincrement = len(info.primary_key) == 1 and "AUTOINCREMENT" in sql.upper()
    tail = sql[sql.rfind(")") + 1:].upper()
    suffix = ", ".join(word for word in ("WITHOUT ROWID", "STRICT") if word in tail)
    columns = [ColumnDef(name=c.name, db_type=DatabaseType.CUSTOM, custom_type=c.type, nullable=c.nullable,
                         primary_key=c.name in info.primary_key,
                         default=SQLDefault(c.default) if c.default is not None else NO_DEFAULT)
               for c in info.columns]
    return TableShape(columns, info.primary_key, autoincrement, list(info.foreign_keys),
                      list(info.unique_constraints), list(info.check_constraints), suffix,
                      {i.name: i.columns for i in info.indexes})


def create_sql(backend: "SQLiteBackend", table: str, shape: TableShape) -> str:
    """Return the CREATE TABLE of ``shape`` named ``table``."""
    dialect = backend.dialect
    q = dialect.quote_identifier
    body = []
    for column in shape.columns:
        if shape.autoincrement and column.name in shape.primary_key:
            body.append(f"{q(column.name)} INTEGER PRIMARY KEY AUTOINCREMENT")
            continue
        sql_type = column.custom_type if column.db_type is DatabaseType.CUSTOM else dialect.get_column_type(
            column.db_type, **column.type_params())
        parts = [q(column.name)] + ([sql_type] if sql_type else [])
        if not column.nullable and not (column.name in shape.primary_key and len(shape.primary_key) == 1
                                        and (sql_type or "").upper() == "INTEGER"):
            parts.append("NOT NULL")
        if isinstance(column.default, SQLDefault) and not LITERAL.match(column.default.sql.strip()):
            # The catalog gives an expression default without its parentheses: (1+1), (datetime('now')).
            parts.append(f"DEFAULT ({column.default.sql})")
        else:
            default = dialect.default_clause(replace(column, primary_key=False))
            if default:
                parts.append(default)
        body.append(" ".join(parts))
    if shape.primary_key and not shape.autoincrement:
        body.append(f"PRIMARY KEY ({', '.join(q(c) for c in shape.primary_key)})")
    for unique in shape.uniques:
        name = f"CONSTRAINT {q(unique.name)} " if unique.name and not unique.name.startswith("sqlite_") else ""
        body.append(f"{name}UNIQUE ({', '.join(q(c) for c in unique.columns)})")
    for check in shape.checks:
        name = f"CONSTRAINT {q(check.name)} " if check.name else ""
        body.append(f"{name}CHECK ({check.definition})")
    for fk in shape.foreign_keys:
        name = f"CONSTRAINT {q(fk.name)} " if fk.name else ""
        body.append(name + dialect.foreign_key_sql(fk.columns, split_table_name(fk.referenced_table)[1],
                                                   fk.referenced_columns, fk.on_delete, fk.on_update))
    return f"CREATE TABLE {q(table)} ({', '.join(body)}){' ' + shape.suffix if shape.suffix else ''}"


def rebuild(backend: "SQLiteBackend", table: str, change: Callable[[TableShape], Any]) -> None:
    """Rebuild ``table`` after ``change(shape)`` edits its shape, keeping its rows, indexes and triggers."""
    if backend.in_transaction and backend.fetch_value("PRAGMA foreign_keys"):
        raise NotSupportedError(
            f"SQLite must rebuild {table!r} for this change, which cannot happen safely inside a transaction "
            "while foreign keys are enforced (dropping the old table would run their ON DELETE actions): "
            "make the change in backend.schema_transaction() or a migration")
    with backend.schema_transaction():
        _rebuild(backend, table, change)


def _rebuild(backend: "SQLiteBackend", table: str, change: Callable[[TableShape], Any]) -> None:
    schema, bare = split_table_name(table)
    q = backend.dialect.quote_identifier
    master = backend._master(schema)
    if not backend.table_exists(table):
        from ...errors import ProgrammingError

        raise ProgrammingError(f"No table {table!r}")
    shape = read_shape(backend, table)
    before = [c.name for c in shape.columns]
    extras = backend.execute_raw(
        f"SELECT type, name, sql FROM {master} WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, name", (bare,)).rows
    change(shape)
    kept = {c.name for c in shape.columns}
    dropped = set(before) - kept
    for kind, name, sql in extras:
        if kind == "trigger" and any(mentions(sql, c) for c in dropped):
            raise NotSupportedError(f"The trigger {name!r} uses a column being dropped from {table!r}: drop or "
                                    "change the trigger first")
    sequence = _sequence(backend, schema, bare) if shape.autoincrement else None
    temp_bare = f"_rhosocial_new_{bare}"
    temp = f"{q(schema)}.{q(temp_bare)}" if schema else q(temp_bare)
    from ...typing import TableName

    backend.execute_raw(create_sql(backend, TableName(temp_bare, schema) if schema else temp_bare, shape))
    targets = [q(c.name) for c in shape.columns if c.name in before]
    if "WITHOUT ROWID" not in shape.suffix and not _rowid_alias(shape):
        targets.insert(0, "rowid")  # kept as it was: other tables (full-text indexes ...) may point at it
    if targets:
        backend.execute_raw(f"INSERT INTO {temp} ({', '.join(targets)}) SELECT {', '.join(targets)} FROM {q(table)}")
    backend.execute_raw(f"DROP TABLE {q(table)}")
    # The legacy rename leaves views and triggers of other tables alone (they name the table, which is back).
    backend.execute_raw("PRAGMA legacy_alter_table = ON")
    try:
        backend.execute_raw(f"ALTER TABLE {temp} RENAME TO {q(bare)}")
    finally:
        backend.execute_raw("PRAGMA legacy_alter_table = OFF")
    for kind, name, sql in extras:
        if kind == "index" and not set(shape.index_columns.get(name, ())) <= kept:
            continue  # an index on a dropped column goes with it
        backend.execute_raw(_in_schema(sql, q(schema)) if schema else sql)
    if sequence is not None:  # AUTOINCREMENT never reuses an id: keep its high-water mark
        master_of = f"{q(schema)}.sqlite_sequence" if schema else "sqlite_sequence"
        backend.execute_raw(f"UPDATE {master_of} SET seq = MAX(seq, ?) WHERE name = ?", (sequence, bare))
        if not backend.execute_raw(f"SELECT 1 FROM {master_of} WHERE name = ?", (bare,)).rows:
            backend.execute_raw(f"INSERT INTO {master_of} (name, seq) VALUES (?, ?)", (bare, sequence))
    problems = backend.execute_raw(f"PRAGMA {q(schema) + '.' if schema else ''}foreign_key_check").rows
    if problems:
        shown = ", ".join(f"{r[0]} row {r[1]} -> {r[2]}" for r in problems[:5])
        raise ConstraintViolationError(
            f"Rebuilding {table!r} leaves rows whose foreign keys point nowhere ({shown}); nothing was changed")


def _rowid_alias(shape: TableShape) -> bool:
    """Whether the key is SQLite's rowid itself (a single INTEGER PRIMARY KEY): copied as a column."""
    if shape.autoincrement:
        return True
    if len(shape.primary_key) != 1:
        return False
    column = shape.column(shape.primary_key[0])
    declared = column.custom_type if column.db_type is DatabaseType.CUSTOM else column.db_type.name
    return (declared or "").strip().upper() == "INTEGER"


def _sequence(backend: "SQLiteBackend", schema: str | None, bare: str) -> int | None:
    """The AUTOINCREMENT high-water mark of a table, if SQLite keeps one."""
    q = backend.dialect.quote_identifier
    master = backend._master(schema)
    if not backend.execute_raw(f"SELECT 1 FROM {master} WHERE name = 'sqlite_sequence'").rows:
        return None
    found = backend.execute_raw(
        f"SELECT seq FROM {q(schema) + '.' if schema else ''}sqlite_sequence WHERE name = ?", (bare,)).rows
    return int(found[0][0]) if found else None


_CREATE_HEAD = re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+)?(?:INDEX|TRIGGER)\s+"
                          r"(?:IF\s+NOT\s+EXISTS\s+)?", re.I)


def _in_schema(sql: str, schema: str) -> str:
    """An index's or trigger's stored SQL (SQLite keeps it without the schema), made in ``schema`` again."""
    head = _CREATE_HEAD.match(sql)
    if head is None:
        raise NotSupportedError(f"Cannot tell where to recreate {sql[:60]!r} in {schema}")
    return sql[:head.end()] + schema + "." + sql[head.end():]
