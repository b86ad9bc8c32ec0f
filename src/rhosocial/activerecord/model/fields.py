"""From pydantic field declarations to table columns.

A model field's annotation decides its generic column type (``str`` with
``max_length`` -> VARCHAR(n), ``Decimal`` with ``max_digits`` -> DECIMAL(p,s),
``Optional[...]`` -> nullable ...). Column-only options (``unique``, ``index``,
foreign keys) travel in :class:`ColumnOptions`, attached by :func:`Field` or
given directly in ``Annotated[...]``.
"""
from __future__ import annotations

import datetime as _dt
import enum
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import annotated_types
import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..backend.typing import NO_DEFAULT, ColumnDef, DatabaseType, SQLDefault, TableName
from ..errors import ModelDefinitionError
from .types import FieldType, array_type, registry


@dataclass(frozen=True)
class ColumnOptions:
    """Column settings that pydantic has no words for.

    Attributes:
        unique: add a UNIQUE constraint.
        index: create an index on the column.
        db_type: force a generic column type instead of the one the annotation implies.
        references: ``"table.column"`` (or a model's table; ``"schema.table.column"``
            for a table in another schema) for a foreign key.
        on_delete: the foreign key's ON DELETE action.
        check: a CHECK expression in SQL (trusted schema text).
        length: VARCHAR length when no ``max_length`` validation is wanted.
        column: the column's name in the database when it differs from the
            field's (``Field(column="ArtistId")``); everything in Python uses the field name.
        db_default: the column's default in the database: a literal value or
            :class:`~rhosocial.activerecord.backend.SQLDefault` SQL. A new record
            that leaves the field unset is inserted without it, and the value
            the database chose is read back.
        generated: the database computes the column: SQL it is computed from
            (``"quantity * unit_price"``), or ``True`` for a column computed by
            other means (a trigger, an existing table's definition). Never written;
            read back after every save.
        readonly: the value is written when the record is created and never
            changed after: saving a change raises ``ReadOnlyRecordError``.
    """

    unique: bool = False
    index: bool = False
    db_type: DatabaseType | None = None
    references: str | None = None
    on_delete: str | None = None
    check: str | None = None
    length: int | None = None
    column: str | None = None
    db_default: Any = NO_DEFAULT
    generated: str | bool = False
    readonly: bool = False


def Field(  # noqa: N802 - mirrors pydantic.Field
    default: Any = PydanticUndefined,
    *,
    unique: bool = False,
    index: bool = False,
    db_type: DatabaseType | None = None,
    references: str | None = None,
    on_delete: str | None = None,
    check: str | None = None,
    length: int | None = None,
    column: str | None = None,
    db_default: Any = NO_DEFAULT,
    db_generated: str | bool = False,
    readonly: bool = False,
    **kwargs: Any,
) -> Any:
    """Declare a model field: pydantic's ``Field`` plus column options.

    Example: ``email: str = Field(max_length=255, unique=True)``;
    ``artist_id: int = Field(column="ArtistId")`` for a differently named column;
    ``created_at: datetime = Field(db_default=raw("CURRENT_TIMESTAMP"))`` for a
    value the database fills in; ``Field(readonly=True)`` for a value set once
    at creation (see :class:`ColumnOptions`).
    pydantic's ``alias`` keeps its meaning (the name in input and output data,
    such as JSON); it never names the column.
    """
    if column is not None and (not isinstance(column, str) or not column):
        raise ModelDefinitionError(f"Field(column=...) takes a column name, got {column!r}")
    db_default = _database_default(db_default)
    if not isinstance(db_generated, (str, bool)) or db_generated == "":
        raise ModelDefinitionError(f"Field(db_generated=...) takes SQL text or True, got {db_generated!r}")
    if db_generated and db_default is not NO_DEFAULT:
        raise ModelDefinitionError("A field cannot have both db_default and db_generated")
    if (db_generated or db_default is not NO_DEFAULT) and default is PydanticUndefined \
            and "default_factory" not in kwargs:
        default = None  # None until the database has given it a value
    info = pydantic.Field(default, **kwargs)
    options = ColumnOptions(unique, index, db_type, references, on_delete, check, length, column,
                            db_default, db_generated, readonly)
    if options != ColumnOptions():
        info.metadata.append(options)
    return info


def _database_default(value: Any) -> Any:
    """``raw("SQL")`` becomes a SQLDefault; literal values stay as they are."""
    from ..query.expressions import Raw

    if isinstance(value, Raw):
        if value.params:
            raise ModelDefinitionError("A db_default written as SQL cannot have parameters")
        return SQLDefault(value.sql)
    if value is NO_DEFAULT or value is None or isinstance(value, SQLDefault) or _literal_default(value) \
            or isinstance(value, (_dt.date, _dt.time, Decimal)):
        return value
    raise ModelDefinitionError(f"Field(db_default=...) takes a literal value or raw('SQL'), got {value!r}")


KEY_STRING_LENGTH = 255  # VARCHAR length of an unbounded ``str`` key, unique or indexed column

