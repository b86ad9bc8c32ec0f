"""Eager loading: ``query().includes("posts", "posts.comments")`` and strict loading.

Two strategies load the same records into the same caches:

- ``"batch"`` (the default): each level of a path costs one batched query
  per :data:`~.state.IN_BATCH_SIZE` owner keys (``WHERE fk IN (...)``),
  however many rows the level has; a polymorphic ``belongs_to`` costs one
  per distinct type.
- ``"join"``: the levels are LEFT JOINed into the query's own SELECT, one
  statement for all of them (see :mod:`.joined`).

A keyword names a path whose loaded records a query over the target
narrows: ``includes(posts=Post.where(Post.c.title.like("a%")))``. Such a
collection is *filtered*: it holds the records that passed, says so
(``user.posts.filtered``), and is forgotten by ``add``/``remove``/``create``
(see :class:`~.collection.CollectionProxy`).

What ``includes()`` stores in ``Query._include_options``: one
:class:`IncludeOption` per path given a strategy other than batch or a
filter, in call order. A level is joined when any joined path goes through it
(joining a path joins the levels above it); a path's filter is its last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..query import expressions as ex
from .aliases import NotRetargetable, retarget
from .associations import BelongsTo, association
from .state import mark_strict, set_filtered

if TYPE_CHECKING:
    from ..query.query import Query

Tree = dict[str, "Tree"]

#: The strategies ``includes()`` takes.
STRATEGIES = ("batch", "join")


@dataclass(frozen=True)
class IncludeOption:
    """How ``includes()`` loads one path: its strategy, and the query narrowing its last level."""

    path: str
    strategy: str = "batch"
    filter: Any = None  # a Query over the path's last model, or None


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


def _walk(model: Any, path: str) -> list[Any]:
    """The associations along ``path``, from ``model``."""
    steps = []
    for part in path.split("."):
        assoc = association(model, part)
        steps.append(assoc)
        if isinstance(assoc, BelongsTo) and assoc.polymorphic:
            model = None
        else:
            model = assoc.target
    return steps


def include(query: Query[Any], paths: Sequence[str], strategy: str, filtered: dict[str, Any]) -> Query[Any]:
    """``Query.includes``: add association paths to eager-load.

    ``strategy`` is ``"batch"`` (one ``IN`` query per level) or ``"join"``
    (LEFT JOINs in the query's own statement). Each keyword names a path
    (``**{"posts.comments": ...}`` for a nested one) of a collection and
    gives a query over its model, or a condition on it, that narrows the
    records loaded into it.

    Raises:
        ValueError: an unknown strategy or association; a filter on a to-one
            association; a joined path through a polymorphic belongs_to.
        TypeError: a filter that is no query over the association's model nor a condition.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"includes() strategy must be one of {', '.join(map(repr, STRATEGIES))}, got {strategy!r}")
    model = query.model
    everything = (*paths, *filtered)
    check_paths(model, everything)
    options = list(query._include_options)
    for path in paths:
        if strategy != "batch":
            _check_joinable(model, path)
            options.append(IncludeOption(path, strategy))
    for path, value in filtered.items():
        if strategy != "batch":
            _check_joinable(model, path)
        options.append(IncludeOption(path, strategy, _filter_query(model, path, value, strategy)))
    current = query.included
    query = query._replace(_includes=current + tuple(dict.fromkeys(p for p in everything if p not in current)),
                           _include_options=tuple(options))
    if strategy == "join":
        from .joined import joined_query

        query = joined_query(query)
    return query


def _check_joinable(model: Any, path: str) -> None:
    for assoc in _walk(model, path):
        if isinstance(assoc, BelongsTo) and assoc.polymorphic:
            raise ValueError(
                f"includes({path!r}, strategy='join'): {assoc} is polymorphic, its table differs per row; "
                "load it with strategy='batch' (one query per type)")


def _filter_query(model: Any, path: str, value: Any, strategy: str) -> Query[Any]:
    assoc = _walk(model, path)[-1]
    if not assoc.to_many:
        raise ValueError(
            f"includes({path}=...): {assoc} is not a collection; a filter narrows what a collection "
            "holds (filter the owners with where_assoc() instead)")
    target = assoc.target
    if isinstance(value, ex.Expr):
        value = target.query().where(value)
    elif not (hasattr(value, "_compile_into") and getattr(value, "model", None) is target):
        raise TypeError(
            f"includes({path}=...) takes a query over {target.__name__} or a condition on it, got {value!r}")
    extra = [what for what, used in (
        ("select()", value._select), ("joins", value._joins), ("limit()", value._limit is not None),
        ("offset()", value._offset), ("group_by()", value._group), ("having()", value._having),
        ("distinct()", value._distinct), ("a row lock", value._lock is not None), ("includes()", value._includes),
    ) if used]
    if extra:
        raise ValueError(
            f"includes({path}=...) takes the conditions and order of a query (where(), unscoped(), order_by()); "
            f"it has {', '.join(extra)}. A limit per owner cannot be loaded in one query; to narrow by "
            "other tables use where_assoc() in the filter")
    if strategy == "join":
        try:
            retarget(tuple(value._where), {target.table_name(): "_"})
        except NotRetargetable as exc:
            raise ValueError(f"includes({path}=..., strategy='join'): {exc}; or load it with strategy='batch'") from None
    return value


def level_options(query: Query[Any]) -> tuple[dict[str, Any], set[str]]:
    """The filter of each filtered path, and the paths of every joined level."""
    filters: dict[str, Any] = {}
    joined: set[str] = set()
    included = set(query.included)
    for option in query._include_options:
        if option.path not in included:
            continue
        if option.filter is not None:
            filters[option.path] = option.filter
        if option.strategy == "join":
            parts = option.path.split(".")
            joined.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return filters, joined


def after_load(model: type, records: list[Any], query: Query[Any]) -> None:
    """Mark strict records and load the query's ``includes`` for ``records``.

    For joined levels, ``records`` are the rows of the joined statement: they
    are replaced, in place, by the distinct owners.
    """
    strict = query.loads_strictly
    if strict:
        mark_strict(records)
    if not (query.included and records):
        return
    tree = parse_paths(query.included)
    filters, joined = level_options(query) if query._include_options else ({}, set())
    loaded: dict[str, list[Any]] = {}
    if joined:
        from .joined import plan, split

        levels = plan(model, tree, joined)
        if levels and levels[0].labels[0] in (records[0].__pydantic_private__.get("_annotations") or ()):
            loaded = split(model, records, levels, strict, filters)
        # else: rows read without the joins (a stream, or a hand-made call): loaded in batches below
    _load_tree(model, records, tree, strict, filters, loaded, "")


def preload(model: type, records: Sequence[Any], tree: Tree, strict: bool = False) -> None:
    """Load every association in ``tree`` for ``records``, one batched query per level."""
    _load_tree(model, records, tree, strict, {}, {}, "")


def _load_tree(model: Any, records: Sequence[Any], tree: Tree, strict: bool, filters: dict[str, Any],
               joined: dict[str, list[Any]], prefix: str) -> None:
    for name, subtree in tree.items():
        path = prefix + name
        loaded = joined.get(path)
        if loaded is None:
            found = filters.get(path)
            loaded = association(model, name).preload(records, found)
            if found is not None:
                set_filtered(records, name)
            if strict:
                mark_strict(loaded)
        if subtree and loaded:
            by_model: dict[type, list[Any]] = {}
            for record in loaded:
                by_model.setdefault(type(record), []).append(record)
            for child_model, children in by_model.items():
                _load_tree(child_model, children, subtree, strict, filters, joined, path + ".")
