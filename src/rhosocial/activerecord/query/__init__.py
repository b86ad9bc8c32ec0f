"""The query builder: a neutral expression tree and an immutable ``Query``."""
from .expressions import Column, Expr, Raw, Value, exists, func, raw
from .query import Query

__all__ = ["Column", "Expr", "Query", "Raw", "Value", "exists", "func", "raw"]
