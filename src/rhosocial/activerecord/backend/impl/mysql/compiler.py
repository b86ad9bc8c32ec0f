"""SQL that MySQL and MariaDB write differently from the ANSI compiler."""
from __future__ import annotations

import json
from typing import Any

from ....query import expressions as ex
from ....query.compiler import SQLCompiler
from ...dialect import SQLBuilder
from ...typing import DatabaseType

#: DATE_FORMAT() patterns of date_trunc() (timestamp); a DATE result is cast from it.
_TRUNC = {"year": "%Y-01-01 00:00:00", "month": "%Y-%m-01 00:00:00", "day": "%Y-%m-%d 00:00:00",
          "hour": "%Y-%m-%d %H:00:00", "minute": "%Y-%m-%d %H:%i:00", "second": "%Y-%m-%d %H:%i:%s"}
_INTEGERS = (DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT,
             DatabaseType.BOOLEAN)


class MySQLCompiler(SQLCompiler):
    """Compiles for MySQL 8 and MariaDB 10.3+ (no FILTER clause: CASE inside the aggregate)."""

    exact_number = "CAST({} AS DECIMAL(65, 30))"  # floats round half to even natively

    aggregate_filter = False

    @property
    def lock_of(self) -> bool:  # type: ignore[override]
        return bool(self.dialect.lock_of)  # type: ignore[attr-defined]

    @property
    def set_operations(self) -> frozenset[str]:  # type: ignore[override]
        dialect: Any = self.dialect
        if dialect.is_mariadb:
            version = dialect.server_version
            if version >= (10, 5):
                return super().set_operations
            return frozenset(("UNION", "UNION ALL", "INTERSECT", "EXCEPT") if version >= (10, 3)
                             else ("UNION", "UNION ALL"))
        if dialect.server_version >= (8, 0, 31):
            return super().set_operations
        return frozenset(("UNION", "UNION ALL"))

    def visit_over(self, node: ex.Over, b: SQLBuilder) -> str:
        function = node.func
        if function.name in ("LAG", "LEAD") and len(function.args) == 3 and self.dialect.is_mariadb:  # type: ignore[attr-defined]
            # MariaDB's LAG/LEAD take no default: use it where no row is that far away
            # (a row whose value is NULL keeps its NULL, as with a native default).
            value, offset, default = function.args
            if not (isinstance(offset, ex.Value) and isinstance(offset.value, int)):
                raise TypeError("lag()/lead() with a default take a constant integer offset")
            n = int(offset.value)
            shift = -n if function.name == "LAG" else n
            window = ex.Over(ex.Func("COUNT", ()), node.partition_by, node.order_by,
                             ex.Frame("ROWS", shift, shift))
            plain = ex.Over(ex.Func(function.name, (value, offset)), node.partition_by, node.order_by, None)
            return (f"CASE WHEN {super().visit_over(window, b)} = 0 THEN {self.expr(default, b)} "
                    f"ELSE {super().visit_over(plain, b)} END")
        return super().visit_over(node, b)

    def explain_sql(self, sql: str, analyze: bool) -> str:
        dialect: Any = self.dialect
        if analyze:
            return ("ANALYZE " if dialect.is_mariadb else "EXPLAIN ANALYZE ") + sql
        return "EXPLAIN " + sql

    def fn_length(self, node: ex.Func, b: SQLBuilder) -> str:
        return self.call(node, b, "CHAR_LENGTH")  # LENGTH() counts bytes here

    def fn_concat(self, node: ex.Func, b: SQLBuilder) -> str:
        return "CONCAT_WS(''" + "".join(f", {a}" for a in self._args(node, b)) + ")"  # skips NULLs

    def fn_greatest(self, node: ex.Func, b: SQLBuilder) -> str:
        return self._ignoring_nulls(node, b, "GREATEST")

    def fn_least(self, node: ex.Func, b: SQLBuilder) -> str:
        return self._ignoring_nulls(node, b, "LEAST")

    def fn_now(self, node: ex.Func, b: SQLBuilder) -> str:
        return "CURRENT_TIMESTAMP(6)"

    def fn_extract(self, node: ex.Func, b: SQLBuilder) -> str:
        part, operand = self._part(node, b)
        if part == "week":
            return f"WEEK({operand}, 3)"  # ISO weeks
        if part == "dow":
            return f"(DAYOFWEEK({operand}) - 1)"
        if part == "doy":
            return f"DAYOFYEAR({operand})"
        return f"EXTRACT({part.upper()} FROM {operand})"

    def fn_date_trunc(self, node: ex.Func, b: SQLBuilder) -> str:
        unit, operand = self._part(node, b)
        if unit == "week":
            sql = f"(DATE({operand}) - INTERVAL WEEKDAY({operand}) DAY)"
        elif unit == "quarter":
            sql = f"(MAKEDATE(YEAR({operand}), 1) + INTERVAL (QUARTER({operand}) - 1) QUARTER)"
        else:
            sql = f"DATE_FORMAT({operand}, {self.dialect.quote_string(_TRUNC[unit])})"
        return f"CAST({sql} AS {'DATE' if node.db_type is DatabaseType.DATE else 'DATETIME'})"

    def cast_type(self, db_type: DatabaseType, params: dict[str, Any]) -> str:
        if db_type in _INTEGERS:
            return "SIGNED"
        if db_type in (DatabaseType.FLOAT, DatabaseType.DOUBLE):
            return "DOUBLE"
        if db_type is DatabaseType.DECIMAL:
            return f"DECIMAL({int(params.get('precision', 65))}, {int(params.get('scale', 30))})"
        if db_type in (DatabaseType.DATETIME, DatabaseType.TIMESTAMP):
            return "DATETIME(6)"
        if db_type is DatabaseType.TIME:
            return "TIME(6)"
        if db_type is DatabaseType.DATE:
            return "DATE"
        if db_type in (DatabaseType.BLOB,):
            return "BINARY"
        return f"CHAR({int(params['length'])})" if "length" in params else "CHAR"

    def match_sql(self, operand: str, kind: str, text: str, b: SQLBuilder) -> str:
        # Compared in a binary collation, whatever the column's: case and accents count.
        return f"CONVERT({operand} USING utf8mb4) COLLATE utf8mb4_bin " + super().match_sql("", kind, text, b)[1:]

    def json_path_sql(self, operand: str, path: tuple[str | int, ...], mode: str) -> str:
        where = self.dialect.quote_string(self.json_path_text(path))
        if mode == "json":
            return f"JSON_EXTRACT({operand}, {where})"
        if mode == "boolean":
            # Literals in the connection's collation, like the value compared with: JSON_UNQUOTE's
            # utf8mb4_bin would clash with it (error 1267). JSON_VALUE gives '1' on MariaDB.
            found = f"JSON_EXTRACT({operand}, {where})"
            return (f"(CASE JSON_TYPE({found}) WHEN 'BOOLEAN' THEN CASE WHEN JSON_VALUE({operand}, {where}) "
                    "IN ('1', 'true') THEN 'true' ELSE 'false' END END)")
        # JSON_VALUE: a scalar as text in the column's collation (NULL for JSON null).
        text = f"JSON_VALUE({operand}, {where})"
        if mode == "number":  # only a JSON number compares as a number, exactly; anything else is NULL
            found = f"JSON_EXTRACT({operand}, {where})"
            return (f"(CASE WHEN JSON_TYPE({found}) IN ('INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL') "
                    f"THEN CAST({text} AS DECIMAL(65, 30)) END)")
        return text

    def json_is_null_sql(self, operand: str, path: tuple[str | int, ...], negated: bool) -> str:
        # JSON_VALUE is NULL for an object or a list too: ask JSON_TYPE.
        found = f"JSON_EXTRACT({operand}, {self.dialect.quote_string(self.json_path_text(path))})"
        if negated:
            return f"({found} IS NOT NULL AND JSON_TYPE({found}) <> 'NULL')"
        return f"({found} IS NULL OR JSON_TYPE({found}) = 'NULL')"

    def visit_json_contains(self, node: ex.JsonContains, b: SQLBuilder) -> str:
        if isinstance(node.operand, ex.JsonPath):
            where = self.dialect.quote_string(self.json_path_text(node.operand.path))
            operand = self.expr(node.operand.column, b)
            return f"JSON_CONTAINS({operand}, {b.add_param(json.dumps(node.value))}, {where})"
        return f"JSON_CONTAINS({self.expr(node.operand, b)}, {b.add_param(json.dumps(node.value))})"
