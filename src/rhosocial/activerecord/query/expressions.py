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

    # predicates -----------------------------------------------------------
    def in_(self, values: Any) -> "Expr":
        """``expr IN (...)``: a list of values or a subquery."""
        return In(self, _in_operand(values, self), negated=False)

    def not_in(self, values: Any) -> "Expr":
        """``expr NOT IN (...)``."""
        return In(self, _in_operand(values, self), negated=True)

    def like(self, pattern: str) -> "Expr":
        """``expr LIKE pattern`` (case sensitivity follows the database)."""
        return BinaryOp(self, "LIKE", Value(pattern))

    def not_like(self, pattern: str) -> "Expr":
        """``expr NOT LIKE pattern``."""
        return BinaryOp(self, "NOT LIKE", Value(pattern))

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
    def contains(self, values: Iterable[Any]) -> "Expr":
        """The list column holds every one of ``values`` (``tags @> ARRAY[...]``)."""
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

    __slots__ = ("table", "name", "db_type", "python_to_db", "check", "item_type")
    visit_name = "column"

    def __init__(self, table: str | None, name: str, db_type: "DatabaseType | None" = None,
                 python_to_db: Any = None, check: Any = None, item_type: "DatabaseType | None" = None) -> None:
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
    """A SQL function call, e.g. ``func.lower(User.c.name)``; ``COUNT(*)`` when no args."""

    __slots__ = ("name", "args", "distinct")
    visit_name = "func"

    def __init__(self, name: str, args: Sequence[Any], distinct: bool = False) -> None:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"Not a SQL function name: {name!r}")
        self.name = name.upper()
        self.args = tuple(a if isinstance(a, Expr) else Value(a) for a in args)
        self.distinct = distinct


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
    """``func.count()``, ``func.lower(col)``, ``func.count(col, distinct=True)``."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def make(*args: Any, distinct: bool = False) -> Func:
            return Func(name, args, distinct)

        return make


func = _FuncFactory()


def exists(query: Any) -> Exists:
    """Return ``EXISTS (query)`` for use in ``where``."""
    return Exists(query)


def raw(sql: str, *params: Any) -> Raw:
    """Return a trusted SQL fragment with neutral ``?`` placeholders."""
    return Raw(sql, params)


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
