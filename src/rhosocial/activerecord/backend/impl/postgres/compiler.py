"""SQL that PostgreSQL writes differently from the ANSI compiler."""
from __future__ import annotations

import json
from typing import Any

from ....query import expressions as ex
from ....query.compiler import SQLCompiler
from ...dialect import SQLBuilder
from ...typing import DatabaseType



class PostgresCompiler(SQLCompiler):
    """Compiles for PostgreSQL."""

    exact_number = "CAST({} AS NUMERIC)"  # floats round half to even natively

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

    def cast_type(self, db_type: DatabaseType, params: dict[str, Any]) -> str:
        if db_type is DatabaseType.TINYINT:
            return "SMALLINT"
        return super().cast_type(db_type, params)
