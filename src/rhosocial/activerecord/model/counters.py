"""Counters and touch: atomic increments, ``update_counters`` and ``touch()``.

Each change is one ``UPDATE`` that computes the new value in the database
(``SET views = COALESCE(views, 0) + ?``), never a read-modify-write, so
concurrent increments cannot lose one another. A record reads the result back
(in the same transaction) instead of working it out itself. None of these run
validation or save hooks, and none writes the record's other unsaved changes.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..backend.bridge import run
from ..backend.dialect import balanced_or
from ..backend.errors import DatabaseError, DataError
from ..backend.typing import DatabaseType
from ..errors import RecordNotFound, StaleObjectError

if TYPE_CHECKING:
    from typing import Self

    from .fields import ColumnSpec
    from .schema import ModelSchema

_INTEGERS = frozenset((DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT))
_NUMBERS = _INTEGERS | {DatabaseType.FLOAT, DatabaseType.DOUBLE, DatabaseType.DECIMAL}
_TIMES = frozenset((DatabaseType.DATETIME, DatabaseType.TIMESTAMP, DatabaseType.DATE))
#: The field ``touch()`` and ``touch=True`` set (TimestampMixin's), when a model has it.
UPDATED_AT = "updated_at"
_MISSING = object()


class CounterMethods:
    """Record and class methods that change counters and timestamps in one atomic statement."""

    def increment(self, field: str, by: int | float | Decimal = 1) -> Self:
        """Add ``by`` to ``field`` in the database, atomically, and read the new value back.

        One ``UPDATE ... SET field = COALESCE(field, 0) + by`` by key, then the
        value is read back in the same transaction, so the record holds what
        the row holds (other writers' increments included) and is not dirty
        for ``field``. The record's other unsaved changes stay unsaved. No
        validation, no hooks, no optimistic-lock check.

        Raises:
            RecordNotFound: the record is unsaved, or its row no longer exists (nothing changed).
            ValueError: the model has no field ``field``.
            TypeError: ``field`` is not a number field, or ``by`` does not fit it.
        """
        return _increment(self, field, by)

    def decrement(self, field: str, by: int | float | Decimal = 1) -> Self:
        """Subtract ``by`` from ``field`` atomically; see :meth:`increment`."""
        return _increment(self, field, _delta(type(self), field, by, negate=True))

    def touch(self, *fields: str) -> Self:
        """Set ``updated_at`` (and the named time fields) to now with one UPDATE.

        No validation and no save hooks run (as Rails' ``touch``); other
        unsaved changes stay unsaved. With optimistic locking the version is
        bumped and must still be the one read.

        Raises:
            RecordNotFound: the record is unsaved, or its row no longer exists.
            StaleObjectError: optimistic locking found the row changed.
            ValueError: no such field, or nothing to touch (no ``updated_at`` and no names).
            TypeError: a named field is not a date or time-stamp field.
        """
        return _touch(self, fields)

    @classmethod
    def update_counters(cls, pk: Any, /, *, touch: bool | str | Sequence[str] = False,
                        **counters: int | float | Decimal) -> int:
        """Add to several counters of the rows with key ``pk``, in one atomic UPDATE.

        ``Post.update_counters(7, views=1, likes=-1)``. ``pk`` is a key (a
        tuple for a composite key) or a list of keys (``WHERE key IN ...``).
        ``touch=True`` sets ``updated_at`` to now as well; a field name (or
        several) sets those too. Runs no validation and no hooks, and loaded
        records are not changed: refresh them. Default scopes do not apply
        (a soft-deleted row is counted too).

        Returns:
            The number of rows changed.

        Raises:
            ValueError: no counter (and nothing to touch), or no such field.
            TypeError: a field is not a number field, or an amount does not fit it.
        """
        schema = cls._schema()  # type: ignore[attr-defined]
        deltas = {name: _delta(cls, name, by) for name, by in counters.items()}
        times = time_fields(cls, touch_names(touch))
        if not deltas and not times:
            raise ValueError(f"{cls.__name__}.update_counters() needs at least one counter=amount")
        keys = _keys(schema, pk)
        return update_rows(schema, schema.keys, keys, deltas, now_values(schema, times))

    # -- async twins ---------------------------------------------------------------

    async def aincrement(self, field: str, by: int | float | Decimal = 1) -> Self:
        """``increment()`` for async code."""
        return await run(self.increment, field, by)

    async def adecrement(self, field: str, by: int | float | Decimal = 1) -> Self:
        """``decrement()`` for async code."""
        return await run(self.decrement, field, by)

    async def atouch(self, *fields: str) -> Self:
        """``touch()`` for async code."""
        return await run(self.touch, *fields)

    @classmethod
    async def aupdate_counters(cls, pk: Any, /, *, touch: bool | str | Sequence[str] = False,
                               **counters: int | float | Decimal) -> int:
        """``update_counters()`` for async code."""
        return await run(cls.update_counters, pk, touch=touch, **counters)


# -- checking what is asked -------------------------------------------------------------


def counter_spec(model: Any, field: str) -> ColumnSpec:
    """Return the column of number field ``field``, which counters may change.

    Raises:
        ValueError: the model has no such field.
        TypeError: it is no number field (or is part of the key, or computed by the database).
    """
    spec = _spec(model, field)
    if spec.db_type not in _NUMBERS or spec.annotation not in (int, float, Decimal):
        raise TypeError(f"{model.__name__}.{field} is not a number field ({spec.db_type.value}); "
                        "only integer, decimal and float fields are counters")
    if field in model.primary_key_fields() or spec.generated:
        raise TypeError(f"{model.__name__}.{field} is "
                        f"{'part of the primary key' if not spec.generated else 'computed by the database'}"
                        " and cannot be counted")
    return spec


def _spec(model: Any, field: str) -> ColumnSpec:
    specs = model._column_specs()
    spec = specs.get(field) if isinstance(field, str) else None
    if spec is None:
        raise ValueError(f"{model.__name__} has no field {field!r}; fields: {', '.join(specs)}")
    return spec


def _delta(model: Any, field: str, by: Any, negate: bool = False) -> Any:
    """Return the amount ``by`` for counter ``field`` (negated for a decrement), checked."""
    spec = counter_spec(model, field)
    if isinstance(by, bool) or not isinstance(by, (int, float, Decimal)):
        raise TypeError(f"{model.__name__}.{field}: the amount must be a number, got {by!r}")
    if spec.db_type in _INTEGERS and not isinstance(by, int):
        raise TypeError(f"{model.__name__}.{field} is an integer field: the amount must be an int, got {by!r}")
    return -by if negate else by


def touch_names(touch: bool | str | Sequence[str] | None) -> tuple[str, ...] | None:
    """What a ``touch=`` option asks for: ``None`` (nothing), ``()`` (``updated_at``) or more names."""
    if touch is None or touch is False:
        return None
    if touch is True:
        return ()
    if isinstance(touch, str):
        return (touch,)
    names = tuple(touch)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"touch= takes True, a field name or a list of them, got {touch!r}")
    return names


def time_fields(model: Any, names: tuple[str, ...] | None) -> tuple[str, ...]:
    """Return the fields a touch sets: ``updated_at`` (when the model has it) and ``names``.

    Raises:
        ValueError: a name is no field, or there is nothing to set.
        TypeError: a named field is not a date or time-stamp field.
    """
    if names is None:
        return ()
    specs = model._column_specs()
    found = [UPDATED_AT] if UPDATED_AT in specs else []
    for name in names:
        spec = _spec(model, name)
        if spec.db_type not in _TIMES:
            raise TypeError(f"{model.__name__}.{name} is not a date or time-stamp field "
                            f"({spec.db_type.value}); touch sets times")
        if name not in found:
            found.append(name)
    if not found:
        raise ValueError(f"{model.__name__} has no {UPDATED_AT} field: name the time fields to touch")
    return tuple(found)


def now_values(schema: ModelSchema, fields: Sequence[str]) -> dict[str, Any]:
    """Return now, as each of ``fields`` holds it: aware UTC, naive UTC for a naive field, a date."""
    if not fields:
        return {}
    from .mixins import utc_now

    now = utc_now()
    values: dict[str, Any] = {}
    for name in fields:
        spec = schema.columns[name]
        if spec.db_type is DatabaseType.DATE:
            values[name] = now.date()
            continue
        try:
            values[name] = spec.check(now)
        except DataError:  # a NaiveDatetime field takes no time zone
            values[name] = spec.check(now.replace(tzinfo=None))
    return values


def _keys(schema: ModelSchema, pk: Any) -> list[Any]:
    """The keys ``update_counters`` is given, as a list (one key, or a list of them)."""
    model = schema.model
    if schema.pk is not None:
        keys = list(pk) if isinstance(pk, (list, tuple, set, frozenset)) else [pk]
    elif isinstance(pk, list):
        keys = pk
    else:
        keys = [pk]
    width = len(schema.keys)
    for key in keys:
        if key is None or (width > 1 and (not isinstance(key, (tuple, list)) or len(key) != width)):
            raise TypeError(f"{model.__name__} has the key {'/'.join(schema.keys)}: give a key "
                            f"{'(a tuple of ' + str(width) + ' values) ' if width > 1 else ''}"
                            f"or a list of them, got {key!r}")
    if not keys:
        raise ValueError(f"{model.__name__}.update_counters() needs at least one key")
    return keys


# -- the statements --------------------------------------------------------------------


def update_rows(schema: ModelSchema, fields: Sequence[str], keys: Sequence[Any],
                deltas: dict[str, Any], times: dict[str, Any]) -> int:
    """Run ``UPDATE t SET c = COALESCE(c, 0) + ?, t = ? WHERE fields IN keys``; return the row count.

    ``fields`` identify the rows (the key, or the fields a belongs_to points
    at); each of ``keys`` is a value (a tuple for several fields). Keys too
    many for one statement take several, in one transaction.
    """
    backend = schema.backend
    per = max(1, (backend.capabilities.max_bind_parameters - len(deltas) - len(times)) // len(fields))
    statements = [counter_statement(schema, fields, keys[i:i + per], deltas, times)
                  for i in range(0, len(keys), per)]
    if len(statements) == 1:
        sql, params = statements[0]
        return backend.execute_raw(sql, params).affected_rows
    with backend.transaction():
        return sum(backend.execute_raw(sql, params).affected_rows for sql, params in statements)


def counter_statement(schema: ModelSchema, fields: Sequence[str], keys: Sequence[Any],
                      deltas: dict[str, Any], times: dict[str, Any]) -> tuple[str, list[Any]]:
    """Return one counter UPDATE of the rows whose ``fields`` hold one of ``keys``, and its parameters."""
    q = schema.dialect.quote_identifier
    ph = schema.dialect.placeholder
    writers = schema.writers
    column_of = schema.column_of
    sets: list[str] = []
    params: list[Any] = []
    for name, by in deltas.items():
        column = q(column_of[name])
        sets.append(f"{column} = COALESCE({column}, 0) + {ph(len(params) + 1)}")
        params.append(_written(writers.get(name), by))
    for name, value in times.items():
        sets.append(f"{q(column_of[name])} = {ph(len(params) + 1)}")
        params.append(_written(writers.get(name), value))
    where, key_params = _where(schema, fields, keys, len(params) + 1)
    return f"UPDATE {q(schema.table)} SET {', '.join(sets)} WHERE {where}", params + key_params


def _where(schema: ModelSchema, fields: Sequence[str], keys: Sequence[Any], start: int) -> tuple[str, list[Any]]:
    """``k IN (?, ...)`` (one field) or ``(a = ? AND b = ?) OR ...`` (several), and its parameters."""
    q = schema.dialect.quote_identifier
    ph = schema.dialect.placeholder
    columns = [q(schema.column_of[f]) for f in fields]
    writers = [schema.writers.get(f) for f in fields]
    params: list[Any] = []
    if len(fields) == 1:
        marks = []
        for key in keys:
            marks.append(ph(start + len(params)))
            params.append(_written(writers[0], key))
        if len(marks) == 1:
            return f"{columns[0]} = {marks[0]}", params
        return f"{columns[0]} IN ({', '.join(marks)})", params
    terms = []
    for key in keys:
        parts = []
        for column, writer, value in zip(columns, writers, key):
            parts.append(f"{column} = {ph(start + len(params))}")
            params.append(_written(writer, value))
        terms.append("(" + " AND ".join(parts) + ")")
    return balanced_or(terms), params


def _written(writer: Callable[[Any], Any] | None, value: Any) -> Any:
    return value if writer is None or value is None else writer(value)


# -- records ---------------------------------------------------------------------------


def _saved_schema(record: Any, what: str) -> ModelSchema:
    """The schema of a saved record (its key loaded); refuse an unsaved one."""
    cls = type(record)
    private = record.__pydantic_private__
    if private["_original"] is None:
        raise RecordNotFound(f"Cannot {what} an unsaved {cls.__name__}: save it first", cls)
    if "_readonly" in private:
        raise record._read_only("changed")
    schema = cls._schema()
    if "_unloaded" in private:
        record._check_key_loaded(schema)
    return schema


def _increment(record: Any, field: str, by: Any) -> Any:
    cls = type(record)
    by = _delta(cls, field, by)
    schema = _saved_schema(record, "increment")
    backend = schema.backend
    transaction = backend.current_transaction()
    if transaction is None:
        with backend.transaction():
            fresh = _bump_and_read(record, schema, {field: by}, backend.current_transaction())
    else:
        fresh = _bump_and_read(record, schema, {field: by}, transaction)
        undo_on_rollback(transaction, record, tuple(fresh))
    store(record, schema, fresh)
    return record


def _bump_and_read(record: Any, schema: ModelSchema, deltas: dict[str, Any], transaction: Any) -> dict[str, Any]:
    """Run the counter UPDATE of ``record``'s row, then read the counters back (in ``transaction``)."""
    original = record.__pydantic_private__["_original"]
    key = schema.key_params(original)
    fields = tuple(deltas)
    sql, params = counter_statement(schema, schema.keys, [schema.key_of(original)], deltas, {})
    result = record._run_one(schema, sql, params)
    if result.affected_rows == 0:
        raise record._no_row(schema)
    try:
        rows = schema.backend.execute_raw(schema.reread_sql(fields), key).rows
        if not rows:
            raise DatabaseError(f"{type(record).__name__} {schema.key_of(original)!r} was counted but "
                                "cannot be read back; the change is undone")
    except BaseException as exc:
        transaction.set_rollback_only(exc)  # the UPDATE ran: it must not commit half-known
        raise
    fresh: dict[str, Any] = {}
    schema.read_into(fresh, fields, rows[0])
    return fresh


def _touch(record: Any, names: tuple[str, ...]) -> Any:
    cls = type(record)
    schema = _saved_schema(record, "touch")
    fields = time_fields(cls, names)
    private = record.__pydantic_private__
    original = private["_original"]
    fresh = now_values(schema, fields)
    lock = cls.__lock_column__
    if lock is None:
        sql, build = schema.update(fields, schema.keys)
    else:
        fresh[lock] = (original.get(lock) or 0) + 1
        sql, build = schema.update((*fields, lock), schema.lock_where)
    backend = schema.backend
    transaction = backend.current_transaction()
    result = record._run_one(schema, sql, build(fresh, original))
    if result.affected_rows == 0:
        if lock is not None:
            raise StaleObjectError(
                f"{cls.__name__} {schema.key_of(original)!r} was changed or deleted by someone else "
                f"since it was read ({lock}={original.get(lock)!r}); reload it and try again")
        raise record._no_row(schema)
    if transaction is not None:
        undo_on_rollback(transaction, record, tuple(fresh))
    store(record, schema, fresh)
    return record


def store(record: Any, schema: ModelSchema, fresh: dict[str, Any]) -> None:
    """Put database values into ``record`` and its database state; other unsaved changes stay."""
    private = record.__pydantic_private__
    values = record.__dict__
    original = private["_original"]
    merged = {**values, **fresh}
    # new dicts, never an update in place: the old ones may be snapshots a rollback restores
    object.__setattr__(record, "__dict__", merged)
    if values is original:  # nothing unsaved: one dict is the record and its database state again
        private["_original"] = schema.snapshot(merged)
    else:
        private["_original"] = {**original, **fresh}
    unloaded = private.get("_unloaded")
    if unloaded and not unloaded.isdisjoint(fresh):
        remaining = frozenset(unloaded) - fresh.keys()
        if remaining:
            private["_unloaded"] = remaining
        else:
            private.pop("_unloaded", None)


def undo_on_rollback(transaction: Any, record: Any, fields: Sequence[str]) -> None:
    """Put ``fields`` of ``record`` back as they are now if ``transaction`` (this level) rolls back."""
    private = record.__pydantic_private__
    values = record.__dict__
    original = private["_original"] or {}
    saved = {f: (values.get(f, _MISSING), original.get(f, _MISSING)) for f in fields}
    unloaded = frozenset(f for f in fields if f in (private.get("_unloaded") or ()))

    def undo() -> None:
        private = record.__pydantic_private__
        restored = dict(record.__dict__)
        base = private["_original"]
        base = dict(base) if base is not None else None
        for name, (value, was) in saved.items():
            if value is _MISSING:
                restored.pop(name, None)
            else:
                restored[name] = value
            if base is not None:
                if was is _MISSING:
                    base.pop(name, None)
                else:
                    base[name] = was
        object.__setattr__(record, "__dict__", restored)
        private["_original"] = base
        if unloaded:
            private["_unloaded"] = frozenset(private.get("_unloaded") or ()) | unloaded

    transaction.on_rollback(undo)
