"""Find model classes by name, lazily, so models may refer to each other in any order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ModelDefinitionError

if TYPE_CHECKING:
    from ..model.base import ActiveRecord


def iter_models() -> Iterator[type[ActiveRecord]]:
    """Yield every concrete model class defined so far, in definition order."""
    from ..model.base import ActiveRecord

    seen: set[type] = set()
    stack: list[type] = list(reversed(ActiveRecord.__subclasses__()))
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if not cls.__dict__.get("__abstract__", False):
            yield cls
        stack.extend(reversed(cls.__subclasses__()))


def resolve_model(name: str | type[ActiveRecord], relative_to: type) -> type[ActiveRecord]:
    """Return the model class ``name`` refers to, as seen from ``relative_to``.

    ``name`` is a class, a class name or ``"module.ClassName"``. Among classes
    of the same name, one defined next to ``relative_to`` (same module and
    enclosing scope) wins, then one in the same module; the latest definition
    breaks a tie.

    Raises:
        ModelDefinitionError: no model, or several equally near ones, have that name.
    """
    if isinstance(name, type):
        return name
    module, _, short = name.rpartition(".")
    candidates = [
        m for m in iter_models() if m.__name__ == short and (not module or m.__module__ == module)
    ]
    if not candidates:
        raise ModelDefinitionError(
            f"{relative_to.__name__}: no model class named {name!r} is defined (yet); "
            "define it, or pass the class itself"
        )
    scope = relative_to.__qualname__.rpartition(".")[0]
    for tier in (
        [
            m
            for m in candidates
            if m.__module__ == relative_to.__module__ and m.__qualname__.rpartition(".")[0] == scope
        ],
        [m for m in candidates if m.__module__ == relative_to.__module__],
    ):
        if tier:
            return tier[-1]
    if len(candidates) > 1:
        where = ", ".join(f"{m.__module__}.{m.__qualname__}" for m in candidates)
        raise ModelDefinitionError(
            f"{relative_to.__name__}: {name!r} is ambiguous ({where}); name it as 'module.{short}' or pass the class"
        )
    return candidates[0]


def polymorphic_name(model: type) -> str:
    """Return the value a polymorphic type column stores for ``model``."""
    return str(getattr(model, "__polymorphic_name__", None) or model.__name__)


def underscore(name: str) -> str:
    """Turn ``BlogPost`` into ``blog_post``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])", r"_\1\2", name).lower()


def camelize(name: str) -> str:
    """Turn ``blog_post`` into ``BlogPost``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def singularize(word: str) -> str:
    """Undo the simple English plurals of table names (``categories`` -> ``category``)."""
    if re.search(r"[^aeiou]ies$", word):
        return word[:-3] + "y"
    if re.search(r"(ss|x|z|ch|sh)es$", word):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def describe(value: Any) -> str:
    """Name a record for an error message: ``Post 3`` (``PlaylistTrack (1, 11)``)."""
    pk = getattr(type(value), "__primary_key__", "id")
    if isinstance(pk, tuple):
        return f"{type(value).__name__} {tuple(value.__dict__.get(k) for k in pk)!r}"
    return f"{type(value).__name__} {value.__dict__.get(pk)!r}"


def single_key(model: Any) -> str:
    """Return the key field of ``model`` for an association; a composite key is refused clearly."""
    pk = model.primary_key()
    if isinstance(pk, tuple):
        raise ModelDefinitionError(
            f"{model.__name__} has a composite primary key {pk}: associations through it are not "
            "supported yet; join it with join() and explicit conditions, or name foreign_key= and "
            "primary_key= fields that identify a row alone")
    return pk
