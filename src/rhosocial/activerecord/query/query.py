"""``Query``: an immutable, chainable description of a SELECT over one model."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Iterator, Sequence, TypeVar

from ..backend.typing import bare_table_name
from ..backend.errors import NotSupportedError
from ..errors import MultipleRecordsFound, RecordNotFound, UnsafeQueryError
from . import expressions as ex
from .asynchronous import AsyncQueryMethods

if TYPE_CHECKING:
    from ..model.base import ActiveRecord

M = TypeVar("M", bound="ActiveRecord")

_JOIN_KINDS = {"inner": "INNER", "left": "LEFT"}


class Query(AsyncQueryMethods[M], Generic[M]):
    """A query over ``model``; every method returns a new query.

    Build with ``Model.query()`` and chain ``where``, ``order_by``, ``limit``
    ... then finish with a terminal such as ``all()``, ``first()``, ``count()``.
    Nothing runs until a terminal is called.
    """

    __slots__ = ("model", "_where", "_select", "_distinct", "_joins", "_group", "_having",
                 "_order", "_limit", "_offset", "_lock", "_skip_scopes", "_includes", "_strict", "_readonly",
                 "_include_options", "_from", "_ctes")

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._where: tuple[ex.Expr, ...] = ()
        self._select: tuple[ex.Expr, ...] = ()
        self._distinct = False
        self._joins: tuple[tuple[str, str, str | None, ex.Expr], ...] = ()
        self._group: tuple[ex.Expr, ...] = ()
        self._having: tuple[ex.Expr, ...] = ()
        self._order: tuple[Any, ...] = ()
        self._limit: int | None = None
        self._offset: int | None = None
        self._lock: dict[str, Any] | None = None
        self._skip_scopes: frozenset[str] = frozenset()
        self._includes: tuple[str, ...] = ()
        self._strict: bool | None = None
        self._readonly = False
        #: Per-path options of :meth:`includes` (strategy, filter), kept by ``relation.loading``.
        self._include_options: tuple[Any, ...] = ()
        #: Where rows come from instead of the model's table: ``(source, alias)``, the source a
        #: query (a derived table), a set operation or a CTE's name; the alias is the table's name.
        self._from: tuple[Any, str] | None = None
        #: ``WITH`` entries: ``(name, query, recursive, columns)``.
        self._ctes: tuple[tuple[str, Any, bool, tuple[str, ...]], ...] = ()

    def _replace(self, **changes: Any) -> "Query[M]":
        # Slot by slot, spelled out: a loop over __slots__ costs several times more,
        # and a chain such as where().order_by().limit() copies three times.
        clone = object.__new__(type(self))
        clone.model = self.model
        clone._where = self._where
        clone._select = self._select
        clone._distinct = self._distinct
        clone._joins = self._joins
        clone._group = self._group
        clone._having = self._having
        clone._order = self._order
        clone._limit = self._limit
        clone._offset = self._offset
        clone._lock = self._lock
        clone._skip_scopes = self._skip_scopes
        clone._includes = self._includes
        clone._strict = self._strict
        clone._readonly = self._readonly
        clone._include_options = self._include_options
        clone._from = self._from
        clone._ctes = self._ctes
        for slot, value in changes.items():
            object.__setattr__(clone, slot, value)
        return clone

    # -- what the query holds (read-only, for extensions such as relations) -------

    @property
    def ordering(self) -> tuple[Any, ...]:
        """The ORDER BY terms given so far."""
        return self._order

    @property
    def included(self) -> tuple[str, ...]:
        """The association paths given to :meth:`includes`."""
        return self._includes

    @property
    def is_distinct(self) -> bool:
        """Whether :meth:`distinct` is on."""
        return self._distinct

    @property
    def loads_strictly(self) -> bool:
        """Whether :meth:`strict_loading` is on (lazy association reads raise)."""
        return bool(self._strict)

    @property
    def joined_tables(self) -> tuple[str, ...]:
        """The names the joined tables go by in SQL (their aliases where given)."""
        return tuple(alias or table for _, table, alias, _ in self._joins)

    # -- building ----------------------------------------------------------------

    def where(self, *conditions: Any, **equals: Any) -> "Query[M]":
        """Add conditions, all of which must hold.

        Three forms, freely mixed across calls:

        - keywords: ``where(name="a", age=None)`` (``None`` means IS NULL, a list means IN);
        - a SQL fragment with ``?`` placeholders: ``where("age >= ?", 18)``;
        - expressions: ``where(User.c.age >= 18, User.c.name.like("a%"))``.
        """
        new: list[ex.Expr] = []
        if conditions and isinstance(conditions[0], str):
            new.append(ex.Raw(conditions[0], conditions[1:]))
        else:
            for condition in conditions:
                if not isinstance(condition, ex.Expr):
                    raise TypeError(
                        f"where() takes expressions, keywords or a SQL string with values, got {condition!r}"
                    )
                new.append(condition)
        columns = self.model.c
        for name, value in equals.items():
            column = columns[name]
            if isinstance(value, (list, tuple, set, frozenset)) or ex._is_query(value):
                new.append(column.in_(value))
            else:
                new.append(column == value)
        return self._replace(_where=self._where + tuple(new))

    def filter_by(self, **equals: Any) -> "Query[M]":
        """Alias of ``where(**equals)``."""
        return self.where(**equals)

    def select(self, *columns: Any) -> "Query[M]":
        """Choose the selected columns: names, ``Model.c`` columns or expressions."""
        selected = tuple(self._selected(c) for c in columns)
        named = [e.name for e, c in zip(selected, columns) if isinstance(e, ex.Label) and not isinstance(c, ex.Label)]
        if len(set(named)) < len(named) or set(named) & {e.name for e in selected if isinstance(e, ex.Column)}:
            raise ValueError("Two selected values would have the same name: label() the JSON paths "
                             f"({', '.join(sorted(set(named)))})")
        return self._replace(_select=selected)

    def distinct(self, on: bool = True) -> "Query[M]":
        """Return only distinct rows."""
        return self._replace(_distinct=on)

    def order_by(self, *terms: Any) -> "Query[M]":
        """Sort by columns; a name with a leading ``-`` sorts descending (``"-age"``)."""
        out = []
        for term in terms:
            if isinstance(term, str) and term.startswith("-"):
                out.append(self._column(term[1:]).desc())
            elif isinstance(term, ex.OrderBy):
                out.append(ex.OrderBy(self._grouped_path(term.expr), term.descending))
            else:
                out.append(self._grouped_path(self._column(term)).asc())
        return self._replace(_order=self._order + tuple(out))

    def _grouped_path(self, term: Any) -> Any:
        """A JSON path the query groups by sorts as it is grouped (the same expression to the server)."""
        if isinstance(term, ex.JsonPath):
            for group in self._group:
                if isinstance(group, ex.JsonPath) and group.path == term.path and group.column is term.column:
                    return group
        return term

    def reorder(self, *terms: Any) -> "Query[M]":
        """Replace the sort order."""
        return self._replace(_order=()).order_by(*terms)

    def limit(self, count: int | None) -> "Query[M]":
        """Return at most ``count`` rows."""
        return self._replace(_limit=_non_negative("limit", count))

    def offset(self, count: int | None) -> "Query[M]":
        """Skip the first ``count`` rows."""
        return self._replace(_offset=_non_negative("offset", count))

    def group_by(self, *columns: Any) -> "Query[M]":
        """Group rows by columns or expressions."""
        # A JSON path groups by its JSON value: the same expression as the path selected.
        terms = (self._column(c) for c in columns)
        return self._replace(_group=self._group + tuple(
            t.selected() if isinstance(t, ex.JsonPath) else t for t in terms))

    def having(self, *conditions: Any) -> "Query[M]":
        """Filter groups: expressions or a SQL fragment with ``?`` values."""
        if conditions and isinstance(conditions[0], str):
            new: tuple[ex.Expr, ...] = (ex.Raw(conditions[0], conditions[1:]),)
        else:
            new = tuple(conditions)
        return self._replace(_having=self._having + new)

    def join(self, target: Any, on: Any = None, *, kind: str = "inner", alias: str | None = None) -> "Query[M]":
        """Join another model or table: ``join(Post, Post.c.user_id == User.c.id)``.

        ``on`` may be an expression or a SQL fragment; ``kind`` is ``"inner"``
        or ``"left"``. Named associations are joined with ``joins()``.
        """
        if kind not in _JOIN_KINDS:
            raise ValueError(f"join kind must be 'inner' or 'left', got {kind!r}")
        table = target if isinstance(target, str) else target.table_name()
        alias = alias or getattr(target, "alias_name", None)  # Model.aliased("name")
        if on is None:
            raise ValueError("join() needs an 'on' condition")
        condition = ex.Raw(on) if isinstance(on, str) else on
        return self._replace(_joins=self._joins + ((_JOIN_KINDS[kind], table, alias, condition),))

    def left_join(self, target: Any, on: Any = None, *, alias: str | None = None) -> "Query[M]":
        """``LEFT JOIN``: keep rows without a match."""
        return self.join(target, on, kind="left", alias=alias)

    def for_update(self, nowait: bool = False, skip_locked: bool = False, of: Any = ()) -> "Query[M]":
        """Lock the selected rows until the transaction ends (``SELECT ... FOR UPDATE``).

        ``nowait`` fails at once on a locked row (``LockTimeoutError``) instead
        of waiting; ``skip_locked`` leaves locked rows out (a job queue). ``of``
        names the tables whose rows are locked in a join (models, aliases or
        names); without it, every joined table's rows are.
        """
        return self._locked(nowait, skip_locked, of, read=False)

    def for_share(self, nowait: bool = False, skip_locked: bool = False, of: Any = ()) -> "Query[M]":
        """Lock the selected rows against changes, letting others read and share-lock them
        (``FOR SHARE``; ``LOCK IN SHARE MODE`` where that is the spelling)."""
        return self._locked(nowait, skip_locked, of, read=True)

    def _locked(self, nowait: bool, skip_locked: bool, of: Any, read: bool) -> "Query[M]":
        if nowait and skip_locked:
            raise ValueError("nowait and skip_locked exclude each other")
        targets = of if isinstance(of, (list, tuple)) else (of,)
        names = tuple(_qualifier_of(t) for t in targets)
        return self._replace(_lock={"nowait": nowait, "skip_locked": skip_locked, "read": read, "of": names})

    # -- where rows come from: CTEs, derived tables, set operations ----------------

    def with_cte(self, name: str, query: Any, recursive: bool = False,
                 columns: Sequence[str] = ()) -> "Query[M]":
        """Add ``WITH name AS (query)``; the query reads it by ``from_cte``, a join or a subquery.

        A recursive CTE refers to itself by ``name`` (through :func:`table`), as
        the second part of a ``union_all``: ``anchor.union_all(step)``.
        ``columns`` names the CTE's columns where its query does not.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"A CTE needs a name, got {name!r}")
        if any(existing == name for existing, *_ in self._ctes):
            raise ValueError(f"A CTE named {name!r} is already in this query")
        if not _is_select(query):
            raise TypeError(f"with_cte() takes a query, got {query!r}")
        return self._replace(_ctes=self._ctes + ((name, query, recursive, tuple(columns)),))

    def from_cte(self, name: str, query: Any = None, recursive: bool = False,
                 columns: Sequence[str] = ()) -> "Query[M]":
        """Read the rows of CTE ``name`` as this model's records.

        With ``query``, the CTE is added here; without, ``name`` is a CTE of
        this query or of the query this one is a subquery of.
        """
        target = self.with_cte(name, query, recursive, columns) if query is not None else self
        return target._from_source(("table", name))

    def from_subquery(self, query: Any) -> "Query[M]":
        """Read the rows of ``query`` (a derived table, ``FROM (SELECT ...)``) as this model's records.

        Conditions, order, limits and aggregates of the new query apply to the
        subquery's rows: filter on a window function's result, for example.
        """
        if not _is_select(query):
            raise TypeError(f"from_subquery() takes a query, got {query!r}")
        return self._from_source(("subquery", query))

    def _from_source(self, source: tuple[str, Any]) -> "Query[M]":
        if self._where or self._joins or self._group or self._order or self._limit is not None or self._offset:
            raise ValueError("Choose where rows come from before adding conditions, joins, order or limits")
        # The source applied its own scopes; the rows it gives are taken as they are.
        return self._replace(_from=(source, bare_table_name(self.model.table_name())),
                             _skip_scopes=frozenset(self.model._default_scopes()))

    def union(self, *others: Any) -> "Query[M]":
        """Rows in this query or in ``others``, without duplicates; order and limit the result after."""
        return self._set_operation("UNION", others)

    def union_all(self, *others: Any) -> "Query[M]":
        """Rows of this query and ``others``, duplicates kept."""
        return self._set_operation("UNION ALL", others)

    def intersect(self, *others: Any, all: bool = False) -> "Query[M]":  # noqa: A002 - SQL's word
        """Rows in this query and in every one of ``others``."""
        return self._set_operation("INTERSECT ALL" if all else "INTERSECT", others)

    def except_(self, *others: Any, all: bool = False) -> "Query[M]":  # noqa: A002 - SQL's word
        """Rows in this query and in none of ``others``."""
        return self._set_operation("EXCEPT ALL" if all else "EXCEPT", others)

    def _set_operation(self, op: str, others: Sequence[Any]) -> "Query[M]":
        if not others:
            raise ValueError(f"{op.lower()} needs at least one other query")
        width = _width(self)
        for other in others:
            if not _is_select(other):
                raise TypeError(f"{op} combines queries, got {other!r}")
            if width >= 0 and 0 <= _width(other) != width:
                raise ValueError(f"{op} needs queries of the same number of columns: {width} and {_width(other)}")
        # The combined rows load as the first query's do (read-only, includes, strict loading).
        base = type(self)(self.model)._replace(_readonly=self._readonly, _includes=self._includes,
                                               _include_options=self._include_options, _strict=self._strict)
        return base._from_source(("set", ex.SetOperation(op, (self, *others))))

    @property
    def source(self) -> tuple[Any, str] | None:
        """Where the rows come from when not the model's table: ``((kind, what), alias)``."""
        return self._from

    @property
    def ctes(self) -> tuple[tuple[str, Any, bool, tuple[str, ...]], ...]:
        """The ``WITH`` entries: ``(name, query, recursive, columns)``."""
        return self._ctes

    def unscoped(self, *names: str) -> "Query[M]":
        """Drop the model's default scopes (all, or the ones named)."""
        skip = frozenset(names) if names else frozenset(self.model._default_scopes())
        return self._replace(_skip_scopes=self._skip_scopes | skip)

    # -- associations (implemented in ``relation/``) ---------------------------------

    def includes(self, *paths: str, strategy: str = "batch", **filtered: Any) -> "Query[M]":
        """Eager-load associations: ``includes("posts", "posts.comments")``.

        With the default ``strategy="batch"`` each level costs one batched
        ``WHERE key IN (...)`` query, whatever the row count; see
        ``relation.loading.include`` for the other strategies and for
        filtered includes (keywords naming an association).
        """
        from ..relation.loading import include

        return include(self, paths, strategy, filtered)

    def where_assoc(self, path: str, *conditions: Any, **equals: Any) -> "Query[M]":
        """Keep the records with at least one associated record (along ``path``) matching the conditions."""
        from ..relation.joins import where_assoc

        return where_assoc(self, path, conditions, equals)

    def joins(self, *paths: str) -> "Query[M]":
        """INNER JOIN associations by name (``joins("posts")``) to filter or sort by their columns.

        Joining a to-many association makes the query DISTINCT, so each row comes back once.
        """
        from ..relation.joins import join_associations

        return join_associations(self, paths)

    def readonly(self, on: bool = True) -> "Query[M]":
        """Load records that refuse to be saved or deleted (``ReadOnlyRecordError``).

        For records handed to code that must only read them (a report, a template).
        """
        return self._replace(_readonly=on)

    def strict_loading(self) -> "Query[M]":
        """Make a lazy association load on the loaded records raise ``StrictLoadingError``."""
        return self._replace(_strict=True)

    def _column(self, spec: Any) -> ex.Expr:
        if isinstance(spec, ex.Expr):
            if isinstance(spec, ex.Over):
                return spec.resolve(self._column)
            if isinstance(spec, ex.Label) and isinstance(spec.expr, (ex.Over, ex.JsonPath)):
                inner = spec.expr.resolve(self._column) if isinstance(spec.expr, ex.Over) else spec.expr
                return ex.Label(inner, spec.name)
            return spec
        if isinstance(spec, str):
            if "." in spec:
                table, _, name = spec.partition(".")
                return ex.Column(table, name)
            if self._from is not None and spec == "*":
                return ex.Star(self._from[1])
            if self._from is not None and spec not in self.model._column_specs():
                return ex.Column(self._from[1], spec)  # a column the source gives besides the model's
            return self.model.c[spec]
        raise TypeError(f"Expected a column name or expression, got {spec!r}")

    def _selected(self, spec: Any) -> ex.Expr:
        """A select-list item: a JSON path reads back as JSON, under the name of its last step."""
        expr = self._column(spec)
        if isinstance(expr, ex.JsonPath):
            last = expr.path[-1]
            column = expr.column.name if isinstance(expr.column, ex.Column) else "json"
            return ex.Label(expr.selected(), last if isinstance(last, str) else f"{column}_{last}")
        if isinstance(expr, ex.Label) and isinstance(expr.expr, ex.JsonPath):
            return ex.Label(expr.expr.selected(), expr.name)
        return expr

    def _all_conditions(self) -> list[ex.Expr]:
        scopes = self.model._default_scopes()
        conditions = [cond for name, cond in scopes.items() if name not in self._skip_scopes]
        conditions.extend(self._where)
        return conditions

    def __getattr__(self, name: str) -> Any:
        scope = self.model._named_scopes().get(name)
        if scope is None:
            raise AttributeError(f"{type(self).__name__} for {self.model.__name__} has no attribute or scope {name!r}")

        def apply(*args: Any, **kwargs: Any) -> "Query[M]":
            return scope(self, *args, **kwargs)

        return apply

    # -- inspection ----------------------------------------------------------------

    def to_sql(self) -> tuple[str, list[Any]]:
        """Return the SELECT this query runs, as ``(sql, params)``.

        Needs only the backend's dialect: it never opens a connection.
        """
        return self._compiler().select(self)

    def explain(self, analyze: bool = False) -> str:
        """Return the database's plan for this query, as text (its own EXPLAIN form).

        ``analyze=True`` runs the query and reports what happened (times, rows)
        where the database can (``EXPLAIN ANALYZE``, ``ANALYZE``).
        """
        schema = self.model._schema()
        sql, params = schema.compiler.explain(self, analyze)
        result = schema.backend.execute(sql, params)
        return str(schema.compiler.format_plan(result.columns, result.rows))

    def _compiler(self) -> Any:
        return self.model._schema().compiler

    def _compile_into(self, builder: Any) -> None:
        self._compiler().write_select(self, builder)

    def __repr__(self) -> str:
        try:
            sql, params = self.to_sql()
        except Exception as exc:  # noqa: BLE001 - repr must not fail
            return f"<Query {self.model.__name__} (not compilable: {exc})>"
        return f"<Query {sql!r} {params!r}>"

    # -- terminals -------------------------------------------------------------------

    def _run(self, statement: str, *args: Any, schema: Any = None) -> Any:
        """Compile with ``compiler.<statement>(self, *args)`` and run it (the backend resolved once)."""
        if schema is None:
            schema = self.model._schema()
        sql, params = getattr(schema.compiler, statement)(self, *args)
        return schema.backend.execute(sql, params)

    def all(self) -> list[M]:
        """Run the query and return the records."""
        schema = self.model._schema()  # the backend, resolved once for compiling, running, loading
        sql, params = schema.compiler.select(self)
        result = schema.backend.execute(sql, params)
        return self._load(schema, result.columns, result.rows)

    def _load(self, schema: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[M]:
        """Rows of this query's SELECT as records: annotations read, includes loaded, marks set.

        The one way rows become records, for ``all()`` and for each batch of ``stream()``.
        """
        records: list[M] = schema.loader(columns)(rows) if rows else []
        if self._select and records:
            _read_annotations(records, self._select, schema)
        if self._includes or self._strict:
            self.model._after_load(records, self)
        if self._readonly:
            for record in records:
                record.__pydantic_private__["_readonly"] = True
        return records

    def __iter__(self) -> Iterator[M]:
        return iter(self.all())

    def first(self) -> M | None:
        """Return the first record (by primary key unless ordered), or ``None``."""
        query = self if self._order else self.order_by(*self.model.primary_key_fields())
        rows = query.limit(1).all()
        return rows[0] if rows else None

    def last(self) -> M | None:
        """Return the last record by primary key (or the reversed order), or ``None``."""
        if self._order:
            reversed_order = tuple(ex.OrderBy(o.expr, not o.descending) for o in self._order)
            query = self._replace(_order=reversed_order)
        else:
            query = self.order_by(*("-" + k for k in self.model.primary_key_fields()))
        rows = query.limit(1).all()
        return rows[0] if rows else None

    def one(self) -> M:
        """Return the only matching record.

        Raises:
            RecordNotFound: nothing matched.
            MultipleRecordsFound: more than one record matched.
        """
        rows = self.limit(2).all()
        if not rows:
            raise RecordNotFound(f"No {self.model.__name__} matched the query", self.model)
        if len(rows) > 1:
            raise MultipleRecordsFound(f"More than one {self.model.__name__} matched the query")
        return rows[0]

    def exists(self) -> bool:
        """Return whether any record matches."""
        return bool(self._run("exists").rows)

    def count(self) -> Any:
        """Return the number of matching records.

        On a grouped query (``group_by("city").count()``), a dict from each
        group (a tuple when grouped by several columns) to its count.
        """
        if self._group:
            return self._per_group(ex.Func("COUNT", ()), int)
        return int(self._run("count").scalar() or 0)

    def _per_group(self, aggregate: ex.Expr, convert: Any) -> dict[Any, Any]:
        """Run ``aggregate`` once per group; return ``{group: value}`` in the query's order."""
        schema = self.model._schema()
        groups = self._group
        query = self._replace(_select=(*groups, aggregate.label("value")))
        readers = [schema.reader_for(g) for g in groups]
        out: dict[Any, Any] = {}
        for row in query._run("select", schema=schema).rows:
            key = tuple(v if (r is None or v is None) else r(v) for r, v in zip(readers, row[:-1]))
            value = row[-1]
            out[key[0] if len(key) == 1 else key] = value if value is None or convert is None else convert(value)
        return out

    def _aggregate(self, function: str, column: Any) -> Any:
        expr = self._column(column)
        schema = self.model._schema()
        agg = ex.Func(function, (expr,))
        # Databases answer in float, NUMERIC or the column's type: the reader settles it the same
        # everywhere (AVG of a DECIMAL: a Decimal at its scale; other AVGs: float; SUM of integers: int).
        reader = schema.reader_for(agg)
        if self._group:
            return self._per_group(agg, reader)
        value = self._run("aggregate", function, expr, schema=schema).scalar()
        if value is None or reader is None:
            return value
        return reader(value)

    def sum(self, column: Any) -> Any:
        """Return the sum of ``column`` over matching rows (``None`` when there are none)."""
        return self._aggregate("SUM", column)

    def avg(self, column: Any) -> Any:
        """Return the average of ``column``."""
        return self._aggregate("AVG", column)

    def min(self, column: Any) -> Any:
        """Return the smallest value of ``column``."""
        return self._aggregate("MIN", column)

    def max(self, column: Any) -> Any:
        """Return the largest value of ``column``."""
        return self._aggregate("MAX", column)

    def pluck(self, *columns: Any) -> list[Any]:
        """Return the values of one column (a list) or several (a list of tuples)."""
        if not columns:
            raise ValueError("pluck() needs at least one column")
        query = self.select(*columns)
        schema = self.model._schema()
        result = query._run("select", schema=schema)
        converters = [schema.reader_for(c) for c in query._select]
        rows = [tuple(v if (conv is None or v is None) else conv(v) for conv, v in zip(converters, row))
                for row in result.rows]
        return [r[0] for r in rows] if len(columns) == 1 else rows

    def dicts(self) -> list[dict[str, Any]]:
        """Run the query and return rows as dicts (for aggregates and custom selects).

        Values of the model's columns, and of MIN/MAX/SUM (and a DECIMAL's AVG)
        of them, are converted as in loaded records.
        """
        schema = self.model._schema()
        result = self._run("select", schema=schema)
        if self._select:
            converters = [schema.reader_for(c) for c in self._select]
            keys = [schema.field_of.get(c.name, name) if isinstance(c, ex.Column) and c.table == schema.table
                    else name for c, name in zip(self._select, result.columns)]
        else:
            readers, field_of = schema.readers, schema.field_of
            keys = [field_of.get(name, name) for name in result.columns]
            converters = [readers.get(key) for key in keys]
        rows = result.rows
        if any(converters):
            rows = [tuple(v if (conv is None or v is None) else conv(v) for conv, v in zip(converters, row))
                    for row in rows]
        return [dict(zip(keys, row)) for row in rows]

    def stream(self, batch_size: int = 1000) -> Iterator[M]:
        """Iterate over the matching records as the database sends them, keeping memory flat.

        A server-side cursor where the driver has one; see ``query.streaming``.
        """
        from .streaming import stream

        return stream(self, batch_size)

    def find_each(self, batch_size: int = 1000) -> Iterator[M]:
        """Iterate over all matching records, loading ``batch_size`` at a time.

        Batches follow the primary key (keyset pagination), so memory stays
        flat however large the table, and rows are never skipped or repeated
        by concurrent inserts the way OFFSET paging would.
        """
        for batch in self.in_batches(batch_size):
            yield from batch

    def in_batches(self, batch_size: int = 1000) -> Iterator[list[M]]:
        """Yield lists of at most ``batch_size`` records, in primary-key order."""
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        if self._order or self._offset or self._limit is not None:
            raise ValueError("in_batches() orders by primary key itself; remove order_by/limit/offset")
        keys = self.model.primary_key_fields()
        columns = [self.model.c[k] for k in keys]
        base = self.order_by(*keys).limit(batch_size)
        last: tuple[Any, ...] | None = None
        while True:
            query = base if last is None else base.where(_after(columns, last))
            batch = query.all()
            if not batch:
                return
            yield batch
            if len(batch) < batch_size:
                return
            last = tuple(getattr(batch[-1], k) for k in keys)

    def update_all(self, all_rows: bool = False, returning: bool = False, **values: Any) -> Any:
        """Update matching rows with ``values`` in one statement; return the row count.

        Runs no model hooks. Refuses to touch every row unless ``all_rows=True``.
        With ``returning=True``, returns the updated rows as records instead
        (see :meth:`delete_all`).
        """
        if not values:
            raise ValueError("update_all() needs at least one column=value")
        self._check_conditions("update_all", all_rows)
        if returning:
            return self._changed_rows("update", values)
        return self._run("update", values).affected_rows

    def delete_all(self, all_rows: bool = False, returning: bool = False) -> Any:
        """Delete matching rows in one statement; return the row count.

        Runs no model hooks (soft-delete models mark rows deleted instead).
        Refuses to touch every row unless ``all_rows=True``.

        With ``returning=True``, returns the deleted rows as records (marked
        deleted) instead: one statement with ``RETURNING`` where the database
        has it; elsewhere the rows are read ``FOR UPDATE``, then deleted by
        key, in one transaction (so nothing changes them in between, and a
        row added meanwhile is left alone).
        """
        self._check_conditions("delete_all", all_rows)
        soft = self.model._soft_delete_values()
        if soft is not None:
            if returning:
                return self._changed_rows("update", soft)
            return self._run("update", soft).affected_rows
        if returning:
            return self._changed_rows("delete", None)
        return self._run("delete").affected_rows

    def _changed_rows(self, statement: str, values: dict[str, Any] | None) -> list[M]:
        """Run the UPDATE (``values``) or DELETE and return the rows it changed as records."""
        schema = self.model._schema()
        backend = schema.backend
        caps = backend.capabilities
        native = caps.supports_update_returning if statement == "update" else caps.supports_delete_returning
        args = (values,) if statement == "update" else ()
        if native:
            sql, params = getattr(schema.compiler, statement)(self, *args, schema._sql_names(schema.names))
            result = backend.execute(sql, params)
            records = schema.loader(result.columns)(result.rows) if result.rows else []
        else:
            if not caps.supports_for_update:
                raise NotSupportedError(
                    f"{backend.name} has neither {statement.upper()} ... RETURNING nor row locks: "
                    f"{statement}_all(returning=True) cannot tell which rows it changed")
            keys = self.model.primary_key_fields()
            with backend.transaction():
                locked = self.unscoped()._replace(_where=tuple(self._all_conditions()), _includes=(),
                                                  _readonly=False).for_update().all()
                if not locked:
                    return []
                parts = list(by_keys(self.model, keys, [tuple(r.__dict__[k] for k in keys) for r in locked]))
                for part in parts:
                    part._run(statement, *args)
                records = locked if statement == "delete" else [r for part in parts for r in part.all()]
        if statement == "delete":
            for record in records:
                record.__pydantic_private__["_deleted"] = True
        return records

    def destroy_all(self, all_rows: bool = False, batch_size: int = 1000) -> int:
        """Load the matching records in batches and ``delete()`` each: hooks and ``dependent=`` run.

        The whole call is one transaction (the caller's, if one is open), so
        a hook that raises leaves every row in place. Slower than
        :meth:`delete_all`, which runs one DELETE and no hooks. Returns the
        number of records deleted.
        """
        self._check_conditions("destroy_all", all_rows)
        deleted = 0
        with self.model.backend().transaction():
            for batch in self.in_batches(batch_size):
                for record in batch:
                    if record.delete():
                        deleted += 1
        return deleted

    def _check_conditions(self, what: str, all_rows: bool) -> None:
        if not self._where and not all_rows:
            raise UnsafeQueryError(
                f"{what}() without a condition would change every row of "
                f"{self.model.table_name()!r}; pass all_rows=True if that is what you mean"
            )
        if self._limit is not None or self._offset:
            raise ValueError(
                f"{what}() changes every matching row: it cannot take limit()/offset(). Choose the rows by "
                f"key instead: where(id=[r.id for r in query.limit(n)])")

def by_keys(model: Any, fields: tuple[str, ...], keys: Sequence[tuple[Any, ...]]) -> Iterator["Query[Any]"]:
    """Unscoped queries for the rows with these key values, as many keys each as one statement binds.

    ``key IN (...)``, or for a composite key ``(a = ? AND b = ?) OR ...``.
    """
    columns = [model.c[f] for f in fields]
    per = max(1, model.backend().capabilities.max_bind_parameters // (2 * len(fields)))
    for i in range(0, len(keys), per):
        part = keys[i:i + per]
        if len(fields) == 1:
            condition: ex.Expr = columns[0].in_([k[0] for k in part])
        else:
            condition = ex.Or([ex.And([c == v for c, v in zip(columns, k)]) for k in part])
        yield model.query().unscoped().where(condition)


def _after(columns: list[ex.Column], last: tuple[Any, ...]) -> ex.Expr:
    """``(a, b) > (x, y)`` spelled portably: ``a > x OR (a = x AND b > y)``."""
    first = columns[0] > last[0]
    if len(columns) == 1:
        return first
    rest = ex.And([columns[0] == last[0], _after(columns[1:], last[1:])])
    return ex.Or([first, rest])


def _non_negative(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _qualifier_of(target: Any) -> str:
    """The name rows of ``target`` go by in SQL: a model's table, an alias, or a name."""
    if isinstance(target, str):
        return target
    alias = getattr(target, "alias_name", None)
    if alias is not None:
        return str(alias)
    if hasattr(target, "table_name"):
        return bare_table_name(target.table_name())
    raise TypeError(f"of= takes models, aliases or table names, got {target!r}")


def _is_select(value: Any) -> bool:
    return isinstance(value, Query)


def _width(query: "Query[Any]") -> int:
    """How many columns ``query`` selects (-1: only the database knows)."""
    if query._select and not any(isinstance(e, ex.Star) for e in query._select):
        return len(query._select)
    if query._select:
        return -1  # a star: as wide as its table
    if query._from is not None:
        kind, source = query._from[0]
        if kind == "subquery":
            return _width(source)
        if kind == "set":
            return _width(source.queries[0])
        return -1  # a CTE's name
    return len(query.model._column_specs())


def _read_annotations(records: list[Any], selected: Sequence[ex.Expr], schema: Any) -> None:
    """Convert selected expressions read as annotations by their type (a date, a JSON value ...)."""
    readers = [(e.name, r) for e in selected if isinstance(e, ex.Label) and not isinstance(e.expr, ex.Column)
               and (r := schema.reader_for(e)) is not None]
    if not readers:
        return
    for record in records:
        values = record.__pydantic_private__.get("_annotations")
        if values:
            for name, read in readers:
                value = values.get(name)
                if value is not None:
                    values[name] = read(value)
