"""``inspect``: model code for an existing database, read from its catalog.

One class per table: fields with Python types, nullability, lengths and
decimal sizes as validation, database defaults as ``db_default``, column
mapping where a column's name is not a snake_case Python name, the primary
key (composite too), ``belongs_to`` for each single-column foreign key to a
primary key and the matching ``has_many`` on the other side.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import keyword
import re
import uuid
from typing import TYPE_CHECKING, Any, Sequence

from ..backend.introspection import TableInfo
from ..backend.typing import ColumnInfo, DatabaseType, split_table_name
from .autogen import SIZE
from .runner import HISTORY_TABLE

if TYPE_CHECKING:
    from ..backend.base import StorageBackend

PYTHON_TYPES = {
    DatabaseType.TINYINT: "int", DatabaseType.SMALLINT: "int", DatabaseType.INTEGER: "int",
    DatabaseType.BIGINT: "int", DatabaseType.FLOAT: "float", DatabaseType.DOUBLE: "float",
    DatabaseType.DECIMAL: "Decimal",
    DatabaseType.CHAR: "str", DatabaseType.VARCHAR: "str", DatabaseType.TEXT: "str",
    DatabaseType.DATE: "datetime.date", DatabaseType.TIME: "datetime.time",
    DatabaseType.DATETIME: "datetime.datetime", DatabaseType.TIMESTAMP: "datetime.datetime",
    DatabaseType.BOOLEAN: "bool", DatabaseType.BLOB: "bytes", DatabaseType.JSON: "Any", DatabaseType.UUID: "uuid.UUID",
    DatabaseType.ARRAY: "list",
}

PYTHON_OBJECTS: dict[str, Any] = {
    "int": int, "float": float, "Decimal": decimal.Decimal, "str": str, "bool": bool, "bytes": bytes,
    "datetime.date": _dt.date, "datetime.time": _dt.time, "datetime.datetime": _dt.datetime,
    "uuid.UUID": uuid.UUID, "list": list,
}

HEADER = '''"""Models for {where}, written by `python -m rhosocial.activerecord inspect`.

Review them: names of classes and associations are guesses from the table and column names.
"""
from __future__ import annotations

import datetime  # noqa: F401
import uuid  # noqa: F401
from decimal import Decimal  # noqa: F401
from typing import Any, Optional  # noqa: F401

from rhosocial.activerecord import ActiveRecord, Field, belongs_to, has_many, raw  # noqa: F401
from rhosocial.activerecord.backend import DatabaseType  # noqa: F401
'''


def snake(name: str) -> str:
    """``"InvoiceLineId"`` -> ``"invoice_line_id"``; a name Python cannot use gets a suffix."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    text = re.sub(r"\W+", "_", text).strip("_").lower() or "column"
    if text[0].isdigit():
        text = "c_" + text
    if keyword.iskeyword(text) or text in ("c", "metadata", "query", "save", "delete", "id_"):
        text += "_"
    return text


