"""Every name the backend guide mentions is importable from the path it gives.

The guide (shared/spec/implementing-custom-backends.md) is what a backend
author reads; these tests fail when a name moves or disappears. The guide's
example code is exercised here too, as an author would write it.
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

# The guide lists these DatabaseType members in its type-mapping example.
GUIDE_DATABASE_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL", "CHAR",
    "VARCHAR", "TEXT", "DATE", "TIME", "DATETIME", "TIMESTAMP", "BLOB", "BOOLEAN", "UUID",
    "JSON", "ARRAY", "CUSTOM",
)

# The guide's "Required Methods" table.
REQUIRED_METHODS = (
    "connect", "disconnect", "is_connected", "execute", "begin_transaction",
    "commit_transaction", "rollback_transaction", "create_table", "drop_table",
    "table_exists", "get_columns",
)


def test_base_names():
    from rhosocial.activerecord.backend.base import ColumnTypes, StorageBackend

    assert inspect.isclass(StorageBackend) and inspect.isabstract(StorageBackend)
    assert inspect.isclass(ColumnTypes)


def test_dialect_names():
    from rhosocial.activerecord.backend.dialect import SQLBuilder, SQLDialectBase, TypeMapping

    assert all(inspect.isclass(c) for c in (SQLBuilder, SQLDialectBase, TypeMapping))


def test_database_type_has_every_member_the_guide_lists():
    from rhosocial.activerecord.backend.typing import DatabaseType

    missing = [n for n in GUIDE_DATABASE_TYPES if not hasattr(DatabaseType, n)]
    assert missing == []
    assert all(isinstance(getattr(DatabaseType, n), DatabaseType) for n in GUIDE_DATABASE_TYPES)


def test_helpers_and_errors():
    from rhosocial.activerecord.backend.errors import (
        ConnectionError,
        ConstraintViolationError,
        DatabaseError,
    )
    from rhosocial.activerecord.backend.helpers import format_with_length

    assert format_with_length("VARCHAR", {"length": 10}) == "VARCHAR(10)"
    assert issubclass(ConstraintViolationError, DatabaseError)
    assert issubclass(ConnectionError, DatabaseError)


def test_create_backend_and_configure():
    from rhosocial.activerecord import configure
    from rhosocial.activerecord.backend import create_backend

    assert callable(create_backend) and callable(configure)
    assert "backend" in inspect.signature(configure).parameters
    assert "backend_type" in inspect.signature(create_backend).parameters


def test_sqlite_package_layout():
    import rhosocial.activerecord.backend.impl.sqlite as pkg

    folder = Path(pkg.__file__).parent
    for filename in ("__init__.py", "backend.py", "dialect.py", "types.py"):
        assert (folder / filename).is_file(), filename
    backend_mod = importlib.import_module("rhosocial.activerecord.backend.impl.sqlite.backend")
    dialect_mod = importlib.import_module("rhosocial.activerecord.backend.impl.sqlite.dialect")
    types_mod = importlib.import_module("rhosocial.activerecord.backend.impl.sqlite.types")
    assert pkg.SQLiteBackend is backend_mod.SQLiteBackend
    assert pkg.SQLiteDialect is dialect_mod.SQLiteDialect
    assert "SQLiteBackend" in pkg.__all__ and "SQLiteDialect" in pkg.__all__
    assert isinstance(types_mod.SQLITE_TYPE_MAPPINGS, dict)


@pytest.mark.parametrize("method", REQUIRED_METHODS)
def test_required_methods_exist_on_the_contract_and_sqlite(method):
    from rhosocial.activerecord.backend.base import StorageBackend
    from rhosocial.activerecord.backend.impl.sqlite import SQLiteBackend

    assert callable(getattr(StorageBackend, method))
    assert callable(getattr(SQLiteBackend, method))


def test_required_methods_work_together(tmp_path):
    """Walk the Required Methods table in order on a real SQLite file."""
    from rhosocial.activerecord.backend import ColumnDef, DatabaseType, create_backend

    b = create_backend("sqlite", database=str(tmp_path / "guide.db"))
    assert b.is_connected() is False
    b.connect()
    assert b.is_connected() is True
    b.create_table("items", [ColumnDef("id", DatabaseType.INTEGER, primary_key=True),
                             ColumnDef("label", DatabaseType.VARCHAR, length=20)])
    assert b.table_exists("items")
    assert [c.name for c in b.get_columns("items")] == ["id", "label"]
    b.begin_transaction()
    b.execute("INSERT INTO items (id, label) VALUES (?, ?)", (1, "kept"))
    b.commit_transaction()
    b.begin_transaction()
    b.execute("INSERT INTO items (id, label) VALUES (?, ?)", (2, "undone"))
    b.rollback_transaction()
    assert b.execute("SELECT label FROM items").rows == [("kept",)]
    b.drop_table("items")
    assert not b.table_exists("items")
    b.disconnect()
    assert b.is_connected() is False


def test_guide_example_dialect_and_builder():
    """The guide's custom dialect: ``create_builder`` returns a builder with its placeholder."""
    from rhosocial.activerecord.backend.dialect import SQLBuilder, SQLDialectBase

    class YourSQLBuilder(SQLBuilder):
        def __init__(self, dialect):
            super().__init__(dialect)

        def get_placeholder(self, index=None) -> str:
            return f"${index}"

    class YourDialectClass(SQLDialectBase):
        def __init__(self):
            super().__init__()

        def create_builder(self) -> SQLBuilder:
            return YourSQLBuilder(self)

    dialect = YourDialectClass()
    builder = dialect.create_builder()
    assert isinstance(builder, YourSQLBuilder) and builder.dialect is dialect
    builder.append("SELECT * FROM t WHERE a = ").append(builder.add_param(1))
    builder.append(" AND b = ").append(builder.add_param("x"))
    assert builder.build() == ("SELECT * FROM t WHERE a = $1 AND b = $2", [1, "x"])
    assert builder.quote_identifier("t") == '"t"'


def test_guide_example_type_mapping_table():
    """A mapping table written as in the guide builds and renders."""
    from rhosocial.activerecord.backend.dialect import TypeMapping
    from rhosocial.activerecord.backend.helpers import format_with_length
    from rhosocial.activerecord.backend.typing import DatabaseType

    mappings: dict[DatabaseType, TypeMapping] = {
        DatabaseType.VARCHAR: TypeMapping("VARCHAR", format_with_length),
        DatabaseType.TEXT: TypeMapping("TEXT"),
    }
    varchar = mappings[DatabaseType.VARCHAR]
    assert varchar.db_type == "VARCHAR" and varchar.format_func is format_with_length
    assert varchar.format_func(varchar.db_type, {"length": 255}) == "VARCHAR(255)"
    assert varchar.render({}) == "VARCHAR"
    assert mappings[DatabaseType.TEXT].format_func is None


def test_guide_column_type_pattern():
    """``YourDBColumnType.get_type`` as the guide writes it, via SQLite's column type."""
    from rhosocial.activerecord.backend.impl.sqlite.types import SQLiteColumnType
    from rhosocial.activerecord.backend.typing import DatabaseType

    column = SQLiteColumnType.get_type(DatabaseType.VARCHAR, length=255, not_null=True, unique=True)
    assert isinstance(column, SQLiteColumnType)
    assert column.sql_type == "VARCHAR(255)"
    assert column.constraints == {"not_null": True, "unique": True}
    assert str(column) == "VARCHAR(255) NOT NULL UNIQUE"
    with pytest.raises(ValueError):
        SQLiteColumnType.get_type("not a type")  # type: ignore[arg-type]
