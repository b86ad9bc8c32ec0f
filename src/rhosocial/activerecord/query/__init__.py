"""The query builder: a neutral expression tree and an immutable ``Query``."""
from .expressions import (
    Column, Expr, Raw, Value, case, cast, exists, func, literal, range_between, raw, rows_between, table, tuple_,
)
from .query import Query

__all__ = ["Column", "Expr", "Query", "Raw", "Value", "case", "cast", "exists", "func", "literal", "range_between",
           "raw", "rows_between", "table", "tuple_"]
