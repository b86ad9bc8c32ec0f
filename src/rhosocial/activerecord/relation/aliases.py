"""Re-aim conditions written for a table at an alias of it.

``Post.c.title == "x"`` names the table ``posts``; joined under the alias
``_rh0_posts`` (eager loading, ``includes(strategy="join")``) the same
condition must name the alias. :func:`retarget` copies an expression tree
with the columns of the given tables renamed, whatever the node types (it
walks their slots), and descends into subqueries that do not shadow the
name. A SQL fragment (``where("title = ?", ...)``) cannot be re-aimed: its
text names tables itself, so it is refused (inside a subquery it is left as
written: there it names the subquery's own tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..backend.typing import bare_table_name
from ..query import expressions as ex


class NotRetargetable(ValueError):
    """A condition that cannot be moved onto an alias (a SQL fragment)."""


def retarget(node: Any, names: Mapping[str, str]) -> Any:
    """Return ``node`` with the columns of each table in ``names`` naming ``names[table]`` instead.

    Raises:
        NotRetargetable: the tree holds a SQL fragment (outside a subquery).
    """
    if not names:
        return node
    return _Retargeter(names).node(node)


class _Retargeter:
    def __init__(self, names: Mapping[str, str], inside: bool = False) -> None:
        self.names = names
        self.bare = {bare_table_name(table) for table in names}
        self.inside = inside  # in a subquery: fragments name its own FROM and stay as written

    def node(self, node: Any) -> Any:
        if isinstance(node, ex.Column):
            new = self.names.get(node.table) if node.table is not None else None
            if new is None:
                return node
            return ex.Column(new, node.name, node.db_type, node.python_to_db, node.check, node.item_type)
        if isinstance(node, ex.Star):
            new = self.names.get(node.table) if node.table is not None else None
            return node if new is None else ex.Star(new)
        if isinstance(node, ex.Value):
            return node  # its column only converts the value
        if isinstance(node, ex.Raw):
            if self.inside:
                return node
            raise NotRetargetable(
                f"the SQL fragment {node.sql!r} names its tables itself and cannot be moved onto an alias; "
                "write the condition with column expressions (Model.c.name == value)")
        if isinstance(node, ex.Subquery):
            return ex.Subquery(self.query(node.query))
        if isinstance(node, ex.OrderBy):
            expr = self.node(node.expr)
            return node if expr is node.expr else ex.OrderBy(expr, node.descending)
        if isinstance(node, ex.Expr):
            return self._copy(node)
        if isinstance(node, tuple):
            items = tuple(self.node(item) for item in node)
            return node if all(a is b for a, b in zip(items, node)) else items
        if isinstance(node, list):
            return [self.node(item) for item in node]
        return node

    def _copy(self, node: ex.Expr) -> ex.Expr:
        """A copy of ``node`` with every slot re-aimed (a new node only when something changed)."""
        values = {slot: getattr(node, slot) for slot in _slots(type(node)) if hasattr(node, slot)}
        changed = {slot: new for slot, value in values.items() if (new := self.node(value)) is not value}
        if not changed:
            return node
        clone = object.__new__(type(node))
        for slot, value in values.items():
            object.__setattr__(clone, slot, changed.get(slot, value))
        return clone

    def query(self, query: Any) -> Any:
        """A subquery re-aimed, unless its own tables shadow the names (then they mean its own rows)."""
        own = {bare_table_name(query.model.table_name()), *(bare_table_name(t) for t in query.joined_tables)}
        if own & self.bare:
            return query
        inner = _Retargeter(self.names, inside=True).node
        return query._replace(
            _where=inner(query._where),
            _select=inner(query._select),
            _order=inner(query._order),
            _group=inner(query._group),
            _having=inner(query._having),
            _joins=tuple((kind, table, alias, inner(on)) for kind, table, alias, on in query._joins),
        )


_SLOTS: dict[type, tuple[str, ...]] = {}


def _slots(cls: type) -> tuple[str, ...]:
    found = _SLOTS.get(cls)
    if found is None:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            for slot in getattr(klass, "__slots__", ()):
                if slot not in names and not slot.startswith("__"):
                    names.append(slot)
        found = _SLOTS[cls] = tuple(names)
    return found
