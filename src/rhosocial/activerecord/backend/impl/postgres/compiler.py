"""SQL that PostgreSQL writes differently from the ANSI compiler."""
from __future__ import annotations

import json
from typing import Any

from ....query import expressions as ex
from ....query.compiler import SQLCompiler
from ...dialect import SQLBuilder
from ...typing import DatabaseType

_EXACT = (DatabaseType.DECIMAL, DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER,
          DatabaseType.BIGINT)


_INTEGER_TARGETS = (DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT)


class PostgresCompiler(SQLCompiler):
    """Compiles for PostgreSQL."""

    def fn_round(self, node: ex.Func, b: SQLBuilder) -> str:
        # Half away from zero for every type: a float is rounded as NUMERIC (ROUND(x, places)
        # exists for NUMERIC only; ROUND of a float rounds half to even).
        args = self._args(node, b)
        if ex.type_of(node.args[0]) not in _EXACT:
            args[0] = f"CAST({args[0]} AS NUMERIC)"
        return f"ROUND({', '.join(args)})"

    def fn_concat(self, node: ex.Func, b: SQLBuilder) -> str:
        # CONCAT takes "any": a bound value needs a type the server can see.
        args = [f"CAST({self._func_argument(a, b)} AS TEXT)" if isinstance(a, ex.Value) else self._func_argument(a, b)
                for a in node.args]
        return "CONCAT(" + ", ".join(args) + ")"

    def fn_now(self, node: ex.Func, b: SQLBuilder) -> str:
        return "LOCALTIMESTAMP"  # a timestamp without time zone, as DATETIME columns are

    def ilike_sql(self, operand: str, placeholder: str, escape: str = "!") -> str:
        return f"{operand} ILIKE {placeholder}{self._escape(escape)}"

    def json_path_sql(self, operand: str, path: tuple[str | int, ...], mode: str) -> str:
        steps = "".join(f" -> {self._path_key(k)}" for k in path[:-1])
        last = self._path_key(path[-1])
        value = f"{operand}{steps} -> {last}"
        if mode == "json":
            return f"to_jsonb({value})"  # jsonb (groupable) whether the column is json or jsonb
        if mode == "boolean":
            return f"(CASE jsonb_typeof(to_jsonb({value})) WHEN 'boolean' THEN CAST({value} AS TEXT) END)"
        text = f"({operand}{steps} ->> {last})"
        if mode == "number":  # only a JSON number compares as a number; anything else is NULL
            return f"(CASE jsonb_typeof(to_jsonb({value})) WHEN 'number' THEN CAST({text} AS NUMERIC) END)"
        return text

    def visit_json_contains(self, node: ex.JsonContains, b: SQLBuilder) -> str:
        operand = self.expr(node.operand.selected() if isinstance(node.operand, ex.JsonPath) else node.operand, b)
        return f"to_jsonb({operand}) @> CAST({b.add_param(json.dumps(node.value))} AS JSONB)"

    def cast_sql(self, operand: str, db_type: DatabaseType, params: dict[str, Any],
                 source: DatabaseType | None = None) -> str:
        if db_type in _INTEGER_TARGETS and source in (DatabaseType.FLOAT, DatabaseType.DOUBLE):
            # A float casts to an integer rounding half to even here; half away from zero, as elsewhere.
            return f"CAST(ROUND(CAST({operand} AS NUMERIC)) AS {self.cast_type(db_type, params)})"
        return super().cast_sql(operand, db_type, params, source)

    def cast_type(self, db_type: DatabaseType, params: dict[str, Any]) -> str:
        if db_type is DatabaseType.TINYINT:
            return "SMALLINT"
        return super().cast_type(db_type, params)
