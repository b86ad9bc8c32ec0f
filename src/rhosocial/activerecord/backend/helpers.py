"""Formatting helpers for type mappings (``TypeMapping.format_func``)."""
from __future__ import annotations

from typing import Any, Mapping


def format_with_length(db_type: str, params: Mapping[str, Any]) -> str:
    """Append ``(length)`` when ``params`` has a ``length``: ``VARCHAR`` -> ``VARCHAR(255)``."""
    length = params.get("length")
    if length is None:
        return db_type
    return f"{db_type}({_positive_int('length', length)})"


def format_decimal(db_type: str, params: Mapping[str, Any]) -> str:
    """Append ``(precision, scale)`` or ``(precision)``: ``NUMERIC`` -> ``NUMERIC(10,2)``."""
    precision = params.get("precision")
    scale = params.get("scale")
    if precision is None:
        if scale is not None:
            raise ValueError("DECIMAL scale given without precision")
        return db_type
    precision = _positive_int("precision", precision)
    if scale is None:
        return f"{db_type}({precision})"
    scale = _non_negative_int("scale", scale)
    if scale > precision:
        raise ValueError(f"DECIMAL scale {scale} exceeds precision {precision}")
    return f"{db_type}({precision},{scale})"


def format_with_precision(db_type: str, params: Mapping[str, Any]) -> str:
    """Append a fractional-seconds precision: ``DATETIME`` -> ``DATETIME(6)``."""
    precision = params.get("precision")
    if precision is None:
        return db_type
    return f"{db_type}({_non_negative_int('precision', precision)})"


def fixed(sql: str):
    """Return a format function that ignores the parameters and yields ``sql``."""

    def _fixed(db_type: str, params: Mapping[str, Any]) -> str:
        return sql

    return _fixed


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value
