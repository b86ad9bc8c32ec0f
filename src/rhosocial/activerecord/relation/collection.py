"""``user.posts``: a loaded list and a chainable query in one object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..backend.bridge import run
from .state import forget, is_filtered, is_loaded, relations

if TYPE_CHECKING:
    from ..query.query import Query


class CollectionProxy:
    """The records of a to-many association of one owner record.

    Reading it as a list (iteration, ``len``, indexing, ``in``, ``all()``)
    loads the records once and caches them on the owner. Query methods
    (``where``, ``order_by``, ``count``, ``exists``, named scopes ...) start a
    fresh query scoped to the owner and never touch the cache. ``add``,
    ``remove`` and ``create`` write through to the database.

    A collection loaded by a filtered include (``includes(posts=...)``) holds
    only the records that passed the filter, and says so (:attr:`filtered`).
    Query methods still see every associated row (``count()`` counts them
    all); ``add``, ``remove`` and ``create`` forget the filtered list (the
    next read loads every record), and so do :meth:`reset` and :meth:`reload`.
    """

    __slots__ = ("association", "owner")

    def __init__(self, owner: Any, association: Any) -> None:
        self.owner = owner
        self.association = association

    # -- the loaded list ----------------------------------------------------------

    def all(self) -> list[Any]:
        """Return the associated records, loading them on first use."""
        return list(self.association.load(self.owner))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.association.load(self.owner))

    def __len__(self) -> int:
        return len(self.association.load(self.owner))

    def __getitem__(self, index: Any) -> Any:
        return self.association.load(self.owner)[index]

    def __contains__(self, item: Any) -> bool:
        return item in self.association.load(self.owner)

    @property
    def loaded(self) -> bool:
        """Whether the records are cached on the owner."""
        return is_loaded(self.owner, self.association.name)

    @property
    def filtered(self) -> bool:
        """Whether the cached records are only those a filtered include let through."""
        return is_filtered(self.owner, self.association.name)

    def reload(self) -> list[Any]:
        """Forget the cached records and load them again (all of them, if they were filtered)."""
        self.reset()
        return self.all()

    def reset(self) -> None:
        """Forget the cached records."""
        forget(self.owner, self.association.name)

    # -- queries --------------------------------------------------------------------

    def query(self) -> Query[Any]:
        """Return a new query over the associated records."""
        return self.association.query_for(self.owner)

    def count(self) -> int:
        """Count the associated rows with one ``SELECT COUNT(*)`` (the cache is not used)."""
        return self.query().count()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.query(), name)

    # -- async code -------------------------------------------------------------------

    async def aall(self) -> list[Any]:
        """``all()`` for async code: load the records (cached on the owner) and return them."""
        return await run(self.all)

    async def areload(self) -> list[Any]:
        """``reload()`` for async code."""
        return await run(self.reload)

    async def acreate(self, **attributes: Any) -> Any:
        """``create()`` for async code."""
        return await run(self.create, **attributes)

    async def aadd(self, *records: Any) -> None:
        """``add()`` for async code."""
        await run(self.add, *records)

    async def aremove(self, *records: Any) -> None:
        """``remove()`` for async code."""
        await run(self.remove, *records)

    # -- writing --------------------------------------------------------------------

    def build(self, **attributes: Any) -> Any:
        """Return a new, unsaved record that belongs to the owner."""
        return self.association.build(self.owner, attributes)

    def create(self, **attributes: Any) -> Any:
        """Create a record that belongs to the owner."""
        return self.association.create(self.owner, attributes)

    def add(self, *records: Any) -> None:
        """Attach saved or new records to the owner (one transaction for several)."""
        self.association.add(self.owner, records)

    def remove(self, *records: Any) -> None:
        """Detach records: NULL their key (has_many) or delete the link rows (through, many-to-many)."""
        self.association.remove(self.owner, records)

    def __repr__(self) -> str:
        state = (
            f"{len(relations(self.owner)[self.association.name])} loaded"
            + (", filtered" if self.filtered else "")
            if self.loaded
            else "not loaded"
        )
        return f"<CollectionProxy {self.association} of {type(self.owner).__name__} ({state})>"
