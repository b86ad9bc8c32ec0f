"""Keys of one or more fields, as associations read, write and match them.

A single key is a value; a composite key (``("order_id", "line_no")``) is a
tuple of values in field order. ``None`` means "no key": a single value that
is None, or a composite key with any part None.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..query import expressions as ex


def key_fields(spec: str | Sequence[str]) -> tuple[str, ...]:
    """The fields of a key given as a name or a sequence of names."""
    return (spec,) if isinstance(spec, str) else tuple(spec)


class KeyFields:
    """The fields of one side of an association's key."""

    __slots__ = ("fields", "single")

    def __init__(self, spec: str | Sequence[str]) -> None:
        self.fields = key_fields(spec)
        self.single = self.fields[0] if len(self.fields) == 1 else None

    def read(self, record: Any) -> Any:
        """The key of ``record`` (a value, a tuple, or None when any part is missing)."""
        values = record.__dict__
        if self.single is not None:
            return values.get(self.single)
        key = tuple(values.get(f) for f in self.fields)
        return None if None in key else key

    def assign(self, record: Any, key: Any) -> None:
        """Set these fields of ``record`` to ``key`` (None clears every part)."""
        parts = (key,) if self.single is not None else (key if key is not None else (None,) * len(self.fields))
        for field, value in zip(self.fields, parts):
            setattr(record, field, value)

    def values(self, key: Any) -> dict[str, Any]:
        """These fields set to ``key``, as keyword arguments for a new record."""
        parts = (key,) if self.single is not None else tuple(key)
        return dict(zip(self.fields, parts))

    def equals(self, model: Any, key: Any) -> ex.Expr:
        """``model``'s rows whose fields hold ``key``."""
        if self.single is not None:
            return model.c[self.single] == key
        return ex.And([model.c[f] == v for f, v in zip(self.fields, key)])

    def within(self, model: Any, keys: Sequence[Any]) -> ex.Expr:
        """``model``'s rows whose fields hold one of ``keys`` (``(a, b) IN ((?, ?), ...)``)."""
        if self.single is not None:
            return model.c[self.single].in_(keys)
        columns = [model.c[f] for f in self.fields]
        rows = tuple(ex.Row([ex.Value(v, c) for c, v in zip(columns, key)]) for key in keys)
        return ex.In(ex.Row(columns), rows, negated=False)

    def joined(self, left_table: str, left_model: Any, right_table: str, right_model: Any,
               right: "KeyFields") -> ex.Expr:
        """``left.fields = right.fields``, part by part, for a JOIN."""
        pairs = [ex.Column(left_table, left_model.column_name(a)) == ex.Column(right_table, right_model.column_name(b))
                 for a, b in zip(self.fields, right.fields)]
        return pairs[0] if len(pairs) == 1 else ex.And(pairs)

    def __len__(self) -> int:
        return len(self.fields)
