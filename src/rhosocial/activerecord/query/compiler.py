"""Turn the neutral query tree into ``(sql, params)`` through a dialect.

The compiler writes ANSI SQL and asks the dialect for everything that varies:
identifier quoting, placeholders, LIMIT/OFFSET, row locks and value
converters. A dialect that needs different SQL for a node subclasses
:class:`SQLCompiler` and overrides its ``visit_<node>`` method.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

from ..backend.dialect import SQLBuilder
from ..backend.errors import NotSupportedError
from ..backend.typing import DatabaseType, TableName
from . import expressions as ex

if TYPE_CHECKING:
    from ..backend.dialect import SQLDialectBase
    from .query import Query


#: Constant function arguments written as literals (see SQLCompiler._func_argument).
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
#: The LIKE escape character of contains()/startswith()/endswith() patterns.
_ESCAPE = " ESCAPE '!'"


def _like_pattern(kind: str, text: str) -> str:
    """``text`` as a LIKE pattern with ``!`` escaping its wildcards."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[kind]


_INTEGERS = frozenset((DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT))
_EXACT = _INTEGERS | {DatabaseType.DECIMAL}
_FLOATS = frozenset((DatabaseType.FLOAT, DatabaseType.DOUBLE))


def _several(node: ex.Func) -> ex.Func:
    if len(node.args) < 2:
        raise ValueError(f"{node.name.lower()}() takes two or more arguments")
    return node


def _bare_set_operation(query: Any) -> ex.SetOperation | None:
    """The set operation ``query`` reads, when it adds nothing to it."""
    source = query._from
    if source is None or source[0][0] != "set" or query._select or query._where or query._joins or \
            query._group or query._order or query._limit is not None or query._offset or query._distinct:
        return None
    node = source[0][1]
    assert isinstance(node, ex.SetOperation)
    return node


def _bound(offset: int | None, beyond: str) -> str:
    if offset is None:
        return f"UNBOUNDED {beyond}"
    if offset == 0:
        return "CURRENT ROW"
    return f"{-offset} PRECEDING" if offset < 0 else f"{offset} FOLLOWING"


