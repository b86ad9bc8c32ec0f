"""Value types shared by every backend: column types, configuration, results."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit


class DatabaseType(enum.Enum):
    """Generic column types that every backend maps to a native type."""

    TINYINT = "tinyint"
    SMALLINT = "smallint"
    INTEGER = "integer"
    BIGINT = "bigint"
    FLOAT = "float"
    DOUBLE = "double"
    DECIMAL = "decimal"
    CHAR = "char"
    VARCHAR = "varchar"
    TEXT = "text"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    TIMESTAMP = "timestamp"
    BLOB = "blob"
    BOOLEAN = "boolean"
    UUID = "uuid"
    JSON = "json"
    ARRAY = "array"
    CUSTOM = "custom"


class IsolationLevel(enum.Enum):
    """Transaction isolation levels of the SQL standard."""

    READ_UNCOMMITTED = "READ UNCOMMITTED"
    READ_COMMITTED = "READ COMMITTED"
    REPEATABLE_READ = "REPEATABLE READ"
    SERIALIZABLE = "SERIALIZABLE"

    @classmethod
    def parse(cls, value: "IsolationLevel | str") -> "IsolationLevel":
        """Return the level named by ``value``.

        Accepts a member, its name (``"READ_COMMITTED"``) or its SQL spelling
        (``"read committed"``), in any case. Anything else raises
        :class:`~rhosocial.activerecord.backend.errors.IsolationLevelError`, so a
        level never reaches SQL text unchecked.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = " ".join(value.replace("_", " ").split()).upper()
            for member in cls:
                if member.value == key:
                    return member
        from .errors import IsolationLevelError

        known = ", ".join(m.name for m in cls)
        raise IsolationLevelError(f"Unknown isolation level {value!r}; expected one of {known}")


@dataclass
class ConnectionConfig:
    """Where and how to connect; every backend reads the fields it needs.

    ``options`` carries backend-specific settings (``timeout``, ``wal``,
    ``connect_timeout``, ...). ``from_url`` parses ``scheme://user:pw@host:port/db?k=v``.
    """

    database: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    ssl: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    _FIELDS = ("database", "host", "port", "user", "password", "ssl", "options")

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "ConnectionConfig":
        """Build a config from keywords; unknown keywords go to ``options``."""
        url = kwargs.pop("url", None)
        config = cls.from_url(url) if url else cls()
        options = dict(kwargs.pop("options", None) or {})
        for key, value in kwargs.items():
            if key in cls._FIELDS:
                setattr(config, key, value)
            elif key.startswith("ssl_"):
                config.ssl[key[4:]] = value
            else:
                options[key] = value
        config.options.update(options)
        if config.port is not None:
            try:
                config.port = int(config.port)
            except (TypeError, ValueError):
                from .errors import ConfigurationError

                raise ConfigurationError(f"port must be an integer, got {config.port!r}") from None
        return config

    @classmethod
    def from_url(cls, url: str) -> "ConnectionConfig":
        """Parse a database URL (``postgresql://user:pw@host:5432/db?sslmode=require``)."""
        parts = urlsplit(url)
        if not parts.scheme:
            from .errors import ConfigurationError

            raise ConfigurationError(f"Not a database URL (no scheme): {url!r}")
        database = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        if parts.scheme.startswith("sqlite"):
            # sqlite:///relative.db, sqlite:////abs/path.db, sqlite:///:memory:
            database = unquote(parts.path[1:]) if parts.netloc == "" else unquote(parts.netloc + parts.path)
        config = cls(
            database=database or None,
            host=parts.hostname,
            port=parts.port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )
        for key, value in parse_qsl(parts.query):
            if key.startswith("ssl"):
                config.ssl[key] = value
            else:
                config.options[key] = value
        return config

    def describe(self) -> str:
        """Return a short, password-free description for error messages."""
        where = self.host or ""
        if self.port:
            where += f":{self.port}"
        user = f"{self.user}@" if self.user else ""
        return f"{user}{where}/{self.database or ''}" if where else (self.database or "")


URL_SCHEMES: Mapping[str, str] = {
    "sqlite": "sqlite",
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}


