"""Per-model, per-dialect compiled state: columns, converters, statements, row loaders.

Everything a hot path needs is worked out once: the SQL of insert, update by
key, select by key and delete by key; one converter per column and direction
(``None`` where no conversion is needed); and a generated function that turns
driver rows into records without validating trusted data a second time.
"""
from __future__ import annotations

import copy
import datetime as _dt
import typing
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Sequence

from pydantic_core import PydanticUndefined

from ..backend.base import StorageBackend
from ..backend.bridge import HybridLock
from ..query.compiler import SQLCompiler
from ..backend.errors import DataError, NotSupportedError, UniqueViolationError
from ..backend.typing import TableName
from ..backend.typing import DatabaseType
from ..query.expressions import Column, Func, Label, Over, type_of
from .fields import ColumnSpec, unwrap_optional

if TYPE_CHECKING:
    from .base import ActiveRecord


def compose(first: Callable[[Any], Any] | None, second: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """Return ``second(first(v))``, skipping missing steps."""
    if first is None:
        return second
    if second is None:
        return first
    return lambda value: second(first(value))



def _to_datetime(value: Any) -> Any:
    if isinstance(value, str):
        return _dt.datetime.fromisoformat(value)
    if type(value) is _dt.date:
        return _dt.datetime(value.year, value.month, value.day)
    return value


def _to_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else str(value))



