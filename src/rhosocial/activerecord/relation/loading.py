"""Eager loading: ``query().includes("posts", "posts.comments")`` and strict loading.

Each level of a path costs one batched query per :data:`~.state.IN_BATCH_SIZE`
owner keys (``WHERE fk IN (...)``), however many rows the level has; a
polymorphic ``belongs_to`` costs one per distinct type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .associations import BelongsTo, association
from .state import mark_strict

if TYPE_CHECKING:
    from ..query.query import Query

Tree = dict[str, "Tree"]


def parse_paths(paths: Sequence[str]) -> Tree:
    """Turn ``("posts", "posts.comments", "author")`` into a nested dict."""
    tree: Tree = {}
    for path in paths:
        if not isinstance(path, str) or not path:
            raise TypeError(
                f"includes() takes association names such as 'posts.comments', got {path!r}"
            )
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    return tree


def check_paths(model: type, paths: Sequence[str]) -> None:
    """Raise ``ValueError`` now for a path that names an unknown association."""
    _check_tree(model, parse_paths(paths))


def _check_tree(model: type, tree: Tree) -> None:
    for name, subtree in tree.items():
        found = association(model, name)
        if subtree and not (isinstance(found, BelongsTo) and found.polymorphic):
            _check_tree(found.target, subtree)


def after_load(model: type, records: list[Any], query: Query[Any]) -> None:
    """Mark strict records and load the query's ``includes`` for ``records``."""
    strict = query.loads_strictly
    if strict:
        mark_strict(records)
    if query.included and records:
        preload(model, records, parse_paths(query.included), strict)


def preload(model: type, records: Sequence[Any], tree: Tree, strict: bool = False) -> None:
    """Load every association in ``tree`` for ``records``, one batched query per level."""
    for name, subtree in tree.items():
        loaded = association(model, name).preload(records)
        if strict:
            mark_strict(loaded)
        if subtree and loaded:
            by_model: dict[type, list[Any]] = {}
            for record in loaded:
                by_model.setdefault(type(record), []).append(record)
            for child_model, children in by_model.items():
                preload(child_model, children, subtree, strict)


def include(query: Query[Any], paths: Sequence[str], strategy: str, filtered: dict[str, Any]) -> Query[Any]:
    """``Query.includes``: add association paths to eager-load."""
    if strategy != "batch" or filtered:
        raise NotImplementedError("includes(strategy=..., <filters>) is being built")
    check_paths(query.model, paths)
    current = query.included
    return query._replace(_includes=current + tuple(p for p in paths if p not in current))
