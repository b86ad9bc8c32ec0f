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
from ..backend.typing import TableName
from . import expressions as ex

if TYPE_CHECKING:
    from ..backend.dialect import SQLDialectBase
    from .query import Query


#: Constant function arguments written as literals (see SQLCompiler._func_argument).
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")

class SQLCompiler:
    """Compiles queries and expressions for one dialect."""

    def __init__(self, dialect: "SQLDialectBase") -> None:
        self.dialect = dialect
        self.q = dialect.quote_identifier
        self._visitors: dict[type, Any] = {}  # node class -> bound visit_<name> method
        #: (table, column) of list fields that may be JSON or a native array (a table made elsewhere):
        #: their list tests are compiled to work on either.
        self.uncertain_lists: frozenset[tuple[str, str]] = frozenset()

    # -- statements ------------------------------------------------------------

    def select(self, query: "Query[Any]", builder: SQLBuilder | None = None) -> tuple[str, list[Any]]:
        """Compile a SELECT."""
        b = builder or self.dialect.create_builder()
        self.write_select(query, b)
        return b.build()

    def write_select(self, query: "Query[Any]", b: SQLBuilder) -> None:
        """Append the SELECT for ``query`` to ``b``."""
        table = query.model.table_name()
        b.append("SELECT DISTINCT " if query._distinct else "SELECT ")
        if query._select:
            b.append(", ".join(self.expr(e, b) for e in query._select))
        else:
            b.append(self._qualifier(table) + ".*")
        b.append(" FROM " + self.q(table))
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
            b.append(self.dialect.for_update_sql(**query._lock))

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
            b.append("SELECT COUNT(*) FROM " + self.q(query.model.table_name()))
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
        b.append("SELECT " + self.expr(agg, b) + " FROM " + self.q(query.model.table_name()))
        self.write_joins(query, b)
        self.write_where(query, b)
        return b.build()

    def exists(self, query: "Query[Any]") -> tuple[str, list[Any]]:
        """Compile a query that returns one row when ``query`` matches anything."""
        b = self.dialect.create_builder()
        b.append("SELECT 1 FROM " + self.q(query.model.table_name()))
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
        return f"{self._operand(node.operand, b)} {node.op}"

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
        operand = self._operand(node.operand, b)
        keyword = "NOT IN" if node.negated else "IN"
        if isinstance(node.values, ex.Subquery):
            return f"{operand} {keyword} {self.expr(node.values, b)}"
        if not node.values:
            # IN () is not SQL; an empty list matches nothing (NOT IN: everything).
            return "1 = 1" if node.negated else "1 = 0"
        limit = self.dialect.in_list_limit
        if limit and len(node.values) > limit and all(isinstance(v, ex.Value) for v in node.values):
            # Too many values to bind one by one: one parameter holding them all.
            values = [self._value(v) for v in node.values]  # type: ignore[arg-type]
            return self.dialect.in_many_sql(operand, b.add_param(self.dialect.in_many_param(values)),
                                            node.negated)
        return f"{operand} {keyword} (" + ", ".join(self.expr(v, b) for v in node.values) + ")"

    def visit_list_test(self, node: ex.ListTest, b: SQLBuilder) -> str:
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
        if not node.args:
            return f"{node.name}(*)"
        args = ", ".join(self._func_argument(a, b) for a in node.args)
        return f"{node.name}({'DISTINCT ' if node.distinct else ''}{args})"

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
