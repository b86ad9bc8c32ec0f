"""The field-type registry: which column stores values of a Python type, and how.

Every model field's annotation is looked up here once, when the model class
is made. Built-in types come from :class:`~rhosocial.activerecord.backend.base.ColumnTypes`
(``int`` -> BIGINT, ``str`` -> TEXT ...), plus the shapes that need a rule
rather than one type (enums, ``Literal``, pydantic models and containers as
JSON). An application adds its own::

    from ipaddress import IPv4Address
    from rhosocial.activerecord import register_type
    from rhosocial.activerecord.backend import DatabaseType

    register_type(IPv4Address, DatabaseType.VARCHAR, length=15, to_db=str, from_db=IPv4Address)

after which ``address: IPv4Address`` is a VARCHAR(15) column in models,
``create_table()`` and query conditions (``where(address="10.0.0.1")`` binds
``'10.0.0.1'``), and loaded values are ``IPv4Address`` again. A registered type
applies to its subclasses too unless ``subclasses=False``. Register types before
the models that use them are defined (they are resolved once, at class creation).
"""
from __future__ import annotations

import enum
import threading
import typing
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import pydantic

from ..backend.base import ColumnTypes
from ..backend.typing import DatabaseType
from ..errors import ModelDefinitionError

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class FieldType:
    """How values of one Python type are stored.

    Attributes:
        db_type: the generic column type.
        to_db: turns a field value into what the column stores (before the dialect's own step).
        from_db: turns what the column stores back into a field value (after the dialect's step).
        params: column sizing (``length``, ``precision``, ``scale``, ``item_type``).
        mutable: values can change in place (JSON), so records copy them to see changes.
    """

    db_type: DatabaseType
    to_db: Converter | None = None
    from_db: Converter | None = None
    params: dict[str, Any] = field(default_factory=dict)
    mutable: bool = False


#: A rule for a family of annotations: returns a FieldType, or None when it does not apply.
Resolver = Callable[[Any], "FieldType | None"]


class TypeRegistry:
    """Python types and rules mapped to :class:`FieldType`; safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._types: dict[Any, tuple[FieldType, bool]] = {}  # type -> (how, applies to subclasses)
        self._resolvers: list[Resolver] = []

    def register(self, python_type: Any, db_type: DatabaseType, *, to_db: Converter | None = None,
                 from_db: Converter | None = None, length: int | None = None, precision: int | None = None,
                 scale: int | None = None, subclasses: bool = True) -> FieldType:
        """Store fields of ``python_type`` in ``db_type`` columns, converting with ``to_db``/``from_db``.

        Registering a type again replaces the earlier entry (models defined
        before keep what they resolved).
        """
        if not isinstance(db_type, DatabaseType):
            raise TypeError(f"register_type() needs a DatabaseType, got {db_type!r}")
        for name, converter in (("to_db", to_db), ("from_db", from_db)):
            if converter is not None and not callable(converter):
                raise TypeError(f"register_type(): {name} must be callable, got {converter!r}")
        params = {k: v for k, v in (("length", length), ("precision", precision), ("scale", scale))
                  if v is not None}
        how = FieldType(db_type, to_db, from_db, params, mutable=db_type is DatabaseType.JSON)
        with self._lock:
            self._types = {**self._types, python_type: (how, subclasses)}
        return how

    def add_resolver(self, resolver: Resolver) -> None:
        """Add a rule tried, in order of addition, for annotations not registered as types."""
        with self._lock:
            self._resolvers = [*self._resolvers, resolver]

    def lookup(self, annotation: Any) -> FieldType:
        """Return how fields annotated ``annotation`` (``Optional`` removed) are stored.

        Raises:
            TypeError: nothing registered or built in stores it.
        """
        types = self._types
        try:
            found = types.get(annotation)
        except TypeError:  # an unhashable annotation
            found = None
        if found is not None:
            return found[0]
        for resolver in self._resolvers:
            how = resolver(annotation)
            if how is not None:
                return how
        if isinstance(annotation, type):
            for base in annotation.__mro__[1:]:
                found = types.get(base)
                if found is not None and found[1]:
                    return found[0]
        try:
            db_type, params = ColumnTypes.for_python_type(annotation)
        except TypeError:
            raise TypeError(f"no column type for {annotation!r}") from None
        return FieldType(db_type, params=params, mutable=db_type is DatabaseType.JSON)


#: The registry every model uses.
registry = TypeRegistry()


def register_type(python_type: Any, db_type: DatabaseType, *, to_db: Converter | None = None,
                  from_db: Converter | None = None, length: int | None = None, precision: int | None = None,
                  scale: int | None = None, subclasses: bool = True) -> FieldType:
    """Register how a custom Python type is stored (see the module documentation)."""
    return registry.register(python_type, db_type, to_db=to_db, from_db=from_db, length=length,
                             precision=precision, scale=scale, subclasses=subclasses)


# Built-in rules -----------------------------------------------------------

def _enum_type(annotation: Any) -> FieldType | None:
    if not (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return None
    values = [m.value for m in annotation]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return FieldType(DatabaseType.INTEGER, _enum_value, annotation)
    if all(isinstance(v, str) for v in values):
        return FieldType(DatabaseType.VARCHAR, _enum_value, annotation, {"length": max(map(len, values)) or 1})
    raise ModelDefinitionError(f"Enum {annotation.__name__} must have all-int or all-str values to be stored")


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _model_type(annotation: Any) -> FieldType | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return FieldType(DatabaseType.JSON, _dump_model, annotation.model_validate, mutable=True)
    return None


def _dump_model(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, pydantic.BaseModel) else value


def _literal_type(annotation: Any) -> FieldType | None:
    if typing.get_origin(annotation) is typing.Literal:
        return FieldType(DatabaseType.VARCHAR,
                         params={"length": max(len(str(a)) for a in typing.get_args(annotation))})
    return None


def _container_type(annotation: Any) -> FieldType | None:
    if typing.get_origin(annotation) in (list, dict, tuple, set):
        return FieldType(DatabaseType.JSON, mutable=True)
    return None


_ARRAY_ITEMS: dict[Any, DatabaseType] = {
    int: DatabaseType.BIGINT, str: DatabaseType.TEXT, float: DatabaseType.DOUBLE, bool: DatabaseType.BOOLEAN,
}


def array_type(annotation: Any) -> FieldType:
    """How a ``list[X]`` field declared ``Field(db_type=DatabaseType.ARRAY)`` is stored.

    A backend with native arrays stores an ``X[]`` array; the others store
    JSON, as for any list.
    """
    args = typing.get_args(annotation)
    item = args[0] if typing.get_origin(annotation) is list and len(args) == 1 else None
    if item not in _ARRAY_ITEMS:
        raise ModelDefinitionError(
            f"An ARRAY field must be list[int], list[str], list[float] or list[bool], not {annotation!r}")
    return FieldType(DatabaseType.ARRAY, params={"item_type": _ARRAY_ITEMS[item]}, mutable=True)


registry.register(pydantic.NaiveDatetime, DatabaseType.DATETIME)
registry.register(pydantic.AwareDatetime, DatabaseType.TIMESTAMP)
registry.register(pydantic.Json, DatabaseType.JSON)
for _resolver in (_enum_type, _model_type, _literal_type, _container_type):
    registry.add_resolver(_resolver)


def with_params(how: FieldType, **params: Any) -> FieldType:
    """Return ``how`` with some sizing parameters changed."""
    return replace(how, params={**how.params, **params})