class QueryResult:
    """What one statement returned.

    ``rows`` is a list of tuples in ``columns`` order (cheap to build and to
    read); ``dicts()`` gives them as mappings. ``affected_rows`` is the
    driver's row count, ``last_insert_id`` the key generated by an INSERT
    where the driver reports one, and ``duration`` the seconds spent in the
    driver.
    """

    __slots__ = ("rows", "columns", "affected_rows", "last_insert_id", "duration", "duplicates")

    def __init__(
        self,
        rows: list[tuple[Any, ...]] | None = None,
        columns: Sequence[str] = (),
        affected_rows: int = 0,
        last_insert_id: Any = None,
        duration: float = 0.0,
    ) -> None:
        self.rows = [] if rows is None else rows
        self.columns = columns if columns.__class__ is tuple else tuple(columns)
        self.affected_rows = affected_rows
        self.last_insert_id = last_insert_id
        self.duration = duration
        #: Rows of a multi-row ``INSERT ... ON DUPLICATE KEY UPDATE`` that found a stored row,
        #: where the server says (MySQL/MariaDB count them as affected either way), else ``None``.
        self.duplicates: int | None = None

    def dicts(self) -> list[dict[str, Any]]:
        """Return the rows as dicts keyed by column name."""
        cols = self.columns
        return [dict(zip(cols, row)) for row in self.rows]

    def first(self) -> dict[str, Any] | None:
        """Return the first row as a dict, or ``None`` when there is none."""
        return dict(zip(self.columns, self.rows[0])) if self.rows else None

    def scalar(self) -> Any:
        """Return the first column of the first row, or ``None``."""
        return self.rows[0][0] if self.rows else None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return (
            f"QueryResult(rows={len(self.rows)}, affected_rows={self.affected_rows}, "
            f"last_insert_id={self.last_insert_id!r}, duration={self.duration:.6f})"
        )


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the database catalog describes it."""

    name: str
    type: str
    nullable: bool
    default: Any = None
    primary_key: bool = False
    db_type: DatabaseType | None = None
    #: The database computes the column (``GENERATED ALWAYS AS ...``): it cannot be written.
    generated: bool = False
    #: The database numbers new rows in this column (an identity, serial, AUTO_INCREMENT or rowid key).
    autoincrement: bool = False


class TableName(str):
    """A table in a named schema: ``TableName("track", schema="music")``.

    A ``str`` (``"music.track"``) so it goes wherever a table name goes; the
    dialect quotes it as two identifiers (``"music"."track"``) and the
    catalog methods look in that schema. What a schema is depends on the
    database: a PostgreSQL schema, a MySQL/MariaDB database, an attached
    SQLite database.
    """

    schema: str
    name: str

    def __new__(cls, name: str, schema: str) -> "TableName":
        for part, what in ((name, "table"), (schema, "schema")):
            if not isinstance(part, str) or not part:
                raise ValueError(f"TableName needs a {what} name, got {part!r}")
        self = super().__new__(cls, f"{schema}.{name}")
        self.schema = schema
        self.name = name
        return self

    def __repr__(self) -> str:
        return f"TableName({self.name!r}, schema={self.schema!r})"

    def __reduce__(self) -> Any:
        return (TableName, (self.name, self.schema))


def split_table_name(table: str) -> tuple[str | None, str]:
    """Return ``(schema, name)`` of a table name (``schema`` is None for a plain name)."""
    if type(table) is TableName:
        return table.schema, table.name
    return None, table


def bare_table_name(table: str) -> str:
    """A table's name without its schema: the name its columns are qualified by (``FROM s.t`` exposes ``t``)."""
    return split_table_name(table)[1]


class _NoDefault:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_DEFAULT"

    def __bool__(self) -> bool:
        return False


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True)
class SQLDefault:
    """A column default written as SQL (``SQLDefault("CURRENT_TIMESTAMP")``), not a literal value.

    Trusted schema text, like ``ColumnDef.check``.
    """

    sql: str

    def __post_init__(self) -> None:
        if not isinstance(self.sql, str) or not self.sql.strip():
            raise ValueError(f"SQLDefault needs SQL text, got {self.sql!r}")


@dataclass
class ColumnDef:
    """One column of a table to create.

    ``length`` sizes CHAR/VARCHAR, ``precision``/``scale`` size DECIMAL (and
    fractional seconds where a backend has them). ``references`` is a
    ``(table, column)`` pair for a foreign key. ``default`` is a literal
    value or a :class:`SQLDefault`. ``check``, ``generated`` and ``custom_type``
    are SQL text written into the DDL as given: they are trusted input from
    the schema author, never from end users.
    """

    name: str
    db_type: DatabaseType
    nullable: bool = True
    primary_key: bool = False
    autoincrement: bool = False
    unique: bool = False
    default: Any = NO_DEFAULT
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    references: tuple[str, str] | None = None
    on_delete: str | None = None
    check: str | None = None
    custom_type: str | None = None
    item_type: DatabaseType | None = None
    #: SQL the database computes the column from (``GENERATED ALWAYS AS (...) STORED``).
    generated: str | None = None

    def type_params(self) -> dict[str, Any]:
        """Return the sizing parameters a ``TypeMapping.format_func`` reads."""
        params: dict[str, Any] = {}
        for key in ("length", "precision", "scale", "custom_type", "item_type"):
            value = getattr(self, key)
            if value is not None:
                params[key] = value
        return params