@dataclass
class ColumnSpec:
    """How one model field is stored: its column definition and Python-side conversions.

    ``name`` is the field's; ``column.name`` (:attr:`column_name`) the database's.
    """

    name: str
    db_type: DatabaseType
    nullable: bool
    column: ColumnDef
    options: ColumnOptions
    to_db: Callable[[Any], Any] | None = None  # Python-side step before the dialect's
    from_db: Callable[[Any], Any] | None = None  # Python-side step after the dialect's
    mutable: bool = False  # JSON values that can change in place
    db_default: bool = False  # the database fills the column in when an insert leaves it out
    generated: bool = False  # the database computes the column: never written
    annotation: Any = None  # the field's Python type (Optional removed), for checking values
    model: str = ""  # the model's name, for messages
    _adapter: Any = None

    @property
    def column_name(self) -> str:
        """The column's name in the database."""
        return self.column.name

    def check(self, value: Any) -> Any:
        """Return ``value`` as this field's type (``"5"`` -> 5 for an int), for a query condition.

        Only the type is checked, not the field's constraints (a LIKE pattern
        may be longer than the column).

        Raises:
            DataError: the value cannot be one of this field's type.
        """
        adapter = self._adapter
        if adapter is None:
            if self.annotation is None:
                return value
            adapter = self._adapter = pydantic.TypeAdapter(self.annotation)
        try:
            return adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            from ..backend.errors import DataError

            reason = exc.errors()[0].get("msg", str(exc)) if exc.errors() else str(exc)
            raise DataError(f"{self.model}.{self.name} cannot be compared with {value!r}: {reason}; "
                            "nothing was sent to the database") from None


def resolve_column(name: str, info: FieldInfo, primary_key: tuple[str, ...]) -> ColumnSpec:
    """Work out the column for field ``name`` from its annotation and metadata."""
    annotation, nullable = unwrap_optional(info.annotation)
    options = next((m for m in info.metadata if isinstance(m, ColumnOptions)), ColumnOptions())
    max_length = next((m.max_length for m in info.metadata if isinstance(m, annotated_types.MaxLen)), None)
    how = _field_type(name, annotation, options)
    db_type, to_db, from_db, mutable = how.db_type, how.to_db, how.from_db, how.mutable
    params: dict[str, Any] = dict(how.params)
    if db_type in (DatabaseType.TEXT, DatabaseType.VARCHAR) and (max_length or options.length):
        db_type = DatabaseType.VARCHAR
        params["length"] = options.length or max_length
    elif db_type is DatabaseType.TEXT and options.db_type is None and (
            name in primary_key or options.unique or options.index):
        # Keys and indexes need a bounded type on some databases (MySQL cannot index TEXT).
        db_type, params["length"] = DatabaseType.VARCHAR, KEY_STRING_LENGTH
    if db_type is DatabaseType.DECIMAL:
        general = [m for m in info.metadata if hasattr(m, "max_digits") or hasattr(m, "decimal_places")]
        for meta in general:
            if getattr(meta, "max_digits", None) is not None:
                params["precision"] = meta.max_digits
            if getattr(meta, "decimal_places", None) is not None:
                params["scale"] = meta.decimal_places
    is_pk = name in primary_key
    from_database = options.db_default is not NO_DEFAULT or bool(options.generated)
    nullable = nullable or (info.default is None and not is_pk and not from_database)
    default = NO_DEFAULT
    if options.db_default is not NO_DEFAULT:
        default = options.db_default
        if to_db and not isinstance(default, SQLDefault) and default is not None:
            default = to_db(default)
    elif info.default is not PydanticUndefined and info.default is not None and _literal_default(info.default):
        default = to_db(info.default) if to_db else info.default
    references: tuple[str, str] | None = None
    if options.references:
        parts = options.references.split(".")
        if len(parts) == 3:  # "schema.table.column": a table in another schema
            references = (TableName(parts[1], parts[0]), parts[2] or "id")
        else:
            table, _, target = options.references.partition(".")
            references = (table, target or "id")
    column = ColumnDef(
        name=options.column or name,
        db_type=db_type,
        nullable=nullable and not is_pk,
        primary_key=is_pk,
        # only a single integer key that may be None until saved is generated by the database
        autoincrement=is_pk and len(primary_key) == 1 and nullable
        and db_type in (DatabaseType.INTEGER, DatabaseType.BIGINT),
        unique=options.unique,
        default=default,
        references=references,
        on_delete=options.on_delete,
        check=options.check,
        generated=options.generated if isinstance(options.generated, str) else None,
        **params,
    )
    checked = None if db_type in (DatabaseType.JSON, DatabaseType.ARRAY) else annotation
    return ColumnSpec(name, db_type, nullable, column, options, to_db, from_db, mutable,
                      options.db_default is not NO_DEFAULT, bool(options.generated), checked)


def _field_type(name: str, annotation: Any, options: ColumnOptions) -> FieldType:
    """Look the annotation up in the type registry; ``Field(db_type=...)`` overrides the column type."""
    if options.db_type is DatabaseType.ARRAY:
        return array_type(annotation)
    try:
        how = registry.lookup(annotation)
    except TypeError:
        if options.db_type is None:
            raise ModelDefinitionError(
                f"Field {name!r}: no column type for {annotation!r}; declare one with "
                "Field(db_type=DatabaseType....) or register the type with register_type()"
            ) from None
        return FieldType(options.db_type, mutable=options.db_type is DatabaseType.JSON)
    if options.db_type is not None and options.db_type is not how.db_type:
        # Another column type for a known Python type: its converters no longer apply,
        # except an enum's (its value is stored whichever column holds it).
        keep = isinstance(annotation, type) and issubclass(annotation, enum.Enum)
        return FieldType(options.db_type, how.to_db if keep else None, how.from_db if keep else None,
                         mutable=options.db_type is DatabaseType.JSON)
    return how


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """Return the type inside ``Optional[...]``/``Annotated[...]`` and whether None is allowed."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            inner, _ = unwrap_optional(args[0])
            return inner, nullable
        raise ModelDefinitionError(f"Union types other than Optional[X] cannot be stored: {annotation!r}")
    if origin is typing.Annotated:
        return unwrap_optional(typing.get_args(annotation)[0])
    return annotation, False


def _literal_default(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str, enum.Enum)) and not isinstance(value, _dt.date)
