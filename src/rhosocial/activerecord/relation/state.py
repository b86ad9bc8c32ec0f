"""Per-record association state: the ``_relations`` cache, the strict-loading flag and filtered collections."""

from __future__ import annotations

from asyncio.events import _get_running_loop
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from ..backend import bridge
from ..errors import AsyncLazyLoadError, StrictLoadingError
from .registry import describe

#: The key under which a record's ``_relations`` dict keeps its strict-loading flag.
STRICT = "__strict__"

#: The key under which a record's ``_relations`` dict keeps the names of its filtered collections.
FILTERED = "__filtered__"

#: The most keys one ``IN (...)`` list carries; more keys take more statements. A
#: backend that binds fewer parameters lowers it (see :func:`in_batch_size`).
IN_BATCH_SIZE = 5000

T = TypeVar("T")


def relations(record: Any) -> dict[str, Any]:
    """Return the record's association cache, creating it on first use."""
    private = record.__pydantic_private__
    found = private.get("_relations")
    if found is None:
        found = private["_relations"] = {}
    return found


def is_loaded(record: Any, name: str) -> bool:
    """Return whether association ``name`` is cached on ``record``."""
    found = record.__pydantic_private__.get("_relations")
    return found is not None and name in found


def set_filtered(records: Iterable[Any], name: str) -> None:
    """Mark collection ``name`` of ``records`` as holding only the records a filter let through."""
    for record in records:
        cache = relations(record)
        marks = cache.get(FILTERED)
        if marks is None:
            marks = cache[FILTERED] = set()
        marks.add(name)


def is_filtered(record: Any, name: str) -> bool:
    """Return whether collection ``name`` of ``record`` is cached and filtered (see ``includes(name=...)``)."""
    found = record.__pydantic_private__.get("_relations")
    return bool(found) and name in found and name in (found.get(FILTERED) or ())


def forget(record: Any, name: str) -> None:
    """Drop the cached association ``name`` of ``record`` (and its filtered mark)."""
    found = record.__pydantic_private__.get("_relations")
    if found:
        found.pop(name, None)
        marks = found.get(FILTERED)
        if marks:
            marks.discard(name)


def mark_strict(records: Iterable[Any]) -> None:
    """Make lazy loads on ``records`` raise :class:`StrictLoadingError`."""
    for record in records:
        relations(record)[STRICT] = True


def is_strict(record: Any) -> bool:
    """Return whether ``record`` forbids lazy loading (its own flag, else its model's)."""
    found = record.__pydantic_private__.get("_relations")
    flag = found.get(STRICT) if found else None
    return bool(type(record).__strict_loading__) if flag is None else bool(flag)


def check_lazy_load(record: Any, name: str) -> None:
    """Raise if loading association ``name`` of ``record`` now would be a forbidden lazy load.

    A lazy read in async code (an event loop runs in this thread, outside an
    ``a``-method) would block the loop with hidden I/O: it is refused.
    """
    if _get_running_loop() is not None and not bridge.in_bridge():
        raise AsyncLazyLoadError(
            f"{describe(record)}: association {name!r} is not loaded, and loading it here would "
            "block the event loop (a lazy read in async code). Load it up front with "
            f"query().includes({name!r}) (await Model.query().includes({name!r}).aall()), or "
            f"explicitly: await record.aload({name!r})"
            + (f", or await record.{name}.aall()" if _is_collection(record, name) else ""))
    if is_strict(record):
        raise StrictLoadingError(
            f"{describe(record)}: association {name!r} is not loaded and strict loading is on; "
            f"load it up front with query().includes({name!r})"
        )


def _is_collection(record: Any, name: str) -> bool:
    found = type(record).metadata().associations.get(name)
    return bool(getattr(found, "to_many", False))


def in_batch_size(model: Any) -> int:
    """Return how many keys an IN list for ``model`` may carry: half the backend's parameters at most.

    The other half is left for the rest of the statement (scopes, polymorphic types).
    """
    limit = model.backend().capabilities.max_bind_parameters
    return max(1, min(IN_BATCH_SIZE, limit // 2))


def chunks(values: Sequence[T], size: int = 0) -> Iterator[Sequence[T]]:
    """Yield ``values`` in slices of at most ``size`` (default :data:`IN_BATCH_SIZE`)."""
    size = size or IN_BATCH_SIZE
    for start in range(0, len(values), size):
        yield values[start : start + size]


def unique(values: Iterable[T]) -> list[T]:
    """Return ``values`` without repeats (``None`` dropped), keeping first-seen order."""
    return list(dict.fromkeys(v for v in values if v is not None))
