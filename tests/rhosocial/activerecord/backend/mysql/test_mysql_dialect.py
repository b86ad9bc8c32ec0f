"""MySQL dialect output as strings: no server needed."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from rhosocial.activerecord.backend import (
    ColumnDef,
    DatabaseType,
    InvalidIdentifierError,
    IsolationLevel,
)
from rhosocial.activerecord.backend.impl.mysql import (
    MYSQL_TYPE_MAPPINGS,
    MySQLColumnType,
    MySQLDialect,
)
from rhosocial.activerecord.backend.impl.mysql.backend import parse_server_version
from rhosocial.activerecord.backend.impl.mysql.types import native_type


@pytest.fixture
def dialect():
    return MySQLDialect(is_mariadb=True, server_version=(10, 11, 6))


def test_identifiers_use_backticks_and_double_percent(dialect):
    assert dialect.quote_identifier("users") == "`users`"
    assert dialect.quote_identifier("a`b") == "`a``b`"
    assert dialect.quote_identifier("100%") == "`100%%`"
    assert dialect.quote_identifier("what?") == "`what?`"


def test_identifier_limit_is_64_characters(dialect):
    assert dialect.quote_identifier("é" * 64) == "`" + "é" * 64 + "`"
    with pytest.raises(InvalidIdentifierError):
        dialect.quote_identifier("x" * 65)
    with pytest.raises(InvalidIdentifierError):
        dialect.quote_identifier("trailing ")
    with pytest.raises(InvalidIdentifierError):
        dialect.quote_identifier("emoji😀")


def test_placeholders_are_format_style(dialect):
    assert dialect.placeholder(3) == "%s"
    assert dialect.create_builder().add_param(1) == "%s"
    assert dialect.convert_placeholders("SELECT ? WHERE a LIKE '5%'") == "SELECT %s WHERE a LIKE '5%%'"


@pytest.mark.parametrize("db_type, params, expected", [
    (DatabaseType.VARCHAR, {}, "VARCHAR(255)"),
    (DatabaseType.VARCHAR, {"length": 20}, "VARCHAR(20)"),
    (DatabaseType.DECIMAL, {}, "DECIMAL(65,30)"),
    (DatabaseType.DECIMAL, {"precision": 10, "scale": 2}, "DECIMAL(10,2)"),
    (DatabaseType.TEXT, {}, "LONGTEXT"),
    (DatabaseType.BLOB, {}, "LONGBLOB"),
    (DatabaseType.BOOLEAN, {}, "TINYINT(1)"),
    (DatabaseType.DATETIME, {}, "DATETIME(6)"),
    (DatabaseType.TIMESTAMP, {}, "DATETIME(6)"),
    (DatabaseType.TIME, {}, "TIME(6)"),
    (DatabaseType.JSON, {}, "JSON"),
    (DatabaseType.ARRAY, {}, "JSON"),
    (DatabaseType.UUID, {}, "CHAR(36) CHARACTER SET ascii COLLATE ascii_bin"),
])
def test_type_mapping(dialect, db_type, params, expected):
    assert dialect.get_column_type(db_type, **params) == expected


def test_every_generic_type_has_a_mapping():
    assert set(MYSQL_TYPE_MAPPINGS) == set(DatabaseType)


def test_create_table_uses_utf8mb4_and_binary_collation(dialect):
    sql = dialect.create_table_sql("t", [
        ColumnDef("id", DatabaseType.BIGINT, primary_key=True, autoincrement=True),
        ColumnDef("note", DatabaseType.TEXT, default="50%"),
        ColumnDef("n", DatabaseType.INTEGER, check="n LIKE '1%'"),
    ])
    assert sql == (
        "CREATE TABLE `t` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, "
        "`note` LONGTEXT DEFAULT ('50%%'), `n` INT CHECK (n LIKE '1%%')) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
    )


def test_collation_follows_the_server():
    assert MySQLDialect(False, (8, 0, 36)).collation == "utf8mb4_0900_bin"
    assert MySQLDialect(False, (5, 7, 44)).collation == "utf8mb4_bin"
    assert MySQLDialect(True, (10, 6, 0)).collation == "utf8mb4_nopad_bin"
    assert MySQLDialect(True, (10, 6, 0), collation="utf8mb4_unicode_520_ci").collation == \
        "utf8mb4_unicode_520_ci"


def test_begin_sets_isolation_for_the_next_transaction_only(dialect):
    assert dialect.begin_sql(IsolationLevel.SERIALIZABLE, False) == [
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION"]
    assert dialect.begin_sql(None, True) == ["START TRANSACTION READ ONLY"]


def test_row_locks_per_vendor():
    mariadb = MySQLDialect(True, (10, 11, 0))
    mysql8 = MySQLDialect(False, (8, 0, 36))
    assert mariadb.for_update_sql(skip_locked=True) == " FOR UPDATE SKIP LOCKED"
    assert mariadb.for_update_sql(read=True) == " LOCK IN SHARE MODE"
    assert mysql8.for_update_sql(read=True, nowait=True) == " FOR SHARE NOWAIT"


def test_offset_without_limit_and_default_values(dialect):
    assert dialect.limit_offset_sql(None, 5) == " LIMIT 18446744073709551615 OFFSET 5"
    assert dialect.insert_default_values_sql("t") == "INSERT INTO `t` () VALUES ()"


def test_literals_for_defaults(dialect):
    aware = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert dialect.literal(aware) == "'2024-01-02 01:04:05'"
    assert dialect.literal(b"\x00\xff") == "X'00ff'"
    assert dialect.literal(True) == "TRUE"
    assert dialect.literal(uuid.UUID(int=1)) == "'00000000-0000-0000-0000-000000000001'"


def test_column_type_object():
    assert str(MySQLColumnType.get_type(DatabaseType.INTEGER, autoincrement=True)) == \
        "INT AUTO_INCREMENT PRIMARY KEY"
    assert str(MySQLColumnType.get_type(DatabaseType.VARCHAR, length=10, not_null=True, default="x")) == \
        "VARCHAR(10) NOT NULL DEFAULT 'x'"


@pytest.mark.parametrize("text, expected", [
    ("5.5.5-10.11.6-MariaDB-0+deb12u1", (True, (10, 11, 6))),
    ("11.4.2-MariaDB", (True, (11, 4, 2))),
    ("8.0.36", (False, (8, 0, 36))),
    ("8.4.0-commercial", (False, (8, 4, 0))),
])
def test_server_version_parsing(text, expected):
    assert parse_server_version(text) == expected


def test_catalog_types_map_back():
    assert native_type("tinyint", "tinyint(1)", None, False) is DatabaseType.BOOLEAN
    assert native_type("tinyint", "tinyint(4)", None, False) is DatabaseType.TINYINT
    assert native_type("char", "char(36)", "ascii", False) is DatabaseType.UUID
    assert native_type("char", "char(36)", "utf8mb4", False) is DatabaseType.CHAR
    assert native_type("longtext", "longtext", "utf8mb4", True) is DatabaseType.JSON
    assert native_type("longtext", "longtext", "utf8mb4", False) is DatabaseType.TEXT