def class_name(table: str) -> str:
    """``"invoice_lines"`` -> ``"InvoiceLine"`` (a last ``s`` dropped)."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", snake(table)) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Table"
    if name.endswith("ies") and len(name) > 4:
        name = name[:-3] + "y"
    elif name.endswith("s") and not name.endswith("ss") and len(name) > 3:
        name = name[:-1]
    return "T" + name if name[0].isdigit() else name


def plural(name: str) -> str:
    if name.endswith("y") and not name.endswith(("ay", "ey", "oy", "uy")):
        return name[:-1] + "ies"
    return name + ("es" if name.endswith(("s", "x", "ch", "sh")) else "s")


def models_source(backend: "StorageBackend", tables: Sequence[str] | None = None) -> str:
    """Return the source of a module with one model per table (default: every table but migration history)."""
    names = list(tables) if tables else [t for t in backend.get_tables() if t != HISTORY_TABLE]
    infos = {t: backend.inspect_table(t) for t in names}
    classes = _unique({t: class_name(t) for t in names})
    fields = {t: _field_names(info) for t, info in infos.items()}
    relations = _relations(infos, classes, fields)
    parts = [HEADER.format(where=backend.config.describe() or backend.name)]
    for table in names:
        parts.append(_model(infos[table], classes[table], fields[table], relations.get(table, []),
                            backend.dialect.read_back_types))
    return "\n\n\n".join(parts).rstrip() + "\n"


def _unique(names: dict[str, str]) -> dict[str, str]:
    seen: dict[str, int] = {}
    out = {}
    for key, name in names.items():
        n = seen.get(name, 0)
        seen[name] = n + 1
        out[key] = name if n == 0 else f"{name}{n + 1}"
    return out


def _field_names(info: TableInfo) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for column in info.columns:
        name = snake(column.name)
        while name in used:
            name += "_"
        used.add(name)
        out[column.name] = name
    return out


def _relations(infos: dict[str, TableInfo], classes: dict[str, str], fields: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    taken = {t: set(fields[t].values()) for t in infos}
    for table, info in infos.items():
        for fk in info.foreign_keys:
            parent = split_table_name(fk.referenced_table)[1]
            if parent not in infos or len(fk.columns) != 1:
                continue
            if tuple(fk.referenced_columns) != tuple(infos[parent].primary_key):
                continue  # a key to another unique column: no association written
            field = fields[table][fk.columns[0]]
            name = field[:-3] if field.endswith("_id") and len(field) > 3 else f"{field}_{snake(classes[parent])}"
            while name in taken[table]:
                name += "_record"
            taken[table].add(name)
            out.setdefault(table, []).append(
                f'{name} = belongs_to("{classes[parent]}", foreign_key="{field}")')
            back = plural(snake(classes[table]))
            if back in taken[parent]:
                back = f"{back}_by_{field}"
            while back in taken[parent]:
                back += "_records"
            taken[parent].add(back)
            out.setdefault(parent, []).append(f'{back} = has_many("{classes[table]}", foreign_key="{field}")')
    return out


def _model(info: TableInfo, cls: str, names: dict[str, str], relations: list[str],
           read_back: Any) -> str:
    lines = [f"class {cls}(ActiveRecord):", f"    __tablename__ = {info.name!r}"]
    keys = [names[k] for k in info.primary_key]
    if len(keys) == 1:
        lines.append(f"    __primary_key__ = {keys[0]!r}")
    elif keys:
        lines.append(f"    __primary_key__ = {tuple(keys)!r}")
    else:
        lines.append("    # no primary key in the database: the first column stands in; records cannot be told "
                     "apart if it repeats")
        lines.append(f"    __primary_key__ = {names[info.columns[0].name]!r}")
    unique = {tuple(u.columns) for u in info.unique_constraints} | {tuple(i.columns) for i in info.indexes if i.unique}
    indexed = {tuple(i.columns) for i in info.indexes if not i.unique}
    for column in info.columns:
        flags = [] if column.primary_key else (
            ["unique=True"] if (column.name,) in unique else ["index=True"] if (column.name,) in indexed else [])
        lines.append("    " + _field(column, names[column.name], len(info.primary_key) == 1, flags, read_back))
    for relation in relations:
        lines.append("    " + relation)
    return "\n".join(lines)


def _implied(py: str, max_length: int | None) -> DatabaseType | None:
    """The column type the model layer gives a field of type ``py``: what need not be written out."""
    import annotated_types
    from pydantic.fields import FieldInfo

    from ..model.fields import resolve_column

    annotation = PYTHON_OBJECTS.get(py)
    if annotation is None:
        return None
    info = FieldInfo.from_annotation(annotation)
    if max_length:
        info.metadata.append(annotated_types.MaxLen(max_length))
    return resolve_column("field", info, ()).db_type


def _field(column: ColumnInfo, name: str, single_key: bool, flags: list[str], read_back: Any) -> str:
    py = PYTHON_TYPES.get(column.db_type, "Any") if column.db_type is not None else "Any"
    options: list[str] = list(flags)
    size = SIZE.search(column.type or "")
    max_length = int(size.group(1)) if size and column.db_type is DatabaseType.VARCHAR else None
    note = ""
    if column.db_type is None:
        options.append("db_type=DatabaseType.TEXT")
        note = f"  # native type {column.type}: no generic type; values are read and written as the driver has them"
    else:
        implied = _implied(py, max_length)
        if implied is None or read_back.get(implied, implied) is not column.db_type:
            options.append(f"db_type=DatabaseType.{column.db_type.name}")
    if max_length:
        options.append(f"max_length={max_length}")
    if size and column.db_type is DatabaseType.DECIMAL:
        options.append(f"max_digits={int(size.group(1))}")
        if size.group(2) is not None:
            options.append(f"decimal_places={int(size.group(2))}")
    if name != column.name:
        options.append(f"column={column.name!r}")
    generated_key = column.primary_key and single_key and column.autoincrement
    default: str | None = None
    if column.generated:
        options.append("db_generated=True")
    elif column.default is not None and not generated_key and str(column.default).upper() != "NULL":
        options.append(f"db_default=raw({str(column.default)!r})")
    optional = column.nullable or generated_key or column.generated or "db_default=" in " ".join(options)
    if optional and py != "Any":
        annotation = f"Optional[{py}]"
        default = "None"
    else:
        annotation = py
        default = "None" if column.nullable or generated_key else None
    if options:
        args = ([default] if default is not None else []) + options
        return f"{name}: {annotation} = Field({', '.join(args)}){note}"
    return f"{name}: {annotation}" + (f" = {default}" if default is not None else "") + note
