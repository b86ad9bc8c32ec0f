"""SQL that SQLite writes differently from the ANSI compiler: functions, dates, JSON, matching."""
from __future__ import annotations

import sqlite3
from typing import Any, Sequence

from ....query import expressions as ex
from ....query.compiler import SQLCompiler
from ...dialect import SQLBuilder
from ...errors import NotSupportedError
from ...typing import DatabaseType

#: strftime() formats of extract(), as integers.
_PARTS = {"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S",
          "dow": "%w", "doy": "%j"}
#: strftime() formats of date_trunc() (timestamp, date).
_TRUNC = {"year": ("%Y-01-01 00:00:00", "%Y-01-01"), "month": ("%Y-%m-01 00:00:00", "%Y-%m-01"),
          "day": ("%Y-%m-%d 00:00:00", "%Y-%m-%d"), "hour": ("%Y-%m-%d %H:00:00", None),
          "minute": ("%Y-%m-%d %H:%M:00", None), "second": ("%Y-%m-%d %H:%M:%S", None)}
_INTEGERS = (DatabaseType.TINYINT, DatabaseType.SMALLINT, DatabaseType.INTEGER, DatabaseType.BIGINT,
             DatabaseType.BOOLEAN)


class SQLiteCompiler(SQLCompiler):
    """Compiles for SQLite 3.x (FILTER needs 3.30, ``->`` 3.38)."""

    aggregate_filter = sqlite3.sqlite_version_info >= (3, 30, 0)

    def fn_concat(self, node: ex.Func, b: SQLBuilder) -> str:
        return "(" + " || ".join(f"COALESCE({a}, '')" for a in self._args(node, b)) + ")"

    def fn_greatest(self, node: ex.Func, b: SQLBuilder) -> str:
        return self._ignoring_nulls(node, b, "MAX")

    def fn_least(self, node: ex.Func, b: SQLBuilder) -> str:
        return self._ignoring_nulls(node, b, "MIN")

    def fn_now(self, node: ex.Func, b: SQLBuilder) -> str:
        return "STRFTIME('%Y-%m-%d %H:%M:%f', 'now')"

    def fn_round(self, node: ex.Func, b: SQLBuilder) -> str:
        args = self._args(node, b)
        places = node.args[1] if len(node.args) > 1 else None
        if isinstance(places, ex.Value) and isinstance(places.value, int) and places.value < 0:
            step = 10 ** -places.value  # ROUND ignores negative places here: to tens, hundreds ...
            return f"(ROUND(({args[0]}) / {step}.0) * {step})"
        return f"ROUND({', '.join(args)})"

    def _part(self, node: ex.Func, b: SQLBuilder) -> tuple[str, str]:
        part, operand = super()._part(node, b)
        # Without its fraction: strftime() rounds to milliseconds, and 23:59:59.9996 became tomorrow.
        return part, (f"(CASE WHEN SUBSTR({operand}, 20, 1) = '.' THEN SUBSTR({operand}, 1, 19) || "
                      f"LTRIM(SUBSTR({operand}, 20), '.0123456789') ELSE {operand} END)")

    def fn_extract(self, node: ex.Func, b: SQLBuilder) -> str:
        part, operand = self._part(node, b)
        if part == "quarter":
            return f"((CAST(STRFTIME('%m', {operand}) AS INTEGER) + 2) / 3)"
        if part == "week":  # ISO: the week of this week's Thursday
            return f"((CAST(STRFTIME('%j', {operand}, '-3 days', 'weekday 4') AS INTEGER) - 1) / 7 + 1)"
        return f"CAST(STRFTIME('{_PARTS[part]}', {operand}) AS INTEGER)"

    def fn_date_trunc(self, node: ex.Func, b: SQLBuilder) -> str:
        unit, operand = self._part(node, b)
        as_date = node.db_type is DatabaseType.DATE
        if unit == "week":
            fmt = "%Y-%m-%d" if as_date else "%Y-%m-%d 00:00:00"
            return f"STRFTIME('{fmt}', {operand}, '-6 days', 'weekday 1')"
        if unit == "quarter":
            month = f"PRINTF('%02d', ((CAST(STRFTIME('%m', {operand}) AS INTEGER) - 1) / 3) * 3 + 1)"
            tail = "-01" if as_date else "-01 00:00:00"
            return f"(STRFTIME('%Y-', {operand}) || {month} || '{tail}')"
        timestamp, date = _TRUNC[unit]
        if as_date:  # a date cut to an hour or less is the date
            return f"STRFTIME('{date or '%Y-%m-%d'}', {operand})"
        return f"STRFTIME('{timestamp}', {operand})"

    def cast_sql(self, operand: str, db_type: DatabaseType, params: dict[str, Any],
                 source: DatabaseType | None = None) -> str:
        if db_type is DatabaseType.DATE:
            return f"DATE({operand})"
        if db_type in (DatabaseType.DATETIME, DatabaseType.TIMESTAMP, DatabaseType.TIME):
            if source is db_type or (source in (DatabaseType.DATETIME, DatabaseType.TIMESTAMP)
                                     and db_type is not DatabaseType.TIME):
                return operand  # stored as the text the reader parses, to the microsecond
            fmt = "%H:%M:%f" if db_type is DatabaseType.TIME else "%Y-%m-%d %H:%M:%f"
            return f"STRFTIME('{fmt}', {operand})"
        if db_type is DatabaseType.JSON:
            return f"JSON({operand})"
        if db_type in _INTEGERS:  # a REAL rounds, as elsewhere (CAST alone truncates here)
            return (f"(CASE WHEN TYPEOF({operand}) = 'real' THEN CAST(ROUND({operand}) AS INTEGER) "
                    f"ELSE CAST({operand} AS INTEGER) END)")
        if db_type in (DatabaseType.VARCHAR, DatabaseType.CHAR) and "length" in params:
            return f"SUBSTR(CAST({operand} AS TEXT), 1, {int(params['length'])})"
        return super().cast_sql(operand, db_type, params, source)

    def cast_type(self, db_type: DatabaseType, params: dict[str, Any]) -> str:
        if db_type in _INTEGERS:
            return "INTEGER"
        if db_type in (DatabaseType.FLOAT, DatabaseType.DOUBLE):
            return "REAL"
        if db_type in (DatabaseType.BLOB,):
            return "BLOB"
        return "TEXT"  # strings, and DECIMAL, which SQLite columns here keep as exact text

    def match_sql(self, operand: str, kind: str, text: str, b: SQLBuilder) -> str:
        # LIKE ignores ASCII case here; GLOB does not (its wildcards escaped as one-character sets).
        escaped = "".join(f"[{c}]" if c in "*?[" else c for c in text)
        pattern = {"contains": f"*{escaped}*", "startswith": f"{escaped}*", "endswith": f"*{escaped}"}[kind]
        return f"{operand} GLOB {b.add_param(pattern)}"

    def json_path_sql(self, operand: str, path: tuple[str | int, ...], mode: str) -> str:
        where = self.dialect.quote_string(self.json_path_text(path))
        if mode == "json":
            if sqlite3.sqlite_version_info < (3, 38, 0):
                raise NotSupportedError("Selecting a JSON path needs SQLite 3.38 (the -> operator); "
                                        f"this is {sqlite3.sqlite_version}")
            return f"({operand} -> {where})"
        kind = f"JSON_TYPE({operand}, {where})"
        if mode == "boolean":
            return f"(CASE {kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END)"
        value = f"JSON_EXTRACT({operand}, {where})"
        if mode == "number":  # only a JSON number compares as a number; anything else is NULL
            return f"(CASE WHEN {kind} IN ('integer', 'real') THEN {value} END)"
        # As text, as elsewhere (json_extract gives numbers as numbers and booleans as 1/0).
        return f"(CASE {kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST({value} AS TEXT) END)"

    set_operations = frozenset(("UNION", "UNION ALL", "INTERSECT", "EXCEPT"))

    def explain_sql(self, sql: str, analyze: bool) -> str:
        if analyze:
            raise NotSupportedError("SQLite has no EXPLAIN ANALYZE; explain() shows the plan without running it")
        return "EXPLAIN QUERY PLAN " + sql

    @staticmethod
    def format_plan(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        # (id, parent, notused, detail): a tree, each step indented under its parent.
        depth: dict[Any, int] = {0: -1}
        lines = []
        for row in rows:
            level = depth.get(row[1], -1) + 1
            depth[row[0]] = level
            lines.append("  " * level + str(row[3]))
        return "\n".join(lines)
