"""Associations between models and their eager loading.

Declare them in the class body; string class names resolve on first use::

    class Post(ActiveRecord):
        user_id: Optional[int] = Field(None, references="users.id")
        author = belongs_to("User", foreign_key="user_id")
        comments = has_many("Comment", dependent="destroy")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .associations import Association, BelongsTo, HasMany, HasOne, Scope, association, associations
from .collection import CollectionProxy
from .descriptor import RelationDescriptor
from .joins import association_exists
from .linked import HasManyThrough, ManyToMany
from .state import IN_BATCH_SIZE

if TYPE_CHECKING:
    from ..model.base import ActiveRecord


def belongs_to(
    class_name: str | type[ActiveRecord] | None = None,
    *,
    foreign_key: str | tuple[str, ...] | None = None,
    primary_key: str | tuple[str, ...] | None = None,
    inverse_of: str | None = None,
    polymorphic: bool = False,
    foreign_type: str | None = None,
    scope: Scope | None = None,
    counter_cache: bool | str = False,
    touch: bool | str = False,
) -> Any:
    """Declare that this model's row holds another's key: ``author = belongs_to("User")``.

    Args:
        class_name: the target model (default: the camel-cased association name).
        foreign_key: this model's key field (default ``<name>_id``); a tuple of
            fields for a target with a composite key, in the key's order.
        primary_key: the target field(s) it points at (default the target's primary key).
        inverse_of: the target's has_one/has_many that mirrors this one (inferred by key).
        polymorphic: the target model is named per row in ``<name>_type`` (or ``foreign_type``).
        scope: ``lambda query: query.where(...)`` narrowing what is loaded.
        counter_cache: keep a count of these records on the target: ``True`` for the
            target field ``<this model's table>_count`` (``Comment`` -> ``Post.comments_count``),
            or the field's name. Creating, deleting (soft deletes too) and moving a
            record to another target change it atomically, in the record's own
            transaction; bulk writes do not. Targets already loaded elsewhere keep
            their old count until refreshed.
        touch: set the target's ``updated_at`` to now whenever a record is created,
            changed or deleted (both targets when it moves); a field name sets that
            field too. One UPDATE, no hooks.
    """
    return BelongsTo(
        class_name,
        foreign_key=foreign_key,
        primary_key=primary_key,
        inverse_of=inverse_of,
        polymorphic=polymorphic,
        foreign_type=foreign_type,
        scope=scope,
        counter_cache=counter_cache,
        touch=touch,
    )


def has_one(
    class_name: str | type[ActiveRecord] | None = None,
    *,
    foreign_key: str | tuple[str, ...] | None = None,
    primary_key: str | tuple[str, ...] | None = None,
    inverse_of: str | None = None,
    as_: str | None = None,
    dependent: str | None = None,
    order_by: Any = None,
    scope: Scope | None = None,
) -> Any:
    """Declare that one row of another model holds this model's key: ``profile = has_one("Profile")``.

    Keywords as for :func:`has_many`.
    """
    return HasOne(
        class_name,
        foreign_key=foreign_key,
        primary_key=primary_key,
        inverse_of=inverse_of,
        as_=as_,
        dependent=dependent,
        order_by=order_by,
        scope=scope,
    )


def has_many(
    class_name: str | type[ActiveRecord] | None = None,
    *,
    foreign_key: str | tuple[str, ...] | None = None,
    primary_key: str | tuple[str, ...] | None = None,
    inverse_of: str | None = None,
    as_: str | None = None,
    dependent: str | None = None,
    order_by: Any = None,
    through: str | None = None,
    source: str | None = None,
    scope: Scope | None = None,
) -> Any:
    """Declare that rows of another model hold this model's key: ``posts = has_many("Post")``.

    Args:
        class_name: the target model (default: the singular, camel-cased association name).
        foreign_key: the target's field holding this model's key; inferred from
            ``<model>_id`` or the target's one belongs_to pointing here. For a
            composite key, a tuple of the target's fields, in the key's order.
        primary_key: this model's field(s) the key holds (default its primary key).
        inverse_of: the target's belongs_to that mirrors this one (inferred by key).
        as_: the name of the target's polymorphic belongs_to (``as_="commentable"``).
        dependent: on delete of the owner: ``"destroy"`` (each child's ``delete()``,
            hooks run), ``"delete_all"`` (one DELETE, no hooks), ``"nullify"``
            (one UPDATE setting the key NULL) or ``"restrict"`` (refuse with
            :class:`DeleteRestrictedError` while children exist).
        order_by: the order of loaded records (default: the target's primary key).
        through: reach the targets through this model's association of that name.
        source: the join model's association that leads to the target (with ``through``).
        scope: ``lambda query: query.where(...)`` narrowing what is loaded.
    """
    if through is not None:
        if foreign_key or primary_key or inverse_of or as_ or dependent:
            raise TypeError(
                "has_many(through=...) takes only class_name, source, order_by and scope; "
                "put keys and dependent= on the association it goes through"
            )
        return HasManyThrough(
            class_name, through=through, source=source, order_by=order_by, scope=scope
        )
    return HasMany(
        class_name,
        foreign_key=foreign_key,
        primary_key=primary_key,
        inverse_of=inverse_of,
        as_=as_,
        dependent=dependent,
        order_by=order_by,
        scope=scope,
    )


def many_to_many(
    class_name: str | type[ActiveRecord] | None = None,
    *,
    join_table: str | None = None,
    foreign_key: str | None = None,
    target_key: str | None = None,
    order_by: Any = None,
    scope: Scope | None = None,
) -> Any:
    """Declare a link through a plain join table: ``tags = many_to_many("Tag")``.

    Args:
        join_table: default both table names sorted and joined by ``_`` (``posts_tags``).
        foreign_key: the join-table column holding this model's key (default ``<model>_id``).
        target_key: the join-table column holding the target's key (default ``<target>_id``).

    Deleting an owner deletes its join rows. ``Model.tags.create_join_table()``
    creates the table with both foreign keys.
    """
    return ManyToMany(
        class_name,
        join_table=join_table,
        foreign_key=foreign_key,
        target_key=target_key,
        order_by=order_by,
        scope=scope,
    )


__all__ = [
    "IN_BATCH_SIZE",
    "Association",
    "BelongsTo",
    "CollectionProxy",
    "HasMany",
    "HasManyThrough",
    "HasOne",
    "ManyToMany",
    "RelationDescriptor",
    "association",
    "association_exists",
    "associations",
    "belongs_to",
    "has_many",
    "has_one",
    "many_to_many",
]
