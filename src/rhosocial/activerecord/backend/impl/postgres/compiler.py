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


class PostgresCompiler(SQLCompiler):
    """Compiles for PostgreSQL."""

    def fn_round(self, node: ex.Func, b: SQLBuilder) -> str:
        # ROUND(x, places) exists for NUMERIC only: a float is rounded as NUMERIC (half away from zero).
        if len(node.args) < 2 or ex.type_of(node.args[0]) in _EXACT:
            return self.call(node, b, "ROUND")
        value, places = self._args(node, b)
        return f"ROUND(CAST({value} AS NUMERIC), {places})"

    def fn_concat(self, node: ex.Func, b: SQLBuilder) -> str:
        # CONCAT takes "any": a bound value needs a type the server can see.
        args = [f"CAST({self._func_argument(a, b)} AS TEXT)" if isinstance(a, ex.Value) else self._func_argument(a, b)
                for a in node.args]
        return "CONCAT(" + ", ".join(args) + ")"

    def fn_now(self, node: ex.Func, b: SQLBuilder) -> str:
        return "LOCALTIMESTAMP"  # a timestamp without time zone, as DATETIME columns are

    def ilike_sql(self, operand: str, placeholder: str, escape: bool = False) -> str:
        return f"{operand} ILIKE {placeholder}" + (" ESCAPE '!'" if escape else "")

    def json_path_sql(self, operand: str, path: tuple[str | int, ...], mode: str) -> str:
        if mode == "boolean":
            steps = "".join(f" -> {self._path_key(k)}" for k in path)
            return (f"(CASE jsonb_typeof(to_jsonb({operand}{steps})) WHEN 'boolean' "
                    f"THEN CAST({operand}{steps} AS TEXT) END)")
        return super().json_path_sql(operand, path, mode)

    def visit_json_contains(self, node: ex.JsonContains, b: SQLBuilder) -> str:
        operand = self.expr(node.operand.selected() if isinstance(node.operand, ex.JsonPath) else node.operand, b)
        return f"to_jsonb({operand}) @> CAST({b.add_param(json.dumps(node.value))} AS JSONB)"

    def cast_type(self, db_type: DatabaseType, params: dict[str, Any]) -> str:
        if db_type is DatabaseType.TINYINT:
            return "SMALLINT"
        return super().cast_type(db_type, params)
