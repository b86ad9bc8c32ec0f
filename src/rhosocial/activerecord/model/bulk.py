"""Writes of many rows at once: ``insert_many``, ``upsert_all``/``upsert`` and ``bulk_update``.

Values are validated as records (pydantic runs), but no hooks run: these are
the fast paths for imports and synchronisation jobs. Statements carry as many
rows as the backend binds parameters for; several statements of one call run
in one transaction, so a call is all or nothing.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Sequence

from ..backend.errors import NotSupportedError, UniqueViolationError
from ..errors import RecordNotFound, StaleObjectError
from ..query.query import by_keys
from .schema import Conflict, ModelSchema

if TYPE_CHECKING:
    from .base import ActiveRecord

#: Rows per UPDATE of :func:`bulk_update` (each carries a CASE branch per row and column).
ROWS_PER_UPDATE = 1000


def records_of(cls: type["ActiveRecord"], items: Sequence[Any]) -> list["ActiveRecord"]:
    """Validated records of ``items`` (records of ``cls`` or dicts of fields)."""
    from .base import ActiveRecord

    if all(type(item) is dict for item in items):  # the usual case, in one pass
        made = [cls(**item) for item in items]
        _stamp(cls, made)
        return made
    made = []
    for item in items:
        if isinstance(item, ActiveRecord):
            if not isinstance(item, cls):
                raise TypeError(f"{cls.__name__}: cannot write a {type(item).__name__} into {cls.table_name()!r}")
            if "_invalid" in item.__pydantic_private__:
                item._refuse_input_errors()  # input build()/assign_attributes() refused is never written
            if "_readonly" in item.__pydantic_private__:
                raise item._read_only("written")
            made.append(item)
        elif isinstance(item, dict):
            made.append(cls(**item))
        else:
            raise TypeError(f"{cls.__name__}: rows are records or dicts of fields, got {item!r}")
    _stamp(cls, made)
    return made


def _stamp(cls: type["ActiveRecord"], made: list["ActiveRecord"]) -> None:
    """Fill the bulk timestamps (``created_at``/``updated_at``) the records leave empty."""
    stamps = cls._bulk_timestamps()
    if stamps:
        from .mixins import utc_now

        now = utc_now()
        for record in made:
            values = record.__dict__
            if any(values.get(name) is None for name in stamps):
                if values is record.__pydantic_private__["_original"]:
                    values = dict(values)  # a loaded record's dict may be its database state too
                    object.__setattr__(record, "__dict__", values)
                for name in stamps:
                    if values.get(name) is None:
                        values[name] = now


def runs(schema: ModelSchema, made: list["ActiveRecord"]) -> list[tuple[tuple[str, ...], list[dict[str, Any]]]]:
    """Group neighbouring records by the columns they write.

    A record without its generated key leaves the key to the database, as
    one with an unset field that has a database default leaves that field.
    Runs keep the order given, so rows are inserted in that order.
    """
    pk = schema.generated_key
    if not schema.db_defaults and (pk is None or all(r.__dict__.get(pk) is None for r in made)):
        return [(schema.names_without_pk if pk is not None else schema.insert_names, [r.__dict__ for r in made])]
    out: list[tuple[tuple[str, ...], list[dict[str, Any]]]] = []
    for record in made:
        values = record.__dict__
        names = schema.names_without_pk if pk is not None and values.get(pk) is None else schema.insert_names
        left = record._filled_by_database(schema) if schema.db_defaults else ()
        columns = tuple(n for n in names if n not in left) if left else names
        if out and out[-1][0] == columns:
            out[-1][1].append(values)
        else:
            out.append((columns, [values]))
    return out


def insert_many(cls: type["ActiveRecord"], items: Sequence[Any], ignore_duplicates: bool = False,
                returning: bool = False, unique_by: Any = None) -> Any:
    """See :meth:`ActiveRecord.insert_many`."""
    if not items:
        return [] if returning else 0
    schema = cls._schema()
    if not schema.writes_prepared:
        schema.prepare_writes()
    made = records_of(cls, items)
    backend = schema.backend
    any_key = backend.dialect.upsert_any_key
    conflict = None
    if ignore_duplicates:
        if not backend.capabilities.supports_upsert:
            raise NotSupportedError(f"{backend.name} has no INSERT ... ON CONFLICT: ignore_duplicates is not available")
        target = conflict_target(cls, schema, unique_by) if unique_by is not None else ()
        # ON DUPLICATE KEY UPDATE skips a row by setting a column to itself: the key's
        conflict = Conflict(target or (schema.keys if any_key else ()))
    elif unique_by is not None:
        raise ValueError("insert_many(unique_by=...) goes with ignore_duplicates=True (or use upsert_all)")
    if returning and (not backend.capabilities.supports_returning or (ignore_duplicates and any_key)):
        # (ON DUPLICATE KEY ... RETURNING returns the duplicates too: they cannot be told apart)
        return _insert_one_by_one(cls, schema, made, ignore_duplicates)
    groups = runs(schema, made)
    back = schema.names if returning else ()
    count = 0
    loaded: list[Any] = []
    pairs: list[tuple[Any, Any]] = []
    owner = {id(r.__dict__): r for r in made} if returning else {}
    outer = backend.in_transaction
    with _atomic(backend, _several(schema, groups)):
        for run_columns, values in groups:
            n, got, columns = schema.write_rows(run_columns, values, conflict, back)
            count += n
            if not returning or not got:
                continue
            back_records = cls.from_rows(columns, got)
            loaded.extend(back_records)
            if not ignore_duplicates:
                pairs.extend(_paired(schema, [owner[id(v)] for v in values], back_records, run_columns))
        if not returning:
            return count
        if ignore_duplicates:
            enlist_new(backend, loaded, schema)
            return loaded  # the rows that went in (the others are not theirs to stand for)
        if len(pairs) != len(made):
            raise RecordNotFound(
                f"{cls.__name__}.insert_many: the database returned {len(pairs)} rows for {len(made)} records "
                "(a rule or trigger skipped some?)", cls)
        if outer:  # (a transaction of this call's own commits before the records change)
            enlist(backend, made, schema)
    for given, record in pairs:
        _take_state(given, record)
    return made


def _paired(schema: ModelSchema, given: list[Any], back: list[Any], columns: tuple[str, ...]) -> list[tuple[Any, Any]]:
    """Pair the records given with the rows RETURNING gave back, without trusting their order.

    A key the database generated grows in the order the rows went in, so
    sorting by it restores that order; given keys are matched by value.
    """
    pk = schema.generated_key
    if pk is not None and pk not in columns:
        back = sorted(back, key=lambda r: r.__dict__[pk])
        return list(zip(given, back))
    by_key = {schema.key_of(r.__dict__): r for r in back}
    return [(g, by_key[k]) for g in given if (k := schema.key_of(g.__dict__)) in by_key]


def enlist_new(backend: Any, records: Sequence["ActiveRecord"], schema: ModelSchema) -> None:
    """Have the open transaction turn these records (read back from a write) into unsaved ones on rollback."""
    transaction = backend.current_transaction()
    if transaction is None:
        return
    generated = schema.generated_key
    lock = schema.model.__lock_column__
    for record in records:
        values = record.__dict__
        state = (None, None, generated, None, values.get(lock) if lock is not None else None, None, None)
        transaction.enlist(id(record), record, state, False)


def enlist(backend: Any, records: Sequence["ActiveRecord"], schema: ModelSchema) -> None:
    """Have the open transaction put these records back if it rolls back (as ``save()`` does)."""
    transaction = backend.current_transaction()
    if transaction is None:
        return
    for record in records:
        transaction.enlist(id(record), record, record._write_state(schema), False)


def _insert_one_by_one(cls: type["ActiveRecord"], schema: ModelSchema, made: list["ActiveRecord"],
                       ignore_duplicates: bool) -> list["ActiveRecord"]:
    """Without RETURNING: insert row by row in one transaction, each reading its key back as save() does."""
    backend = schema.backend
    if ignore_duplicates and not backend.dialect.failed_statement_keeps_transaction:
        raise NotSupportedError(
            f"{backend.name} has no RETURNING and a duplicate ends its transaction: "
            "insert_many(ignore_duplicates=True, returning=True) cannot tell which rows went in")
    saved = []
    with backend.transaction():
        if not ignore_duplicates:
            enlist(backend, made, schema)
        for record in made:
            if not record.is_new_record:
                raise ValueError(f"{cls.__name__}.insert_many: {record!r} is already saved")
            if ignore_duplicates:
                # the given records stay as they are (as with RETURNING): a copy goes in
                copy_ = record.model_copy()
                object.__setattr__(copy_, "__pydantic_private__", {**record.__pydantic_private__, "_original": None})
                try:
                    with backend.transaction():  # a savepoint: the failed INSERT goes alone
                        copy_._insert(schema)
                except UniqueViolationError:
                    continue
                enlist_new(backend, [copy_], schema)
                saved.append(copy_)
            else:
                record._insert(schema)
                saved.append(record)
    return saved


def _take_state(target: "ActiveRecord", source: "ActiveRecord") -> None:
    """Make ``target`` the record ``source`` was loaded as (values, database state, saved)."""
    object.__setattr__(target, "__dict__", source.__dict__)
    private = target.__pydantic_private__
    private["_original"] = None
    target._saved_as(source.__pydantic_private__["_original"])
    private.pop("_deleted", None)
    object.__setattr__(target, "__pydantic_fields_set__", set(type(target).model_fields))


def _several(schema: ModelSchema, groups: list[tuple[tuple[str, ...], list[dict[str, Any]]]]) -> bool:
    """Whether writing these runs takes more than one statement (rows of defaults only go one by one)."""
    if len(groups) > 1:
        return True
    columns, rows = groups[0]
    return len(rows) > (schema.rows_per_statement(columns) if columns else 1)


class _atomic:
    """A transaction when ``needed`` (a savepoint inside the caller's), else nothing.

    Inside the caller's transaction too the call is all or nothing: its
    savepoint rolls back on an error, and the caller's transaction goes on.
    """

    def __init__(self, backend: Any, needed: bool) -> None:
        self.backend = backend
        self.context = backend.transaction() if needed else None

    def __enter__(self) -> None:
        if self.context is not None:
            self.context.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        if self.context is not None:
            return self.context.__exit__(*exc)
        return None


# -- upsert -----------------------------------------------------------------------------


def conflict_target(cls: type["ActiveRecord"], schema: ModelSchema, unique_by: Any) -> tuple[str, ...]:
    """The fields of ``unique_by`` (default: the key), checked to be the key or a unique index.

    Raises:
        ValueError: a name is not a field, or the fields are neither the
            primary key nor a unique index/constraint of the table.
    """
    if unique_by is None:
        return schema.keys
    fields = (unique_by,) if isinstance(unique_by, str) else tuple(unique_by)
    if not fields or not all(isinstance(f, str) for f in fields):
        raise ValueError(f"unique_by takes a field name or a tuple of them, got {unique_by!r}")
    for name in fields:
        if name not in schema.columns:
            raise ValueError(f"unique_by: {cls.__name__} has no field {name!r}; fields: {', '.join(schema.names)}")
    wanted = frozenset(schema.column_of[f] for f in fields)
    if wanted == frozenset(schema.column_of[k] for k in schema.keys):
        return fields
    if len(fields) == 1 and schema.columns[fields[0]].options.unique and schema._created:
        return fields  # the model made the table, with this UNIQUE; otherwise the catalog says
    keys = schema.unique_keys()
    if wanted in keys:
        return fields
    known = "; ".join("(" + ", ".join(sorted(schema.field_of.get(c, c) for c in k)) + ")" for k in keys) or "none"
    raise ValueError(
        f"unique_by={fields!r} is neither the primary key nor a unique index of {schema.table!r}, so a "
        f"conflict cannot be found by it; its unique keys are: {known}. Nothing was written")


def upsert_all(cls: type["ActiveRecord"], items: Sequence[Any], unique_by: Any = None, update: Any = None,
               returning: bool = False) -> Any:
    """See :meth:`ActiveRecord.upsert_all`."""
    schema = cls._schema()
    target = conflict_target(cls, schema, unique_by)
    if not items:
        return [] if returning else 0
    backend = schema.backend
    if not backend.capabilities.supports_upsert:
        raise NotSupportedError(f"{backend.name} has no INSERT ... ON CONFLICT: upsert_all is not available")
    if not schema.writes_prepared:
        schema.prepare_writes()
    made = records_of(cls, items)
    _refuse_repeated_keys(cls, made, target)
    lock = cls.__lock_column__
    chosen = _update_fields(cls, schema, target, update, schema.insert_names)
    groups = runs(schema, made)
    use_returning = returning and backend.capabilities.supports_returning
    back = schema.names if use_returning else ()
    rows: list[Any] = []
    columns: tuple[str, ...] = ()
    count = 0
    with _atomic(backend, returning or _several(schema, groups)):
        for run_columns, values in groups:
            # By default a conflict takes the fields the rows give; a field a row leaves to its
            # database default keeps its stored value. Fields named in update= are set either way.
            fields = chosen if update is not None else tuple(n for n in chosen if n in run_columns)
            bump = (lock,) if lock is not None and fields else ()
            if not fields and returning:
                fields = target[:1]  # set to itself: DO NOTHING would return no row for a stored one
            conflict = Conflict(target, tuple(dict.fromkeys(fields + bump)), bump)
            n, got, columns = schema.write_rows(run_columns, values, conflict, back)
            count += n
            rows.extend(got)
        if returning and not use_returning:
            found = _read_back(cls, schema, made, target)
        else:
            found = cls.from_rows(columns, rows) if returning else []
        enlist_new(backend, found, schema)
    if not returning:
        return count
    return found


def upsert(cls: type["ActiveRecord"], unique_by: Any, update: Any, attributes: dict[str, Any]) -> "ActiveRecord":
    """See :meth:`ActiveRecord.upsert`."""
    found = upsert_all(cls, [attributes], unique_by=unique_by, update=update, returning=True)
    if len(found) != 1:
        raise RecordNotFound(f"The upsert of a {cls.__name__} returned {len(found)} rows, not 1", cls)
    return found[0]


def _update_fields(cls: type["ActiveRecord"], schema: ModelSchema, target: tuple[str, ...], update: Any,
                   names: tuple[str, ...]) -> tuple[str, ...]:
    """The fields a conflict updates: those asked for, or every written one but the keys and ``created_at``."""
    if update is None:
        keep = set(target) | set(schema.keys) | set(cls._bulk_timestamps()[:1]) | schema.readonly_fields
        return tuple(n for n in names if n not in keep)
    return writable_fields(cls, schema, update, "update", keys=True)


def writable_fields(cls: type["ActiveRecord"], schema: ModelSchema, fields: Any, what: str,
                    keys: bool = False) -> tuple[str, ...]:
    """``fields`` (a name or names) checked to be fields a bulk write may set.

    Raises:
        ValueError: not a field, a computed one, or (unless ``keys``) part of the key.
        ReadOnlyRecordError: a ``Field(readonly=True)`` field.
    """
    names = (fields,) if isinstance(fields, str) else tuple(fields)
    for name in names:
        if name not in schema.columns:
            raise ValueError(f"{what}: {cls.__name__} has no field {name!r}; fields: {', '.join(schema.names)}")
        if not keys and name in schema.keys:
            raise ValueError(f"{what}: {cls.__name__}.{name} is part of the primary key and cannot be changed")
        if name in schema.generated_fields:
            raise ValueError(f"{what}: {cls.__name__}.{name} is computed by the database and cannot be written")
        if name in schema.readonly_fields:
            from ..errors import ReadOnlyRecordError

            raise ReadOnlyRecordError(f"{what}: {cls.__name__}.{name} is read-only (set at creation)")
    return names


def _refuse_repeated_keys(cls: type["ActiveRecord"], made: list["ActiveRecord"], target: tuple[str, ...]) -> None:
    """Two rows with one key in one upsert: which wins differs by database (some refuse)."""
    if len(target) == 1:
        field = target[0]
        keys: list[Any] = [r.__dict__.get(field) for r in made]
        given = [k for k in keys if k is not None]  # NULL never conflicts
        if len(set(given)) == len(given):
            return
    else:
        keys = [tuple(r.__dict__.get(f) for f in target) for r in made]
        given = [k for k in keys if None not in k]
        if len(set(given)) == len(given):
            return
    seen: set[Any] = set()
    for key in given:
        if key in seen:
            raise ValueError(
                f"{cls.__name__}.upsert_all: two rows have {'/'.join(target)}={key!r}; "
                "give each key once (nothing was written)")
        seen.add(key)


def _read_back(cls: type["ActiveRecord"], schema: ModelSchema, made: list["ActiveRecord"],
               target: tuple[str, ...]) -> list["ActiveRecord"]:
    """Without RETURNING: select the written rows by their conflict key, in the order given.

    Runs in the upsert's transaction, whose row locks keep others from
    changing them in between.
    """
    keys = [tuple(r.__dict__.get(f) for f in target) for r in made]
    if any(None in k for k in keys):
        raise NotSupportedError(
            f"{schema.backend.name} has no RETURNING, and a row without its {'/'.join(target)} cannot be "
            "found again: upsert_all(returning=True) needs every row's unique_by values")
    found: dict[tuple[Any, ...], Any] = {}
    for part in by_keys(cls, target, keys):
        for loaded in part.all():
            found[tuple(loaded.__dict__.get(f) for f in target)] = loaded
    out = []
    for key in keys:
        record = found.get(key)
        if record is None:
            # the database compares as its collation says ('A@x' = 'a@x'): ask it for this one
            record = cls.query().unscoped().where(**dict(zip(target, key))).first()
        if record is None:
            raise RecordNotFound(
                f"The upserted {cls.__name__} {key!r} cannot be read back (a conflict on another unique key?)",
                cls, key)
        out.append(record)
    return out


# -- bulk update ---------------------------------------------------------------------------


def bulk_update(cls: type["ActiveRecord"], records: Sequence["ActiveRecord"], fields: Sequence[str],
                batch_size: int | None = None) -> int:
    """See :meth:`ActiveRecord.bulk_update`."""
    schema = cls._schema()
    fields = writable_fields(cls, schema, fields, "bulk_update")
    if not fields:
        raise ValueError("bulk_update() needs the fields to write")
    lock = cls.__lock_column__
    if lock in fields:
        raise ValueError(f"bulk_update: {lock} is the optimistic lock's version; it is raised by the update itself")
    if not records:
        return 0
    seen: set[Any] = set()
    for record in records:
        if not isinstance(record, cls):
            raise TypeError(f"bulk_update: {record!r} is not a {cls.__name__}")
        if record.is_new_record:
            raise RecordNotFound(f"bulk_update: a {cls.__name__} that was never saved has no row to update", cls)
        if "_invalid" in record.__pydantic_private__:
            record._refuse_input_errors()
        if record.__pydantic_private__.get("_readonly"):
            from ..errors import ReadOnlyRecordError

            raise ReadOnlyRecordError(f"{cls.__name__} {schema.key_of(record.__dict__)!r} is read-only")
        unloaded = record.__pydantic_private__.get("_unloaded")
        if unloaded and not unloaded.isdisjoint((*schema.keys, *fields, *((lock,) if lock else ()))):
            from ..errors import UnloadedFieldError

            missing = ", ".join(n for n in (*schema.keys, *fields, *((lock,) if lock else ())) if n in unloaded)
            raise UnloadedFieldError(f"bulk_update: a {cls.__name__} was loaded without {missing}; nothing was written")
        key = schema.key_of(record.__pydantic_private__["_original"])
        if key in seen:
            raise ValueError(f"bulk_update: {cls.__name__} {key!r} is given twice")
        seen.add(key)
    if not schema.writes_prepared:
        schema.prepare_writes()
    backend = schema.backend
    dialect = backend.dialect
    keys_n = len(schema.keys)
    key_columns = schema._sql_names(schema.keys)
    set_columns = schema._sql_names(fields)
    lock_column = schema.column_of[lock] if lock else None
    joined = dialect.bulk_update_join_sql(schema.table, key_columns, set_columns, 1, lock_column) is not None
    if joined:  # (key..., value..., [version]) per row
        width = keys_n + len(fields) + (1 if lock else 0)
    else:  # CASE: (key, value) per row and column, the keys again, (key, version) per row
        width = len(fields) * (keys_n + 1) + keys_n + (keys_n + 1 if lock else 0)
    per = max(1, min(batch_size or ROWS_PER_UPDATE, backend.capabilities.max_bind_parameters // width))
    casts: list[str | None] = []
    if dialect.bulk_update_casts:
        typed = (*schema.keys, *fields, *((lock,) if lock and joined else ())) if joined else fields
        casts = [_sql_type(dialect, schema, f) for f in typed]
    writers = [schema.writers.get(f) for f in fields]
    key_writers = schema.key_writers
    lock_writer = schema.writers.get(lock) if lock else None
    statements: dict[int, str] = {}
    total = 0
    outer = backend.in_transaction
    with _atomic(backend, True):
        for start in range(0, len(records), per):
            batch = records[start:start + per]
            keys = [[v if (w is None or v is None) else w(v)
                     for w, v in zip(key_writers, (r.__pydantic_private__["_original"][k] for k in schema.keys))]
                    for r in batch]
            versions: list[Any] = []
            if lock:
                for record in batch:
                    version = record.__pydantic_private__["_original"][lock]
                    versions.append(version if (lock_writer is None or version is None) else lock_writer(version))
            params: list[Any] = []
            if joined:
                for i, (key, record) in enumerate(zip(keys, batch)):
                    values = record.__dict__
                    params.extend(key)
                    for writer, name in zip(writers, fields):
                        value = values[name]
                        params.append(value if (writer is None or value is None) else writer(value))
                    if lock:
                        params.append(versions[i])
            else:
                for writer, name in zip(writers, fields):
                    for key, record in zip(keys, batch):
                        value = record.__dict__[name]
                        params.extend(key)
                        params.append(value if (writer is None or value is None) else writer(value))
                for key in keys:
                    params.extend(key)
                for key, version in zip(keys, versions):
                    params.extend(key)
                    params.append(version)
            sql = statements.get(len(batch))
            if sql is None:
                build = dialect.bulk_update_join_sql if joined else dialect.bulk_update_sql
                sql = statements[len(batch)] = build(schema.table, key_columns, set_columns, len(batch),
                                                     lock_column, casts)  # type: ignore[assignment]
            assert sql is not None
            matched = backend.execute_raw(sql, params).affected_rows
            if matched != len(batch):
                error: Exception
                if lock:
                    error = StaleObjectError(
                        f"bulk_update: {len(batch) - matched} of {len(batch)} {cls.__name__} records were changed "
                        f"or deleted by someone else since they were read ({lock}); nothing was written")
                else:
                    error = RecordNotFound(
                        f"bulk_update: {len(batch) - matched} of {len(batch)} {cls.__name__} records no longer "
                        "have a row (deleted by someone else?); nothing was written", cls)
                raise error
            total += matched
        if outer:  # the caller's transaction may still roll back; one of this call's own has committed
            enlist(backend, records, schema)
    for record in records:
        values = record.__dict__
        before = record.__pydantic_private__["_original"]
        if lock:
            values = dict(values)
            values[lock] = (before.get(lock) or 0) + 1
            object.__setattr__(record, "__dict__", values)
        saved = dict(before)
        for name in fields:
            value = values[name]
            saved[name] = copy.deepcopy(value) if name in schema.mutable else value
        if lock:
            saved[lock] = values[lock]
        record._saved_as(saved)
    return total


def _sql_type(dialect: Any, schema: ModelSchema, field: str) -> str | None:
    """The SQL type ``field``'s values are cast to: the catalog's for a table made elsewhere."""
    if not schema._created:
        name = schema.column_of[field]
        found = next((c.type for c in schema.catalog_columns() if c.name == name), None)
        if found:
            return str(found)
    column = schema.columns[field].column
    try:
        return str(dialect.get_column_type(column.db_type, **column.type_params()))
    except NotSupportedError:
        return None