class ModelSchema:
    """What one model needs to talk to one backend, compiled once."""

    def __init__(self, model: type["ActiveRecord"], backend: StorageBackend) -> None:
        self.model = model
        self.backend = backend
        self.dialect = dialect = backend.dialect
        self.compiler: SQLCompiler = (dialect.compiler_class or SQLCompiler)(dialect)
        self.columns: dict[str, ColumnSpec] = model._column_specs()
        self.names: tuple[str, ...] = tuple(self.columns)
        self.keys: tuple[str, ...] = model.primary_key_fields()
        #: The key field when there is one (None for a composite key).
        self.pk: str | None = self.keys[0] if len(self.keys) == 1 else None
        #: The key the database generates on insert (an auto-increment integer), if any.
        self.generated_key: str | None = next(
            (k for k in self.keys if self.columns[k].column.autoincrement), None)
        #: Fields the database computes: never written, read back after each save.
        self.generated_fields: tuple[str, ...] = tuple(n for n, c in self.columns.items() if c.generated)
        self.names_without_pk: tuple[str, ...] = tuple(
            n for n in self.names if n != self.generated_key and n not in self.generated_fields)
        self.insert_names: tuple[str, ...] = tuple(n for n in self.names if n not in self.generated_fields)
        self._defaults: tuple[str, ...] | None = None  # fields with a database default (see db_defaults)
        #: Known to have neither database defaults nor computed fields: inserts write every field.
        self.plain_inserts = False
        #: Whether :meth:`prepare_writes` has learnt what the table says about writing to it.
        self.writes_prepared = False
        self._inserts_reading: dict[tuple[tuple[str, ...], tuple[str, ...], bool], tuple[str, Any, bool]] = {}
        self._catalog: list[Any] | None = None
        self._unique_keys: list[frozenset[str]] | None = None
        # JSON list fields that may sit on native array columns of a table made elsewhere.
        self._maybe_arrays: tuple[str, ...] = tuple(
            n for n, c in self.columns.items()
            if c.db_type is DatabaseType.JSON and dialect.native_arrays and _is_list_type(model, n))
        # Field names are the Python side everywhere; the SQL uses the columns' names.
        self.column_of: dict[str, str] = {n: c.column_name for n, c in self.columns.items()}
        self.field_of: dict[str, str] = {c: n for n, c in self.column_of.items()}
        self.table: str = model.table_name()
        if self._maybe_arrays:
            self.compiler.uncertain_lists = frozenset((self.table, self.column_of[n]) for n in self._maybe_arrays)
        if type(self.table) is TableName and not dialect.supports_table_schemas:
            raise NotSupportedError(
                f"{model.__name__}.__table_schema__ = {model.__table_schema__!r}: {backend.name} has no schemas")
        self.writers = {n: compose(c.to_db, dialect.to_db(c.db_type)) for n, c in self.columns.items()}
        self.readers = {n: compose(dialect.column_reader(c.column), c.from_db) for n, c in self.columns.items()}
        self.mutable = tuple(n for n, c in self.columns.items() if c.mutable)
        #: Fields written at creation only (``Field(readonly=True)``).
        self.readonly_fields: frozenset[str] = frozenset(n for n, c in self.columns.items() if c.options.readonly)
        #: Fields whose loaded values are type-checked one by one: where a column's values need not
        #: share one type (SQLite), a row may hold text in a number column.
        self.guarded: frozenset[str] = frozenset() if dialect.values_follow_column_types else frozenset(
            n for n, c in self.columns.items() if c.annotation in (int, float, bool, str))
        self._use_returning: bool | None = None  # decided at the first insert (needs the server)
        self._inserts: dict[tuple[str, ...], tuple[str, Callable[[dict[str, Any]], list[Any]]]] = {}
        self._insert_rows: dict[tuple[Any, ...], str] = {}
        self._updates: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, Callable[..., list[Any]]]] = {}
        self._loaders: dict[tuple[str, ...], Callable[[Sequence[Sequence[Any]]], list[Any]]] = {}
        self._row_loaders: dict[tuple[str, ...], Callable[[Sequence[Any]], Any]] = {}
        self._type_readers: dict[DatabaseType, Callable[[Any], Any] | None] = {}
        q = dialect.quote_identifier
        ph = dialect.placeholder
        key_columns = self._sql_names(self.keys)
        self.select_by_pk_sql = f"SELECT * FROM {q(self.table)} WHERE " + " AND ".join(
            f"{q(c)} = {ph(i)}" for i, c in enumerate(key_columns, 1))
        self.key_writers = tuple(self.writers.get(k) for k in self.keys)
        self.pk_writer = self.key_writers[0] if self.pk is not None else None
        self.delete_by_pk_sql = dialect.delete_sql(self.table, key_columns)
        lock = model.__lock_column__
        self.lock_where: tuple[str, ...] = (*self.keys, lock) if lock else self.keys
        self.delete_locked_sql = dialect.delete_sql(self.table, self._sql_names(self.lock_where)) \
            if lock else None
        self._key_verified: bool | None = None
        self._created = False  # this model created the table (key_created): the catalog need not be asked
        # held across the catalog query: an asyncio task (a bridge greenlet) that finds it taken must
        # await, not block the event loop's thread, where the holder's I/O is being awaited
        self._prepare_lock = HybridLock()
        # With assignment validation, pydantic gives a record a new ``__dict__`` on every
        # assignment, so the dict a record was loaded or saved with can serve as its
        # database state until then; fields that change in place need their own copy.
        self.share_snapshot = not self.mutable and bool(model.model_config.get("validate_assignment"))

    # -- writing -----------------------------------------------------------------

    @property
    def use_returning(self) -> bool:
        """Whether INSERTs read the new key back with RETURNING (decided by the backend's capabilities).

        Read at the first write, not when the schema is built: compiling a
        query must not open a connection.
        """
        found = self._use_returning
        if found is None:
            caps = self.backend.capabilities
            found = self._use_returning = caps.supports_returning and not caps.reports_last_insert_id
        return found

    def insert(self, columns: tuple[str, ...]) -> tuple[str, Callable[[dict[str, Any]], list[Any]]]:
        """Return the INSERT and its parameter builder for these columns."""
        found = self._inserts.get(columns)
        if found is None:
            generated = self.generated_key
            returning = (self.column_of[generated],) if (
                generated is not None and self.use_returning and generated not in columns) else ()
            sql = self.dialect.insert_sql(self.table, self._sql_names(columns), returning)
            found = self._inserts[columns] = (sql, self._param_builder(columns))
        return found

    def rows_per_statement(self, columns: Sequence[str]) -> int:
        """How many rows of ``columns`` one INSERT carries: up to :data:`ROWS_PER_INSERT`, within the bind limit."""
        return max(1, min(ROWS_PER_INSERT, self.backend.capabilities.max_bind_parameters // max(1, len(columns))))

    def _write_chunk(self, columns: tuple[str, ...], rows: list[dict[str, Any]],
                     conflict: "Conflict | None", returning: tuple[str, ...] = ()) -> Any:
        """Run one multi-row INSERT (an upsert with ``conflict``) of ``rows``; return its result."""
        key = (columns, len(rows), conflict, returning)
        sql = self._insert_rows.get(key)
        if sql is None:
            names = self._sql_names(columns)
            back = self._sql_names(returning)
            if conflict is None:
                sql = self.dialect.insert_rows_sql(self.table, names, len(rows)) + self.dialect.returning_sql(back)
            else:
                sql = self.dialect.upsert_rows_sql(
                    self.table, names, len(rows), self._sql_names(conflict.target),
                    self._sql_names(conflict.update), back, bump=self._sql_names(conflict.bump))
            if len(self._insert_rows) < 64:
                self._insert_rows[key] = sql
        build = self.insert(columns)[1]
        params: list[Any] = []
        extend = params.extend
        for values in rows:
            extend(build(values))
        return self.backend.execute_raw(sql, params)

    def write_rows(self, columns: tuple[str, ...], rows: list[dict[str, Any]], conflict: "Conflict | None",
                   returning: tuple[str, ...] = ()) -> tuple[int, list[Any], tuple[str, ...]]:
        """Insert (or upsert) rows in chunks the backend can bind; return the count, rows and columns back.

        The count is of rows inserted, or for an upsert of rows inserted or
        updated. Several statements run in one transaction (the caller's if
        one is open); the caller opens one around several calls.
        """
        count = 0
        back: list[Any] = []
        names: tuple[str, ...] = ()
        if not columns:  # only defaults (DEFAULT VALUES): one row per statement, nothing to conflict on
            sql = self.dialect.insert_sql(self.table, (), self._sql_names(returning))
            for _ in rows:
                result = self.backend.execute_raw(sql, [])
                count += result.affected_rows
                back.extend(result.rows)
                names = result.columns
            return count, back, names
        per = self.rows_per_statement(columns)
        any_key = self.dialect.upsert_any_key
        for i in range(0, len(rows), per):
            chunk = rows[i:i + per]
            if any_key and conflict is not None and not conflict.update and len(chunk) == 1 and not returning:
                # the server counts duplicates only in multi-row statements: a plain INSERT
                # of one row tells by failing (which leaves the transaction usable there)
                try:
                    count += self._write_chunk(columns, chunk, None).affected_rows
                except UniqueViolationError:
                    pass
                continue
            result = self._write_chunk(columns, chunk, conflict, returning)
            if conflict is None or not any_key:
                count += result.affected_rows
            elif conflict.update:
                count += len(chunk)  # each row inserted or updated (counted once or twice as affected)
            else:
                count += len(chunk) - (result.duplicates or 0)  # duplicates count as affected too
            if returning:
                back.extend(result.rows)
                names = result.columns
        return count, back, names

    def update(self, columns: tuple[str, ...], where: tuple[str, ...]) -> tuple[str, Callable[..., list[Any]]]:
        """Return ``UPDATE ... SET columns WHERE where`` and its parameter builder."""
        key = (columns, where)
        found = self._updates.get(key)
        if found is None:
            sql = self.dialect.update_sql(self.table, self._sql_names(columns), self._sql_names(where))
            found = self._updates[key] = (sql, self._param_builder(columns, where))
        return found

    def _sql_names(self, fields: Sequence[str]) -> list[str]:
        """The columns' names of these fields."""
        column_of = self.column_of
        return [column_of[f] for f in fields]

    def _param_builder(self, columns: tuple[str, ...], where: tuple[str, ...] = ()) -> Callable[..., list[Any]]:
        """Generate ``f(values[, where_values]) -> [converted values in order]``.

        SET/VALUES parameters come from ``values``; WHERE parameters (after
        them) from ``where_values``, so an update can match the state it read.
        """
        if not self.writes_prepared:
            self.prepare_writes()
        env: dict[str, Any] = {}
        items = []
        for i, (source_name, name) in enumerate([("d", c) for c in columns] + [("w", c) for c in where]):
            writer = self.writers.get(name)
            if writer is None:
                items.append(f"{source_name}[{name!r}]")
            else:
                env[f"c{i}"] = writer
                items.append(f"(None if (v{i} := {source_name}[{name!r}]) is None else c{i}(v{i}))")
        signature = "d, w" if where else "d"
        source = f"def build({signature}):\n    return [{', '.join(items)}]\n"
        exec(compile(source, f"<params {self.table}>", "exec"), env)  # noqa: S102 - generated from column names via repr
        return env["build"]

    # -- reading -----------------------------------------------------------------

    def loader(self, result_columns: tuple[str, ...]) -> Callable[[Sequence[Sequence[Any]]], list[Any]]:
        """Return a function turning rows with these columns into records."""
        found = self._loaders.get(result_columns)
        if found is None:
            def first_load(rows: Sequence[Sequence[Any]]) -> list[Any]:
                return self._decide(result_columns, rows)(rows)
            return first_load
        return found

    def row_loader(self, result_columns: tuple[str, ...]) -> Callable[[Sequence[Any]], Any]:
        """Return a function turning one row with these columns into a record."""
        found = self._row_loaders.get(result_columns)
        if found is None:
            def first_load(row: Sequence[Any]) -> Any:
                self._decide(result_columns, [row])
                return self._row_loaders[result_columns](row)
            return first_load
        return found

    def _decide(self, result_columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> Any:
        """Build the loaders for rows shaped like these, from what the first rows hold.

        A column stored as another type than its field's (numbers kept as
        text, a CHAR flag, a DATETIME read into a ``date``) gets a conversion;
        a column whose values already have the field's type gets none, so the
        usual case stays as fast as ever. Decided once per result shape.
        """
        coerce: dict[str, Callable[[Any], Any]] = {}
        position = {name: i for i, name in reversed(list(enumerate(result_columns)))}
        for field, spec in self.columns.items():
            i = position.get(self.column_of[field])
            if i is None or spec.annotation not in _COERCIONS or field in self.guarded:
                continue  # (guarded fields are converted value by value anyway)
            sample = next((row[i] for row in rows[:20] if row[i] is not None), None)
            if sample is None:
                continue
            accepted = _COERCIONS[spec.annotation][0]
            reader = self.readers.get(field)
            try:
                value = sample if reader is None else reader(sample)
                fits = isinstance(value, accepted) and not (
                    spec.annotation is _dt.date and isinstance(value, _dt.datetime))
            except (TypeError, ValueError, ArithmeticError):
                fits = False
            if spec.annotation is bool and isinstance(sample, str):
                fits = False  # bool('0') is True: a text flag needs reading as a flag
            if not fits:
                coerce[field] = self._coercion_of(field)  # yields the field's type: replaces the reader
        return self._make_loader(result_columns, coerce)

    def _coercion_of(self, field: str) -> Callable[[Any], Any]:
        """The conversion of a stored value into ``field``'s type (``DataError`` when it has none)."""
        kind = self.columns[field].annotation
        return _coercion(_COERCIONS[kind][1], self.model.__name__, field)

    def _make_loader(self, result_columns: tuple[str, ...],
                     coerce: dict[str, Callable[[Any], Any]] | None = None) -> Callable[[Sequence[Sequence[Any]]], list[Any]]:
        """Generate the loaders (many rows, one row) for rows with these columns.

        A record gets its ``__dict__``, extra and private state here; pydantic's
        fields set (every field) is filled in on first use by
        ``ActiveRecord.__getattr__``, so loading builds no set per record.
        """
        position: dict[str, int] = {}
        for index, name in enumerate(result_columns):
            position.setdefault(name, index)
        env: dict[str, Any] = {
            "cls": self.model, "new": object.__new__, "setattr": object.__setattr__,
            "deepcopy": copy.deepcopy, "isinstance": isinstance, "str": str, "type": type,
        }
        entries = []
        column_of = self.column_of
        unloaded = []
        for name in self.names:  # model field order, whatever the SELECT order
            i = position.get(column_of[name])
            if i is None:
                unloaded.append(name)  # left out: reading it raises (see ActiveRecord.__getattr__)
                continue
            reader = self.readers.get(name)
            convert = coerce.get(name) if coerce else None
            if convert is None and name in self.guarded:
                # Values of one column may differ in type (SQLite): each is checked.
                convert = self._coercion_of(name)
            if convert is not None:
                # The stored type becomes the field's; a value already of that type passes as it is.
                env[f"k{i}"], env[f"c{i}"] = self.columns[name].annotation, convert
                entries.append(f"{name!r}: (v{i} if type(v{i} := row[{i}]) is k{i} or v{i} is None else c{i}(v{i}))")
                continue
            if reader is None:
                entries.append(f"{name!r}: row[{i}]")
                continue
            parser = getattr(reader, "__rhosocial_str_parser__", None)
            if parser is not None:
                # a reader that parses text and passes anything else through, inlined
                env[f"r{i}"] = parser
                entries.append(f"{name!r}: (r{i}(v{i}) if isinstance(v{i} := row[{i}], str) else v{i})")
            else:
                env[f"r{i}"] = reader
                entries.append(f"{name!r}: (None if (v{i} := row[{i}]) is None else r{i}(v{i}))")
        if self.share_snapshot:
            original = "d"
        elif not self.mutable:
            original = "dict(d)"
        else:
            env["mutable"] = self.mutable
            original = "{k: (deepcopy(v) if k in mutable else v) for k, v in d.items()}"
        private = []
        for j, (name, attr) in enumerate((self.model.__private_attributes__ or {}).items()):
            if name == "_original":
                private.append(f"{name!r}: {original}")
            elif attr.default_factory is None and attr.default is PydanticUndefined:
                continue  # no default: pydantic leaves it unset too
            elif attr.default_factory is None and isinstance(attr.default, IMMUTABLE_DEFAULTS):
                env[f"p{j}"] = attr.default
                private.append(f"{name!r}: p{j}")
            else:
                env[f"p{j}"] = _private_default(attr)
                private.append(f"{name!r}: p{j}(d)")
        if unloaded:
            env["unloaded"] = frozenset(unloaded)
            private.append("'_unloaded': unloaded")
        known = set(column_of.values())
        extras = [(name, i) for name, i in position.items() if name not in known]
        if extras:  # selected expressions that are no field: readable as annotations
            private.append("'_annotations': {" + ", ".join(f"{n!r}: row[{i}]" for n, i in extras) + "}")
        build = (  # one record from ``row``, shared by both loaders
            f"d = {{{', '.join(entries)}}}",
            "obj = new(cls)",
            "setattr(obj, '__dict__', d)",
            "setattr(obj, '__pydantic_extra__', None)",
            f"setattr(obj, '__pydantic_private__', {{{', '.join(private)}}})",
        )
        source = (
            "def load(rows):\n"
            "    out = []\n"
            "    append = out.append\n"
            "    for row in rows:\n"
            + "".join(f"        {line}\n" for line in build)
            + "        append(obj)\n"
            "    return out\n"
            "def load_one(row):\n"
            + "".join(f"    {line}\n" for line in build)
            + "    return obj\n"
        )
        exec(compile(source, f"<loader {self.table}>", "exec"), env)  # noqa: S102 - generated from column names via repr
        self._row_loaders[result_columns] = env["load_one"]
        self._loaders[result_columns] = env["load"]
        return env["load"]

    def reader_for(self, expr: Any) -> Callable[[Any], Any] | None:
        """Return the reader for a selected expression: a model's column (this one's, an
        alias's, a joined model's), an aggregate of one that keeps its type (MIN, MAX, SUM;
        AVG as a float, or a Decimal of a DECIMAL), or a computed value of a known type."""
        if isinstance(expr, Label):
            expr = expr.expr
        function = expr.func if isinstance(expr, Over) else expr
        if isinstance(function, Func) and len(function.args) == 1 and function.name in _TYPED_AGGREGATES:
            column = function.args[0]
            owner = self._owner(column)
            if owner is not None and isinstance(column, Column):
                if function.name == "AVG":
                    if column.db_type is not DatabaseType.DECIMAL:
                        return float
                    return owner.average_reader(owner.field_of.get(column.name, column.name))
                if function.name == "SUM" and column.db_type in _INTEGER_TYPES:
                    return int  # some databases sum integers as NUMERIC
                expr = column
        if isinstance(expr, Column):
            owner = self._owner(expr)
            if owner is None:
                return None
            field = owner.field_of.get(expr.name)
            return owner.readers.get(field) if field is not None else None
        kind = type_of(expr)
        return self.type_reader(kind) if kind is not None else None

    def _owner(self, column: Any) -> "ModelSchema | None":
        """The schema whose readers read ``column``: this one's for its table and aliases."""
        if not isinstance(column, Column):
            return None
        if column.table == self.table or column.model is self.model:
            return self
        model = column.model
        return model._schema() if model is not None else None

    def type_reader(self, kind: DatabaseType) -> Callable[[Any], Any] | None:
        """The reader of a computed value of type ``kind`` (a function's, a CAST's): the
        dialect's converter, then the Python type every backend gives for it."""
        readers = self._type_readers
        if kind in readers:
            return readers[kind]
        convert = self.dialect.from_db(kind)
        settle = _SETTLE.get(kind)
        reader: Callable[[Any], Any] | None
        if convert is None:
            reader = settle
        elif settle is None:
            reader = convert
        else:
            def reader(value: Any, convert: Any = convert, settle: Any = settle) -> Any:
                return settle(convert(value))
        readers[kind] = reader
        return reader

    def average_reader(self, name: str) -> Callable[[Any], Any]:
        """Return the reader of AVG over DECIMAL column ``name``: a Decimal rounded to its scale.

        Databases answer with more places than the column has (exactly, or in
        floating point); rounded, every backend gives the same answer.
        """
        spec = self.columns.get(name)
        scale = spec.column.scale if spec is not None else None
        step = Decimal(1).scaleb(-scale) if scale is not None else None

        def read(value: Any) -> Decimal:
            value = _to_decimal(value)
            return value.quantize(step) if step is not None else value

        return read

    def key_param(self, value: Any) -> Any:
        """Return a single primary-key value as the driver takes it."""
        writer = self.pk_writer
        return value if writer is None or value is None else writer(value)

    def key_params(self, values: dict[str, Any]) -> list[Any]:
        """Return the key fields' values in ``values`` as the driver takes them, in key order."""
        out = []
        for key, writer in zip(self.keys, self.key_writers):
            value = values[key]
            out.append(value if writer is None or value is None else writer(value))
        return out

    def key_of(self, values: dict[str, Any]) -> Any:
        """Return the key of a record's values: the value, or a tuple for a composite key."""
        if self.pk is not None:
            return values.get(self.pk)
        return tuple(values.get(k) for k in self.keys)

    def lookup_params(self, key: Any) -> list[Any]:
        """Return the parameters of :attr:`select_by_pk_sql` for a key given to ``find()``.

        Raises:
            TypeError: a composite key was not given as a tuple of the right length.
        """
        if self.pk is not None:
            return [self.key_param(key)]
        if not isinstance(key, (tuple, list)) or len(key) != len(self.keys):
            raise TypeError(f"{self.model.__name__} has the composite key {self.keys}: "
                            f"find() takes a tuple of {len(self.keys)} values in that order, got {key!r}")
        return self.key_params(dict(zip(self.keys, key)))

    def key_created(self) -> None:
        """Note that this model created its table: its key, defaults and columns are the model's."""
        self._key_verified = True
        self._created = True
        self._settle(tuple(n for n, c in self.columns.items() if c.db_default), (), ())

    def prepare_writes(self) -> None:
        """Learn, once, before the first write, what a table made elsewhere says about writing to it.

        The catalog tells which columns have defaults (an insert that leaves
        such a field unset lets the database fill it in, and reads it back),
        which the database computes (never written, read back after each
        save), and which ``list`` fields sit on native array columns (written
        as arrays). A table this model created needs no asking.
        """
        if self.writes_prepared:
            return
        with self._prepare_lock:  # several threads may make their first write at once
            if self.writes_prepared:
                return
            declared = {n for n, c in self.columns.items() if c.db_default}
            catalog = {} if self._created else {c.name: c for c in self.catalog_columns()}
            computed = tuple(n for n in self.names if n not in self.generated_fields and n not in self.keys
                             and getattr(catalog.get(self.column_of[n]), "generated", False))
            generated = self.generated_fields + computed
            with_default = {name for name, c in catalog.items()
                            if c.default is not None and str(c.default).upper() != "NULL"}
            defaults = tuple(
                n for n in self.names
                if n != self.generated_key and n not in generated
                and (n in declared or self.column_of[n] in with_default))
            arrays = [n for n in self._maybe_arrays
                      if getattr(catalog.get(self.column_of[n]), "db_type", None) is DatabaseType.ARRAY]
            self._settle(defaults, computed, arrays)

    def _settle(self, defaults: tuple[str, ...], computed: tuple[str, ...], arrays: Sequence[str]) -> None:
        """Publish what writes need to know: computed fields, then writers and filters, the flag last."""
        if computed:
            self._set_generated(self.generated_fields + computed)
        self._defaults = defaults
        for name in arrays:
            self.writers[name] = compose(self.columns[name].to_db, self.dialect.to_db(DatabaseType.ARRAY))
        # JSONB list columns get the tests that use their indexes; arrays keep the ones that fit both.
        self.compiler.uncertain_lists = frozenset((self.table, self.column_of[n]) for n in arrays)
        self._maybe_arrays = ()
        self.plain_inserts = not defaults and not self.generated_fields
        self.writes_prepared = True

    def _set_generated(self, fields: tuple[str, ...]) -> None:
        self.generated_fields = fields
        self.names_without_pk = tuple(n for n in self.names if n != self.generated_key and n not in fields)
        self.insert_names = tuple(n for n in self.names if n not in fields)
        self._inserts.clear()
        self._insert_rows.clear()
        self._inserts_reading.clear()

    def unique_keys(self) -> list[frozenset[str]]:
        """The column sets the table keeps unique: its primary key, unique indexes and constraints.

        Asked of the catalog once (partial unique indexes are left out: a
        conflict target must name the index's condition too).
        """
        found = self._unique_keys
        if found is None:
            info = self.backend.inspect_table(self.table)
            keys = [frozenset(info.primary_key)] if info.primary_key else []
            keys += [frozenset(i.columns) for i in info.indexes if i.unique and not i.partial and i.columns]
            keys += [frozenset(c.columns) for c in info.unique_constraints if c.columns]
            found = self._unique_keys = list(dict.fromkeys(keys))
        return found

    def catalog_columns(self) -> list[Any]:
        """The table's columns as the database describes them (asked once)."""
        found = self._catalog
        if found is None:
            found = self._catalog = self.backend.get_columns(self.table)
        return found

    @property
    def db_defaults(self) -> tuple[str, ...]:
        """Fields whose column has a default in the database: declared, or found in the catalog."""
        if not self.writes_prepared:
            self.prepare_writes()
        return self._defaults or ()

    def insert_reading(self, columns: tuple[str, ...], read: tuple[str, ...],
                       generate: bool) -> tuple[str, Callable[[dict[str, Any]], list[Any]], bool]:
        """Return an INSERT of ``columns`` that reads back ``read`` (and the generated key).

        Returns the SQL, its parameter builder and whether it reads them
        itself (RETURNING); when not, :meth:`reread_sql` does it after.
        """
        cache_key = (columns, read, generate)
        found = self._inserts_reading.get(cache_key)
        if found is None:
            returning: tuple[str, ...] = ()
            if self.backend.capabilities.supports_returning:
                wanted = ((self.generated_key,) if generate and self.generated_key else ()) + read
                returning = tuple(self._sql_names(wanted))
            sql = self.dialect.insert_sql(self.table, self._sql_names(columns), returning)
            found = self._inserts_reading[cache_key] = (sql, self._param_builder(columns), bool(returning))
        return found

    def reread_sql(self, fields: tuple[str, ...]) -> str:
        """Return ``SELECT fields FROM table WHERE key = ...`` (parameters: :meth:`key_params`)."""
        q = self.dialect.quote_identifier
        where = " AND ".join(f"{q(c)} = {self.dialect.placeholder(i)}"
                             for i, c in enumerate(self._sql_names(self.keys), 1))
        return f"SELECT {', '.join(q(c) for c in self._sql_names(fields))} FROM {q(self.table)} WHERE {where}"

    def read_into(self, values: dict[str, Any], fields: Sequence[str], row: Sequence[Any]) -> None:
        """Store database values of ``fields`` (from ``row``) into a record's ``values``."""
        readers = self.readers
        for name, value in zip(fields, row):
            reader = readers.get(name)
            values[name] = reader(value) if (reader is not None and value is not None) else value

    @property
    def key_is_unique(self) -> bool:
        """Whether the table's own primary key is the model's key (asked of the catalog once).

        When it is not (a table declared elsewhere with another key, a view),
        single-record updates and deletes check that they touched one row.
        """
        found = self._key_verified
        if found is None:
            columns = self.catalog_columns()
            catalog = {c.name for c in columns if c.primary_key}
            found = self._key_verified = bool(catalog) and catalog == set(self._sql_names(self.keys))
        return found

    def snapshot(self, values: dict[str, Any]) -> dict[str, Any]:
        """Return ``values`` as the record's last known database state (a copy where needed)."""
        if self.share_snapshot:
            return values
        if not self.mutable:
            return dict(values)
        return {k: (copy.deepcopy(v) if k in self.mutable else v) for k, v in values.items()}


def _is_list_type(model: Any, field: str) -> bool:
    """Whether the field is a ``list[...]`` (or an optional one)."""
    annotation = unwrap_optional(model.model_fields[field].annotation)[0]
    return (typing.get_origin(annotation) or annotation) is list


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "t", "true", "y", "yes", "on"):
            return True
        if text in ("0", "f", "false", "n", "no", "off", ""):
            return False
        raise ValueError(f"not a boolean: {value!r}")
    return bool(value)


def _to_str(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8")  # not str(b"..."): that would be "b'...'"
    return str(value)


def _to_date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    return _dt.date.fromisoformat(str(value)[:10])


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        value = value.strip()
    number = Decimal(value) if isinstance(value, str) else value
    if number != int(number):
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


#: Field type -> (raw values taken as they are, conversion for any other).
_COERCIONS: dict[Any, tuple[tuple[type, ...], Callable[[Any], Any]]] = {
    int: ((int,), _to_int),
    float: ((float, int), float),
    bool: ((bool, int), _to_bool),
    str: ((str,), _to_str),
    _dt.date: ((_dt.date,), _to_date),  # a date, not a datetime (see ModelSchema._decide)
}


def _coercion(convert: Callable[[Any], Any], model: str, field: str) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        try:
            return convert(value)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise DataError(f"{model}.{field}: the database holds {value!r}, which is not a value of "
                            f"the field's type ({exc})") from None
    return coerce


#: Aggregates whose result has the type of their column (AVG: for DECIMAL columns only).
_TYPED_AGGREGATES = frozenset(("MIN", "MAX", "SUM", "AVG"))

#: Defaults that records may share instead of getting a copy each.
IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, bytes, tuple, frozenset)

#: The most rows one INSERT of ``insert_many`` carries.
ROWS_PER_INSERT = 500


class Conflict(typing.NamedTuple):
    """What a multi-row INSERT does about a row whose key is taken (see ``upsert_rows_sql``).

    ``target`` holds the fields of the key or unique index (empty: any);
    ``update`` the fields the stored row takes from the new one (empty:
    keep it, skipping the new row); ``bump`` the fields raised by one
    (an optimistic lock's version).
    """

    target: tuple[str, ...]
    update: tuple[str, ...] = ()
    bump: tuple[str, ...] = ()


def _private_default(attr: Any) -> Callable[[dict[str, Any]], Any]:
    """Return ``f(fields)`` giving a fresh private default per record, as pydantic does."""
    # Factories that take the validated data exist from pydantic 2.10; older ones take nothing.
    if getattr(attr, "default_factory_takes_validated_data", False):
        return lambda d: attr.get_default(call_default_factory=True, validated_data=dict(d))
    factory = attr.default_factory
    if factory is not None:
        return lambda d: factory()
    return lambda d: copy.deepcopy(attr.default)


def _whole(value: Any) -> Any:
    """An integer result as ``int`` (a NUMERIC or REAL one too), never cutting off a fraction."""
    if isinstance(value, int):
        return value
    try:
        whole = int(value)
    except (TypeError, ValueError):
        return value
    return whole if whole == value else value


_INTEGER_TYPES = frozenset((DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT))

#: The Python type a computed value of each type settles on, whatever the driver gave
#: (``EXTRACT`` is NUMERIC on one database, a string cast to a date is text on another).
_SETTLE: dict[DatabaseType, Callable[[Any], Any]] = {
    **{t: _whole for t in (DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT)},
    DatabaseType.FLOAT: float, DatabaseType.DOUBLE: float, DatabaseType.DECIMAL: _to_decimal,
    DatabaseType.BOOLEAN: bool, DatabaseType.DATE: _to_date, DatabaseType.DATETIME: _to_datetime,
    DatabaseType.TIMESTAMP: _to_datetime,
}
