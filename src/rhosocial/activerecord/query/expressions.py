"""The neutral query tree: columns, values, operators and functions.

Nothing here writes SQL for a particular database; a compiler turns the tree
into text and parameters through the backend's dialect. Python operators build
nodes: ``User.c.age >= 18``, ``(a & b) | ~c``, ``User.c.name.like("a%")``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    from ..backend.typing import DatabaseType


class Expr:
    """Base of every node; gives Python operators their SQL meaning."""

    __slots__ = ()
    visit_name = "expr"

    # comparisons ----------------------------------------------------------
    def __eq__(self, other: Any) -> "Expr":  # type: ignore[override]
        if other is None:
            return Postfix(self, "IS NULL")
        return BinaryOp(self, "=", _wrap(other, self))

    def __ne__(self, other: Any) -> "Expr":  # type: ignore[override]
        if other is None:
            return Postfix(self, "IS NOT NULL")
        return BinaryOp(self, "<>", _wrap(other, self))

    def __lt__(self, other: Any) -> "Expr":
        return BinaryOp(self, "<", _wrap(other, self))

    def __le__(self, other: Any) -> "Expr":
        return BinaryOp(self, "<=", _wrap(other, self))

    def __gt__(self, other: Any) -> "Expr":
        return BinaryOp(self, ">", _wrap(other, self))

    def __ge__(self, other: Any) -> "Expr":
        return BinaryOp(self, ">=", _wrap(other, self))

    __hash__ = object.__hash__

    def __iter__(self) -> Any:
        raise TypeError("A query expression is not iterable")

    # logic ----------------------------------------------------------------
    def __and__(self, other: Any) -> "Expr":
        return And((self, _as_condition(other)))

    def __or__(self, other: Any) -> "Expr":
        return Or((self, _as_condition(other)))

    def __invert__(self) -> "Expr":
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            "A query expression has no truth value: combine conditions with &, | and ~, "
            "not 'and', 'or' and 'not'"
        )

    # arithmetic -----------------------------------------------------------
    def __add__(self, other: Any) -> "Expr":
        return BinaryOp(self, "+", _wrap(other, self))

    def __sub__(self, other: Any) -> "Expr":
        return BinaryOp(self, "-", _wrap(other, self))

    def __mul__(self, other: Any) -> "Expr":
        return BinaryOp(self, "*", _wrap(other, self))

    def __truediv__(self, other: Any) -> "Expr":
        return BinaryOp(self, "/", _wrap(other, self))

    def __radd__(self, other: Any) -> "Expr":
        return BinaryOp(_wrap(other, self), "+", self)

    def __rsub__(self, other: Any) -> "Expr":
        return BinaryOp(_wrap(other, self), "-", self)

    def __rmul__(self, other: Any) -> "Expr":
        return BinaryOp(_wrap(other, self), "*", self)

    def __rtruediv__(self, other: Any) -> "Expr":
        return BinaryOp(_wrap(other, self), "/", self)

    # predicates -----------------------------------------------------------
    def in_(self, values: Any) -> "Expr":
        """``expr IN (...)``: a list of values or a subquery."""
        return In(self, _in_operand(values, self), negated=False)

    def not_in(self, values: Any) -> "Expr":
        """``expr NOT IN (...)``."""
        return In(self, _in_operand(values, self), negated=True)

    def like(self, pattern: str) -> "Expr":
        """``expr LIKE pattern``: ``%`` and ``_`` are wildcards; case sensitivity follows the database
        (use :meth:`ilike` for a match that ignores case everywhere)."""
        return BinaryOp(self, "LIKE", Value(_text("like", pattern)))

    def not_like(self, pattern: str) -> "Expr":
        """``expr NOT LIKE pattern``."""
        return BinaryOp(self, "NOT LIKE", Value(_text("not_like", pattern)))

    def ilike(self, pattern: str) -> "Expr":
        """``expr`` matches the LIKE ``pattern`` ignoring case, on every database."""
        return Match(self, "like", _text("ilike", pattern), True)

    def icontains(self, text: str) -> "Expr":
        """The string holds ``text``, ignoring case (``%`` and ``_`` in ``text`` are plain characters)."""
        return Match(self, "contains", _text("icontains", text), True)

    def startswith(self, text: str) -> "Expr":
        """The string starts with ``text``, case-sensitively on every database."""
        return Match(self, "startswith", _text("startswith", text), False)

    def istartswith(self, text: str) -> "Expr":
        """The string starts with ``text``, ignoring case."""
        return Match(self, "startswith", _text("istartswith", text), True)

    def endswith(self, text: str) -> "Expr":
        """The string ends with ``text``, case-sensitively on every database."""
        return Match(self, "endswith", _text("endswith", text), False)

    def iendswith(self, text: str) -> "Expr":
        """The string ends with ``text``, ignoring case."""
        return Match(self, "endswith", _text("iendswith", text), True)

    def between(self, low: Any, high: Any) -> "Expr":
        """``expr BETWEEN low AND high`` (both ends included)."""
        return Between(self, _wrap(low, self), _wrap(high, self))

    def is_null(self) -> "Expr":
        """``expr IS NULL``."""
        return Postfix(self, "IS NULL")

    def is_not_null(self) -> "Expr":
        """``expr IS NOT NULL``."""
        return Postfix(self, "IS NOT NULL")

    # lists (array columns, JSON lists) ----------------------------------------
    def contains(self, values: Any) -> "Expr":
        """What the column holds, by the argument's type.

        - a ``str``: the string holds it, case-sensitively on every database
          (``%`` and ``_`` are plain characters);
        - a ``dict`` (a JSON column or path): the JSON document holds it (``@>``, ``JSON_CONTAINS``);
        - a list: the list column holds every one of ``values`` (``tags @> ARRAY[...]``).
        """
        if isinstance(values, str) and not _holds_documents(self):
            return Match(self, "contains", values, False)
        if isinstance(values, dict):
            return JsonContains(self, values)
        return ListTest(self, "contains", _list_operand(values, "contains"))

    def overlaps(self, values: Iterable[Any]) -> "Expr":
        """The list column holds at least one of ``values`` (``tags && ARRAY[...]``)."""
        return ListTest(self, "overlaps", _list_operand(values, "overlaps"))

    def any(self, value: Any) -> "Expr":
        """The list column holds ``value`` (``value = ANY(tags)``)."""
        if value is None or isinstance(value, (list, tuple, set, dict)):
            raise TypeError(f"any() takes one item, got {value!r}; use contains() or overlaps() for several")
        return ListTest(self, "any", value)

    # ordering and naming ----------------------------------------------------
    def asc(self) -> "OrderBy":
        """Sort ascending by this expression."""
        return OrderBy(self, False)

    def desc(self) -> "OrderBy":
        """Sort descending by this expression."""
        return OrderBy(self, True)

    def label(self, name: str) -> "Label":
        """Name this expression in a select list (``expr AS name``)."""
        return Label(self, name)


class Column(Expr):
    """A column of a table, typed so values compared with it convert like it."""

    __slots__ = ("table", "name", "db_type", "python_to_db", "check", "item_type", "model")
    visit_name = "column"

    def __init__(self, table: str | None, name: str, db_type: "DatabaseType | None" = None,
                 python_to_db: Any = None, check: Any = None, item_type: "DatabaseType | None" = None,
                 model: Any = None) -> None:
        #: The model the column is a field of (``Model.c``, an alias's ``.c``): its values read like it.
        self.model = model
        self.table = table
        self.name = name
        self.db_type = db_type
        self.python_to_db = python_to_db
        #: ``check(value)`` returns a value compared with the column as its field's type, or raises.
        self.check = check
        #: The element type of an ARRAY column.
        self.item_type = item_type

    def __repr__(self) -> str:
        return f"Column({self.table!r}, {self.name!r})"

    def __getitem__(self, key: str | int) -> "JsonPath":
        """A value inside a JSON column: ``Model.c.data["address"]["city"]``, ``Model.c.data["tags"][0]``."""
        if self.db_type is not None and self.db_type.name != "JSON":
            raise TypeError(f"{self.name} is a {self.db_type.name} column, not JSON: it has no path {key!r}")
        return JsonPath(self, (_path_step(key),))


class Value(Expr):
    """A bound parameter; ``db_type`` picks the column converter for it."""

    __slots__ = ("value", "column")
    visit_name = "value"

    def __init__(self, value: Any, column: Column | None = None) -> None:
        if column is not None and value is not None and column.check is not None:
            value = column.check(value)  # a wrong type fails here, naming the column, not in SQL
        self.value = value
        self.column = column


class Raw(Expr):
    """A trusted SQL fragment with neutral ``?`` placeholders and bound values."""

    __slots__ = ("sql", "params")
    visit_name = "raw"

    def __init__(self, sql: str, params: Sequence[Any] = ()) -> None:
        if not isinstance(sql, str):
            raise TypeError(f"SQL fragment must be a string, got {sql!r}")
        self.sql = sql
        self.params = tuple(params)


class BinaryOp(Expr):
    """``left op right``."""

    __slots__ = ("left", "op", "right")
    visit_name = "binary"

    def __init__(self, left: Expr, op: str, right: Expr) -> None:
        self.left = left
        self.op = op
        self.right = right


class Postfix(Expr):
    """``operand IS NULL`` and the like."""

    __slots__ = ("operand", "op")
    visit_name = "postfix"

    def __init__(self, operand: Expr, op: str) -> None:
        self.operand = operand
        self.op = op


class Between(Expr):
    """``operand BETWEEN low AND high``."""

    __slots__ = ("operand", "low", "high")
    visit_name = "between"

    def __init__(self, operand: Expr, low: Expr, high: Expr) -> None:
        self.operand = operand
        self.low = low
        self.high = high


class In(Expr):
    """``operand [NOT] IN (values | subquery)``."""

    __slots__ = ("operand", "values", "negated")
    visit_name = "in"

    def __init__(self, operand: Expr, values: "tuple[Expr, ...] | Subquery", negated: bool) -> None:
        self.operand = operand
        self.values = values
        self.negated = negated


class ListTest(Expr):
    """A test of a list column: ``contains`` (all of), ``overlaps`` (any of) or ``any`` (one item)."""

    __slots__ = ("operand", "kind", "values")
    visit_name = "list_test"

    def __init__(self, operand: Expr, kind: str, values: Any) -> None:
        self.operand = operand
        self.kind = kind
        self.values = values


class Row(Expr):
    """A row value, ``(a, b)``: a composite key compared or looked up as one."""

    __slots__ = ("items",)
    visit_name = "row"

    def __init__(self, items: Iterable[Expr]) -> None:
        self.items = tuple(items)

    def _rows(self, values: Any) -> "tuple[Expr, ...] | Subquery":
        if isinstance(values, Subquery) or _is_query(values):
            return values if isinstance(values, Subquery) else Subquery(values)
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"in_() takes a list of tuples or a query, got {values!r}")
        rows = []
        for value in values:
            if isinstance(value, Row):
                rows.append(value)
                continue
            if not isinstance(value, (tuple, list)) or len(value) != len(self.items):
                raise TypeError(f"Each value of a {len(self.items)}-column row is a tuple of "
                                f"{len(self.items)}, got {value!r}")
            rows.append(Row(_wrap(v, c) for v, c in zip(value, self.items)))
        return tuple(rows)

    def in_(self, values: Any) -> Expr:
        """``(a, b) IN ((1, 2), ...)``: a list of tuples or a subquery of as many columns."""
        return In(self, self._rows(values), negated=False)

    def not_in(self, values: Any) -> Expr:
        """``(a, b) NOT IN (...)``."""
        return In(self, self._rows(values), negated=True)


class And(Expr):
    """Conditions that must all hold."""

    __slots__ = ("items",)
    visit_name = "and"
    items: tuple[Expr, ...]

    def __init__(self, items: Iterable[Expr]) -> None:
        flat: list[Expr] = []
        for item in items:
            flat.extend(item.items if isinstance(item, And) else (item,))
        self.items = tuple(flat)


class Or(Expr):
    """Conditions of which one must hold."""

    __slots__ = ("items",)
    visit_name = "or"
    items: tuple[Expr, ...]

    def __init__(self, items: Iterable[Expr]) -> None:
        flat: list[Expr] = []
        for item in items:
            flat.extend(item.items if isinstance(item, Or) else (item,))
        self.items = tuple(flat)


class Not(Expr):
    """A negated condition."""

    __slots__ = ("operand",)
    visit_name = "not"

    def __init__(self, operand: Expr) -> None:
        self.operand = operand


class Func(Expr):
    """A SQL function call, e.g. ``func.lower(User.c.name)``; ``COUNT(*)`` when COUNT has no args.

    The names in :data:`PORTABLE_FUNCTIONS` are compiled for each database
    (``concat`` is ``||`` on one and ``CONCAT_WS`` on another); any other name
    is written as given, so it works where the database has that function.
    """

    __slots__ = ("name", "args", "distinct", "db_type", "condition")
    visit_name = "func"

    def __init__(self, name: str, args: Sequence[Any], distinct: bool = False,
                 db_type: "DatabaseType | None" = None, condition: "Expr | None" = None) -> None:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"Not a SQL function name: {name!r}")
        self.name = name.upper()
        self.args = tuple(a if isinstance(a, Expr) else Value(a) for a in args)
        self.distinct = distinct
        #: The result's type, where the function decides it (``extract`` gives an integer).
        self.db_type = db_type
        #: An aggregate's ``FILTER (WHERE ...)`` condition.
        self.condition = condition

    def filter(self, *conditions: "Expr") -> "Func":
        """Aggregate only the rows matching ``conditions``: ``func.count().filter(User.c.age >= 18)``.

        ``FILTER (WHERE ...)`` where the database has it, ``CASE WHEN`` inside the aggregate elsewhere.
        """
        if self.name not in AGGREGATES:
            raise TypeError(f"filter() applies to aggregates ({', '.join(sorted(AGGREGATES))}), not {self.name}")
        condition = And(conditions) if len(conditions) != 1 else _as_condition(conditions[0])
        if self.condition is not None:
            condition = And((self.condition, condition))
        return Func(self.name, self.args, self.distinct, self.db_type, condition)

    def over(self, partition_by: Any = None, order_by: Any = None, frame: "Frame | None" = None) -> "Over":
        """Make this a window function: ``func.rank().over(partition_by=..., order_by=...)``.

        ``partition_by`` and ``order_by`` take one column or expression or a
        list; order terms may be ``Model.c.x.desc()`` or names (``"-salary"``),
        resolved against the query's model. ``frame`` is :func:`rows_between` or
        :func:`range_between`.
        """
        return Over(self, _as_list(partition_by), _as_list(order_by), frame)


#: Window functions that rank or shift rows: a frame means nothing to them.
_RANKING = frozenset(("ROW_NUMBER", "RANK", "DENSE_RANK", "PERCENT_RANK", "CUME_DIST", "NTILE", "LAG", "LEAD"))

#: Aggregate functions (they take ``distinct=`` and ``filter()``).
AGGREGATES = frozenset(("COUNT", "SUM", "AVG", "MIN", "MAX"))

#: Functions compiled per database, with the same meaning on each (see docs/queries.md).
PORTABLE_FUNCTIONS = frozenset((
    "lower", "upper", "length", "trim", "ltrim", "rtrim", "substr", "replace", "concat", "coalesce",
    "nullif", "greatest", "least", "abs", "round", "floor", "ceil", "mod", "now", "current_date",
    "extract", "date_trunc", "count", "sum", "avg", "min", "max", "row_number", "rank", "dense_rank",
    "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
))

#: Parts ``extract`` takes (``dow``: 0 = Sunday ... 6; ``week``: the ISO week number).
DATE_PARTS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second", "dow", "doy")
#: Units ``date_trunc`` takes (``week`` starts on Monday).
TRUNC_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second")


class Over(Expr):
    """``func(...) OVER (PARTITION BY ... ORDER BY ... frame)``."""

    __slots__ = ("func", "partition_by", "order_by", "frame")
    visit_name = "over"

    def __init__(self, function: Func, partition_by: Sequence[Any], order_by: Sequence[Any],
                 frame: "Frame | None") -> None:
        if function.distinct or function.condition is not None:
            raise ValueError("A window function takes neither distinct= nor filter()")
        if frame is not None and not isinstance(frame, Frame):
            raise TypeError(f"frame must be rows_between(...) or range_between(...), got {frame!r}")
        if frame is not None and function.name in _RANKING:
            raise ValueError(f"{function.name.lower()}() takes no frame: it ranks the whole partition")
        self.func = function
        self.partition_by = tuple(partition_by)
        self.order_by = tuple(order_by)
        self.frame = frame

    def resolve(self, column: Any) -> "Over":
        """Return this window with names turned into columns by ``column(name)`` (the query's model)."""
        def order(term: Any) -> Any:
            if isinstance(term, str):
                return column(term[1:]).desc() if term.startswith("-") else column(term).asc()
            return term
        return Over(self.func, [column(p) if isinstance(p, str) else p for p in self.partition_by],
                    [order(t) for t in self.order_by], self.frame)


class Frame:
    """A window frame: ``ROWS BETWEEN start AND end`` (see :func:`rows_between`)."""

    __slots__ = ("kind", "start", "end")

    def __init__(self, kind: str, start: int | None, end: int | None) -> None:
        for bound in (start, end):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise TypeError(f"A frame bound is an int or None, got {bound!r}")
        if start is not None and end is not None and start > end:
            raise ValueError(f"A frame cannot start ({start}) after it ends ({end})")
        self.kind = kind
        self.start = start
        self.end = end


def rows_between(start: int | None = None, end: int | None = 0) -> Frame:
    """``ROWS BETWEEN``: ``None`` is unbounded, ``0`` the current row, ``-n`` n rows before, ``n`` n after.

    ``rows_between(-2, 0)``: this row and the two before it (a moving sum);
    the default, ``rows_between()``: every row up to this one (a running total).
    """
    return Frame("ROWS", start, end)


def range_between(start: int | None = None, end: int | None = 0) -> Frame:
    """``RANGE BETWEEN``: like :func:`rows_between` over peers of the ORDER BY value (``None``/``0`` only
    are portable)."""
    if start not in (None, 0) or end not in (None, 0):
        raise ValueError("range_between() takes None (unbounded) or 0 (the current row's peers) on every database; "
                         "use rows_between() for offsets")
    return Frame("RANGE", start, end)


class Cast(Expr):
    """``CAST(expr AS type)``, the type named per database from a ``DatabaseType``."""

    __slots__ = ("expr", "db_type", "params")
    visit_name = "cast"

    def __init__(self, expr: Any, db_type: "DatabaseType", params: dict[str, Any]) -> None:
        from ..backend.typing import DatabaseType

        if not isinstance(db_type, DatabaseType):
            raise TypeError(f"cast() takes a DatabaseType, got {db_type!r}")
        if db_type in (DatabaseType.CUSTOM, DatabaseType.ARRAY, DatabaseType.UUID):
            raise TypeError(f"cast() to {db_type.name} is not portable; write it with raw()")
        unknown = set(params) - {"length", "precision", "scale"}
        if unknown:
            raise TypeError(f"cast() takes length, precision and scale, not {', '.join(sorted(unknown))}")
        for key, size in params.items():
            if isinstance(size, bool) or not isinstance(size, int) or size < (0 if key == "scale" else 1):
                raise ValueError(f"cast() {key} must be a {'non-negative' if key == 'scale' else 'positive'} "
                                 f"integer, got {size!r}")
        self.expr = expr if isinstance(expr, Expr) else Value(expr)
        self.db_type = db_type
        self.params = params


class Case(Expr):
    """``CASE WHEN cond THEN value ... ELSE default END``."""

    __slots__ = ("whens", "else_")
    visit_name = "case"

    def __init__(self, whens: Sequence[tuple[Expr, Expr]], else_: Expr | None) -> None:
        self.whens = tuple(whens)
        self.else_ = else_


class Match(Expr):
    """A string test: ``contains``/``startswith``/``endswith`` (literal text) or ``like`` (a pattern)."""

    __slots__ = ("operand", "kind", "text", "ignore_case")
    visit_name = "match"

    def __init__(self, operand: Expr, kind: str, text: str, ignore_case: bool) -> None:
        self.operand = operand
        self.kind = kind
        self.text = text
        self.ignore_case = ignore_case


class JsonPath(Expr):
    """A value inside a JSON document: ``Model.c.data["address"]["city"]``.

    In conditions and ordering it is the value as text (a JSON string
    unquoted; compared with a number, as a number; with ``True``/``False``,
    as a JSON boolean). Selected, it reads back as the JSON value (a dict,
    list, str, number, bool or None), the same on every database.
    """

    __slots__ = ("column", "path", "mode")
    visit_name = "json_path"

    def __init__(self, column: Expr, path: tuple[str | int, ...], mode: str = "text") -> None:
        self.column = column
        self.path = path
        #: ``text``, ``number``, ``boolean`` (how conditions see it) or ``json`` (selected).
        self.mode = mode

    def __getitem__(self, key: str | int) -> "JsonPath":
        return JsonPath(self.column, self.path + (_path_step(key),), self.mode)

    def _as(self, other: Any) -> "JsonPath":
        if isinstance(other, bool):
            return JsonPath(self.column, self.path, "boolean")
        if isinstance(other, (int, float)) or type(other).__name__ == "Decimal":
            return JsonPath(self.column, self.path, "number")
        return self

    def _compare(self, op: str, other: Any) -> Expr:
        if isinstance(other, bool):
            return BinaryOp(self._as(other), op, Value("true" if other else "false"))
        return BinaryOp(self._as(other), op, _wrap(other))

    def __eq__(self, other: Any) -> Expr:  # type: ignore[override]
        return Postfix(self, "IS NULL") if other is None else self._compare("=", other)

    def __ne__(self, other: Any) -> Expr:  # type: ignore[override]
        return Postfix(self, "IS NOT NULL") if other is None else self._compare("<>", other)

    def __lt__(self, other: Any) -> Expr:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Expr:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Expr:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Expr:
        return self._compare(">=", other)

    __hash__ = Expr.__hash__

    def in_(self, values: Any) -> Expr:
        items = list(values) if isinstance(values, (list, tuple, set, frozenset)) else values
        operand = self._as(items[0]) if isinstance(items, list) and items else self
        return In(operand, _in_operand(items, self), negated=False)

    def between(self, low: Any, high: Any) -> Expr:
        return Between(self._as(low), _wrap(low), _wrap(high))

    def selected(self) -> "JsonPath":
        """This path as a selected value (read back as JSON)."""
        return JsonPath(self.column, self.path, "json")


class JsonContains(Expr):
    """The JSON document (a column or a path in one) holds ``value`` (``@>``, ``JSON_CONTAINS``)."""

    __slots__ = ("operand", "value")
    visit_name = "json_contains"

    def __init__(self, operand: Expr, value: Any) -> None:
        self.operand = operand
        self.value = value


class SetOperation(Expr):
    """``q1 UNION q2 ...`` (also UNION ALL, INTERSECT, EXCEPT), read as a derived table."""

    __slots__ = ("op", "queries")
    visit_name = "set_operation"

    def __init__(self, op: str, queries: Sequence[Any]) -> None:
        self.op = op
        self.queries = tuple(queries)


class Star(Expr):
    """``*`` or ``table.*``."""

    __slots__ = ("table",)
    visit_name = "star"

    def __init__(self, table: str | None = None) -> None:
        self.table = table


class Label(Expr):
    """``expr AS name``."""

    __slots__ = ("expr", "name")
    visit_name = "label"

    def __init__(self, expr: Expr, name: str) -> None:
        self.expr = expr
        self.name = name


class OrderBy:
    """One ORDER BY term."""

    __slots__ = ("expr", "descending")

    def __init__(self, expr: Expr, descending: bool) -> None:
        self.expr = expr
        self.descending = descending


class Subquery(Expr):
    """A query used inside another (``IN (SELECT ...)``, ``EXISTS (...)``)."""

    __slots__ = ("query",)
    visit_name = "subquery"

    def __init__(self, query: Any) -> None:
        self.query = query


class Exists(Expr):
    """``EXISTS (subquery)``."""

    __slots__ = ("subquery",)
    visit_name = "exists"

    def __init__(self, query: Any) -> None:
        self.subquery = query if isinstance(query, Subquery) else Subquery(query)


class _FuncFactory:
    """``func.count()``, ``func.lower(col)``, ``func.count(col, distinct=True)``, ``func.extract("year", col)``.

    Names in :data:`PORTABLE_FUNCTIONS` mean the same on every database;
    any other name is passed through as written (not portable).
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        special = _SPECIAL_FUNCTIONS.get(name)
        if special is not None:
            return special

        def make(*args: Any, distinct: bool = False) -> Func:
            if distinct and name.upper() not in AGGREGATES:
                raise TypeError(f"distinct= applies to aggregates, not {name}()")
            return Func(name, args, distinct, _RESULT_TYPES.get(name))

        return make


def _extract(part: str, expr: Any) -> Func:
    """``extract("year", col)``: a part of a date or timestamp, as an integer."""
    if part not in DATE_PARTS:
        raise ValueError(f"extract() takes one of {', '.join(DATE_PARTS)}, got {part!r}")
    from ..backend.typing import DatabaseType

    return Func("extract", (Value(part), expr), db_type=DatabaseType.INTEGER)


def _date_trunc(unit: str, expr: Any) -> Func:
    """``date_trunc("month", col)``: the date or timestamp cut down to the start of its month."""
    if unit not in TRUNC_UNITS:
        raise ValueError(f"date_trunc() takes one of {', '.join(TRUNC_UNITS)}, got {unit!r}")
    from ..backend.typing import DatabaseType

    operand = expr if isinstance(expr, Expr) else Value(expr)
    kind = type_of(operand)
    return Func("date_trunc", (Value(unit), operand),
                db_type=DatabaseType.DATE if kind is DatabaseType.DATE else DatabaseType.DATETIME)


def _now() -> Func:
    """The current timestamp, as the database's clock has it."""
    from ..backend.typing import DatabaseType

    return Func("now", (), db_type=DatabaseType.DATETIME)


def _current_date() -> Func:
    """Today's date, as the database's clock has it."""
    from ..backend.typing import DatabaseType

    return Func("current_date", (), db_type=DatabaseType.DATE)


_SPECIAL_FUNCTIONS: dict[str, Any] = {
    "extract": _extract, "date_trunc": _date_trunc, "now": _now, "current_date": _current_date,
}


def _result_types() -> dict[str, Any]:
    from ..backend.typing import DatabaseType

    text, integer = DatabaseType.TEXT, DatabaseType.INTEGER
    out: dict[str, Any] = {n: text for n in ("lower", "upper", "trim", "ltrim", "rtrim", "substr", "replace",
                                              "concat")}
    out.update({n: integer for n in ("length", "count", "row_number", "rank", "dense_rank", "ntile")})
    out.update({n: DatabaseType.DOUBLE for n in ("percent_rank", "cume_dist")})
    return out


_RESULT_TYPES = _result_types()

#: Functions whose result has the type of their first argument.
_FIRST_TYPE = frozenset(("NULLIF", "ABS", "ROUND", "MIN", "MAX", "SUM", "FIRST_VALUE", "LAST_VALUE", "NTH_VALUE"))
#: Functions whose result is one of their arguments.
_COMMON_TYPE = frozenset(("COALESCE", "GREATEST", "LEAST"))


def _common(values: Sequence[Any]) -> "DatabaseType | None":
    """The type values of ``values`` share (NULL constants aside), or ``None``."""
    from ..backend.typing import DatabaseType

    kinds = set()
    for value in values:
        if isinstance(value, Value) and value.value is None:
            continue
        kind = type_of(value)
        if kind is None:
            return None
        kinds.add(kind)
    if len(kinds) == 1:
        return kinds.pop()
    integers = {DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT}
    if kinds and kinds <= integers:
        return DatabaseType.BIGINT
    if kinds and kinds <= integers | {DatabaseType.FLOAT, DatabaseType.DOUBLE}:
        return DatabaseType.DOUBLE
    if kinds and kinds <= integers | {DatabaseType.DECIMAL}:
        return DatabaseType.DECIMAL
    if kinds and kinds <= {DatabaseType.DATE, DatabaseType.DATETIME}:
        return DatabaseType.DATETIME
    if kinds and kinds <= {DatabaseType.TEXT, DatabaseType.VARCHAR, DatabaseType.CHAR}:
        return DatabaseType.TEXT
    return None


def type_of(node: Any) -> "DatabaseType | None":
    """The ``DatabaseType`` an expression's value has, where it is known (for reading it back).

    A function of several values (``coalesce``, ``greatest``, a ``case``) has
    a type only when its values agree, integers widening to floats or
    decimals and dates to timestamps; otherwise it is unknown and read as
    the driver gives it, never narrowed.
    """
    if isinstance(node, Label):
        node = node.expr
    if isinstance(node, Over):
        node = node.func
    if isinstance(node, (Column, Cast)):
        return node.db_type
    if isinstance(node, Func):
        if node.db_type is not None:
            return node.db_type
        if not node.args:
            return None
        if node.name in _FIRST_TYPE:
            return type_of(node.args[0])
        if node.name in ("LAG", "LEAD"):
            return _common(node.args[:1] + node.args[2:3])
        if node.name == "AVG":
            from ..backend.typing import DatabaseType

            return DatabaseType.DECIMAL if type_of(node.args[0]) is DatabaseType.DECIMAL else DatabaseType.DOUBLE
        if node.name in _COMMON_TYPE:
            return _common(node.args)
        return None
    if isinstance(node, Case):
        return _common([v for _, v in node.whens] + ([node.else_] if node.else_ is not None else []))
    if isinstance(node, BinaryOp) and node.op in ("+", "-", "*"):  # division differs per database
        return _common((node.left, node.right))
    if isinstance(node, Value) and node.value is not None:
        if node.column is not None:
            return node.column.db_type
        from ..backend.dialect import SQLDialectBase

        return SQLDialectBase.db_type_of_value(node.value)
    if isinstance(node, JsonPath) and node.mode == "json":
        from ..backend.typing import DatabaseType

        return DatabaseType.JSON
    return None


func = _FuncFactory()


def cast(expr: Any, db_type: "DatabaseType", **params: Any) -> Cast:
    """``CAST(expr AS type)`` with the type named for each database: ``cast(col, DatabaseType.INTEGER)``.

    ``params`` size the type as a column's would (``length=20``, ``precision=10, scale=2``).
    """
    return Cast(expr, db_type, params)


def case(*whens: tuple[Any, Any], else_: Any = None) -> Case:
    """``CASE WHEN cond THEN value ... ELSE else_ END``: ``case((User.c.age < 18, "minor"), else_="adult")``."""
    if not whens:
        raise ValueError("case() needs at least one (condition, value) pair")
    pairs = []
    for when in whens:
        if not isinstance(when, tuple) or len(when) != 2:
            raise TypeError(f"case() takes (condition, value) pairs, got {when!r}")
        condition, value = when
        pairs.append((_as_condition(condition), _wrap(value)))
    return Case(pairs, None if else_ is None else _wrap(else_))


def tuple_(*items: Any) -> Row:
    """A row value, ``(a, b)``: ``tuple_(T.c.a, T.c.b).in_([(1, 2), (3, 4)])`` (spelled out where missing)."""
    if len(items) < 2:
        raise ValueError("tuple_() takes two or more expressions")
    return Row(i if isinstance(i, Expr) else Value(i) for i in items)


class TableRef:
    """A table known by name only (a CTE, a derived table's alias): ``tree = table("tree")``.

    ``tree.c.depth`` is its column ``depth``, untyped; use it in conditions,
    joins (``join(tree, tree.c.id == Model.c.parent_id)``) and selections.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A table needs a name, got {name!r}")
        self.name = name
        self.c = _TableColumns(name)

    def table_name(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"table({self.name!r})"


class _TableColumns:
    __slots__ = ("_table",)

    def __init__(self, table: str) -> None:
        self._table = table

    def __getattr__(self, name: str) -> Column:
        if name.startswith("_"):
            raise AttributeError(name)
        return Column(self._table, name)

    def __getitem__(self, name: str) -> Column:
        return Column(self._table, name)


def table(name: str) -> TableRef:
    """Name a table that is no model's (a CTE): its ``.c`` gives columns to use in a query."""
    return TableRef(name)


class Literal(Value):
    """A constant used as an expression; an integer is written into the SQL, anything else bound."""

    __slots__ = ()
    visit_name = "literal"


def literal(value: Any) -> Value:
    """A constant as an expression (``select(literal(0).label("depth"))``).

    An integer is written as itself, so the database types it as an integer
    (a bound parameter has no type some databases can infer); other values are bound.
    """
    return Literal(value)


def exists(query: Any) -> Exists:
    """Return ``EXISTS (query)`` for use in ``where``."""
    return Exists(query)


def raw(sql: str, *params: Any) -> Raw:
    """Return a trusted SQL fragment with neutral ``?`` placeholders."""
    return Raw(sql, params)


def _text(what: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what}() takes a string, got {value!r}")
    return value


def _path_step(key: Any) -> str | int:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"A JSON path step is a key (str) or an index (int), got {key!r}")
    if isinstance(key, str) and (not key or any(c in key for c in '"\\') or not key.isprintable()):
        raise ValueError(f"A JSON key in a path must be printable and hold no quote or backslash: {key!r}")
    if isinstance(key, int) and key < 0:
        raise ValueError(f"A JSON array index in a path must not be negative, got {key}")
    return key


def _holds_documents(expr: Expr) -> bool:
    """Whether ``expr`` is a JSON or array column (a list or document, not a string)."""
    if not isinstance(expr, Column) or expr.db_type is None:
        return False
    return expr.db_type.name in ("JSON", "ARRAY")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _wrap(value: Any, column: Expr | None = None) -> Expr:
    if isinstance(value, Expr):
        return value
    if _is_query(value):
        return Subquery(value)
    return Value(value, column if isinstance(column, Column) else None)


def _in_operand(values: Any, column: Expr) -> "tuple[Expr, ...] | Subquery":
    if isinstance(values, Subquery):
        return values
    if _is_query(values):
        return Subquery(values)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"in_() takes a list of values or a query, got {values!r}")
    return tuple(_wrap(v, column) for v in values)


def _list_operand(values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
        raise TypeError(f"{what}() takes a list of items, got {values!r}")
    items = list(values)
    if any(v is None for v in items):
        raise TypeError(f"{what}() cannot look for None in a list")
    return items


def _as_condition(value: Any) -> Expr:
    if not isinstance(value, Expr):
        raise TypeError(f"Cannot combine a condition with {value!r}")
    return value


def _is_query(value: Any) -> bool:
    return hasattr(value, "_compile_into")