class SQLCompiler:
    """Compiles queries and expressions for one dialect."""

    def __init__(self, dialect: "SQLDialectBase") -> None:
        self.dialect = dialect
        self.q = dialect.quote_identifier
        self._visitors: dict[type, Any] = {}  # node class -> bound visit_<name> method
        #: (table, column) of list fields that may be JSON or a native array (a table made elsewhere):
        #: their list tests are compiled to work on either.
        self.uncertain_lists: frozenset[tuple[str, str]] = frozenset()
        #: FUNCTION NAME -> bound fn_<name> method, for the portable function library.
        self._portable: dict[str, Any] = {
            name[3:].upper(): getattr(self, name) for name in dir(self) if name.startswith("fn_")}

    # -- statements ------------------------------------------------------------

    def select(self, query: "Query[Any]", builder: SQLBuilder | None = None) -> tuple[str, list[Any]]:
        """Compile a SELECT."""
        b = builder or self.dialect.create_builder()
        self.write_select(query, b)
        return b.build()

    def write_select(self, query: "Query[Any]", b: SQLBuilder) -> None:
        """Append the SELECT for ``query`` to ``b``."""
        self.write_with(query, b)
        b.append("SELECT DISTINCT " if query._distinct else "SELECT ")
        if query._select:
            b.append(", ".join(self.expr(e, b) for e in query._select))
        else:
            b.append(self._qualifier(query._from[1] if query._from else query.model.table_name()) + ".*")
        self.write_from(query, b)
        self.write_joins(query, b)
        self.write_where(query, b)
        if query._group:
            b.append(" GROUP BY " + ", ".join(self.expr(e, b) for e in query._group))
        if query._having:
            b.append(" HAVING " + self.expr(ex.And(query._having), b))
        if query._order:
            b.append(" ORDER BY " + ", ".join(self.order_term(o, b) for o in query._order))
        b.append(self.dialect.limit_offset_sql(query._limit, query._offset))
        if query._lock is not None:
            b.append(self.lock_sql(query))

    def write_with(self, query: "Query[Any]", b: SQLBuilder) -> None:
        """Append ``WITH [RECURSIVE] name AS (...), ...`` for the query's CTEs."""
        if not query._ctes:
            return
        parts = []
        for name, cte, _recursive, columns in query._ctes:
            head = self.q(name) + ("(" + ", ".join(self.q(c) for c in columns) + ")" if columns else "")
            compound = _bare_set_operation(cte)
            if compound is not None:  # a recursive CTE's body is the UNION itself, not a table over it
                parts.append(f"{head} AS ({self._set_operation(compound, b)})")
            else:
                parts.append(f"{head} AS {self._nested(cte, b)}")
        recursive = any(r for _, _, r, _ in query._ctes)
        b.append(("WITH RECURSIVE " if recursive else "WITH ") + ", ".join(parts) + " ")

    def write_from(self, query: "Query[Any]", b: SQLBuilder) -> None:
        """Append ``FROM`` the model's table, or the query's source under the table's name."""
        if query._from is None:
            b.append(" FROM " + self.q(query.model.table_name()))
            return
        (kind, source), alias = query._from
        if kind == "table":
            b.append(f" FROM {self.q(source)} {self._as}{self.q(alias)}")
        elif kind == "set":
            b.append(f" FROM ({self._set_operation(source, b)}) {self._as}{self.q(alias)}")
        else:
            b.append(f" FROM {self._nested(source, b)} {self._as}{self.q(alias)}")

    #: The keyword before a derived table's alias.
    _as = "AS "

    def _nested(self, query: "Query[Any]", b: SQLBuilder) -> str:
        """``(SELECT ...)`` sharing ``b``'s parameter numbering."""
        inner = self.dialect.create_builder()
        inner.params = b.params
        self.write_select(query, inner)
        return "(" + "".join(inner.parts) + ")"

    def _set_operation(self, node: ex.SetOperation, b: SQLBuilder) -> str:
        self.check_set_operation(node.op)
        parts = []
        for i, member in enumerate(node.queries):
            if member._order or member._limit is not None or member._offset or member._ctes or member._lock:
                # Not every database takes a member with its own ORDER BY/LIMIT/WITH: a derived table does.
                parts.append(f"SELECT * FROM {self._nested(member._replace(_lock=None), b)} "
                             f"{self._as}{self.q(f'm{i}')}")
            else:
                inner = self.dialect.create_builder()
                inner.params = b.params
                self.write_select(member, inner)
                parts.append("".join(inner.parts))
        return f" {node.op} ".join(parts)

    def visit_set_operation(self, node: ex.SetOperation, b: SQLBuilder) -> str:
        return "(" + self._set_operation(node, b) + ")"

    #: Set operations this database runs (``check_set_operation`` refuses the others).
    set_operations = frozenset(("UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"))

    def check_set_operation(self, op: str) -> None:
        """Raise ``NotSupportedError`` for a set operation the database lacks."""
        if op not in self.set_operations:
            raise NotSupportedError(f"{self.dialect.name} has no {op}"
                                    + ("; without ALL it removes duplicates" if op.endswith(" ALL") else ""))

    def lock_sql(self, query: "Query[Any]") -> str:
        """The row-locking clause of ``query``."""
        lock: dict[str, Any] = dict(query._lock or {})
        of = lock.pop("of", ())
        if of and not self.lock_of:
            if query._joins:
                raise NotSupportedError(f"{self.dialect.name} cannot lock the rows of some joined tables only "
                                        "(FOR UPDATE OF); lock them in a query of their own")
            of = ()  # one table: its rows are the ones locked anyway
        if of:  # passed only when given: a dialect written before OF existed still works
            lock["of"] = tuple(self.q(t) for t in of)
        return self.dialect.for_update_sql(**lock)

    #: Whether ``FOR UPDATE OF table`` is understood.
    lock_of = True

    def explain(self, query: "Query[Any]", analyze: bool) -> tuple[str, list[Any]]:
        """Compile the database's EXPLAIN of the query's SELECT."""
        sql, params = self.select(query)
        return self.explain_sql(sql, analyze), params

    def explain_sql(self, sql: str, analyze: bool) -> str:
        """``EXPLAIN [ANALYZE] sql`` (ANALYZE runs the statement)."""
        return ("EXPLAIN ANALYZE " if analyze else "EXPLAIN ") + sql

    @staticmethod
    def format_plan(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """The rows EXPLAIN returned, as text: one line per row (a table when there are columns)."""
        if len(columns) == 1:
            return "\n".join(str(row[0]) for row in rows)
        lines = [" | ".join(columns)]
        lines.extend(" | ".join("" if v is None else str(v) for v in row) for row in rows)
        return "\n".join(lines)

    def write_joins(self, query: "Query[Any]", b: SQLBuilder) -> None:
        """Append the JOIN clauses."""
        for kind, table, alias, on in query._joins:
            target = self.q(table) + (f" {self.q(alias)}" if alias else "")
            b.append(f" {kind} JOIN {target} ON {self.expr(on, b)}")

    def write_where(self, query: "Query[Any]", b: SQLBuilder) -> None:
        """Append the WHERE clause: default scopes plus the query's conditions."""
        conditions = query._all_conditions()
        if conditions:
            b.append(" WHERE " + self.expr(ex.And(conditions), b) if len(conditions) > 1
                     else " WHERE " + self.expr(conditions[0], b))

    def count(self, query: "Query[Any]") -> tuple[str, list[Any]]:
        """Compile ``SELECT COUNT(*)`` over the query (a subquery when it is limited or grouped)."""
        b = self.dialect.create_builder()
        if query._limit is not None or query._offset or query._distinct or query._group:
            b.append("SELECT COUNT(*) FROM (")
            inner = self._subquery_rows(query)
            if query._group and not query._select:
                # Count groups: a grouped SELECT may only name the grouped columns.
                inner = inner._replace(_select=query._group)
            self.write_select(inner, b)
            b.append(") " + self.q("counted"))
        else:
            self.write_with(query, b)
            b.append("SELECT COUNT(*)")
            self.write_from(query, b)
            self.write_joins(query, b)
            self.write_where(query, b)
        return b.build()

    def aggregate(self, query: "Query[Any]", function: str, expr: ex.Expr) -> tuple[str, list[Any]]:
        """Compile ``SELECT FUNC(expr)`` over the query's rows."""
        b = self.dialect.create_builder()
        agg = ex.Func(function, (expr,))
        if query._limit is not None or query._offset or query._distinct:
            label = expr if isinstance(expr, ex.Label) else expr.label("v")
            inner = self._subquery_rows(query)._replace(_select=(label,))
            b.append(f"SELECT {function.upper()}({self.q('sub')}.{self.q(label.name)}) FROM (")
            self.write_select(inner, b)
            b.append(") " + self.q("sub"))
            return b.build()
        self.write_with(query, b)
        b.append("SELECT " + self.expr(agg, b))
        self.write_from(query, b)
        self.write_joins(query, b)
        self.write_where(query, b)
        return b.build()

    def exists(self, query: "Query[Any]") -> tuple[str, list[Any]]:
        """Compile a query that returns one row when ``query`` matches anything."""
        b = self.dialect.create_builder()
        self.write_with(query, b)
        b.append("SELECT 1")
        self.write_from(query, b)
        self.write_joins(query, b)
        self.write_where(query, b)
        b.append(self.dialect.limit_offset_sql(1, None))
        return b.build()

    def update(self, query: "Query[Any]", values: dict[str, Any],
               returning: Sequence[str] = ()) -> tuple[str, list[Any]]:
        """Compile ``UPDATE table SET ... WHERE ...`` for the query's conditions (``RETURNING`` columns)."""
        self._no_joins(query, "update_all")
        b = self.dialect.create_builder()
        table = query.model.table_name()
        b.append(f"UPDATE {self.q(table)} SET ")
        sets = []
        columns = query.model.c
        for name, value in values.items():
            column = columns[name]
            rhs = value if isinstance(value, ex.Expr) else ex.Value(value, column)
            sets.append(f"{self.q(column.name)} = {self.expr(rhs, b)}")
        b.append(", ".join(sets))
        self.write_where(query, b)
        b.append(self.dialect.returning_sql(returning))
        return b.build()

    def delete(self, query: "Query[Any]", returning: Sequence[str] = ()) -> tuple[str, list[Any]]:
        """Compile ``DELETE FROM table WHERE ...`` (``RETURNING`` columns)."""
        self._no_joins(query, "delete_all")
        b = self.dialect.create_builder()
        b.append("DELETE FROM " + self.q(query.model.table_name()))
        self.write_where(query, b)
        b.append(self.dialect.returning_sql(returning))
        return b.build()

    @staticmethod
    def _subquery_rows(query: "Query[Any]") -> "Query[Any]":
        """Return ``query`` as the rows a COUNT or aggregate wraps.

        Row locks go; the order stays only when LIMIT/OFFSET make it decide which rows are in.
        """
        paged = query._limit is not None or bool(query._offset)
        return query._replace(_order=query._order if paged else (), _lock=None)

    @staticmethod
    def _no_joins(query: "Query[Any]", what: str) -> None:
        if query._from is not None or query._ctes:
            raise NotSupportedError(f"{what}() changes the model's table: it cannot read from a subquery, "
                                    "a set operation or a CTE; select the keys with one instead "
                                    "(where(Model.c.id.in_(query.select('id'))))")
        if query._joins:
            raise NotSupportedError(
                f"{what}() cannot use joins portably; filter with a subquery instead "
                "(where(Model.c.id.in_(other_query.select('id'))))"
            )

    # -- expressions -------------------------------------------------------------

    def order_term(self, term: Any, b: SQLBuilder) -> str:
        """Compile one ORDER BY term."""
        if isinstance(term, ex.OrderBy):
            return self.expr(term.expr, b) + (" DESC" if term.descending else " ASC")
        return self.expr(term, b)

    def expr(self, node: ex.Expr, b: SQLBuilder) -> str:
        """Compile an expression node, binding its values into ``b``."""
        visit = self._visitors.get(node.__class__)
        if visit is None:
            visit = self._visitors[node.__class__] = getattr(self, "visit_" + node.visit_name)
        return visit(node, b)

    def visit_column(self, node: ex.Column, b: SQLBuilder) -> str:
        if node.table:
            return f"{self._qualifier(node.table)}.{self.q(node.name)}"
        return self.q(node.name)

    def visit_value(self, node: ex.Value, b: SQLBuilder) -> str:
        return b.add_param(self._value(node))

    def visit_literal(self, node: ex.Value, b: SQLBuilder) -> str:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(int(value))  # typed by the database as an integer (a recursive CTE's counter)
        return b.add_param(self._value(node))

    def _value(self, node: ex.Value) -> Any:
        """A bound value, converted as its column writes it."""
        value = node.value
        column = node.column
        if column is not None and value is not None:
            if column.python_to_db is not None:
                value = column.python_to_db(value)
            if column.db_type is not None:
                convert = self.dialect.to_db(column.db_type)
                if convert is not None:
                    value = convert(value)
        return value

    def visit_raw(self, node: ex.Raw, b: SQLBuilder) -> str:
        start = len(b.params) + 1
        b.params.extend(node.params)
        return "(" + self.dialect.convert_placeholders(node.sql, start) + ")"

    def visit_binary(self, node: ex.BinaryOp, b: SQLBuilder) -> str:
        return f"{self._operand(node.left, b)} {node.op} {self._operand(node.right, b)}"

    def visit_postfix(self, node: ex.Postfix, b: SQLBuilder) -> str:
        if isinstance(node.operand, ex.JsonPath) and node.op in ("IS NULL", "IS NOT NULL"):
            return self.json_is_null_sql(self._operand(node.operand.column, b), node.operand.path,
                                         node.op == "IS NOT NULL")
        return f"{self._operand(node.operand, b)} {node.op}"

    def json_is_null_sql(self, operand: str, path: tuple[str | int, ...], negated: bool) -> str:
        """The path is missing or JSON null (``negated``: holds something else)."""
        return f"{self.json_path_sql(operand, path, 'text')} {'IS NOT NULL' if negated else 'IS NULL'}"

    def visit_between(self, node: ex.Between, b: SQLBuilder) -> str:
        return (f"{self._operand(node.operand, b)} BETWEEN {self._operand(node.low, b)} "
                f"AND {self._operand(node.high, b)}")

    def visit_row(self, node: ex.Row, b: SQLBuilder) -> str:
        return "(" + ", ".join(self.expr(item, b) for item in node.items) + ")"

    def visit_in(self, node: ex.In, b: SQLBuilder) -> str:
        if isinstance(node.operand, ex.Row) and not isinstance(node.values, ex.Subquery) and (
                not self.dialect.supports_row_values and node.values):
            # (a, b) IN ((1, 2), ...) where row values are missing: an OR of ANDs means the same.
            return self.expr(ex.Not(ex.Or(self._row_matches(node))) if node.negated
                             else ex.Or(self._row_matches(node)), b)
        if not isinstance(node.values, ex.Subquery) and not node.values:
            # IN () is not SQL; an empty list matches nothing (NOT IN: everything). Checked before
            # the operand is compiled, so none of its values is bound.
            return "1 = 1" if node.negated else "1 = 0"
        operand = self._operand(node.operand, b)
        keyword = "NOT IN" if node.negated else "IN"
        if isinstance(node.values, ex.Subquery):
            return f"{operand} {keyword} {self.expr(node.values, b)}"
        limit = self.dialect.in_list_limit
        if limit and len(node.values) > limit and all(isinstance(v, ex.Value) for v in node.values):
            # Too many values to bind one by one: one parameter holding them all.
            values = [self._value(v) for v in node.values]  # type: ignore[arg-type]
            return self.dialect.in_many_sql(operand, b.add_param(self.dialect.in_many_param(values)),
                                            node.negated)
        return f"{operand} {keyword} (" + ", ".join(self.expr(v, b) for v in node.values) + ")"

    def visit_list_test(self, node: ex.ListTest, b: SQLBuilder) -> str:
        if isinstance(node.operand, ex.JsonPath):  # a list inside a document: tested as JSON
            operand = self.expr(node.operand.selected(), b)
            param = self.dialect.list_test_param(node.kind, node.values, None)
            return self.dialect.list_test_sql(node.kind, operand, b.add_param(param), None, None)
        column = node.operand if isinstance(node.operand, ex.Column) else None
        db_type = column.db_type if column is not None else None
        item_type = column.item_type if column is not None else None
        if column is not None and self.uncertain_lists and (column.table, column.name) in self.uncertain_lists:
            db_type = None  # JSON or an array: the dialect writes a test that fits both
        values = node.values
        if column is not None and column.python_to_db is not None and node.kind != "any":
            values = [column.python_to_db(v) for v in values]
        param = self.dialect.list_test_param(node.kind, values, db_type)
        return self.dialect.list_test_sql(node.kind, self._operand(node.operand, b), b.add_param(param),
                                          db_type, item_type)

    @staticmethod
    def _row_matches(node: ex.In) -> list[ex.Expr]:
        assert isinstance(node.operand, ex.Row) and not isinstance(node.values, ex.Subquery)
        columns = node.operand.items
        return [ex.And([c == v for c, v in zip(columns, row.items)])  # type: ignore[attr-defined]
                for row in node.values]

    def visit_and(self, node: ex.And, b: SQLBuilder) -> str:
        return " AND ".join(self._grouped(item, b) for item in node.items)

    def visit_or(self, node: ex.Or, b: SQLBuilder) -> str:
        return " OR ".join(self._grouped(item, b) for item in node.items)

    def visit_not(self, node: ex.Not, b: SQLBuilder) -> str:
        return "NOT (" + self.expr(node.operand, b) + ")"

    def visit_func(self, node: ex.Func, b: SQLBuilder) -> str:
        portable = self._portable.get(node.name)
        if portable is not None:
            return str(portable(node, b))
        return self.call(node, b)

    def call(self, node: ex.Func, b: SQLBuilder, name: str | None = None) -> str:
        """``NAME(args)`` as written, with an aggregate's DISTINCT and FILTER."""
        name = name or node.name
        if not node.args:
            if node.condition is not None and name == "COUNT":
                if not self.aggregate_filter:
                    return f"COUNT(CASE WHEN {self.expr(node.condition, b)} THEN 1 END)"
            head = f"{name}(*)" if name == "COUNT" else f"{name}()"
        elif node.condition is not None and not self.aggregate_filter:
            # No FILTER clause: the aggregate sees NULL (which it skips) for rows that do not match.
            when = self.expr(node.condition, b)
            inner = ", ".join(f"CASE WHEN {when} THEN {self._func_argument(a, b)} END" for a in node.args[:1])
            return f"{name}({'DISTINCT ' if node.distinct else ''}{inner})"
        else:
            args = ", ".join(self._func_argument(a, b) for a in node.args)
            head = f"{name}({'DISTINCT ' if node.distinct else ''}{args})"
        if node.condition is not None:
            head += f" FILTER (WHERE {self.expr(node.condition, b)})"
        return head

    #: Whether aggregates take ``FILTER (WHERE ...)``; else a CASE inside the aggregate is written.
    aggregate_filter = True

    # -- the portable function library: fn_<name> writes each for this database ------

    def _args(self, node: ex.Func, b: SQLBuilder) -> list[str]:
        return [self._func_argument(a, b) for a in node.args]

    def fn_length(self, node: ex.Func, b: SQLBuilder) -> str:
        """The number of characters."""
        return self.call(node, b, "LENGTH")

    def fn_concat(self, node: ex.Func, b: SQLBuilder) -> str:
        """The strings joined; a NULL counts as an empty string."""
        return self.call(node, b, "CONCAT")

    def fn_greatest(self, node: ex.Func, b: SQLBuilder) -> str:
        """The largest argument, NULLs ignored (NULL only when all are)."""
        return self.call(_several(node), b, "GREATEST")

    def fn_least(self, node: ex.Func, b: SQLBuilder) -> str:
        """The smallest argument, NULLs ignored (NULL only when all are)."""
        return self.call(_several(node), b, "LEAST")

    def _ignoring_nulls(self, node: ex.Func, b: SQLBuilder, name: str) -> str:
        """``NAME`` over arguments where each NULL is replaced by another argument (NULLs ignored)."""
        args = _several(node).args
        terms = []
        for i in range(len(args)):
            order = [args[i], *args[:i], *args[i + 1:]]
            terms.append("COALESCE(" + ", ".join(self._func_argument(a, b) for a in order) + ")")
        return f"{name}({', '.join(terms)})"

    def fn_round(self, node: ex.Func, b: SQLBuilder) -> str:
        """Round to ``places`` decimals (default 0), half away from zero."""
        args = self._args(node, b)
        if self.exact_number is not None and ex.type_of(node.args[0]) not in _EXACT:
            args[0] = self.exact_number.format(args[0])  # a float rounds half to even natively
        return f"ROUND({', '.join(args)})"

    #: How a float is turned into an exact number (``CAST({} AS NUMERIC)``), where rounding or
    #: casting a float natively goes half to even; ``None``: the native rounding is half away from zero.
    exact_number: str | None = None

    def fn_substr(self, node: ex.Func, b: SQLBuilder) -> str:
        """``substr(s, start[, length])``, ``start`` counted from 1."""
        if not 2 <= len(node.args) <= 3:
            raise ValueError("substr() takes a string, a start (from 1) and an optional length")
        for arg, least, what in zip(node.args[1:], (1, 0), ("start", "length")):
            if isinstance(arg, ex.Value) and isinstance(arg.value, int) and arg.value < least:
                raise ValueError(f"substr() {what} must be at least {least}, got {arg.value} "
                                 "(databases disagree on what other values mean)")
        return self.call(node, b, "SUBSTR")

    def fn_now(self, node: ex.Func, b: SQLBuilder) -> str:
        """The current timestamp."""
        return "CURRENT_TIMESTAMP"

    def fn_current_date(self, node: ex.Func, b: SQLBuilder) -> str:
        """Today's date."""
        return "CURRENT_DATE"

    def fn_extract(self, node: ex.Func, b: SQLBuilder) -> str:
        """A date part as an integer."""
        part, operand = self._part(node, b)
        operand = f"CAST({operand} AS TIMESTAMP)"  # a DATE has hours too (all 0)
        if part == "second":
            return f"CAST(FLOOR(EXTRACT(SECOND FROM {operand})) AS INTEGER)"
        return f"CAST(EXTRACT({part.upper()} FROM {operand}) AS INTEGER)"

    def fn_date_trunc(self, node: ex.Func, b: SQLBuilder) -> str:
        """The date or timestamp cut down to the start of its unit."""
        unit, operand = self._part(node, b)
        sql = f"DATE_TRUNC({self.dialect.quote_string(unit)}, CAST({operand} AS TIMESTAMP))"
        return f"CAST({sql} AS DATE)" if node.db_type is DatabaseType.DATE else sql

    def _part(self, node: ex.Func, b: SQLBuilder) -> tuple[str, str]:
        part = node.args[0]
        assert isinstance(part, ex.Value) and isinstance(part.value, str)
        return part.value, self.expr(node.args[1], b)

    # -- other expressions -------------------------------------------------------

    def visit_over(self, node: ex.Over, b: SQLBuilder) -> str:
        head = self.visit_func(node.func, b)  # first: positional placeholders bind in text order
        parts = []
        if node.partition_by:
            parts.append("PARTITION BY " + ", ".join(self.expr(self._term(p), b) for p in node.partition_by))
        if node.order_by:
            parts.append("ORDER BY " + ", ".join(self.order_term(self._term(t), b) for t in node.order_by))
        if node.frame is not None:
            frame = node.frame
            parts.append(f"{frame.kind} BETWEEN {_bound(frame.start, 'PRECEDING')} AND "
                         f"{_bound(frame.end, 'FOLLOWING')}")
        return f"{head} OVER ({' '.join(parts)})"

    @staticmethod
    def _term(term: Any) -> Any:
        if isinstance(term, str):
            raise TypeError(f"A window names its columns when a query selects it; {term!r} is unresolved "
                            "(pass Model.c.<name> or select the window through Query.select())")
        return term

    def visit_cast(self, node: ex.Cast, b: SQLBuilder) -> str:
        return self.cast_sql(self.expr(node.expr, b), node.db_type, node.params, ex.type_of(node.expr))

    def cast_sql(self, operand: str, db_type: DatabaseType, params: dict[str, Any],
                 source: DatabaseType | None = None) -> str:
        """``CAST(operand AS type)`` for a ``DatabaseType`` (``source``: the operand's, if known)."""
        if self.exact_number is not None and db_type in _INTEGERS and source in _FLOATS:
            # A float to an integer: rounded half away from zero, as on every database.
            return f"CAST(ROUND({self.exact_number.format(operand)}) AS {self.cast_type(db_type, params)})"
        return f"CAST({operand} AS {self.cast_type(db_type, params)})"

    def cast_type(self, db_type: DatabaseType, params: dict[str, Any]) -> str:
        """The type a CAST names for ``db_type``."""
        return self.dialect.get_column_type(db_type, **params)

    def visit_case(self, node: ex.Case, b: SQLBuilder) -> str:
        whens = " ".join(f"WHEN {self.expr(c, b)} THEN {self.expr(v, b)}" for c, v in node.whens)
        tail = f" ELSE {self.expr(node.else_, b)}" if node.else_ is not None else ""
        return f"CASE {whens}{tail} END"

    def visit_match(self, node: ex.Match, b: SQLBuilder) -> str:
        operand = self._operand(node.operand, b)
        if node.kind == "like":  # ilike(): the caller's own pattern, a backslash escaping a wildcard
            return self.ilike_sql(operand, b.add_param(node.text), escape="\\")
        if node.ignore_case:
            return self.ilike_sql(operand, b.add_param(_like_pattern(node.kind, node.text)))
        return self.match_sql(operand, node.kind, node.text, b)

    def ilike_sql(self, operand: str, placeholder: str, escape: str = "!") -> str:
        """``operand`` LIKE the pattern, ignoring case, ``escape`` escaping its wildcards."""
        return f"LOWER({operand}) LIKE LOWER({placeholder}){self._escape(escape)}"

    def _escape(self, char: str) -> str:
        return f" ESCAPE {self.dialect.quote_string(char)}"

    def match_sql(self, operand: str, kind: str, text: str, b: SQLBuilder) -> str:
        """A case-sensitive contains/startswith/endswith of literal ``text``."""
        return f"{operand} LIKE {b.add_param(_like_pattern(kind, text))}{_ESCAPE}"

    def visit_json_path(self, node: ex.JsonPath, b: SQLBuilder) -> str:
        return self.json_path_sql(self._operand(node.column, b), node.path, node.mode)

    def json_path_sql(self, operand: str, path: tuple[str | int, ...], mode: str) -> str:
        """A value in a JSON document: as text, a number, a JSON boolean's text or JSON."""
        steps = "".join(f" -> {self._path_key(k)}" for k in path[:-1])
        last = self._path_key(path[-1])
        if mode == "json":
            return f"({operand}{steps} -> {last})"
        text = f"({operand}{steps} ->> {last})"
        if mode == "number":
            return f"CAST({text} AS NUMERIC)"
        if mode == "boolean":
            value = f"CAST({operand}{steps} -> {last} AS TEXT)"
            return f"(CASE WHEN {value} IN ('true', 'false') THEN {value} END)"
        return text

    def _path_key(self, key: str | int) -> str:
        return str(key) if isinstance(key, int) else self.dialect.quote_string(key)

    @staticmethod
    def json_path_text(path: tuple[str | int, ...]) -> str:
        """A JSON path as ``$."a"[0]."b"``."""
        return "$" + "".join(f"[{k}]" if isinstance(k, int) else f'."{k}"' for k in path)

    def visit_json_contains(self, node: ex.JsonContains, b: SQLBuilder) -> str:
        raise NotSupportedError(f"{self.dialect.name} has no JSON containment test; compare paths instead "
                                "(Model.c.data['key'] == value)")

    def visit_star(self, node: ex.Star, b: SQLBuilder) -> str:
        return f"{self._qualifier(node.table)}.*" if node.table else "*"

    def _qualifier(self, table: str) -> str:
        """A table as columns name it: without its schema (``FROM s.t`` exposes ``t``)."""
        return self.q(table.name if type(table) is TableName else table)

    def visit_label(self, node: ex.Label, b: SQLBuilder) -> str:
        return f"{self.expr(node.expr, b)} AS {self.q(node.name)}"

    def visit_subquery(self, node: ex.Subquery, b: SQLBuilder) -> str:
        inner = self.dialect.create_builder()
        inner.params = b.params  # share parameter numbering with the outer statement
        self.write_select(node.query, inner)
        return "(" + "".join(inner.parts) + ")"

    def visit_exists(self, node: ex.Exists, b: SQLBuilder) -> str:
        return "EXISTS " + self.expr(node.subquery, b)

    def _func_argument(self, node: ex.Expr, b: SQLBuilder) -> str:
        """A function argument; a constant word or integer is written as a literal.

        ``func.date_part("month", col)`` in both SELECT and GROUP BY must be
        the same SQL text for the server to see one expression; bound, each use
        would get a placeholder of its own. Only words (a date part, a unit)
        and integers are inlined, quoted by the dialect; other values are bound.
        """
        if isinstance(node, ex.Value) and node.column is None:
            value = node.value
            if isinstance(value, int) and not isinstance(value, bool):
                return str(int(value))
            if isinstance(value, str) and _WORD.fullmatch(value):
                return self.dialect.quote_string(value)
        return self.expr(node, b)

    def _operand(self, node: ex.Expr, b: SQLBuilder) -> str:
        if isinstance(node, (ex.BinaryOp, ex.And, ex.Or)):
            return "(" + self.expr(node, b) + ")"
        return self.expr(node, b)

    def _grouped(self, node: ex.Expr, b: SQLBuilder) -> str:
        if isinstance(node, (ex.And, ex.Or)):
            return "(" + self.expr(node, b) + ")"
        return self.expr(node, b)
